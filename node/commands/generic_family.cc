// Generic (keyspace) commands: DEL UNLINK EXISTS TOUCH TYPE RENAME RENAMENX
// MOVE, the expiry commands (EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL
// EXPIRETIME PEXPIRETIME PERSIST), the whole-keyspace commands (KEYS SCAN
// RANDOMKEY DBSIZE FLUSHALL FLUSHDB), SELECT and OBJECT, with Redis 7.0.15's
// replies and errors.
//
// Each key is found in its own shard (ctx.DbFor); whole-keyspace commands are
// fan-outs that the dispatcher runs over the shards (fan_out.h).
#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/fan_out.h"
#include "node/commands/object_refcount.h"
#include "node/config/config.h"
#include "node/config/glob.h"
#include "node/config/options.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/keyspace/types/type_util.h"
#include "node/persist/persistence.h"
#include "node/resp/reply.h"
#include "node/server/lazyfree.h"
#include "node/server/node_services.h"
#include "node/server/replication_control.h"
#include "node/server/session.h"
#include "node/server/shard.h"
#include "node/server/tracking.h"
#include "slots/hash_slot.h"

namespace shardnode::node {
namespace {

// ---------------------------------------------------------------------------
// Keys.

// DEL and UNLINK. UNLINK (and DEL with lazyfree-lazy-user-del) frees a
// big value in the background (node/server/lazyfree.h).
void DelGeneric(CommandContext& ctx, Args args, bool lazy) {
  int64_t deleted = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    Db& db = ctx.DbFor(args[i]);
    if (lazy) {
      if (Entry* e = db.Find(args[i], ctx.now_ms, /*touch=*/false)) FreeMaybeLater(e->value());
    }
    if (db.Delete(args[i], ctx.now_ms)) {
      ++deleted;
      ctx.Notify(kNotifyGeneric, "del", args[i]);
    }
  }
  ctx.AddDirty(static_cast<uint64_t>(deleted));
  ctx.reply.Integer(deleted);
}

void Del(CommandContext& ctx, Args args) {
  DelGeneric(ctx, args, ctx.node.options().lazyfree_lazy_user_del);
}
void Unlink(CommandContext& ctx, Args args) { DelGeneric(ctx, args, true); }

void Exists(CommandContext& ctx, Args args) {
  int64_t n = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    if (ctx.DbFor(args[i]).FindRead(args[i], ctx.now_ms, /*touch=*/false)) ++n;
  }
  ctx.reply.Integer(n);
}

void Touch(CommandContext& ctx, Args args) {
  int64_t n = 0;
  for (size_t i = 1; i < args.size(); ++i) {
    if (ctx.DbFor(args[i]).FindRead(args[i], ctx.now_ms)) ++n;
  }
  ctx.reply.Integer(n);
}

void Type(CommandContext& ctx, Args args) {
  Entry* e = ctx.DbFor(args[1]).FindRead(args[1], ctx.now_ms, /*touch=*/false);
  ctx.reply.SimpleString(e ? ValueTypeName(e->value().type()) : "none");
}

void RenameGeneric(CommandContext& ctx, Args args, bool nx) {
  const std::string& from = args[1];
  const std::string& to = args[2];
  Db& src = ctx.DbFor(from);
  Entry* e = src.Find(from, ctx.now_ms);
  if (!e) {
    ctx.reply.Error(errors::kNoSuchKey);
    return;
  }
  if (from == to) {
    if (nx) {
      ctx.reply.Integer(0);
    } else {
      ctx.reply.Ok();
    }
    return;
  }
  Db& dst = ctx.DbFor(to);
  if (nx && dst.Find(to, ctx.now_ms)) {
    ctx.reply.Integer(0);
    return;
  }
  const int64_t expire = src.ExpireOf(e);
  Value v = std::move(e->value());
  // Redis deletes a destination that exists and adds the key anew, so the
  // "new" event comes either way (Set raises it only for a new key).
  const bool replaced = dst.Find(to, ctx.now_ms) != nullptr;
  src.Delete(from, ctx.now_ms);
  Entry* moved = dst.Set(to, std::move(v), ctx.now_ms);
  if (replaced) ctx.Notify(kNotifyNew, "new", to);
  if (expire != -1) dst.SetExpire(moved, expire);
  ctx.AddDirty(1);
  ctx.Notify(kNotifyGeneric, "rename_from", from);
  ctx.Notify(kNotifyGeneric, "rename_to", to);
  if (nx) {
    ctx.reply.Integer(1);
  } else {
    ctx.reply.Ok();
  }
}

