#include "node/commands/persist_family.h"

#include <chrono>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/strings.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/config/config.h"
#include "node/config/options.h"
#include "node/keyspace/db.h"
#include "node/keyspace/eviction.h"
#include "node/keyspace/keyspace.h"
#include "node/keyspace/types/type_util.h"
#include "node/persist/aof.h"
#include "node/persist/dataset.h"
#include "node/persist/digest.h"
#include "node/persist/persistence.h"
#include "node/resp/reply.h"
#include "node/server/log.h"
#include "node/server/node_services.h"
#include "node/server/session.h"
#include "node/server/shard.h"
#include "replication/rdb.h"
#include "slots/hash_slot.h"

namespace shardnode::node {
namespace {

bool Is(std::string_view a, std::string_view b) { return base::EqualsIgnoreCase(a, b); }

void Save(CommandContext& ctx, Args) {
  persist::Persistence* p = ctx.node.persistence();
  if (p == nullptr) {
    ctx.reply.Error(errors::kErr);
    return;
  }
  const absl::Status st = p->Save(ctx.now_ms, /*counted=*/true);
  if (st.ok()) {
    ctx.reply.Ok();
  } else if (st.code() == absl::StatusCode::kFailedPrecondition) {
    ctx.reply.Error(errors::Err(st));
  } else {
    ctx.reply.Error(errors::kErr);
  }
}

void Bgsave(CommandContext& ctx, Args args) {
  if (args.size() > 1 && !(args.size() == 2 && Is(args[1], "schedule"))) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  persist::Persistence* p = ctx.node.persistence();
  if (p == nullptr) {
    ctx.reply.Error(errors::kErr);
    return;
  }
  const absl::Status st = p->StartBackgroundSave(ctx.now_ms);
  if (st.ok()) {
    ctx.reply.SimpleString("Background saving started");
  } else if (st.code() == absl::StatusCode::kFailedPrecondition) {
    ctx.reply.Error(errors::Err(st));
  } else {
    ctx.reply.Error(errors::kErr);
  }
}

// BGREWRITEAOF: a fork-less rewrite (node/persist/aof.h); scheduled when
// a BGSAVE runs or inside a transaction.
void Bgrewriteaof(CommandContext& ctx, Args) {
  persist::Persistence* p = ctx.node.persistence();
  if (p == nullptr) {
    ctx.reply.Error(errors::kErr);
    return;
  }
  const bool in_exec = ctx.session.deny_blocking && !ctx.session.from_primary;
  absl::StatusOr<std::string> r = p->aof()->BackgroundRewriteCommand(in_exec, ctx.now_ms);
  if (r.ok()) {
    ctx.reply.SimpleString(*r);
  } else {
    ctx.reply.Error(std::string(r.status().message()));
  }
}

// MIGRATE's keys (Redis's migrateGetKeys): argument 3, or, when it is empty
// and a KEYS option follows, every argument after KEYS.
std::vector<int> MigrateKeys(std::span<const std::string> args) {
  if (args.size() > 3 && args[3].empty()) {
    for (size_t i = 6; i < args.size(); ++i) {
      // An AUTH / AUTH2 value is never the KEYS word.
      if (base::EqualsIgnoreCase(args[i], "auth")) {
        ++i;
        continue;
      }
      if (base::EqualsIgnoreCase(args[i], "auth2")) {
        i += 2;
        continue;
      }
      if (base::EqualsIgnoreCase(args[i], "keys")) {
        std::vector<int> keys;
        for (size_t k = i + 1; k < args.size(); ++k) keys.push_back(static_cast<int>(k));
        return keys;
      }
    }
  }
  return {3};
}

// The work is node/migrate's (NodeServices::Migrate, wired by the data node).
void Migrate(CommandContext& ctx, Args args) {
  if (!ctx.node.Migrate(ctx, args)) ctx.reply.Error(errors::kMigrateUnavailable);
}

replication::RdbWriterOptions DumpOptions(NodeServices& node) {
  replication::RdbWriterOptions o;
  o.compression = node.options().rdbcompression;
  return o;
}

void Dump(CommandContext& ctx, Args args) {
  Entry* e = ctx.DbFor(args[1]).FindRead(args[1], ctx.now_ms);
  if (e == nullptr) {
    ctx.reply.NullBulk();
    return;
  }
  ctx.reply.Bulk(replication::DumpPayload(persist::ToRdbValue(e->value()), DumpOptions(ctx.node)));
}

// A RESTORE payload at least this big is decoded off the loop (when the
// node can: NodeServices::RunOffLoop), so that a 100 MB MIGRATE target
// keeps serving its other clients meanwhile.
constexpr size_t kRestoreOffLoopBytes = size_t{1} << 20;

// What RESTORE decided before the payload: its options and absolute expiry.
struct RestoreRequest {
  bool replace = false;
  bool absttl = false;    // as given (propagation keeps the command's form)
  int64_t expire_ms = 0;  // absolute; 0: none
  int64_t idle = -1;      // IDLETIME seconds; -1: not given
  int64_t freq = -1;      // FREQ; -1: not given
};

// A payload decoded (checksum, then the value), or why it is refused.
struct DecodedPayload {
  absl::Status status;
  Value value;
};

DecodedPayload DecodePayload(std::string_view payload, bool verify_checksum) {
  DecodedPayload d;
  auto value = replication::ParseDumpPayload(absl::string_view(payload.data(), payload.size()),
                                             verify_checksum);
  if (!value.ok()) {
    d.status = value.status();
  } else {
    d.value = persist::FromRdbValue(*value);
  }
  return d;
}

// RESTORE from the decoded payload on: Redis's checks and effects in its
// order. `owned_args` (set when the command's arguments were moved off the
// dispatcher's) is what propagates when the command goes as received.
void FinishRestore(CommandContext& ctx, const RestoreRequest& req, DecodedPayload decoded,
                   std::span<const std::string> args, std::vector<std::string>* owned_args) {
  if (!decoded.status.ok()) {
    // Why a value does not decode goes to the log at verbose level, as
    // Redis's rdbReportError does for RESTORE (a bad checksum or version
    // is not logged).
    if (decoded.status.code() != absl::StatusCode::kInvalidArgument) {
      Logf(LogLevel::kVerbose, "Internal error in RDB reading offset 0 -> %s",
           std::string(decoded.status.message()));
    }
    ctx.reply.Error(decoded.status.code() == absl::StatusCode::kInvalidArgument
                        ? errors::kBadDumpPayload
                        : errors::kBadDataFormat);
    return;
  }
  const std::string& key = args[1];
  const bool deleted = req.replace && ctx.DbFor(key).Delete(key, ctx.now_ms);
  if (req.expire_ms != 0 && AlreadyExpired(ctx, req.expire_ms)) {
    // Already expired: the key is gone, and so it is on replicas.
    if (deleted) {
      ctx.AddDirty(1);
      ctx.Notify(kNotifyGeneric, "del", key);
    }
    ctx.propagate_as = {"DEL", key};
    ctx.reply.Ok();
    return;
  }
  Entry* e = ctx.DbFor(key).Set(key, std::move(decoded.value), ctx.now_ms);
  if (req.expire_ms != 0) {
    ctx.DbFor(key).SetExpire(e, req.expire_ms);
    if (!req.absttl) {
      // Replicas get the absolute time.
      ctx.propagate_as.assign(args.begin(), args.end());
      ctx.propagate_as[2] = absl::StrCat(req.expire_ms);
      ctx.propagate_as.push_back("ABSTTL");
    }
  }
  if (ctx.propagate_as.empty() && owned_args != nullptr) ctx.propagate_as = std::move(*owned_args);
  // FREQ sets the LFU counter under an LFU policy, IDLETIME the access time
  // otherwise (Redis's objectSetLRUOrLFU); the other one is ignored.
  if (IsLfuPolicy(static_cast<EvictionPolicy>(ctx.node.options().maxmemory_policy))) {
    if (req.freq >= 0) {
      e->set_lru((LfuMinutes(ctx.now_ms) << 8) | static_cast<uint32_t>(req.freq));
    }
  } else if (req.idle >= 0) {
    const int64_t clock = LruClock(ctx.now_ms);
    int64_t at = clock - req.idle;
    // An idle time beyond the clock's reach: as Redis, half a wrap back.
    if (at < 0) at = (clock + kLruClockMax / 2) % kLruClockMax;
    e->set_lru(static_cast<uint32_t>(at));
  }
  ctx.AddDirty(1);
  ctx.Notify(kNotifyGeneric, "restore", key);
  ctx.reply.Ok();
}

// RESTORE and RESTORE-ASKING (the ASKING flag is the dispatcher's business).
void Restore(CommandContext& ctx, Args args) {
  RestoreRequest req;
  int64_t idle = -1, freq = -1;
  for (size_t j = 4; j < args.size(); ++j) {
    const size_t more = args.size() - j - 1;
    if (Is(args[j], "replace")) {
      req.replace = true;
    } else if (Is(args[j], "absttl")) {
      req.absttl = true;
    } else if (Is(args[j], "idletime") && more >= 1 && freq == -1) {
      if (!types::ParseInt64(args[j + 1], &idle)) {
        ctx.reply.Error(errors::kNotInteger);
        return;
      }
      if (idle < 0) {
        ctx.reply.Error(errors::kInvalidIdleTime);
        return;
      }
      ++j;
    } else if (Is(args[j], "freq") && more >= 1 && idle == -1) {
      if (!types::ParseInt64(args[j + 1], &freq)) {
        ctx.reply.Error(errors::kNotInteger);
        return;
      }
      if (freq < 0 || freq > 255) {
        ctx.reply.Error(errors::kInvalidFreq);
        return;
      }
      ++j;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  req.idle = idle;
  req.freq = freq;
  const std::string& key = args[1];
  if (!req.replace && ctx.DbFor(key).Find(key, ctx.now_ms, false) != nullptr) {
    ctx.reply.Error(errors::kBusyKey);
    return;
  }
  int64_t ttl = 0;
  if (!types::ParseInt64(args[2], &ttl)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  if (ttl < 0) {
    ctx.reply.Error(errors::kInvalidTtl);
    return;
  }
  req.expire_ms = ttl != 0 && !req.absttl ? ttl + ctx.now_ms : ttl;
  // A big payload: decoded on another thread while the key is held in
  // flight and the client waits; the rest runs back on the loop. Not inside
  // MULTI/EXEC nor for the primary's stream or an atomic migration's
  // link, which cannot wait (and must not be answered).
  if (args[3].size() >= kRestoreOffLoopBytes && ctx.node.CanRunOffLoop() &&
      !ctx.session.deny_blocking && !ctx.session.from_primary && !ctx.session.import_link) {
    struct Job {
      RestoreRequest req;
      std::vector<std::string> args;
      DecodedPayload decoded;
    };
    auto job = std::make_shared<Job>();
    job->req = req;
    job->args.assign(std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
    const bool verify = !ctx.node.skip_checksum_validation();
    ctx.node.RunOffLoop(
        ctx, job->args[1], [job, verify] { job->decoded = DecodePayload(job->args[3], verify); },
        [job](CommandContext& done) {
          FinishRestore(done, job->req, std::move(job->decoded), job->args, &job->args);
        });
    return;
  }
  FinishRestore(ctx, req, DecodePayload(args[3], !ctx.node.skip_checksum_validation()), args,
                nullptr);
}

// ---------------------------------------------------------------- DEBUG

void DebugReload(CommandContext& ctx, Args args) {
  bool flush = true, save = true, merge = false;
  for (size_t j = 2; j < args.size(); ++j) {
    if (Is(args[j], "merge")) {
      merge = true;
    } else if (Is(args[j], "noflush")) {
      flush = false;
    } else if (Is(args[j], "nosave")) {
      save = false;
    } else {
      ctx.reply.Error(errors::kDebugReloadOptions);
      return;
    }
  }
  persist::Persistence* p = ctx.node.persistence();
  if (p == nullptr) {
    ctx.reply.Error(errors::kErr);
    return;
  }
  const absl::Status st = p->Reload(ctx.now_ms, save, flush, merge);
  if (!st.ok()) {
    ctx.reply.Error(st.code() == absl::StatusCode::kDataLoss ||
                            st.code() == absl::StatusCode::kFailedPrecondition
                        ? errors::kDebugReloadLoad
                        : errors::kErr);
    return;
  }
  ctx.reply.Ok();
}

// Redis's getPositiveLongFromObjectOrReply.
bool ParseNonNegative(CommandContext& ctx, const std::string& arg, int64_t* out) {
  if (!types::ParseInt64(arg, out)) {
    ctx.reply.Error(errors::kNotInteger);
    return false;
  }
  if (*out < 0) {
    ctx.reply.Error(errors::kNotPositive);
    return false;
  }
  return true;
}

void DebugPopulate(CommandContext& ctx, Args args) {
  int64_t count = 0, size = 0;
  if (!ParseNonNegative(ctx, args[2], &count)) return;
  if (args.size() == 5 && !ParseNonNegative(ctx, args[4], &size)) return;
  const std::string prefix = args.size() >= 4 ? args[3] : "key";
  persist::Persistence* p = ctx.node.persistence();
  for (int64_t j = 0; j < count; ++j) {
    std::string key = absl::StrCat(prefix, ":", j);
    Db& db = ctx.DbFor(key);
    if (db.Find(key, ctx.now_ms, false) != nullptr) continue;
    std::string val = absl::StrCat("value:", j);
    if (size > 0) val.resize(static_cast<size_t>(size), '\0');
    // New keys are not part of a snapshot in progress.
    if (p != nullptr) p->BeforeWrite(ctx.db_index(), {key});
    db.Set(key, Value::FromString(val), ctx.now_ms);
  }
  ctx.reply.Ok();
}

void DebugDigestValue(CommandContext& ctx, Args args) {
  ctx.reply.ArrayHeader(args.size() - 2);
  for (size_t j = 2; j < args.size(); ++j) {
    Db& db = ctx.DbFor(args[j]);
    // A debug command sees logically expired keys too.
    const Entry* e = db.Find(args[j], std::numeric_limits<int64_t>::min(), false);
    ctx.reply.SimpleString(e ? persist::ValueDigest(e->value(), db.ExpireOf(e))
                             : std::string(40, '0'));
  }
}

}  // namespace

bool PersistDebug(CommandContext& ctx, Args args) {
  const std::string sub = absl::AsciiStrToLower(args[1]);
  if (sub == "reload") {
    DebugReload(ctx, args);
  } else if (sub == "populate" && args.size() >= 3 && args.size() <= 5) {
    DebugPopulate(ctx, args);
  } else if (sub == "digest" && args.size() == 2) {
    ctx.reply.SimpleString(persist::DatasetDigest(ctx.shard));
  } else if (sub == "digest-value") {
    DebugDigestValue(ctx, args);
  } else if (sub == "loadaof" && ctx.node.persistence() != nullptr) {
    // Flush, empty everything (functions too) and load the AOF folder
    // again; a failure exits the node, as in Redis.
    ctx.node.persistence()->aof()->DebugLoadAof();
    ctx.node.SetDirty(0);
    Log(LogLevel::kNotice, "Append Only File loaded by DEBUG LOADAOF");
    ctx.reply.Ok();
  } else if (sub == "aof-flush-sleep" && args.size() == 3 && ctx.node.persistence() != nullptr) {
    ctx.node.persistence()->aof()->set_flush_sleep_us(std::atoll(args[2].c_str()));
    ctx.reply.Ok();
  } else if (sub == "set-active-expire" && args.size() == 3) {
    ctx.node.set_active_expire_enabled(std::atoi(args[2].c_str()) != 0);
    ctx.reply.Ok();
  } else {
    return false;
  }
  return true;
}

void RegisterPersistFamily(CommandTable& t) {
  t.Register({.name = "save",
              .arity = 1,
              .flags = kCmdAdmin | kCmdNoScript | kCmdNoAsyncLoading | kCmdNoMulti,
              .handler = Save,
              .group = "server",
              .summary = "Synchronously save the dataset to disk",
              .since = "1.0.0"});
  t.Register({.name = "bgsave",
              .arity = -1,
              .flags = kCmdAdmin | kCmdNoScript | kCmdNoAsyncLoading,
              .handler = Bgsave,
              .group = "server",
              .summary = "Asynchronously save the dataset to disk",
              .since = "1.0.0"});
  t.Register({.name = "bgrewriteaof",
              .arity = 1,
              .flags = kCmdAdmin | kCmdNoScript | kCmdNoAsyncLoading,
              .handler = Bgrewriteaof,
              .group = "server",
              .summary = "Asynchronously rewrite the append-only file",
              .since = "1.0.0"});
  t.Register({.name = "dump",
              .arity = 2,
              .flags = kCmdReadonly,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .handler = Dump,
              .group = "generic",
              .summary = "Return a serialized version of the value stored at the specified key.",
              .since = "2.6.0"});
  t.Register({.name = "restore",
              .arity = -4,
              .flags = kCmdWrite | kCmdDenyOom,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .handler = Restore,
              .group = "generic",
              .summary = "Create a key using the provided serialized value, previously obtained "
                         "using DUMP.",
              .since = "2.6.0"});
  t.Register({.name = "migrate",
              .arity = -6,
              .flags = kCmdWrite,
              .first_key = 3,
              .last_key = 3,
              .key_step = 1,
              .handler = Migrate,
              .keys = MigrateKeys,
              .group = "generic",
              .summary = "Atomically transfer a key from a Redis instance to another one.",
              .since = "2.6.0"});
  t.Register({.name = "restore-asking",
              .arity = -4,
              .flags = kCmdWrite | kCmdDenyOom | kCmdAsking,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .handler = Restore,
              .group = "server",
              .summary = "An internal command for migrating keys in a cluster",
              .since = "3.0.0"});
}

}  // namespace shardnode::node
