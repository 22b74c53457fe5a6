// Set commands: SADD SREM SISMEMBER SMISMEMBER SMEMBERS SCARD SPOP
// SRANDMEMBER SMOVE SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF
// SDIFFSTORE SSCAN, with Redis 7.0.15's replies and errors. The data lives in
// SetObject (keyspace/types).
#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/type_family.h"
#include "node/config/glob.h"
#include "node/keyspace/db.h"
#include "node/keyspace/types/lookup.h"
#include "node/keyspace/types/set_object.h"
#include "node/keyspace/types/type_util.h"
#include "node/resp/reply.h"
#include "node/server/node_services.h"
#include "node/server/shard.h"

namespace shardnode::node {
namespace {

// Up to this size a hashtable-encoded key answers random picks of several
// distinct members from its full list (uniform), rather than by repeated
// random picks from the table.
constexpr size_t kSmallTable = 512;

using types::Found;

Found GetSet(CommandContext& ctx, std::string_view key, bool read, SetObject** s) {
  return FindTypedOrReply(ctx, key, ValueType::kSet, read, s);
}

void ReplyMembers(CommandContext& ctx, const SetObject* s) {
  ctx.reply.SetHeader(s ? s->Size() : 0);
  if (s) s->ForEach([&](std::string_view m) { ctx.reply.Bulk(m); });
}

void SAdd(CommandContext& ctx, Args args) {
  SetObject* s = nullptr;
  Found f = GetSet(ctx, args[1], false, &s);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing)
    s = types::CreateTyped<SetObject>(ctx.DbFor(args[1]), args[1], ctx.now_ms, ValueType::kSet);
  int64_t added = 0;
  for (size_t i = 2; i < args.size(); ++i) added += s->Add(args[i]);
  if (added) {
    Wrote(ctx, args[1], added);
    ctx.Notify(kNotifySet, "sadd", args[1]);
  }
  ctx.reply.Integer(added);
}

void SRem(CommandContext& ctx, Args args) {
  SetObject* s = nullptr;
  Found f = GetSet(ctx, args[1], false, &s);
  if (f == Found::kWrongType) return;
  int64_t removed = 0;
  bool key_removed = false;
  if (f == Found::kOk) {
    for (size_t i = 2; i < args.size(); ++i) {
      if (s->Remove(args[i])) {
        ++removed;
        if (s->Size() == 0) {
          ctx.DbFor(args[1]).Delete(args[1], ctx.now_ms);
          key_removed = true;
          break;
        }
      }
    }
  }
  if (removed) {
    Wrote(ctx, args[1], removed);
    ctx.Notify(kNotifySet, "srem", args[1]);
    if (key_removed) ctx.Notify(kNotifyGeneric, "del", args[1]);
  }
  ctx.reply.Integer(removed);
}

void SIsMember(CommandContext& ctx, Args args) {
  SetObject* s = nullptr;
  Found f = GetSet(ctx, args[1], true, &s);
  if (f == Found::kWrongType) return;
  ctx.reply.Integer(f == Found::kOk && s->Contains(args[2]));
}

void SMIsMember(CommandContext& ctx, Args args) {
  SetObject* s = nullptr;
  Found f = GetSet(ctx, args[1], true, &s);
  if (f == Found::kWrongType) return;
  ctx.reply.ArrayHeader(args.size() - 2);
  for (size_t i = 2; i < args.size(); ++i)
    ctx.reply.Integer(f == Found::kOk && s->Contains(args[i]));
}

void SMembers(CommandContext& ctx, Args args) {
  SetObject* s = nullptr;
  Found f = GetSet(ctx, args[1], true, &s);
  if (f == Found::kWrongType) return;
  ReplyMembers(ctx, f == Found::kOk ? s : nullptr);
}

void SCard(CommandContext& ctx, Args args) {
  SetObject* s = nullptr;
  Found f = GetSet(ctx, args[1], true, &s);
  if (f == Found::kWrongType) return;
  ctx.reply.Integer(f == Found::kOk ? s->Size() : 0);
}

void SPopWithCount(CommandContext& ctx, Args args) {
  // Redis's getPositiveLongFromObjectOrReply: one message for both failures.
  int64_t count;
  if (!types::ParseInt64(args[2], &count) || count < 0) {
    ctx.reply.Error(errors::kNotPositive);
    return;
  }
  SetObject* s = nullptr;
  Found f = GetSet(ctx, args[1], false, &s);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing || count == 0) {
    ctx.reply.SetHeader(0);
    return;
  }
  const size_t size = s->Size();
  const std::string key = args[1];
  ctx.Notify(kNotifySet, "spop", key);
  if (static_cast<uint64_t>(count) >= size) {
    ReplyMembers(ctx, s);
    ctx.propagate_as = {"DEL", key};  // replicas pop nothing at random
    ctx.DbFor(key).Delete(key, ctx.now_ms);
    ctx.Notify(kNotifyGeneric, "del", key);
    Wrote(ctx, key, size);
    return;
  }
  const size_t n = static_cast<size_t>(count);
  const size_t remaining = size - n;
  ctx.reply.SetHeader(n);
  // Replicas remove exactly the members popped here, one SREM each, as
  // Redis propagates them.
  auto srem = [&ctx, &key](std::string m) {
    ctx.propagate_many.push_back({"SREM", key, std::move(m)});
  };
  if (remaining * 5 > n) {
    for (size_t i = 0; i < n; ++i) {
      std::string m = s->Random();
      s->Remove(m);
      ctx.reply.Bulk(m);
      srem(std::move(m));
    }
  } else {
    // Move the survivors to a fresh set (whose encoding is recomputed, as
    // Redis does) and reply with what is left in the old one.
    auto fresh = std::make_unique<SetObject>();
    for (size_t i = 0; i < remaining; ++i) {
      std::string m = s->Random();
      fresh->Add(m);
      s->Remove(m);
    }
    s->ForEach([&](std::string_view m) {
      ctx.reply.Bulk(m);
      srem(std::string(m));
    });
    ctx.DbFor(key).Set(key, Value::FromObject(ValueType::kSet, std::move(fresh)), ctx.now_ms, true);
  }
  Wrote(ctx, key, n);
}

