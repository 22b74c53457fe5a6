// Sorted-set commands: ZADD ZINCRBY ZSCORE ZMSCORE ZCARD ZCOUNT ZLEXCOUNT
// ZRANGE ZRANGESTORE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX
// ZREVRANGEBYLEX ZREVRANGE ZRANK ZREVRANK ZREM ZREMRANGEBYRANK
// ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP ZUNION ZINTER ZDIFF
// ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZINTERCARD ZRANDMEMBER ZSCAN and the
// blocking BZPOPMIN BZPOPMAX BZMPOP, with Redis 7.0.15's replies and errors.
// The data lives in ZSetObject (keyspace/types); blocked clients in
// BlockingTable (server/blocking.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/commands/blocked_serve.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/type_family.h"
#include "node/config/glob.h"
#include "node/keyspace/db.h"
#include "node/keyspace/types/lookup.h"
#include "node/keyspace/types/set_object.h"
#include "node/keyspace/types/type_util.h"
#include "node/keyspace/types/zset_object.h"
#include "node/resp/reply.h"
#include "node/server/blocking.h"
#include "node/server/node_services.h"
#include "node/server/session.h"
#include "node/server/shard.h"

namespace shardnode::node {
namespace {

using types::Found;

Found GetZSet(CommandContext& ctx, std::string_view key, bool read, ZSetObject** z) {
  return FindTypedOrReply(ctx, key, ValueType::kZSet, read, z);
}

// --- Ranges ---

struct ScoreRange {
  double min = 0, max = 0;
  bool minex = false, maxex = false;
};

// One end of a score range: "(" for exclusive, then what strtod accepts up
// to the end of the text (or an inner NUL, as in Redis).
bool ParseScoreBound(const std::string& s, double* v, bool* ex) {
  const char* p = s.c_str();
  *ex = false;
  if (p[0] == '(') {
    *ex = true;
    ++p;
  }
  char* end = nullptr;
  *v = std::strtod(p, &end);
  return end[0] == '\0' && !std::isnan(*v);
}

bool ParseScoreRange(const std::string& min, const std::string& max, ScoreRange* r) {
  return ParseScoreBound(min, &r->min, &r->minex) && ParseScoreBound(max, &r->max, &r->maxex);
}

struct LexBound {
  enum Kind { kMinusInf, kPlusInf, kString } kind = kString;
  std::string s;
  bool ex = false;
};

bool ParseLexBound(const std::string& s, LexBound* b) {
  if (s.empty()) return false;
  switch (s[0]) {
    case '+':
    case '-':
      if (s.size() != 1) return false;
      b->kind = s[0] == '+' ? LexBound::kPlusInf : LexBound::kMinusInf;
      b->ex = true;
      return true;
    case '(':
    case '[':
      b->kind = LexBound::kString;
      b->s = s.substr(1);
      b->ex = s[0] == '(';
      return true;
    default:
      return false;
  }
}

// Compares a member with a bound (-1, 0, 1), the infinities beyond everything.
int CompareLex(std::string_view m, const LexBound& b) {
  if (b.kind == LexBound::kMinusInf) return 1;
  if (b.kind == LexBound::kPlusInf) return -1;
  const int c = m.compare(b.s);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// Ranks [lo, hi) of the items inside a score range.
std::pair<size_t, size_t> ScoreRanks(const ZSetObject& z, const ScoreRange& r) {
  if (r.min > r.max || (r.min == r.max && (r.minex || r.maxex))) return {0, 0};
  const size_t lo = z.CountBelow(r.min, r.minex);
  const size_t hi = z.CountBelow(r.max, !r.maxex);
  return lo < hi ? std::make_pair(lo, hi) : std::make_pair<size_t, size_t>(0, 0);
}

int CompareBounds(const LexBound& a, const LexBound& b) {
  if (a.kind == b.kind && a.kind != LexBound::kString) return 0;
  if (a.kind == LexBound::kMinusInf || b.kind == LexBound::kPlusInf) return -1;
  if (a.kind == LexBound::kPlusInf || b.kind == LexBound::kMinusInf) return 1;
  const int c = a.s.compare(b.s);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

std::pair<size_t, size_t> LexRanks(const ZSetObject& z, const LexBound& min, const LexBound& max) {
  const int c = CompareBounds(min, max);
  if (c > 0 || (c == 0 && (min.ex || max.ex))) return {0, 0};
  const size_t lo = z.FirstRank([&](const ZSetObject::Item& it) {
    const int cmp = CompareLex(it.second, min);
    return min.ex ? cmp > 0 : cmp >= 0;
  });
  const size_t hi = z.FirstRank([&](const ZSetObject::Item& it) {
    const int cmp = CompareLex(it.second, max);
    return max.ex ? cmp >= 0 : cmp > 0;
  });
  return lo < hi ? std::make_pair(lo, hi) : std::make_pair<size_t, size_t>(0, 0);
}

// Clamps Redis-style rank indexes (negative from the end) to [lo, hi] ranks;
// false when the range is empty.
bool ClampRanks(int64_t start, int64_t end, size_t len, size_t* lo, size_t* hi) {
  const int64_t llen = static_cast<int64_t>(len);
  if (start < 0) start += llen;
  if (end < 0) end += llen;
  if (start < 0) start = 0;
  if (start > end || start >= llen) return false;
  if (end >= llen) end = llen - 1;
  *lo = start;
  *hi = end;
  return true;
}

// --- Replies ---

struct Scored {
  std::string member;
  double score;
};

void ReplyScored(CommandContext& ctx, const std::vector<Scored>& items, bool withscores) {
  const bool resp3 = ctx.reply.protocol() > 2;
  ctx.reply.ArrayHeader(withscores && !resp3 ? items.size() * 2 : items.size());
  for (const Scored& it : items) {
    if (withscores && resp3) ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(it.member);
    if (withscores) ctx.reply.Double(it.score);
  }
}

// Builds a sorted set from `items` with Redis's incremental encoding rules.
// `skiplist` starts it in that encoding (ZRANGESTORE of a rank range longer
// than the listpack limit, as Redis sizes its destination up front).
std::unique_ptr<ZSetObject> BuildZSet(const std::vector<Scored>& items, bool skiplist) {
  auto z = std::make_unique<ZSetObject>();
  if (skiplist) z->set_listpack(false);
  for (const Scored& it : items) {
    if (const auto s = z->Score(it.member)) {
      if (*s != it.score) z->Update(it.member, it.score);
    } else {
      z->Insert(it.member, it.score);
    }
  }
  return z;
}

// Stores a result at `dst` (deleting `dst` when empty) and replies its size;
// `event`: the keyspace event of a stored result.
void StoreZSet(CommandContext& ctx, const std::string& dst, std::unique_ptr<ZSetObject> z,
               std::string_view event) {
  const size_t n = z->Size();
  if (n > 0) {
    ctx.DbFor(dst).Set(dst, Value::FromObject(ValueType::kZSet, std::move(z)), ctx.now_ms);
    Wrote(ctx, dst, 1);
    ctx.Notify(kNotifyZset, event, dst);
  } else if (ctx.DbFor(dst).Delete(dst, ctx.now_ms)) {
    Wrote(ctx, dst, 1);
    ctx.Notify(kNotifyGeneric, "del", dst);
  }
  ctx.reply.Integer(n);
}

// --- ZADD / ZINCRBY ---

void ZAddGeneric(CommandContext& ctx, Args args, bool incr) {
  bool nx = false, xx = false, gt = false, lt = false, ch = false;
  size_t idx = 2;
  for (; idx < args.size(); ++idx) {
    const std::string& o = args[idx];
    if (absl::EqualsIgnoreCase(o, "nx")) {
      nx = true;
    } else if (absl::EqualsIgnoreCase(o, "xx")) {
      xx = true;
    } else if (absl::EqualsIgnoreCase(o, "ch")) {
      ch = true;
    } else if (absl::EqualsIgnoreCase(o, "incr")) {
      incr = true;
    } else if (absl::EqualsIgnoreCase(o, "gt")) {
      gt = true;
    } else if (absl::EqualsIgnoreCase(o, "lt")) {
      lt = true;
    } else {
      break;
    }
  }
  const size_t rest = args.size() - idx;
  if (rest == 0 || rest % 2 != 0) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const size_t elements = rest / 2;
  if (nx && xx) {
    ctx.reply.Error(errors::kZAddXxAndNx);
    return;
  }
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    ctx.reply.Error(errors::kZAddGtLtNx);
    return;
  }
  if (incr && elements > 1) {
    ctx.reply.Error(errors::kZAddIncrPairs);
    return;
  }
  // A few pairs (the usual ZADD) need no allocation.
  absl::InlinedVector<double, 8> scores(elements);
  for (size_t j = 0; j < elements; ++j) {
    if (!types::ParseDouble(args[idx + j * 2], &scores[j])) {
      ctx.reply.Error(errors::kNotFloat);
      return;
    }
  }
  const std::string& key = args[1];
  ZSetObject* z = nullptr;
  Found f = GetZSet(ctx, key, false, &z);
  if (f == Found::kWrongType) return;
  int64_t added = 0, updated = 0, processed = 0;
  double score = 0;
  bool nan_error = false;
  if (f == Found::kMissing && !xx) {
    z = types::CreateTyped<ZSetObject>(ctx.DbFor(key), key, ctx.now_ms, ValueType::kZSet);
  }
  if (z != nullptr) {
    for (size_t j = 0; j < elements; ++j) {
      const std::string& m = args[idx + 1 + j * 2];
      double s = scores[j];
      if (const auto cur = z->Score(m)) {
        if (nx) continue;
        if (incr) {
          s += *cur;
          if (std::isnan(s)) {
            nan_error = true;
            break;
          }
        }
        if ((lt && s >= *cur) || (gt && s <= *cur)) continue;
        score = s;
        ++processed;
        if (s != *cur) {
          z->Update(m, s);
          ++updated;
        }
      } else if (!xx) {
        z->Insert(m, s);
        score = s;
        ++added;
        ++processed;
      }
    }
    if (z->Size() == 0) ctx.DbFor(key).Delete(key, ctx.now_ms);
  }
  if (added || updated) {
    Wrote(ctx, key, nan_error ? 0 : added + updated);
    ctx.Notify(kNotifyZset, incr ? "zincr" : "zadd", key);
  }
  if (nan_error) {
    ctx.reply.Error(errors::kScoreNaN);
  } else if (incr) {
    if (processed) {
      ctx.reply.Double(score);
    } else {
      ctx.reply.NullBulk();
    }
  } else {
    ctx.reply.Integer(ch ? added + updated : added);
  }
}

void ZAdd(CommandContext& ctx, Args args) { ZAddGeneric(ctx, args, false); }
void ZIncrBy(CommandContext& ctx, Args args) { ZAddGeneric(ctx, args, true); }

// --- Simple reads ---

void ZScore(CommandContext& ctx, Args args) {
  ZSetObject* z = nullptr;
  Found f = GetZSet(ctx, args[1], true, &z);
  if (f == Found::kWrongType) return;
  const auto s = f == Found::kOk ? z->Score(args[2]) : std::nullopt;
  if (s) {
    ctx.reply.Double(*s);
  } else {
    ctx.reply.NullBulk();
  }
}

void ZMScore(CommandContext& ctx, Args args) {
  ZSetObject* z = nullptr;
  Found f = GetZSet(ctx, args[1], true, &z);
  if (f == Found::kWrongType) return;
  ctx.reply.ArrayHeader(args.size() - 2);
  for (size_t i = 2; i < args.size(); ++i) {
    const auto s = f == Found::kOk ? z->Score(args[i]) : std::nullopt;
    if (s) {
      ctx.reply.Double(*s);
    } else {
      ctx.reply.NullBulk();
    }
  }
}

void ZCard(CommandContext& ctx, Args args) {
  ZSetObject* z = nullptr;
  Found f = GetZSet(ctx, args[1], true, &z);
  if (f == Found::kWrongType) return;
  ctx.reply.Integer(f == Found::kOk ? z->Size() : 0);
}

// ZCOUNT / ZLEXCOUNT / ZREMRANGEBYSCORE / ZREMRANGEBYLEX: the sorted set at
// args[1] and the ranks [*lo, *hi) of its members between args[2] and
// args[3] (scores, or lex bounds when `lex`). Returns nullptr after replying
// the range's error, WRONGTYPE, or 0 for a missing key.
ZSetObject* MembersInRange(CommandContext& ctx, Args args, bool lex, bool read, size_t* lo,
                           size_t* hi) {
  ScoreRange r;
  LexBound min, max;
  if (!lex && !ParseScoreRange(args[2], args[3], &r)) {
    ctx.reply.Error(errors::kNotFloatRange);
    return nullptr;
  }
  if (lex && (!ParseLexBound(args[2], &min) || !ParseLexBound(args[3], &max))) {
    ctx.reply.Error(errors::kNotLexRange);
    return nullptr;
  }
  ZSetObject* z = nullptr;
  Found f = GetZSet(ctx, args[1], read, &z);
  if (f == Found::kWrongType) return nullptr;
  if (f == Found::kMissing) {
    ctx.reply.Integer(0);
    return nullptr;
  }
  std::tie(*lo, *hi) = lex ? LexRanks(*z, min, max) : ScoreRanks(*z, r);
  return z;
}

void ZCount(CommandContext& ctx, Args args) {
  size_t lo, hi;
  if (MembersInRange(ctx, args, false, true, &lo, &hi)) ctx.reply.Integer(hi - lo);
}

void ZLexCount(CommandContext& ctx, Args args) {
  size_t lo, hi;
  if (MembersInRange(ctx, args, true, true, &lo, &hi)) ctx.reply.Integer(hi - lo);
}

void RankGeneric(CommandContext& ctx, Args args, bool reverse) {
  ZSetObject* z = nullptr;
  Found f = GetZSet(ctx, args[1], true, &z);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing || !z->Score(args[2])) {
    ctx.reply.NullBulk();
    return;
  }
  const size_t r = z->Rank(args[2]);
  ctx.reply.Integer(reverse ? z->Size() - 1 - r : r);
}
void ZRank(CommandContext& ctx, Args args) { RankGeneric(ctx, args, false); }
void ZRevRank(CommandContext& ctx, Args args) { RankGeneric(ctx, args, true); }

// --- ZRANGE and its older forms ---

enum class RangeType { kAuto, kRank, kScore, kLex };

// `first` is the index of the key (ZRANGE: 1; ZRANGESTORE: 2, dst at 1).
void ZRangeGeneric(CommandContext& ctx, Args args, size_t first, const std::string* dst,
                   RangeType type, int direction /* 0 auto, 1 fwd, -1 rev */) {
  const bool store = dst != nullptr;
  size_t minidx = first + 1, maxidx = first + 2;
  bool withscores = false;
  int64_t offset = 0, limit = -1;
  for (size_t j = first + 3; j < args.size(); ++j) {
    const size_t left = args.size() - j - 1;
    const std::string& o = args[j];
    if (!store && absl::EqualsIgnoreCase(o, "withscores")) {
      withscores = true;
    } else if (absl::EqualsIgnoreCase(o, "limit") && left >= 2) {
      if (!ParseLong(args[j + 1], &offset, ctx) || !ParseLong(args[j + 2], &limit, ctx)) return;
      j += 2;
    } else if (direction == 0 && absl::EqualsIgnoreCase(o, "rev")) {
      direction = -1;
    } else if (type == RangeType::kAuto && absl::EqualsIgnoreCase(o, "bylex")) {
      type = RangeType::kLex;
    } else if (type == RangeType::kAuto && absl::EqualsIgnoreCase(o, "byscore")) {
      type = RangeType::kScore;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  const bool reverse = direction == -1;
  if (type == RangeType::kAuto) type = RangeType::kRank;
  if (limit != -1 && type == RangeType::kRank) {
    ctx.reply.Error(errors::kLimitNeedsScoreOrLex);
    return;
  }
  if (withscores && type == RangeType::kLex) {
    ctx.reply.Error(errors::kWithScoresByLex);
    return;
  }
  if (reverse && type != RangeType::kRank) std::swap(minidx, maxidx);
  int64_t start = 0, end = 0;
  ScoreRange sr;
  LexBound lmin, lmax;
  switch (type) {
    case RangeType::kAuto:
    case RangeType::kRank:
      if (!ParseLong(args[minidx], &start, ctx) || !ParseLong(args[maxidx], &end, ctx)) return;
      break;
    case RangeType::kScore:
      if (!ParseScoreRange(args[minidx], args[maxidx], &sr)) {
        ctx.reply.Error(errors::kNotFloatRange);
        return;
      }
      break;
    case RangeType::kLex:
      if (!ParseLexBound(args[minidx], &lmin) || !ParseLexBound(args[maxidx], &lmax)) {
        ctx.reply.Error(errors::kNotLexRange);
        return;
      }
      break;
  }
  ZSetObject* z = nullptr;
  Found f =
      types::FindTyped(ctx.DbFor(args[first]), args[first], ctx.now_ms, ValueType::kZSet, true, &z);
  if (f == Found::kWrongType) {
    ctx.reply.Error(errors::kWrongType);
    return;
  }
  std::vector<Scored> out;
  if (f == Found::kOk) {
    auto collect = [&](std::string_view m, double s) { out.push_back({std::string(m), s}); };
    if (type == RangeType::kRank) {
      size_t lo, hi;
      if (ClampRanks(start, end, z->Size(), &lo, &hi)) {
        if (reverse) {
          const size_t n = z->Size();
          z->Range(n - 1 - hi, n - 1 - lo, true, collect);
        } else {
          z->Range(lo, hi, false, collect);
        }
      }
    } else {
      auto [lo, hi] = type == RangeType::kScore ? ScoreRanks(*z, sr) : LexRanks(*z, lmin, lmax);
      const size_t count = hi - lo;
      if (count > 0 && offset >= 0 && static_cast<uint64_t>(offset) < count) {
        size_t take = count - offset;
        if (limit >= 0 && static_cast<uint64_t>(limit) < take) take = limit;
        if (take > 0) {
          if (reverse) {
            z->Range(hi - offset - take, hi - 1 - offset, true, collect);
          } else {
            z->Range(lo + offset, lo + offset + take - 1, false, collect);
          }
        }
      }
    }
  }
  if (store) {
    const bool big_rank_range =
        type == RangeType::kRank && out.size() > ZSetObject::max_listpack_entries();
    StoreZSet(ctx, *dst, BuildZSet(out, big_rank_range), "zrangestore");
  } else {
    ReplyScored(ctx, out, withscores);
  }
}

void ZRange(CommandContext& ctx, Args args) {
  ZRangeGeneric(ctx, args, 1, nullptr, RangeType::kAuto, 0);
}
void ZRangeStore(CommandContext& ctx, Args args) {
  const std::string dst = args[1];
  ZRangeGeneric(ctx, args, 2, &dst, RangeType::kAuto, 0);
}
void ZRangeByScore(CommandContext& ctx, Args args) {
  ZRangeGeneric(ctx, args, 1, nullptr, RangeType::kScore, 1);
}
void ZRevRangeByScore(CommandContext& ctx, Args args) {
  ZRangeGeneric(ctx, args, 1, nullptr, RangeType::kScore, -1);
}
void ZRangeByLex(CommandContext& ctx, Args args) {
  ZRangeGeneric(ctx, args, 1, nullptr, RangeType::kLex, 1);
}
void ZRevRangeByLex(CommandContext& ctx, Args args) {
  ZRangeGeneric(ctx, args, 1, nullptr, RangeType::kLex, -1);
}
void ZRevRange(CommandContext& ctx, Args args) {
  ZRangeGeneric(ctx, args, 1, nullptr, RangeType::kRank, -1);
}

// --- Removal ---

void ZRem(CommandContext& ctx, Args args) {
  ZSetObject* z = nullptr;
  Found f = GetZSet(ctx, args[1], false, &z);
  if (f == Found::kWrongType) return;
  int64_t deleted = 0;
  bool removed = false;
  if (f == Found::kOk) {
    for (size_t i = 2; i < args.size(); ++i) {
      if (z->Remove(args[i])) {
        ++deleted;
        if (z->Size() == 0) {
          ctx.DbFor(args[1]).Delete(args[1], ctx.now_ms);
          removed = true;
          break;
        }
      }
    }
  }
  if (deleted) {
    Wrote(ctx, args[1], deleted);
    ctx.Notify(kNotifyZset, "zrem", args[1]);
    if (removed) ctx.Notify(kNotifyGeneric, "del", args[1]);
  }
  ctx.reply.Integer(deleted);
}

void RemoveRanks(CommandContext& ctx, const std::string& key, ZSetObject* z, size_t lo,
                 size_t hi /* exclusive */, std::string_view event) {
  std::vector<std::string> victims;
  if (lo < hi) {
    z->Range(lo, hi - 1, false, [&](std::string_view m, double) { victims.emplace_back(m); });
  }
  for (const std::string& m : victims) z->Remove(m);
  const bool removed = z->Size() == 0;
  if (removed) ctx.DbFor(key).Delete(key, ctx.now_ms);
  if (!victims.empty()) {
    Wrote(ctx, key, victims.size());
    ctx.Notify(kNotifyZset, event, key);
    if (removed) ctx.Notify(kNotifyGeneric, "del", key);
  }
  ctx.reply.Integer(victims.size());
}

void ZRemRangeByRank(CommandContext& ctx, Args args) {
  int64_t start, end;
  if (!ParseLong(args[2], &start, ctx) || !ParseLong(args[3], &end, ctx)) return;
  ZSetObject* z = nullptr;
  Found f = GetZSet(ctx, args[1], false, &z);
  if (f == Found::kWrongType) return;
  size_t lo, hi;
  if (f == Found::kMissing || !ClampRanks(start, end, z->Size(), &lo, &hi)) {
    ctx.reply.Integer(0);
    return;
  }
  RemoveRanks(ctx, args[1], z, lo, hi + 1, "zremrangebyrank");
}

void ZRemRangeByScore(CommandContext& ctx, Args args) {
  size_t lo, hi;
  if (ZSetObject* z = MembersInRange(ctx, args, false, false, &lo, &hi)) {
    RemoveRanks(ctx, args[1], z, lo, hi, "zremrangebyscore");
  }
}

void ZRemRangeByLex(CommandContext& ctx, Args args) {
  size_t lo, hi;
  if (ZSetObject* z = MembersInRange(ctx, args, true, false, &lo, &hi)) {
    RemoveRanks(ctx, args[1], z, lo, hi, "zremrangebylex");
  }
}

// --- Pops ---

// After `n` members were popped from `z` at `key`: the pop's event (when it
// popped any), then the key's removal with "del" when it is empty.
void NotifyPopped(CommandContext& ctx, const std::string& key, ZSetObject* z, bool max, size_t n) {
  if (n > 0) ctx.Notify(kNotifyZset, max ? "zpopmax" : "zpopmin", key);
  if (z->Size() != 0) return;
  ctx.DbFor(key).Delete(key, ctx.now_ms);
  ctx.Notify(kNotifyGeneric, "del", key);
}

// Pops from the first non-empty key of `keys`. count -1: a single element.
// emit_key: ZMPOP's [key, [[m, s]...]] shape (null array when nothing).
void PopGeneric(CommandContext& ctx, Args keys, bool max, int64_t count, bool nested,
                bool emit_key) {
  ZSetObject* z = nullptr;
  const std::string* key = nullptr;
  for (const std::string& k : keys) {
    Found f = GetZSet(ctx, k, false, &z);
    if (f == Found::kWrongType) return;
    if (f == Found::kOk) {
      key = &k;
      break;
    }
  }
  if (key == nullptr) {
    if (emit_key) {
      ctx.reply.NullArray();
    } else {
      ctx.reply.ArrayHeader(0);
    }
    return;
  }
  if (count == 0) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  if (count == -1) count = 1;
  const size_t n = std::min<uint64_t>(count, z->Size());
  if (emit_key) {
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(*key);
    ctx.reply.ArrayHeader(n);
  } else {
    ctx.reply.ArrayHeader(nested ? n : n * 2);
  }
  for (size_t i = 0; i < n; ++i) {
    auto [score, view] = z->At(max ? z->Size() - 1 : 0);
    const std::string member(view);
    z->Remove(member);
    if (nested || emit_key) ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(member);
    ctx.reply.Double(score);
  }
  const std::string k = *key;
  NotifyPopped(ctx, k, z, max, n);
  Wrote(ctx, k, n);
  // ZMPOP is replicated as ZPOPMIN/ZPOPMAX key n, as Redis does.
  if (emit_key) ctx.propagate_as = {max ? "ZPOPMAX" : "ZPOPMIN", k, std::to_string(n)};
}

void PopMinMax(CommandContext& ctx, Args args, bool max) {
  if (args.size() > 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  int64_t count = -1;
  if (args.size() == 3) {
    // Redis's getPositiveLongFromObjectOrReply: one message for both failures.
    if (!types::ParseInt64(args[2], &count) || count < 0) {
      ctx.reply.Error(errors::kNotPositive);
      return;
    }
  }
  const bool nested = ctx.reply.protocol() > 2 && count != -1;
  PopGeneric(ctx, args.subspan(1, 1), max, count, nested, false);
}
void ZPopMin(CommandContext& ctx, Args args) { PopMinMax(ctx, args, false); }
void ZPopMax(CommandContext& ctx, Args args) { PopMinMax(ctx, args, true); }

void ZMPop(CommandContext& ctx, Args args) {
  MPopArgs m;
  if (!ParseMPopArgs(ctx, args, 1, "min", "max", &m)) return;
  PopGeneric(ctx, m.keys, m.second, m.count, true, true);
}

// --- Blocking pops ---

// Pops from the non-empty sorted set at `key` and replies in the blocking
// forms' shapes: count -1 is BZPOPMIN's flat [key, member, score]; otherwise
// BZMPOP's [key, [[member, score]...]]. Propagated as ZPOPMIN/ZPOPMAX key
// [n].
void PopWithKey(CommandContext& ctx, const std::string& key, ZSetObject* z, bool max,
                int64_t count) {
  const std::string k = key;
  const size_t n = std::min<uint64_t>(count == -1 ? 1 : count, z->Size());
  if (count == -1) {
    ctx.reply.ArrayHeader(3);
    ctx.reply.Bulk(k);
  } else {
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(k);
    ctx.reply.ArrayHeader(n);
  }
  for (size_t i = 0; i < n; ++i) {
    auto [score, view] = z->At(max ? z->Size() - 1 : 0);
    const std::string member(view);
    z->Remove(member);
    if (count != -1) ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(member);
    ctx.reply.Double(score);
  }
  NotifyPopped(ctx, k, z, max, n);
  Wrote(ctx, k, n);
  ctx.propagate_as = {max ? "ZPOPMAX" : "ZPOPMIN", k};
  if (count != -1) ctx.propagate_as.push_back(std::to_string(n));
}

// BZPOPMIN/BZPOPMAX (count -1) and BZMPOP.
void BlockingZPop(CommandContext& ctx, Args args, Args keys, bool max, int64_t count,
                  const std::string& timeout, ServeFn serve) {
  int64_t deadline;
  if (!ParseBlockTimeoutOrReply(ctx, timeout, &deadline)) return;
  for (const std::string& key : keys) {
    ZSetObject* z = nullptr;
    Found f = GetZSet(ctx, key, false, &z);
    if (f == Found::kWrongType) return;
    if (f == Found::kMissing || z->Size() == 0) continue;
    PopWithKey(ctx, key, z, max, count);
    return;
  }
  if (ctx.session.deny_blocking) {
    ctx.reply.NullArray();
    return;
  }
  BlockedClient c;
  c.session = &ctx.session;
  c.db = ctx.db_index();
  for (const std::string& k : keys) {
    if (std::find(c.keys.begin(), c.keys.end(), k) == c.keys.end()) c.keys.push_back(k);
  }
  c.type = BlockType::kZSet;
  c.deadline_ms = deadline;
  c.args.assign(args.begin(), args.end());
  c.spec = &ctx.spec;
  c.is_write = ctx.spec.is_write();
  c.failed_calls = &StatsOf(ctx.shard, ctx.spec).failed_calls;
  c.serve = serve;
  c.reply_unblocked = ReplyUnblockedPop;
  ctx.shard.blocking().Block(std::move(c));
}

void ServeZPop(CommandContext& ctx, const std::string& key, bool max, int64_t count) {
  ZSetObject* z = nullptr;
  if (GetZSet(ctx, key, false, &z) != Found::kOk) return;
  PopWithKey(ctx, key, z, max, count);
}
void ServeBZPopMin(CommandContext& ctx, Args, const std::string& key) {
  ServeZPop(ctx, key, false, -1);
}
void ServeBZPopMax(CommandContext& ctx, Args, const std::string& key) {
  ServeZPop(ctx, key, true, -1);
}
void ServeBZMPop(CommandContext& ctx, Args args, const std::string& key) {
  MPopArgs m;
  if (!ParseMPopArgs(ctx, args, 2, "min", "max", &m)) return;
  ServeZPop(ctx, key, m.second, m.count);
}

void BZPopMin(CommandContext& ctx, Args args) {
  BlockingZPop(ctx, args, args.subspan(1, args.size() - 2), false, -1, args.back(), ServeBZPopMin);
}
void BZPopMax(CommandContext& ctx, Args args) {
  BlockingZPop(ctx, args, args.subspan(1, args.size() - 2), true, -1, args.back(), ServeBZPopMax);
}
void BZMPop(CommandContext& ctx, Args args) {
  MPopArgs m;
  if (!ParseMPopArgs(ctx, args, 2, "min", "max", &m)) return;
  BlockingZPop(ctx, args, m.keys, m.second, m.count, args[1], ServeBZMPop);
}

// --- ZUNION / ZINTER / ZDIFF ---

enum class ZOp { kUnion, kInter, kDiff };
enum class Aggregate { kSum, kMin, kMax };

// A source of ZUNION & co: a sorted set or a plain set (scores 1), or none.
struct Source {
  ZSetObject* zset = nullptr;
  SetObject* set = nullptr;
  double weight = 1.0;
  size_t Size() const { return zset ? zset->Size() : (set ? set->Size() : 0); }
  const void* id() const { return zset ? static_cast<const void*>(zset) : set; }
  bool Find(std::string_view m, double* score) const {
    if (zset) {
      const auto s = zset->Score(m);
      if (s) *score = *s;
      return s.has_value();
    }
    if (set && set->Contains(m)) {
      *score = 1.0;
      return true;
    }
    return false;
  }
  void ForEach(const std::function<void(std::string_view, double)>& fn) const {
    if (zset) {
      if (zset->Size()) zset->Range(0, zset->Size() - 1, false, fn);
    } else if (set) {
      set->ForEach([&](std::string_view m) { fn(m, 1.0); });
    }
  }
};

void AggregateInto(double* target, double v, Aggregate a) {
  switch (a) {
    case Aggregate::kSum:
      *target += v;
      if (std::isnan(*target)) *target = 0.0;
      break;
    case Aggregate::kMin:
      *target = v < *target ? v : *target;
      break;
    case Aggregate::kMax:
      *target = v > *target ? v : *target;
      break;
  }
}

void ZSetOpGeneric(CommandContext& ctx, Args args, const std::string* dst, size_t numkeys_idx,
                   ZOp op, bool card_only) {
  int64_t setnum;
  if (!ParseLong(args[numkeys_idx], &setnum, ctx)) return;
  if (setnum < 1) {
    ctx.reply.Error(errors::NoInputKeys(absl::AsciiStrToLower(args[0])));
    return;
  }
  if (setnum > static_cast<int64_t>(args.size() - (numkeys_idx + 1))) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  std::vector<Source> src(setnum);
  size_t j = numkeys_idx + 1;
  for (int64_t i = 0; i < setnum; ++i, ++j) {
    Entry* e = ctx.DbFor(args[j]).FindRead(args[j], ctx.now_ms);
    if (e == nullptr) continue;
    const ValueType t = e->value().type();
    if (t == ValueType::kZSet) {
      src[i].zset = static_cast<ZSetObject*>(e->value().object());
    } else if (t == ValueType::kSet) {
      src[i].set = static_cast<SetObject*>(e->value().object());
    } else {
      ctx.reply.Error(errors::kWrongType);
      return;
    }
  }
  Aggregate aggregate = Aggregate::kSum;
  bool withscores = false;
  int64_t limit = 0;
  while (j < args.size()) {
    const size_t remaining = args.size() - j;
    const std::string& o = args[j];
    if (op != ZOp::kDiff && !card_only && remaining >= static_cast<size_t>(setnum) + 1 &&
        absl::EqualsIgnoreCase(o, "weights")) {
      ++j;
      for (int64_t i = 0; i < setnum; ++i, ++j) {
        if (!types::ParseDouble(args[j], &src[i].weight)) {
          ctx.reply.Error(errors::kWeightNotFloat);
          return;
        }
      }
    } else if (op != ZOp::kDiff && !card_only && remaining >= 2 &&
               absl::EqualsIgnoreCase(o, "aggregate")) {
      const std::string& a = args[j + 1];
      if (absl::EqualsIgnoreCase(a, "sum")) {
        aggregate = Aggregate::kSum;
      } else if (absl::EqualsIgnoreCase(a, "min")) {
        aggregate = Aggregate::kMin;
      } else if (absl::EqualsIgnoreCase(a, "max")) {
        aggregate = Aggregate::kMax;
      } else {
        ctx.reply.Error(errors::kSyntax);
        return;
      }
      j += 2;
    } else if (remaining >= 1 && !dst && !card_only && absl::EqualsIgnoreCase(o, "withscores")) {
      ++j;
      withscores = true;
    } else if (card_only && remaining >= 2 && absl::EqualsIgnoreCase(o, "limit")) {
      if (!types::ParseInt64(args[j + 1], &limit) || limit < 0) {
        ctx.reply.Error(errors::kLimitNegative);
        return;
      }
      j += 2;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (op != ZOp::kDiff) {
    std::stable_sort(src.begin(), src.end(),
                     [](const Source& a, const Source& b) { return a.Size() < b.Size(); });
  }
  std::vector<Scored> result;
  uint64_t card = 0;
  if (op == ZOp::kInter) {
    bool stop = false;
    src[0].ForEach([&](std::string_view m, double s0) {
      if (stop) return;
      double score = src[0].weight * s0;
      if (std::isnan(score)) score = 0;
      for (size_t k = 1; k < src.size(); ++k) {
        double v;
        if (src[k].id() == src[0].id()) {
          v = s0 * src[k].weight;
        } else if (src[k].Find(m, &v)) {
          v *= src[k].weight;
        } else {
          return;
        }
        AggregateInto(&score, v, aggregate);
      }
      if (card_only) {
        ++card;
        if (limit && card >= static_cast<uint64_t>(limit)) stop = true;
      } else {
        result.push_back({std::string(m), score});
      }
    });
  } else if (op == ZOp::kUnion) {
    absl::flat_hash_map<std::string, double> acc;
    std::vector<std::string> order;
    for (const Source& s : src) {
      s.ForEach([&](std::string_view m, double v) {
        double score = s.weight * v;
        if (std::isnan(score)) score = 0;
        auto [it, inserted] = acc.try_emplace(std::string(m), score);
        if (inserted) {
          order.push_back(it->first);
        } else {
          AggregateInto(&it->second, score, aggregate);
        }
      });
    }
    for (const std::string& m : order) result.push_back({m, acc[m]});
  } else {
    src[0].ForEach([&](std::string_view m, double v) {
      double ignored;
      for (size_t k = 1; k < src.size(); ++k) {
        if (src[k].Find(m, &ignored)) return;
      }
      result.push_back({std::string(m), v});
    });
  }
  if (card_only) {
    ctx.reply.Integer(card);
    return;
  }
  // The result as a sorted set: ordered replies, and Redis's encoding rule
  // for stored results (listpack when small enough).
  // Redis computes into a skiplist (keeping -0), then converts a small
  // stored result to listpack.
  auto z = std::make_unique<ZSetObject>();
  z->set_listpack(false);
  size_t maxlen = 0;
  for (const Scored& it : result) {
    z->Insert(it.member, it.score);
    maxlen = std::max(maxlen, it.member.size());
  }
  if (dst) {
    z->set_listpack(z->Size() <= ZSetObject::max_listpack_entries() &&
                    maxlen <= ZSetObject::max_listpack_value());
    StoreZSet(
        ctx, *dst, std::move(z),
        op == ZOp::kUnion ? "zunionstore" : (op == ZOp::kInter ? "zinterstore" : "zdiffstore"));
    return;
  }
  std::vector<Scored> ordered;
  if (z->Size()) {
    z->Range(0, z->Size() - 1, false, [&](std::string_view m, double s) {
      ordered.push_back({std::string(m), s});
    });
  }
  ReplyScored(ctx, ordered, withscores);
}

void ZUnion(CommandContext& ctx, Args args) {
  ZSetOpGeneric(ctx, args, nullptr, 1, ZOp::kUnion, false);
}
void ZInter(CommandContext& ctx, Args args) {
  ZSetOpGeneric(ctx, args, nullptr, 1, ZOp::kInter, false);
}
void ZDiff(CommandContext& ctx, Args args) {
  ZSetOpGeneric(ctx, args, nullptr, 1, ZOp::kDiff, false);
}
void ZInterCard(CommandContext& ctx, Args args) {
  ZSetOpGeneric(ctx, args, nullptr, 1, ZOp::kInter, true);
}
void ZUnionStore(CommandContext& ctx, Args args) {
  const std::string dst = args[1];
  ZSetOpGeneric(ctx, args, &dst, 2, ZOp::kUnion, false);
}
void ZInterStore(CommandContext& ctx, Args args) {
  const std::string dst = args[1];
  ZSetOpGeneric(ctx, args, &dst, 2, ZOp::kInter, false);
}
void ZDiffStore(CommandContext& ctx, Args args) {
  const std::string dst = args[1];
  ZSetOpGeneric(ctx, args, &dst, 2, ZOp::kDiff, false);
}

// --- ZRANDMEMBER / ZSCAN ---

void ZRandMember(CommandContext& ctx, Args args) {
  if (args.size() < 3) {
    ZSetObject* z = nullptr;
    Found f = GetZSet(ctx, args[1], true, &z);
    if (f == Found::kWrongType) return;
    if (f == Found::kMissing) {
      ctx.reply.NullBulk();
      return;
    }
    ctx.reply.Bulk(z->At(types::RandomBelow(z->Size())).second);
    return;
  }
  int64_t count;
  if (!ParseLong(args[2], &count, ctx)) return;
  if (count == std::numeric_limits<int64_t>::min()) {
    ctx.reply.Error(errors::kCountOutOfRange);
    return;
  }
  if (args.size() > 4 || (args.size() == 4 && !absl::EqualsIgnoreCase(args[3], "withscores"))) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const bool withscores = args.size() == 4;
  constexpr int64_t kHalf = std::numeric_limits<int64_t>::max() / 2;
  if (withscores && (count < -kHalf || count > kHalf)) {
    ctx.reply.Error(errors::kOutOfRange);
    return;
  }
  ZSetObject* z = nullptr;
  Found f = GetZSet(ctx, args[1], true, &z);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing || count == 0) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  const size_t size = z->Size();
  std::vector<Scored> out;
  if (count < 0) {
    // Replied as it is drawn (the count may be huge), and stopped once the
    // client is to be closed for its output limit.
    const uint64_t n = -static_cast<uint64_t>(count);
    const bool resp3 = ctx.reply.protocol() > 2;
    ctx.reply.ArrayHeader(withscores && !resp3 ? n * 2 : n);
    for (uint64_t i = 0; i < n && !ctx.reply.discarding(); ++i) {
      auto [s, m] = z->At(types::RandomBelow(size));
      if (withscores && resp3) ctx.reply.ArrayHeader(2);
      ctx.reply.Bulk(m);
      if (withscores) ctx.reply.Double(s);
    }
    return;
  } else {
    const size_t n = std::min<uint64_t>(count, size);
    std::vector<size_t> ranks(size);
    for (size_t i = 0; i < size; ++i) ranks[i] = i;
    for (size_t i = 0; i < n; ++i) {
      std::swap(ranks[i], ranks[i + types::RandomBelow(size - i)]);
      auto [s, m] = z->At(ranks[i]);
      out.push_back({std::string(m), s});
    }
  }
  ReplyScored(ctx, out, withscores);
}

// A score as ZSCAN shows it: listpack entries hold Redis's d2string text,
// skiplist scores are printed with "%.17Lg".
std::string ScanScore(double s, bool listpack) {
  if (std::isinf(s)) return s > 0 ? "inf" : "-inf";
  char buf[64];
  if (listpack) {
    if (s == 0) return std::signbit(s) ? "-0" : "0";
    constexpr double kHalfMax = static_cast<double>(std::numeric_limits<int64_t>::max() / 2);
    if (s >= -kHalfMax && s <= kHalfMax) {
      const int64_t ll = static_cast<int64_t>(s);
      if (static_cast<double>(ll) == s) return std::to_string(ll);
    }
    std::snprintf(buf, sizeof(buf), "%.17g", s);
  } else {
    std::snprintf(buf, sizeof(buf), "%.17Lg", static_cast<long double>(s));
  }
  return buf;
}

void ZScan(CommandContext& ctx, Args args) {
  uint64_t cursor;
  if (!types::ParseScanCursor(args[2], &cursor)) {
    ctx.reply.Error(errors::kInvalidCursor);
    return;
  }
  ZSetObject* z = nullptr;
  Found f = GetZSet(ctx, args[1], true, &z);
  if (f == Found::kWrongType) return;
  std::vector<std::string> out;
  if (f == Found::kOk) {
    types::ScanOptions opts;
    if (!ParseScanOptionsOrReply(ctx, args, 3, &opts)) return;
    const bool listpack = z->is_listpack();
    cursor = z->Scan(cursor, opts.count, [&](std::string_view m, double s) {
      if (opts.use_pattern && !GlobMatch(opts.pattern, m)) return;
      out.emplace_back(m);
      out.push_back(ScanScore(s, listpack));
    });
  } else {
    cursor = 0;
  }
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(std::to_string(cursor));
  ctx.reply.ArrayHeader(out.size());
  for (const std::string& s : out) ctx.reply.Bulk(s);
}

// --- Key positions of the numkeys commands ---

std::vector<int> KeysNumAt1(std::span<const std::string> args) { return NumKeysIndexes(args, 1); }
std::vector<int> KeysNumAt2(std::span<const std::string> args) { return NumKeysIndexes(args, 2); }
std::vector<int> KeysDstNumAt2(std::span<const std::string> args) {
  std::vector<int> out = NumKeysIndexes(args, 2);
  if (!out.empty()) out.insert(out.begin(), 1);
  return out;
}

CommandSpec Spec(std::string name, int arity, uint32_t flags, Handler h, int first, int last,
                 std::string_view since, KeysFn keys = nullptr) {
  return KeyedCommand(std::move(name), arity, flags, h, first, last, "sorted-set", since, keys);
}

}  // namespace

void RegisterZSetFamily(CommandTable& t) {
  constexpr uint32_t kW = kCmdWrite | kCmdDenyOom;
  constexpr uint32_t kR = kCmdReadonly;
  t.Register(Spec("zadd", -4, kW | kCmdFast, ZAdd, 1, 1, "1.2.0"));
  t.Register(Spec("zincrby", 4, kW | kCmdFast, ZIncrBy, 1, 1, "1.2.0"));
  t.Register(Spec("zscore", 3, kR | kCmdFast, ZScore, 1, 1, "1.2.0"));
  t.Register(Spec("zmscore", -3, kR | kCmdFast, ZMScore, 1, 1, "6.2.0"));
  t.Register(Spec("zcard", 2, kR | kCmdFast, ZCard, 1, 1, "1.2.0"));
  t.Register(Spec("zcount", 4, kR | kCmdFast, ZCount, 1, 1, "2.0.0"));
  t.Register(Spec("zlexcount", 4, kR | kCmdFast, ZLexCount, 1, 1, "2.8.9"));
  t.Register(Spec("zrange", -4, kR, ZRange, 1, 1, "1.2.0"));
  t.Register(Spec("zrangestore", -5, kW, ZRangeStore, 1, 2, "6.2.0"));
  t.Register(Spec("zrangebyscore", -4, kR, ZRangeByScore, 1, 1, "1.0.5"));
  t.Register(Spec("zrevrangebyscore", -4, kR, ZRevRangeByScore, 1, 1, "2.2.0"));
  t.Register(Spec("zrangebylex", -4, kR, ZRangeByLex, 1, 1, "2.8.9"));
  t.Register(Spec("zrevrangebylex", -4, kR, ZRevRangeByLex, 1, 1, "2.8.9"));
  t.Register(Spec("zrevrange", -4, kR, ZRevRange, 1, 1, "1.2.0"));
  t.Register(Spec("zrank", 3, kR | kCmdFast, ZRank, 1, 1, "2.0.0"));
  t.Register(Spec("zrevrank", 3, kR | kCmdFast, ZRevRank, 1, 1, "2.0.0"));
  t.Register(Spec("zrem", -3, kCmdWrite | kCmdFast, ZRem, 1, 1, "1.2.0"));
  t.Register(Spec("zremrangebyrank", 4, kCmdWrite, ZRemRangeByRank, 1, 1, "2.0.0"));
  t.Register(Spec("zremrangebyscore", 4, kCmdWrite, ZRemRangeByScore, 1, 1, "1.2.0"));
  t.Register(Spec("zremrangebylex", 4, kCmdWrite, ZRemRangeByLex, 1, 1, "2.8.9"));
  t.Register(Spec("zpopmin", -2, kCmdWrite | kCmdFast, ZPopMin, 1, 1, "5.0.0"));
  t.Register(Spec("zpopmax", -2, kCmdWrite | kCmdFast, ZPopMax, 1, 1, "5.0.0"));
  t.Register(Spec("zmpop", -4, kCmdWrite, ZMPop, 0, 0, "7.0.0", KeysNumAt1));
  constexpr uint32_t kB = kCmdWrite | kCmdNoScript | kCmdBlocking | kCmdFast;
  t.Register(Spec("bzpopmin", -3, kB, BZPopMin, 1, -2, "5.0.0"));
  t.Register(Spec("bzpopmax", -3, kB, BZPopMax, 1, -2, "5.0.0"));
  t.Register(Spec("bzmpop", -5, kCmdWrite | kCmdBlocking, BZMPop, 0, 0, "7.0.0", KeysNumAt2));
  t.Register(Spec("zunion", -3, kR, ZUnion, 0, 0, "6.2.0", KeysNumAt1));
  t.Register(Spec("zinter", -3, kR, ZInter, 0, 0, "6.2.0", KeysNumAt1));
  t.Register(Spec("zdiff", -3, kR, ZDiff, 0, 0, "6.2.0", KeysNumAt1));
  t.Register(Spec("zintercard", -3, kR, ZInterCard, 0, 0, "7.0.0", KeysNumAt1));
  t.Register(Spec("zunionstore", -4, kW, ZUnionStore, 0, 0, "2.0.0", KeysDstNumAt2));
  t.Register(Spec("zinterstore", -4, kW, ZInterStore, 0, 0, "2.0.0", KeysDstNumAt2));
  t.Register(Spec("zdiffstore", -4, kW, ZDiffStore, 0, 0, "6.2.0", KeysDstNumAt2));
  t.Register(Spec("zrandmember", -2, kR, ZRandMember, 1, 1, "6.2.0"));
  t.Register(Spec("zscan", -3, kR, ZScan, 1, 1, "2.8.0"));
}

}  // namespace shardnode::node
