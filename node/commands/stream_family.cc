// Stream commands: XADD XRANGE XREVRANGE XLEN XDEL XTRIM XSETID XREAD
// XREADGROUP XACK XPENDING XCLAIM XAUTOCLAIM XGROUP XINFO, with Redis
// 7.0.15's replies, errors and propagation (t_stream.c). The data lives in
// StreamObject (keyspace/types).
//
// Propagation follows Redis: XADD propagates with the generated id and an
// exact trim ("=" and the resulting length or first id) in place of "~";
// XREADGROUP, XCLAIM and XAUTOCLAIM propagate one idempotent XCLAIM ... FORCE
// JUSTID LASTID per pending entry they create or move, plus XGROUP SETID when
// only the group's last id moved (NOACK) and XGROUP CREATECONSUMER for a
// consumer NOACK created.
#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/commands/blocked_serve.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/type_family.h"
#include "node/config/config.h"
#include "node/keyspace/db.h"
#include "node/keyspace/types/lookup.h"
#include "node/keyspace/types/stream_object.h"
#include "node/keyspace/types/type_util.h"
#include "node/resp/reply.h"
#include "node/server/blocking.h"
#include "node/server/node_services.h"
#include "node/server/session.h"
#include "node/server/shard.h"

namespace shardnode::node {
namespace {

using types::Found;

constexpr std::string_view kInvalidId =
    "ERR Invalid stream ID specified as stream command argument";
constexpr int64_t kXReadBlockedDefaultCount = 1000;

Found GetStream(CommandContext& ctx, std::string_view key, bool read, StreamObject** s) {
  return FindTypedOrReply(ctx, key, ValueType::kStream, read, s);
}

// Redis's string2ull: digits only (a leading '-' or '+' refused), no
// overflow.
bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// streamGenericParseIDOrReply without the reply. `seq_given` non-null
// accepts "<ms>-*".
bool ParseId(std::string_view s, StreamId* id, uint64_t missing_seq, bool strict,
             bool* seq_given = nullptr) {
  if (s.size() > 127) return false;
  if (strict && (s == "-" || s == "+")) return false;
  if (seq_given) *seq_given = true;
  if (s == "-") {
    *id = StreamId{};
    return true;
  }
  if (s == "+") {
    *id = StreamId::Max();
    return true;
  }
  const size_t dash = s.find('-');
  uint64_t ms, seq;
  if (!ParseU64(s.substr(0, dash), &ms)) return false;
  if (dash != std::string_view::npos) {
    std::string_view rest = s.substr(dash + 1);
    if (seq_given && rest == "*") {
      seq = 0;
      *seq_given = false;
    } else if (!ParseU64(rest, &seq)) {
      return false;
    }
  } else {
    seq = missing_seq;
  }
  *id = StreamId{ms, seq};
  return true;
}

bool ParseIdOrReply(CommandContext& ctx, std::string_view s, StreamId* id, uint64_t missing_seq,
                    bool strict, bool* seq_given = nullptr) {
  if (ParseId(s, id, missing_seq, strict, seq_given)) return true;
  ctx.reply.Error(kInvalidId);
  return false;
}

// A range bound: "(" makes it exclusive (strict parse of the rest).
bool ParseIntervalIdOrReply(CommandContext& ctx, std::string_view s, StreamId* id, bool* exclude,
                            uint64_t missing_seq) {
  *exclude = s.size() > 1 && s[0] == '(';
  if (*exclude) return ParseIdOrReply(ctx, s.substr(1), id, missing_seq, true);
  return ParseIdOrReply(ctx, s, id, missing_seq, false);
}

bool ParseLongOrReply(CommandContext& ctx, std::string_view s, int64_t* out,
                      std::string_view error = errors::kNotInteger) {
  if (types::ParseInt64(s, out)) return true;
  ctx.reply.Error(error);
  return false;
}

// Entries copied out of a stream for a reply (the stream hands its fields
// out one at a time).
using EntryList = std::vector<std::pair<StreamId, StreamFields>>;

void ReplyEntry(resp::ReplyBuilder& r, const StreamId& id, const StreamFields& fields) {
  r.ArrayHeader(2);
  r.Bulk(id.ToString());
  r.ArrayHeader(fields.size());
  for (const std::string& f : fields) r.Bulk(f);
}

std::string NoGroupKeyError(const std::string& key, const std::string& group) {
  return absl::StrCat("NOGROUP No such key '", key, "' or consumer group '", group, "'");
}

StreamObject::Limits NodeLimits(CommandContext& ctx) {
  const ServerOptions& o = ctx.node.options();
  StreamObject::Limits l;
  l.max_bytes = static_cast<uint64_t>(o.stream_node_max_bytes);
  l.max_entries = o.stream_node_max_entries;
  return l;
}

// --- XADD / XTRIM ---

struct AddTrimArgs {
  StreamObject::TrimArgs trim;
  int trim_arg_idx = 0;  // index of the MAXLEN count / MINID id
  StreamId id;
  bool id_given = false;
  bool seq_given = false;
  bool no_mkstream = false;
};

// Parses XADD's or XTRIM's options; returns the index of XADD's id
// argument (or the end for XTRIM), or -1 after replying an error.
int ParseAddTrimArgs(CommandContext& ctx, Args args, bool xadd, AddTrimArgs* out) {
  const int argc = static_cast<int>(args.size());
  int i = 2;
  bool limit_given = false;
  auto& t = out->trim;
  for (; i < argc; ++i) {
    const int more = argc - 1 - i;
    const std::string& opt = args[i];
    if (xadd && opt == "*") break;
    const bool maxlen = absl::EqualsIgnoreCase(opt, "maxlen");
    if ((maxlen || absl::EqualsIgnoreCase(opt, "minid")) && more) {
      if (t.strategy != StreamObject::TrimStrategy::kNone) {
        ctx.reply.Error(
            "ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
        return -1;
      }
      t.approx = false;
      const std::string& next = args[i + 1];
      if (more >= 2 && next == "~") {
        t.approx = true;
        ++i;
      } else if (more >= 2 && next == "=") {
        ++i;
      }
      if (maxlen) {
        int64_t n;
        if (!ParseLongOrReply(ctx, args[i + 1], &n)) return -1;
        if (n < 0) {
          ctx.reply.Error("ERR The MAXLEN argument must be >= 0.");
          return -1;
        }
        t.maxlen = static_cast<uint64_t>(n);
        t.strategy = StreamObject::TrimStrategy::kMaxLen;
      } else {
        if (!ParseIdOrReply(ctx, args[i + 1], &t.minid, 0, true)) return -1;
        t.strategy = StreamObject::TrimStrategy::kMinId;
      }
      ++i;
      out->trim_arg_idx = i;
    } else if (absl::EqualsIgnoreCase(opt, "limit") && more) {
      if (!ParseLongOrReply(ctx, args[i + 1], &t.limit)) return -1;
      if (t.limit < 0) {
        ctx.reply.Error("ERR The LIMIT argument must be >= 0.");
        return -1;
      }
      limit_given = true;
      ++i;
    } else if (xadd && absl::EqualsIgnoreCase(opt, "nomkstream")) {
      out->no_mkstream = true;
    } else if (xadd) {
      if (!ParseIdOrReply(ctx, opt, &out->id, 0, true, &out->seq_given)) return -1;
      out->id_given = true;
      break;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return -1;
    }
  }
  if (t.limit && t.strategy == StreamObject::TrimStrategy::kNone) {
    ctx.reply.Error(
        "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
    return -1;
  }
  if (!xadd && t.strategy == StreamObject::TrimStrategy::kNone) {
    ctx.reply.Error("ERR syntax error, XTRIM must be called with a trimming strategy");
    return -1;
  }
  if (ctx.session.from_primary) {
    t.limit = 0;  // the primary rewrote the trim to be exact
  } else if (limit_given) {
    if (!t.approx) {
      ctx.reply.Error("ERR syntax error, LIMIT cannot be used without the special ~ option");
      return -1;
    }
  } else if (t.approx) {
    t.limit = 100 * NodeLimits(ctx).max_entries;
    if (t.limit <= 0) t.limit = 10000;
    if (t.limit > 1000000) t.limit = 1000000;
  } else {
    t.limit = 0;
  }
  return i;
}

// After an approximate trim: the arguments replicas apply, with "=" and the
// length (MAXLEN) or the first id, tombstones included (MINID), as Redis's
// streamRewriteTrimArgument.
void RewriteTrim(const StreamObject& s, const AddTrimArgs& a, std::vector<std::string>* argv) {
  (*argv)[a.trim_arg_idx - 1] = "=";
  if (a.trim.strategy == StreamObject::TrimStrategy::kMaxLen) {
    (*argv)[a.trim_arg_idx] = absl::StrCat(s.Length());
  } else {
    (*argv)[a.trim_arg_idx] = s.FirstIdWithTombstones().ToString();
  }
}

void XAdd(CommandContext& ctx, Args args) {
  AddTrimArgs a;
  const int idpos = ParseAddTrimArgs(ctx, args, true, &a);
  if (idpos < 0) return;
  const size_t field_pos = static_cast<size_t>(idpos) + 1;
  const size_t nfields = args.size() - std::min(args.size(), field_pos);
  if (nfields < 2 || nfields % 2 == 1) {
    ctx.reply.Error(ArityError(ctx.spec));
    return;
  }
  if (a.id_given && a.seq_given && a.id.IsZero()) {
    ctx.reply.Error("ERR The ID specified in XADD must be greater than 0-0");
    return;
  }
  StreamObject* s = nullptr;
  const std::string& key = args[1];
  Found f = GetStream(ctx, key, false, &s);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    if (a.no_mkstream) {
      ctx.reply.NullBulk();
      return;
    }
    s = types::CreateTyped<StreamObject>(ctx.DbFor(key), key, ctx.now_ms, ValueType::kStream);
  }
  if (s->last_id() == StreamId::Max()) {
    ctx.reply.Error("ERR The stream has exhausted the last possible ID, unable to add more items");
    return;
  }
  StreamId id;
  bool ok = true;
  if (a.id_given) {
    if (a.seq_given) {
      id = a.id;
    } else if (s->last_id().ms == a.id.ms) {
      id = s->last_id();
      ok = id.Incr() && id.ms == a.id.ms;
    } else {
      id = StreamId{a.id.ms, 0};
    }
  } else {
    const uint64_t now = static_cast<uint64_t>(std::max<int64_t>(ctx.now_ms, 0));
    if (now > s->last_id().ms) {
      id = StreamId{now, 0};
    } else {
      id = s->last_id();
      id.Incr();
    }
  }
  if (!ok || id <= s->last_id()) {
    ctx.reply.Error(
        "ERR The ID specified in XADD is equal or smaller than the target stream top item");
    return;  // an empty stream created here stays, as in Redis
  }
  s->Append(id, std::span<const std::string>(args.data() + field_pos, nfields), NodeLimits(ctx));
  CommandContext::EditedArg& edit = ctx.propagate_edit;
  edit.size = id.Format(edit.text);
  const std::string_view id_text(edit.text, edit.size);
  ctx.reply.Bulk(id_text);
  ctx.Notify(kNotifyStream, "xadd", key);
  // Propagated with the id it got (and an approximate trim made exact), as
  // Redis's rewriteClientCommandArgument calls.
  const bool id_generated = !a.id_given || !a.seq_given;
  if (a.trim.strategy != StreamObject::TrimStrategy::kNone) {
    if (s->Trim(a.trim) > 0) ctx.Notify(kNotifyStream, "xtrim", key);
    if (a.trim.approx) {
      std::vector<std::string> prop(args.begin(), args.end());
      RewriteTrim(*s, a, &prop);
      if (id_generated) prop[static_cast<size_t>(idpos)] = id_text;
      ctx.propagate_as = std::move(prop);
    }
  }
  if (id_generated && ctx.propagate_as.empty()) edit.index = idpos;
  Wrote(ctx, key, 1);
}

void XTrim(CommandContext& ctx, Args args) {
  AddTrimArgs a;
  if (ParseAddTrimArgs(ctx, args, false, &a) < 0) return;
  StreamObject* s = nullptr;
  Found f = GetStream(ctx, args[1], false, &s);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.Integer(0);
    return;
  }
  const int64_t deleted = s->Trim(a.trim);
  if (deleted) {
    if (a.trim.approx) {
      std::vector<std::string> prop(args.begin(), args.end());
      RewriteTrim(*s, a, &prop);
      ctx.propagate_as = std::move(prop);
    }
    Wrote(ctx, args[1], static_cast<uint64_t>(deleted));
    ctx.Notify(kNotifyStream, "xtrim", args[1]);
  }
  ctx.reply.Integer(deleted);
}

// --- Reading ---

void XRangeGeneric(CommandContext& ctx, Args args, bool rev) {
  const std::string& start_arg = rev ? args[3] : args[2];
  const std::string& end_arg = rev ? args[2] : args[3];
  StreamId start, end;
  bool startex, endex;
  if (!ParseIntervalIdOrReply(ctx, start_arg, &start, &startex, 0)) return;
  if (startex && !start.Incr()) {
    ctx.reply.Error("ERR invalid start ID for the interval");
    return;
  }
  if (!ParseIntervalIdOrReply(ctx, end_arg, &end, &endex, UINT64_MAX)) return;
  if (endex && !end.Decr()) {
    ctx.reply.Error("ERR invalid end ID for the interval");
    return;
  }
  int64_t count = -1;
  for (size_t j = 4; j < args.size(); ++j) {
    if (absl::EqualsIgnoreCase(args[j], "count") && j + 1 < args.size()) {
      if (!ParseLongOrReply(ctx, args[j + 1], &count)) return;
      if (count < 0) count = 0;
      ++j;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  StreamObject* s = nullptr;
  Found f = GetStream(ctx, args[1], true, &s);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  if (count == 0) {
    ctx.reply.NullArray();
    return;
  }
  EntryList out;
  s->Range(start, end, rev, [&](const StreamId& id, const StreamFields& fields) {
    out.emplace_back(id, std::move(fields));
    return count < 0 || static_cast<int64_t>(out.size()) < count;
  });
  ctx.reply.ArrayHeader(out.size());
  for (const auto& [id, fields] : out) ReplyEntry(ctx.reply, id, fields);
}

void XRange(CommandContext& ctx, Args args) { XRangeGeneric(ctx, args, false); }
void XRevRange(CommandContext& ctx, Args args) { XRangeGeneric(ctx, args, true); }

void XLen(CommandContext& ctx, Args args) {
  StreamObject* s = nullptr;
  Found f = GetStream(ctx, args[1], true, &s);
  if (f == Found::kWrongType) return;
  ctx.reply.Integer(f == Found::kOk ? static_cast<int64_t>(s->Length()) : 0);
}

void XDel(CommandContext& ctx, Args args) {
  StreamObject* s = nullptr;
  Found f = GetStream(ctx, args[1], false, &s);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.Integer(0);
    return;
  }
  std::vector<StreamId> ids(args.size() - 2);
  for (size_t j = 2; j < args.size(); ++j) {
    if (!ParseIdOrReply(ctx, args[j], &ids[j - 2], 0, true)) return;
  }
  int64_t deleted = 0;
  for (const StreamId& id : ids) {
    if (s->Delete(id)) {
      if (id > s->max_deleted_id()) s->set_max_deleted_id(id);
      ++deleted;
    }
  }
  if (deleted) {
    Wrote(ctx, args[1], static_cast<uint64_t>(deleted));
    ctx.Notify(kNotifyStream, "xdel", args[1]);
  }
  ctx.reply.Integer(deleted);
}

void XSetId(CommandContext& ctx, Args args) {
  StreamId id, max_xdel;
  int64_t entries_added = -1;
  if (!ParseIdOrReply(ctx, args[2], &id, 0, true)) return;
  for (size_t i = 3; i < args.size();) {
    const bool more = i + 1 < args.size();
    if (absl::EqualsIgnoreCase(args[i], "entriesadded") && more) {
      if (!ParseLongOrReply(ctx, args[i + 1], &entries_added)) return;
      if (entries_added < 0) {
        ctx.reply.Error("ERR entries_added must be positive");
        return;
      }
      i += 2;
    } else if (absl::EqualsIgnoreCase(args[i], "maxdeletedid") && more) {
      if (!ParseIdOrReply(ctx, args[i + 1], &max_xdel, 0, true)) return;
      if (id < max_xdel) {
        ctx.reply.Error(
            "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
        return;
      }
      i += 2;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  StreamObject* s = nullptr;
  Found f = GetStream(ctx, args[1], false, &s);
  if (f == Found::kWrongType) return;
  if (f == Found::kMissing) {
    ctx.reply.Error(errors::kNoSuchKey);
    return;
  }
  if (s->Length() > 0) {
    StreamId maxid;
    s->Edge(false, &maxid, nullptr);
    if (id < maxid) {
      ctx.reply.Error("ERR The ID specified in XSETID is smaller than the target stream top item");
      return;
    }
    if (entries_added != -1 && s->Length() > static_cast<uint64_t>(entries_added)) {
      ctx.reply.Error(
          "ERR The entries_added specified in XSETID is smaller than the target stream length");
      return;
    }
  }
  s->set_last_id(id);
  if (entries_added != -1) s->set_entries_added(static_cast<uint64_t>(entries_added));
  if (!max_xdel.IsZero()) s->set_max_deleted_id(max_xdel);
  ctx.reply.Ok();
  ctx.AddDirty(1);  // Redis's XSETID does not touch WATCH
  ctx.Notify(kNotifyStream, "xsetid", args[1]);
}

// --- Consumer group helpers ---

// XCLAIM <key> <group> <consumer> 0 <id> TIME <ms> RETRYCOUNT <n> FORCE
// JUSTID LASTID <group last id>: Redis's idempotent form of a PEL change.
std::vector<std::string> XClaimPropagation(std::string_view key, std::string_view group,
                                           const StreamGroup& g, const StreamId& id,
                                           const StreamNack& nack) {
  return {"XCLAIM",
          std::string(key),
          std::string(group),
          nack.consumer,
          "0",
          id.ToString(),
          "TIME",
          absl::StrCat(nack.delivery_time),
          "RETRYCOUNT",
          absl::StrCat(nack.delivery_count),
          "FORCE",
          "JUSTID",
          "LASTID",
          g.last_id.ToString()};
}

std::vector<std::string> SetIdPropagation(std::string_view key, std::string_view group,
                                          const StreamGroup& g) {
  return {"XGROUP",
          "SETID",
          std::string(key),
          std::string(group),
          g.last_id.ToString(),
          "ENTRIESREAD",
          absl::StrCat(g.entries_read)};
}

// The consumer `name` of `g` (its seen time refreshed), created when
// missing; *created tells which.
StreamConsumer& LookupOrCreateConsumer(StreamGroup& g, std::string_view name, int64_t now_ms,
                                       bool* created) {
  auto it = g.consumers.find(name);
  *created = it == g.consumers.end();
  if (*created) it = g.consumers.emplace(std::string(name), StreamConsumer{}).first;
  it->second.seen_time = now_ms;
  return it->second;
}

// Moves (or creates) the PEL entry `id` of `g` to `consumer`.
StreamNack& AssignNack(StreamGroup& g, const StreamId& id, std::string_view consumer,
                       int64_t now_ms) {
  auto [it, inserted] = g.pel.try_emplace(id);
  StreamNack& nack = it->second;
  if (!inserted) {
    auto old = g.consumers.find(nack.consumer);
    if (old != g.consumers.end()) old->second.pel.erase(id);
  }
  nack.consumer = std::string(consumer);
  nack.delivery_time = now_ms;
  nack.delivery_count = 1;
  g.consumers.find(consumer)->second.pel.insert(id);
  return nack;
}

// What one read from a stream for a group collects for the reply and for
// propagation.
struct GroupRead {
  EntryList entries;
  // History entries whose data was deleted (a null entry in the reply).
  std::vector<bool> missing;
};

// streamReplyWithRange for XREAD / XREADGROUP ">" (no reply here: entries
// go to *out). With a group, moves its last id and fills the PELs.
void ReadNew(CommandContext& ctx, StreamObject& s, const StreamId& start, int64_t count,
             StreamGroup* g, std::string_view key, std::string_view group_name,
             std::string_view consumer, bool noack, GroupRead* out) {
  bool propagate_last_id = false;
  s.Range(start, StreamId::Max(), false, [&](const StreamId& id, const StreamFields& fields) {
    if (g && id > g->last_id) {
      if (g->entries_read != StreamObject::kInvalidEntriesRead &&
          !s.RangeHasTombstones(&id, nullptr)) {
        ++g->entries_read;
      } else if (s.entries_added()) {
        g->entries_read = s.EstimateDistanceFromFirstEverEntry(id);
      }
      g->last_id = id;
      if (noack) propagate_last_id = true;
    }
    out->entries.emplace_back(id, fields);
    out->missing.push_back(false);
    if (g && !noack) {
      const StreamNack& nack = AssignNack(*g, id, consumer, ctx.now_ms);
      ctx.propagate_many.push_back(XClaimPropagation(key, group_name, *g, id, nack));
    }
    return count == 0 || static_cast<int64_t>(out->entries.size()) < count;
  });
  if (propagate_last_id) ctx.propagate_many.push_back(SetIdPropagation(key, group_name, *g));
}

// streamReplyWithRangeFromConsumerPEL: the consumer's own pending entries
// from `start` on.
void ReadHistory(CommandContext& ctx, StreamObject& s, const StreamId& start, int64_t count,
                 StreamGroup& g, StreamConsumer& c, GroupRead* out) {
  for (auto it = c.pel.lower_bound(start); it != c.pel.end(); ++it) {
    if (count && static_cast<int64_t>(out->entries.size()) >= count) break;
    StreamFields fields;
    const bool exists = s.Find(*it, &fields);
    out->entries.emplace_back(*it, std::move(fields));
    out->missing.push_back(!exists);
    if (exists) {
      StreamNack& nack = g.pel[*it];
      nack.delivery_time = ctx.now_ms;
      ++nack.delivery_count;
    }
  }
}

void ReplyRead(resp::ReplyBuilder& r, const GroupRead& read) {
  r.ArrayHeader(read.entries.size());
  for (size_t i = 0; i < read.entries.size(); ++i) {
    const auto& [id, fields] = read.entries[i];
    if (read.missing[i]) {
      r.ArrayHeader(2);
      r.Bulk(id.ToString());
      r.NullArray();
    } else {
      ReplyEntry(r, id, fields);
    }
  }
}

// --- XREAD / XREADGROUP ---

struct ReadArgs {
  bool group = false;
  bool block = false;
  int64_t deadline_ms = 0;
  int64_t count = 0;
  bool noack = false;
  std::string group_name, consumer;
  size_t streams_arg = 0;
  size_t nstreams = 0;
};

// Parses XREAD/XREADGROUP's options; replies an error and returns false
// when malformed.
bool ParseReadArgs(CommandContext& ctx, Args args, ReadArgs* r) {
  r->group = args[0].size() == 10;
  bool have_group = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const size_t more = args.size() - i - 1;
    const std::string& o = args[i];
    if (absl::EqualsIgnoreCase(o, "block") && more) {
      if (ctx.session.script) {
        ctx.reply.Error(absl::StrCat("ERR ", args[0],
                                     " command is not allowed with BLOCK option from scripts"));
        return false;
      }
      ++i;
      int64_t ms;
      if (!ParseLongOrReply(ctx, args[i], &ms, errors::kTimeoutNotInteger)) return false;
      if (ms < 0) {
        ctx.reply.Error(errors::kTimeoutNegative);
        return false;
      }
      r->block = true;
      r->deadline_ms = ms > 0 ? ctx.now_ms + ms : 0;
    } else if (absl::EqualsIgnoreCase(o, "count") && more) {
      ++i;
      if (!ParseLongOrReply(ctx, args[i], &r->count)) return false;
      if (r->count < 0) r->count = 0;
    } else if (absl::EqualsIgnoreCase(o, "streams") && more) {
      r->streams_arg = i + 1;
      const size_t n = args.size() - r->streams_arg;
      if (n % 2 != 0) {
        ctx.reply.Error(
            "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be "
            "specified.");
        return false;
      }
      r->nstreams = n / 2;
      break;
    } else if (absl::EqualsIgnoreCase(o, "group") && more >= 2) {
      if (!r->group) {
        ctx.reply.Error(
            "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
        return false;
      }
      r->group_name = args[i + 1];
      r->consumer = args[i + 2];
      have_group = true;
      i += 2;
    } else if (absl::EqualsIgnoreCase(o, "noack")) {
      if (!r->group) {
        ctx.reply.Error(
            "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
        return false;
      }
      r->noack = true;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return false;
    }
  }
  if (r->streams_arg == 0) {
    ctx.reply.Error(errors::kSyntax);
    return false;
  }
  if (r->group && !have_group) {
    ctx.reply.Error("ERR Missing GROUP option for XREADGROUP");
    return false;
  }
  return true;
}

// One stream's part of a read that found data.
struct StreamPart {
  std::string key;
  GroupRead read;
};

void ReplyParts(CommandContext& ctx, const std::vector<StreamPart>& parts) {
  if (ctx.reply.protocol() == 2) {
    ctx.reply.ArrayHeader(parts.size());
  } else {
    ctx.reply.MapHeader(parts.size());
  }
  for (const StreamPart& p : parts) {
    if (ctx.reply.protocol() == 2) ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(p.key);
    ReplyRead(ctx.reply, p.read);
  }
}

void ServeBlockedRead(CommandContext& ctx, Args args, const std::string& key);

void XReadGeneric(CommandContext& ctx, Args args) {
  ReadArgs r;
  if (!ParseReadArgs(ctx, args, &r)) return;
  const size_t n = r.nstreams;
  std::vector<StreamId> ids(n);
  std::vector<StreamGroup*> groups(n, nullptr);
  const StreamId kGt = StreamId::Max();  // ">"
  for (size_t k = 0; k < n; ++k) {
    const std::string& key = args[r.streams_arg + k];
    const std::string& id_arg = args[r.streams_arg + n + k];
    StreamObject* s = nullptr;
    Found f = GetStream(ctx, key, true, &s);
    if (f == Found::kWrongType) return;
    if (r.group) {
      StreamGroup* g = f == Found::kOk ? s->FindGroup(r.group_name) : nullptr;
      if (g == nullptr) {
        ctx.reply.Error(absl::StrCat("NOGROUP No such key '", key, "' or consumer group '",
                                     r.group_name, "' in XREADGROUP with GROUP option"));
        return;
      }
      groups[k] = g;
    }
    if (id_arg == "$") {
      if (r.group) {
        ctx.reply.Error(
            "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the "
            "history of this consumer by specifying a proper ID, or use the > ID to get new "
            "messages. The $ ID would just return an empty result set.");
        return;
      }
      ids[k] = f == Found::kOk ? s->last_id() : StreamId{};
      continue;
    }
    if (id_arg == ">") {
      if (!r.group) {
        ctx.reply.Error(
            "ERR The > ID can be specified only when calling XREADGROUP using the GROUP "
            "<group> <consumer> option.");
        return;
      }
      ids[k] = kGt;
      continue;
    }
    if (!ParseIdOrReply(ctx, id_arg, &ids[k], 0, true)) return;
  }

  std::vector<StreamPart> parts;
  for (size_t k = 0; k < n; ++k) {
    const std::string& key = args[r.streams_arg + k];
    StreamObject* s = nullptr;
    if (types::FindTyped(ctx.DbFor(key), key, ctx.now_ms, ValueType::kStream, true, &s) !=
        Found::kOk) {
      continue;
    }
    StreamId gt = ids[k];
    bool serve = false, history = false;
    if (groups[k]) {
      if (gt != kGt) {
        serve = history = true;
      } else if (s->Length()) {
        StreamId maxid;
        s->Edge(false, &maxid, nullptr);
        if (maxid > groups[k]->last_id) {
          serve = true;
          gt = groups[k]->last_id;
        }
      }
    } else if (s->Length()) {
      StreamId maxid;
      s->Edge(false, &maxid, nullptr);
      serve = maxid > gt;
    }
    if (!serve) continue;
    StreamId start = gt;
    start.Incr();
    StreamPart part;
    part.key = key;
    if (groups[k]) {
      StreamGroup& g = *groups[k];
      bool created;
      StreamConsumer& c = LookupOrCreateConsumer(g, r.consumer, ctx.now_ms, &created);
      if (created) ctx.Notify(kNotifyStream, "xgroup-createconsumer", key);
      if (created && r.noack) {
        ctx.propagate_many.push_back({"XGROUP", "CREATECONSUMER", key, r.group_name, r.consumer});
      }
      if (history) {
        ReadHistory(ctx, *s, start, r.count, g, c, &part.read);
      } else {
        ReadNew(ctx, *s, start, r.count, &g, key, r.group_name, r.consumer, r.noack, &part.read);
      }
    } else {
      ReadNew(ctx, *s, start, r.count, nullptr, key, "", "", false, &part.read);
    }
    parts.push_back(std::move(part));
  }
  if (!parts.empty()) {
    ReplyParts(ctx, parts);
    // Only the XCLAIM / XGROUP forms reach replicas (and only when there
    // are some: a history read changes nothing they keep).
    if (!ctx.propagate_many.empty()) ctx.AddDirty(ctx.propagate_many.size());
    return;
  }
  if (!r.block || ctx.session.deny_blocking) {
    if (!ctx.propagate_many.empty()) ctx.AddDirty(ctx.propagate_many.size());
    ctx.reply.NullArray();
    return;
  }
  // Block: the stored arguments name the resolved ids ($ as the last id)
  // and the count the wait serves with.
  BlockedClient c;
  c.session = &ctx.session;
  c.db = ctx.db_index();
  std::vector<std::string> stored;
  stored.push_back(std::string(args[0]));
  if (r.group) {
    stored.insert(stored.end(), {"GROUP", r.group_name, r.consumer});
    if (r.noack) stored.push_back("NOACK");
  }
  stored.push_back("COUNT");
  stored.push_back(absl::StrCat(r.count ? r.count : kXReadBlockedDefaultCount));
  stored.push_back("STREAMS");
  for (size_t k = 0; k < n; ++k) {
    const std::string& key = args[r.streams_arg + k];
    stored.push_back(key);
    if (std::find(c.keys.begin(), c.keys.end(), key) == c.keys.end()) c.keys.push_back(key);
  }
  for (size_t k = 0; k < n; ++k) stored.push_back(r.group ? ">" : ids[k].ToString());
  c.type = BlockType::kStream;
  c.deadline_ms = r.deadline_ms;
  c.args = std::move(stored);
  c.spec = &ctx.spec;
  c.is_write = ctx.spec.is_write();
  c.failed_calls = &StatsOf(ctx.shard, ctx.spec).failed_calls;
  c.serve = ServeBlockedRead;
  c.reply_unblocked = ReplyUnblockedPop;
  ctx.shard.blocking().Block(std::move(c));
}

// Serves a blocked XREAD / XREADGROUP from `key` when it has entries past
// the wait's id; writes nothing (the client keeps waiting) otherwise.
void ServeBlockedRead(CommandContext& ctx, Args args, const std::string& key) {
  ReadArgs r;
  if (!ParseReadArgs(ctx, args, &r)) return;
  size_t k = 0;
  while (k < r.nstreams && args[r.streams_arg + k] != key) ++k;
  if (k == r.nstreams) return;
  StreamObject* s = nullptr;
  const Found f = types::FindTyped(ctx.DbFor(key), key, ctx.now_ms, ValueType::kStream, false, &s);
  StreamGroup* g = nullptr;
  StreamId gt;
  if (r.group) {
    if (f != Found::kOk) {
      ctx.reply.Error("UNBLOCKED the stream key no longer exists");
      return;
    }
    g = s->FindGroup(r.group_name);
    if (g == nullptr) {
      ctx.reply.Error("NOGROUP the consumer group this client was blocked on no longer exists");
      return;
    }
    gt = g->last_id;
  } else {
    if (f != Found::kOk) return;
    if (!ParseId(args[r.streams_arg + r.nstreams + k], &gt, 0, true)) return;
  }
  if (!(s->last_id() > gt)) return;
  StreamId start = gt;
  start.Incr();
  std::vector<StreamPart> parts(1);
  parts[0].key = key;
  if (g) {
    bool created;
    LookupOrCreateConsumer(*g, r.consumer, ctx.now_ms, &created);
    if (created) ctx.Notify(kNotifyStream, "xgroup-createconsumer", key);
    if (created && r.noack) {
      ctx.propagate_many.push_back({"XGROUP", "CREATECONSUMER", key, r.group_name, r.consumer});
    }
    ReadNew(ctx, *s, start, r.count, g, key, r.group_name, r.consumer, r.noack, &parts[0].read);
  } else {
    ReadNew(ctx, *s, start, r.count, nullptr, key, "", "", false, &parts[0].read);
  }
  ReplyParts(ctx, parts);
  if (!ctx.propagate_many.empty()) ctx.AddDirty(ctx.propagate_many.size());
}

void XRead(CommandContext& ctx, Args args) { XReadGeneric(ctx, args); }

// The key indexes of XREAD / XREADGROUP: the first half of what follows
// STREAMS.
std::vector<int> XReadKeys(std::span<const std::string> args) {
  for (size_t i = 1; i < args.size(); ++i) {
    if (absl::EqualsIgnoreCase(args[i], "streams")) {
      const size_t n = args.size() - i - 1;
      if (n == 0 || n % 2 != 0) return {};
      std::vector<int> out;
      for (size_t k = 0; k < n / 2; ++k) out.push_back(static_cast<int>(i + 1 + k));
      return out;
    }
    // Skip option values so that a key or group named "streams" is not
    // taken for the keyword.
    if (absl::EqualsIgnoreCase(args[i], "block") || absl::EqualsIgnoreCase(args[i], "count")) {
      ++i;
    } else if (absl::EqualsIgnoreCase(args[i], "group")) {
      i += 2;
    }
  }
  return {};
}

// --- XGROUP ---

void XGroupParent(CommandContext& ctx, Args args) {
  ctx.reply.Error(errors::UnknownSubcommand("XGROUP", args.size() > 1 ? args[1] : ""));
}

void XGroupHelp(CommandContext& ctx, Args) {
  ReplyHelp(
      ctx, "XGROUP",
      {"CREATE <key> <groupname> <id|$> [option]",
       "    Create a new consumer group. Options are:", "    * MKSTREAM",
       "      Create the empty stream if it does not exist.", "    * ENTRIESREAD entries_read",
       "      Set the group's entries_read counter (internal use).",
       "CREATECONSUMER <key> <groupname> <consumer>",
       "    Create a new consumer in the specified group.",
       "DELCONSUMER <key> <groupname> <consumer>", "    Remove the specified consumer.",
       "DESTROY <key> <groupname>", "    Remove the specified group.",
       "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
       "    Set the current group ID and entries_read counter."});
}

// The common start of XGROUP's keyed subcommands: options, the stream and
// the group. Returns false after replying an error.
struct XGroupTarget {
  StreamObject* s = nullptr;
  StreamGroup* g = nullptr;
  bool mkstream = false;
  int64_t entries_read = StreamObject::kInvalidEntriesRead;
};

bool XGroupResolve(CommandContext& ctx, Args args, XGroupTarget* t) {
  const std::string& sub = args[1];
  const bool create = absl::EqualsIgnoreCase(sub, "create");
  const bool setid = absl::EqualsIgnoreCase(sub, "setid");
  for (size_t i = 5; i < args.size();) {
    if (create && absl::EqualsIgnoreCase(args[i], "mkstream")) {
      t->mkstream = true;
      ++i;
    } else if ((create || setid) && absl::EqualsIgnoreCase(args[i], "entriesread") &&
               i + 1 < args.size()) {
      if (!ParseLongOrReply(ctx, args[i + 1], &t->entries_read)) return false;
      if (t->entries_read < 0 && t->entries_read != StreamObject::kInvalidEntriesRead) {
        ctx.reply.Error("ERR value for ENTRIESREAD must be positive or -1");
        return false;
      }
      i += 2;
    } else {
      ctx.reply.Error(errors::SubcommandSyntax("XGROUP", sub));
      return false;
    }
  }
  Found f = GetStream(ctx, args[2], false, &t->s);
  if (f == Found::kWrongType) return false;
  if (f == Found::kMissing) t->s = nullptr;
  if (!t->mkstream) {
    if (t->s == nullptr) {
      ctx.reply.Error(
          "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may "
          "want to use the MKSTREAM option to create an empty stream automatically.");
      return false;
    }
    t->g = t->s->FindGroup(args[3]);
    if (t->g == nullptr && !create && !absl::EqualsIgnoreCase(sub, "destroy")) {
      ctx.reply.Error(absl::StrCat("NOGROUP No such consumer group '", args[3], "' for key name '",
                                   args[2], "'"));
      return false;
    }
  }
  return true;
}

void XGroupCreate(CommandContext& ctx, Args args) {
  XGroupTarget t;
  if (!XGroupResolve(ctx, args, &t)) return;
  if (args.size() > 8) {
    ctx.reply.Error(errors::SubcommandSyntax("XGROUP", args[1]));
    return;
  }
  StreamId id;
  if (args[4] == "$") {
    id = t.s ? t.s->last_id() : StreamId{};
  } else if (!ParseIdOrReply(ctx, args[4], &id, 0, true)) {
    return;
  }
  if (t.s == nullptr) {
    t.s = types::CreateTyped<StreamObject>(ctx.DbFor(args[2]), args[2], ctx.now_ms,
                                           ValueType::kStream);
  }
  if (t.s->CreateGroup(args[3], id, t.entries_read) == nullptr) {
    ctx.reply.Error("BUSYGROUP Consumer Group name already exists");
    return;
  }
  ctx.reply.Ok();
  ctx.AddDirty(1);
  ctx.Notify(kNotifyStream, "xgroup-create", args[2]);
}

void XGroupSetId(CommandContext& ctx, Args args) {
  XGroupTarget t;
  if (!XGroupResolve(ctx, args, &t)) return;
  if (args.size() != 5 && args.size() != 7) {
    ctx.reply.Error(errors::SubcommandSyntax("XGROUP", args[1]));
    return;
  }
  StreamId id;
  if (args[4] == "$") {
    id = t.s->last_id();
  } else if (!ParseIdOrReply(ctx, args[4], &id, 0, false)) {
    return;
  }
  t.g->last_id = id;
  t.g->entries_read = t.entries_read;
  ctx.reply.Ok();
  ctx.AddDirty(1);
  ctx.Notify(kNotifyStream, "xgroup-setid", args[2]);
}

void XGroupDestroy(CommandContext& ctx, Args args) {
  XGroupTarget t;
  if (!XGroupResolve(ctx, args, &t)) return;
  if (t.g == nullptr) {
    ctx.reply.Integer(0);
    return;
  }
  t.s->groups().erase(t.s->groups().find(args[3]));
  ctx.reply.Integer(1);
  ctx.AddDirty(1);
  ctx.Notify(kNotifyStream, "xgroup-destroy", args[2]);
  // Wakes the XREADGROUP clients of that group (NOGROUP); WATCH is not
  // touched, as in Redis.
  ctx.shard.blocking().Signal(ctx.db_index(), args[2]);
}

void XGroupCreateConsumer(CommandContext& ctx, Args args) {
  XGroupTarget t;
  if (!XGroupResolve(ctx, args, &t)) return;
  auto [it, inserted] = t.g->consumers.try_emplace(args[4]);
  if (inserted) {
    it->second.seen_time = ctx.now_ms;
    ctx.AddDirty(1);
    ctx.Notify(kNotifyStream, "xgroup-createconsumer", args[2]);
  }
  ctx.reply.Integer(inserted ? 1 : 0);
}

void XGroupDelConsumer(CommandContext& ctx, Args args) {
  XGroupTarget t;
  if (!XGroupResolve(ctx, args, &t)) return;
  int64_t pending = 0;
  if (t.g->consumers.contains(args[4])) {
    pending = static_cast<int64_t>(StreamObject::DeleteConsumer(*t.g, args[4]));
    ctx.AddDirty(1);
    ctx.Notify(kNotifyStream, "xgroup-delconsumer", args[2]);
  }
  ctx.reply.Integer(pending);
}

// --- XACK / XPENDING / XCLAIM / XAUTOCLAIM ---

void XAck(CommandContext& ctx, Args args) {
  StreamObject* s = nullptr;
  Found f = GetStream(ctx, args[1], true, &s);
  if (f == Found::kWrongType) return;
  StreamGroup* g = f == Found::kOk ? s->FindGroup(args[2]) : nullptr;
  if (g == nullptr) {
    ctx.reply.Integer(0);
    return;
  }
  std::vector<StreamId> ids(args.size() - 3);
  for (size_t j = 3; j < args.size(); ++j) {
    if (!ParseIdOrReply(ctx, args[j], &ids[j - 3], 0, true)) return;
  }
  int64_t acked = 0;
  for (const StreamId& id : ids) {
    auto it = g->pel.find(id);
    if (it == g->pel.end()) continue;
    auto c = g->consumers.find(it->second.consumer);
    if (c != g->consumers.end()) c->second.pel.erase(id);
    g->pel.erase(it);
    ++acked;
  }
  if (acked) ctx.AddDirty(static_cast<uint64_t>(acked));
  ctx.reply.Integer(acked);
}

void XPending(CommandContext& ctx, Args args) {
  const bool justinfo = args.size() == 3;
  if (args.size() != 3 && (args.size() < 6 || args.size() > 9)) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  StreamId start, end;
  int64_t count = 0, minidle = 0;
  const std::string* consumer_name = nullptr;
  if (args.size() >= 6) {
    size_t si = 3;
    if (absl::EqualsIgnoreCase(args[3], "idle")) {
      if (!ParseLongOrReply(ctx, args[4], &minidle)) return;
      if (args.size() < 8) {
        ctx.reply.Error(errors::kSyntax);
        return;
      }
      si += 2;
    }
    if (!ParseLongOrReply(ctx, args[si + 2], &count)) return;
    if (count < 0) count = 0;
    bool ex;
    if (!ParseIntervalIdOrReply(ctx, args[si], &start, &ex, 0)) return;
    if (ex && !start.Incr()) {
      ctx.reply.Error("ERR invalid start ID for the interval");
      return;
    }
    if (!ParseIntervalIdOrReply(ctx, args[si + 1], &end, &ex, UINT64_MAX)) return;
    if (ex && !end.Decr()) {
      ctx.reply.Error("ERR invalid end ID for the interval");
      return;
    }
    if (si + 3 < args.size()) consumer_name = &args[si + 3];
  }
  StreamObject* s = nullptr;
  Found f = GetStream(ctx, args[1], true, &s);
  if (f == Found::kWrongType) return;
  StreamGroup* g = f == Found::kOk ? s->FindGroup(args[2]) : nullptr;
  if (g == nullptr) {
    ctx.reply.Error(NoGroupKeyError(args[1], args[2]));
    return;
  }
  if (justinfo) {
    ctx.reply.ArrayHeader(4);
    ctx.reply.Integer(static_cast<int64_t>(g->pel.size()));
    if (g->pel.empty()) {
      ctx.reply.NullBulk();
      ctx.reply.NullBulk();
      ctx.reply.NullArray();
      return;
    }
    ctx.reply.Bulk(g->pel.begin()->first.ToString());
    ctx.reply.Bulk(g->pel.rbegin()->first.ToString());
    size_t with = 0;
    for (const auto& [name, c] : g->consumers) with += !c.pel.empty();
    ctx.reply.ArrayHeader(with);
    for (const auto& [name, c] : g->consumers) {
      if (c.pel.empty()) continue;
      ctx.reply.ArrayHeader(2);
      ctx.reply.Bulk(name);
      ctx.reply.Bulk(absl::StrCat(c.pel.size()));
    }
    return;
  }
  std::vector<std::pair<StreamId, const StreamNack*>> out;
  auto take = [&](const StreamId& id, const StreamNack& nack) {
    if (minidle && ctx.now_ms - nack.delivery_time < minidle) return;
    out.emplace_back(id, &nack);
    --count;
  };
  if (consumer_name) {
    auto c = g->consumers.find(*consumer_name);
    if (c == g->consumers.end()) {
      ctx.reply.ArrayHeader(0);
      return;
    }
    for (auto it = c->second.pel.lower_bound(start); count && it != c->second.pel.end(); ++it) {
      if (*it > end) break;
      take(*it, g->pel.at(*it));
    }
  } else {
    for (auto it = g->pel.lower_bound(start); count && it != g->pel.end(); ++it) {
      if (it->first > end) break;
      take(it->first, it->second);
    }
  }
  ctx.reply.ArrayHeader(out.size());
  for (const auto& [id, nack] : out) {
    ctx.reply.ArrayHeader(4);
    ctx.reply.Bulk(id.ToString());
    ctx.reply.Bulk(nack->consumer);
    ctx.reply.Integer(std::max<int64_t>(0, ctx.now_ms - nack->delivery_time));
    ctx.reply.Integer(static_cast<int64_t>(nack->delivery_count));
  }
}

// Drops the PEL entry `id` of `g` (its entry was deleted from the stream).
void DropNack(StreamGroup& g, const StreamId& id) {
  auto it = g.pel.find(id);
  auto c = g.consumers.find(it->second.consumer);
  if (c != g.consumers.end()) c->second.pel.erase(id);
  g.pel.erase(it);
}

// Gives the PEL entry `id` to `consumer` (creating the consumer).
StreamNack& ClaimNack(StreamGroup& g, const StreamId& id, std::string_view consumer,
                      int64_t now_ms) {
  bool created;
  StreamConsumer& c = LookupOrCreateConsumer(g, consumer, now_ms, &created);
  StreamNack& nack = g.pel[id];
  if (nack.consumer != consumer) {
    auto old = g.consumers.find(nack.consumer);
    if (old != g.consumers.end() && !nack.consumer.empty()) old->second.pel.erase(id);
    nack.consumer = std::string(consumer);
  }
  c.pel.insert(id);
  return nack;
}

void XClaim(CommandContext& ctx, Args args) {
  StreamObject* s = nullptr;
  Found f = GetStream(ctx, args[1], true, &s);
  if (f == Found::kWrongType) return;
  StreamGroup* g = f == Found::kOk ? s->FindGroup(args[2]) : nullptr;
  if (g == nullptr) {
    ctx.reply.Error(NoGroupKeyError(args[1], args[2]));
    return;
  }
  int64_t minidle;
  if (!ParseLongOrReply(ctx, args[4], &minidle, "ERR Invalid min-idle-time argument for XCLAIM"))
    return;
  if (minidle < 0) minidle = 0;
  size_t j = 5;
  std::vector<StreamId> ids;
  for (; j < args.size(); ++j) {
    StreamId id;
    if (!ParseId(args[j], &id, 0, true)) break;
    ids.push_back(id);
  }
  const int64_t now = ctx.now_ms;
  int64_t retrycount = -1, deliverytime = -1;
  bool force = false, justid = false;
  StreamId last_id;
  for (; j < args.size(); ++j) {
    const bool more = j + 1 < args.size();
    const std::string& opt = args[j];
    if (absl::EqualsIgnoreCase(opt, "force")) {
      force = true;
    } else if (absl::EqualsIgnoreCase(opt, "justid")) {
      justid = true;
    } else if (absl::EqualsIgnoreCase(opt, "idle") && more) {
      if (!ParseLongOrReply(ctx, args[++j], &deliverytime,
                            "ERR Invalid IDLE option argument for XCLAIM"))
        return;
      deliverytime = now - deliverytime;
    } else if (absl::EqualsIgnoreCase(opt, "time") && more) {
      if (!ParseLongOrReply(ctx, args[++j], &deliverytime,
                            "ERR Invalid TIME option argument for XCLAIM"))
        return;
    } else if (absl::EqualsIgnoreCase(opt, "retrycount") && more) {
      if (!ParseLongOrReply(ctx, args[++j], &retrycount,
                            "ERR Invalid RETRYCOUNT option argument for XCLAIM"))
        return;
    } else if (absl::EqualsIgnoreCase(opt, "lastid") && more) {
      if (!ParseIdOrReply(ctx, args[++j], &last_id, 0, true)) return;
    } else {
      ctx.reply.Error(absl::StrCat("ERR Unrecognized XCLAIM option '", opt, "'"));
      return;
    }
  }
  bool propagate_last_id = false;
  if (last_id > g->last_id) {
    g->last_id = last_id;
    propagate_last_id = true;
  }
  if (deliverytime != -1) {
    if (deliverytime < 0 || deliverytime > now) deliverytime = now;
  } else {
    deliverytime = now;
  }
  const std::string& name = args[3];
  EntryList out;
  for (const StreamId& id : ids) {
    auto it = g->pel.find(id);
    StreamFields fields;
    if (!s->Find(id, justid ? nullptr : &fields)) {
      if (it != g->pel.end()) {
        ctx.propagate_many.push_back(XClaimPropagation(args[1], args[2], *g, id, it->second));
        propagate_last_id = false;
        DropNack(*g, id);
      }
      continue;
    }
    bool had_owner = it != g->pel.end();
    if (!had_owner) {
      if (!force) continue;
    } else if (minidle && now - it->second.delivery_time < minidle) {
      continue;
    }
    const bool had_consumer = g->consumers.contains(name);
    StreamNack& nack = ClaimNack(*g, id, name, now);
    if (!had_consumer) ctx.Notify(kNotifyStream, "xgroup-createconsumer", args[1]);
    nack.delivery_time = deliverytime;
    if (retrycount >= 0) {
      nack.delivery_count = static_cast<uint64_t>(retrycount);
    } else if (!justid) {
      ++nack.delivery_count;
    }
    out.emplace_back(id, std::move(fields));
    ctx.propagate_many.push_back(XClaimPropagation(args[1], args[2], *g, id, nack));
    propagate_last_id = false;
  }
  if (propagate_last_id) ctx.propagate_many.push_back(SetIdPropagation(args[1], args[2], *g));
  ctx.reply.ArrayHeader(out.size());
  for (const auto& [id, fields] : out) {
    if (justid) {
      ctx.reply.Bulk(id.ToString());
    } else {
      ReplyEntry(ctx.reply, id, fields);
    }
  }
  if (!ctx.propagate_many.empty()) ctx.AddDirty(ctx.propagate_many.size());
}

void XAutoClaim(CommandContext& ctx, Args args) {
  int64_t minidle;
  if (!ParseLongOrReply(ctx, args[4], &minidle,
                        "ERR Invalid min-idle-time argument for XAUTOCLAIM"))
    return;
  if (minidle < 0) minidle = 0;
  StreamId start;
  bool ex;
  if (!ParseIntervalIdOrReply(ctx, args[5], &start, &ex, 0)) return;
  if (ex && !start.Incr()) {
    ctx.reply.Error("ERR invalid start ID for the interval");
    return;
  }
  int64_t count = 100;
  bool justid = false;
  for (size_t j = 6; j < args.size(); ++j) {
    if (absl::EqualsIgnoreCase(args[j], "count") && j + 1 < args.size()) {
      constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 16;
      int64_t v;
      if (!types::ParseInt64(args[j + 1], &v)) {
        ctx.reply.Error("ERR COUNT must be > 0");
        return;
      }
      if (v < 1 || v > kMax) {
        ctx.reply.Error("ERR COUNT must be > 0");
        return;
      }
      count = v;
      ++j;
    } else if (absl::EqualsIgnoreCase(args[j], "justid")) {
      justid = true;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  StreamObject* s = nullptr;
  Found f = GetStream(ctx, args[1], true, &s);
  if (f == Found::kWrongType) return;
  StreamGroup* g = f == Found::kOk ? s->FindGroup(args[2]) : nullptr;
  if (g == nullptr) {
    ctx.reply.Error(NoGroupKeyError(args[1], args[2]));
    return;
  }
  const int64_t now = ctx.now_ms;
  int64_t attempts = count * 10;
  std::vector<StreamId> deleted;
  EntryList out;
  auto it = g->pel.lower_bound(start);
  while (attempts-- && count && it != g->pel.end()) {
    const StreamId id = it->first;
    StreamFields fields;
    if (!s->Find(id, justid ? nullptr : &fields)) {
      ctx.propagate_many.push_back(XClaimPropagation(args[1], args[2], *g, id, it->second));
      ++it;
      DropNack(*g, id);
      deleted.push_back(id);
      --count;
      continue;
    }
    if (minidle && now - it->second.delivery_time < minidle) {
      ++it;
      continue;
    }
    const bool had_consumer = g->consumers.contains(args[3]);
    StreamNack& nack = ClaimNack(*g, id, args[3], now);
    if (!had_consumer) ctx.Notify(kNotifyStream, "xgroup-createconsumer", args[1]);
    nack.delivery_time = now;
    if (!justid) ++nack.delivery_count;
    out.emplace_back(id, std::move(fields));
    --count;
    ctx.propagate_many.push_back(XClaimPropagation(args[1], args[2], *g, id, nack));
    ++it;
  }
  const StreamId end = it == g->pel.end() ? StreamId{} : it->first;
  ctx.reply.ArrayHeader(3);
  ctx.reply.Bulk(end.ToString());
  ctx.reply.ArrayHeader(out.size());
  for (const auto& [id, fields] : out) {
    if (justid) {
      ctx.reply.Bulk(id.ToString());
    } else {
      ReplyEntry(ctx.reply, id, fields);
    }
  }
  ctx.reply.ArrayHeader(deleted.size());
  for (const StreamId& id : deleted) ctx.reply.Bulk(id.ToString());
  if (!ctx.propagate_many.empty()) ctx.AddDirty(ctx.propagate_many.size());
}

// --- XINFO ---

void XInfoParent(CommandContext& ctx, Args args) {
  ctx.reply.Error(errors::UnknownSubcommand("XINFO", args.size() > 1 ? args[1] : ""));
}

void XInfoHelp(CommandContext& ctx, Args) {
  ReplyHelp(ctx, "XINFO",
            {"CONSUMERS <key> <groupname>", "    Show consumers of <groupname>.", "GROUPS <key>",
             "    Show the stream consumer groups.", "STREAM <key> [FULL [COUNT <count>]",
             "    Show information about the stream."});
}

// The stream at args[2] for XINFO, or nullptr after replying an error.
StreamObject* XInfoStreamOrReply(CommandContext& ctx, Args args) {
  StreamObject* s = nullptr;
  Found f = GetStream(ctx, args[2], true, &s);
  if (f == Found::kWrongType) return nullptr;
  if (f == Found::kMissing) {
    ctx.reply.Error(errors::kNoSuchKey);
    return nullptr;
  }
  return s;
}

void ReplyLag(resp::ReplyBuilder& r, const StreamObject& s, const StreamGroup& g) {
  if (auto lag = s.GroupLag(g)) {
    r.Integer(*lag);
  } else {
    r.NullBulk();
  }
}

void ReplyEntriesRead(resp::ReplyBuilder& r, const StreamGroup& g) {
  if (g.entries_read != StreamObject::kInvalidEntriesRead) {
    r.Integer(g.entries_read);
  } else {
    r.NullBulk();
  }
}

void XInfoConsumers(CommandContext& ctx, Args args) {
  StreamObject* s = XInfoStreamOrReply(ctx, args);
  if (s == nullptr) return;
  StreamGroup* g = s->FindGroup(args[3]);
  if (g == nullptr) {
    ctx.reply.Error(absl::StrCat("NOGROUP No such consumer group '", args[3], "' for key name '",
                                 args[2], "'"));
    return;
  }
  ctx.reply.ArrayHeader(g->consumers.size());
  for (const auto& [name, c] : g->consumers) {
    ctx.reply.MapHeader(3);
    ctx.reply.Bulk("name");
    ctx.reply.Bulk(name);
    ctx.reply.Bulk("pending");
    ctx.reply.Integer(static_cast<int64_t>(c.pel.size()));
    ctx.reply.Bulk("idle");
    ctx.reply.Integer(std::max<int64_t>(0, ctx.now_ms - c.seen_time));
  }
}

void XInfoGroups(CommandContext& ctx, Args args) {
  StreamObject* s = XInfoStreamOrReply(ctx, args);
  if (s == nullptr) return;
  ctx.reply.ArrayHeader(s->groups().size());
  for (const auto& [name, g] : s->groups()) {
    ctx.reply.MapHeader(6);
    ctx.reply.Bulk("name");
    ctx.reply.Bulk(name);
    ctx.reply.Bulk("consumers");
    ctx.reply.Integer(static_cast<int64_t>(g.consumers.size()));
    ctx.reply.Bulk("pending");
    ctx.reply.Integer(static_cast<int64_t>(g.pel.size()));
    ctx.reply.Bulk("last-delivered-id");
    ctx.reply.Bulk(g.last_id.ToString());
    ctx.reply.Bulk("entries-read");
    ReplyEntriesRead(ctx.reply, g);
    ctx.reply.Bulk("lag");
    ReplyLag(ctx.reply, *s, g);
  }
}

void XInfoStream(CommandContext& ctx, Args args) {
  // The key is looked up before the options are read, as Redis does.
  StreamObject* s = XInfoStreamOrReply(ctx, args);
  if (s == nullptr) return;
  bool full = false;
  int64_t count = 10;
  const size_t optc = args.size() - 3;
  if (optc != 0) {
    if ((optc != 1 && optc != 3) || !absl::EqualsIgnoreCase(args[3], "full") ||
        (optc == 3 && !absl::EqualsIgnoreCase(args[4], "count"))) {
      ctx.reply.Error(errors::SubcommandSyntax("XINFO", args[1]));
      return;
    }
    full = true;
    if (optc == 3) {
      if (!ParseLongOrReply(ctx, args[5], &count)) return;
      if (count < 0) count = 10;
    }
  }
  resp::ReplyBuilder& r = ctx.reply;
  r.MapHeader(full ? 9 : 10);
  r.Bulk("length");
  r.Integer(static_cast<int64_t>(s->Length()));
  r.Bulk("radix-tree-keys");
  r.Integer(static_cast<int64_t>(s->NodeCount()));
  r.Bulk("radix-tree-nodes");
  r.Integer(static_cast<int64_t>(s->RaxNodeEstimate()));
  r.Bulk("last-generated-id");
  r.Bulk(s->last_id().ToString());
  r.Bulk("max-deleted-entry-id");
  r.Bulk(s->max_deleted_id().ToString());
  r.Bulk("entries-added");
  r.Integer(static_cast<int64_t>(s->entries_added()));
  r.Bulk("recorded-first-entry-id");
  r.Bulk(s->first_id().ToString());
  if (!full) {
    r.Bulk("groups");
    r.Integer(static_cast<int64_t>(s->groups().size()));
    for (bool first : {true, false}) {
      r.Bulk(first ? "first-entry" : "last-entry");
      StreamId id;
      StreamFields fields;
      if (s->Edge(first, &id, &fields)) {
        ReplyEntry(r, id, fields);
      } else {
        r.NullBulk();
      }
    }
    return;
  }
  r.Bulk("entries");
  EntryList entries;
  s->Range(StreamId{}, StreamId::Max(), false, [&](const StreamId& id, const StreamFields& fields) {
    entries.emplace_back(id, fields);
    return count == 0 || static_cast<int64_t>(entries.size()) < count;
  });
  r.ArrayHeader(entries.size());
  for (const auto& [id, fields] : entries) ReplyEntry(r, id, fields);
  r.Bulk("groups");
  r.ArrayHeader(s->groups().size());
  for (const auto& [name, g] : s->groups()) {
    r.MapHeader(7);
    r.Bulk("name");
    r.Bulk(name);
    r.Bulk("last-delivered-id");
    r.Bulk(g.last_id.ToString());
    r.Bulk("entries-read");
    ReplyEntriesRead(r, g);
    r.Bulk("lag");
    ReplyLag(r, *s, g);
    r.Bulk("pel-count");
    r.Integer(static_cast<int64_t>(g.pel.size()));
    r.Bulk("pending");
    size_t n = g.pel.size();
    if (count && static_cast<size_t>(count) < n) n = static_cast<size_t>(count);
    r.ArrayHeader(n);
    size_t i = 0;
    for (const auto& [id, nack] : g.pel) {
      if (i++ == n) break;
      r.ArrayHeader(4);
      r.Bulk(id.ToString());
      r.Bulk(nack.consumer);
      r.Integer(nack.delivery_time);
      r.Integer(static_cast<int64_t>(nack.delivery_count));
    }
    r.Bulk("consumers");
    r.ArrayHeader(g.consumers.size());
    for (const auto& [cname, c] : g.consumers) {
      r.MapHeader(4);
      r.Bulk("name");
      r.Bulk(cname);
      r.Bulk("seen-time");
      r.Integer(c.seen_time);
      r.Bulk("pel-count");
      r.Integer(static_cast<int64_t>(c.pel.size()));
      r.Bulk("pending");
      size_t m = c.pel.size();
      if (count && static_cast<size_t>(count) < m) m = static_cast<size_t>(count);
      r.ArrayHeader(m);
      size_t k = 0;
      for (const StreamId& id : c.pel) {
        if (k++ == m) break;
        const StreamNack& nack = g.pel.at(id);
        r.ArrayHeader(3);
        r.Bulk(id.ToString());
        r.Integer(nack.delivery_time);
        r.Integer(static_cast<int64_t>(nack.delivery_count));
      }
    }
  }
}

CommandSpec Spec(std::string name, int arity, uint32_t flags, Handler h, std::string_view since,
                 std::string_view summary) {
  return CommandSpec{.name = std::move(name),
                     .arity = arity,
                     .flags = flags,
                     .first_key = 1,
                     .last_key = 1,
                     .key_step = 1,
                     .handler = h,
                     .group = "stream",
                     .summary = summary,
                     .since = since};
}

CommandSpec Sub(std::string name, int arity, uint32_t flags, Handler h, int first,
                std::string_view since, std::string_view summary) {
  CommandSpec s = Spec(std::move(name), arity, flags, h, since, summary);
  s.first_key = first;
  s.last_key = first;
  s.key_step = first ? 1 : 0;
  return s;
}

}  // namespace

void RegisterStreamFamily(CommandTable& t) {
  constexpr uint32_t kW = kCmdWrite;
  constexpr uint32_t kR = kCmdReadonly;
  constexpr uint32_t kF = kCmdFast;
  constexpr uint32_t kD = kCmdDenyOom;
  t.Register(Spec("xadd", -5, kW | kD | kF, XAdd, "5.0.0", "Appends a new entry to a stream"));
  t.Register(Spec("xrange", -4, kR, XRange, "5.0.0",
                  "Return a range of elements in a stream, with IDs matching the specified IDs "
                  "interval"));
  t.Register(Spec("xrevrange", -4, kR, XRevRange, "5.0.0",
                  "Return a range of elements in a stream, with IDs matching the specified IDs "
                  "interval, in reverse order (from greater to smaller IDs) compared to XRANGE"));
  t.Register(Spec("xlen", 2, kR | kF, XLen, "5.0.0", "Return the number of entries in a stream"));
  t.Register(Spec("xdel", -3, kW | kF, XDel, "5.0.0",
                  "Removes the specified entries from the stream. Returns the number of items "
                  "actually deleted, that may be different from the number of IDs passed in case "
                  "certain IDs do not exist."));
  t.Register(Spec("xtrim", -4, kW, XTrim, "5.0.0",
                  "Trims the stream to (approximately if '~' is passed) a certain size"));
  t.Register(Spec("xsetid", -3, kW | kD | kF, XSetId, "5.0.0",
                  "An internal command for replicating stream values"));
  CommandSpec xread =
      KeyedCommand("xread", -4, kR | kCmdBlocking, XRead, 0, 0, "stream", "5.0.0", XReadKeys);
  xread.summary =
      "Return never seen elements in multiple streams, with IDs greater than the ones reported "
      "by the caller for each stream. Can block.";
  t.Register(std::move(xread));
  CommandSpec xreadgroup =
      KeyedCommand("xreadgroup", -7, kW | kCmdBlocking, XRead, 0, 0, "stream", "5.0.0", XReadKeys);
  xreadgroup.summary =
      "Return new entries from a stream using a consumer group, or access the history of the "
      "pending entries for a given consumer. Can block.";
  t.Register(std::move(xreadgroup));
  t.Register(Spec("xack", -4, kW | kF, XAck, "5.0.0",
                  "Marks a pending message as correctly processed, effectively removing it from "
                  "the pending entries list of the consumer group. Return value of the command "
                  "is the number of messages successfully acknowledged, that is, the IDs we were "
                  "actually able to resolve in the PEL."));
  t.Register(Spec("xpending", -3, kR, XPending, "5.0.0",
                  "Return information and entries from a stream consumer group pending entries "
                  "list, that are messages fetched but never acknowledged."));
  t.Register(Spec("xclaim", -6, kW | kF, XClaim, "5.0.0",
                  "Changes (or acquires) ownership of a message in a consumer group, as if the "
                  "message was delivered to the specified consumer."));
  t.Register(Spec("xautoclaim", -6, kW | kF, XAutoClaim, "6.2.0",
                  "Changes (or acquires) ownership of messages in a consumer group, as if the "
                  "messages were delivered to the specified consumer."));

  CommandSpec xgroup =
      Sub("xgroup", -2, 0, XGroupParent, 0, "5.0.0", "A container for consumer groups commands");
  xgroup.subcommands = {
      Sub("xgroup|help", 2, kCmdLoading | kCmdStale, XGroupHelp, 0, "5.0.0",
          "Show helpful text about the different subcommands"),
      Sub("xgroup|create", -5, kW | kD, XGroupCreate, 2, "5.0.0", "Create a consumer group."),
      Sub("xgroup|setid", -5, kW, XGroupSetId, 2, "5.0.0",
          "Set a consumer group to an arbitrary last delivered ID value."),
      Sub("xgroup|destroy", 4, kW, XGroupDestroy, 2, "5.0.0", "Destroy a consumer group."),
      Sub("xgroup|createconsumer", 5, kW | kD, XGroupCreateConsumer, 2, "6.2.0",
          "Create a consumer in a consumer group."),
      Sub("xgroup|delconsumer", 5, kW, XGroupDelConsumer, 2, "5.0.0",
          "Delete a consumer from a consumer group."),
  };
  t.Register(std::move(xgroup));

  CommandSpec xinfo =
      Sub("xinfo", -2, 0, XInfoParent, 0, "5.0.0", "A container for stream introspection commands");
  xinfo.subcommands = {
      Sub("xinfo|help", 2, kCmdLoading | kCmdStale, XInfoHelp, 0, "5.0.0",
          "Show helpful text about the different subcommands"),
      Sub("xinfo|consumers", 4, kR, XInfoConsumers, 2, "5.0.0",
          "List the consumers in a consumer group"),
      Sub("xinfo|groups", 3, kR, XInfoGroups, 2, "5.0.0", "List the consumer groups of a stream"),
      Sub("xinfo|stream", -3, kR, XInfoStream, 2, "5.0.0", "Get information about a stream"),
  };
  t.Register(std::move(xinfo));
}

}  // namespace shardnode::node
