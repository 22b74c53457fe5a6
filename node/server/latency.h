// Latency bookkeeping, as Redis 7.0.15 keeps it (latency.c, and the
// per-command histograms of server.c):
//
//  - LatencyMonitor: named events (command, fast-command, expire-cycle...)
//    whose duration reached latency-monitor-threshold, each a ring of the
//    last 160 samples, one per second (a second's sample keeps its worst),
//    plus the event's all-time maximum. LATENCY LATEST / HISTORY / RESET /
//    GRAPH / DOCTOR read it.
//  - LatencyHistogram: one command's durations in nanoseconds, kept as an
//    HdrHistogram with 2 significant digits between 1 ns and 1 s does, so
//    that INFO latencystats percentiles and LATENCY HISTOGRAM buckets are
//    the values Redis prints for the same samples.
//
// Pure: times come in as arguments. Loop: the control loop.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shardnode::node {

struct LatencySample {
  int64_t time_sec = 0;  // 0: an empty slot
  int64_t latency_ms = 0;
};

class LatencyMonitor {
 public:
  static constexpr int kSamples = 160;

  struct Series {
    std::array<LatencySample, kSamples> samples{};
    int next = 0;  // where the next sample goes
    int64_t max_ms = 0;
    // The samples, oldest first (empty slots left out).
    std::vector<LatencySample> History() const;
    const LatencySample& Latest() const { return samples[(next + kSamples - 1) % kSamples]; }
  };

  // Adds a sample when `threshold_ms` > 0 and `latency_ms` >= it (Redis's
  // latencyAddSampleIfNeeded).
  void AddIfNeeded(std::string_view event, int64_t latency_ms, int64_t threshold_ms,
                   int64_t now_sec) {
    if (threshold_ms > 0 && latency_ms >= threshold_ms) Add(event, latency_ms, now_sec);
  }
  void Add(std::string_view event, int64_t latency_ms, int64_t now_sec);
  // Drops one event's series (case-insensitive name), or every series when
  // `event` is empty. Returns how many were dropped.
  int Reset(std::string_view event = {});
  // nullptr when the event has no samples.
  const Series* Find(std::string_view event) const;
  const std::map<std::string, Series, std::less<>>& events() const { return events_; }

  // LATENCY GRAPH's text for one series (Redis's sparkline, 80 columns by
  // 4 rows, labelled with how long ago each sample was).
  static std::string Graph(std::string_view event, const Series& s, int64_t now_sec);
  // LATENCY DOCTOR's report.
  std::string Doctor(int64_t now_sec, int64_t threshold_ms) const;

 private:
  std::map<std::string, Series, std::less<>> events_;
};

class LatencyHistogram {
 public:
  static constexpr int64_t kMinNs = 1;
  static constexpr int64_t kMaxNs = 1000000000;

  // Records one duration (clamped to [kMinNs, kMaxNs]).
  void Record(int64_t ns);
  uint64_t total() const { return total_; }
  // The value at `percentile` (0..100), in ns, as hdr_value_at_percentile.
  int64_t ValueAtPercentile(double percentile) const;
  // LATENCY HISTOGRAM's buckets: (upper bound in us, cumulative count) at
  // 1, 2, 4... us (HdrHistogram's log iterator from 1024 ns, base 2),
  // only those where the cumulative count grew.
  std::vector<std::pair<int64_t, uint64_t>> CumulativeBuckets() const;
  // Adds `other`'s durations (a sum over shard views).
  void Merge(const LatencyHistogram& other);

 private:
  std::map<int, uint64_t> counts_;  // by HdrHistogram counts index
  uint64_t total_ = 0;
};

}  // namespace shardnode::node
