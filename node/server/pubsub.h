// PubSub: who is subscribed to what, and delivery of messages to local
// subscribers (Redis's pubsub.c semantics). Three namespaces: channels,
// patterns (glob), and shard channels (SSUBSCRIBE, routed by slot in cluster
// mode). Each Session keeps its own subscriptions too, so counts and
// unsubscribe-all are cheap on both sides.
//
// Messages go out through Session::push, encoded for each subscriber's
// protocol (RESP2 array, RESP3 push).
//
// Loop: the loop that owns the sessions. Not thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace shardnode::node {

struct Session;

class PubSub {
 public:
  // Subscribe / unsubscribe one name; return false when nothing changed.
  bool Subscribe(Session& s, std::string_view channel, bool shard);
  bool Unsubscribe(Session& s, std::string_view channel, bool shard);
  bool PSubscribe(Session& s, std::string_view pattern);
  bool PUnsubscribe(Session& s, std::string_view pattern);
  // Drops every subscription of a closing session.
  void RemoveSession(Session& s);
  // Unsubscribes every subscriber of the shard channels hashing to one of
  // `slots`, pushing "sunsubscribe <channel> <count>" to each (the slot
  // left this node's shard).
  void UnsubscribeShardSlots(const std::vector<int>& slots);

  // Delivers `message` to local subscribers; returns how many received it
  // (channel subscribers plus matching pattern subscribers; shard channels
  // have no patterns).
  size_t Publish(std::string_view channel, std::string_view message, bool shard);

  // PUBSUB CHANNELS / SHARDCHANNELS [pattern] (empty pattern = all).
  std::vector<std::string> Channels(std::string_view pattern, bool shard) const;
  size_t NumSubscribers(std::string_view channel, bool shard) const;
  size_t NumPatterns() const { return patterns_.size(); }
  size_t NumChannels(bool shard) const { return shard ? shard_channels_.size() : channels_.size(); }

 private:
  using Subscribers = std::map<std::string, std::set<Session*>, std::less<>>;
  Subscribers channels_;
  Subscribers shard_channels_;
  Subscribers patterns_;
};

}  // namespace shardnode::node
