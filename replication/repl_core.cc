#include "replication/repl_core.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace shardnode::replication {

ReplicaRecord* ReplCore::Find(ClientId client) {
  for (ReplicaRecord& r : replicas_) {
    if (r.client_id == client) return &r;
  }
  return nullptr;
}

ReplicaConf& ReplCore::ConfFor(ClientId client) {
  if (ReplicaRecord* r = Find(client)) return r->conf;
  for (auto& [id, conf] : pending_conf_) {
    if (id == client) return conf;
  }
  pending_conf_.emplace_back(client, ReplicaConf{});
  return pending_conf_.back().second;
}

ReplicaConf ReplCore::TakePendingConf(ClientId client) {
  for (auto it = pending_conf_.begin(); it != pending_conf_.end(); ++it) {
    if (it->first == client) {
      ReplicaConf conf = std::move(it->second);
      pending_conf_.erase(it);
      return conf;
    }
  }
  return ReplicaConf{};
}

void ReplCore::Add(ReplicaRecord r) { replicas_.push_back(std::move(r)); }

std::optional<int64_t> ReplCore::BeginFullSync(ClientId client, ClientId attach_to,
                                               int64_t master_offset) {
  ReplicaRecord* r = Find(client);
  if (r == nullptr) return std::nullopt;
  const ReplicaRecord* peer = attach_to != 0 ? Find(attach_to) : nullptr;
  r->sync_pending = false;
  r->in_full_sync = true;
  r->held_bytes = peer != nullptr ? peer->held_bytes : 0;
  // The image holds the dataset at this offset; the held stream goes on
  // from it.
  r->sync_offset = peer != nullptr ? peer->sync_offset : master_offset;
  return r->sync_offset;
}

bool ReplCore::FullSyncDelivered(ClientId client, bool socket_target, int64_t now_ms,
                                 ReplReady& out) {
  ReplicaRecord* r = Find(client);
  if (r == nullptr || r->closing) return false;
  r->in_full_sync = false;
  r->ack_offset = 0;
  r->ack_time_ms = now_ms;
  if (socket_target) r->wait_first_ack = r->psync;  // old SYNC replicas never ACK
  if (!r->wait_first_ack) Release(*r, out);
  return true;
}

void ReplCore::Release(ReplicaRecord& r, ReplReady& out) {
  if (r.held_bytes > 0) {
    out.actions.emplace_back(
        ReleaseHeld{.client = r.client_id, .from = r.sync_offset + 1, .bytes = r.held_bytes});
  }
  r.held_bytes = 0;
}

int64_t ReplCore::OldestHeld(const ClientLookup& lookup) const {
  int64_t oldest = std::numeric_limits<int64_t>::max();
  for (const ReplicaRecord& r : replicas_) {
    if (r.holds_stream() && lookup(r.client_id).has_value()) {
      oldest = std::min(oldest, r.sync_offset + 1);
    }
  }
  return oldest;
}

void ReplCore::Route(ReplicaRecord& r, std::string_view bytes, int64_t now_ms,
                     const StreamLimits& limits, const ClientLookup& lookup, ReplReady& out) {
  // A replica waiting for its image to begin gets the stream from there.
  if (r.closing || r.sync_pending) return;
  const std::optional<uint64_t> buffered = lookup(r.client_id);
  if (!buffered.has_value()) return;
  uint64_t pending = 0;
  if (r.in_full_sync || r.wait_first_ack) {
    r.held_bytes += static_cast<int64_t>(bytes.size());
    // What counts is the stream waiting for the replica, not the RDB.
    pending = static_cast<uint64_t>(r.held_bytes) + (r.in_full_sync ? 0 : *buffered);
  } else {
    out.actions.emplace_back(PushToReplica{.client = r.client_id, .bytes = bytes});
    pending = *buffered + bytes.size();
  }
  if (r.output_limit.Exceeded(limits.output_limit, pending, limits.backlog_size, now_ms)) {
    r.closing = true;
    r.held_bytes = 0;
    out.actions.emplace_back(
        DropReplica{.client = r.client_id, .reason = DropReason::kOutputLimit});
  }
}

ReplReady ReplCore::Stream(std::string_view bytes, int64_t now_ms, const StreamLimits& limits,
                           const ClientLookup& lookup) {
  ReplReady out;
  for (ReplicaRecord& r : replicas_) Route(r, bytes, now_ms, limits, lookup, out);
  return out;
}

ReplReady ReplCore::Deliver(ClientId client, std::string_view bytes, int64_t now_ms,
                            const StreamLimits& limits, const ClientLookup& lookup) {
  ReplReady out;
  if (ReplicaRecord* r = Find(client)) Route(*r, bytes, now_ms, limits, lookup, out);
  return out;
}

bool ReplCore::MarkClosing(ClientId client) {
  ReplicaRecord* r = Find(client);
  if (r == nullptr || r->closing) return false;
  r->closing = true;
  r->held_bytes = 0;
  return true;
}

std::vector<ClientId> ReplCore::TakeAll() {
  std::vector<ClientId> out;
  out.reserve(replicas_.size());
  for (const ReplicaRecord& r : replicas_) out.push_back(r.client_id);
  replicas_.clear();
  return out;
}

