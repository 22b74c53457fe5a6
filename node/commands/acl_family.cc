// ACL (SETUSER, GETUSER, DELUSER, USERS, LIST, CAT, WHOAMI, GENPASS, DRYRUN,
// LOG, LOAD, SAVE, HELP) and the ACL glue of acl_family.h.
#include "node/commands/acl_family.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "node/commands/command.h"
#include "node/commands/command_meta.h"
#include "node/commands/command_meta_reply.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/config/config.h"
#include "node/resp/reply.h"
#include "node/server/log.h"
#include "node/server/node_services.h"
#include "node/server/pubsub.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

using base::EqualsIgnoreCase;

int KeyPerms(uint32_t flags) {
  int perms = 0;
  if (flags & meta::kKeyAccess) perms |= acl::kRead;
  if (flags & (meta::kKeyInsert | meta::kKeyDelete | meta::kKeyUpdate)) perms |= acl::kWrite;
  return perms;
}

std::string AclFile(NodeServices& node) { return node.config().Value("aclfile").value_or(""); }

void ReplySelector(resp::ReplyBuilder& r, const acl::Acl& a, const acl::Selector& s) {
  r.Bulk("commands");
  r.Bulk(a.DescribeCommands(s));
  r.Bulk("keys");
  r.Bulk(acl::Acl::DescribeKeys(s));
  r.Bulk("channels");
  r.Bulk(acl::Acl::DescribeChannels(s));
}

void SetUser(CommandContext& ctx, Args args) {
  acl::Acl& a = *ctx.node.acl();
  const std::string& name = args[2];
  for (char c : name) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == 0) {
      ctx.reply.Error("ERR Usernames can't contain spaces or null characters");
      return;
    }
  }
  std::optional<acl::User> before;
  std::vector<std::string> rules(args.begin() + 3, args.end());
  if (auto err = a.SetUser(name, rules, &before)) {
    ctx.reply.Error("ERR " + *err);
    return;
  }
  if (before) DropRevokedSubscribers(ctx.node, &ctx.session, *a.Find(name), *before);
  ctx.reply.Ok();
}

void DelUser(CommandContext& ctx, Args args) {
  acl::Acl& a = *ctx.node.acl();
  for (size_t j = 2; j < args.size(); ++j) {
    if (args[j] == "default") {
      ctx.reply.Error("ERR The 'default' user cannot be removed");
      return;
    }
  }
  int64_t deleted = 0;
  for (size_t j = 2; j < args.size(); ++j) {
    std::unique_ptr<acl::User> u = a.DelUser(args[j]);
    if (u == nullptr) continue;
    DropClientsOfUser(ctx.node, &ctx.session, u.get());
    ++deleted;
  }
  ctx.reply.Integer(deleted);
}

void GetUser(CommandContext& ctx, Args args) {
  acl::Acl& a = *ctx.node.acl();
  const acl::User* u = a.Find(args[2]);
  resp::ReplyBuilder& r = ctx.reply;
  if (u == nullptr) {
    r.NullBulk();
    return;
  }
  r.MapHeader(6);
  r.Bulk("flags");
  auto flags = acl::Acl::Flags(*u);
  r.SetHeader(flags.size());
  for (std::string_view f : flags) r.Bulk(f);
  r.Bulk("passwords");
  r.ArrayHeader(u->passwords.size());
  for (const std::string& p : u->passwords) r.Bulk(p);
  ReplySelector(r, a, u->selectors[0]);
  r.Bulk("selectors");
  r.ArrayHeader(u->selectors.size() - 1);
  for (size_t i = 1; i < u->selectors.size(); ++i) {
    r.MapHeader(3);
    ReplySelector(r, a, u->selectors[i]);
  }
}

void Users(CommandContext& ctx, Args) {
  const auto& users = ctx.node.acl()->users();
  ctx.reply.ArrayHeader(users.size());
  for (const auto& [name, u] : users) ctx.reply.Bulk(name);
}

void List(CommandContext& ctx, Args) {
  acl::Acl& a = *ctx.node.acl();
  ctx.reply.ArrayHeader(a.users().size());
  for (const auto& [name, u] : a.users())
    ctx.reply.Bulk(absl::StrCat("user ", name, " ", a.Describe(*u)));
}

void WhoAmI(CommandContext& ctx, Args) {
  if (ctx.session.user == nullptr) {
    ctx.reply.NullBulk();
  } else {
    ctx.reply.Bulk(ctx.session.user->name);
  }
}

constexpr std::string_view kNoAclFile =
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify users "
    "via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis "
    "configuration file set) in order to store users in the Redis configuration.";

