#include "node/server/monitoring.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/server/latency.h"
#include "node/server/slowlog.h"

namespace shardnode::node {
namespace {

std::vector<std::string> Args(std::initializer_list<const char*> a) {
  return std::vector<std::string>(a.begin(), a.end());
}

TEST(SlowLogTest, LogsOnlyCommandsAtOrAboveTheThresholdNewestFirst) {
  SlowLog log;
  log.MaybeAdd(Args({"get", "a"}), {}, 9, 10, 128, 100, "1.2.3.4:5", "");
  log.MaybeAdd(Args({"set", "a", "b"}), {}, 10, 10, 128, 101, "1.2.3.4:5", "me");
  log.MaybeAdd(Args({"del", "a"}), {}, 50, 10, 128, 102, "1.2.3.4:6", "");
  ASSERT_EQ(log.size(), 2u);
  const auto entries = log.Newest(10);
  EXPECT_EQ(entries[0]->id, 1u);
  EXPECT_EQ(entries[0]->args, Args({"del", "a"}));
  EXPECT_EQ(entries[1]->id, 0u);
  EXPECT_EQ(entries[1]->time_sec, 101);
  EXPECT_EQ(entries[1]->duration_us, 10);
  EXPECT_EQ(entries[1]->client_name, "me");
  // Disabled (negative threshold): nothing logged.
  log.MaybeAdd(Args({"get", "a"}), {}, 1000, -1, 128, 103, "x", "");
  EXPECT_EQ(log.size(), 2u);
}

TEST(SlowLogTest, KeepsMaxLenAndIdsGrowAcrossReset) {
  SlowLog log;
  for (int i = 0; i < 5; ++i) log.MaybeAdd(Args({"ping"}), {}, 0, 0, 3, 1, "a", "");
  EXPECT_EQ(log.size(), 3u);
  EXPECT_EQ(log.Newest(1)[0]->id, 4u);
  log.Trim(1);
  EXPECT_EQ(log.size(), 1u);
  log.Reset();
  EXPECT_EQ(log.size(), 0u);
  log.MaybeAdd(Args({"ping"}), {}, 0, 0, 3, 1, "a", "");
  EXPECT_EQ(log.Newest(1)[0]->id, 5u);
}

TEST(SlowLogTest, TruncatesArgumentsAsRedis) {
  SlowLog log;
  std::vector<std::string> args = {"sadd", "k"};
  for (int i = 0; i < 38; ++i) args.push_back(std::to_string(i));
  args[2] = std::string(130, 'x');
  log.MaybeAdd(args, {}, 0, 0, 10, 1, "a", "");
  const SlowLogEntry& e = *log.Newest(1)[0];
  ASSERT_EQ(e.args.size(), SlowLog::kMaxArgs);
  EXPECT_EQ(e.args[2], std::string(128, 'x') + "... (2 more bytes)");
  EXPECT_EQ(e.args.back(), "... (9 more arguments)");  // 40 args, 31 kept
}

TEST(SlowLogTest, RedactsSecrets) {
  EXPECT_EQ(RedactedArgs(Args({"AUTH", "pw"})), std::vector<int>({1}));
  EXPECT_EQ(RedactedArgs(Args({"auth", "user", "pw"})), std::vector<int>({1, 2}));
  EXPECT_EQ(RedactedArgs(Args({"auth", "a", "b", "c"})), std::vector<int>());
  EXPECT_EQ(RedactedArgs(Args({"hello", "3", "setname", "n", "AUTH", "u", "p"})),
            std::vector<int>({5, 6}));
  EXPECT_EQ(RedactedArgs(Args({"hello", "x", "AUTH", "u", "p"})), std::vector<int>());
  EXPECT_EQ(RedactedArgs(Args({"migrate", "h", "1", "k", "0", "5", "COPY", "AUTH", "p"})),
            std::vector<int>({8}));
  EXPECT_EQ(
      RedactedArgs(Args({"migrate", "h", "1", "", "0", "5", "AUTH2", "u", "p", "KEYS", "auth"})),
      std::vector<int>({7, 8}));
  EXPECT_EQ(RedactedArgs(Args({"config", "set", "requirepass", "p", "port", "1"})),
            std::vector<int>({3}));
  EXPECT_EQ(RedactedArgs(Args({"acl", "SETUSER", "u", "on", ">pw"})), std::vector<int>({2, 3, 4}));
  EXPECT_EQ(RedactedArgs(Args({"get", "auth"})), std::vector<int>());

  SlowLog log;
  log.MaybeAdd(Args({"auth", "pw"}), RedactedArgs(Args({"auth", "pw"})), 0, 0, 10, 1, "a", "");
  EXPECT_EQ(log.Newest(1)[0]->args, Args({"auth", "(redacted)"}));
}

TEST(MonitorLineTest, QuotesAndEscapesAsSdscatrepr) {
  EXPECT_EQ(MonitorLine(1700000000000123, 3, "127.0.0.1:5000",
                        Args({"set", "a\"b", "x\\y\n\r\t\a\b\x01\xff"}), {}),
            "+1700000000.000123 [3 127.0.0.1:5000] \"set\" \"a\\\"b\" "
            "\"x\\\\y\\n\\r\\t\\a\\b\\x01\\xff\"\r\n");
  EXPECT_EQ(MonitorLine(5000000, 0, "lua", Args({"auth", "pw"}), {1}),
            "+5.000000 [0 lua] \"auth\" \"(redacted)\"\r\n");
}

TEST(InstantaneousMetricTest, AveragesTheLast16Rates) {
  InstantaneousMetric m;
  m.Track(1000, 0);  // the first sample only sets the base
  EXPECT_EQ(m.PerSecond(), 0);
  for (int i = 1; i <= 16; ++i) m.Track(1000 + i * 100, static_cast<uint64_t>(i) * 50);
  EXPECT_EQ(m.PerSecond(), 500);                                // 50 per 100 ms
  for (int i = 17; i <= 24; ++i) m.Track(1000 + i * 100, 800);  // idle
  EXPECT_EQ(m.PerSecond(), 250);
}

TEST(LatencyMonitorTest, KeepsOneSamplePerSecondAndTheMaximum) {
  LatencyMonitor m;
  m.AddIfNeeded("command", 5, 0, 100);  // threshold 0: monitoring off
  m.AddIfNeeded("command", 5, 10, 100);
  EXPECT_TRUE(m.events().empty());
  m.AddIfNeeded("command", 20, 10, 100);
  m.AddIfNeeded("command", 30, 10, 100);  // same second: the worst is kept
  m.AddIfNeeded("command", 15, 10, 100);
  m.AddIfNeeded("command", 12, 10, 101);
  const LatencyMonitor::Series* s = m.Find("command");
  ASSERT_NE(s, nullptr);
  const auto h = s->History();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].time_sec, 100);
  EXPECT_EQ(h[0].latency_ms, 30);
  EXPECT_EQ(s->Latest().latency_ms, 12);
  EXPECT_EQ(s->max_ms, 30);
  EXPECT_NE(LatencyMonitor::Graph("command", *s, 102).find("command - high 30 ms, low 12 ms"),
            std::string::npos);
  EXPECT_NE(m.Doctor(102, 10).find("command: 2 latency spikes"), std::string::npos);
  EXPECT_EQ(m.Reset("COMMAND"), 1);
  EXPECT_EQ(m.Reset(), 0);
}

