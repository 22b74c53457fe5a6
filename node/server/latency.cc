#include "node/server/latency.h"

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/strings.h"

namespace shardnode::node {

std::vector<LatencySample> LatencyMonitor::Series::History() const {
  std::vector<LatencySample> out;
  for (int j = 0; j < kSamples; ++j) {
    const LatencySample& s = samples[(next + j) % kSamples];
    if (s.time_sec != 0) out.push_back(s);
  }
  return out;
}

void LatencyMonitor::Add(std::string_view event, int64_t latency_ms, int64_t now_sec) {
  auto it = events_.find(event);
  if (it == events_.end()) it = events_.emplace(std::string(event), Series()).first;
  Series& s = it->second;
  s.max_ms = std::max(s.max_ms, latency_ms);
  // One sample per second: a second's sample keeps the worst latency.
  LatencySample& prev = s.samples[(s.next + kSamples - 1) % kSamples];
  if (prev.time_sec == now_sec) {
    prev.latency_ms = std::max(prev.latency_ms, latency_ms);
    return;
  }
  s.samples[s.next] = {now_sec, latency_ms};
  s.next = (s.next + 1) % kSamples;
}

int LatencyMonitor::Reset(std::string_view event) {
  int dropped = 0;
  for (auto it = events_.begin(); it != events_.end();) {
    if (event.empty() || base::EqualsIgnoreCase(it->first, event)) {
      it = events_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

const LatencyMonitor::Series* LatencyMonitor::Find(std::string_view event) const {
  auto it = events_.find(event);
  return it == events_.end() ? nullptr : &it->second;
}

namespace {

std::string AgoLabel(int64_t elapsed) {
  if (elapsed < 60) return absl::StrCat(elapsed, "s");
  if (elapsed < 3600) return absl::StrCat(elapsed / 60, "m");
  if (elapsed < 86400) return absl::StrCat(elapsed / 3600, "h");
  return absl::StrCat(elapsed / 86400, "d");
}

}  // namespace

std::string LatencyMonitor::Graph(std::string_view event, const Series& s, int64_t now_sec) {
  constexpr int kCols = 80;
  constexpr int kRows = 4;
  std::vector<LatencySample> h = s.History();
  // The most recent samples that fit the width.
  if (h.size() > static_cast<size_t>(kCols)) h.erase(h.begin(), h.end() - kCols);
  int64_t lo = 0, hi = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    lo = i == 0 ? h[i].latency_ms : std::min(lo, h[i].latency_ms);
    hi = i == 0 ? h[i].latency_ms : std::max(hi, h[i].latency_ms);
  }
  std::string out = absl::StrFormat("%s - high %d ms, low %d ms (all time high %d ms)\n",
                                    std::string(event), hi, lo, s.max_ms);
  out.append(kCols, '-');
  out += '\n';
  // Each sample is one column: its height in quarter rows between the low
  // and the high, drawn from the top ('#' full cells, '|' the tip, '_' the
  // floor for the lowest samples).
  std::vector<int> height(h.size());
  for (size_t i = 0; i < h.size(); ++i) {
    height[i] = hi == lo ? kRows
                         : 1 + static_cast<int>((h[i].latency_ms - lo) * (kRows - 1) /
                                                std::max<int64_t>(1, hi - lo));
  }
  for (int row = kRows; row >= 1; --row) {
    std::string line;
    for (size_t i = 0; i < h.size(); ++i) {
      if (height[i] > row) {
        line += '#';
      } else if (height[i] == row) {
        line += row == 1 ? '_' : '|';
      } else {
        line += ' ';
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    absl::StrAppend(&out, line, "\n");
  }
  // The labels, written vertically under their columns.
  std::vector<std::string> labels;
  size_t tallest = 0;
  for (const LatencySample& x : h) {
    labels.push_back(AgoLabel(now_sec - x.time_sec));
    tallest = std::max(tallest, labels.back().size());
  }
  for (size_t row = 0; row < tallest; ++row) {
    std::string line;
    for (const std::string& l : labels) line += row < l.size() ? l[row] : ' ';
    while (!line.empty() && line.back() == ' ') line.pop_back();
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string LatencyMonitor::Doctor(int64_t now_sec, int64_t threshold_ms) const {
  if (events_.empty() && threshold_ms == 0) {
    return "Latency monitoring is disabled on this node (latency-monitor-threshold is 0). "
           "Use \"CONFIG SET latency-monitor-threshold <milliseconds>\" to enable it.\n";
  }
  if (events_.empty()) {
    return "No latency spike was observed during the lifetime of this node: nothing to report.\n";
  }
  std::string out = "Latency spikes were observed on this node:\n\n";
  int n = 0;
  for (const auto& [name, s] : events_) {
    const std::vector<LatencySample> h = s.History();
    int64_t sum = 0, oldest = 0;
    for (const LatencySample& x : h) {
      sum += x.latency_ms;
      if (oldest == 0 || x.time_sec < oldest) oldest = x.time_sec;
    }
    const int64_t count = static_cast<int64_t>(h.size());
    const int64_t avg = count ? sum / count : 0;
    int64_t dev = 0;
    for (const LatencySample& x : h)
      dev += x.latency_ms > avg ? x.latency_ms - avg : avg - x.latency_ms;
    const int64_t mad = count ? dev / count : 0;
    int64_t period = count ? now_sec - oldest : 0;
    if (count && period == 0) period = 1;
    absl::StrAppendFormat(&out,
                          "%d. %s: %d latency spikes (average %dms, mean deviation %dms, period "
                          "%.2f sec). Worst all time event %dms.\n",
                          ++n, name, count, avg, mad,
                          count ? static_cast<double>(period) / count : 0.0, s.max_ms);
  }
  out +=
      "\nCheck SLOWLOG GET for the slow commands behind \"command\" and \"fast-command\" "
      "spikes; \"expire-cycle\" spikes come from many keys expiring at once.\n";
  return out;
}

namespace {

// HdrHistogram's layout for 1 ns .. 1 s with 2 significant digits:
// 256 sub-buckets, the lower half of each bucket after the first shared
// with the previous one; bucket b's values step by 2^b.
constexpr int kSubBucketHalfCountMagnitude = 7;
constexpr int64_t kSubBucketHalfCount = 128;
constexpr int64_t kSubBucketMask = 255;

int BucketIndex(int64_t v) {
  return 63 - std::countl_zero(static_cast<uint64_t>(v | kSubBucketMask)) -
         kSubBucketHalfCountMagnitude;
}
int CountsIndex(int64_t v) {
  const int bucket = BucketIndex(v);
  const int64_t sub = v >> bucket;
  return static_cast<int>(((bucket + 1) << kSubBucketHalfCountMagnitude) +
                          (sub - kSubBucketHalfCount));
}
int64_t ValueAtIndex(int index) {
  int bucket = (index >> kSubBucketHalfCountMagnitude) - 1;
  int64_t sub = (index & (kSubBucketHalfCount - 1)) + kSubBucketHalfCount;
  if (bucket < 0) {
    sub -= kSubBucketHalfCount;
    bucket = 0;
  }
  return sub << bucket;
}
int64_t LowestEquivalent(int64_t v) {
  const int bucket = BucketIndex(v);
  return (v >> bucket) << bucket;
}
int64_t HighestEquivalent(int64_t v) {
  const int bucket = BucketIndex(v);
  const int64_t sub = v >> bucket;
  const int adjusted = sub >= 2 * kSubBucketHalfCount ? bucket + 1 : bucket;
  return LowestEquivalent(v) + (int64_t{1} << adjusted) - 1;
}

}  // namespace

void LatencyHistogram::Record(int64_t ns) {
  ns = std::clamp(ns, kMinNs, kMaxNs);
  ++counts_[CountsIndex(ns)];
  ++total_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (const auto& [index, count] : other.counts_) counts_[index] += count;
  total_ += other.total_;
}

int64_t LatencyHistogram::ValueAtPercentile(double percentile) const {
  const double p = std::min(percentile, 100.0);
  int64_t wanted = static_cast<int64_t>(p / 100 * static_cast<double>(total_) + 0.5);
  wanted = std::max<int64_t>(wanted, 1);
  uint64_t seen = 0;
  int64_t value = 0;
  for (const auto& [index, count] : counts_) {
    seen += count;
    value = ValueAtIndex(index);
    if (static_cast<int64_t>(seen) >= wanted) break;
  }
  if (total_ == 0) return 0;
  return percentile == 0.0 ? LowestEquivalent(value) : HighestEquivalent(value);
}

std::vector<std::pair<int64_t, uint64_t>> LatencyHistogram::CumulativeBuckets() const {
  std::vector<std::pair<int64_t, uint64_t>> out;
  uint64_t previous = 0;
  auto it = counts_.begin();
  uint64_t cumulative = 0;
  for (int64_t level = 1024; previous < total_; level *= 2) {
    // Every value in the bucket of `level` or below counts at this level.
    const int last = CountsIndex(std::min(level, kMaxNs + kMaxNs));
    while (it != counts_.end() && it->first <= last) cumulative += (it++)->second;
    if (cumulative > previous) out.emplace_back(HighestEquivalent(level) / 1000, cumulative);
    previous = cumulative;
  }
  return out;
}

}  // namespace shardnode::node
