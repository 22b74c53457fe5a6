// Hash commands: HSET HSETNX HMSET HGET HMGET HDEL HLEN HSTRLEN HEXISTS HKEYS
// HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN, with Redis 7.0.15's
// replies and errors. The data lives in HashObject (keyspace/types).
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/type_family.h"
#include "node/config/glob.h"
#include "node/keyspace/db.h"
#include "node/keyspace/types/hash_object.h"
#include "node/keyspace/types/lookup.h"
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

// Finds the hash at `key`; replies WRONGTYPE and returns kWrongType when the
// key holds something else.
Found GetHash(CommandContext& ctx, std::string_view key, bool read, HashObject** h) {
  return FindTypedOrReply(ctx, key, ValueType::kHash, read, h);
}

// The hash at `key`, created when absent; nullptr (WRONGTYPE replied) when the
// key holds another type.
HashObject* GetOrCreateHash(CommandContext& ctx, std::string_view key) {
  HashObject* h = nullptr;
  Found f = GetHash(ctx, key, false, &h);
  if (f == Found::kWrongType) return nullptr;
  if (f == Found::kMissing)
    h = types::CreateTyped<HashObject>(ctx.DbFor(key), key, ctx.now_ms, ValueType::kHash);
  return h;
}

void ReplyScan(resp::ReplyBuilder& reply, uint64_t cursor, const std::vector<std::string>& items) {
  reply.ArrayHeader(2);
  reply.Bulk(std::to_string(cursor));
  reply.ArrayHeader(items.size());
  for (const std::string& s : items) reply.Bulk(s);
}

void HSet(CommandContext& ctx, Args args) {
  if (args.size() % 2 == 1) {
    ctx.reply.Error(ArityError(ctx.spec));
    return;
  }
  HashObject* h = GetOrCreateHash(ctx, args[1]);
  if (h == nullptr) return;
  for (size_t i = 2; i < args.size(); ++i) h->ConvertIfLong(args[i].size());
  int64_t created = 0;
  for (size_t i = 2; i < args.size(); i += 2) created += h->Set(args[i], args[i + 1]);
  if (absl::EqualsIgnoreCase(args[0], "hmset")) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Integer(created);
  }
  Wrote(ctx, args[1], (args.size() - 2) / 2);
  ctx.Notify(kNotifyHash, "hset", args[1]);
}

void HSetNx(CommandContext& ctx, Args args) {
  HashObject* h = GetOrCreateHash(ctx, args[1]);
  if (h == nullptr) return;
  if (h->Contains(args[2])) {
    ctx.reply.Integer(0);
    return;
  }
  h->ConvertIfLong(args[2].size());
  h->ConvertIfLong(args[3].size());
  h->Set(args[2], args[3]);
  ctx.reply.Integer(1);
  Wrote(ctx, args[1], 1);
  ctx.Notify(kNotifyHash, "hset", args[1]);
}

void HGet(CommandContext& ctx, Args args) {
  HashObject* h = nullptr;
  Found f = GetHash(ctx, args[1], true, &h);
  if (f == Found::kWrongType) return;
  std::string scratch;
  const auto v = f == Found::kOk ? h->Get(args[2], &scratch) : std::nullopt;
  if (v) {
    ctx.reply.Bulk(*v);
  } else {
    ctx.reply.NullBulk();
  }
}

void HMGet(CommandContext& ctx, Args args) {
  HashObject* h = nullptr;
  Found f = GetHash(ctx, args[1], true, &h);
  if (f == Found::kWrongType) return;
  ctx.reply.ArrayHeader(args.size() - 2);
  std::string scratch;
  for (size_t i = 2; i < args.size(); ++i) {
    const auto v = f == Found::kOk ? h->Get(args[i], &scratch) : std::nullopt;
    if (v) {
      ctx.reply.Bulk(*v);
    } else {
      ctx.reply.NullBulk();
    }
  }
}

