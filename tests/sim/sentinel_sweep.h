// Random scenarios for the Sentinel core (sentinel/sentinel.h), one per
// seed, on an in-memory network: 3 to 7 sentinels monitor one primary with
// 1 to 4 replicas, and in the extended scenario (SentinelSweepConfig) in one
// seed of two a second primary with 1 to 3 (simulated redis-server
// instances that answer PING, INFO, PUBLISH / SUBSCRIBE of the hello
// channel, MULTI / SLAVEOF / CONFIG REWRITE / CLIENT KILL / EXEC, and
// replicate while they can reach their primary). Messages go in order on
// each connection. For a while faults hit it at random: instances and
// sentinels killed and restarted (a sentinel from the config lines it last
// saved), partitions into two groups, one endpoint isolated (in one seed of
// three a partition holds what is in flight until the heal, as TCP
// retransmits, and the sentinels' own link timeouts act; in the others it
// breaks the connections at once); extended: a sentinel's clock jumps (back,
// or forward past the TILT trigger), an operator's SENTINEL FAILOVER. Then everything heals and the
// deployment must converge. Checked as it runs, not on traces:
//   - a sentinel never votes for two leaders of a master in one epoch (the
//     vote its core stores, across restarts);
//   - one epoch never elects two leaders of a master (+elected-leader;
//     except beside a forced failover, which goes on unelected);
//   - a sentinel in TILT sends no SLAVEOF; no instance of replica-priority
//     0 is promoted; no instance is told to replicate another master's;
//   - scripts: at most 16 run at once per sentinel, a client-reconfig
//     script names an instance of its master, a hanging one is killed
//     (within 70 s), no pid is killed that is not the sentinel's own script;
//   - after healing, within a bound, for every master: every sentinel names
//     the same primary with the same config epoch, that instance is a
//     primary and every other one of its instances replicates it, no
//     failover in progress, nothing SDOWN / ODOWN, no sentinel in TILT, and
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
  // The extended scenario (the default): also a second monitored master in
  // one seed of two, replicas of replica-priority 0, notification and
  // client-reconfig scripts (that fail, hang and are killed), sentinels'
  // clock jumps (TILT), and an operator's SENTINEL FAILOVER. The
  // basic one (false) is the scenario the first 22,000 seeds ran.
  bool extended = true;
};

struct SentinelSweepResult {
  bool ok = true;
  std::string failure;  // the first violation, with the simulated time
  int sentinels = 0;
  int instances = 0;
  int64_t converge_ms = -1;  // from the heal to convergence
  int masters = 1;
  int failovers = 0;  // distinct +switch-master (master, epoch) pairs
  int restarts = 0;
  int tilts = 0;             // +tilt events
  int forced_failovers = 0;  // SENTINEL FAILOVER accepted
  int scripts = 0;           // scripts run
  int scripts_killed = 0;    // ... and killed for running too long
  uint64_t commands = 0;     // commands the sentinels sent
};

SentinelSweepResult RunSentinelSweep(uint64_t seed, const SentinelSweepConfig& config);

}  // namespace shardnode::sim
