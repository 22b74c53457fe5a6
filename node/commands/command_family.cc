// COMMAND and its subcommands: COUNT, LIST, INFO, DOCS, GETKEYS and
// GETKEYSANDFLAGS. The commands are the command table's; what is said of each
// is Redis 7.0.15's (command_meta.h).

#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "node/commands/command_meta.h"
#include "node/commands/command_meta_reply.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/config/glob.h"
#include "node/resp/reply.h"
#include "node/server/node_services.h"
#include "node/server/shard.h"

namespace shardnode::node {
namespace {

// In Redis's order (addReplyFlagsForCommand).
std::vector<std::string_view> FlagNames(uint32_t flags, bool movable_keys) {
  static const std::pair<uint32_t, std::string_view> kNames[] = {
      {kCmdWrite, "write"},
      {kCmdReadonly, "readonly"},
      {kCmdDenyOom, "denyoom"},
      {kCmdAdmin, "admin"},
      {kCmdPubSub, "pubsub"},
      {kCmdNoScript, "noscript"},
      {kCmdBlocking, "blocking"},
      {kCmdLoading, "loading"},
      {kCmdStale, "stale"},
      {kCmdSkipMonitor, "skip_monitor"},
      {kCmdSkipSlowlog, "skip_slowlog"},
      {kCmdAsking, "asking"},
      {kCmdFast, "fast"},
      {kCmdNoAuth, "no_auth"},
      // may_replicate is hidden, as Redis hides it.
      {kCmdNoMandatoryKeys, "no_mandatory_keys"},
      {kCmdNoAsyncLoading, "no_async_loading"},
      {kCmdNoMulti, "no_multi"}};
  std::vector<std::string_view> out;
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) out.push_back(name);
  }
  if (movable_keys) out.push_back("movablekeys");
  if (flags & kCmdAllowBusy) out.push_back("allow_busy");
  return out;
}

// COMMAND INFO of an entry that Redis 7.0.15 does not have (none today):
// built from the entry alone, its key spec guessed from first/last/step.
void ReplyGuessedInfo(resp::ReplyBuilder& r, const CommandSpec& spec);

using meta::ReplyFlagSet;

// COMMAND INFO of one entry: Redis's facts (meta) for what Redis has, and
// the subcommands this node implements.
void ReplyCommandInfo(resp::ReplyBuilder& r, const CommandSpec& spec) {
  const meta::CommandMeta* m = meta::Find(spec.name);
  if (m == nullptr) {
    ReplyGuessedInfo(r, spec);
    return;
  }
  r.ArrayHeader(10);
  r.Bulk(spec.name);
  meta::ReplyInfoFields(r, *m);
  if (spec.subcommands.empty()) {
    r.SetHeader(0);
    return;
  }
  r.ArrayHeader(spec.subcommands.size());
  for (const CommandSpec& sub : spec.subcommands) ReplyCommandInfo(r, sub);
}

// One COMMAND DOCS entry: its name, then its map.
void ReplyCommandDocs(resp::ReplyBuilder& r, const CommandSpec& spec) {
  r.Bulk(spec.name);
  const meta::CommandMeta* m = meta::Find(spec.name);
  const bool subs = !spec.subcommands.empty();
  if (m == nullptr) {
    r.MapHeader(3 + (subs ? 1 : 0));
    r.Bulk("summary");
    r.Bulk(spec.summary);
    r.Bulk("since");
    r.Bulk(spec.since);
    r.Bulk("group");
    r.Bulk(spec.group);
  } else {
    r.MapHeader(meta::DocsFieldCount(*m) + subs);
    meta::ReplyDocsFields(r, *m);
  }
  if (subs) {
    r.Bulk("subcommands");
    r.MapHeader(spec.subcommands.size());
    for (const CommandSpec& sub : spec.subcommands) ReplyCommandDocs(r, sub);
  }
}

void Command(CommandContext& ctx, Args) {
  const auto& all = ctx.node.commands().all();
  ctx.reply.ArrayHeader(all.size());
  for (const auto& spec : all) ReplyCommandInfo(ctx.reply, *spec);
}

void CommandCount(CommandContext& ctx, Args) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.node.commands().all().size()));
}

