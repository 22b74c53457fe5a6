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
  // The link actions of the engine's Ready (ApplyClusterEffects calls them;
  // after any engine call made outside the shell, call ApplyClusterEffects).
  // Connect answers through engine().OnOutboundConnected / OnOutboundFailed
  // (possibly at once); a Send or Close on a link already gone is a no-op.
  virtual void Connect(const clusterbus::ConnectAction& action, int64_t now_ms) = 0;
  virtual void Send(const clusterbus::SendAction& action) = 0;
  virtual void Close(clusterbus::LinkId link) = 0;
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

// Carries out, until none is left, every item of the cluster core's Ready
// (the bus engine's when the bus runs, else the ClusterState's): link
// actions through Server::cluster_bus, PUBLISH delivery, log lines,
// nodes.conf saves (a failing save is fatal, as in Redis: "Fatal: can't
// update cluster config file."), emptying the data set on RESET of a
// replica, deleting the keys of slots lost to a newer claim (one DEL each
// to the write stream), shard-channel unsubscribes, write pauses and
// replication changes. Alone only after engine calls that change no
// cluster state (PUBLISH to the bus); otherwise use ApplyClusterEffects.
void CarryOutClusterReady(Server& server, int64_t now_ms);

// CarryOutClusterReady after refreshing the cluster options, then
// republishes the slot table (Server::PublishSlotTable) and redirects
// blocked clients. Handlers call it after a mutating CLUSTER subcommand or
// any other call into the engine; the bus shell after every batch and cron.
void ApplyClusterEffects(Server& server, int64_t now_ms);

// Re-reads the cluster-* options and myself's announced ip/ports/hostname
// (after CONFIG SET, so that CLUSTER NODES shows them at once; a changed
// hostname is also sent to every node at once). No-op outside cluster mode.
void RefreshClusterOptions(Server& server);

// The cluster-* options in the form ClusterState reads them.
clusterbus::ClusterOptions ClusterOptionsFrom(const ServerOptions& options);

}  // namespace shardnode::node
