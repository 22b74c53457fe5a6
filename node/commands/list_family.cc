// List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET
// LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP and the blocking BLPOP BRPOP
// BLMOVE BRPOPLPUSH BLMPOP, with Redis 7.0.15's replies and errors. The data
// lives in ListObject (keyspace/types); blocked clients in BlockingTable
// (server/blocking.h), served by the Serve* functions here.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "node/commands/blocked_serve.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/type_family.h"
#include "node/keyspace/db.h"
#include "node/keyspace/types/list_object.h"
#include "node/keyspace/types/lookup.h"
#include "node/keyspace/types/type_util.h"
#include "node/resp/reply.h"
#include "node/server/blocking.h"
#include "node/server/node_services.h"
#include "node/server/session.h"
#include "node/server/shard.h"

namespace shardnode::node {
namespace {

using types::Found;

Found GetList(CommandContext& ctx, std::string_view key, bool read, ListObject** l) {
  return FindTypedOrReply(ctx, key, ValueType::kList, read, l);
}

// "LEFT" -> true (head), "RIGHT" -> false; syntax error otherwise.
bool ParseWhere(CommandContext& ctx, const std::string& s, bool* head) {
  if (absl::EqualsIgnoreCase(s, "left")) {
    *head = true;
  } else if (absl::EqualsIgnoreCase(s, "right")) {
    *head = false;
  } else {
    ctx.reply.Error(errors::kSyntax);
    return false;
  }
  return true;
}

// Raises the list event `event` on `key`, then removes the list if it is
// now empty, with its "del" event (Redis's order).
void NotifyDeleteIfEmpty(CommandContext& ctx, std::string_view key, ListObject* l,
                         std::string_view event) {
  ctx.Notify(kNotifyList, event, key);
  if (l->Size() != 0) return;
  ctx.DbFor(key).Delete(key, ctx.now_ms);
  ctx.Notify(kNotifyGeneric, "del", key);
}

std::string_view PopEvent(bool head) { return head ? "lpop" : "rpop"; }
std::string_view PushEvent(bool head) { return head ? "lpush" : "rpush"; }

void PushGeneric(CommandContext& ctx, Args args, bool head, bool only_existing) {
  ListObject* l = nullptr;
  Found f = GetList(ctx, args[1], false, &l);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    if (only_existing) {
      ctx.reply.Integer(0);
      return;
    }
    l = types::CreateTyped<ListObject>(ctx.DbFor(args[1]), args[1], ctx.now_ms, ValueType::kList);
  }
  for (size_t i = 2; i < args.size(); ++i) {
    if (head) {
      l->PushFront(args[i]);
    } else {
      l->PushBack(args[i]);
    }
  }
  ctx.reply.Integer(l->Size());
  Wrote(ctx, args[1], args.size() - 2);
  ctx.Notify(kNotifyList, PushEvent(head), args[1]);
}
void LPush(CommandContext& ctx, Args args) { PushGeneric(ctx, args, true, false); }
void RPush(CommandContext& ctx, Args args) { PushGeneric(ctx, args, false, false); }
void LPushX(CommandContext& ctx, Args args) { PushGeneric(ctx, args, true, true); }
void RPushX(CommandContext& ctx, Args args) { PushGeneric(ctx, args, false, true); }

// Pops up to `count` elements from one end, in pop order.
std::vector<std::string> PopN(ListObject* l, bool head, size_t count) {
  std::vector<std::string> out;
  count = std::min(count, l->Size());
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.push_back(head ? l->PopFront() : l->PopBack());
  return out;
}

void PopGeneric(CommandContext& ctx, Args args, bool head) {
  if (args.size() > 3) {
    ctx.reply.Error(ArityError(ctx.spec));
    return;
  }
  const bool hascount = args.size() == 3;
  int64_t count = 0;
  if (hascount) {
    // Redis's getPositiveLongFromObjectOrReply: one message for both failures.
    if (!types::ParseInt64(args[2], &count) || count < 0) {
      ctx.reply.Error(errors::kNotPositive);
      return;
    }
  }
  ListObject* l = nullptr;
  Found f = GetList(ctx, args[1], false, &l);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    if (hascount) {
      ctx.reply.NullArray();
    } else {
      ctx.reply.NullBulk();
    }
    return;
  }
  if (hascount && count == 0) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  if (!hascount) {
    ctx.reply.Bulk(head ? l->PopFront() : l->PopBack());
    NotifyDeleteIfEmpty(ctx, args[1], l, PopEvent(head));
    Wrote(ctx, args[1], 1);
    return;
  }
  std::vector<std::string> out = PopN(l, head, count);
  ctx.reply.ArrayHeader(out.size());
  for (const std::string& v : out) ctx.reply.Bulk(v);
  NotifyDeleteIfEmpty(ctx, args[1], l, PopEvent(head));
  Wrote(ctx, args[1], out.size());
}
void LPop(CommandContext& ctx, Args args) { PopGeneric(ctx, args, true); }
void RPop(CommandContext& ctx, Args args) { PopGeneric(ctx, args, false); }

