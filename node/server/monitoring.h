// Monitoring: what the node records for its operators beside INFO's
// counters: the slow log (SLOWLOG), the latency events (LATENCY) and the
// clients in MONITOR mode, which receive every command the node runs.
// The dispatcher records into it after each command (Dispatcher::Record);
// the commands of node/commands/monitoring_family.cc read it.
//
// Loop: the control loop (shard_lines: any thread).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "node/server/handoff_queue.h"
#include "node/server/latency.h"
#include "node/server/slowlog.h"

namespace shardnode::node {

// A rate over the last 16 samples, as Redis's trackInstantaneousMetric:
// each sample is the counter's growth per second since the previous one.
class InstantaneousMetric {
 public:
  static constexpr int kSamples = 16;
  void Track(int64_t now_ms, uint64_t counter) {
    const int64_t elapsed = now_ms - last_ms_;
    const int64_t grown = static_cast<int64_t>(counter - last_count_);
    samples_[next_] = last_ms_ != 0 && elapsed > 0 ? grown * 1000 / elapsed : 0;
    next_ = (next_ + 1) % kSamples;
    last_ms_ = now_ms;
    last_count_ = counter;
  }
  // Per second, averaged over the samples.
  int64_t PerSecond() const {
    int64_t sum = 0;
    for (int64_t s : samples_) sum += s;
    return sum / kSamples;
  }

 private:
  int64_t samples_[kSamples] = {};
  int next_ = 0;
  int64_t last_ms_ = 0;
  uint64_t last_count_ = 0;
};

struct Monitoring {
  // INFO stats instantaneous_ops_per_sec / _input_kbps / _output_kbps,
  // sampled by the cron every 100 ms.
  InstantaneousMetric ops;
  InstantaneousMetric net_input;
  InstantaneousMetric net_output;
  int64_t last_metric_sample_ms = 0;
  SlowLog slowlog;
  LatencyMonitor latency;
  // MONITOR clients by id, in the order they asked (Server::DetachSession
  // drops a client that leaves).
  std::vector<uint64_t> monitors;
  // The MONITOR lines of commands run on shard threads (any thread pushes),
  // sent by the control loop in the order the commands ran
  // (Server::SendQueuedMonitorLines).
  HandoffQueue<std::string> shard_lines;
};

}  // namespace shardnode::node

namespace shardnode::node {

// One line as MONITOR clients receive it: "+<sec>.<usec> [<db> <origin>]
// "arg" "arg"...\r\n", each argument quoted and escaped as Redis's
// sdscatrepr does; `origin` is the client's "ip:port", or "lua" for a
// script's commands; the indexes in `redacted` read "(redacted)".
std::string MonitorLine(int64_t now_us, int db, std::string_view origin,
                        std::span<const std::string> args, const std::vector<int>& redacted);

}  // namespace shardnode::node