void SPop(CommandContext& ctx, Args args) {
  if (args.size() == 3) {
    SPopWithCount(ctx, args);
    return;
  }
  if (args.size() > 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  SetObject* s = nullptr;
  Found f = GetSet(ctx, args[1], false, &s);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.NullBulk();
    return;
  }
  std::string m = s->Random();
  s->Remove(m);
  ctx.reply.Bulk(m);
  ctx.propagate_as = {"SREM", args[1], m};  // replicas remove the same member
  ctx.Notify(kNotifySet, "spop", args[1]);
  if (s->Size() == 0) {
    ctx.DbFor(args[1]).Delete(args[1], ctx.now_ms);
    ctx.Notify(kNotifyGeneric, "del", args[1]);
  }
  Wrote(ctx, args[1], 1);
}

void SRandMemberWithCount(CommandContext& ctx, Args args) {
  int64_t l;
  if (!types::ParseInt64(args[2], &l)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  if (l == std::numeric_limits<int64_t>::min()) {
    ctx.reply.Error(errors::kCountOutOfRange);
    return;
  }
  const bool uniq = l >= 0;
  const uint64_t count = uniq ? l : -l;
  SetObject* s = nullptr;
  Found f = GetSet(ctx, args[1], true, &s);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing || count == 0) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  const size_t size = s->Size();
  if (!uniq || count == 1) {
    ctx.reply.ArrayHeader(count);
    // A table's random pick (a bucket, then a node of its chain) favours
    // the members of short chains; when the reply is at least as long as
    // the set, its members are listed once and drawn uniformly instead.
    std::vector<std::string> all;
    if (count >= size && s->EncodingName() == "hashtable") all = s->Members();
    // Stops once the client is to be closed for its output limit.
    for (uint64_t i = 0; i < count && !ctx.reply.discarding(); ++i) {
      if (!all.empty()) {
        ctx.reply.Bulk(all[types::RandomBelow(all.size())]);
      } else {
        ctx.reply.Bulk(s->Random());
      }
    }
    return;
  }
  if (count >= size) {
    ctx.reply.ArrayHeader(size);
    s->ForEach([&](std::string_view m) { ctx.reply.Bulk(m); });
    return;
  }
  ctx.reply.ArrayHeader(count);
  // A small table is drawn from its full list too: its random pick (see
  // above) is not uniform, and listing a few hundred members costs little.
  if (count * 3 > size || (s->EncodingName() == "hashtable" && size <= kSmallTable)) {
    std::vector<std::string> all = s->Members();
    for (size_t i = 0; i < count; ++i) {
      std::swap(all[i], all[i + types::RandomBelow(size - i)]);
      ctx.reply.Bulk(all[i]);
    }
    return;
  }
  absl::flat_hash_set<std::string> seen;
  while (seen.size() < count) {
    std::string m = s->Random();
    if (seen.insert(m).second) ctx.reply.Bulk(m);
  }
}