void Rename(CommandContext& ctx, Args args) { RenameGeneric(ctx, args, false); }
void RenameNx(CommandContext& ctx, Args args) { RenameGeneric(ctx, args, true); }

// SELECT's and MOVE's index argument: an int ("value is not an integer or out
// of range" otherwise).
bool ParseDbIndex(CommandContext& ctx, const std::string& arg, int* index) {
  int64_t v;
  if (!types::ParseInt64(arg, &v) || v < std::numeric_limits<int>::min() ||
      v > std::numeric_limits<int>::max()) {
    ctx.reply.Error(errors::kNotInteger);
    return false;
  }
  *index = static_cast<int>(v);
  return true;
}

void Move(CommandContext& ctx, Args args) {
  if (ctx.node.cluster_enabled()) {
    ctx.reply.Error(errors::kMoveInCluster);
    return;
  }
  int target;
  if (!ParseDbIndex(ctx, args[2], &target)) return;
  if (target < 0 || target >= ctx.num_dbs()) {
    ctx.reply.Error(errors::kDbIndexOutOfRange);
    return;
  }
  if (target == ctx.db_index()) {
    ctx.reply.Error(errors::kSameObject);
    return;
  }
  Db& src = ctx.DbFor(args[1]);
  Db& dst = ctx.DbFor(args[1], target);
  Entry* e = src.Find(args[1], ctx.now_ms);
  if (!e || dst.Find(args[1], ctx.now_ms)) {
    ctx.reply.Integer(0);
    return;
  }
  const int64_t expire = src.ExpireOf(e);
  Value v = std::move(e->value());
  src.Delete(args[1], ctx.now_ms);
  Entry* moved = dst.Set(args[1], std::move(v), ctx.now_ms);
  if (expire != -1) dst.SetExpire(moved, expire);
  ctx.AddDirty(1);
  ctx.Notify(kNotifyGeneric, "move_from", args[1]);
  ctx.Notify(kNotifyGeneric, "move_to", args[1], target);
  ctx.reply.Integer(1);
}

// ---------------------------------------------------------------------------
// Expiry.

enum ExpireFlag : uint32_t { kNx = 1, kXx = 2, kGt = 4, kLt = 8 };

