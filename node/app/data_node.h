// The data-node mode of shardnode: a Redis Cluster node (cluster-enabled
// yes) or a standalone server, serving RESP clients, the cluster bus,
// replication and RDB persistence. main() runs it when ChooseMode (mode.h)
// picks Mode::kDataNode.
#pragma once

namespace shardnode::node {

// Parses the redis-server command line `argv` ([config-file] [--name
// value...]), wires the node and runs its event loop on the calling thread
// until SHUTDOWN, SIGTERM or SIGINT. Returns the process exit code: 0 after
// a clean shutdown, 1 when the configuration is invalid, a port cannot be
// bound, nodes.conf or the RDB file cannot be loaded. Logs as it goes
// (after the configuration is read); may daemonize (fork) first.
// REQUIRES: called once per process, from main().
int RunDataNode(int argc, char** argv);

}  // namespace shardnode::node
