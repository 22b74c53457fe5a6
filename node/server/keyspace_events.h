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
// Loop: the loop that owns the sessions (PubSub's).
#pragma once

#include <string>
#include <string_view>

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

}  // namespace shardnode::node
