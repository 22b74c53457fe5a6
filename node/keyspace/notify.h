// Keyspace notification classes: the bits of notify-keyspace-events, with
// Redis 7.0's values (its NOTIFY_* flags), so that a class set reads the
// same in both. The events themselves are published by the node
// (node/server/keyspace_events.h); the keyspace only names which class an
// event it raises belongs to (Db::on_event).
#pragma once

namespace shardnode::node {

enum NotifyClass : int {
  kNotifyKeyspace = 1 << 0,  // K: publish on __keyspace@<db>__:<key>
  kNotifyKeyevent = 1 << 1,  // E: publish on __keyevent@<db>__:<event>
  kNotifyGeneric = 1 << 2,   // g: DEL, EXPIRE, RENAME...
  kNotifyString = 1 << 3,    // $
  kNotifyList = 1 << 4,      // l
  kNotifySet = 1 << 5,       // s
  kNotifyHash = 1 << 6,      // h
  kNotifyZset = 1 << 7,      // z
  kNotifyExpired = 1 << 8,   // x
  kNotifyEvicted = 1 << 9,   // e
  kNotifyStream = 1 << 10,   // t
  kNotifyKeyMiss = 1 << 11,  // m
  kNotifyLoaded = 1 << 12,   // module key loaded (no letter)
  kNotifyModule = 1 << 13,   // d
  kNotifyNew = 1 << 14,      // n
};

}  // namespace shardnode::node
