#include "node/app/mode.h"

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

}  // namespace
}  // namespace shardnode::node
