#include "base/redirect.h"

#include "gtest/gtest.h"

namespace shardnode::base {
namespace {

TEST(RedirectTest, FormatsAsRedis) {
  EXPECT_EQ(MovedError(12182, "127.0.0.1", 7003), "MOVED 12182 127.0.0.1:7003");
  EXPECT_EQ(AskError(0, "::1", 6379), "ASK 0 ::1:6379");
  EXPECT_EQ(MovedError(3999, "?", 7003), "MOVED 3999 ?:7003");
}

}  // namespace
}  // namespace shardnode::base