void ExpireGeneric(CommandContext& ctx, Args args, int64_t basetime, bool seconds) {
  uint32_t flags = 0;
  for (size_t j = 3; j < args.size(); ++j) {
    const std::string& opt = args[j];
    if (absl::EqualsIgnoreCase(opt, "nx")) {
      flags |= kNx;
    } else if (absl::EqualsIgnoreCase(opt, "xx")) {
      flags |= kXx;
    } else if (absl::EqualsIgnoreCase(opt, "gt")) {
      flags |= kGt;
    } else if (absl::EqualsIgnoreCase(opt, "lt")) {
      flags |= kLt;
    } else {
      ctx.reply.Error(errors::UnsupportedOption(opt));
      return;
    }
  }
  if ((flags & kNx) && (flags & (kXx | kGt | kLt))) {
    ctx.reply.Error(errors::kExpireNxAndOthers);
    return;
  }
  if ((flags & kGt) && (flags & kLt)) {
    ctx.reply.Error(errors::kGtAndLt);
    return;
  }
  int64_t when;
  if (!types::ParseInt64(args[2], &when)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  const std::string invalid = errors::InvalidExpireTime(ctx.spec.name);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (seconds) {
    if (when > kMax / 1000 || when < kMin / 1000) {
      ctx.reply.Error(invalid);
      return;
    }
    when *= 1000;
  }
  if (when > kMax - basetime) {
    ctx.reply.Error(invalid);
    return;
  }
  when += basetime;

  Db& db = ctx.DbFor(args[1]);
  Entry* e = db.Find(args[1], ctx.now_ms);
  if (!e) {
    ctx.reply.Integer(0);
    return;
  }
  if (flags) {
    const int64_t current = db.ExpireOf(e);
    if (((flags & kNx) && current != -1) || ((flags & kXx) && current == -1) ||
        ((flags & kGt) && (when <= current || current == -1)) ||
        ((flags & kLt) && current != -1 && when >= current)) {
      ctx.reply.Integer(0);
      return;
    }
  }
  if (AlreadyExpired(ctx, when)) {
    db.Delete(args[1], ctx.now_ms);
    ctx.Notify(kNotifyGeneric, "del", args[1]);
    ctx.propagate_as = {"DEL", args[1]};
  } else {
    db.SetExpire(e, when);
    ctx.Notify(kNotifyGeneric, "expire", args[1]);
    // Replicas get the absolute time (the options stay, as in Redis).
    ctx.propagate_as.assign(args.begin(), args.end());
    ctx.propagate_as[0] = "PEXPIREAT";
    ctx.propagate_as[2] = absl::StrCat(when);
  }
  ctx.AddDirty(1);
  ctx.reply.Integer(1);
}

void Expire(CommandContext& ctx, Args args) { ExpireGeneric(ctx, args, ctx.now_ms, true); }
void PExpire(CommandContext& ctx, Args args) { ExpireGeneric(ctx, args, ctx.now_ms, false); }
void ExpireAt(CommandContext& ctx, Args args) { ExpireGeneric(ctx, args, 0, true); }
void PExpireAt(CommandContext& ctx, Args args) { ExpireGeneric(ctx, args, 0, false); }

void TtlGeneric(CommandContext& ctx, Args args, bool ms, bool absolute) {
  Db& db = ctx.DbFor(args[1]);
  Entry* e = db.FindRead(args[1], ctx.now_ms, /*touch=*/false);
  if (!e) {
    ctx.reply.Integer(-2);
    return;
  }
  const int64_t expire = db.ExpireOf(e);
  if (expire == -1) {
    ctx.reply.Integer(-1);
    return;
  }
  int64_t ttl = absolute ? expire : expire - ctx.now_ms;
  if (ttl < 0) ttl = 0;
  ctx.reply.Integer(ms ? ttl : (ttl + 500) / 1000);
}

void Ttl(CommandContext& ctx, Args args) { TtlGeneric(ctx, args, false, false); }
void PTtl(CommandContext& ctx, Args args) { TtlGeneric(ctx, args, true, false); }
void ExpireTime(CommandContext& ctx, Args args) { TtlGeneric(ctx, args, false, true); }
void PExpireTime(CommandContext& ctx, Args args) { TtlGeneric(ctx, args, true, true); }

void Persist(CommandContext& ctx, Args args) {
  Db& db = ctx.DbFor(args[1]);
  Entry* e = db.Find(args[1], ctx.now_ms);
  if (e && db.Persist(e)) {
    ctx.AddDirty(1);
    ctx.Notify(kNotifyGeneric, "persist", args[1]);
    ctx.reply.Integer(1);
  } else {
    ctx.reply.Integer(0);
  }
}

// ---------------------------------------------------------------------------
// Whole keyspace.

// Each is a fan-out (fan_out.h): its steps see one shard each, its merge
// replies. Keys of slots an atomic migration is importing are hidden from
// all of them until the handoff (NodeServices::SlotHidden).

bool Hidden(const NodeServices& node, std::string_view key) {
  return node.AnySlotHidden() && node.SlotHidden(slots::KeyHashSlot(key));
}

// Keys of `db` in hidden slots.
uint64_t HiddenKeys(const NodeServices& node, const Db& db) {
  if (!node.AnySlotHidden()) return 0;
  uint64_t n = 0;
  for (int s = 0; s < slots::kNumSlots; ++s) {
    if (node.SlotHidden(s)) n += db.CountKeysInSlot(s);
  }
  return n;
}

// KEYS pattern: each shard's live matching keys; the reply lists them in
// shard order.
class KeysFanOut : public FanOut {
 public:
  KeysFanOut(const NodeServices& node, std::string pattern, int num_shards)
      : node_(node), pattern_(std::move(pattern)), all_(pattern_ == "*"), keys_(num_shards) {}
  void Step(ShardStep& shard) override {
    Db& db = shard.db();
    std::vector<std::string>& keys = keys_[shard.index()];
    db.ForEach([&](const Entry& e) {
      if (!all_ && !GlobMatch(pattern_, e.key())) return;
      if (Hidden(node_, e.key())) return;
      const int64_t expire = db.ExpireOf(&e);
      if (expire != -1 && expire <= shard.now_ms()) return;
      keys.emplace_back(e.key());
    });
  }
  ShardList Merge(CommandContext& ctx) override {
    size_t n = 0;
    for (const std::vector<std::string>& part : keys_) n += part.size();
    ctx.reply.ArrayHeader(n);
    for (const std::vector<std::string>& part : keys_) {
      for (const std::string& k : part) ctx.reply.Bulk(k);
    }
    return {};
  }

 private:
  const NodeServices& node_;
  std::string pattern_;
  bool all_;
  std::vector<std::vector<std::string>> keys_;  // by shard
};

std::unique_ptr<FanOut> Keys(CommandContext& ctx, Args args) {
  return std::make_unique<KeysFanOut>(ctx.node, args[1], ctx.shard.num_keyspaces());
}

// SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]. The cursor's low 14
// bits are a slot; each round scans in the shard that owns it, up to the end
// of that slot (the next slot belongs to another shard), so that a full scan
// visits every slot once whatever the number of shards; with one shard the
// one round walks every slot. Rounds go on until `count` entries were
// visited or the cursor is back to 0.
class ScanFanOut : public FanOut {
 public:
  // `pattern`: MATCH's, or nullopt.
  ScanFanOut(const NodeServices& node, uint64_t cursor, size_t count,
             std::optional<std::string> pattern, const std::string* type, int num_shards)
      : node_(node),
        cursor_(cursor),
        count_(count),
        use_pattern_(pattern.has_value() && *pattern != "*"),
        pattern_(pattern.value_or("")),
        type_(type),
        num_shards_(num_shards) {}
  ShardList FirstRound(int) override { return {ShardOfCursor()}; }
  void Step(ShardStep& shard) override {
    const int slot = static_cast<int>(cursor_ & (slots::kNumSlots - 1));
    const int end_slot = num_shards_ == 1 ? slots::kNumSlots : slot + 1;
    cursor_ = shard.db().Scan(
        cursor_, count_ - visited_, shard.now_ms(),
        [&](const Entry& e) {
          ++visited_;
          Collect(e);
        },
        end_slot,
        [&](const Entry& e) {
          ++visited_;
          if (Matches(e)) expired_.emplace_back(e.key());
        });
    // As Redis, the expired keys the step met that pass MATCH are reaped
    // (and their DELs propagated) once the walk is done; a replica only
    // hides them.
    for (const std::string& key : expired_) shard.db().Exists(key, shard.now_ms());
    expired_.clear();
  }
  ShardList Merge(CommandContext& ctx) override {
    if (cursor_ != 0 && visited_ < count_) return {ShardOfCursor()};
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(absl::StrCat(cursor_));
    ctx.reply.ArrayHeader(keys_.size());
    for (const std::string& k : keys_) ctx.reply.Bulk(k);
    return {};
  }

 private:
  int ShardOfCursor() const {
    return static_cast<int>(cursor_ & (slots::kNumSlots - 1)) % num_shards_;
  }
  bool Matches(const Entry& e) const {
    return !(use_pattern_ && !GlobMatch(pattern_, e.key())) && !Hidden(node_, e.key());
  }
  void Collect(const Entry& e) {
    if (!Matches(e)) return;
    if (type_ != nullptr) {
      const std::string_view name = ValueTypeName(e.value().type());
      if (!absl::EqualsIgnoreCase(*type_, absl::string_view(name.data(), name.size()))) return;
    }
    keys_.emplace_back(e.key());
  }

  const NodeServices& node_;
  // One round runs at a time (one shard), so the state is the partial.
  uint64_t cursor_;
  size_t count_;
  size_t visited_ = 0;
  bool use_pattern_;
  std::string pattern_;
  const std::string* type_;  // TYPE's argument (outlives the command), or nullptr
  int num_shards_;
  std::vector<std::string> keys_;
  std::vector<std::string> expired_;  // met by the current step, to reap
};

std::unique_ptr<FanOut> Scan(CommandContext& ctx, Args args) {
  uint64_t cursor;
  if (!types::ParseScanCursor(args[1], &cursor)) {
    ctx.reply.Error(errors::kInvalidCursor);
    return nullptr;
  }
  size_t count = 10;
  std::optional<std::string> pattern;
  const std::string* type = nullptr;
  for (size_t i = 2; i < args.size();) {
    const size_t left = args.size() - i;
    if (absl::EqualsIgnoreCase(args[i], "count") && left >= 2) {
      int64_t n;
      if (!types::ParseInt64(args[i + 1], &n)) {
        ctx.reply.Error(errors::kNotInteger);
        return nullptr;
      }
      if (n < 1) {
        ctx.reply.Error(errors::kSyntax);
        return nullptr;
      }
      count = static_cast<size_t>(n);
      i += 2;
    } else if (absl::EqualsIgnoreCase(args[i], "match") && left >= 2) {
      pattern = args[i + 1];
      i += 2;
    } else if (absl::EqualsIgnoreCase(args[i], "type") && left >= 2) {
      type = &args[i + 1];
      i += 2;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return nullptr;
    }
  }
  return std::make_unique<ScanFanOut>(ctx.node, cursor, count, std::move(pattern), type,
                                      ctx.shard.num_keyspaces());
}

// RANDOMKEY: a first round counts every shard's keys; the merge picks a
// shard in proportion to its size and a second round draws a key there
// (which may find only expired keys: then it starts over, a bounded number
// of times, as the loop Redis runs over its one dictionary).
class RandomKeyFanOut : public FanOut {
 public:
  RandomKeyFanOut(const NodeServices& node, int num_shards)
      : node_(node), sizes_(num_shards), attempts_left_(2 * num_shards + 1) {}
  void Step(ShardStep& shard) override {
    if (chosen_ < 0) {
      sizes_[shard.index()] = shard.db().Size() - HiddenKeys(node_, shard.db());
    } else {
      // A hidden key is drawn again (a bounded number of times; then the
      // draw counts as none found and starts over).
      found_ = false;
      for (int tries = 0; tries < 64 && !found_; ++tries) {
        if (!shard.db().RandomKey(shard.now_ms(), &key_)) break;
        found_ = !Hidden(node_, key_);
      }
    }
  }
  ShardList Merge(CommandContext& ctx) override {
    if (chosen_ >= 0) {
      if (found_) {
        ctx.reply.Bulk(key_);
        return {};
      }
      chosen_ = -1;
      if (--attempts_left_ == 0) return Reply(ctx);
      return AllShards(static_cast<int>(sizes_.size()));  // count again
    }
    size_t total = 0;
    for (size_t n : sizes_) total += n;
    if (total == 0) return Reply(ctx);
    size_t r = types::RandomBelow(total);
    int chosen = 0;
    while (r >= sizes_[chosen]) r -= sizes_[chosen++];
    chosen_ = chosen;
    return {chosen_};
  }

 private:
  ShardList Reply(CommandContext& ctx) {
    ctx.reply.NullBulk();
    return {};
  }
  const NodeServices& node_;
  std::vector<size_t> sizes_;  // by shard (counting rounds)
  int attempts_left_;
  int chosen_ = -1;  // the drawing round's shard; -1 while counting
  bool found_ = false;
  std::string key_;
};

std::unique_ptr<FanOut> RandomKey(CommandContext& ctx, Args) {
  return std::make_unique<RandomKeyFanOut>(ctx.node, ctx.shard.num_keyspaces());
}

// DBSIZE: the sum of every shard's key count in the command's database.
class DbSizeFanOut : public FanOut {
 public:
  DbSizeFanOut(const NodeServices& node, int num_shards) : node_(node), sizes_(num_shards) {}
  void Step(ShardStep& shard) override {
    sizes_[shard.index()] = shard.db().Size() - HiddenKeys(node_, shard.db());
  }
  ShardList Merge(CommandContext& ctx) override {
    uint64_t n = 0;
    for (uint64_t s : sizes_) n += s;
    ctx.reply.Integer(static_cast<int64_t>(n));
    return {};
  }

 private:
  const NodeServices& node_;
  std::vector<uint64_t> sizes_;
};

std::unique_ptr<FanOut> DbSize(CommandContext& ctx, Args) {
  return std::make_unique<DbSizeFanOut>(ctx.node, ctx.shard.num_keyspaces());
}

// FLUSHALL/FLUSHDB [ASYNC|SYNC] (both run synchronously here): each shard
// clears every database (FLUSHALL) or the command's, counting what it
// removed; the merge counts the changes (FLUSHALL then saves when save
// points are set) and replies +OK.
bool ParseFlushArgs(CommandContext& ctx, Args args) {
  if (args.size() == 1) return true;
  if (args.size() == 2 &&
      (absl::EqualsIgnoreCase(args[1], "sync") || absl::EqualsIgnoreCase(args[1], "async"))) {
    return true;
  }
  ctx.reply.Error(errors::kSyntax);
  return false;
}

class FlushFanOut : public FanOut {
 public:
  FlushFanOut(bool all_dbs, int num_shards) : all_dbs_(all_dbs), removed_(num_shards) {}
  void Step(ShardStep& shard) override {
    if (all_dbs_) {
      removed_[shard.index()] = shard.keyspace().TotalKeys();
      shard.keyspace().Clear();
    } else {
      removed_[shard.index()] = shard.db().Size();
      shard.db().Clear();
    }
  }
  ShardList Merge(CommandContext& ctx) override {
    uint64_t removed = 0;
    for (uint64_t n : removed_) removed += n;
    ctx.AddDirty(removed);
    // FLUSHALL with save points configured saves the empty dataset at once
    // (stopping a BGSAVE first), which resets the dirty counter, as Redis's
    // flushAllDataAndResetRDB does; the command still propagates.
    // An image being made for a full sync stops whatever the save points
    // (Redis kills any RDB child there); its replicas sync again.
    if (all_dbs_ && ctx.node.replication() != nullptr) ctx.node.replication()->AbortSyncImage();
    if (all_dbs_ && !ctx.node.options().save.empty()) {
      if (persist::Persistence* p = ctx.node.persistence(); p != nullptr) {
        if (p->bgsave_in_progress()) p->AbortBackgroundSave();
        (void)p->Save(ctx.now_ms);  // a failure is logged; FLUSHALL still succeeds
      }
    }
    // Redis forces their propagation (forceCommandPropagation): replicas
    // and the AOF get FLUSHDB / FLUSHALL even when nothing was removed.
    ctx.dirty = std::max<uint64_t>(ctx.dirty, 1);
    // Client-side caching: every tracking client is told to drop all keys,
    // even when nothing was removed (Redis's signalFlushedDb).
    ctx.node.tracking().Flushed();
    ctx.reply.Ok();
    return {};
  }

 private:
  bool all_dbs_;
  std::vector<uint64_t> removed_;  // by shard
};

std::unique_ptr<FanOut> FlushAll(CommandContext& ctx, Args args) {
  if (!ParseFlushArgs(ctx, args)) return nullptr;
  return std::make_unique<FlushFanOut>(true, ctx.shard.num_keyspaces());
}

std::unique_ptr<FanOut> FlushDb(CommandContext& ctx, Args args) {
  if (!ParseFlushArgs(ctx, args)) return nullptr;
  return std::make_unique<FlushFanOut>(false, ctx.shard.num_keyspaces());
}

void Select(CommandContext& ctx, Args args) {
  int index;
  if (!ParseDbIndex(ctx, args[1], &index)) return;
  if (ctx.node.cluster_enabled() && index != 0) {
    ctx.reply.Error(errors::kSelectInCluster);
    return;
  }
  if (index < 0 || index >= ctx.num_dbs()) {
    ctx.reply.Error(errors::kDbIndexOutOfRange);
    return;
  }
  ctx.session.db_index = index;
  ctx.reply.Ok();
}

// ---------------------------------------------------------------------------
// OBJECT.

bool LfuPolicy(CommandContext& ctx) {
  return IsLfuPolicy(static_cast<EvictionPolicy>(ctx.node.options().maxmemory_policy));
}

// The entry OBJECT inspects, or nullptr after replying null.
Entry* ObjectLookup(CommandContext& ctx, Args args) {
  Entry* e = ctx.DbFor(args[2]).FindRead(args[2], ctx.now_ms, /*touch=*/false, /*notify=*/false);
  if (!e) ctx.reply.NullBulk();
  return e;
}

void ObjectEncoding(CommandContext& ctx, Args args) {
  if (Entry* e = ObjectLookup(ctx, args)) ctx.reply.Bulk(e->value().EncodingName());
}

void ObjectRefCount(CommandContext& ctx, Args args) {
  if (Entry* e = ObjectLookup(ctx, args)) ctx.reply.Integer(ValueRefCount(ctx, e->value()));
}

void ObjectIdleTime(CommandContext& ctx, Args args) {
  Entry* e = ObjectLookup(ctx, args);
  if (!e) return;
  if (LfuPolicy(ctx)) {
    ctx.reply.Error(errors::kIdleTimeUnderLfu);
    return;
  }
  ctx.reply.Integer(static_cast<int64_t>(LruIdleMs(e->lru(), ctx.now_ms) / 1000));
}

void ObjectFreq(CommandContext& ctx, Args args) {
  Entry* e = ObjectLookup(ctx, args);
  if (!e) return;
  if (!LfuPolicy(ctx)) {
    ctx.reply.Error(errors::kFreqWithoutLfu);
    return;
  }
  ctx.reply.Integer(LfuDecayedCounter(e->lru(), ctx.now_ms, ctx.node.options().lfu_decay_time));
}

void ObjectHelp(CommandContext& ctx, Args) {
  static constexpr std::string_view kLines[] = {
      "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "ENCODING <key>",
      "    Return the kind of internal representation used in order to store the value",
      "    associated with a <key>.",
      "FREQ <key>",
      "    Return the access frequency index of the <key>. The returned integer is",
      "    proportional to the logarithm of the recent access frequency of the key.",
      "IDLETIME <key>",
      "    Return the idle time of the <key>, that is the approximated number of",
      "    seconds elapsed since the last access to the key.",
      "REFCOUNT <key>",
      "    Return the number of references of the value associated with the specified",
      "    <key>.",
      "HELP",
      "    Prints this help.",
  };
  ctx.reply.ArrayHeader(std::size(kLines));
  for (std::string_view line : kLines) ctx.reply.SimpleString(line);
}

void ObjectParent(CommandContext& ctx, Args args) {
  ctx.reply.Error(errors::UnknownSubcommand("OBJECT", args.size() > 1 ? args[1] : ""));
}

// The entry of a keyless command that spans shards (fan_out.h).
CommandSpec FanOutSpec(std::string name, int arity, uint32_t flags, FanOutFn fan_out,
                       std::string_view summary, std::string_view since,
                       std::string_view group = "generic") {
  return CommandSpec{.name = std::move(name),
                     .arity = arity,
                     .flags = flags | kCmdAllShards,
                     .fan_out = fan_out,
                     .group = group,
                     .summary = summary,
                     .since = since};
}

CommandSpec Spec(std::string name, int arity, uint32_t flags, Handler h, int first, int last,
                 int step, std::string_view summary, std::string_view since,
                 std::string_view group = "generic") {
  return CommandSpec{.name = std::move(name),
                     .arity = arity,
                     .flags = flags,
                     .first_key = first,
                     .last_key = last,
                     .key_step = step,
                     .handler = h,
                     .group = group,
                     .summary = summary,
                     .since = since};
}

}  // namespace