void LLen(CommandContext& ctx, Args args) {
  ListObject* l = nullptr;
  Found f = GetList(ctx, args[1], true, &l);
  if (f == Found::kWrongType) return;
  ctx.reply.Integer(f == Found::kOk ? l->Size() : 0);
}

void LRange(CommandContext& ctx, Args args) {
  int64_t start, end;
  if (!ParseLong(args[2], &start, ctx) || !ParseLong(args[3], &end, ctx)) return;
  ListObject* l = nullptr;
  Found f = GetList(ctx, args[1], true, &l);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  const int64_t llen = static_cast<int64_t>(l->Size());
  if (start < 0) start += llen;
  if (end < 0) end += llen;
  if (start < 0) start = 0;
  if (start > end || start >= llen) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  if (end >= llen) end = llen - 1;
  ctx.reply.ArrayHeader(end - start + 1);
  l->Walk(static_cast<size_t>(start), false, [&](size_t i, std::string_view v) {
    ctx.reply.Bulk(v);
    return i < static_cast<size_t>(end);
  });
}

// Resolves a possibly negative index; false when out of range.
bool ResolveIndex(int64_t index, size_t size, size_t* pos) {
  const int64_t n = static_cast<int64_t>(size);
  if (index < 0) index += n;
  if (index < 0 || index >= n) return false;
  *pos = static_cast<size_t>(index);
  return true;
}

void LIndex(CommandContext& ctx, Args args) {
  ListObject* l = nullptr;
  Found f = GetList(ctx, args[1], true, &l);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.NullBulk();
    return;
  }
  int64_t index;
  if (!ParseLong(args[2], &index, ctx)) return;
  size_t pos;
  if (ResolveIndex(index, l->Size(), &pos)) {
    std::string scratch;
    ctx.reply.Bulk(l->Get(pos, &scratch));
  } else {
    ctx.reply.NullBulk();
  }
}

void LSet(CommandContext& ctx, Args args) {
  ListObject* l = nullptr;
  Found f = GetList(ctx, args[1], false, &l);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.Error(errors::kNoSuchKey);
    return;
  }
  int64_t index;
  if (!ParseLong(args[2], &index, ctx)) return;
  size_t pos;
  if (!ResolveIndex(index, l->Size(), &pos)) {
    ctx.reply.Error(errors::kIndexOutOfRange);
    return;
  }
  l->Set(pos, args[3]);
  ctx.reply.Ok();
  Wrote(ctx, args[1], 1);
  ctx.Notify(kNotifyList, "lset", args[1]);
}

void LInsert(CommandContext& ctx, Args args) {
  bool after;
  if (absl::EqualsIgnoreCase(args[2], "after")) {
    after = true;
  } else if (absl::EqualsIgnoreCase(args[2], "before")) {
    after = false;
  } else {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  ListObject* l = nullptr;
  Found f = GetList(ctx, args[1], false, &l);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.Integer(0);
    return;
  }
  size_t pivot = l->Size();
  l->Walk(0, false, [&](size_t i, std::string_view v) {
    if (v != args[3]) return true;
    pivot = i;
    return false;
  });
  if (pivot == l->Size()) {
    ctx.reply.Integer(-1);
    return;
  }
  l->Insert(after ? pivot + 1 : pivot, args[4]);
  Wrote(ctx, args[1], 1);
  ctx.Notify(kNotifyList, "linsert", args[1]);
  ctx.reply.Integer(l->Size());
}

