// Which program one shardnode process is: decided from the command line
// alone, first, so that main() wires only that mode. Pure.
#pragma once

namespace shardnode::node {

enum class Mode {
  kDataNode,  // a cluster node or a standalone server (data_node.h)
  kSentinel,  // Redis Sentinel (sentinel_node.h)
};

// Redis 7.0.15's checkForSentinelMode: Sentinel when the program name (the
// last component of argv[0]) contains "redis-sentinel" or any argument is
// exactly "--sentinel"; a data node otherwise.
// REQUIRES: argc >= 1 and argv[0..argc) are NUL-terminated strings.
Mode ChooseMode(int argc, const char* const* argv);

}  // namespace shardnode::node
