#include "node/app/mode.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

Mode Choose(std::vector<const char*> argv) {
  return ChooseMode(static_cast<int>(argv.size()), argv.data());
}

TEST(ModeTest, DataNodeByDefault) {
  EXPECT_EQ(Choose({"shardnode"}), Mode::kDataNode);
  EXPECT_EQ(Choose({"/usr/bin/shardnode", "redis.conf", "--port", "7000"}), Mode::kDataNode);
  // Only the exact argument counts, and not as the program name.
  EXPECT_EQ(Choose({"shardnode", "--sentinel=yes", "--Sentinel"}), Mode::kDataNode);
  EXPECT_EQ(Choose({"--sentinel"}), Mode::kDataNode);
  // Only the last path component names the program.
  EXPECT_EQ(Choose({"/opt/redis-sentinel/bin/shardnode"}), Mode::kDataNode);
}

TEST(ModeTest, SentinelByFlagOrProgramName) {
  EXPECT_EQ(Choose({"shardnode", "sentinel.conf", "--sentinel"}), Mode::kSentinel);
  EXPECT_EQ(Choose({"shardnode", "--sentinel", "--port", "26379"}), Mode::kSentinel);
  EXPECT_EQ(Choose({"redis-sentinel", "sentinel.conf"}), Mode::kSentinel);
  EXPECT_EQ(Choose({"/usr/local/bin/redis-sentinel"}), Mode::kSentinel);
  EXPECT_EQ(Choose({"./my-redis-sentinel-7"}), Mode::kSentinel);
}

Informational Info(std::vector<const char*> argv) {
  return ChooseInformational(static_cast<int>(argv.size()), argv.data());
}

TEST(ModeTest, FirstArgumentAsksForVersionHelpOrMemoryTest) {
  EXPECT_EQ(Info({"shardnode", "-v"}), Informational::kVersion);
  EXPECT_EQ(Info({"shardnode", "--version"}), Informational::kVersion);
  EXPECT_EQ(Info({"shardnode", "-h"}), Informational::kHelp);
  EXPECT_EQ(Info({"shardnode", "--help"}), Informational::kHelp);
  EXPECT_EQ(Info({"shardnode", "--test-memory", "1024"}), Informational::kTestMemory);
  // Only as the first argument, as redis-server checks them.
  EXPECT_EQ(Info({"shardnode"}), Informational::kNone);
  EXPECT_EQ(Info({"shardnode", "redis.conf", "--version"}), Informational::kNone);
  EXPECT_EQ(Info({"shardnode", "--port", "7000"}), Informational::kNone);
}

TEST(ModeTest, VersionNamesShardnodeAndTheRedisVersion) {
  const std::string v = VersionText();
  EXPECT_EQ(v.rfind("shardnode v=", 0), 0u) << v;
  EXPECT_NE(v.find("compatible with Redis 7.0.15"), std::string::npos) << v;
  EXPECT_EQ(v.back(), '\n');
  EXPECT_NE(UsageText("./shardnode").find("Usage: ./shardnode [/path/to/redis.conf]"),
            std::string::npos);
}

}  // namespace
}  // namespace shardnode::node