void LRem(CommandContext& ctx, Args args) {
  int64_t count;
  if (!ParseLong(args[2], &count, ctx)) return;
  ListObject* l = nullptr;
  Found f = GetList(ctx, args[1], false, &l);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.Integer(0);
    return;
  }
  const uint64_t limit = count < 0 ? -static_cast<uint64_t>(count) : count;
  const auto removed = static_cast<int64_t>(l->RemoveMatching(args[3], limit, count < 0));
  if (removed) {
    NotifyDeleteIfEmpty(ctx, args[1], l, "lrem");
    Wrote(ctx, args[1], removed);
  }
  ctx.reply.Integer(removed);
}

void LTrim(CommandContext& ctx, Args args) {
  int64_t start, end;
  if (!ParseLong(args[2], &start, ctx) || !ParseLong(args[3], &end, ctx)) return;
  ListObject* l = nullptr;
  Found f = GetList(ctx, args[1], false, &l);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.Ok();
    return;
  }
  const int64_t llen = static_cast<int64_t>(l->Size());
  if (start < 0) start += llen;
  if (end < 0) end += llen;
  if (start < 0) start = 0;
  int64_t ltrim, rtrim;
  if (start > end || start >= llen) {
    ltrim = llen;
    rtrim = 0;
  } else {
    if (end >= llen) end = llen - 1;
    ltrim = start;
    rtrim = llen - end - 1;
  }
  l->TrimFront(ltrim);
  l->TrimBack(rtrim);
  NotifyDeleteIfEmpty(ctx, args[1], l, "ltrim");
  Wrote(ctx, args[1], ltrim + rtrim);
  ctx.reply.Ok();
}

void LPos(CommandContext& ctx, Args args) {
  int64_t rank = 1, count = -1, maxlen = 0;
  for (size_t j = 3; j < args.size(); ++j) {
    const bool more = j + 1 < args.size();
    const std::string& o = args[j];
    if (absl::EqualsIgnoreCase(o, "rank") && more) {
      if (!ParseLong(args[++j], &rank, ctx)) return;
      if (rank == 0) {
        ctx.reply.Error(errors::kRankZero);
        return;
      }
    } else if (absl::EqualsIgnoreCase(o, "count") && more) {
      if (!types::ParseInt64(args[++j], &count) || count < 0) {
        ctx.reply.Error(errors::kCountNegative);
        return;
      }
    } else if (absl::EqualsIgnoreCase(o, "maxlen") && more) {
      if (!types::ParseInt64(args[++j], &maxlen) || maxlen < 0) {
        ctx.reply.Error(errors::kMaxLenNegative);
        return;
      }
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  bool from_tail = false;
  uint64_t urank = rank;
  if (rank < 0) {
    urank = -static_cast<uint64_t>(rank);
    from_tail = true;
  }
  ListObject* l = nullptr;
  Found f = GetList(ctx, args[1], true, &l);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    if (count != -1) {
      ctx.reply.ArrayHeader(0);
    } else {
      ctx.reply.NullBulk();
    }
    return;
  }
  const size_t n = l->Size();
  std::vector<int64_t> found;
  uint64_t matches = 0;
  uint64_t scanned = 0;
  l->Walk(from_tail ? n - 1 : 0, from_tail, [&](size_t pos, std::string_view v) {
    if (maxlen != 0 && scanned >= static_cast<uint64_t>(maxlen)) return false;
    ++scanned;
    if (v != args[2]) return true;
    ++matches;
    if (matches < urank) return true;
    found.push_back(static_cast<int64_t>(pos));
    if (count == -1) return false;
    return !(count && matches - urank + 1 >= static_cast<uint64_t>(count));
  });
  if (count != -1) {
    ctx.reply.ArrayHeader(found.size());
    for (int64_t p : found) ctx.reply.Integer(p);
  } else if (!found.empty()) {
    ctx.reply.Integer(found[0]);
  } else {
    ctx.reply.NullBulk();
  }
}

void MoveGeneric(CommandContext& ctx, Args args, bool from_head, bool to_head) {
  ListObject* src = nullptr;
  Found f = GetList(ctx, args[1], false, &src);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.NullBulk();
    return;
  }
  ListObject* dst = nullptr;
  Found fd =
      types::FindTyped(ctx.DbFor(args[2]), args[2], ctx.now_ms, ValueType::kList, false, &dst);
  if (fd == Found::kWrongType) {
    ctx.reply.Error(errors::kWrongType);
    return;
  }
  std::string v = from_head ? src->PopFront() : src->PopBack();
  if (fd == Found::kMissing) {
    dst = types::CreateTyped<ListObject>(ctx.DbFor(args[2]), args[2], ctx.now_ms, ValueType::kList);
  }
  if (to_head) {
    dst->PushFront(v);
  } else {
    dst->PushBack(v);
  }
  Wrote(ctx, args[2], 0);
  ctx.Notify(kNotifyList, PushEvent(to_head), args[2]);
  ctx.Notify(kNotifyList, PopEvent(from_head), args[1]);
  // The source may be the destination: check emptiness after the push.
  ListObject* again = nullptr;
  if (types::FindTyped(ctx.DbFor(args[1]), args[1], ctx.now_ms, ValueType::kList, false, &again) ==
          Found::kOk &&
      again->Size() == 0) {
    ctx.DbFor(args[1]).Delete(args[1], ctx.now_ms);
    ctx.Notify(kNotifyGeneric, "del", args[1]);
  }
  Wrote(ctx, args[1], 1);
  ctx.reply.Bulk(v);
}

