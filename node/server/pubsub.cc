#include "node/server/pubsub.h"

#include "node/config/glob.h"
#include "node/resp/reply.h"
#include "node/server/session.h"
#include "slots/hash_slot.h"

namespace shardnode::node {
namespace {

bool Add(std::map<std::string, std::set<Session*>, std::less<>>& index,
         std::set<std::string, std::less<>>& own, Session& s, std::string_view name) {
  if (!own.emplace(name).second) return false;
  auto it = index.find(name);
  if (it == index.end()) it = index.emplace(std::string(name), std::set<Session*>{}).first;
  it->second.insert(&s);
  return true;
}

// `name` may view the session's own copy (RemoveSession passes the first
// element of `own`): the index is updated before that copy is erased.
bool Remove(std::map<std::string, std::set<Session*>, std::less<>>& index,
            std::set<std::string, std::less<>>& own, Session& s, std::string_view name) {
  auto mine = own.find(name);
  if (mine == own.end()) return false;
  auto it = index.find(name);
  if (it != index.end()) {
    it->second.erase(&s);
    if (it->second.empty()) index.erase(it);
  }
  own.erase(mine);
  return true;
}

// `pattern` is null for channel messages ("message", "smessage"). Sent
// even under CLIENT REPLY OFF, as Redis does.
void Push(Session& s, std::string_view kind, const std::string* pattern, std::string_view channel,
          std::string_view message) {
  if (!s.push) return;
  std::string out;
  resp::ReplyBuilder r(&out, s.protocol);
  r.PushHeader(pattern == nullptr ? 3 : 4);
  r.Bulk(kind);
  if (pattern != nullptr) r.Bulk(*pattern);
  r.Bulk(channel);
  r.Bulk(message);
  PushUnsilenced(s, out);
}

}  // namespace

bool PubSub::Subscribe(Session& s, std::string_view channel, bool shard) {
  return shard ? Add(shard_channels_, s.shard_channels, s, channel)
               : Add(channels_, s.channels, s, channel);
}

bool PubSub::Unsubscribe(Session& s, std::string_view channel, bool shard) {
  return shard ? Remove(shard_channels_, s.shard_channels, s, channel)
               : Remove(channels_, s.channels, s, channel);
}

bool PubSub::PSubscribe(Session& s, std::string_view pattern) {
  return Add(patterns_, s.patterns, s, pattern);
}

bool PubSub::PUnsubscribe(Session& s, std::string_view pattern) {
  return Remove(patterns_, s.patterns, s, pattern);
}

void PubSub::RemoveSession(Session& s) {
  while (!s.channels.empty()) Unsubscribe(s, *s.channels.begin(), false);
  while (!s.shard_channels.empty()) Unsubscribe(s, *s.shard_channels.begin(), true);
  while (!s.patterns.empty()) PUnsubscribe(s, *s.patterns.begin());
}

void PubSub::UnsubscribeShardSlots(const std::vector<int>& slots) {
  if (shard_channels_.empty() || slots.empty()) return;
  std::vector<bool> lost(slots::kNumSlots, false);
  for (int slot : slots) lost[slot] = true;
  std::vector<std::string> names;
  for (const auto& [name, sessions] : shard_channels_) {
    if (lost[slots::KeyHashSlot(name)]) names.push_back(name);
  }
  for (const std::string& name : names) {
    auto it = shard_channels_.find(name);
    const std::vector<Session*> targets(it->second.begin(), it->second.end());
    for (Session* s : targets) {
      Unsubscribe(*s, name, /*shard=*/true);
      if (!s->push) continue;
      std::string out;
      resp::ReplyBuilder r(&out, s->protocol);
      r.PushHeader(3);
      r.Bulk("sunsubscribe");
      r.Bulk(name);
      r.Integer(static_cast<int64_t>(s->shard_channels.size()));
      PushUnsilenced(*s, out);
    }
  }
}

size_t PubSub::Publish(std::string_view channel, std::string_view message, bool shard) {
  size_t receivers = 0;
  const auto& index = shard ? shard_channels_ : channels_;
  if (auto it = index.find(channel); it != index.end()) {
    // Copy: a push may not change subscriptions, but keep delivery robust.
    const std::vector<Session*> targets(it->second.begin(), it->second.end());
    for (Session* s : targets) {
      Push(*s, shard ? "smessage" : "message", nullptr, channel, message);
      ++receivers;
    }
  }
  if (shard) return receivers;
  for (const auto& [pattern, sessions] : patterns_) {
    if (!GlobMatch(pattern, channel)) continue;
    for (Session* s : sessions) {
      Push(*s, "pmessage", &pattern, channel, message);
      ++receivers;
    }
  }
  return receivers;
}

std::vector<std::string> PubSub::Channels(std::string_view pattern, bool shard) const {
  std::vector<std::string> out;
  for (const auto& [name, sessions] : shard ? shard_channels_ : channels_) {
    if (pattern.empty() || GlobMatch(pattern, name)) out.push_back(name);
  }
  return out;
}

size_t PubSub::NumSubscribers(std::string_view channel, bool shard) const {
  const auto& index = shard ? shard_channels_ : channels_;
  auto it = index.find(channel);
  return it == index.end() ? 0 : it->second.size();
}

}  // namespace shardnode::node