void SRandMember(CommandContext& ctx, Args args) {
  if (args.size() == 3) {
    SRandMemberWithCount(ctx, args);
    return;
  }
  if (args.size() > 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  SetObject* s = nullptr;
  Found f = GetSet(ctx, args[1], true, &s);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.NullBulk();
    return;
  }
  ctx.reply.Bulk(s->Random());
}

void SMove(CommandContext& ctx, Args args) {
  SetObject* src = nullptr;
  SetObject* dst = nullptr;
  Found fs =
      types::FindTyped(ctx.DbFor(args[1]), args[1], ctx.now_ms, ValueType::kSet, false, &src);
  Found fd =
      types::FindTyped(ctx.DbFor(args[2]), args[2], ctx.now_ms, ValueType::kSet, false, &dst);
  if (fs == Found::kMissing) {
    ctx.reply.Integer(0);
    return;
  }
  if (fs == Found::kWrongType || fd == Found::kWrongType) {
    ctx.reply.Error(errors::kWrongType);
    return;
  }
  if (src == dst) {
    ctx.reply.Integer(src->Contains(args[3]));
    return;
  }
  if (!src->Remove(args[3])) {
    ctx.reply.Integer(0);
    return;
  }
  ctx.Notify(kNotifySet, "srem", args[1]);
  if (src->Size() == 0) {
    ctx.DbFor(args[1]).Delete(args[1], ctx.now_ms);
    ctx.Notify(kNotifyGeneric, "del", args[1]);
  }
  Wrote(ctx, args[1], 1);
  if (fd == Found::kMissing)
    dst = types::CreateTyped<SetObject>(ctx.DbFor(args[2]), args[2], ctx.now_ms, ValueType::kSet);
  if (dst->Add(args[3])) {
    Wrote(ctx, args[2], 1);
    ctx.Notify(kNotifySet, "sadd", args[2]);
  }
  ctx.reply.Integer(1);
}

// Looks up `keys` as sets for SINTER/SUNION/SDIFF. Missing keys are nullptr.
// Returns false (WRONGTYPE replied) when one holds another type.
bool GetSets(CommandContext& ctx, Args keys, std::vector<SetObject*>* sets) {
  for (const std::string& k : keys) {
    SetObject* s = nullptr;
    Found f = GetSet(ctx, k, true, &s);
    if (f == Found::kWrongType) return false;
    sets->push_back(f == Found::kOk ? s : nullptr);
  }
  return true;
}

// Stores `result` at `dst` (or deletes `dst` when empty) and replies the size;
// `event`: the keyspace event of a stored result.
void StoreResult(CommandContext& ctx, const std::string& dst, std::unique_ptr<SetObject> result,
                 std::string_view event) {
  const size_t n = result->Size();
  if (n > 0) {
    ctx.DbFor(dst).Set(dst, Value::FromObject(ValueType::kSet, std::move(result)), ctx.now_ms);
    Wrote(ctx, dst, 1);
    ctx.Notify(kNotifySet, event, dst);
  } else if (ctx.DbFor(dst).Delete(dst, ctx.now_ms)) {
    Wrote(ctx, dst, 1);
    ctx.Notify(kNotifyGeneric, "del", dst);
  }
  ctx.reply.Integer(n);
}

