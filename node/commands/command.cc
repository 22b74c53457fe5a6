#include "node/commands/command.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/keyspace/keyspace.h"
#include "node/keyspace/types/type_util.h"
#include "node/resp/reply.h"
#include "node/server/blocking.h"
#include "node/server/log.h"
#include "node/server/node_services.h"
#include "node/server/replication_control.h"
#include "node/server/shard.h"
#include "node/server/write_stream.h"
#include "slots/hash_slot.h"

namespace shardnode::node {

void CallBoundHandler(CommandContext& ctx, Args args) { ctx.spec.bound_handler(ctx, args); }

CommandContext::CommandContext(Shard& shard, NodeServices& node, Session& session,
                               resp::ReplyBuilder& reply, const CommandSpec& spec, int64_t now_ms,
                               int db_index, ShardGrant grant)
    : shard(shard),
      node(node),
      session(session),
      reply(reply),
      spec(spec),
      now_ms(now_ms),
      db_index_(db_index),
      grant_(std::move(grant)),
      only_db_(shard.num_keyspaces() == 1 && grant_.Allows(0) ? &shard.keyspace(0).db(db_index)
                                                              : nullptr) {}

int CommandContext::Granted(int i, std::string_view what) const {
  if (!grant_.Allows(i)) [[unlikely]] {
    // A bug: the handler reached a key (or slot) that its command's entry
    // does not name, in a shard the dispatcher did not grant it. With shard
    // threads this would be a data race; crash loudly now.
    const std::string message =
        absl::StrCat("BUG: command '", spec.name, "' reached '", base::ToAbsl(what), "' in shard ",
                     i, ", which the dispatcher did not grant it");
    Logf(LogLevel::kWarning, "%s", message);
    std::fprintf(stderr, "%s\n", message.c_str());
    std::abort();
  }
  return i;
}

Db& CommandContext::DbOfKeyShard(std::string_view key) {
  return shard.keyspace(Granted(shard.IndexForSlot(slots::KeyHashSlot(key)), key)).db(db_index_);
}

int CommandContext::num_dbs() const { return shard.keyspace(0).num_dbs(); }

Db& CommandContext::DbFor(std::string_view key, int db_index) {
  return shard.keyspace(Granted(shard.IndexForSlot(slots::KeyHashSlot(key)), key)).db(db_index);
}

Db& CommandContext::DbForSlot(int slot) {
  const int i = shard.IndexForSlot(slot);
  if (!grant_.Allows(i)) [[unlikely]]
    Granted(i, absl::StrCat("slot ", slot));
  return shard.keyspace(i).db(db_index_);
}

ShardGrant GrantFor(const CommandSpec& spec, std::span<const std::string> args,
                    const Shard& shard) {
  if (spec.fan_out != nullptr) return ShardGrant::None();
  if (spec.flags & kCmdAllShards) return ShardGrant::All();
  ShardGrant grant;
  if (shard.num_keyspaces() == 1) {
    if (spec.first_key > 0 || spec.keys != nullptr || spec.slot_arg > 0) grant.Add(0);
    return grant;
  }
  ForEachKeyIndex(spec, args,
                  [&](int i) { grant.Add(shard.IndexForSlot(slots::KeyHashSlot(args[i]))); });
  int64_t slot;
  if (spec.slot_arg > 0 && static_cast<size_t>(spec.slot_arg) < args.size() &&
      types::ParseInt64(args[spec.slot_arg], &slot) && slot >= 0 && slot < slots::kNumSlots) {
    grant.Add(shard.IndexForSlot(static_cast<int>(slot)));
  }
  return grant;
}

std::vector<int> KeyIndexes(const CommandSpec& spec, std::span<const std::string> args) {
  if (spec.keys != nullptr) return spec.keys(args);
  std::vector<int> out;
  ForEachKeyIndex(spec, args, [&out](int i) { out.push_back(i); });
  return out;
}

int WriteSlot(const CommandSpec& spec, std::span<const std::string> args) {
  int slot = kNoSlot;
  bool first = true;
  ForEachKeyIndex(spec, args, [&](int i) {
    const int s = slots::KeyHashSlot(args[i]);
    if (first) {
      slot = s;
      first = false;
    } else if (s != slot) {
      slot = kNoSlot;
    }
  });
  return slot;
}

int RewrittenWriteSlot(const CommandTable& table, std::span<const std::string> args) {
  if (args.empty()) return kNoSlot;
  const CommandSpec* spec = table.Find(args[0]);
  if (spec == nullptr) return kNoSlot;
  if (!spec->subcommands.empty() && args.size() >= 2) {
    spec = CommandTable::FindSub(*spec, args[1]);
    if (spec == nullptr) return kNoSlot;
  }
  return WriteSlot(*spec, args);
}

void ForEachPropagatedWrite(
    const CommandTable& table, const CommandSpec& spec, CommandContext& ctx,
    std::vector<std::string>* received,
    absl::FunctionRef<void(std::span<const std::string> args, int slot)> write) {
  if (!ctx.propagate_many.empty()) {
    for (const std::vector<std::string>& op : ctx.propagate_many) {
      write(op, RewrittenWriteSlot(table, op));
    }
  } else if (!ctx.propagate_as.empty()) {
    write(ctx.propagate_as, RewrittenWriteSlot(table, ctx.propagate_as));
  } else if (received != nullptr && ctx.propagate_edit.index >= 0) {
    // The edited argument is no key: the slot is the received command's.
    std::string& arg = (*received)[static_cast<size_t>(ctx.propagate_edit.index)];
    std::string as_received = std::move(arg);
    arg.assign(ctx.propagate_edit.text, ctx.propagate_edit.size);
    write(*received, WriteSlot(spec, *received));
    arg = std::move(as_received);
  } else if (received != nullptr) {
    write(*received, WriteSlot(spec, *received));
  }
}

void CommandContext::AddDirty(uint64_t changes) {
  dirty += changes;
  shard.stats().dirty += changes;
}

void CommandContext::Notify(int type, std::string_view event, std::string_view key, int db) {
  node.NotifyKeyspaceEvent(type, event, key, db);
}

bool ParseScanOptionsOrReply(CommandContext& ctx, Args args, size_t first,
                             types::ScanOptions* opts) {
  switch (types::ParseScanOptions(args, first, opts)) {
    case types::ScanOptionsError::kNone:
      return true;
    case types::ScanOptionsError::kNotInteger:
      ctx.reply.Error(errors::kNotInteger);
      return false;
    case types::ScanOptionsError::kSyntax:
      ctx.reply.Error(errors::kSyntax);
      return false;
  }
  return false;
}

bool ParseBlockTimeoutOrReply(CommandContext& ctx, std::string_view arg, int64_t* deadline_ms) {
  switch (ParseBlockTimeout(arg, ctx.now_ms, deadline_ms)) {
    case BlockTimeoutError::kNone:
      return true;
    case BlockTimeoutError::kNotFloat:
      ctx.reply.Error(errors::kTimeoutNotFloat);
      return false;
    case BlockTimeoutError::kNegative:
      ctx.reply.Error(errors::kTimeoutNegative);
      return false;
  }
  return false;
}

bool AlreadyExpired(const CommandContext& ctx, int64_t when_ms) {
  if (when_ms > ctx.now_ms || ctx.node.loading().active) return false;
  ReplicationControl* replication = ctx.node.replication();
  return replication == nullptr || !replication->is_replica();
}

CommandSpec KeyedCommand(std::string name, int arity, uint32_t flags, Handler handler, int first,
                         int last, std::string_view group, std::string_view since, KeysFn keys) {
  return CommandSpec{.name = std::move(name),
                     .arity = arity,
                     .flags = flags,
                     .first_key = first,
                     .last_key = last,
                     .key_step = first > 0 ? 1 : 0,
                     .handler = handler,
                     .keys = keys,
                     .group = group,
                     .since = since};
}

CommandSpec SubcommandSpec(std::string_view parent, std::string_view sub, int arity, uint32_t flags,
                           Handler handler, std::string_view group) {
  return CommandSpec{.name = absl::StrCat(base::ToAbsl(parent), "|", base::ToAbsl(sub)),
                     .arity = arity,
                     .flags = flags,
                     .handler = handler,
                     .group = group};
}

std::vector<int> NumKeysIndexes(std::span<const std::string> args, size_t index) {
  std::vector<int> out;
  int64_t n;
  if (args.size() <= index || !types::ParseInt64(args[index], &n) || n < 1 ||
      n > static_cast<int64_t>(args.size() - index - 1)) {
    return out;
  }
  for (int64_t i = 0; i < n; ++i) out.push_back(static_cast<int>(index + 1 + i));
  return out;
}

bool ParseMPopArgs(CommandContext& ctx, Args args, size_t numkeys_idx, std::string_view first_word,
                   std::string_view second_word, MPopArgs* out) {
  int64_t numkeys;
  if (!types::ParseInt64(args[numkeys_idx], &numkeys) || numkeys < 1) {
    ctx.reply.Error(errors::kNumKeysNotPositive);
    return false;
  }
  const uint64_t where_idx = numkeys_idx + 1 + static_cast<uint64_t>(numkeys);
  if (where_idx >= args.size()) {
    ctx.reply.Error(errors::kSyntax);
    return false;
  }
  const absl::string_view where(args[where_idx]);
  if (absl::EqualsIgnoreCase(where, absl::string_view(first_word.data(), first_word.size()))) {
    out->second = false;
  } else if (absl::EqualsIgnoreCase(where,
                                    absl::string_view(second_word.data(), second_word.size()))) {
    out->second = true;
  } else {
    ctx.reply.Error(errors::kSyntax);
    return false;
  }
  int64_t count = -1;
  for (size_t j = where_idx + 1; j < args.size(); ++j) {
    const bool more = j + 1 < args.size();
    if (count == -1 && absl::EqualsIgnoreCase(args[j], "count") && more) {
      ++j;
      if (!types::ParseInt64(args[j], &count) || count < 1) {
        ctx.reply.Error(errors::kCountNotPositive);
        return false;
      }
    } else {
      ctx.reply.Error(errors::kSyntax);
      return false;
    }
  }
  out->count = count == -1 ? 1 : count;
  out->keys = args.subspan(numkeys_idx + 1, numkeys);
  return true;
}

std::string ArityError(const CommandSpec& spec) { return errors::WrongArity(spec.name); }

void ReplyHelp(CommandContext& ctx, std::string_view command,
               std::initializer_list<std::string_view> lines) {
  ctx.reply.ArrayHeader(lines.size() + 3);
  ctx.reply.SimpleString(absl::StrCat(base::ToAbsl(command),
                                      " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
  for (std::string_view line : lines) ctx.reply.SimpleString(line);
  ctx.reply.SimpleString("HELP");
  ctx.reply.SimpleString("    Prints this help.");
}

}  // namespace shardnode::node
