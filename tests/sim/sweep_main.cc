// sim_sweep: runs the random scenarios of tests/sim/sweep.h over a range of
// seeds and prints one line per failing seed with the command that
// reproduces it. Exit status 1 when any seed fails.
//   sim_sweep FIRST [LAST] [--nodes MIN-MAX] [--fault-ms MS] [--tcp-only] [-v]
//   sim_sweep FIRST [LAST] --sentinel [--basic] [--fault-ms MS] [-v]   (sentinel_sweep.h;
//     --basic: the scenario without the extended faults)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/sim/sentinel_sweep.h"
#include "tests/sim/sweep.h"

namespace {

int RunSentinelSeeds(uint64_t first, uint64_t last, shardnode::sim::SentinelSweepConfig config,
                     const char* argv0) {
  int failed = 0;
  for (uint64_t seed = first; seed <= last; ++seed) {
    auto r = shardnode::sim::RunSentinelSweep(seed, config);
    if (r.ok) {
      std::printf(
          "ok seed %llu sentinels %d instances %d masters %d converged %lld ms failovers %d "
          "restarts %d tilts %d forced %d scripts %d scripts-killed %d commands %llu\n",
          static_cast<unsigned long long>(seed), r.sentinels, r.instances, r.masters,
          static_cast<long long>(r.converge_ms), r.failovers, r.restarts, r.tilts,
          r.forced_failovers, r.scripts, r.scripts_killed,
          static_cast<unsigned long long>(r.commands));
    } else {
      ++failed;
      std::printf(
          "FAIL seed %llu sentinels %d instances %d masters %d: %s\n  reproduce: %s %llu "
          "--sentinel%s --fault-ms %lld -v\n",
          static_cast<unsigned long long>(seed), r.sentinels, r.instances, r.masters,
          r.failure.c_str(), argv0, static_cast<unsigned long long>(seed),
          config.extended ? "" : " --basic", static_cast<long long>(config.fault_ms));
    }
    std::fflush(stdout);
  }
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  using shardnode::sim::RunSweep;
  using shardnode::sim::SweepConfig;
  SweepConfig config;
  uint64_t first = 0;
  uint64_t last = 0;
  int positional = 0;
  bool sentinel = false;
  bool basic = false;
  bool fault_ms_set = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--nodes" && i + 1 < argc) {
      if (std::sscanf(argv[++i], "%d-%d", &config.min_nodes, &config.max_nodes) != 2 ||
          config.min_nodes < 3 || config.max_nodes < config.min_nodes) {
        std::fprintf(stderr, "--nodes MIN-MAX, MIN >= 3\n");
        return 2;
      }
    } else if (a == "--fault-ms" && i + 1 < argc) {
      config.fault_ms = std::atoll(argv[++i]);
      fault_ms_set = true;
    } else if (a == "--sentinel") {
      sentinel = true;
    } else if (a == "--basic") {
      basic = true;
    } else if (a == "--tcp-only") {
      config.non_tcp = false;
    } else if (a == "-v") {
      config.verbose = true;
    } else if (!a.empty() && a[0] != '-' && positional < 2) {
      (positional++ == 0 ? first : last) = std::strtoull(a.c_str(), nullptr, 10);
    } else {
      std::fprintf(stderr,
                   "usage: %s FIRST [LAST] [--nodes MIN-MAX] [--fault-ms MS] [--tcp-only] [-v]\n",
                   argv[0]);
      return 2;
    }
  }
  if (positional == 0) {
    std::fprintf(stderr, "usage: %s FIRST [LAST] ...\n", argv[0]);
    return 2;
  }
  if (positional == 1) last = first;
  if (sentinel) {
    shardnode::sim::SentinelSweepConfig sc;
    if (fault_ms_set) sc.fault_ms = config.fault_ms;
    sc.verbose = config.verbose;
    sc.extended = !basic;
    return RunSentinelSeeds(first, last, sc, argv[0]);
  }
  int failed = 0;
  for (uint64_t seed = first; seed <= last; ++seed) {
    auto r = RunSweep(seed, config);
    if (r.ok) {
      std::printf(
          "ok seed %llu nodes %d converged %lld ms failovers %d migrations %d restarts %d "
          "epoch-races %d shared-win-epochs %d\n",
          static_cast<unsigned long long>(seed), r.nodes, static_cast<long long>(r.converge_ms),
          r.failovers, r.migrations, r.restarts, r.epoch_races, r.shared_win_epochs);
    } else {
      ++failed;
      std::printf(
          "FAIL seed %llu nodes %d: %s\n  reproduce: %s %llu --nodes %d-%d --fault-ms %lld%s -v\n",
          static_cast<unsigned long long>(seed), r.nodes, r.failure.c_str(), argv[0],
          static_cast<unsigned long long>(seed), config.min_nodes, config.max_nodes,
          static_cast<long long>(config.fault_ms), config.non_tcp ? "" : " --tcp-only");
    }
    std::fflush(stdout);
  }
  return failed ? 1 : 0;
}
