// HyperLogLog commands: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST, on string
// values in Redis 7.0's HLL layout (node/keyspace/types/hyperloglog.h), with
// Redis 7.0.15's replies and errors. PFCOUNT of one key stores the
// cardinality it computed in the header, a change that replicas receive as
// the PFCOUNT itself, as Redis propagates it.
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/config/options.h"
#include "node/keyspace/db.h"
#include "node/keyspace/types/hyperloglog.h"
#include "node/resp/reply.h"
#include "node/server/node_services.h"

namespace shardnode::node {
namespace {

constexpr std::string_view kNotHll = "WRONGTYPE Key is not a valid HyperLogLog string value.";
constexpr std::string_view kCorruptHll = "INVALIDOBJ Corrupted HLL object detected";

size_t SparseMax(const CommandContext& ctx) {
  return static_cast<size_t>(ctx.node.options().hll_sparse_max_bytes);
}

// Whether `e` holds an HLL; replies Redis's error when it does not.
bool CheckHll(CommandContext& ctx, const Entry& e) {
  const Value& v = e.value();
  if (!v.is_string()) {
    ctx.reply.Error(errors::kWrongType);
    return false;
  }
  std::string scratch;
  if (v.is_int_encoded() || !types::LooksLikeHll(v.View(&scratch))) {
    ctx.reply.Error(kNotHll);
    return false;
  }
  return true;
}

void PfAdd(CommandContext& ctx, Args args) {
  const std::string& key = args[1];
  Db& db = ctx.DbFor(key);
  Entry* e = db.Find(key, ctx.now_ms);
  uint64_t updated = 0;
  if (!e) {
    e = db.Set(key, Value::FromStringRaw(types::NewHll()), ctx.now_ms);
    ++updated;
  } else if (!CheckHll(ctx, *e)) {
    return;
  }
  std::string* s = e->value().MutableRawString();
  for (size_t j = 2; j < args.size(); ++j) {
    const int r = types::HllAdd(s, args[j], SparseMax(ctx));
    if (r < 0) {
      ctx.reply.Error(kCorruptHll);
      return;
    }
    updated += static_cast<uint64_t>(r);
  }
  if (updated) {
    types::HllInvalidateCache(s);
    db.NotifyModified(key);
    ctx.Notify(kNotifyString, "pfadd", key);
    ctx.AddDirty(updated);
  }
  ctx.reply.Integer(updated ? 1 : 0);
}

// PFCOUNT of several keys: the cardinality of their union, nothing stored.
void PfCountUnion(CommandContext& ctx, Args args) {
  std::vector<uint8_t> max(types::kHllRegisters, 0);
  for (size_t j = 1; j < args.size(); ++j) {
    Entry* e = ctx.DbFor(args[j]).FindRead(args[j], ctx.now_ms);
    if (!e) continue;
    if (!CheckHll(ctx, *e)) return;
    std::string scratch;
    if (!types::HllMergeInto(max.data(), e->value().View(&scratch))) {
      ctx.reply.Error(kCorruptHll);
      return;
    }
  }
  ctx.reply.Integer(static_cast<int64_t>(types::HllCountRaw(max.data())));
}

void PfCount(CommandContext& ctx, Args args) {
  if (args.size() > 2) {
    PfCountUnion(ctx, args);
    return;
  }
  const std::string& key = args[1];
  Db& db = ctx.DbFor(key);
  Entry* e = db.FindRead(key, ctx.now_ms);
  if (!e) {
    ctx.reply.Integer(0);
    return;
  }
  if (!CheckHll(ctx, *e)) return;
  std::string* s = e->value().MutableRawString();
  if (types::HllCacheValid(*s)) {
    ctx.reply.Integer(static_cast<int64_t>(types::HllCachedCardinality(*s)));
    return;
  }
  bool invalid = false;
  const uint64_t card = types::HllCount(*s, &invalid);
  if (invalid) {
    ctx.reply.Error(kCorruptHll);
    return;
  }
  types::HllSetCachedCardinality(s, card);
  db.NotifyModified(key);
  ctx.AddDirty(1);
  ctx.reply.Integer(static_cast<int64_t>(card));
}

void PfMerge(CommandContext& ctx, Args args) {
  std::vector<uint8_t> max(types::kHllRegisters, 0);
  bool use_dense = false;
  // The destination is one of the sources.
  for (size_t j = 1; j < args.size(); ++j) {
    Entry* e = ctx.DbFor(args[j]).FindRead(args[j], ctx.now_ms);
    if (!e) continue;
    if (!CheckHll(ctx, *e)) return;
    std::string scratch;
    const std::string_view s = e->value().View(&scratch);
    if (types::HllEncoding(s) == types::kHllDense) use_dense = true;
    if (!types::HllMergeInto(max.data(), s)) {
      ctx.reply.Error(kCorruptHll);
      return;
    }
  }
  const std::string& key = args[1];
  Db& db = ctx.DbFor(key);
  Entry* e = db.Find(key, ctx.now_ms);
  if (!e) e = db.Set(key, Value::FromStringRaw(types::NewHll()), ctx.now_ms);
  std::string* s = e->value().MutableRawString();
  if (use_dense && !types::HllSparseToDense(s)) {
    ctx.reply.Error(kCorruptHll);
    return;
  }
  for (int j = 0; j < types::kHllRegisters; ++j) {
    if (max[j] != 0) types::HllSet(s, j, max[j], SparseMax(ctx));
  }
  types::HllInvalidateCache(s);
  db.NotifyModified(key);
  ctx.Notify(kNotifyString, "pfadd", key);
  ctx.AddDirty(1);
  ctx.reply.Ok();
}

void PfDebug(CommandContext& ctx, Args args) {
  const std::string& sub = args[1];
  const std::string& key = args[2];
  Db& db = ctx.DbFor(key);
  Entry* e = db.Find(key, ctx.now_ms);
  if (!e) {
    ctx.reply.Error("ERR The specified key does not exist");
    return;
  }
  if (!CheckHll(ctx, *e)) return;
  std::string* s = e->value().MutableRawString();
  const bool sparse = types::HllEncoding(*s) == types::kHllSparse;
  if (absl::EqualsIgnoreCase(sub, "getreg")) {
    if (sparse) {
      if (!types::HllSparseToDense(s)) {
        ctx.reply.Error(kCorruptHll);
        return;
      }
      ctx.AddDirty(1);  // the encoding change reaches replicas
    }
    ctx.reply.ArrayHeader(types::kHllRegisters);
    for (int j = 0; j < types::kHllRegisters; ++j) {
      ctx.reply.Integer(types::HllDenseRegister(*s, j));
    }
  } else if (absl::EqualsIgnoreCase(sub, "decode")) {
    if (!sparse) {
      ctx.reply.Error("ERR HLL encoding is not sparse");
      return;
    }
    ctx.reply.Bulk(types::HllDecodeSparse(*s));
  } else if (absl::EqualsIgnoreCase(sub, "encoding")) {
    ctx.reply.SimpleString(sparse ? "sparse" : "dense");
  } else if (absl::EqualsIgnoreCase(sub, "todense")) {
    if (sparse) {
      if (!types::HllSparseToDense(s)) {
        ctx.reply.Error(kCorruptHll);
        return;
      }
      ctx.AddDirty(1);
    }
    ctx.reply.Integer(sparse ? 1 : 0);
  } else {
    ctx.reply.Error(absl::StrCat("ERR Unknown PFDEBUG subcommand '", sub, "'"));
  }
}

void PfSelfTest(CommandContext& ctx, Args) {
  const std::string err =
      types::HllSelfTest(static_cast<uint64_t>(ctx.now_ms) * 0x9e3779b97f4a7c15ULL, SparseMax(ctx));
  if (err.empty()) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Error(err);
  }
}

CommandSpec Spec(std::string name, int arity, uint32_t flags, Handler h, int first, int last,
                 std::string_view summary) {
  CommandSpec spec =
      KeyedCommand(std::move(name), arity, flags, h, first, last, "hyperloglog", "2.8.9");
  spec.summary = summary;
  return spec;
}

}  // namespace

void RegisterHllFamily(CommandTable& t) {
  constexpr uint32_t kWD = kCmdWrite | kCmdDenyOom;
  t.Register(Spec("pfadd", -2, kWD | kCmdFast, PfAdd, 1, 1,
                  "Adds the specified elements to the specified HyperLogLog."));
  t.Register(Spec("pfcount", -2, kCmdReadonly | kCmdMayReplicate, PfCount, 1, -1,
                  "Return the approximated cardinality of the set(s) observed by the HyperLogLog "
                  "at key(s)."));
  t.Register(Spec("pfmerge", -2, kWD, PfMerge, 1, -1,
                  "Merge N different HyperLogLogs into a single one."));
  t.Register(Spec("pfdebug", 3, kWD | kCmdAdmin, PfDebug, 2, 2,
                  "Internal commands for debugging HyperLogLog values"));
  t.Register(Spec("pfselftest", 1, kCmdAdmin, PfSelfTest, 0, 0,
                  "An internal command for testing HyperLogLog values"));
}

}  // namespace shardnode::node