void LMove(CommandContext& ctx, Args args) {
  bool from_head, to_head;
  if (!ParseWhere(ctx, args[3], &from_head) || !ParseWhere(ctx, args[4], &to_head)) return;
  MoveGeneric(ctx, args, from_head, to_head);
}
void RPopLPush(CommandContext& ctx, Args args) { MoveGeneric(ctx, args, false, true); }

// Pops up to `count` from the non-empty list at `key` and replies
// [key, [elements...]] (LMPOP's shape). Returns how many were popped.
size_t PopRangeWithKey(CommandContext& ctx, const std::string& key, ListObject* l, bool head,
                       int64_t count) {
  std::vector<std::string> out = PopN(l, head, count);
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(key);
  ctx.reply.ArrayHeader(out.size());
  for (const std::string& v : out) ctx.reply.Bulk(v);
  const std::string k = key;
  NotifyDeleteIfEmpty(ctx, k, l, PopEvent(head));
  Wrote(ctx, k, out.size());
  return out.size();
}

void LMPop(CommandContext& ctx, Args args) {
  MPopArgs m;
  if (!ParseMPopArgs(ctx, args, 1, "left", "right", &m)) return;
  for (const std::string& key : m.keys) {
    ListObject* l = nullptr;
    Found f = GetList(ctx, key, false, &l);
    if (f == Found::kWrongType) return;
    if (f == Found::kMissing || l->Size() == 0) continue;
    const std::string k = key;
    const size_t n = PopRangeWithKey(ctx, k, l, !m.second, m.count);
    // Replicated as LPOP/RPOP key n, as Redis does.
    ctx.propagate_as = {m.second ? "RPOP" : "LPOP", k, std::to_string(n)};
    return;
  }
  ctx.reply.NullArray();
}

// --- Blocking forms ---

// Registers the client as waiting for a list at one of `keys`.
void BlockOnLists(CommandContext& ctx, Args args, Args keys, int64_t deadline_ms, ServeFn serve) {
  BlockedClient c;
  c.session = &ctx.session;
  c.db = ctx.db_index();
  for (const std::string& k : keys) {
    if (std::find(c.keys.begin(), c.keys.end(), k) == c.keys.end()) c.keys.push_back(k);
  }
  c.type = BlockType::kList;
  c.deadline_ms = deadline_ms;
  c.args.assign(args.begin(), args.end());
  c.spec = &ctx.spec;
  c.is_write = ctx.spec.is_write();
  c.failed_calls = &StatsOf(ctx.shard, ctx.spec).failed_calls;
  c.serve = serve;
  c.reply_unblocked = ReplyUnblockedPop;
  ctx.shard.blocking().Block(std::move(c));
}

// One element from the non-empty list at `key`, replied as [key, element]
// and propagated as LPOP/RPOP key.
void PopOneWithKey(CommandContext& ctx, const std::string& key, ListObject* l, bool head) {
  const std::string k = key;
  std::string v = head ? l->PopFront() : l->PopBack();
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(k);
  ctx.reply.Bulk(v);
  NotifyDeleteIfEmpty(ctx, k, l, PopEvent(head));
  Wrote(ctx, k, 1);
  ctx.propagate_as = {head ? "LPOP" : "RPOP", k};
}