// SINTER / SINTERSTORE / SINTERCARD. `dst` null unless storing.
void InterGeneric(CommandContext& ctx, Args keys, const std::string* dst, bool card_only,
                  uint64_t limit) {
  std::vector<SetObject*> sets;
  if (!GetSets(ctx, keys, &sets)) return;
  if (std::find(sets.begin(), sets.end(), nullptr) != sets.end()) {
    if (dst) {
      if (ctx.DbFor(*dst).Delete(*dst, ctx.now_ms)) {
        Wrote(ctx, *dst, 1);
        ctx.Notify(kNotifyGeneric, "del", *dst);
      }
      ctx.reply.Integer(0);
    } else if (card_only) {
      ctx.reply.Integer(0);
    } else {
      ctx.reply.SetHeader(0);
    }
    return;
  }
  std::stable_sort(sets.begin(), sets.end(),
                   [](SetObject* a, SetObject* b) { return a->Size() < b->Size(); });
  auto result = std::make_unique<SetObject>();
  std::vector<std::string> found;
  uint64_t card = 0;
  bool stop = false;
  sets[0]->ForEach([&](std::string_view m) {
    if (stop) return;
    for (size_t j = 1; j < sets.size(); ++j) {
      if (sets[j] != sets[0] && !sets[j]->Contains(m)) return;
    }
    ++card;
    if (card_only) {
      if (limit && card >= limit) stop = true;
    } else if (dst) {
      result->Add(m);
    } else {
      found.emplace_back(m);
    }
  });
  if (card_only) {
    ctx.reply.Integer(card);
  } else if (dst) {
    StoreResult(ctx, *dst, std::move(result), "sinterstore");
  } else {
    ctx.reply.SetHeader(found.size());
    for (const std::string& m : found) ctx.reply.Bulk(m);
  }
}

enum class SetOp { kUnion, kDiff };

void UnionDiffGeneric(CommandContext& ctx, Args keys, const std::string* dst, SetOp op) {
  std::vector<SetObject*> sets;
  if (!GetSets(ctx, keys, &sets)) return;
  bool sameset = false;
  for (size_t j = 1; j < sets.size(); ++j) {
    if (sets[j] && sets[j] == sets[0]) sameset = true;
  }
  auto result = std::make_unique<SetObject>();
  if (op == SetOp::kUnion) {
    for (SetObject* s : sets) {
      if (s) s->ForEach([&](std::string_view m) { result->Add(m); });
    }
  } else if (sets[0] && !sameset) {
    // Redis picks one of two algorithms by estimated work; the choice shows in
    // the result's encoding, so it is mirrored here.
    uint64_t one = 0, two = 0;
    for (SetObject* s : sets) {
      if (!s) continue;
      one += sets[0]->Size();
      two += s->Size();
    }
    one /= 2;
    if (one <= two) {
      sets[0]->ForEach([&](std::string_view m) {
        for (size_t j = 1; j < sets.size(); ++j) {
          if (sets[j] && sets[j]->Contains(m)) return;
        }
        result->Add(m);
      });
    } else {
      for (size_t j = 0; j < sets.size(); ++j) {
        if (!sets[j]) continue;
        sets[j]->ForEach([&](std::string_view m) {
          if (j == 0) {
            result->Add(m);
          } else {
            result->Remove(m);
          }
        });
        if (result->Size() == 0) break;
      }
    }
  }
  if (dst) {
    StoreResult(ctx, *dst, std::move(result), op == SetOp::kUnion ? "sunionstore" : "sdiffstore");
  } else {
    ReplyMembers(ctx, result.get());
  }
}

void SInter(CommandContext& ctx, Args args) {
  InterGeneric(ctx, args.subspan(1), nullptr, false, 0);
}
void SInterStore(CommandContext& ctx, Args args) {
  const std::string dst = args[1];
  InterGeneric(ctx, args.subspan(2), &dst, false, 0);
}
void SUnion(CommandContext& ctx, Args args) {
  UnionDiffGeneric(ctx, args.subspan(1), nullptr, SetOp::kUnion);
}
void SUnionStore(CommandContext& ctx, Args args) {
  const std::string dst = args[1];
  UnionDiffGeneric(ctx, args.subspan(2), &dst, SetOp::kUnion);
}
void SDiff(CommandContext& ctx, Args args) {
  UnionDiffGeneric(ctx, args.subspan(1), nullptr, SetOp::kDiff);
}
void SDiffStore(CommandContext& ctx, Args args) {
  const std::string dst = args[1];
  UnionDiffGeneric(ctx, args.subspan(2), &dst, SetOp::kDiff);
}

