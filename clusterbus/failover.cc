// BusEngine, part two: replica elections, votes, automatic and manual
// failover (spec section 10). The rest of the engine is in bus_engine.cc.
//
// A replica whose primary is FAIL (or that was told CLUSTER FAILOVER)
// schedules an election after a delay that grows with its rank, bumps
// currentEpoch, asks every node for a vote, and once a majority of the
// primaries serving slots acked, takes its old primary's slots under the
// election epoch and tells everyone with a PONG. The rest of the cluster
// follows through the usual configEpoch rules (bus_engine.cc).
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clusterbus/bus_engine.h"

namespace shardnode::clusterbus {
namespace {

using slots::kNumSlots;

constexpr int64_t kManualFailoverTimeoutMs = 5000;
// A primary pauses its writers for this many manual failover timeouts.
constexpr int64_t kManualFailoverPauseMult = 2;
constexpr int64_t kElectionFixedDelayMs = 500;  // lets the FAIL message spread
constexpr int64_t kElectionRandomDelayMs = 500;
constexpr int64_t kRankDelayMs = 1000;
constexpr int64_t kMinAuthTimeoutMs = 2000;
constexpr int64_t kCantFailoverRelogMs = 300 * 1000;
constexpr int64_t kCantFailoverQuietMs = 5000;  // after node_timeout

// Why a replica cannot fail over yet (logged once per reason and period).
enum CantFailover {
  kCantNone = 0,
  kCantDataAge,
  kCantWaitingDelay,
  kCantExpired,
  kCantWaitingVotes,
};

absl::Status Refuse(std::string text) { return absl::FailedPreconditionError(std::move(text)); }

}  // namespace

absl::Status BusEngine::Failover(FailoverMode mode, int64_t now_ms) {
  SweepLinks();
  ClusterNode& me = state_.myself();
  if (me.is_primary()) return Refuse("You should send CLUSTER FAILOVER to a replica");
  if (me.primary == nullptr) return Refuse("I'm a replica but my master is unknown to me");
  if (mode == FailoverMode::kDefault && (me.primary->failed() || !me.primary->link_connected)) {
    return Refuse("Master is down or failed, please use CLUSTER FAILOVER FORCE");
  }
  ResetManualFailover();
  mf_.end_ms = now_ms + kManualFailoverTimeoutMs;
  switch (mode) {
    case FailoverMode::kTakeover:
      // No votes: a new epoch of my own, and the slots.
      state_.Log(LogSeverity::kWarning, "Taking over the master (user request).");
      state_.BumpEpochWithoutConsensus();
      ReplaceMyPrimary(now_ms);
      break;
    case FailoverMode::kForce:
      // No agreement on the offset with the primary: elect at once.
      state_.Log(LogSeverity::kWarning, "Forced failover user request accepted.");
      mf_.can_start = true;
      break;
    case FailoverMode::kDefault:
      state_.Log(LogSeverity::kWarning, "Manual failover user request accepted.");
      SendEmpty(*me.primary, MessageType::kMfStart);
      break;
  }
  return absl::OkStatus();
}

void BusEngine::ResetManualFailover() {
  // A primary that paused its writers for a replica lets them go, whatever
  // the outcome.
  if (!mf_.replica.empty()) state_.RequestWritePause(0);
  mf_ = ManualFailover();
}

void BusEngine::CheckManualFailoverTimeout(int64_t now_ms) {
  if (mf_.end_ms == 0 || mf_.end_ms >= now_ms) return;
  state_.Log(LogSeverity::kWarning, "Manual failover timed out.");
  ResetManualFailover();
}

// Replica side of a default manual failover: once the paused primary's
// offset is known and my replication has reached it, elect.
void BusEngine::HandleManualFailover(int64_t now_ms) {
  if (mf_.end_ms == 0 || mf_.can_start || mf_.primary_offset < 0) return;
  if (static_cast<uint64_t>(mf_.primary_offset) != node_.ReplicationOffset()) return;
  mf_.can_start = true;
  state_.Log(LogSeverity::kWarning,
             "All master replication stream processed, manual failover can start.");
  HandleReplicaFailover(now_ms);
}

void BusEngine::SendEmpty(ClusterNode& to, MessageType type) {
  if (!LinksOf(to).has_outbound()) return;
  Message msg;
  msg.header = BuildHeader(type);
  msg.body = EmptyBody{};
  SendToNode(to, msg);
}

// Other replicas of my primary that claim more data than I have processed
// (and may fail over). Equal offsets share a rank.
int BusEngine::ReplicaRank() const {
  const ClusterNode& me = state_.myself();
  if (me.primary == nullptr) return 0;
  const uint64_t mine = node_.ReplicationOffset();
  int rank = 0;
  for (const ClusterNode* r : me.primary->replicas) {
    if (r == &me || (r->flags & kFlagNoFailover)) continue;
    if (r->repl_offset > static_cast<int64_t>(mine)) ++rank;
  }
  return rank;
}

void BusEngine::LogCantFailover(int reason, int64_t now_ms) {
  if (reason == cant_failover_reason_ && now_ms - cant_failover_logged_ms_ < kCantFailoverRelogMs) {
    return;
  }
  cant_failover_reason_ = reason;
  // Nothing to say while an election after a recent failure is normal.
  const ClusterNode& me = state_.myself();
  if (me.primary && me.primary->failed() &&
      now_ms - me.primary->fail_time_ms < state_.options().node_timeout_ms + kCantFailoverQuietMs) {
    return;
  }
  const char* why = "Unknown reason code.";
  switch (reason) {
    case kCantDataAge:
      why =
          "Disconnected from master for longer than allowed. Please check the "
          "'cluster-replica-validity-factor' configuration option.";
      break;
    case kCantWaitingDelay:
      why = "Waiting the delay before I can start a new failover.";
      break;
    case kCantExpired:
      why = "Failover attempt expired.";
      break;
    case kCantWaitingVotes:
      why = "Waiting for votes, but majority still not reached.";
      break;
  }
  cant_failover_logged_ms_ = now_ms;
  state_.Log(LogSeverity::kWarning, absl::StrCat("Currently unable to failover: ", why));
}

void BusEngine::RequestFailoverAuth() {
  Message msg;
  msg.header = BuildHeader(MessageType::kFailoverAuthRequest);
  // A manual failover asks for votes although the primary is up.
  if (mf_.end_ms != 0) msg.header.mflags[0] |= kMsgFlagForceAck;
  msg.body = EmptyBody{};
  Broadcast(msg);
}

// Redis's clusterHandleSlaveFailover: runs every tick on a replica, and at
// once when a vote arrives or a manual failover becomes ready.
void BusEngine::HandleReplicaFailover(int64_t now_ms) {
  ClusterNode& me = state_.myself();
  const ClusterOptions& opts = state_.options();
  const int64_t timeout = opts.node_timeout_ms;
  const int needed_quorum = state_.size() / 2 + 1;
  const bool manual = mf_.end_ms != 0 && mf_.can_start;
  const int64_t auth_timeout = std::max(timeout * 2, kMinAuthTimeoutMs);
  const int64_t auth_retry = auth_timeout * 2;
  const int64_t auth_age = now_ms - election_.auth_time_ms;

  if (me.is_primary() || me.primary == nullptr || (!me.primary->failed() && !manual) ||
      (opts.replica_no_failover && !manual) || me.primary->num_slots() == 0) {
    cant_failover_reason_ = kCantNone;
    return;
  }

  // Data age: how long ago the primary was last heard from, not counting the
  // node timeout it took to notice it failed. Manual failovers skip the check.
  int64_t data_age = node_.ReplicationDataAgeMs(now_ms);
  if (data_age > timeout) data_age -= timeout;
  if (opts.replica_validity_factor > 0 &&
      data_age > opts.repl_ping_replica_period_s * 1000 + timeout * opts.replica_validity_factor &&
      !manual) {
    LogCantFailover(kCantDataAge, now_ms);
    return;
  }

  if (auth_age > auth_retry) {
    std::uniform_int_distribution<int64_t> jitter(0, kElectionRandomDelayMs - 1);
    // A new attempt; votes count from the epoch of the last one until this
    // one asks (as Redis keeps failover_auth_epoch).
    election_ = Election{.epoch = election_.epoch};
    election_.rank = ReplicaRank();
    election_.auth_time_ms =
        now_ms + kElectionFixedDelayMs + jitter(rng_) + election_.rank * kRankDelayMs;
    if (mf_.end_ms != 0) {
      election_.auth_time_ms = now_ms;
      election_.rank = 0;
    }
    state_.Log(LogSeverity::kWarning,
               absl::StrFormat("Start of election delayed for %d milliseconds (rank #%d, offset "
                               "%d).",
                               election_.auth_time_ms - now_ms, election_.rank,
                               node_.ReplicationOffset()));
    // My offset to the other replicas, so that they rank themselves.
    for (ClusterNode* r : me.primary->replicas) {
      if (r != &me && !(r->flags & kFlagHandshake)) SendPing(*r, MessageType::kPong, now_ms);
    }
    if (mf_.end_ms != 0) HandleReplicaFailover(now_ms);  // no delay to wait for
    return;
  }

  // Better offsets may have arrived from the other replicas meanwhile.
  if (!election_.sent && mf_.end_ms == 0) {
    const int rank = ReplicaRank();
    if (rank > election_.rank) {
      const int64_t added = (rank - election_.rank) * kRankDelayMs;
      election_.auth_time_ms += added;
      election_.rank = rank;
      state_.Log(LogSeverity::kWarning,
                 absl::StrFormat("Replica rank updated to #%d, added %d milliseconds of delay.",
                                 rank, added));
    }
  }

  if (now_ms < election_.auth_time_ms) {
    LogCantFailover(kCantWaitingDelay, now_ms);
    return;
  }
  if (auth_age > auth_timeout) {
    LogCantFailover(kCantExpired, now_ms);
    return;
  }

  if (!election_.sent) {
    state_.set_current_epoch(state_.current_epoch() + 1);
    election_.epoch = state_.current_epoch();
    state_.Log(LogSeverity::kWarning,
               absl::StrCat("Starting a failover election for epoch ", election_.epoch, "."));
    RequestFailoverAuth();
    election_.sent = true;
    state_.RequestSave(/*fsync=*/true);
    state_.RequestStateUpdate();
    return;
  }

  if (election_.votes < needed_quorum) {
    LogCantFailover(kCantWaitingVotes, now_ms);
    return;
  }
  // Beyond Redis 7.0.15: while the votes came, my primary moved to a newer
  // configEpoch and I announced it as mine (a replica's headers carry its
  // primary's). Every view keeps the highest epoch it heard from me, so a
  // win under the older election epoch would leave them above my own, and
  // my claims would lose to my primary's anyway (sweep seed 211102). The
  // votes are void; the next attempt asks with a new epoch.
  if (election_.epoch < announced_epoch_) {
    state_.Log(LogSeverity::kWarning, absl::StrCat("Failover election for epoch ", election_.epoch,
                                                   " is void: I have announced configEpoch ",
                                                   announced_epoch_, " meanwhile."));
    election_ = Election{.epoch = election_.epoch};
    return;
  }
  state_.Log(LogSeverity::kWarning, "Failover election won: I'm the new master.");
  if (me.config_epoch < election_.epoch) {
    me.config_epoch = election_.epoch;
    state_.Log(LogSeverity::kWarning,
               absl::StrCat("configEpoch set to ", me.config_epoch, " after successful failover"));
  }
  // The votes counted are spent: were I a replica again before the auth
  // timeout, they must not make me win a second time.
  election_ = Election{.epoch = election_.epoch};
  ReplaceMyPrimary(now_ms);
}

void BusEngine::ReplaceMyPrimary(int64_t now_ms) {
  ClusterNode& me = state_.myself();
  if (me.is_primary() || me.primary == nullptr) return;
  state_.PromoteMyself(now_ms);
  state_.TakeBroadcastPong();
  BroadcastPong();
  ResetManualFailover();
}

// Spec 10.4: a primary serving slots votes at most once per epoch, for a
// replica whose primary failed (or that runs a manual failover), not twice
// for replicas of the same primary within two node timeouts, and only if
// no slot it claims has a newer owner.
void BusEngine::SendFailoverAuthIfNeeded(ClusterNode& requester, const MessageHeader& hdr,
                                         int64_t now_ms) {
  const ClusterNode& me = state_.myself();
  if (me.is_replica() || me.num_slots() == 0) return;
  const std::string& name = requester.id;
  auto deny = [&](const std::string& why) {
    state_.Log(LogSeverity::kWarning, absl::StrCat("Failover auth denied to ", name, ": ", why));
  };
  if (hdr.current_epoch < state_.current_epoch()) {
    deny(absl::StrCat("reqEpoch (", hdr.current_epoch, ") < curEpoch(", state_.current_epoch(),
                      ")"));
    return;
  }
  if (state_.last_vote_epoch() == state_.current_epoch()) {
    deny(absl::StrCat("already voted for epoch ", state_.current_epoch()));
    return;
  }
  ClusterNode* primary = requester.primary;
  const bool force_ack = hdr.mflags[0] & kMsgFlagForceAck;
  if (requester.is_primary()) {
    deny("it is a master node");
    return;
  }
  if (primary == nullptr) {
    deny("I don't know its master");
    return;
  }
  if (!primary->failed() && !force_ack) {
    deny("its master is up");
    return;
  }
  const int64_t ban = state_.options().node_timeout_ms * 2;
  if (primary->voted_time_ms != 0 && now_ms - primary->voted_time_ms < ban) {
    deny(absl::StrCat("can't vote about this master before ",
                      ban - (now_ms - primary->voted_time_ms), " milliseconds"));
    return;
  }
  for (int s = 0; s < kNumSlots; ++s) {
    if (!hdr.myslots.Test(s)) continue;
    const ClusterNode* owner = state_.SlotOwner(s);
    if (owner == nullptr || NotClaiming(s) || owner->config_epoch <= hdr.config_epoch) {
      continue;
    }
    deny(absl::StrCat("slot ", s, " epoch (", owner->config_epoch, ") > reqEpoch (",
                      hdr.config_epoch, ")"));
    return;
  }
  state_.set_last_vote_epoch(state_.current_epoch());
  primary->voted_time_ms = now_ms;
  state_.RequestSave(/*fsync=*/true);
  if (LinksOf(requester).has_outbound()) {
    SendEmpty(requester, MessageType::kFailoverAuthAck);
  }
  state_.Log(LogSeverity::kWarning, absl::StrCat("Failover auth granted to ", name, " for epoch ",
                                                 state_.current_epoch()));
}

void BusEngine::OnFailoverAuthAck(ClusterNode& sender, const MessageHeader& hdr, int64_t now_ms) {
  // Only primaries serving slots vote, and only votes for this election count.
  if (!sender.is_primary() || sender.num_slots() == 0) return;
  if (hdr.current_epoch < election_.epoch) return;
  ++election_.votes;
  HandleReplicaFailover(now_ms);  // maybe the quorum is there
}

// Primary side of a default manual failover: pause writers, then let the
// replica know the offset they stopped at (every header carries PAUSED from
// now on) by pinging it at once and on every tick.
void BusEngine::OnMfStart(LinkId link_id, ClusterNode& sender, int64_t now_ms) {
  if (sender.primary != &state_.myself()) return;
  ResetManualFailover();
  mf_.end_ms = now_ms + kManualFailoverTimeoutMs;
  mf_.replica = sender.id;
  state_.RequestWritePause(now_ms + kManualFailoverTimeoutMs * kManualFailoverPauseMult);
  state_.Log(LogSeverity::kWarning,
             absl::StrCat("Manual failover requested by replica ", sender.id, "."));
  SendOnLink(link_id, BuildPing(MessageType::kPing));
}

}  // namespace shardnode::clusterbus
