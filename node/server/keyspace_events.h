// Keyspace notifications (Redis's notify.c): an event on a key is published
// to the local subscribers of `__keyspace@<db>__:<key>` (message: the event
// name) when notify-keyspace-events has K, then of
// `__keyevent@<db>__:<event>` (message: the key) when it has E, provided
// the event's class (node/keyspace/notify.h) is enabled too.
//
// Every event goes through PublishKeyspaceEvent: command handlers raise
// theirs with CommandContext::Notify, the Db raises "new", "keymiss",
// "expired" and "evicted" through its on_event hook. As in Redis, the
// messages stay on this node: they are never sent over the cluster bus.
//
// Loop: the loop that owns the sessions (PubSub's). While shard threads run
// commands (shard.h), the events they raise are queued
// (KeyspaceEventQueue) and published by the control loop.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "node/server/handoff_queue.h"

namespace shardnode::node {

class PubSub;

// The channels of one event.
std::string KeyspaceChannel(int db, std::string_view key);
std::string KeyeventChannel(int db, std::string_view event);

// Publishes `event` on `key` of database `db` as `classes` (the node's
// notify-keyspace-events bits) say for an event of class `type`. Costs a
// test of two bits when the class is off.
void PublishKeyspaceEvent(PubSub& pubsub, int classes, int type, std::string_view event,
                          std::string_view key, int db);

// The events raised by commands running on shard threads, published by the
// control loop in the order they were raised (a HandoffQueue: the events
// of a client's commands on several shards keep its order). Its own events
// are published at once, as at `threads 1`.
class KeyspaceEventQueue {
 public:
  // Any thread. Queues the event when `classes` enable it (a test of two
  // bits otherwise); wakes the control loop when the queue was empty.
  void Push(int classes, int type, std::string_view event, std::string_view key, int db);
  // The control loop: publishes every queued event, in order.
  void PublishAll(PubSub& pubsub);
  // See HandoffQueue::set_wake.
  void set_wake(std::function<void()> wake) { queue_.set_wake(std::move(wake)); }

 private:
  struct Event {
    int classes;
    int type;
    int db;
    std::string event;
    std::string key;
  };
  HandoffQueue<Event> queue_;
};

}  // namespace shardnode::node