// BLPOP/BRPOP/BLMPOP: `count` -1 is the single-element [key, element] form.
void BlockingPop(CommandContext& ctx, Args args, Args keys, bool head, int64_t count,
                 const std::string& timeout, ServeFn serve) {
  int64_t deadline;
  if (!ParseBlockTimeoutOrReply(ctx, timeout, &deadline)) return;
  for (const std::string& key : keys) {
    ListObject* l = nullptr;
    Found f = GetList(ctx, key, false, &l);
    if (f == Found::kWrongType) return;
    if (f == Found::kMissing || l->Size() == 0) continue;
    if (count == -1) {
      PopOneWithKey(ctx, key, l, head);
    } else {
      const std::string k = key;
      const size_t n = PopRangeWithKey(ctx, k, l, head, count);
      ctx.propagate_as = {head ? "LPOP" : "RPOP", k, std::to_string(n)};
    }
    return;
  }
  if (ctx.session.deny_blocking) {
    ctx.reply.NullArray();
    return;
  }
  BlockOnLists(ctx, args, keys, deadline, serve);
}

// Serves a BLPOP/BRPOP from the ready `key`.
void ServePop(CommandContext& ctx, Args args, const std::string& key, bool head) {
  ListObject* l = nullptr;
  if (GetList(ctx, key, false, &l) != Found::kOk) return;
  (void)args;
  PopOneWithKey(ctx, key, l, head);
}
void ServeBLPop(CommandContext& ctx, Args args, const std::string& key) {
  ServePop(ctx, args, key, true);
}
void ServeBRPop(CommandContext& ctx, Args args, const std::string& key) {
  ServePop(ctx, args, key, false);
}

void BLPop(CommandContext& ctx, Args args) {
  BlockingPop(ctx, args, args.subspan(1, args.size() - 2), true, -1, args.back(), ServeBLPop);
}
void BRPop(CommandContext& ctx, Args args) {
  BlockingPop(ctx, args, args.subspan(1, args.size() - 2), false, -1, args.back(), ServeBRPop);
}

void ServeBLMPop(CommandContext& ctx, Args args, const std::string& key) {
  MPopArgs m;
  if (!ParseMPopArgs(ctx, args, 2, "left", "right", &m)) return;
  ListObject* l = nullptr;
  if (GetList(ctx, key, false, &l) != Found::kOk) return;
  const size_t n = PopRangeWithKey(ctx, key, l, !m.second, m.count);
  ctx.propagate_as = {m.second ? "RPOP" : "LPOP", key, std::to_string(n)};
}

void BLMPop(CommandContext& ctx, Args args) {
  MPopArgs m;
  if (!ParseMPopArgs(ctx, args, 2, "left", "right", &m)) return;
  BlockingPop(ctx, args, m.keys, !m.second, m.count, args[1], ServeBLMPop);
}

// BLMOVE's (and BRPOPLPUSH's) "LMOVE src dst LEFT RIGHT" propagation after a
// successful move. `served`: woken later, when Redis spells the ends in
// lower case; at once it propagates the client's arguments.
void PropagateMove(CommandContext& ctx, Args args, bool from_head, bool to_head, bool served) {
  if (args.size() == 4) {  // BRPOPLPUSH src dst timeout
    ctx.propagate_as = {"RPOPLPUSH", args[1], args[2]};
  } else if (served) {
    ctx.propagate_as = {"LMOVE", args[1], args[2], from_head ? "left" : "right",
                        to_head ? "left" : "right"};
  } else {
    ctx.propagate_as = {"LMOVE", args[1], args[2], args[3], args[4]};
  }
}

void MoveAndPropagate(CommandContext& ctx, Args args, bool from_head, bool to_head, bool served) {
  const uint64_t errors_before = ctx.reply.errors();
  MoveGeneric(ctx, args, from_head, to_head);
  if (ctx.reply.errors() == errors_before) PropagateMove(ctx, args, from_head, to_head, served);
}

// The ends of a BLMOVE (args[3], args[4]) or BRPOPLPUSH (tail to head).
bool MoveEnds(CommandContext& ctx, Args args, bool* from_head, bool* to_head) {
  if (args.size() == 4) {
    *from_head = false;
    *to_head = true;
    return true;
  }
  return ParseWhere(ctx, args[3], from_head) && ParseWhere(ctx, args[4], to_head);
}

void ServeBLMove(CommandContext& ctx, Args args, const std::string& key) {
  (void)key;  // the source, args[1]
  bool from_head, to_head;
  if (!MoveEnds(ctx, args, &from_head, &to_head)) return;
  MoveAndPropagate(ctx, args, from_head, to_head, true);
}

