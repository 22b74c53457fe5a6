#include "node/server/keyspace_events.h"

#include "node/config/options.h"
#include "node/keyspace/notify.h"
#include "node/server/node_services.h"
#include "node/server/pubsub.h"
#include "node/server/shard.h"

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

void KeyspaceEventQueue::Push(int classes, int type, std::string_view event, std::string_view key,
                              int db) {
  if ((classes & type) == 0) return;
  queue_.Push(Event{classes, type, db, std::string(event), std::string(key)});
}

void KeyspaceEventQueue::PublishAll(PubSub& pubsub) {
  for (const Event& e : queue_.TakeAll())
    PublishKeyspaceEvent(pubsub, e.classes, e.type, e.event, e.key, e.db);
}

void NodeServices::NotifyKeyspaceEvent(int type, std::string_view event, std::string_view key,
                                       int db) {
  const int classes = options().notify_keyspace_events;
  if (running_on_shard_thread) {
    if (KeyspaceEventQueue* queue = keyspace_event_queue(); queue != nullptr) {
      queue->Push(classes, type, event, key, db);
      return;
    }
  }
  PublishKeyspaceEvent(pubsub(), classes, type, event, key, db);
}

}  // namespace shardnode::node
