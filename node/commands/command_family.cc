// COMMAND and its subcommands: COUNT LIST INFO DOCS GETKEYS, read from the
// command table.
#include "absl/strings/str_cat.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/resp/reply.h"
#include "node/server/node_services.h"
#include "node/server/shard.h"

namespace shardnode::node {
namespace {

std::vector<std::string_view> FlagNames(uint32_t flags) {
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
      {kCmdMayReplicate, "may_replicate"},
      {kCmdNoMulti, "no_multi"},
      {kCmdAllowBusy, "allow_busy"},
      {kCmdNoMandatoryKeys, "no_mandatory_keys"}};
  std::vector<std::string_view> out;
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) out.push_back(name);
  }
  return out;
}

std::vector<std::string> AclCategories(const CommandSpec& spec) {
  std::vector<std::string> out;
  out.push_back(spec.is_write() ? "@write" : "@read");
  if (!(spec.flags & (kCmdWrite | kCmdReadonly))) out.back() = "@connection";
  if (!spec.group.empty()) {
    std::string g(spec.group);
    if (g == "generic") g = "keyspace";
    if (g == "sorted-set") g = "sortedset";
    if (g == "server" || g == "cluster" || g == "connection" || g == "string" || g == "keyspace" ||
        g == "list" || g == "hash" || g == "set" || g == "sortedset" || g == "transactions" ||
        g == "pubsub") {
      out.push_back(absl::StrCat("@", g));
    }
    if (g == "stream") out.push_back("@stream");
  }
  out.push_back((spec.flags & kCmdFast) ? "@fast" : "@slow");
  if (spec.flags & kCmdBlocking) out.push_back("@blocking");
  if (spec.flags & kCmdAdmin) {
    out.push_back("@admin");
    out.push_back("@dangerous");
  }
  return out;
}

void ReplyCommandInfo(resp::ReplyBuilder& r, const CommandSpec& spec) {
  r.ArrayHeader(10);
  r.Bulk(spec.name);
  r.Integer(spec.arity);
  auto flags = FlagNames(spec.flags);
  if (spec.keys != nullptr) flags.push_back("movablekeys");
  r.SetHeader(flags.size());
  for (auto f : flags) r.SimpleString(f);
  r.Integer(spec.first_key);
  r.Integer(spec.last_key);
  r.Integer(spec.key_step);
  const auto cats = AclCategories(spec);
  r.SetHeader(cats.size());
  for (const auto& c : cats) r.SimpleString(c);
  r.SetHeader(0);  // tips
  if (spec.first_key > 0) {
    r.ArrayHeader(1);
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
    r.ArrayHeader(0);
  }
  r.ArrayHeader(spec.subcommands.size());
  for (const CommandSpec& sub : spec.subcommands) ReplyCommandInfo(r, sub);
}

void ReplyCommandDocs(resp::ReplyBuilder& r, const CommandSpec& spec) {
  r.Bulk(spec.name);
  const bool subs = !spec.subcommands.empty();
  r.MapHeader(3 + (subs ? 1 : 0));
  r.Bulk("summary");
  r.Bulk(spec.summary);
  r.Bulk("since");
  r.Bulk(spec.since);
  r.Bulk("group");
  r.Bulk(spec.group);
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

void CommandList(CommandContext& ctx, Args args) {
  if (args.size() != 2) {
    // FILTERBY is not supported.
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const auto& all = ctx.node.commands().all();
  ctx.reply.ArrayHeader(all.size());
  for (const auto& spec : all) ctx.reply.Bulk(spec->name);
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
      ctx.reply.NullArray();
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

void CommandGetKeys(CommandContext& ctx, Args args) {
  std::span<std::string> rest = args.subspan(2);
  const CommandSpec* spec = ctx.node.commands().Find(rest[0]);
  if (spec == nullptr) {
    ctx.reply.Error(errors::kInvalidCommand);
    return;
  }
  if (!spec->subcommands.empty() && rest.size() >= 2) {
    if (const CommandSpec* sub = CommandTable::FindSub(*spec, rest[1])) spec = sub;
  }
  const int argc = static_cast<int>(rest.size());
  if ((spec->arity > 0 && spec->arity != argc) || argc < -spec->arity) {
    ctx.reply.Error(errors::kGetKeysArity);
    return;
  }
  const std::vector<int> keys = KeyIndexes(*spec, rest);
  if (keys.empty()) {
    ctx.reply.Error(errors::kNoKeyArguments);
    return;
  }
  ctx.reply.ArrayHeader(keys.size());
  for (int k : keys) ctx.reply.Bulk(rest[k]);
}

CommandSpec Sub(std::string_view sub, int arity, uint32_t flags, Handler h) {
  return SubcommandSpec("command", sub, arity, flags, h, "server");
}

}  // namespace

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
  };
  t.Register(std::move(command));
}

}  // namespace shardnode::node