int64_t ValueRefCount(CommandContext& ctx, const Value& v) {
  // Integers in [0, 10000) are shared objects in Redis (unless maxmemory with
  // an LRU/LFU policy forbids sharing): their refcount is INT_MAX.
  bool shared = v.is_int_encoded() && v.int_value() >= 0 && v.int_value() < kSharedIntegers;
  if (shared && ctx.node.options().maxmemory != 0) {
    const auto policy = ctx.node.config().Value("maxmemory-policy");
    if (policy && (absl::StrContains(*policy, "lru") || absl::StrContains(*policy, "lfu"))) {
      shared = false;
    }
  }
  return shared ? std::numeric_limits<int32_t>::max() : 1;
}

void RegisterGenericFamily(CommandTable& t) {
  constexpr uint32_t kR = kCmdReadonly;
  constexpr uint32_t kW = kCmdWrite;
  constexpr uint32_t kF = kCmdFast;
  t.Register(Spec("del", -2, kW, Del, 1, -1, 1, "Delete a key", "1.0.0"));
  t.Register(Spec("unlink", -2, kW | kF, Unlink, 1, -1, 1,
                  "Delete a key asynchronously in another thread. Otherwise it is just as DEL, "
                  "but non blocking.",
                  "4.0.0"));
  t.Register(Spec("exists", -2, kR | kF, Exists, 1, -1, 1, "Determine if a key exists", "1.0.0"));
  t.Register(Spec("touch", -2, kR | kF, Touch, 1, -1, 1,
                  "Alters the last access time of a key(s). Returns the number of existing keys "
                  "specified.",
                  "3.2.1"));
  t.Register(Spec("type", 2, kR | kF, Type, 1, 1, 1, "Determine the type stored at key", "1.0.0"));
  t.Register(Spec("rename", 3, kW, Rename, 1, 2, 1, "Rename a key", "1.0.0"));
  t.Register(Spec("renamenx", 3, kW | kF, RenameNx, 1, 2, 1,
                  "Rename a key, only if the new key does not exist", "1.0.0"));
  t.Register(Spec("move", 3, kW | kF, Move, 1, 1, 1, "Move a key to another database", "1.0.0"));
  t.Register(
      Spec("expire", -3, kW | kF, Expire, 1, 1, 1, "Set a key's time to live in seconds", "1.0.0"));
  t.Register(Spec("pexpire", -3, kW | kF, PExpire, 1, 1, 1,
                  "Set a key's time to live in milliseconds", "2.6.0"));
  t.Register(Spec("expireat", -3, kW | kF, ExpireAt, 1, 1, 1,
                  "Set the expiration for a key as a UNIX timestamp", "1.2.0"));
  t.Register(Spec("pexpireat", -3, kW | kF, PExpireAt, 1, 1, 1,
                  "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
                  "2.6.0"));
  t.Register(
      Spec("ttl", 2, kR | kF, Ttl, 1, 1, 1, "Get the time to live for a key in seconds", "1.0.0"));
  t.Register(Spec("pttl", 2, kR | kF, PTtl, 1, 1, 1,
                  "Get the time to live for a key in milliseconds", "2.6.0"));
  t.Register(Spec("expiretime", 2, kR | kF, ExpireTime, 1, 1, 1,
                  "Get the expiration Unix timestamp for a key", "7.0.0"));
  t.Register(Spec("pexpiretime", 2, kR | kF, PExpireTime, 1, 1, 1,
                  "Get the expiration Unix timestamp for a key in milliseconds", "7.0.0"));
  t.Register(
      Spec("persist", 2, kW | kF, Persist, 1, 1, 1, "Remove the expiration from a key", "2.2.0"));
  t.Register(FanOutSpec("keys", 2, kR, Keys, "Find all keys matching the given pattern", "1.0.0"));
  t.Register(FanOutSpec("scan", -2, kR | kCmdTouchesArbitraryKeys, Scan,
                        "Incrementally iterate the keys space", "2.8.0"));
  t.Register(FanOutSpec("randomkey", 1, kR | kCmdTouchesArbitraryKeys, RandomKey,
                        "Return a random key from the keyspace", "1.0.0"));
  t.Register(FanOutSpec("dbsize", 1, kR | kF, DbSize,
                        "Return the number of keys in the selected database", "1.0.0", "server"));
  t.Register(FanOutSpec("flushall", -1, kW, FlushAll, "Remove all keys from all databases", "1.0.0",
                        "server"));
  t.Register(FanOutSpec("flushdb", -1, kW, FlushDb, "Remove all keys from the current database",
                        "1.0.0", "server"));
  t.Register(Spec("select", 2, kCmdLoading | kCmdStale | kF, Select, 0, 0, 0,
                  "Change the selected database for the current connection", "1.0.0",
                  "connection"));

  CommandSpec object = Spec("object", -2, 0, ObjectParent, 0, 0, 0,
                            "A container for object introspection commands", "2.2.3");
  object.subcommands = {
      Spec("object|help", 2, kCmdLoading | kCmdStale, ObjectHelp, 0, 0, 0,
           "Show helpful text about the different subcommands", "6.2.0"),
      Spec("object|idletime", 3, kR, ObjectIdleTime, 2, 2, 1,
           "Get the time since a Redis object was last accessed", "2.2.3"),
      Spec("object|freq", 3, kR, ObjectFreq, 2, 2, 1,
           "Get the logarithmic access frequency counter of a Redis object", "4.0.0"),
      Spec("object|encoding", 3, kR, ObjectEncoding, 2, 2, 1,
           "Inspect the internal encoding of a Redis object", "2.2.3"),
      Spec("object|refcount", 3, kR, ObjectRefCount, 2, 2, 1,
           "Get the number of references to the value of the key", "2.2.3"),
  };
  t.Register(std::move(object));
}

}  // namespace shardnode::node
