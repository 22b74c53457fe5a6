// The process's OOM score (oom-score-adj, oom-score-adj-values), as Redis's
// setOOMScoreAdj: while oom-score-adj is not "no", /proc/self/oom_score_adj
// holds the value of the node's class (primary or replica), added to the
// score the process had before the node first changed it ("relative",
// "yes") or alone ("absolute"), clamped to [-1000, 1000]. Turning it off
// writes that earlier score back; while off and never changed, the file
// is left alone.
//
// Thread: the control loop (a process-wide state, like the file itself).
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace shardnode::node {

enum class OomClass { kPrimary = 0, kReplica = 1 };

// `mode`: the oom-score-adj value ("no", "yes", "relative", "absolute");
// `values`: oom-score-adj-values ("primary replica bgchild"). Errors
// (logged): the file cannot be read or written; the earlier state stays.
absl::Status ApplyOomScoreAdj(std::string_view mode, std::string_view values, OomClass cls);

}  // namespace shardnode::node
