#include "node/server/blocking.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "clusterbus/cluster_state.h"
#include "node/resp/reply.h"
#include "node/server/server.h"
#include "node/server/session.h"
#include "node/server/shard.h"
#include "node/server/suspend.h"
#include "slots/hash_slot.h"

namespace shardnode::node {

void BlockedKeys::Add(Session* session, int db, const std::string& key) {
  waiters_[DbKey(db, key)].push_back(session);
}

void BlockedKeys::Remove(Session* session, int db, const std::string& key) {
  auto w = waiters_.find(DbKey(db, key));
  if (w == waiters_.end()) return;
  w->second.remove(session);
  if (w->second.empty()) waiters_.erase(w);
}

void BlockedKeys::Signal(int db, std::string_view key) {
  if (waiters_.empty()) return;
  DbKey k(db, std::string(key));
  if (!waiters_.contains(k) || ready_set_.contains(k)) return;
  ready_set_.insert(k);
  ready_.emplace_back(signals_->fetch_add(1, std::memory_order_relaxed), std::move(k));
}

void BlockedKeys::SignalDb(int db) {
  for (auto it = waiters_.lower_bound(DbKey(db, std::string()));
       it != waiters_.end() && it->first.first == db; ++it) {
    Signal(db, it->first.second);
  }
}

std::vector<std::pair<uint64_t, BlockedKeys::DbKey>> BlockedKeys::TakeReady() {
  std::vector<std::pair<uint64_t, DbKey>> out;
  out.swap(ready_);
  ready_set_.clear();
  return out;
}

std::vector<Session*> BlockedKeys::Waiters(int db, std::string_view key) const {
  auto it = waiters_.find(DbKey(db, std::string(key)));
  if (it == waiters_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

bool BlockedKeys::Waited(int db, std::string_view key) const {
  return !waiters_.empty() && waiters_.contains(DbKey(db, std::string(key)));
}

BlockingTable::BlockingTable(int shards) {
  for (int i = 0; i < shards; ++i) keys_.push_back(std::make_unique<BlockedKeys>(&signals_));
}

int BlockingTable::ShardOf(std::string_view key) const {
  return KeyspaceShardOfKey(key, num_shards());
}

void BlockingTable::Block(BlockedClient c) {
  // A bug, caught when the client blocks rather than when its wait ends.
  if (c.reply_unblocked == nullptr) {
    std::fprintf(stderr, "BUG: a blocked client without an UnblockReplyFn\n");
    std::abort();
  }
  Session* s = c.session;
  const uint64_t seq = ++next_seq_;
  for (const std::string& key : c.keys) keys_[ShardOf(key)]->Add(s, c.db, key);
  if (c.deadline_ms != 0) deadlines_.emplace(c.deadline_ms, seq);
  by_seq_[seq] = s;
  Suspend(*s, WaitReason::kKeys);
  clients_[s] = Record{seq, std::move(c)};
}

std::optional<BlockedClient> BlockingTable::Unblock(Session& session) {
  auto it = clients_.find(&session);
  if (it == clients_.end()) return std::nullopt;
  Record rec = std::move(it->second);
  clients_.erase(it);
  for (const std::string& key : rec.client.keys) {
    keys_[ShardOf(key)]->Remove(&session, rec.client.db, key);
  }
  if (rec.client.deadline_ms != 0) deadlines_.erase({rec.client.deadline_ms, rec.seq});
  by_seq_.erase(rec.seq);
  session.waiting = WaitReason::kNone;
  return std::move(rec.client);
}

const BlockedClient* BlockingTable::Find(const Session& session) const {
  auto it = clients_.find(const_cast<Session*>(&session));
  return it == clients_.end() ? nullptr : &it->second.client;
}

void BlockingTable::SignalDb(int db) {
  for (auto& k : keys_) k->SignalDb(db);
}

std::vector<ReadyKey> BlockingTable::TakeReady() {
  std::vector<ReadyKey> out;
  if (keys_.size() == 1) {
    for (auto& [seq, k] : keys_[0]->TakeReady()) out.push_back({0, k.first, std::move(k.second)});
    return out;
  }
  // Each shard's queue is in signal order: merge them by signal number.
  std::vector<std::pair<uint64_t, ReadyKey>> all;
  for (int i = 0; i < num_shards(); ++i) {
    for (auto& [seq, k] : keys_[i]->TakeReady()) {
      all.push_back({seq, ReadyKey{i, k.first, std::move(k.second)}});
    }
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  out.reserve(all.size());
  for (auto& [seq, r] : all) out.push_back(std::move(r));
  return out;
}

std::vector<Session*> BlockingTable::TimedOut(int64_t now_ms) const {
  std::vector<Session*> out;
  for (const auto& [deadline, seq] : deadlines_) {
    if (deadline >= now_ms) break;
    out.push_back(by_seq_.at(seq));
  }
  return out;
}

std::vector<Session*> BlockingTable::All() const {
  std::vector<Session*> out;
  out.reserve(by_seq_.size());
  for (const auto& [seq, s] : by_seq_) out.push_back(s);
  return out;
}

BlockTimeoutError ParseBlockTimeout(std::string_view arg, int64_t now_ms, int64_t* deadline_ms) {
  // Redis reads the text with strtold and refuses leading spaces, trailing
  // bytes, overflow and NaN (string2ld).
  constexpr size_t kMaxChars = 5 * 1024;
  long double value = 0;
  bool ok =
      !arg.empty() && arg.size() < kMaxChars && !std::isspace(static_cast<unsigned char>(arg[0]));
  if (ok) {
    const std::string buf(arg);
    char* end = nullptr;
    errno = 0;
    value = std::strtold(buf.c_str(), &end);
    ok = end == buf.c_str() + buf.size() && errno != EINVAL && !std::isnan(value) &&
         !(errno == ERANGE && (std::isinf(value) || value == 0));
  }
  if (!ok) return BlockTimeoutError::kNotFloat;
  // Seconds to ms, rounded up. A product beyond int64 is what x86 makes of
  // Redis's cast: the most negative value, hence "negative".
  const long double ms = std::ceil(value * 1000.0L);
  int64_t tval = std::numeric_limits<int64_t>::min();
  if (ms < 9223372036854775807.0L && ms >= -9223372036854775807.0L) {
    tval = static_cast<int64_t>(ms);
  }
  if (tval < 0) return BlockTimeoutError::kNegative;
  if (tval > 0) {
    // Redis's sum overflows into a deadline that never comes: saturate.
    tval = tval > std::numeric_limits<int64_t>::max() - now_ms ? std::numeric_limits<int64_t>::max()
                                                               : tval + now_ms;
  }
  *deadline_ms = tval;
  return BlockTimeoutError::kNone;
}

void FinishBlocked(Server& server, Session& session, std::string_view reply) {
  // Unblock ends the wait record; Complete writes the reply and resumes.
  if (!server.blocking().Unblock(session)) return;
  session.waiting = WaitReason::kKeys;
  Complete(session, reply);
}

namespace {

// Ends the wait of `session` with the reply its command words for `outcome`
// (its protocol; errors counted in INFO errorstats).
void FinishWithOutcome(Server& server, Session& session, const UnblockOutcome& outcome) {
  const BlockedClient* c = server.blocking().Find(session);
  if (c == nullptr) return;
  std::string out;
  resp::ReplyBuilder reply(&out, session.protocol);
  reply.on_error = [&server](std::string_view message) { server.stats().CountError(message); };
  c->reply_unblocked(reply, outcome);
  FinishBlocked(server, session, out);
}

// Why a client blocked on `c` must stop waiting now, or nullopt when it may
// keep waiting.
std::optional<UnblockOutcome> RedirectionFor(const clusterbus::ClusterState& cluster,
                                             const BlockedClient& c, bool readonly) {
  if (!cluster.ok()) return unblock::ClusterDown{};
  // All keys of a blocked command share one slot: the first one decides.
  const int slot = slots::KeyHashSlot(c.keys.front());
  const clusterbus::ClusterNode* owner = cluster.SlotOwner(slot);
  const clusterbus::ClusterNode& me = cluster.myself();
  // A READONLY client reading from its primary's slot may stay.
  if (readonly && !c.is_write && me.is_replica() && me.primary == owner) {
    owner = &me;
  }
  if (owner == &me || cluster.ImportingFrom(slot) != nullptr) return std::nullopt;
  if (owner == nullptr) return unblock::SlotUnbound{};
  return unblock::Moved{slot, cluster.Endpoint(*owner), owner->port};
}

}  // namespace

void HandleBlockedTimeouts(Server& server, int64_t now_ms) {
  BlockingTable& table = server.blocking();
  if (table.with_timeout() == 0) return;
  for (Session* s : table.TimedOut(now_ms)) FinishWithOutcome(server, *s, unblock::TimedOut{});
}

void RedirectBlockedClients(Server& server) {
  clusterbus::ClusterState* cluster = server.cluster();
  if (cluster == nullptr || server.blocking().size() == 0) return;
  for (Session* s : server.blocking().All()) {
    const BlockedClient* c = server.blocking().Find(*s);
    if (c == nullptr) continue;
    if (std::optional<UnblockOutcome> outcome = RedirectionFor(*cluster, *c, s->readonly)) {
      FinishWithOutcome(server, *s, *outcome);
    }
  }
}

bool UnblockClientById(Server& server, uint64_t id, bool with_error) {
  auto it = server.clients().find(id);
  if (it == server.clients().end() || !it->second->blocked()) return false;
  Session& s = *it->second;
  const BlockedClient* c = server.blocking().Find(s);
  if (c == nullptr) {
    BlockingTable& table = server.blocking();
    return table.unblock_other && table.unblock_other(s, with_error);
  }
  // Redis counts the call as failed, even when it replies as a timeout.
  if (c->failed_calls != nullptr) ++*c->failed_calls;
  if (with_error) {
    FinishWithOutcome(server, s, unblock::ByClientUnblock{});
  } else {
    FinishWithOutcome(server, s, unblock::TimedOut{});
  }
  return true;
}

void DisconnectAllBlockedClients(Server& server) {
  for (Session* s : server.blocking().All()) {
    s->close_after_reply = true;
    FinishWithOutcome(server, *s, unblock::RoleChanged{});
  }
}

}  // namespace shardnode::node