void HDel(CommandContext& ctx, Args args) {
  HashObject* h = nullptr;
  Found f = GetHash(ctx, args[1], false, &h);
  if (f == Found::kWrongType) return;
  int64_t deleted = 0;
  bool removed = false;
  if (f == Found::kOk) {
    for (size_t i = 2; i < args.size(); ++i) {
      if (h->Delete(args[i])) {
        ++deleted;
        if (h->Size() == 0) {
          ctx.DbFor(args[1]).Delete(args[1], ctx.now_ms);
          removed = true;
          break;
        }
      }
    }
  }
  if (deleted) {
    Wrote(ctx, args[1], deleted);
    ctx.Notify(kNotifyHash, "hdel", args[1]);
    if (removed) ctx.Notify(kNotifyGeneric, "del", args[1]);
  }
  ctx.reply.Integer(deleted);
}

void HLen(CommandContext& ctx, Args args) {
  HashObject* h = nullptr;
  Found f = GetHash(ctx, args[1], true, &h);
  if (f == Found::kWrongType) return;
  ctx.reply.Integer(f == Found::kOk ? h->Size() : 0);
}

void HStrLen(CommandContext& ctx, Args args) {
  HashObject* h = nullptr;
  Found f = GetHash(ctx, args[1], true, &h);
  if (f == Found::kWrongType) return;
  std::string scratch;
  const auto v = f == Found::kOk ? h->Get(args[2], &scratch) : std::nullopt;
  ctx.reply.Integer(v ? v->size() : 0);
}

void HExists(CommandContext& ctx, Args args) {
  HashObject* h = nullptr;
  Found f = GetHash(ctx, args[1], true, &h);
  if (f == Found::kWrongType) return;
  ctx.reply.Integer(f == Found::kOk && h->Contains(args[2]));
}

// HKEYS (fields), HVALS (values), HGETALL (both; a map in RESP3).
void GetAll(CommandContext& ctx, Args args, bool fields, bool values) {
  HashObject* h = nullptr;
  Found f = GetHash(ctx, args[1], true, &h);
  if (f == Found::kWrongType) return;
  const size_t n = f == Found::kOk ? h->Size() : 0;
  if (fields && values) {
    ctx.reply.MapHeader(n);
  } else {
    ctx.reply.ArrayHeader(n);
  }
  if (n == 0) return;
  h->ForEach([&](std::string_view k, std::string_view v) {
    if (fields) ctx.reply.Bulk(k);
    if (values) ctx.reply.Bulk(v);
  });
}
void HKeys(CommandContext& ctx, Args args) { GetAll(ctx, args, true, false); }
void HVals(CommandContext& ctx, Args args) { GetAll(ctx, args, false, true); }
void HGetAll(CommandContext& ctx, Args args) { GetAll(ctx, args, true, true); }