void SInterCard(CommandContext& ctx, Args args) {
  int64_t numkeys;
  if (!types::ParseInt64(args[1], &numkeys) || numkeys < 1) {
    ctx.reply.Error(errors::kNumKeysNotPositive);
    return;
  }
  if (numkeys > static_cast<int64_t>(args.size()) - 2) {
    ctx.reply.Error(errors::kNumKeysOverArgs);
    return;
  }
  int64_t limit = 0;
  for (size_t j = 2 + numkeys; j < args.size(); ++j) {
    const bool more = j + 1 < args.size();
    if (absl::EqualsIgnoreCase(args[j], "limit") && more) {
      ++j;
      if (!types::ParseInt64(args[j], &limit) || limit < 0) {
        ctx.reply.Error(errors::kLimitNegative);
        return;
      }
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  InterGeneric(ctx, args.subspan(2, numkeys), nullptr, true, limit);
}

void SScan(CommandContext& ctx, Args args) {
  uint64_t cursor;
  if (!types::ParseScanCursor(args[2], &cursor)) {
    ctx.reply.Error(errors::kInvalidCursor);
    return;
  }
  SetObject* s = nullptr;
  Found f = GetSet(ctx, args[1], true, &s);
  if (f == Found::kWrongType) return;
  std::vector<std::string> out;
  if (f == Found::kOk) {
    types::ScanOptions opts;
    if (!ParseScanOptionsOrReply(ctx, args, 3, &opts)) return;
    cursor = s->Scan(cursor, opts.count, [&](std::string_view m) {
      if (!opts.use_pattern || GlobMatch(opts.pattern, m)) out.emplace_back(m);
    });
  } else {
    cursor = 0;
  }
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(cursor));
  ctx.reply.ArrayHeader(out.size());
  for (const std::string& m : out) ctx.reply.Bulk(m);
}

// SINTERCARD numkeys key [key ...] [LIMIT n]: keys are args[2..2+numkeys).
std::vector<int> NumKeysAt1(std::span<const std::string> args) { return NumKeysIndexes(args, 1); }

CommandSpec Spec(std::string name, int arity, uint32_t flags, Handler h, int first, int last,
                 std::string_view since) {
  return KeyedCommand(std::move(name), arity, flags, h, first, last, "set", since);
}

}  // namespace

void RegisterSetFamily(CommandTable& t) {
  constexpr uint32_t kW = kCmdWrite | kCmdDenyOom;
  constexpr uint32_t kR = kCmdReadonly;
  t.Register(Spec("sadd", -3, kW | kCmdFast, SAdd, 1, 1, "1.0.0"));
  t.Register(Spec("srem", -3, kCmdWrite | kCmdFast, SRem, 1, 1, "1.0.0"));
  t.Register(Spec("sismember", 3, kR | kCmdFast, SIsMember, 1, 1, "1.0.0"));
  t.Register(Spec("smismember", -3, kR | kCmdFast, SMIsMember, 1, 1, "6.2.0"));
  t.Register(Spec("smembers", 2, kR, SMembers, 1, 1, "1.0.0"));
  t.Register(Spec("scard", 2, kR | kCmdFast, SCard, 1, 1, "1.0.0"));
  t.Register(Spec("spop", -2, kCmdWrite | kCmdFast, SPop, 1, 1, "1.0.0"));
  t.Register(Spec("srandmember", -2, kR, SRandMember, 1, 1, "1.0.0"));
  t.Register(Spec("smove", 4, kCmdWrite | kCmdFast, SMove, 1, 2, "1.0.0"));
  t.Register(Spec("sinter", -2, kR, SInter, 1, -1, "1.0.0"));
  t.Register(Spec("sinterstore", -3, kW, SInterStore, 1, -1, "1.0.0"));
  t.Register(Spec("sunion", -2, kR, SUnion, 1, -1, "1.0.0"));
  t.Register(Spec("sunionstore", -3, kW, SUnionStore, 1, -1, "1.0.0"));
  t.Register(Spec("sdiff", -2, kR, SDiff, 1, -1, "1.0.0"));
  t.Register(Spec("sdiffstore", -3, kW, SDiffStore, 1, -1, "1.0.0"));
  CommandSpec card = Spec("sintercard", -3, kR, SInterCard, 0, 0, "7.0.0");
  card.keys = NumKeysAt1;
  t.Register(std::move(card));
  t.Register(Spec("sscan", -3, kR, SScan, 1, 1, "2.6.0"));
}

}  // namespace shardnode::node