// COMMAND LIST [FILTERBY MODULE name|ACLCAT category|PATTERN pattern]:
// every command and subcommand, each parent before its subcommands.
void CommandList(CommandContext& ctx, Args args) {
  enum class Filter { kNone, kModule, kAclCat, kPattern } filter = Filter::kNone;
  std::string_view filter_arg;
  for (size_t i = 2; i < args.size(); ++i) {
    const size_t more = args.size() - 1 - i;
    if (base::EqualsIgnoreCase(args[i], "filterby") && more == 2) {
      const std::string& type = args[i + 1];
      if (base::EqualsIgnoreCase(type, "module")) {
        filter = Filter::kModule;
      } else if (base::EqualsIgnoreCase(type, "aclcat")) {
        filter = Filter::kAclCat;
      } else if (base::EqualsIgnoreCase(type, "pattern")) {
        filter = Filter::kPattern;
      } else {
        ctx.reply.Error(errors::kSyntax);
        return;
      }
      filter_arg = args[i + 2];
      i += 2;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  const uint32_t category = filter == Filter::kAclCat ? meta::AclCategoryByName(filter_arg) : 0;
  auto listed = [&](const CommandSpec& spec) {
    switch (filter) {
      case Filter::kNone:
        return true;
      case Filter::kModule:
        return false;  // no module commands
      case Filter::kAclCat: {
        const meta::CommandMeta* m = meta::Find(spec.name);
        return category != 0 && m != nullptr && (m->acl_categories & category) != 0;
      }
      case Filter::kPattern:
        return GlobMatch(filter_arg, spec.name, /*nocase=*/true);
    }
    return false;
  };
  std::vector<std::string_view> names;
  for (const auto& spec : ctx.node.commands().all()) {
    if (listed(*spec)) names.push_back(spec->name);
    for (const CommandSpec& sub : spec->subcommands) {
      if (listed(sub)) names.push_back(sub.name);
    }
  }
  ctx.reply.ArrayHeader(names.size());
  for (std::string_view n : names) ctx.reply.Bulk(n);
}

const CommandSpec* FindFull(const CommandTable& table, std::string_view name) {
  const size_t bar = name.find('|');
  if (bar == std::string_view::npos) return table.Find(name);
  const CommandSpec* parent = table.Find(name.substr(0, bar));
  return parent ? CommandTable::FindSub(*parent, name.substr(bar + 1)) : nullptr;
}

void CommandInfo(CommandContext& ctx, Args args) {
  if (args.size() == 2) {
    Command(ctx, args);
    return;
  }
  ctx.reply.ArrayHeader(args.size() - 2);
  for (size_t i = 2; i < args.size(); ++i) {
    const CommandSpec* spec = FindFull(ctx.node.commands(), args[i]);
    if (spec) {
      ReplyCommandInfo(ctx.reply, *spec);
    } else {
      ctx.reply.NullBulk();  // Redis's addReplyNull
    }
  }
}

void CommandDocs(CommandContext& ctx, Args args) {
  std::vector<const CommandSpec*> specs;
  if (args.size() == 2) {
    for (const auto& spec : ctx.node.commands().all()) specs.push_back(spec.get());
  } else {
    for (size_t i = 2; i < args.size(); ++i) {
      if (const CommandSpec* spec = FindFull(ctx.node.commands(), args[i])) specs.push_back(spec);
    }
  }
  ctx.reply.MapHeader(specs.size());
  for (const CommandSpec* spec : specs) ReplyCommandDocs(ctx.reply, *spec);
}

// The keys of commands whose key specs cannot say them (or their flags):
// Redis's own key functions for SET, BITFIELD, SORT, SORT_RO and MIGRATE,
// and the entry's key positions (with no flags) for the others.
std::vector<meta::FoundKey> KeysWithoutSpecs(const CommandSpec& spec,
                                             std::span<const std::string> args) {
  using meta::FoundKey;
  const std::string_view name = spec.name;
  const int argc = static_cast<int>(args.size());
  if (name == "set") {
    for (int i = 3; i < argc; ++i) {
      if (base::EqualsIgnoreCase(args[i], "get")) {
        return {FoundKey{1, meta::kKeyRW | meta::kKeyAccess | meta::kKeyUpdate}};
      }
    }
    return {FoundKey{1, meta::kKeyOW | meta::kKeyUpdate}};
  }
  if (name == "bitfield") {
    bool readonly = true;
    for (int i = 2; i < argc; ++i) {
      const int rest = argc - i - 1;
      if (base::EqualsIgnoreCase(args[i], "get") && rest >= 2) {
        i += 2;
      } else if ((base::EqualsIgnoreCase(args[i], "set") ||
                  base::EqualsIgnoreCase(args[i], "incrby")) &&
                 rest >= 3) {
        readonly = false;
        break;
      } else if (base::EqualsIgnoreCase(args[i], "overflow") && rest >= 1) {
        i += 1;
      } else {
        readonly = false;  // a syntax error: assume it writes
        break;
      }
    }
    return {FoundKey{1, readonly ? meta::kKeyRO | meta::kKeyAccess
                                 : meta::kKeyRW | meta::kKeyAccess | meta::kKeyUpdate}};
  }
  if (name == "sort_ro") return {FoundKey{1, meta::kKeyRO | meta::kKeyAccess}};
  if (name == "sort") {
    std::vector<FoundKey> keys = {FoundKey{1, meta::kKeyRO | meta::kKeyAccess}};
    int store = 0;  // the last STORE wins, as SORT itself does
    for (int i = 2; i < argc; ++i) {
      if (base::EqualsIgnoreCase(args[i], "limit")) {
        i += 2;
      } else if (base::EqualsIgnoreCase(args[i], "get") || base::EqualsIgnoreCase(args[i], "by")) {
        i += 1;
      } else if (base::EqualsIgnoreCase(args[i], "store") && i + 1 < argc) {
        store = i + 1;
      }
    }
    if (store != 0) keys.push_back(FoundKey{store, meta::kKeyOW | meta::kKeyUpdate});
    return keys;
  }
  const uint32_t flags = name == "migrate" ? meta::kKeyRW | meta::kKeyAccess | meta::kKeyDelete : 0;
  std::vector<FoundKey> keys;
  for (int i : KeyIndexes(spec, args)) keys.push_back(FoundKey{i, flags});
  return keys;
}

// COMMAND GETKEYS / GETKEYSANDFLAGS command arg...: Redis's
// getKeysFromCommandWithSpecs, with the key specs of meta.
void GetKeys(CommandContext& ctx, Args args, bool with_flags) {
  std::span<std::string> rest = args.subspan(2);
  const CommandSpec* spec = ctx.node.commands().Find(rest[0]);
  if (spec != nullptr && !spec->subcommands.empty() && rest.size() >= 2) {
    spec = CommandTable::FindSub(*spec, rest[1]);
  }
  if (spec == nullptr) {
    ctx.reply.Error(errors::kInvalidCommand);
    return;
  }
  const meta::CommandMeta* m = meta::Find(spec->name);
  bool has_keys = spec->first_key > 0 || spec->keys != nullptr;
  bool variable_flags = false;
  if (m != nullptr) {
    has_keys = false;
    for (const meta::KeySpecMeta& ks : meta::KeySpecs(*m)) {
      if (!(ks.flags & meta::kKeyNotKey)) has_keys = true;
      if (ks.flags & meta::kKeyVariableFlags) variable_flags = true;
    }
  }
  if (!has_keys) {
    ctx.reply.Error(errors::kNoKeyArguments);
    return;
  }
  const int argc = static_cast<int>(rest.size());
  if (!ArityOk(*spec, argc)) {
    ctx.reply.Error(errors::kGetKeysArity);
    return;
  }
  std::vector<meta::FoundKey> keys;
  if (m == nullptr || variable_flags || !meta::KeysFromSpecs(*m, rest, &keys)) {
    keys = KeysWithoutSpecs(*spec, rest);
  }
  if (keys.empty()) {
    if (spec->flags & kCmdNoMandatoryKeys) {
      ctx.reply.ArrayHeader(0);
    } else {
      ctx.reply.Error(errors::kGetKeysInvalidArgs);
    }
    return;
  }
  ctx.reply.ArrayHeader(keys.size());
  for (const meta::FoundKey& k : keys) {
    if (!with_flags) {
      ctx.reply.Bulk(rest[k.pos]);
      continue;
    }
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk(rest[k.pos]);
    ReplyFlagSet(ctx.reply, k.flags, meta::kKeyFlagNames);
  }
}

void CommandGetKeys(CommandContext& ctx, Args args) { GetKeys(ctx, args, false); }

void CommandHelp(CommandContext& ctx, Args) {
  meta::ReplyHelpLines(ctx.reply, "COMMAND", meta::CommandHelpLines());
}
void CommandGetKeysAndFlags(CommandContext& ctx, Args args) { GetKeys(ctx, args, true); }

// The reply COMMAND gave before the meta table, for an entry Redis does
// not know: categories from the group and a key spec from first/last/step.
std::vector<std::string> GuessedAclCategories(const CommandSpec& spec) {
  std::vector<std::string> out;
  out.push_back(spec.is_write() ? "@write" : "@read");
  if (!(spec.flags & (kCmdWrite | kCmdReadonly))) out.back() = "@connection";
  out.push_back((spec.flags & kCmdFast) ? "@fast" : "@slow");
  if (spec.flags & kCmdAdmin) {
    out.push_back("@admin");
    out.push_back("@dangerous");
  }
  return out;
}

void ReplyGuessedInfo(resp::ReplyBuilder& r, const CommandSpec& spec) {
  r.ArrayHeader(10);
  r.Bulk(spec.name);
  r.Integer(spec.arity);
  auto flags = FlagNames(spec.flags, spec.keys != nullptr);
  r.SetHeader(flags.size());
  for (auto f : flags) r.SimpleString(f);
  r.Integer(spec.first_key);
  r.Integer(spec.last_key);
  r.Integer(spec.key_step);
  const auto cats = GuessedAclCategories(spec);
  r.SetHeader(cats.size());
  for (const auto& c : cats) r.SimpleString(c);
  r.SetHeader(0);  // tips
  if (spec.first_key > 0) {
    r.SetHeader(1);
    r.MapHeader(3);
    r.Bulk("flags");
    r.SetHeader(1);
    r.SimpleString(spec.is_write() ? "RW" : "RO");
    r.Bulk("begin_search");
    r.MapHeader(2);
    r.Bulk("type");
    r.Bulk("index");
    r.Bulk("spec");
    r.MapHeader(1);
    r.Bulk("index");
    r.Integer(spec.first_key);
    r.Bulk("find_keys");
    r.MapHeader(2);
    r.Bulk("type");
    r.Bulk("range");
    r.Bulk("spec");
    r.MapHeader(3);
    r.Bulk("lastkey");
    r.Integer(spec.last_key < 0 ? spec.last_key : spec.last_key - spec.first_key);
    r.Bulk("keystep");
    r.Integer(spec.key_step);
    r.Bulk("limit");
    r.Integer(0);
  } else {
    r.SetHeader(0);
  }
  if (spec.subcommands.empty()) {
    r.SetHeader(0);
    return;
  }
  r.ArrayHeader(spec.subcommands.size());
  for (const CommandSpec& sub : spec.subcommands) ReplyCommandInfo(r, sub);
}

CommandSpec Sub(std::string_view sub, int arity, uint32_t flags, Handler h) {
  return SubcommandSpec("command", sub, arity, flags, h, "server");
}

}  // namespace

std::vector<meta::FoundKey> KeysAndFlags(const CommandSpec& spec,
                                         std::span<const std::string> args) {
  const meta::CommandMeta* m = meta::Find(spec.name);
  bool variable_flags = false;
  bool has_keys = spec.first_key > 0 || spec.keys != nullptr;
  if (m != nullptr) {
    has_keys = false;
    for (const meta::KeySpecMeta& ks : meta::KeySpecs(*m)) {
      if (!(ks.flags & meta::kKeyNotKey)) has_keys = true;
      if (ks.flags & meta::kKeyVariableFlags) variable_flags = true;
    }
  }
  std::vector<meta::FoundKey> keys;
  if (!has_keys) return keys;
  if (m == nullptr || variable_flags || !meta::KeysFromSpecs(*m, args, &keys)) {
    keys = KeysWithoutSpecs(spec, args);
  }
  return keys;
}

void RegisterCommandFamily(CommandTable& t) {
  CommandSpec command{.name = "command",
                      .arity = -1,
                      .flags = kCmdLoading | kCmdStale,
                      .handler = Command,
                      .group = "server",
                      .summary = "Get array of Redis command details",
                      .since = "2.8.13"};
  command.subcommands = {
      Sub("count", 2, kCmdLoading | kCmdStale, CommandCount),
      Sub("list", -2, kCmdLoading | kCmdStale, CommandList),
      Sub("info", -2, kCmdLoading | kCmdStale, CommandInfo),
      Sub("docs", -2, kCmdLoading | kCmdStale, CommandDocs),
      Sub("getkeys", -4, kCmdLoading | kCmdStale, CommandGetKeys),
      Sub("getkeysandflags", -4, kCmdLoading | kCmdStale, CommandGetKeysAndFlags),
      Sub("help", 2, kCmdLoading | kCmdStale, CommandHelp),
  };
  t.Register(std::move(command));
}

}  // namespace shardnode::node
