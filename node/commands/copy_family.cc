// COPY, SWAPDB and LCS with Redis 7.0.15's replies and errors. COPY clones
// the value in its encoding (Value::Clone) and keeps its TTL; SWAPDB swaps
// two databases on every shard, dirtying the WATCHes Redis dirties and
// waking clients blocked on keys that now exist; LCS is the dynamic
// programming table Redis fills, walked back the same way so that IDX
// ranges come out in the same order.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/type_family.h"
#include "node/config/options.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/keyspace/types/type_util.h"
#include "node/resp/reply.h"
#include "node/server/blocking.h"
#include "node/server/node_services.h"
#include "node/server/session.h"
#include "node/server/shard.h"
#include "node/server/watch.h"

namespace shardnode::node {
namespace {

// An int argument (Redis's getIntFromObjectOrReply); replies `error` when
// it is not one.
bool ParseInt(CommandContext& ctx, const std::string& arg, std::string_view error, int* out) {
  int64_t v;
  if (!types::ParseInt64(arg, &v) || v < std::numeric_limits<int>::min() ||
      v > std::numeric_limits<int>::max()) {
    ctx.reply.Error(error);
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

// --- COPY ---

void Copy(CommandContext& ctx, Args args) {
  const int src_db = ctx.db_index();
  int dst_db = src_db;
  bool replace = false;
  for (size_t j = 3; j < args.size(); ++j) {
    if (absl::EqualsIgnoreCase(args[j], "replace")) {
      replace = true;
    } else if (absl::EqualsIgnoreCase(args[j], "db") && j + 1 < args.size()) {
      if (!ParseInt(ctx, args[j + 1], errors::kNotInteger, &dst_db)) return;
      if (dst_db < 0 || dst_db >= ctx.num_dbs()) {
        ctx.reply.Error(errors::kDbIndexOutOfRange);
        return;
      }
      ++j;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (ctx.node.cluster_enabled() && (src_db != 0 || dst_db != 0)) {
    ctx.reply.Error("ERR Copying to another database is not allowed in cluster mode");
    return;
  }
  const std::string& key = args[1];
  const std::string& newkey = args[2];
  if (src_db == dst_db && key == newkey) {
    ctx.reply.Error(errors::kSameObject);
    return;
  }
  Db& src = ctx.DbFor(key);
  Entry* e = src.FindRead(key, ctx.now_ms);
  if (e == nullptr) {
    ctx.reply.Integer(0);
    return;
  }
  const int64_t expire = src.ExpireOf(e);
  Db& dst = ctx.DbFor(newkey, dst_db);
  if (dst.Find(newkey, ctx.now_ms) != nullptr && !replace) {
    ctx.reply.Integer(0);
    return;
  }
  // Set replaces a present key and drops its TTL. Redis deletes the key it
  // replaces and adds the copy anew: "new" either way.
  const bool replaced = dst.Find(newkey, ctx.now_ms) != nullptr;
  Entry* copied = dst.Set(newkey, e->value().Clone(), ctx.now_ms);
  if (replaced) ctx.Notify(kNotifyNew, "new", newkey, dst_db);
  if (expire != -1) dst.SetExpire(copied, expire);
  dst.NotifyModified(newkey);
  ctx.AddDirty(1);
  ctx.Notify(kNotifyGeneric, "copy_to", newkey, dst_db);
  ctx.reply.Integer(1);
}

// --- SWAPDB ---

// Whether `key` is live in database `db` of the shard that owns it.
bool KeyExists(CommandContext& ctx, int db, const std::string& key) {
  return ctx.DbFor(key, db).Find(key, ctx.now_ms, false) != nullptr;
}

void SwapDb(CommandContext& ctx, Args args) {
  if (ctx.node.cluster_enabled()) {
    ctx.reply.Error("ERR SWAPDB is not allowed in cluster mode");
    return;
  }
  int a, b;
  if (!ParseInt(ctx, args[1], "ERR invalid first DB index", &a)) return;
  if (!ParseInt(ctx, args[2], "ERR invalid second DB index", &b)) return;
  if (a < 0 || a >= ctx.num_dbs() || b < 0 || b >= ctx.num_dbs()) {
    ctx.reply.Error(errors::kDbIndexOutOfRange);
    return;
  }
  if (a != b) {
    // A watched key that exists on either side changes (Redis's
    // touchAllWatchedKeysInDb both ways).
    // Every shard's table (with shard threads, a global step).
    WatchIndex& index = ctx.shard.watches();
    for (int i = 0; i < index.num_tables(); ++i) {
      WatchTable& watches = index.table(i);
      for (const auto& [from, to] : {std::pair{a, b}, std::pair{b, a}}) {
        for (const std::string& k : watches.KeysOf(from)) {
          if (KeyExists(ctx, from, k) || KeyExists(ctx, to, k)) watches.Touch(from, k);
        }
      }
    }
    for (int i = 0; i < ctx.shard.num_keyspaces(); ++i) ctx.shard.keyspace(i).SwapDbs(a, b);
    // Clients stay in their database, whose keys all changed: every key
    // waited for there is looked at again, as after a flush (the serving
    // code checks the type; a group reader whose stream went away gets
    // Redis's UNBLOCKED error).
    ctx.shard.blocking().SignalDb(a);
    ctx.shard.blocking().SignalDb(b);
  }
  ctx.AddDirty(1);
  ctx.reply.Ok();
}

// --- LCS ---

void Lcs(CommandContext& ctx, Args args) {
  Entry* ea = ctx.DbFor(args[1]).FindRead(args[1], ctx.now_ms);
  Entry* eb = ctx.DbFor(args[2]).FindRead(args[2], ctx.now_ms);
  if ((ea && !ea->value().is_string()) || (eb && !eb->value().is_string())) {
    ctx.reply.Error("ERR The specified keys must contain string values");
    return;
  }
  const std::string a = ea ? ea->value().ToString() : std::string();
  const std::string b = eb ? eb->value().ToString() : std::string();
  bool getlen = false, getidx = false, withmatchlen = false;
  int64_t minmatchlen = 0;
  for (size_t j = 3; j < args.size(); ++j) {
    const std::string& o = args[j];
    if (absl::EqualsIgnoreCase(o, "idx")) {
      getidx = true;
    } else if (absl::EqualsIgnoreCase(o, "len")) {
      getlen = true;
    } else if (absl::EqualsIgnoreCase(o, "withmatchlen")) {
      withmatchlen = true;
    } else if (absl::EqualsIgnoreCase(o, "minmatchlen") && j + 1 < args.size()) {
      if (!ParseLong(args[j + 1], &minmatchlen, ctx)) return;
      if (minmatchlen < 0) minmatchlen = 0;
      ++j;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (getlen && getidx) {
    ctx.reply.Error("ERR If you want both the length and indexes, please just use IDX.");
    return;
  }
  if (a.size() >= UINT32_MAX - 1 || b.size() >= UINT32_MAX - 1) {
    ctx.reply.Error("ERR String too long for LCS");
    return;
  }
  const uint64_t alen = a.size(), blen = b.size();
  const uint64_t cells = (alen + 1) * (blen + 1);
  if (cells * sizeof(uint32_t) > static_cast<uint64_t>(ctx.node.options().proto_max_bulk_len)) {
    ctx.reply.Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    return;
  }
  // table[i][j]: the LCS length of a[0, i) and b[0, j).
  std::vector<uint32_t> table(cells, 0);
  auto at = [&](uint64_t i, uint64_t j) -> uint32_t& { return table[j + i * (blen + 1)]; };
  for (uint64_t i = 1; i <= alen; ++i) {
    for (uint64_t j = 1; j <= blen; ++j) {
      at(i, j) = a[i - 1] == b[j - 1] ? at(i - 1, j - 1) + 1 : std::max(at(i - 1, j), at(i, j - 1));
    }
  }
  const uint32_t total = at(alen, blen);
  if (getlen) {
    ctx.reply.Integer(total);
    return;
  }
  // Walk back from the end, collecting the common string and the ranges of
  // consecutive matches (emitted when a run ends).
  struct Match {
    uint64_t a_start, a_end, b_start, b_end;
  };
  std::string common(total, '\0');
  std::vector<Match> matches;
  uint32_t idx = total;
  uint64_t i = alen, j = blen;
  bool open = false;
  Match cur{};
  while (i > 0 && j > 0) {
    bool emit = false;
    if (a[i - 1] == b[j - 1]) {
      common[idx - 1] = a[i - 1];
      if (!open) {
        cur = Match{i - 1, i - 1, j - 1, j - 1};
        open = true;
      } else if (cur.a_start == i && cur.b_start == j) {
        --cur.a_start;
        --cur.b_start;
      } else {
        emit = true;
      }
      if (cur.a_start == 0 || cur.b_start == 0) emit = true;
      --idx;
      --i;
      --j;
    } else {
      if (at(i - 1, j) > at(i, j - 1)) {
        --i;
      } else {
        --j;
      }
      if (open) emit = true;
    }
    if (emit) {
      const uint64_t len = cur.a_end - cur.a_start + 1;
      if (minmatchlen == 0 || len >= static_cast<uint64_t>(minmatchlen)) matches.push_back(cur);
      open = false;
    }
  }
  if (!getidx) {
    ctx.reply.Bulk(common);
    return;
  }
  ctx.reply.MapHeader(2);
  ctx.reply.Bulk("matches");
  ctx.reply.ArrayHeader(matches.size());
  for (const Match& m : matches) {
    ctx.reply.ArrayHeader(withmatchlen ? 3 : 2);
    ctx.reply.ArrayHeader(2);
    ctx.reply.Integer(static_cast<int64_t>(m.a_start));
    ctx.reply.Integer(static_cast<int64_t>(m.a_end));
    ctx.reply.ArrayHeader(2);
    ctx.reply.Integer(static_cast<int64_t>(m.b_start));
    ctx.reply.Integer(static_cast<int64_t>(m.b_end));
    if (withmatchlen) ctx.reply.Integer(static_cast<int64_t>(m.a_end - m.a_start + 1));
  }
  ctx.reply.Bulk("len");
  ctx.reply.Integer(total);
}

}  // namespace

void RegisterCopyFamily(CommandTable& t) {
  t.Register(KeyedCommand("copy", -3, kCmdWrite | kCmdDenyOom, Copy, 1, 2, "generic", "6.2.0"));
  t.Register(CommandSpec{.name = "swapdb",
                         .arity = 3,
                         .flags = kCmdWrite | kCmdFast | kCmdAllShards,
                         .handler = SwapDb,
                         .group = "server",
                         .summary = "Swaps two Redis databases",
                         .since = "4.0.0"});
  t.Register(KeyedCommand("lcs", -3, kCmdReadonly, Lcs, 1, 2, "string", "7.0.0"));
}

}  // namespace shardnode::node
