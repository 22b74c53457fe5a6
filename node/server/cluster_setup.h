// Cluster-mode start-up and periodic work: the glue between the pure
// clusterbus::ClusterState and the node (nodes.conf file, options, logging).
//
// Loop: control loop only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "clusterbus/cluster_state.h"
#include "node/config/options.h"

namespace shardnode::clusterbus {
class BusEngine;
}

namespace shardnode::node {

class Server;

// One row of CLUSTER LINKS, as the bus shell sees the link.
struct BusLinkInfo {
  bool outbound = false;  // "to" (outbound) or "from" (inbound)
  std::string node_id;
  int64_t create_ms = 0;
  std::string events;  // "r", "rw" or ""
  uint64_t send_buffer_allocated = 0;
  uint64_t send_buffer_used = 0;
};

// What the cluster bus shell (node/net/bus_server.h) offers to commands and
// to the cron. Installed in Server::cluster_bus by main in cluster mode.
class ClusterBus {
 public:
  virtual ~ClusterBus() = default;
  // The protocol engine (CLUSTER MEET, DEBUG DROP-CLUSTER-PACKET-FILTER...).
  virtual clusterbus::BusEngine& engine() = 0;
  // Carries out every action the engine has queued (connects, sends,
  // closes). Call after any engine call made outside the shell.
  virtual void RunActions(int64_t now_ms) = 0;
  // CLUSTER LINKS: only links associated with a node.
  virtual std::vector<BusLinkInfo> Links() const = 0;
};

// Called by main (after chdir to `dir`) when cluster-enabled is yes: checks
// the ports, locks and loads cluster-config-file (or creates myself with a
// random id, logs "No cluster configuration found, I'm <id>" and saves with
// fsync), sets myself's announced ports/ip/hostname from the options, installs
// the cluster in `server` and `server.save_cluster_config` (which owns the
// locked file from then on). Fails with the message Redis logs before exit(1).
absl::Status SetUpCluster(Server& server, int64_t now_ms);

// The 10 Hz cluster cron: refreshes options, ticks the bus engine (when the
// bus runs) and the state, carries out pending actions and effects (logs,
// deferred nodes.conf saves). No-op outside cluster mode.
void ClusterCron(Server& server, int64_t now_ms);

// Carries out what the cluster state accumulated: first the bus engine's
// queued actions (Server::cluster_bus), then evaluates the state if
// requested, writes its log lines, saves nodes.conf when asked (a failing
// save is fatal, as in Redis: "Fatal: can't update cluster config file."),
// and empties the data set on RESET of a replica. Handlers call it after a
// mutating CLUSTER subcommand.
void ApplyClusterEffects(Server& server, int64_t now_ms);

// Re-reads the cluster-* options and myself's announced ip/ports/hostname
// (after CONFIG SET, so that CLUSTER NODES shows them at once; a changed
// hostname is also sent to every node at once). No-op outside cluster mode.
void RefreshClusterOptions(Server& server);

// The cluster-* options in the form ClusterState reads them.
clusterbus::ClusterOptions ClusterOptionsFrom(const ServerOptions& options);

}  // namespace shardnode::node
