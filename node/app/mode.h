// Which program one shardnode process is: decided from the command line
// alone, first, so that main() wires only that mode. Pure.
#pragma once

#include <string>
#include <string_view>

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

// shardnode's own version (`shardnode --version`); INFO's redis_version
// stays the Redis version it is compatible with (7.0.15).
inline constexpr char kShardnodeVersion[] = "0.1.0";

// What the first argument asks for instead of running a server, as
// redis-server's main() checks argv[1]: -v / --version, -h / --help,
// --test-memory (Redis's memory tester, which shardnode does not have).
enum class Informational { kNone, kVersion, kHelp, kTestMemory };
Informational ChooseInformational(int argc, const char* const* argv);

// `shardnode --version`'s line (newline included): its name and version,
// the Redis version it is compatible with, bits and allocator.
std::string VersionText();
// `shardnode --help`'s text, shaped like redis-server's usage;
// `program` is argv[0].
std::string UsageText(std::string_view program);
// `shardnode --test-memory`'s message (exit code 1: no memory test).
std::string TestMemoryText();

}  // namespace shardnode::node