void BlockingMove(CommandContext& ctx, Args args) {
  bool from_head, to_head;
  if (!MoveEnds(ctx, args, &from_head, &to_head)) return;
  int64_t deadline;
  if (!ParseBlockTimeoutOrReply(ctx, args.back(), &deadline)) return;
  ListObject* src = nullptr;
  Found f = GetList(ctx, args[1], false, &src);
  if (f == Found::kWrongType) return;
  if (f == Found::kOk) {
    MoveAndPropagate(ctx, args, from_head, to_head, false);
    return;
  }
  if (ctx.session.deny_blocking) {
    ctx.reply.NullBulk();
    return;
  }
  BlockOnLists(ctx, args, args.subspan(1, 1), deadline, ServeBLMove);
}
void BLMove(CommandContext& ctx, Args args) { BlockingMove(ctx, args); }
void BRPopLPush(CommandContext& ctx, Args args) { BlockingMove(ctx, args); }

std::vector<int> KeysNumAt1(std::span<const std::string> args) { return NumKeysIndexes(args, 1); }
std::vector<int> KeysNumAt2(std::span<const std::string> args) { return NumKeysIndexes(args, 2); }

CommandSpec Spec(std::string name, int arity, uint32_t flags, Handler h, int first, int last,
                 std::string_view since, KeysFn keys = nullptr) {
  return KeyedCommand(std::move(name), arity, flags, h, first, last, "list", since, keys);
}

}  // namespace

void RegisterListFamily(CommandTable& t) {
  constexpr uint32_t kW = kCmdWrite | kCmdDenyOom;
  constexpr uint32_t kR = kCmdReadonly;
  t.Register(Spec("lpush", -3, kW | kCmdFast, LPush, 1, 1, "1.0.0"));
  t.Register(Spec("rpush", -3, kW | kCmdFast, RPush, 1, 1, "1.0.0"));
  t.Register(Spec("lpushx", -3, kW | kCmdFast, LPushX, 1, 1, "2.2.0"));
  t.Register(Spec("rpushx", -3, kW | kCmdFast, RPushX, 1, 1, "2.2.0"));
  t.Register(Spec("lpop", -2, kCmdWrite | kCmdFast, LPop, 1, 1, "1.0.0"));
  t.Register(Spec("rpop", -2, kCmdWrite | kCmdFast, RPop, 1, 1, "1.0.0"));
  t.Register(Spec("llen", 2, kR | kCmdFast, LLen, 1, 1, "1.0.0"));
  t.Register(Spec("lrange", 4, kR, LRange, 1, 1, "1.0.0"));
  t.Register(Spec("lindex", 3, kR, LIndex, 1, 1, "1.0.0"));
  t.Register(Spec("lset", 4, kW, LSet, 1, 1, "1.0.0"));
  t.Register(Spec("linsert", 5, kW, LInsert, 1, 1, "2.2.0"));
  t.Register(Spec("lrem", 4, kCmdWrite, LRem, 1, 1, "1.0.0"));
  t.Register(Spec("ltrim", 4, kCmdWrite, LTrim, 1, 1, "1.0.0"));
  t.Register(Spec("lpos", -3, kR, LPos, 1, 1, "6.0.6"));
  t.Register(Spec("lmove", 5, kW, LMove, 1, 2, "6.2.0"));
  t.Register(Spec("rpoplpush", 3, kW, RPopLPush, 1, 2, "1.2.0"));
  t.Register(Spec("lmpop", -4, kCmdWrite, LMPop, 0, 0, "7.0.0", KeysNumAt1));
  constexpr uint32_t kB = kCmdWrite | kCmdNoScript | kCmdBlocking;
  t.Register(Spec("blpop", -3, kB, BLPop, 1, -2, "2.0.0"));
  t.Register(Spec("brpop", -3, kB, BRPop, 1, -2, "2.0.0"));
  t.Register(Spec("blmove", 6, kB | kCmdDenyOom, BLMove, 1, 2, "6.2.0"));
  t.Register(Spec("brpoplpush", 4, kB | kCmdDenyOom, BRPopLPush, 1, 2, "2.2.0"));
  t.Register(Spec("blmpop", -5, kCmdWrite | kCmdBlocking, BLMPop, 0, 0, "7.0.0", KeysNumAt2));
}

}  // namespace shardnode::node
