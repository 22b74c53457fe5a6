// The master's side of PSYNC as a pure decision, and the replication ids it
// is made against (PSYNC2): the current id, and the previous one that stays
// valid up to second_offset after a replica was promoted, so that the other
// replicas of the old master continue partially with the new one.
//
// Pure: no I/O. Loop: used from one thread (the control loop).
#ifndef SHARDNODE_REPLICATION_PSYNC_H_
#define SHARDNODE_REPLICATION_PSYNC_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "replication/backlog.h"

namespace shardnode::replication {

inline constexpr size_t kReplIdLength = 40;
// master_replid2 when there is no previous history.
inline constexpr absl::string_view kNullReplId = "0000000000000000000000000000000000000000";

struct ReplicationIds {
  std::string replid;                // master_replid
  std::string replid2{kNullReplId};  // master_replid2
  int64_t second_offset = -1;        // second_repl_offset

  // Promotion (Redis's shiftReplicationId): the current id becomes the
  // second one, valid up to the byte after `master_repl_offset`, and
  // `new_id` continues the history.
  void Shift(int64_t master_repl_offset, std::string new_id);
  // Forgets the second id (a fresh history).
  void ClearSecond();
};

enum class PsyncOutcome {
  kContinue,        // +CONTINUE: send the backlog from the requested offset
  kFullResync,      // +FULLRESYNC: the replica asked for it ("?")
  kIdMismatch,      // full resync: neither id matches
  kSecondIdTooFar,  // full resync: id2 matches but past second_offset
  kNoBacklog,       // full resync: the gap is not held by the backlog
};

// Decides a PSYNC <replid> <offset> (offset: the first byte the replica
// wants, its processed offset + 1). `backlog` may be null (none created).
// Ids compare case-insensitively, as Redis does.
PsyncOutcome DecidePsync(const ReplicationIds& ids, const ReplBacklog* backlog,
                         absl::string_view replid, int64_t offset);

// True for the outcomes that count in INFO stats sync_partial_err (a failed
// partial attempt; "?" is a deliberate full sync and does not count).
inline bool IsPartialError(PsyncOutcome o) {
  return o == PsyncOutcome::kIdMismatch || o == PsyncOutcome::kSecondIdTooFar ||
         o == PsyncOutcome::kNoBacklog;
}

}  // namespace shardnode::replication

#endif  // SHARDNODE_REPLICATION_PSYNC_H_
