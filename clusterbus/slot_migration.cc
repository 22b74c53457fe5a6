#include "clusterbus/slot_migration.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "clusterbus/cluster_state.h"
#include "clusterbus/ready.h"

namespace shardnode::clusterbus {

namespace {

absl::Status Err(std::string text) { return absl::InvalidArgumentError(std::move(text)); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}

// Valkey's ESTABLISH refusals that gossip lag explains (the target has not
// heard of the source, or of its claim, yet): IsTransientEstablishError
// retries on them.
constexpr char kUnknownSource[] = "Target node does not know the source node";
constexpr char kOwnershipDisagrees[] = "Target node does not agree about current slot ownership";

// "1 retry", "3 retries".
std::string RetriesText(int n) { return absl::StrCat(n, n == 1 ? " retry" : " retries"); }

bool Overlap(const slots::SlotRange& a, const slots::SlotRange& b) {
  return a.start <= b.end && b.start <= a.end;
}

// Valkey's parseSlotRangesOrReply: ranges from args[*i] while the argument
// is an integer; every slot must be served, and by one node (*owner).
absl::Status ParseRanges(std::span<const std::string> args, size_t* i, const ClusterState& cluster,
                         const ClusterNode** owner, std::vector<slots::SlotRange>* out) {
  *owner = nullptr;
  for (; *i < args.size(); *i += 2) {
    int64_t start = 0;
    if (!absl::SimpleAtoi(args[*i], &start)) break;  // the next keyword
    if (start < 0 || start >= slots::kNumSlots) return Err("Invalid or out of range slot");
    if (*i + 1 >= args.size()) return Err("No end slot for final slot range");
    int64_t end = 0;
    if (!absl::SimpleAtoi(args[*i + 1], &end) || end < 0 || end >= slots::kNumSlots) {
      return Err("Invalid or out of range slot");
    }
    if (start > end) {
      return Err(
          absl::StrCat("Start slot number ", start, " is greater than end slot number ", end, "."));
    }
    for (int64_t s = start; s <= end; ++s) {
      const ClusterNode* n = cluster.SlotOwner(static_cast<int>(s));
      if (n == nullptr) return Err(absl::StrCat("Slot ", s, " has no node served."));
      if (*owner == nullptr) {
        *owner = n;
      } else if (*owner != n) {
        return Err("Requested slots span multiple shards");
      }
    }
    const slots::SlotRange r{static_cast<int>(start), static_cast<int>(end)};
    for (const slots::SlotRange& prev : *out) {
      if (Overlap(r, prev)) {
        return Err(absl::StrCat("Slot range ", r.start, "-", r.end,
                                " overlaps with previous range ", prev.start, "-", prev.end, "."));
      }
    }
    out->push_back(r);
  }
  if (out->empty()) return Err("No slot ranges specified");
  return absl::OkStatus();
}

}  // namespace

std::string_view MigrationStateName(MigrationState state) {
  switch (state) {
    case MigrationState::kConnecting:
      return "connecting";
    case MigrationState::kReadingEstablishResponse:
      return "reading-establish-response";
    case MigrationState::kSnapshotting:
      return "snapshotting";
    case MigrationState::kReplicating:
      return "replicating";
    case MigrationState::kFailoverPaused:
      return "failover-paused";
    case MigrationState::kFailoverGranted:
      return "failover-granted";
    case MigrationState::kReceivingSnapshot:
      return "receiving-snapshot";
    case MigrationState::kWaitingForPaused:
      return "waiting-for-paused";
    case MigrationState::kSuccess:
      return "success";
    case MigrationState::kCancelled:
      return "cancelled";
    case MigrationState::kFailed:
      return "failed";
  }
  return "unknown";
}

bool IsTransientEstablishError(std::string_view error) {
  const absl::string_view e(error.data(), error.size());
  return absl::StrContains(e, base::ToAbsl(kTargetCleaningUp)) ||
         absl::StrContains(e, base::ToAbsl(kTargetPaused)) ||
         absl::StrContains(e, kOwnershipDisagrees) || absl::StrContains(e, kUnknownSource) ||
         absl::StartsWith(e, "LOADING");
}

bool IsTerminal(MigrationState state) {
  return state == MigrationState::kSuccess || state == MigrationState::kCancelled ||
         state == MigrationState::kFailed;
}

SlotMigrationJob::SlotMigrationJob(MigrationOp op, std::string name,
                                   std::vector<slots::SlotRange> ranges, std::string source_id,
                                   std::string target_id, int64_t now_ms,
                                   MigrationTimeouts timeouts)
    : op_(op),
      name_(std::move(name)),
      ranges_(std::move(ranges)),
      source_id_(std::move(source_id)),
      target_id_(std::move(target_id)),
      timeouts_(timeouts),
      state_(op == MigrationOp::kExport ? MigrationState::kConnecting
                                        : MigrationState::kReceivingSnapshot),
      create_ms_(now_ms),
      update_ms_(now_ms),
      ack_ms_(now_ms) {
  for (const slots::SlotRange& r : ranges_) slot_set_.SetRange(r.start, r.end);
}

std::string SlotMigrationJob::RangesText() const {
  std::string out;
  for (const slots::SlotRange& r : ranges_) {
    if (!out.empty()) out += ' ';
    absl::StrAppend(&out, r.start, "-", r.end);
  }
  return out;
}

void SlotMigrationJob::SetState(MigrationState s, int64_t now_ms) {
  state_ = s;
  update_ms_ = now_ms;
}

std::vector<MigrationAction> SlotMigrationJob::Start(int64_t now_ms) {
  update_ms_ = now_ms;
  ack_ms_ = now_ms;
  if (op_ == MigrationOp::kExport) return {ActConnect{}};
  return {};
}

void SlotMigrationJob::Unpause(int64_t now_ms, std::vector<MigrationAction>* out) {
  if (pause_until_ms_ == 0) return;
  write_pause_ms_ = std::max(write_pause_ms_, now_ms - pause_start_ms_);
  pause_until_ms_ = 0;
  out->push_back(ActPauseSlots{0});
}

void SlotMigrationJob::End(MigrationState terminal, std::string message, int64_t now_ms,
                           std::vector<MigrationAction>* out) {
  if (finished()) return;
  Unpause(now_ms, out);
  if (op_ == MigrationOp::kImport) out->push_back(ActDropImported{});
  out->push_back(ActCloseLink{});
  message_ = std::move(message);
  SetState(terminal, now_ms);
}

void SlotMigrationJob::Fail(std::string message, int64_t now_ms,
                            std::vector<MigrationAction>* out) {
  End(MigrationState::kFailed, std::move(message), now_ms, out);
}

void SlotMigrationJob::FailOrRetry(std::string message, int64_t now_ms,
                                   std::vector<MigrationAction>* out) {
  if (op_ != MigrationOp::kExport || state_ == MigrationState::kFailoverGranted || finished()) {
    return Fail(std::move(message), now_ms, out);
  }
  if (retries_ >= timeouts_.retries) {
    if (retries_ > 0) absl::StrAppend(&message, " (gave up after ", RetriesText(retries_), ")");
    return Fail(std::move(message), now_ms, out);
  }
  Unpause(now_ms, out);
  out->push_back(ActCloseLink{});
  ++retries_;
  const int64_t backoff = timeouts_.retry_backoff_ms << (retries_ - 1);
  retry_at_ms_ = now_ms + backoff;
  ack_ms_ = now_ms;
  target_replicas_ = 0;
  message_ = absl::StrCat("Retry ", retries_, " of ", timeouts_.retries, " in ", backoff,
                          " ms after: ", message);
  last_failure_ = std::move(message);
  SetState(MigrationState::kConnecting, now_ms);
}

void SlotMigrationJob::Succeed(int64_t now_ms, std::vector<MigrationAction>* out, uint64_t epoch) {
  if (retries_ > 0) {
    message_ = absl::StrCat("Succeeded after ", RetriesText(retries_),
                            "; the last failure: ", last_failure_);
  }
  if (op_ == MigrationOp::kExport) {
    // The slots move first, so that the writers released next get MOVED.
    out->push_back(ActCommitExport{epoch});
    Unpause(now_ms, out);
  } else {
    out->push_back(ActClaimSlots{});
  }
  out->push_back(ActCloseLink{});
  SetState(MigrationState::kSuccess, now_ms);
}

std::vector<MigrationAction> SlotMigrationJob::Step(const MigrationEvent& event, int64_t now_ms) {
  std::vector<MigrationAction> out;
  if (finished()) return out;
  const bool exporting = op_ == MigrationOp::kExport;
  if (retry_at_ms_ != 0) {
    // Between attempts only the clock, a cancel, an abort and the cluster
    // view count; anything else is left over from the closed link.
    if (std::holds_alternative<MigTick>(event)) {
      if (now_ms >= retry_at_ms_) {
        retry_at_ms_ = 0;
        ack_ms_ = now_ms;
        update_ms_ = now_ms;
        out.push_back(ActConnect{});
      }
      return out;
    }
    if (!std::holds_alternative<MigCancel>(event) && !std::holds_alternative<MigAbort>(event) &&
        !std::holds_alternative<MigOwnership>(event)) {
      return out;
    }
  }
  auto unexpected = [&] { Fail("Unexpected state machine transition", now_ms, &out); };
  std::visit(
      Overloaded{
          [&](const MigConnected&) {
            if (!exporting || state_ != MigrationState::kConnecting) return unexpected();
            ack_ms_ = now_ms;
            out.push_back(ActSendEstablish{});
            SetState(MigrationState::kReadingEstablishResponse, now_ms);
          },
          [&](const MigConnectFailed& e) {
            if (!exporting || state_ != MigrationState::kConnecting) return unexpected();
            FailOrRetry(absl::StrCat("Unable to connect to target node: ", e.error), now_ms, &out);
          },
          [&](const MigEstablishReply& e) {
            if (!exporting || state_ != MigrationState::kReadingEstablishResponse) {
              return unexpected();
            }
            ack_ms_ = now_ms;
            if (!e.error.empty()) {
              std::string why =
                  absl::StrCat("Received error during handshake to target: ", e.error);
              if (IsTransientEstablishError(e.error))
                return FailOrRetry(std::move(why), now_ms, &out);
              return Fail(std::move(why), now_ms, &out);
            }
            out.push_back(ActStartSnapshot{});
            SetState(MigrationState::kSnapshotting, now_ms);
          },
          [&](const MigSnapshotDone&) {
            if (!exporting || state_ != MigrationState::kSnapshotting) return unexpected();
            out.push_back(ActSendSnapshotEof{});
            SetState(MigrationState::kReplicating, now_ms);
          },
          [&](const MigCaughtUp& e) {
            if (!exporting || state_ != MigrationState::kReplicating) return unexpected();
            ack_ms_ = now_ms;
            target_replicas_ = e.target_replicas;
            pause_start_ms_ = now_ms;
            pause_until_ms_ = now_ms + timeouts_.pause_ms;
            out.push_back(ActPauseSlots{pause_until_ms_});
            if (target_replicas_ > 0) {
              // The pause's remaining time bounds the wait for the replicas.
              out.push_back(ActWaitReplicas{target_replicas_, timeouts_.pause_ms / 2});
              SetState(MigrationState::kFailoverPaused, now_ms);
            } else {
              out.push_back(ActSendFinish{});
              SetState(MigrationState::kFailoverGranted, now_ms);
            }
          },
          [&](const MigReplicasAcked& e) {
            if (!exporting || state_ != MigrationState::kFailoverPaused) return unexpected();
            ack_ms_ = now_ms;
            if (e.acked < target_replicas_) {
              return FailOrRetry(
                  absl::StrCat("Target replicas did not acknowledge the migrated data (", e.acked,
                               " of ", target_replicas_, ")"),
                  now_ms, &out);
            }
            out.push_back(ActSendFinish{});
            SetState(MigrationState::kFailoverGranted, now_ms);
          },
          [&](const MigFinishReply& e) {
            if (!exporting || state_ != MigrationState::kFailoverGranted) return unexpected();
            ack_ms_ = now_ms;
            if (!e.error.empty()) {
              return Fail(absl::StrCat("Target refused the handoff: ", e.error), now_ms, &out);
            }
            Succeed(now_ms, &out, e.epoch);
          },
          [&](const MigSnapshotEofReceived&) {
            if (exporting || state_ != MigrationState::kReceivingSnapshot) return unexpected();
            ack_ms_ = now_ms;
            SetState(MigrationState::kWaitingForPaused, now_ms);
          },
          [&](const MigFinishReceived&) {
            if (exporting || state_ != MigrationState::kWaitingForPaused) return unexpected();
            ack_ms_ = now_ms;
            Succeed(now_ms, &out, 0);
          },
          [&](const MigLinkDown& e) {
            (void)e;
            if (exporting && state_ == MigrationState::kFailoverGranted) {
              // FINISH may or may not have been carried out: stay paused and
              // keep the keys until gossip tells (MigOwnership) or the pause
              // deadline passes (MigTick).
              link_lost_after_finish_ = true;
              update_ms_ = now_ms;
              return;
            }
            if (exporting) {
              return FailOrRetry(
                  "Connection lost to target. Check CLUSTER GETSLOTMIGRATIONS on the target node "
                  "for more information.",
                  now_ms, &out);
            }
            Fail(
                "Connection lost to source. Check CLUSTER GETSLOTMIGRATIONS on the source node for "
                "more information.",
                now_ms, &out);
          },
          [&](const MigOwnership& e) {
            if (exporting) {
              if (e.target_owns_all) {
                // The target's claim arrived (possibly before its reply).
                if (state_ == MigrationState::kFailoverGranted) return Succeed(now_ms, &out, 0);
                return Fail("Slots are no longer owned by myself", now_ms, &out);
              }
              if (!e.source_owns_all && state_ != MigrationState::kFailoverGranted) {
                Fail("Slots are no longer owned by myself", now_ms, &out);
              }
            } else if (!e.source_owns_all && !e.target_owns_all) {
              Fail("Slots are no longer owned by source node", now_ms, &out);
            }
          },
          [&](const MigProgress&) { ack_ms_ = now_ms; },
          [&](const MigCancel&) { End(MigrationState::kCancelled, "", now_ms, &out); },
          [&](const MigAbort& e) { Fail(e.reason, now_ms, &out); },
          [&](const MigTick&) {
            if (pause_until_ms_ != 0 && now_ms >= pause_until_ms_) {
              if (link_lost_after_finish_) {
                return Fail(
                    "Unpaused before migration completed (migration may have succeeded with lost "
                    "writes)",
                    now_ms, &out);
              }
              return FailOrRetry("Timed out before streaming completed", now_ms, &out);
            }
            if (pause_until_ms_ == 0 && now_ms - ack_ms_ > timeouts_.idle_ms) {
              FailOrRetry("Timed out after too long with no interaction", now_ms, &out);
            }
          },
      },
      event);
  if (finished()) retry_at_ms_ = 0;
  return out;
}

// ---- SlotMigrations ---------------------------------------------------------

absl::StatusOr<std::vector<MigrateSlotsRequest>> SlotMigrations::ParseMigrateSlots(
    std::span<const std::string> args, const ClusterState& cluster) const {
  const ClusterNode& me = cluster.myself();
  if (!me.is_primary()) return Err("Slot migration can only be used on primary nodes.");
  for (int s = 0; s < slots::kNumSlots; ++s) {
    if (cluster.ImportingFrom(s) != nullptr) return Err("Slots are being manually imported");
  }
  for (int s = 0; s < slots::kNumSlots; ++s) {
    if (cluster.MigratingTo(s) != nullptr) return Err("Slots are being manually migrated");
  }
  std::vector<MigrateSlotsRequest> out;
  size_t i = 2;
  while (i < args.size()) {
    if (!EqualsIgnoreCase(args[i], "slotsrange")) return Err("syntax error");
    ++i;
    MigrateSlotsRequest req;
    const ClusterNode* owner = nullptr;
    absl::Status s = ParseRanges(args, &i, cluster, &owner, &req.ranges);
    if (!s.ok()) return s;
    if (owner != &me) return Err("Slots are not served by this node.");
    for (const slots::SlotRange& r : req.ranges) {
      for (int slot = r.start; slot <= r.end; ++slot) {
        if (Exporting(slot)) return Err(absl::StrCat("I am already migrating slot ", slot, "."));
      }
    }
    for (const MigrateSlotsRequest& prev : out) {
      for (const slots::SlotRange& a : prev.ranges) {
        for (const slots::SlotRange& b : req.ranges) {
          if (Overlap(a, b)) return Err("Slot ranges in migrations overlap");
        }
      }
    }
    if (i + 1 >= args.size() || !EqualsIgnoreCase(args[i], "node")) return Err("syntax error");
    ++i;
    const std::string& id = args[i];
    if (id.size() != 40) return Err(absl::StrCat("Invalid node name: ", id));
    const ClusterNode* target = cluster.FindNode(id);
    if (target == nullptr) return Err(absl::StrCat("Unknown node name: ", id));
    if (target == &me) return Err("Target node can not be this node.");
    ++i;
    req.target_id = id;
    out.push_back(std::move(req));
  }
  return out;
}

absl::StatusOr<SlotMigrations::Establish> SlotMigrations::ParseEstablish(
    std::span<const std::string> args, const ClusterState& cluster) const {
  if (!cluster.myself().is_primary()) return Err("Target node is not a primary");
  for (int s = 0; s < slots::kNumSlots; ++s) {
    if (cluster.ImportingFrom(s) != nullptr || cluster.MigratingTo(s) != nullptr) {
      return Err("A slot on the target node is being manually imported or migrated");
    }
  }
  Establish e;
  const ClusterNode* source = nullptr;
  const ClusterNode* owner = nullptr;
  bool have_ranges = false;
  size_t i = 3;
  while (i < args.size()) {
    if (EqualsIgnoreCase(args[i], "source")) {
      if (source != nullptr || i + 1 >= args.size() || args[i + 1].size() != 40) {
        return Err("syntax error");
      }
      source = cluster.FindNode(args[i + 1]);
      if (source == nullptr) return Err(kUnknownSource);
      if (source == &cluster.myself()) return Err("Source node is target node itself");
      e.source_id = args[i + 1];
      i += 2;
    } else if (EqualsIgnoreCase(args[i], "name")) {
      if (!e.name.empty() || i + 1 >= args.size() || args[i + 1].size() != 40) {
        return Err("syntax error");
      }
      e.name = args[i + 1];
      i += 2;
    } else if (EqualsIgnoreCase(args[i], "slotsrange")) {
      if (have_ranges) return Err("syntax error");
      ++i;
      absl::Status s = ParseRanges(args, &i, cluster, &owner, &e.ranges);
      if (!s.ok()) return s;
      have_ranges = true;
      for (const slots::SlotRange& r : e.ranges) {
        for (int slot = r.start; slot <= r.end; ++slot) {
          if (Importing(slot)) {
            return Err("Slot is already being imported on the target by a different migration");
          }
        }
      }
    } else {
      return Err("syntax error");
    }
  }
  if (source == nullptr || e.name.empty() || !have_ranges) return Err("syntax error");
  if (source != owner) return Err(kOwnershipDisagrees);
  return e;
}

SlotMigrationJob& SlotMigrations::Add(std::unique_ptr<SlotMigrationJob> job) {
  jobs_.push_front(std::move(job));
  Trim();
  return *jobs_.front();
}

SlotMigrationJob* SlotMigrations::Find(std::string_view name) {
  for (auto& j : jobs_) {
    if (j->name() == name) return j.get();
  }
  return nullptr;
}

void SlotMigrations::Trim() {
  size_t finished = 0;
  for (const auto& j : jobs_) finished += j->finished();
  for (auto it = jobs_.end(); finished > log_max_len_ && it != jobs_.begin();) {
    --it;
    if ((*it)->finished()) {
      it = jobs_.erase(it);
      --finished;
    }
  }
}

bool SlotMigrations::Exporting(int slot) const {
  for (const auto& j : jobs_) {
    if (!j->finished() && j->op() == MigrationOp::kExport && j->HasSlot(slot)) return true;
  }
  return false;
}

bool SlotMigrations::Importing(int slot) const {
  for (const auto& j : jobs_) {
    if (!j->finished() && j->op() == MigrationOp::kImport && j->HasSlot(slot)) return true;
  }
  return false;
}

bool SlotMigrations::AnyExporting() const {
  for (const auto& j : jobs_) {
    if (!j->finished() && j->op() == MigrationOp::kExport) return true;
  }
  return false;
}

bool SlotMigrations::AnyImporting() const {
  for (const auto& j : jobs_) {
    if (!j->finished() && j->op() == MigrationOp::kImport) return true;
  }
  return false;
}

StartupSlotFate DecideStartupSlot(bool mine, bool importing, bool assigned, bool dropped) {
  if (mine || importing) return StartupSlotFate::kKeep;
  if (dropped) return StartupSlotFate::kDrop;
  return assigned ? StartupSlotFate::kSetImporting : StartupSlotFate::kTakeOwnership;
}

std::vector<std::string> HiddenSlotsCommand(const slots::SlotSet& hidden) {
  return {"CLUSTER", "SYNCSLOTS", "HIDDEN", hidden.Format()};
}

std::string_view SlotMigrations::SetSlotRefusal() const {
  if (AnyImporting()) return "Slot import in progress.";
  if (AnyExporting()) return "Slot export in progress.";
  return {};
}

}  // namespace shardnode::clusterbus
