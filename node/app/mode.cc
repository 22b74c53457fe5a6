#include "node/app/mode.h"

#include <string_view>

namespace shardnode::node {

Mode ChooseMode(int argc, const char* const* argv) {
  std::string_view program = argv[0];
  if (const size_t slash = program.rfind('/'); slash != std::string_view::npos) {
    program.remove_prefix(slash);
  }
  if (program.find("redis-sentinel") != std::string_view::npos) return Mode::kSentinel;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--sentinel") return Mode::kSentinel;
  }
  return Mode::kDataNode;
}

Informational ChooseInformational(int argc, const char* const* argv) {
  if (argc < 2) return Informational::kNone;
  const std::string_view first = argv[1];
  if (first == "-v" || first == "--version") return Informational::kVersion;
  if (first == "-h" || first == "--help") return Informational::kHelp;
  if (first == "--test-memory") return Informational::kTestMemory;
  return Informational::kNone;
}

std::string VersionText() {
  return std::string("shardnode v=") + kShardnodeVersion +
         " (Redis Cluster node, compatible with Redis 7.0.15) redis_version=7.0.15 bits=64 "
         "malloc=libc\n";
}

std::string UsageText(std::string_view program) {
  std::string p(program);
  return "Usage: " + p + " [/path/to/redis.conf] [options] [-]\n" + "       " + p +
         " - (read config from stdin)\n" + "       " + p + " -v or --version\n" + "       " + p +
         " -h or --help\n\n" +
         "shardnode is a Redis Cluster node compatible with Redis 7.0.15: it reads\n" +
         "redis.conf files and takes the same --name value options.\n\n" + "Examples:\n" +
         "       " + p + " (run the server with default conf)\n" +
         "       echo 'maxmemory 128mb' | " + p + " -\n" + "       " + p +
         " /etc/redis/6379.conf\n" + "       " + p + " --port 7777\n" + "       " + p +
         " --port 7777 --replicaof 127.0.0.1 8888\n" + "       " + p +
         " --port 7000 --cluster-enabled yes --dir /tmp/n1\n" + "       " + p +
         " /etc/myredis.conf --loglevel verbose -\n" + "       " + p +
         " /etc/myredis.conf --loglevel verbose\n\n";
}

std::string TestMemoryText() {
  return "shardnode has no memory tester (redis-server --test-memory): use memtester or "
         "memtest86+ instead.\n";
}

}  // namespace shardnode::node