void Load(CommandContext& ctx, Args) {
  const std::string file = AclFile(ctx.node);
  if (file.empty()) {
    ctx.reply.Error(kNoAclFile);
    return;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ctx.reply.Error(
        absl::StrCat("ERR Error loading ACLs, opening file '", file, "': ", std::strerror(errno)));
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::unique_ptr<acl::User>> replaced;
  if (auto err = ctx.node.acl()->LoadFile(text.str(), file, &replaced)) {
    ctx.reply.Error("ERR " + *err);
    return;
  }
  for (const auto& u : replaced) DropClientsOfUser(ctx.node, &ctx.session, u.get());
  ctx.reply.Ok();
}

void Save(CommandContext& ctx, Args) {
  const std::string file = AclFile(ctx.node);
  if (file.empty()) {
    ctx.reply.Error(kNoAclFile);
    return;
  }
  const std::string text = ctx.node.acl()->SaveText();
  const std::string tmp = absl::StrCat(file, ".tmp-", getpid(), "-", ctx.now_ms);
  bool ok = false;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd == -1) {
    Logf(LogLevel::kWarning, "Opening temp ACL file for ACL SAVE: %s", std::strerror(errno));
  } else {
    ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (!ok) Logf(LogLevel::kWarning, "Writing ACL file for ACL SAVE: %s", std::strerror(errno));
    ::close(fd);
    if (ok && std::rename(tmp.c_str(), file.c_str()) != 0) {
      Logf(LogLevel::kWarning, "Renaming ACL file for ACL SAVE: %s", std::strerror(errno));
      ok = false;
    }
    if (!ok) ::unlink(tmp.c_str());
  }
  if (ok) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Error(
        "ERR There was an error trying to save the ACLs. Please check the server logs for more "
        "information");
  }
}

void Cat(CommandContext& ctx, Args args) {
  if (args.size() > 3) {
    ctx.reply.Error(errors::SubcommandSyntax(args[0], args[1]));
    return;
  }
  if (args.size() == 2) {
    ctx.reply.ArrayHeader(acl::CategoryNames().size());
    for (std::string_view c : acl::CategoryNames()) ctx.reply.Bulk(c);
    return;
  }
  const uint32_t bit = acl::CategoryByName(args[2]);
  if (bit == 0) {
    ctx.reply.Error(absl::StrCat("ERR Unknown category '", args[2].substr(0, 128), "'"));
    return;
  }
  std::vector<std::string> names = ctx.node.acl()->CommandsInCategory(bit);
  ctx.reply.ArrayHeader(names.size());
  for (const std::string& n : names) ctx.reply.Bulk(n);
}

