#include "replication/output_limit.h"

#include <gtest/gtest.h>

namespace shardnode::replication {
namespace {

TEST(OutputLimitTest, ReadsTheReplicaClassOfTheCanonicalValue) {
  const OutputLimit l =
      OutputLimit::ReplicaClass("normal 0 0 0 slave 1048576 524288 3 pubsub 33554432 8388608 60");
  EXPECT_EQ(l.hard_bytes, 1048576u);
  EXPECT_EQ(l.soft_bytes, 524288u);
  EXPECT_EQ(l.soft_seconds, 3);
}

TEST(OutputLimitTest, DefaultsWhenTheClassIsMissingOrMalformed) {
  for (const char* v : {"", "normal 0 0 0", "slave x 1 2"}) {
    const OutputLimit l = OutputLimit::ReplicaClass(v);
    EXPECT_EQ(l.hard_bytes, 256u << 20) << v;
    EXPECT_EQ(l.soft_bytes, 64u << 20) << v;
    EXPECT_EQ(l.soft_seconds, 60) << v;
  }
}

TEST(OutputLimitTest, ReadsTheNormalAndPubSubClasses) {
  const char* v = "normal 1000000 0 0 slave 1048576 524288 3 pubsub 100000 50000 4";
  const OutputLimit normal = OutputLimit::ForClass(v, "normal");
  EXPECT_EQ(normal.hard_bytes, 1000000u);
  EXPECT_EQ(normal.soft_bytes, 0u);
  const OutputLimit pubsub = OutputLimit::ForClass(v, "pubsub");
  EXPECT_EQ(pubsub.hard_bytes, 100000u);
  EXPECT_EQ(pubsub.soft_bytes, 50000u);
  EXPECT_EQ(pubsub.soft_seconds, 4);
  // Redis's defaults: normal unlimited, pubsub 32mb 8mb 60.
  EXPECT_EQ(OutputLimit::ForClass("", "normal").hard_bytes, 0u);
  const OutputLimit d = OutputLimit::ForClass("", "pubsub");
  EXPECT_EQ(d.hard_bytes, 32u << 20);
  EXPECT_EQ(d.soft_bytes, 8u << 20);
  EXPECT_EQ(d.soft_seconds, 60);
}

TEST(OutputLimitTest, HardLimitClosesAtOnce) {
  OutputLimitCheck c;
  const OutputLimit l{1000, 0, 0};
  EXPECT_FALSE(c.Exceeded(l, 999, 0, 0));
  EXPECT_TRUE(c.Exceeded(l, 1000, 0, 0));
}

TEST(OutputLimitTest, HardLimitBelowTheBacklogSizeIsRaisedToIt) {
  OutputLimitCheck c;
  const OutputLimit l{1000, 0, 0};
  EXPECT_FALSE(c.Exceeded(l, 1500, 2000, 0));
  EXPECT_TRUE(c.Exceeded(l, 2000, 2000, 0));
}

TEST(OutputLimitTest, SoftLimitMustHoldLongerThanItsSeconds) {
  OutputLimitCheck c;
  const OutputLimit l{0, 100, 2};
  EXPECT_FALSE(c.Exceeded(l, 150, 0, 0));  // the clock starts (at time 0)
  EXPECT_FALSE(c.Exceeded(l, 150, 0, 1000));
  EXPECT_FALSE(c.Exceeded(l, 150, 0, 2000));  // exactly 2 s: not yet
  EXPECT_TRUE(c.Exceeded(l, 150, 0, 2001));
}

TEST(OutputLimitTest, DroppingBelowTheSoftLimitRestartsItsClock) {
  OutputLimitCheck c;
  const OutputLimit l{0, 100, 1};
  EXPECT_FALSE(c.Exceeded(l, 150, 0, 0));
  EXPECT_FALSE(c.Exceeded(l, 50, 0, 900));
  EXPECT_FALSE(c.Exceeded(l, 150, 0, 1500));
  EXPECT_FALSE(c.Exceeded(l, 150, 0, 2500));
  EXPECT_TRUE(c.Exceeded(l, 150, 0, 2501));
}

TEST(OutputLimitTest, ZeroLimitsNeverClose) {
  OutputLimitCheck c;
  const OutputLimit l{0, 0, 0};
  EXPECT_FALSE(c.Exceeded(l, uint64_t{1} << 40, 0, 0));
  EXPECT_FALSE(c.Exceeded(l, uint64_t{1} << 40, 0, 100000));
}

}  // namespace
}  // namespace shardnode::replication