void HIncrBy(CommandContext& ctx, Args args) {
  int64_t incr;
  if (!types::ParseInt64(args[3], &incr)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  HashObject* h = GetOrCreateHash(ctx, args[1]);
  if (h == nullptr) return;
  int64_t value = 0;
  std::string scratch;
  if (const auto old = h->Get(args[2], &scratch)) {
    if (!types::ParseInt64(*old, &value)) {
      ctx.reply.Error(errors::kHashNotInteger);
      return;
    }
  }
  if (!AddIncrementOrReply(ctx, incr, &value)) return;
  h->Set(args[2], std::to_string(value));
  ctx.reply.Integer(value);
  Wrote(ctx, args[1], 1);
  ctx.Notify(kNotifyHash, "hincrby", args[1]);
}

void HIncrByFloat(CommandContext& ctx, Args args) {
  long double incr;
  if (!types::ParseLongDouble(args[3], &incr)) {
    ctx.reply.Error(errors::kNotFloat);
    return;
  }
  if (std::isnan(incr) || std::isinf(incr)) {
    ctx.reply.Error(errors::kNaNOrInfinity);
    return;
  }
  HashObject* h = GetOrCreateHash(ctx, args[1]);
  if (h == nullptr) return;
  long double value = 0;
  std::string scratch;
  if (const auto old = h->Get(args[2], &scratch)) {
    if (!types::ParseLongDouble(*old, &value)) {
      ctx.reply.Error(errors::kHashNotFloat);
      return;
    }
  }
  if (!AddFloatIncrementOrReply(ctx, incr, &value)) return;
  const std::string text = resp::FormatLongDouble(value);
  h->Set(args[2], text);
  ctx.reply.Bulk(text);
  // Replicas store the result rather than redo float arithmetic.
  ctx.propagate_as = {"HSET", args[1], args[2], text};
  Wrote(ctx, args[1], 1);
  ctx.Notify(kNotifyHash, "hincrbyfloat", args[1]);
}

void HRandFieldWithCount(CommandContext& ctx, std::string_view key, int64_t count,
                         bool withvalues) {
  HashObject* h = nullptr;
  Found f = GetHash(ctx, key, true, &h);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing || count == 0) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  const bool resp3 = ctx.reply.protocol() > 2;
  auto reply_pair = [&](std::string_view k, std::string_view v) {
    if (withvalues && resp3) ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(k);
    if (withvalues) ctx.reply.Bulk(v);
  };
  const size_t size = h->Size();
  if (count < 0) {  // repetitions allowed
    const uint64_t n = -static_cast<uint64_t>(count);
    ctx.reply.ArrayHeader(withvalues && !resp3 ? n * 2 : n);
    std::string ks, vs;
    // A table's random pick (a bucket, then a node of its chain) favours
    // the nodes of short chains; when the reply is at least as long as the
    // hash, its pairs are indexed once and drawn uniformly instead (views
    // into the table's nodes, which stay put while the command runs).
    std::vector<std::pair<std::string_view, std::string_view>> all;
    if (!h->is_listpack() && n >= size) {
      all.reserve(size);
      h->ForEach([&](std::string_view k, std::string_view v) { all.emplace_back(k, v); });
    }
    // Stops once the client is to be closed for its output limit.
    for (uint64_t i = 0; i < n && !ctx.reply.discarding(); ++i) {
      if (!all.empty()) {
        const auto& [k, v] = all[types::RandomBelow(all.size())];
        reply_pair(k, v);
        continue;
      }
      auto [k, v] = h->Random(&ks, &vs);
      reply_pair(k, v);
    }
    return;
  }
  const size_t n = static_cast<uint64_t>(count) >= size ? size : static_cast<size_t>(count);
  ctx.reply.ArrayHeader(withvalues && !resp3 ? n * 2 : n);
  if (n == size) {
    h->ForEach(reply_pair);
    return;
  }
  // A small table is drawn from its full list too: its random pick (see
  // above) is not uniform, and listing a few hundred pairs costs little.
  if (n * 3 > size || (!h->is_listpack() && size <= kSmallTable)) {
    // Pick n distinct positions out of all pairs (copies: a listpack hash
    // renders integers into a scratch buffer that the next pair reuses).
    std::vector<std::pair<std::string, std::string>> all;
    all.reserve(size);
    h->ForEach([&](std::string_view k, std::string_view v) { all.emplace_back(k, v); });
    for (size_t i = 0; i < n; ++i) {
      std::swap(all[i], all[i + types::RandomBelow(size - i)]);
      reply_pair(all[i].first, all[i].second);
    }
    return;
  }
  absl::flat_hash_set<std::string> seen;
  std::string ks, vs;
  while (seen.size() < n) {
    auto [k, v] = h->Random(&ks, &vs);
    if (seen.emplace(k).second) reply_pair(k, v);
  }
}

