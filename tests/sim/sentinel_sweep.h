// Random scenarios for the Sentinel core (sentinel/sentinel.h), one per
// seed, on an in-memory network: 3 to 7 sentinels monitor one primary with
// 1 to 4 replicas (simulated redis-server instances that answer PING,
// INFO, PUBLISH / SUBSCRIBE of the hello channel, MULTI / SLAVEOF / CONFIG
// REWRITE / CLIENT KILL / EXEC, and replicate while they can reach their
// primary). Messages go in order on each connection. For a while faults
// hit it at random: instances and sentinels killed and restarted (a
// sentinel from the config lines it last saved), partitions into two
// groups, one endpoint isolated (in one seed of three a partition holds
// what is in flight until the heal, as TCP retransmits, and the sentinels'
// own link timeouts act; in the others it breaks the connections at
// once); then everything heals
// and the deployment must converge. Checked at every 100 ms of simulated
// time, not on traces:
//   - a sentinel never votes for two leaders in one epoch (its
//     +vote-for-leader events, across restarts);
//   - one epoch never elects two leaders (+elected-leader);
//   - after healing, within a bound: every sentinel names the same primary
//     with the same config epoch, that instance is a primary and every other
//     one replicates it, no failover in progress, nothing SDOWN / ODOWN, and
//     every sentinel knows every other sentinel and every replica.
// Used by sim_test (fixed seeds) and sim_sweep --sentinel (seed ranges).
#pragma once

#include <cstdint>
#include <string>

namespace shardnode::sim {

struct SentinelSweepConfig {
  // Simulated time of the fault phase.
  int64_t fault_ms = 60000;
  // Print each step of the scenario to stderr (for reproducing a seed).
  bool verbose = false;
};

struct SentinelSweepResult {
  bool ok = true;
  std::string failure;  // the first violation, with the simulated time
  int sentinels = 0;
  int instances = 0;
  int64_t converge_ms = -1;  // from the heal to convergence
  int failovers = 0;         // distinct +switch-master epochs
  int restarts = 0;
  uint64_t commands = 0;  // commands the sentinels sent
};

SentinelSweepResult RunSentinelSweep(uint64_t seed, const SentinelSweepConfig& config);

}  // namespace shardnode::sim