void ReplCore::ForgetClosed() {
  std::erase_if(replicas_, [](const ReplicaRecord& r) { return r.closing; });
}

std::vector<ClientId> ReplCore::ForgetGone(const ClientLookup& lookup) {
  std::vector<ClientId> gone;
  std::erase_if(replicas_, [&](const ReplicaRecord& r) {
    if (lookup(r.client_id).has_value()) return false;
    gone.push_back(r.client_id);
    return true;
  });
  std::erase_if(pending_conf_, [&](const auto& p) { return !lookup(p.first).has_value(); });
  return gone;
}

ReplReady ReplCore::Ack(ClientId client, int64_t offset, int64_t now_ms,
                        const ClientLookup& lookup) {
  ReplReady out;
  ReplicaRecord* r = Find(client);
  if (r == nullptr) return out;
  if (offset > r->ack_offset) r->ack_offset = offset;
  r->ack_time_ms = now_ms;
  if (r->wait_first_ack) {
    r->wait_first_ack = false;
    Release(*r, out);
  }
  ReplReady served = ServeWaiters(now_ms, false, lookup);
  for (ReplAction& a : served.actions) out.actions.push_back(std::move(a));
  return out;
}

int ReplCore::CountAcked(int64_t offset) const {
  int n = 0;
  for (const ReplicaRecord& r : replicas_) {
    if (r.ack_offset >= offset) ++n;
  }
  return n;
}

int ReplCore::GoodReplicas(int64_t now_ms, int64_t max_lag_ms) const {
  int n = 0;
  for (const ReplicaRecord& r : replicas_) {
    if (r.online() && now_ms - r.ack_time_ms <= max_lag_ms) ++n;
  }
  return n;
}

std::optional<int64_t> ReplCore::Wait(ClientId client, int64_t num_replicas, int64_t offset,
                                      int64_t deadline_ms, bool may_block) {
  const int acked = CountAcked(offset);
  if (acked >= num_replicas || !may_block) return acked;
  waiters_.push_back({.client = client,
                      .num_replicas = num_replicas,
                      .offset = offset,
                      .deadline_ms = deadline_ms});
  return std::nullopt;
}

ReplReady ReplCore::ServeWaiters(int64_t now_ms, bool all, const ClientLookup& lookup) {
  ReplReady out;
  std::erase_if(waiters_, [&](const Waiter& w) {
    if (!lookup(w.client).has_value()) return true;
    const int acked = CountAcked(w.offset);
    const bool done =
        all || acked >= w.num_replicas || (w.deadline_ms != 0 && now_ms >= w.deadline_ms);
    if (done) out.actions.emplace_back(CompleteWait{.client = w.client, .acked = acked});
    return done;
  });
  return out;
}

void ReplCore::Follow() { link_state_ = LinkState::kConnect; }

void ReplCore::Unfollow() {
  link_state_ = LinkState::kNone;
  down_since_ms_ = 0;
}

void ReplCore::LinkStarted(int64_t now_ms) { last_io_ms_ = now_ms; }

void ReplCore::LinkUp(int64_t now_ms, bool synced_now) {
  link_state_ = LinkState::kConnected;
  down_since_ms_ = 0;
  // Loading a full sync took time without reading the link.
  if (synced_now) last_io_ms_ = now_ms;
}

bool ReplCore::LinkClosed(int64_t now_ms, bool following) {
  const bool was_up = link_state_ == LinkState::kConnected;
  if (was_up) down_since_ms_ = now_ms;
  if (following) link_state_ = LinkState::kConnect;
  return was_up;
}

int64_t ReplCore::DataAgeMs(int64_t now_ms) const {
  if (link_state_ == LinkState::kConnected) return now_ms - last_io_ms_;
  // Never up since start: as old as the clock (Redis's unset
  // repl_down_since), so no automatic failover.
  return down_since_ms_ != 0 ? now_ms - down_since_ms_ : now_ms;
}

ReplReady ReplCore::CheckTimeouts(int64_t now_ms, int64_t timeout_ms, bool link_open) {
  ReplReady out;
  // Online replicas ACK every second; SYNC-only ones never do.
  for (ReplicaRecord& r : replicas_) {
    if (r.closing || !r.psync || r.sync_pending || r.in_full_sync) continue;
    if (now_ms - r.ack_time_ms > timeout_ms) {
      r.closing = true;
      r.held_bytes = 0;
      out.actions.emplace_back(DropReplica{.client = r.client_id, .reason = DropReason::kTimeout});
    }
  }
  if (!link_open || now_ms - last_io_ms_ <= timeout_ms) return out;
  switch (link_state_) {
    case LinkState::kConnecting:
    case LinkState::kHandshake:
    case LinkState::kTransfer:
    case LinkState::kConnected:
      out.actions.emplace_back(DropPrimaryLink{.state = link_state_});
      break;
    case LinkState::kNone:
    case LinkState::kConnect:
      break;
  }
  return out;
}

}  // namespace shardnode::replication