void HRandField(CommandContext& ctx, Args args) {
  if (args.size() >= 3) {
    int64_t count;
    if (!types::ParseInt64(args[2], &count)) {
      ctx.reply.Error(errors::kNotInteger);
      return;
    }
    if (count == std::numeric_limits<int64_t>::min()) {
      ctx.reply.Error(errors::kCountOutOfRange);
      return;
    }
    bool withvalues = false;
    if (args.size() > 4 || (args.size() == 4 && !absl::EqualsIgnoreCase(args[3], "withvalues"))) {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
    if (args.size() == 4) {
      withvalues = true;
      constexpr int64_t kHalf = std::numeric_limits<int64_t>::max() / 2;
      if (count < -kHalf || count > kHalf) {
        ctx.reply.Error(errors::kOutOfRange);
        return;
      }
    }
    HRandFieldWithCount(ctx, args[1], count, withvalues);
    return;
  }
  HashObject* h = nullptr;
  Found f = GetHash(ctx, args[1], true, &h);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.NullBulk();
    return;
  }
  std::string ks, vs;
  ctx.reply.Bulk(h->Random(&ks, &vs).first);
}

void HScan(CommandContext& ctx, Args args) {
  uint64_t cursor;
  if (!types::ParseScanCursor(args[2], &cursor)) {
    ctx.reply.Error(errors::kInvalidCursor);
    return;
  }
  HashObject* h = nullptr;
  Found f = GetHash(ctx, args[1], true, &h);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ReplyScan(ctx.reply, 0, {});
    return;
  }
  types::ScanOptions opts;
  if (!ParseScanOptionsOrReply(ctx, args, 3, &opts)) return;
  std::vector<std::string> out;
  cursor = h->Scan(cursor, opts.count, [&](std::string_view k, std::string_view v) {
    if (opts.use_pattern && !GlobMatch(opts.pattern, k)) return;
    out.emplace_back(k);
    out.emplace_back(v);
  });
  ReplyScan(ctx.reply, cursor, out);
}

CommandSpec Spec(std::string name, int arity, uint32_t flags, Handler h, std::string_view since) {
  return CommandSpec{.name = std::move(name),
                     .arity = arity,
                     .flags = flags,
                     .first_key = 1,
                     .last_key = 1,
                     .key_step = 1,
                     .handler = h,
                     .group = "hash",
                     .since = since};
}

}  // namespace

void RegisterHashFamily(CommandTable& t) {
  constexpr uint32_t kW = kCmdWrite | kCmdDenyOom;
  constexpr uint32_t kR = kCmdReadonly;
  t.Register(Spec("hset", -4, kW | kCmdFast, HSet, "2.0.0"));
  t.Register(Spec("hsetnx", 4, kW | kCmdFast, HSetNx, "2.0.0"));
  t.Register(Spec("hmset", -4, kW | kCmdFast, HSet, "2.0.0"));
  t.Register(Spec("hget", 3, kR | kCmdFast, HGet, "2.0.0"));
  t.Register(Spec("hmget", -3, kR | kCmdFast, HMGet, "2.0.0"));
  t.Register(Spec("hdel", -3, kCmdWrite | kCmdFast, HDel, "2.0.0"));
  t.Register(Spec("hlen", 2, kR | kCmdFast, HLen, "2.0.0"));
  t.Register(Spec("hstrlen", 3, kR | kCmdFast, HStrLen, "3.2.0"));
  t.Register(Spec("hexists", 3, kR | kCmdFast, HExists, "2.0.0"));
  t.Register(Spec("hkeys", 2, kR, HKeys, "2.0.0"));
  t.Register(Spec("hvals", 2, kR, HVals, "2.0.0"));
  t.Register(Spec("hgetall", 2, kR, HGetAll, "2.0.0"));
  t.Register(Spec("hincrby", 4, kW | kCmdFast, HIncrBy, "2.0.0"));
  t.Register(Spec("hincrbyfloat", 4, kW | kCmdFast, HIncrByFloat, "2.6.0"));
  t.Register(Spec("hrandfield", -2, kR, HRandField, "6.2.0"));
  t.Register(Spec("hscan", -3, kR, HScan, "2.8.0"));
}

}  // namespace shardnode::node
