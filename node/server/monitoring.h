// Monitoring: what the node records for its operators beside INFO's
// counters: the slow log (SLOWLOG), the latency events (LATENCY) and the
// clients in MONITOR mode, which receive every command the node runs.
// The dispatcher records into it after each command (Dispatcher::Record);
// the commands of node/commands/monitoring_family.cc read it.
//
// Loop: the control loop.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "node/server/latency.h"
#include "node/server/slowlog.h"

namespace shardnode::node {

struct Monitoring {
  SlowLog slowlog;
  LatencyMonitor latency;
  // MONITOR clients by id, in the order they asked (Server::DetachSession
  // drops a client that leaves).
  std::vector<uint64_t> monitors;
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
