// Random scenarios on the simulator, one per seed: a cluster of 3 to 50
// nodes is built, then for a while faults and admin commands hit it at
// random (crashes and restarts from the saved nodes.conf, symmetric and
// one-way partitions, lossy / duplicating / reordering links, slow links,
// clock jumps, manual failovers, SETSLOT migrations), then everything heals
// and the cluster must converge. Invariants are checked at every 100 ms of
// simulated time, not on traces:
//   - at most one primary claims a slot in one config epoch (unless one of
//     them took that epoch without consensus: counted apart, see sweep.cc);
//   - no node votes twice in one epoch (two winners in one epoch, for
//     different shards, are counted: Redis's rules allow them);
//   - a node marks FAIL (on its own count) only with a majority of the
//     cluster size it counted against: itself when a primary, and failure
//     reports from primaries that could reach it when the reports came;
//   - after healing, within a bound: every node knows every node, none
//     flagged PFAIL / FAIL, the same slot map and roles everywhere, every
//     slot served, the cluster ok, the primaries' config epochs distinct and
//     no slot left MIGRATING / IMPORTING;
//   - every saved nodes.conf parses.
// Used by sim_test (fixed seeds, regressions) and by the sim_sweep binary
// (seed ranges, scripts/sim-sweep).
#pragma once

#include <cstdint>
#include <string>

namespace shardnode::sim {

struct SweepConfig {
  int min_nodes = 3;
  int max_nodes = 50;
  // Simulated time of the fault phase.
  int64_t fault_ms = 40000;
  // Network stresses beyond TCP (single losses, duplicates, reordering on
  // one connection) in some seeds.
  bool non_tcp = true;
  // Print each step of the scenario to stderr (for reproducing a seed).
  bool verbose = false;
};

struct SweepResult {
  bool ok = true;
  std::string failure;  // the first violation, with the simulated time
  int nodes = 0;
  int64_t converge_ms = -1;  // from the heal to convergence
  int64_t sim_ms = 0;
  uint64_t messages = 0;
  int failovers = 0;   // elections won
  int migrations = 0;  // slot migrations completed
  int restarts = 0;
  // Slots claimed by two primaries in one configEpoch that one of them
  // took without consensus (allowed by Redis's semantics, see sweep.cc).
  int epoch_races = 0;
  // Epochs that two elections won (for different shards), see sweep.cc.
  int shared_win_epochs = 0;
};

SweepResult RunSweep(uint64_t seed, const SweepConfig& config);

}  // namespace shardnode::sim
