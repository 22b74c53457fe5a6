// String commands: GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET
// MSETNX APPEND STRLEN GETRANGE SUBSTR SETRANGE INCR DECR INCRBY DECRBY
// INCRBYFLOAT, with Redis 7.0.15's replies, errors and value encodings.
#include <cmath>
#include <limits>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/type_family.h"
#include "node/config/options.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/keyspace/types/type_util.h"
#include "node/resp/reply.h"
#include "node/server/node_services.h"
#include "node/server/shard.h"
#include "slots/hash_slot.h"

namespace shardnode::node {
namespace {

void ReplyString(CommandContext& ctx, const Value& v) {
  std::string scratch;
  ctx.reply.Bulk(v.View(&scratch));
}

// Looks `key` up for reading; replies WRONGTYPE and sets *wrong when it holds
// a non-string. Returns the live string entry or nullptr.
Entry* FindString(CommandContext& ctx, std::string_view key, bool read, bool* wrong) {
  Db& db = ctx.DbFor(key);
  Entry* e = read ? db.FindRead(key, ctx.now_ms) : db.Find(key, ctx.now_ms);
  *wrong = e && !e->value().is_string();
  if (*wrong) {
    ctx.reply.Error(errors::kWrongType);
    return nullptr;
  }
  return e;
}

std::string InvalidExpire(const CommandContext& ctx) {
  return errors::InvalidExpireTime(ctx.spec.name);
}

bool CheckStringLength(CommandContext& ctx, int64_t size, int64_t append) {
  const uint64_t total = static_cast<uint64_t>(size) + static_cast<uint64_t>(append);
  if (total > static_cast<uint64_t>(ctx.node.options().proto_max_bulk_len)) {
    ctx.reply.Error(errors::kStringTooLong);
    return false;
  }
  return true;
}

// SET / GETEX option flags.
enum : uint32_t {
  kNx = 1 << 0,
  kXx = 1 << 1,
  kEx = 1 << 2,
  kPx = 1 << 3,
  kKeepTtl = 1 << 4,
  kGet = 1 << 5,
  kExAt = 1 << 6,
  kPxAt = 1 << 7,
  kPersist = 1 << 8,
};
constexpr uint32_t kAnyExpire = kEx | kPx | kExAt | kPxAt;

struct ExpireArg {
  uint32_t flags = 0;
  const std::string* value = nullptr;  // the EX/PX/EXAT/PXAT argument
};

// Parses SET's options (from args[3]) or GETEX's (from args[2]). Each option
// is refused when a conflicting one was seen before, as Redis does.
bool ParseStringOptions(CommandContext& ctx, Args args, bool is_set, ExpireArg* out) {
  uint32_t& f = out->flags;
  for (size_t j = is_set ? 3 : 2; j < args.size(); ++j) {
    const std::string& opt = args[j];
    const bool has_next = j + 1 < args.size();
    auto is = [&](absl::string_view name) { return absl::EqualsIgnoreCase(opt, name); };
    auto take_expire = [&](uint32_t flag, uint32_t conflicts) {
      if (!(f & conflicts) && has_next) {
        f |= flag;
        out->value = &args[++j];
        return true;
      }
      return false;
    };
    if (is_set && is("nx") && !(f & kXx)) {
      f |= kNx;
    } else if (is_set && is("xx") && !(f & kNx)) {
      f |= kXx;
    } else if (is_set && is("get")) {
      f |= kGet;
    } else if (is_set && is("keepttl") && !(f & (kPersist | kAnyExpire))) {
      f |= kKeepTtl;
    } else if (!is_set && is("persist") && !(f & (kAnyExpire | kKeepTtl))) {
      f |= kPersist;
    } else if (is("ex") && take_expire(kEx, kKeepTtl | kPersist | kExAt | kPx | kPxAt)) {
    } else if (is("px") && take_expire(kPx, kKeepTtl | kPersist | kEx | kExAt | kPxAt)) {
    } else if (is("exat") && take_expire(kExAt, kKeepTtl | kPersist | kEx | kPx | kPxAt)) {
    } else if (is("pxat") && take_expire(kPxAt, kKeepTtl | kPersist | kEx | kExAt | kPx)) {
    } else {
      ctx.reply.Error(errors::kSyntax);
      return false;
    }
  }
  return true;
}

// The absolute expiry (ms) an EX/PX/EXAT/PXAT argument designates. Replies
// the error and returns false when it is not a positive integer or overflows.
bool ExpireMs(CommandContext& ctx, const std::string& arg, uint32_t flags, int64_t* ms) {
  int64_t v;
  if (!types::ParseInt64(arg, &v)) {
    ctx.reply.Error(errors::kNotInteger);
    return false;
  }
  const bool seconds = flags & (kEx | kExAt);
  if (v <= 0 || (seconds && v > std::numeric_limits<int64_t>::max() / 1000)) {
    ctx.reply.Error(InvalidExpire(ctx));
    return false;
  }
  if (seconds) v *= 1000;
  if (flags & (kEx | kPx)) {
    // Wraps like Redis's signed addition would; a wrapped result is <= 0.
    v = static_cast<int64_t>(static_cast<uint64_t>(v) + static_cast<uint64_t>(ctx.now_ms));
  }
  if (v <= 0) {
    ctx.reply.Error(InvalidExpire(ctx));
    return false;
  }
  *ms = v;
  return true;
}

// GET's reply for `key`; false (WRONGTYPE replied) when it is not a string.
bool ReplyGet(CommandContext& ctx, std::string_view key) {
  bool wrong;
  Entry* e = FindString(ctx, key, true, &wrong);
  if (wrong) return false;
  if (e) {
    ReplyString(ctx, e->value());
  } else {
    ctx.reply.NullBulk();
  }
  return true;
}

// The common body of SET, SETNX, SETEX and PSETEX.
void SetGeneric(CommandContext& ctx, const std::string& key, const std::string& value,
                const ExpireArg& opt, bool reply_int) {
  const uint32_t f = opt.flags;
  int64_t when = 0;
  if (opt.value && !ExpireMs(ctx, *opt.value, f, &when)) return;
  if ((f & kGet) && !ReplyGet(ctx, key)) return;
  // Only NX and XX look first: Db::Set's own lookup expires a stale key
  // and touches a live one, once, as Redis's lookupKeyWrite (an overwrite
  // keeps the access clock, an LFU counter counts one access).
  Db& db = ctx.DbFor(key);
  const bool found = (f & (kNx | kXx)) != 0 && db.Find(key, ctx.now_ms, /*touch=*/false) != nullptr;
  if (((f & kNx) && found) || ((f & kXx) && !found)) {
    if (found) db.Find(key, ctx.now_ms);  // not set: the lookup's touch
    if (!(f & kGet)) {
      if (reply_int) {
        ctx.reply.Integer(0);
      } else {
        ctx.reply.NullBulk();
      }
    }
    return;
  }
  Entry* e = db.Set(key, Value::FromStringTryInt(value), ctx.now_ms, f & kKeepTtl);
  ctx.AddDirty(1);
  ctx.Notify(kNotifyString, "set", key);
  if (opt.value) {
    db.SetExpire(e, when);
    ctx.Notify(kNotifyGeneric, "expire", key);
    // Any relative or absolute expiry reaches replicas as PXAT (NX, XX and
    // GET, decided here, are dropped), as Redis 7.0 propagates it.
    ctx.propagate_as = {"SET", key, value, "PXAT", absl::StrCat(when)};
  }
  if (!(f & kGet)) {
    if (reply_int) {
      ctx.reply.Integer(1);
    } else {
      ctx.reply.Ok();
    }
  }
}

void Get(CommandContext& ctx, Args args) { ReplyGet(ctx, args[1]); }

void Set(CommandContext& ctx, Args args) {
  ExpireArg opt;
  if (!ParseStringOptions(ctx, args, true, &opt)) return;
  SetGeneric(ctx, args[1], args[2], opt, false);
}

void SetNx(CommandContext& ctx, Args args) {
  SetGeneric(ctx, args[1], args[2], ExpireArg{kNx, nullptr}, true);
}

void SetEx(CommandContext& ctx, Args args) {
  SetGeneric(ctx, args[1], args[3], ExpireArg{kEx, &args[2]}, false);
}

void PSetEx(CommandContext& ctx, Args args) {
  SetGeneric(ctx, args[1], args[3], ExpireArg{kPx, &args[2]}, false);
}

void GetSet(CommandContext& ctx, Args args) {
  if (!ReplyGet(ctx, args[1])) return;
  ctx.DbFor(args[1]).Set(args[1], Value::FromStringTryInt(args[2]), ctx.now_ms);
  ctx.Notify(kNotifyString, "set", args[1]);
  ctx.AddDirty(1);
  ctx.propagate_as = {"SET", args[1], args[2]};
}

void GetDel(CommandContext& ctx, Args args) {
  if (!ReplyGet(ctx, args[1])) return;
  if (ctx.DbFor(args[1]).Delete(args[1], ctx.now_ms)) {
    ctx.AddDirty(1);
    ctx.Notify(kNotifyGeneric, "del", args[1]);
    ctx.propagate_as = {"DEL", args[1]};
  }
}

void GetEx(CommandContext& ctx, Args args) {
  ExpireArg opt;
  if (!ParseStringOptions(ctx, args, false, &opt)) return;
  bool wrong;
  Entry* e = FindString(ctx, args[1], true, &wrong);
  if (wrong) return;
  if (!e) {
    ctx.reply.NullBulk();
    return;
  }
  int64_t when = 0;
  if (opt.value && !ExpireMs(ctx, *opt.value, opt.flags, &when)) return;
  ReplyString(ctx, e->value());
  // GETEX itself never reaches replicas: they get DEL, PEXPIREAT or PERSIST.
  if ((opt.flags & (kExAt | kPxAt)) && AlreadyExpired(ctx, when)) {
    ctx.DbFor(args[1]).Delete(args[1], ctx.now_ms);
    ctx.AddDirty(1);
    ctx.Notify(kNotifyGeneric, "del", args[1]);
    ctx.propagate_as = {"DEL", args[1]};
  } else if (opt.value) {
    ctx.DbFor(args[1]).SetExpire(e, when);
    ctx.AddDirty(1);
    ctx.Notify(kNotifyGeneric, "expire", args[1]);
    ctx.propagate_as = {"PEXPIREAT", args[1], absl::StrCat(when)};
  } else if ((opt.flags & kPersist) && ctx.DbFor(args[1]).Persist(e)) {
    ctx.AddDirty(1);
    ctx.Notify(kNotifyGeneric, "persist", args[1]);
    ctx.propagate_as = {"PERSIST", args[1]};
  }
}

void MGet(CommandContext& ctx, Args args) {
  ctx.reply.ArrayHeader(args.size() - 1);
  for (size_t i = 1; i < args.size(); ++i) {
    Entry* e = ctx.DbFor(args[i]).FindRead(args[i], ctx.now_ms);
    if (e && e->value().is_string()) {
      ReplyString(ctx, e->value());
    } else {
      ctx.reply.NullBulk();
    }
  }
}

void MSetGeneric(CommandContext& ctx, Args args, bool nx) {
  if (args.size() % 2 == 0) {
    ctx.reply.Error(ArityError(ctx.spec));
    return;
  }
  if (nx) {
    for (size_t i = 1; i < args.size(); i += 2) {
      if (ctx.DbFor(args[i]).Find(args[i], ctx.now_ms)) {
        ctx.reply.Integer(0);
        return;
      }
    }
  }
  for (size_t i = 1; i < args.size(); i += 2) {
    ctx.DbFor(args[i]).Set(args[i], Value::FromStringTryInt(args[i + 1]), ctx.now_ms);
    ctx.Notify(kNotifyString, "set", args[i]);
  }
  ctx.AddDirty((args.size() - 1) / 2);
  if (nx) {
    ctx.reply.Integer(1);
  } else {
    ctx.reply.Ok();
  }
}

void MSet(CommandContext& ctx, Args args) { MSetGeneric(ctx, args, false); }
void MSetNx(CommandContext& ctx, Args args) { MSetGeneric(ctx, args, true); }

void Append(CommandContext& ctx, Args args) {
  bool wrong;
  Entry* e = FindString(ctx, args[1], false, &wrong);
  if (wrong) return;
  size_t total;
  if (!e) {
    e = ctx.DbFor(args[1]).Set(args[1], Value::FromStringTryInt(args[2]), ctx.now_ms);
    total = args[2].size();
  } else {
    const size_t old_len = e->value().StringLength();
    if (!CheckStringLength(ctx, static_cast<int64_t>(old_len),
                           static_cast<int64_t>(args[2].size()))) {
      return;
    }
    std::string* s = e->value().MutableRawString();
    s->append(args[2]);
    total = s->size();
    ctx.DbFor(args[1]).NotifyModified(args[1]);
  }
  ctx.AddDirty(1);
  ctx.Notify(kNotifyString, "append", args[1]);
  ctx.reply.Integer(static_cast<int64_t>(total));
}

void StrLen(CommandContext& ctx, Args args) {
  bool wrong;
  Entry* e = FindString(ctx, args[1], true, &wrong);
  if (wrong) return;
  ctx.reply.Integer(e ? static_cast<int64_t>(e->value().StringLength()) : 0);
}

void GetRange(CommandContext& ctx, Args args) {
  int64_t start, end;
  if (!types::ParseInt64(args[2], &start) || !types::ParseInt64(args[3], &end)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  bool wrong;
  Entry* e = FindString(ctx, args[1], true, &wrong);
  if (wrong) return;
  if (!e) {
    ctx.reply.Bulk("");
    return;
  }
  std::string scratch;
  const std::string_view s = e->value().View(&scratch);
  const int64_t len = static_cast<int64_t>(s.size());
  if (start < 0 && end < 0 && start > end) {
    ctx.reply.Bulk("");
    return;
  }
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len == 0) {
    ctx.reply.Bulk("");
  } else {
    ctx.reply.Bulk(s.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
  }
}

void SetRange(CommandContext& ctx, Args args) {
  int64_t offset;
  if (!types::ParseInt64(args[2], &offset)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  if (offset < 0) {
    ctx.reply.Error(errors::kOffsetOutOfRange);
    return;
  }
  const std::string& patch = args[3];
  bool wrong;
  Entry* e = FindString(ctx, args[1], false, &wrong);
  if (wrong) return;
  if (!e) {
    if (patch.empty()) {
      ctx.reply.Integer(0);
      return;
    }
    if (!CheckStringLength(ctx, offset, static_cast<int64_t>(patch.size()))) return;
    e = ctx.DbFor(args[1]).Set(args[1], Value::FromStringRaw(""), ctx.now_ms);
  } else {
    const size_t old_len = e->value().StringLength();
    if (patch.empty()) {
      ctx.reply.Integer(static_cast<int64_t>(old_len));
      return;
    }
    if (!CheckStringLength(ctx, offset, static_cast<int64_t>(patch.size()))) return;
  }
  std::string* s = e->value().MutableRawString();
  const size_t need = static_cast<size_t>(offset) + patch.size();
  if (s->size() < need) s->resize(need, '\0');
  s->replace(static_cast<size_t>(offset), patch.size(), patch);
  ctx.DbFor(args[1]).NotifyModified(args[1]);
  ctx.Notify(kNotifyString, "setrange", args[1]);
  ctx.AddDirty(1);
  ctx.reply.Integer(static_cast<int64_t>(s->size()));
}

void IncrDecr(CommandContext& ctx, std::string_view key, int64_t incr) {
  bool wrong;
  Entry* e = FindString(ctx, key, false, &wrong);
  if (wrong) return;
  int64_t value = 0;
  if (e) {
    const Value& v = e->value();
    if (v.is_int_encoded()) {
      value = v.int_value();
    } else {
      std::string scratch;
      if (!types::ParseInt64(v.View(&scratch), &value)) {
        ctx.reply.Error(errors::kNotInteger);
        return;
      }
    }
  }
  if (!AddIncrementOrReply(ctx, incr, &value)) return;
  if (e) {
    e->value() = Value::FromInt(value);  // the TTL stays
    ctx.DbFor(key).NotifyModified(key);
  } else {
    ctx.DbFor(key).Set(key, Value::FromInt(value), ctx.now_ms);
  }
  ctx.AddDirty(1);
  ctx.Notify(kNotifyString, "incrby", key);
  ctx.reply.Integer(value);
}

void Incr(CommandContext& ctx, Args args) { IncrDecr(ctx, args[1], 1); }
void Decr(CommandContext& ctx, Args args) { IncrDecr(ctx, args[1], -1); }

void IncrBy(CommandContext& ctx, Args args) {
  int64_t incr;
  if (!types::ParseInt64(args[2], &incr)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  IncrDecr(ctx, args[1], incr);
}

void DecrBy(CommandContext& ctx, Args args) {
  int64_t incr;
  if (!types::ParseInt64(args[2], &incr)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  if (incr == std::numeric_limits<int64_t>::min()) {
    ctx.reply.Error(errors::kDecrOverflow);
    return;
  }
  IncrDecr(ctx, args[1], -incr);
}

void IncrByFloat(CommandContext& ctx, Args args) {
  bool wrong;
  Entry* e = FindString(ctx, args[1], false, &wrong);
  if (wrong) return;
  long double value = 0, incr;
  if (e) {
    std::string scratch;
    const Value& v = e->value();
    if (v.is_int_encoded()) {
      value = static_cast<long double>(v.int_value());
    } else if (!types::ParseLongDouble(v.View(&scratch), &value)) {
      ctx.reply.Error(errors::kNotFloat);
      return;
    }
  }
  if (!types::ParseLongDouble(args[2], &incr)) {
    ctx.reply.Error(errors::kNotFloat);
    return;
  }
  if (!AddFloatIncrementOrReply(ctx, incr, &value)) return;
  const std::string text = resp::FormatLongDouble(value);
  if (e) {
    e->value() = Value::FromString(text);  // the TTL stays
    ctx.DbFor(args[1]).NotifyModified(args[1]);
  } else {
    ctx.DbFor(args[1]).Set(args[1], Value::FromString(text), ctx.now_ms);
  }
  ctx.AddDirty(1);
  ctx.Notify(kNotifyString, "incrbyfloat", args[1]);
  ctx.reply.Bulk(text);
  // Replicas store the result rather than redo float arithmetic.
  ctx.propagate_as = {"SET", args[1], text, "KEEPTTL"};
}

CommandSpec Spec(std::string name, int arity, uint32_t flags, Handler h, int first, int last,
                 int step, std::string_view summary, std::string_view since) {
  return CommandSpec{.name = std::move(name),
                     .arity = arity,
                     .flags = flags,
                     .first_key = first,
                     .last_key = last,
                     .key_step = step,
                     .handler = h,
                     .group = "string",
                     .summary = summary,
                     .since = since};
}

}  // namespace

void RegisterStringFamily(CommandTable& t) {
  constexpr uint32_t kR = kCmdReadonly;
  constexpr uint32_t kW = kCmdWrite;
  constexpr uint32_t kWD = kCmdWrite | kCmdDenyOom;
  constexpr uint32_t kF = kCmdFast;
  t.Register(Spec("get", 2, kR | kF, Get, 1, 1, 1, "Get the value of a key", "1.0.0"));
  t.Register(Spec("set", -3, kWD, Set, 1, 1, 1, "Set the string value of a key", "1.0.0"));
  t.Register(Spec("setnx", 3, kWD | kF, SetNx, 1, 1, 1,
                  "Set the value of a key, only if the key does not exist", "1.0.0"));
  t.Register(
      Spec("setex", 4, kWD, SetEx, 1, 1, 1, "Set the value and expiration of a key", "2.0.0"));
  t.Register(Spec("psetex", 4, kWD, PSetEx, 1, 1, 1,
                  "Set the value and expiration in milliseconds of a key", "2.6.0"));
  t.Register(Spec("getset", 3, kWD | kF, GetSet, 1, 1, 1,
                  "Set the string value of a key and return its old value", "1.0.0"));
  t.Register(Spec("getdel", 2, kW | kF, GetDel, 1, 1, 1,
                  "Get the value of a key and delete the key", "6.2.0"));
  t.Register(Spec("getex", -2, kW | kF, GetEx, 1, 1, 1,
                  "Get the value of a key and optionally set its expiration", "6.2.0"));
  t.Register(
      Spec("mget", -2, kR | kF, MGet, 1, -1, 1, "Get the values of all the given keys", "1.0.0"));
  t.Register(
      Spec("mset", -3, kWD, MSet, 1, -1, 2, "Set multiple keys to multiple values", "1.0.1"));
  t.Register(Spec("msetnx", -3, kWD, MSetNx, 1, -1, 2,
                  "Set multiple keys to multiple values, only if none of the keys exist", "1.0.1"));
  t.Register(Spec("append", 3, kWD | kF, Append, 1, 1, 1, "Append a value to a key", "2.0.0"));
  t.Register(Spec("strlen", 2, kR | kF, StrLen, 1, 1, 1,
                  "Get the length of the value stored in a key", "2.2.0"));
  t.Register(Spec("getrange", 4, kR, GetRange, 1, 1, 1,
                  "Get a substring of the string stored at a key", "2.4.0"));
  t.Register(Spec("substr", 4, kR, GetRange, 1, 1, 1,
                  "Get a substring of the string stored at a key", "1.0.0"));
  t.Register(Spec("setrange", 4, kWD, SetRange, 1, 1, 1,
                  "Overwrite part of a string at key starting at the specified offset", "2.2.0"));
  t.Register(Spec("incr", 2, kWD | kF, Incr, 1, 1, 1, "Increment the integer value of a key by one",
                  "1.0.0"));
  t.Register(Spec("decr", 2, kWD | kF, Decr, 1, 1, 1, "Decrement the integer value of a key by one",
                  "1.0.0"));
  t.Register(Spec("incrby", 3, kWD | kF, IncrBy, 1, 1, 1,
                  "Increment the integer value of a key by the given amount", "1.0.0"));
  t.Register(Spec("decrby", 3, kWD | kF, DecrBy, 1, 1, 1,
                  "Decrement the integer value of a key by the given number", "1.0.0"));
  t.Register(Spec("incrbyfloat", 3, kWD | kF, IncrByFloat, 1, 1, 1,
                  "Increment the float value of a key by the given amount", "2.6.0"));
}

}  // namespace shardnode::node
