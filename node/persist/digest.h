// DEBUG DIGEST and DEBUG DIGEST-VALUE: a stable fingerprint of the dataset,
// or of single values, as 40 hex characters (all zeros for an empty dataset
// or a missing key). It is order-independent (insertion order, hash-table
// layout and encodings do not matter) and covers key names, types, values
// and expire times. It is meant to compare shardnode with shardnode (before
// and after a restart, a primary and its replica); it is not the SHA1-based
// digest redis-server prints.
//
// Pure; runs on the loop that owns the keyspace.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "node/keyspace/value.h"

namespace shardnode::node {
class Server;
class Shard;
}  // namespace shardnode::node

namespace shardnode::node::persist {

// Every key of every database (expired-but-not-reaped keys included).
std::string DatasetDigest(Shard& shard);
// The same over the server's shard.
std::string DatasetDigest(Server& server);
// One value (with its expire time, -1 for none).
std::string ValueDigest(const Value& value, int64_t expire_ms);

}  // namespace shardnode::node::persist