TEST(LatencyMonitorTest, RingHoldsTheLast160Seconds) {
  LatencyMonitor m;
  for (int t = 1; t <= 200; ++t) m.Add("expire-cycle", t, t);
  const auto h = m.Find("expire-cycle")->History();
  ASSERT_EQ(h.size(), 160u);
  EXPECT_EQ(h.front().time_sec, 41);
  EXPECT_EQ(h.back().time_sec, 200);
}

TEST(LatencyHistogramTest, PercentilesAndBucketsAsHdrHistogram) {
  LatencyHistogram h;
  EXPECT_EQ(h.CumulativeBuckets().size(), 0u);
  h.Record(1000);     // 1 us
  h.Record(3000);     // 3 us
  h.Record(5000000);  // 5 ms
  EXPECT_EQ(h.total(), 3u);
  // Values below 256 ns are exact; above, buckets of 2^(log2(v) - 7).
  EXPECT_EQ(h.ValueAtPercentile(0), 1000);
  EXPECT_EQ(h.ValueAtPercentile(50), 3007);      // 3000 in [2992, 3008)
  EXPECT_EQ(h.ValueAtPercentile(100), 5013503);  // 5000000 in [4980736, 5013504)
  // Redis prints the upper bound of 1, 2, 4... us with cumulative counts,
  // only where the count grew: 1 (<= 1031 ns), 4 (<= 4127 ns), 8454 (8 ms).
  const auto b = h.CumulativeBuckets();
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], std::make_pair(int64_t{1}, uint64_t{1}));
  EXPECT_EQ(b[1], std::make_pair(int64_t{4}, uint64_t{2}));
  EXPECT_EQ(b[2].second, 3u);
  // Out of range values are clamped to 1 ns .. 1 s.
  LatencyHistogram c;
  c.Record(0);
  c.Record(int64_t{5} * 1000 * 1000 * 1000);
  EXPECT_EQ(c.ValueAtPercentile(0), 1);
  EXPECT_GE(c.ValueAtPercentile(100), LatencyHistogram::kMaxNs);
}

}  // namespace
}  // namespace shardnode::node
