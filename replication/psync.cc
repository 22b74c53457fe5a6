#include "replication/psync.h"

#include <utility>

#include "absl/strings/match.h"

namespace shardnode::replication {

void ReplicationIds::Shift(int64_t master_repl_offset, std::string new_id) {
  replid2 = std::move(replid);
  // The replicas of the old history have seen up to master_repl_offset;
  // they ask for the byte after it.
  second_offset = master_repl_offset + 1;
  replid = std::move(new_id);
}

void ReplicationIds::ClearSecond() {
  replid2 = std::string(kNullReplId);
  second_offset = -1;
}

PsyncOutcome DecidePsync(const ReplicationIds& ids, const ReplBacklog* backlog,
                         absl::string_view replid, int64_t offset) {
  const bool first = absl::EqualsIgnoreCase(replid, ids.replid);
  const bool second = absl::EqualsIgnoreCase(replid, ids.replid2);
  if (!first && !(second && offset <= ids.second_offset)) {
    if (!replid.empty() && replid[0] == '?') return PsyncOutcome::kFullResync;
    return second ? PsyncOutcome::kSecondIdTooFar : PsyncOutcome::kIdMismatch;
  }
  if (backlog == nullptr || !backlog->CanServeFrom(offset)) return PsyncOutcome::kNoBacklog;
  return PsyncOutcome::kContinue;
}

}  // namespace shardnode::replication
