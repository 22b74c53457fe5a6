// Cluster-mode start-up and periodic work: the glue between the pure
// clusterbus::ClusterState and the node (nodes.conf file, options, logging).
//
// Loop: control loop only.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "clusterbus/cluster_state.h"
#include "node/config/options.h"

namespace shardnode::node {

class Server;

// Called by main (after chdir to `dir`) when cluster-enabled is yes: checks
// the ports, locks and loads cluster-config-file (or creates myself with a
// random id, logs "No cluster configuration found, I'm <id>" and saves with
// fsync), sets myself's announced ports/ip/hostname from the options, installs
// the cluster in `server` and `server.save_cluster_config` (which owns the
// locked file from then on). Fails with the message Redis logs before exit(1).
absl::Status SetUpCluster(Server& server, int64_t now_ms);

// The 10 Hz cluster cron: refreshes options, ticks the state, carries out
// pending effects (logs, deferred nodes.conf saves). No-op outside cluster mode.
void ClusterCron(Server& server, int64_t now_ms);

// Carries out what the cluster state accumulated: evaluates the state if
// requested, writes its log lines, saves nodes.conf when asked (a failing
// save is fatal, as in Redis: "Fatal: can't update cluster config file."),
// and empties the data set on RESET of a replica. Handlers call it after a
// mutating CLUSTER subcommand.
void ApplyClusterEffects(Server& server, int64_t now_ms);

// The cluster-* options in the form ClusterState reads them.
clusterbus::ClusterOptions ClusterOptionsFrom(const ServerOptions& options);

}  // namespace shardnode::node