void GenPass(CommandContext& ctx, Args args) {
  if (args.size() > 3) {
    ctx.reply.Error(errors::SubcommandSyntax(args[0], args[1]));
    return;
  }
  int64_t bits = 256;
  if (args.size() == 3 && !absl::SimpleAtoi(args[2], &bits)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  if (bits <= 0 || bits > 4096) {
    ctx.reply.Error(
        "ERR ACL GENPASS argument must be the number of bits for the output password, a "
        "positive number up to 4096");
    return;
  }
  const int64_t chars = (bits + 3) / 4;
  std::random_device rd;
  static const char* kHex = "0123456789abcdef";
  std::string pass;
  for (int64_t i = 0; i < chars; ++i) pass += kHex[rd() % 16];
  ctx.reply.Bulk(pass);
}

void Log(CommandContext& ctx, Args args) {
  if (args.size() > 3) {
    ctx.reply.Error(errors::SubcommandSyntax(args[0], args[1]));
    return;
  }
  acl::Acl& a = *ctx.node.acl();
  int64_t count = 10;
  if (args.size() == 3) {
    if (EqualsIgnoreCase(args[2], "reset")) {
      a.ResetLog();
      ctx.reply.Ok();
      return;
    }
    if (!absl::SimpleAtoi(args[2], &count)) {
      ctx.reply.Error(errors::kNotInteger);
      return;
    }
    if (count < 0) count = 0;
  }
  const auto& log = a.log();
  if (static_cast<size_t>(count) > log.size()) count = static_cast<int64_t>(log.size());
  resp::ReplyBuilder& r = ctx.reply;
  r.ArrayHeader(count);
  for (int64_t i = 0; i < count; ++i) {
    const acl::LogEntry& e = log[i];
    r.MapHeader(7);
    r.Bulk("count");
    r.Integer(static_cast<int64_t>(e.count));
    r.Bulk("reason");
    r.Bulk(acl::ReasonName(e.reason));
    r.Bulk("context");
    r.Bulk(acl::ContextName(e.context));
    r.Bulk("object");
    r.Bulk(e.object);
    r.Bulk("username");
    r.Bulk(e.username);
    r.Bulk("age-seconds");
    r.Double(static_cast<double>(ctx.now_ms - e.ctime_ms) / 1000);
    r.Bulk("client-info");
    r.Bulk(e.client_info);
  }
}

void DryRun(CommandContext& ctx, Args args) {
  acl::Acl& a = *ctx.node.acl();
  const acl::User* u = a.Find(args[2]);
  if (u == nullptr) {
    ctx.reply.Error(absl::StrCat("ERR User '", args[2], "' not found"));
    return;
  }
  std::span<const std::string> cmd_args(args.begin() + 3, args.end());
  const CommandSpec* spec = ctx.node.commands().Find(cmd_args[0]);
  if (spec != nullptr && !spec->subcommands.empty() && cmd_args.size() >= 2) {
    spec = CommandTable::FindSub(*spec, cmd_args[1]);
  }
  if (spec == nullptr) {
    ctx.reply.Error(absl::StrCat("ERR Command '", cmd_args[0], "' not found"));
    return;
  }
  const int argc = static_cast<int>(cmd_args.size());
  if (!ArityOk(*spec, argc)) {
    ctx.reply.Error(absl::StrCat("ERR wrong number of arguments for '", spec->name, "' command"));
    return;
  }
  acl::CheckResult r = AclCheck(a, u, *spec, cmd_args);
  switch (r.verdict) {
    case acl::Verdict::kOk:
      ctx.reply.Ok();
      return;
    case acl::Verdict::kDeniedCmd:
      ctx.reply.Bulk(
          absl::StrCat("This user has no permissions to run the '", spec->name, "' command"));
      return;
    case acl::Verdict::kDeniedKey:
      ctx.reply.Bulk(
          absl::StrCat("This user has no permissions to access the '", cmd_args[r.pos], "' key"));
      return;
    case acl::Verdict::kDeniedChannel:
      ctx.reply.Bulk(absl::StrCat("This user has no permissions to access the '", cmd_args[r.pos],
                                  "' channel"));
      return;
    case acl::Verdict::kDeniedAuth:
      break;
  }
  ctx.reply.Error("ERR no permission");
}

void Help(CommandContext& ctx, Args) {
  meta::ReplyHelpLines(ctx.reply, "ACL", meta::AclHelpLines());
}

void Container(CommandContext& ctx, Args args) {
  ctx.reply.Error(errors::SubcommandSyntax(args[0], args.size() > 1 ? args[1] : ""));
}

CommandSpec Sub(std::string_view name, int arity, uint32_t flags, Handler h) {
  return SubcommandSpec("acl", name, arity, flags, h, "server");
}

}  // namespace

std::vector<acl::CommandEntry> AclCatalog() {
  std::vector<acl::CommandEntry> out;
  std::span<const meta::CommandMeta> all = meta::Commands();
  const meta::CommandMeta* base = all.data();
  for (const meta::CommandMeta& m : all) {
    acl::CommandEntry e;
    e.name = m.name;
    e.categories = m.acl_categories;
    e.no_auth = (m.flags & meta::kNoAuth) != 0;
    out.push_back(std::move(e));
  }
  for (const meta::CommandMeta& m : all) {
    const int id = static_cast<int>(&m - base);
    for (const meta::CommandMeta& sub : meta::Subcommands(m)) {
      const int sid = static_cast<int>(&sub - base);
      out[id].subs.push_back(sid);
      out[sid].parent = id;
    }
  }
  return out;
}

acl::CheckResult AclCheck(const acl::Acl& a, const acl::User* user, const CommandSpec& spec,
                          std::span<const std::string> args) {
  if (user == nullptr || user->Unrestricted()) return {};
  return a.Check(*user, a.FindCommand(spec.name), args, [&] {
    std::vector<acl::KeyRef> keys;
    for (const meta::FoundKey& k : KeysAndFlags(spec, args)) {
      keys.push_back(acl::KeyRef{k.pos, KeyPerms(k.flags)});
    }
    return keys;
  });
}

bool AclFullReadAccess(NodeServices& node, const Session& session, const CommandSpec& spec,
                       std::span<const std::string> args) {
  if (session.user == nullptr || node.acl() == nullptr || session.user->Unrestricted()) return true;
  const acl::Acl& a = *node.acl();
  return a.CheckWithAllKeys(*session.user, a.FindCommand(spec.name), args, acl::kRead, [&] {
    std::vector<acl::KeyRef> keys;
    for (const meta::FoundKey& k : KeysAndFlags(spec, args)) {
      keys.push_back(acl::KeyRef{k.pos, KeyPerms(k.flags)});
    }
    return keys;
  });
}

