#include "node/server/keyspace_events.h"

#include "node/config/options.h"
#include "node/keyspace/notify.h"
#include "node/server/node_services.h"
#include "node/server/pubsub.h"

namespace shardnode::node {

namespace {

std::string Channel(std::string_view kind, int db, std::string_view name) {
  std::string out = "__";
  out.append(kind);
  out += '@';
  out += std::to_string(db);
  out += "__:";
  out.append(name);
  return out;
}

}  // namespace

std::string KeyspaceChannel(int db, std::string_view key) { return Channel("keyspace", db, key); }

std::string KeyeventChannel(int db, std::string_view event) {
  return Channel("keyevent", db, event);
}

void PublishKeyspaceEvent(PubSub& pubsub, int classes, int type, std::string_view event,
                          std::string_view key, int db) {
  if ((classes & type) == 0) return;
  if (classes & kNotifyKeyspace) pubsub.Publish(KeyspaceChannel(db, key), event, false);
  if (classes & kNotifyKeyevent) pubsub.Publish(KeyeventChannel(db, event), key, false);
}

void NodeServices::NotifyKeyspaceEvent(int type, std::string_view event, std::string_view key,
                                       int db) {
  PublishKeyspaceEvent(pubsub(), options().notify_keyspace_events, type, event, key, db);
}

}  // namespace shardnode::node