void AclLogDenial(NodeServices& node, const Session& session, const acl::User& user,
                  acl::CheckResult r, acl::LogContext context, const CommandSpec& spec,
                  std::span<const std::string> args, int64_t now_ms) {
  acl::LogEntry e;
  e.reason = r.verdict;
  e.context = context;
  e.object = r.verdict == acl::Verdict::kDeniedCmd ? spec.name : args[r.pos];
  e.username = user.name;
  e.ctime_ms = now_ms;
  e.client_info = ClientInfoLine(session, now_ms);
  node.acl()->AddLog(std::move(e),
                     static_cast<size_t>(node.config().IntValue("acllog-max-len", 128)));
}

void AclLogAuthFailure(NodeServices& node, const Session& session, std::string_view username,
                       std::string_view command, int64_t now_ms) {
  acl::LogEntry e;
  e.reason = acl::Verdict::kDeniedAuth;
  e.context = session.in_multi ? acl::LogContext::kMulti : acl::LogContext::kToplevel;
  e.object = std::string(command);
  e.username = std::string(username);
  e.ctime_ms = now_ms;
  e.client_info = ClientInfoLine(session, now_ms);
  node.acl()->AddLog(std::move(e),
                     static_cast<size_t>(node.config().IntValue("acllog-max-len", 128)));
}

std::string NoPermError(acl::CheckResult r, const CommandSpec& spec) {
  switch (r.verdict) {
    case acl::Verdict::kDeniedCmd:
      return absl::StrCat("NOPERM this user has no permissions to run the '", spec.name,
                          "' command");
    case acl::Verdict::kDeniedKey:
      return "NOPERM this user has no permissions to access one of the keys used as arguments";
    case acl::Verdict::kDeniedChannel:
      return "NOPERM this user has no permissions to access one of the channels used as "
             "arguments";
    default:
      return "ERR no permission";
  }
}

std::string_view AclErrorMessage(acl::Verdict v) {
  switch (v) {
    case acl::Verdict::kDeniedCmd:
      return "can't run this command or subcommand";
    case acl::Verdict::kDeniedKey:
      return "can't access at least one of the keys mentioned in the command arguments";
    case acl::Verdict::kDeniedChannel:
      return "can't publish to the channel mentioned in the command";
    default:
      return "lacking the permissions for the command";
  }
}

void DropClientsOfUser(NodeServices& node, Session* current, const acl::User* user) {
  std::vector<Session*> victims;
  for (auto& [id, s] : node.clients()) {
    if (s->user == user) victims.push_back(s);
  }
  acl::Acl& a = *node.acl();
  for (Session* s : victims) {
    // Back to the default user, unauthenticated, before it goes (Redis's
    // defensive step: nothing may run as the dropped user).
    s->user = &a.default_user();
    s->authenticated = false;
    if (s == current || !s->kill) {
      s->close_after_reply = true;
    } else {
      s->kill();
    }
  }
}

void DropRevokedSubscribers(NodeServices& node, Session* current, const acl::User& user,
                            const acl::User& before) {
  if (!acl::Acl::ChannelsRevoked(before, user)) return;
  std::vector<Session*> victims;
  for (auto& [id, s] : node.clients()) {
    if (s->user != &user || !s->in_pubsub()) continue;
    std::vector<std::string> channels(s->channels.begin(), s->channels.end());
    channels.insert(channels.end(), s->shard_channels.begin(), s->shard_channels.end());
    std::vector<std::string> patterns(s->patterns.begin(), s->patterns.end());
    if (!acl::Acl::SubscriptionsAllowed(user, channels, patterns)) victims.push_back(s);
  }
  for (Session* s : victims) {
    if (s == current || !s->kill) {
      s->close_after_reply = true;
    } else {
      s->kill();
    }
  }
}

void RegisterAclFamily(CommandTable& t) {
  constexpr uint32_t kBase = kCmdNoScript | kCmdLoading | kCmdStale;
  constexpr uint32_t kAdm = kCmdAdmin | kBase;
  CommandSpec acl{.name = "acl",
                  .arity = -2,
                  .flags = 0,
                  .handler = Container,
                  .group = "server",
                  .summary = "A container for Access List Control commands",
                  .since = "6.0.0"};
  acl.subcommands = {
      Sub("cat", -2, kBase, Cat),        Sub("deluser", -3, kAdm, DelUser),
      Sub("dryrun", -4, kAdm, DryRun),   Sub("genpass", -2, kBase, GenPass),
      Sub("getuser", 3, kAdm, GetUser),  Sub("help", 2, kCmdLoading | kCmdStale, Help),
      Sub("list", 2, kAdm, List),        Sub("load", 2, kAdm, Load),
      Sub("log", -2, kAdm, Log),         Sub("save", 2, kAdm, Save),
      Sub("setuser", -3, kAdm, SetUser), Sub("users", 2, kAdm, Users),
      Sub("whoami", 2, kBase, WhoAmI),
  };
  t.Register(std::move(acl));
}

}  // namespace shardnode::node
