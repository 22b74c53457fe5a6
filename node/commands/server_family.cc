// Server and connection commands: PING ECHO QUIT RESET HELLO AUTH TIME
// LASTSAVE SHUTDOWN. INFO, CLIENT, COMMAND and DEBUG have files of their own
// (info_family.cc, client_family.cc, command_family.cc, debug_family.cc).
#include <sys/time.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "node/commands/acl_family.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/config/options.h"
#include "node/persist/persistence.h"
#include "node/resp/reply.h"
#include "node/server/log.h"
#include "node/server/node_services.h"
#include "node/server/pubsub.h"
#include "node/server/replication_control.h"
#include "node/server/session.h"
#include "node/server/shard.h"
#include "node/server/suspend.h"
#include "node/server/tracking.h"
#include "node/server/watch.h"

namespace shardnode::node {
namespace {

using base::EqualsIgnoreCase;

void Ping(CommandContext& ctx, Args args) {
  if (args.size() > 2) {
    ctx.reply.Error(ArityError(ctx.spec));
  } else if (ctx.session.in_pubsub() && ctx.session.protocol == 2) {
    // Subscribed RESP2 clients get replies shaped like messages.
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk("pong");
    ctx.reply.Bulk(args.size() == 2 ? std::string_view(args[1]) : std::string_view());
  } else if (args.size() == 2) {
    ctx.reply.Bulk(args[1]);
  } else {
    ctx.reply.SimpleString("PONG");
  }
}

void Echo(CommandContext& ctx, Args args) { ctx.reply.Bulk(args[1]); }

void Quit(CommandContext& ctx, Args) {
  ctx.session.close_after_reply = true;
  ctx.reply.Ok();
}

void ResetSession(CommandContext& ctx, Args) {
  Session& s = ctx.session;
  s.in_multi = false;
  s.multi_dirty = false;
  s.queued.clear();
  s.db_index = 0;
  s.protocol = 2;
  ctx.reply.set_protocol(2);
  s.asking = false;
  s.readonly = false;
  s.name.clear();
  if (acl::Acl* a = ctx.node.acl(); a != nullptr && s.user != nullptr) {
    s.user = &a->default_user();
    s.authenticated = s.user->nopass && s.user->enabled;
  }
  ctx.node.pubsub().RemoveSession(s);
  ctx.shard.watches().Unwatch(s);
  // Client-side caching ends and CLIENT REPLY OFF / SKIP are forgotten
  // (Redis's clearClientConnectionState); the RESET reply itself is sent.
  ctx.node.tracking().Disable(s);
  s.reply_off = false;
  s.reply_skip_next = false;
  s.reply_skip = false;
  ctx.reply.set_silenced(false);
  ctx.reply.SimpleString("RESET");
}

// AUTH [username] password against the ACL users (Redis's
// ACLAuthenticateUser): on success the session becomes that user; a
// failure is logged in the ACL LOG.
bool CheckPassword(CommandContext& ctx, std::string_view user, std::string_view pass) {
  acl::Acl* a = ctx.node.acl();
  if (a == nullptr) {
    // No ACL (tests without a server): only the default user, without password.
    if (user != "default") return false;
    ctx.session.authenticated = true;
    return true;
  }
  if (a->CheckCredentials(user, pass)) {
    ctx.session.authenticated = true;
    ctx.session.user = a->Find(user);
    return true;
  }
  AclLogAuthFailure(ctx.node, ctx.session, user, ctx.spec.name == "hello" ? "HELLO" : "AUTH",
                    ctx.now_ms);
  return false;
}

void Auth(CommandContext& ctx, Args args) {
  if (args.size() > 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const acl::Acl* a = ctx.node.acl();
  if (args.size() == 2 && (a == nullptr || a->default_user().nopass)) {
    ctx.reply.Error(errors::kAuthNoPassword);
    return;
  }
  const std::string_view user = args.size() == 3 ? std::string_view(args[1]) : "default";
  if (CheckPassword(ctx, user, args.back())) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Error(errors::kWrongPass);
  }
}

void Hello(CommandContext& ctx, Args args) {
  int64_t version = ctx.session.protocol;
  size_t i = 1;
  if (args.size() >= 2) {
    if (!absl::SimpleAtoi(args[1], &version)) {
      ctx.reply.Error(errors::kProtocolVersion);
      return;
    }
    if (version < 2 || version > 3) {
      ctx.reply.Error(errors::kNoProto);
      return;
    }
    i = 2;
  }
  std::string setname;
  bool has_setname = false;
  for (; i < args.size(); ++i) {
    const bool more = i + 1 < args.size();
    if (EqualsIgnoreCase(args[i], "AUTH") && i + 2 < args.size()) {
      if (!CheckPassword(ctx, args[i + 1], args[i + 2])) {
        ctx.reply.Error(errors::kWrongPass);
        return;
      }
      i += 2;
    } else if (EqualsIgnoreCase(args[i], "SETNAME") && more) {
      setname = args[++i];
      has_setname = true;
    } else {
      ctx.reply.Error(errors::HelloOption(args[i]));
      return;
    }
  }
  // (The node's own sessions, without a user, are always authenticated.)
  if (!ctx.session.authenticated && ctx.session.user != nullptr) {
    ctx.reply.Error(errors::kHelloNoAuth);
    return;
  }
  if (has_setname) {
    if (!IsValidClientName(setname)) {
      ctx.reply.Error(errors::kClientName);
      return;
    }
    ctx.session.name = setname;
  }
  ctx.session.protocol = static_cast<int>(version);
  ctx.reply.set_protocol(ctx.session.protocol);
  resp::ReplyBuilder& r = ctx.reply;
  r.MapHeader(7);
  r.Bulk("server");
  r.Bulk("redis");
  r.Bulk("version");
  r.Bulk(kRedisVersion);
  r.Bulk("proto");
  r.Integer(version);
  r.Bulk("id");
  r.Integer(static_cast<int64_t>(ctx.session.id));
  r.Bulk("mode");
  r.Bulk(ctx.node.cluster_enabled() ? "cluster" : "standalone");
  r.Bulk("role");
  r.Bulk(ctx.node.replication() && ctx.node.replication()->is_replica() ? "replica" : "master");
  r.Bulk("modules");
  r.ArrayHeader(0);
}

void Time(CommandContext& ctx, Args) {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(absl::StrCat(tv.tv_sec));
  ctx.reply.Bulk(absl::StrCat(tv.tv_usec));
}

void LastSave(CommandContext& ctx, Args) {
  const int64_t ms = ctx.node.last_save_ms() ? ctx.node.last_save_ms() : ctx.node.start_ms();
  ctx.reply.Integer(ms / 1000);
}

void Shutdown(CommandContext& ctx, Args args) {
  int flags = 0;
  bool abort = false;
  for (size_t i = 1; i < args.size(); ++i) {
    if (EqualsIgnoreCase(args[i], "nosave")) {
      flags |= kShutdownNoSave;
    } else if (EqualsIgnoreCase(args[i], "save")) {
      flags |= kShutdownSave;
    } else if (EqualsIgnoreCase(args[i], "now")) {
      flags |= kShutdownNow;
    } else if (EqualsIgnoreCase(args[i], "force")) {
      flags |= kShutdownForce;
    } else if (EqualsIgnoreCase(args[i], "abort")) {
      abort = true;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  // ABORT takes no other option; SAVE and NOSAVE exclude each other.
  if ((abort && flags != 0) || ((flags & kShutdownSave) && (flags & kShutdownNoSave))) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  if (abort) {
    if (ctx.node.AbortShutdown()) {
      ctx.reply.Ok();
    } else {
      ctx.reply.Error(errors::kNoShutdown);
    }
    return;
  }
  // Waiting for the replicas blocks the client (MULTI, scripts may not).
  if ((flags & kShutdownNow) == 0 && ctx.session.deny_blocking) {
    ctx.reply.Error(errors::kShutdownDenyBlocking);
    return;
  }
  // A busy script (node/script) lets only SHUTDOWN NOSAVE through: a save
  // now would catch the script half done.
  if (!ctx.node.busy_script_error().empty() && (flags & kShutdownNoSave) == 0) {
    ctx.reply.Error(ctx.node.busy_script_error());
    return;
  }
  switch (ctx.node.RequestShutdown(flags, ctx.now_ms)) {
    case ShutdownOutcome::kStopping:
      // Redis closes the connection without a reply on success.
      ctx.session.close_after_reply = true;
      return;
    case ShutdownOutcome::kWaiting:
      // Answered with an error if the shutdown fails or is aborted; closed
      // with the others when the node stops.
      Suspend(ctx.session, WaitReason::kShutdown);
      return;
    case ShutdownOutcome::kFailed:
      ctx.reply.Error(errors::kShutdownFailed);
      return;
  }
}

// shardnode loads no Redis modules (they link against Redis's own server):
// the list is truthfully empty and loading fails with Redis's error, the
// log saying why.
void ModuleHelp(CommandContext& ctx, Args) {
  ReplyHelp(ctx, "MODULE",
            {"LIST", "    Return a list of loaded modules.", "LOAD <path> [<arg> ...]",
             "    Load a module library from <path>, passing to it any optional arguments.",
             "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
             "    Load a module library from <path>, while passing it module configurations and "
             "optional arguments.",
             "UNLOAD <name>", "    Unload a module."});
}

void ModuleList(CommandContext& ctx, Args) { ctx.reply.ArrayHeader(0); }

void ModuleLoad(CommandContext& ctx, Args args) {
  Log(LogLevel::kWarning,
      absl::StrCat("Module ", args[2], " failed to load: shardnode does not load Redis modules"));
  ctx.reply.Error("ERR Error loading the extension. Please check the server logs.");
}

void ModuleUnload(CommandContext& ctx, Args) {
  ctx.reply.Error("ERR Error unloading module: no such module with that name");
}

void ModuleParent(CommandContext& ctx, Args args) {
  ctx.reply.Error(errors::UnknownSubcommand("MODULE", args.size() > 1 ? args[1] : ""));
}

CommandSpec ModuleSub(std::string name, int arity, Handler h, std::string_view summary,
                      uint32_t extra_flags = 0) {
  return CommandSpec{.name = std::move(name),
                     .arity = arity,
                     .flags = kCmdAdmin | kCmdNoScript | extra_flags,
                     .handler = h,
                     .group = "server",
                     .summary = summary,
                     .since = "4.0.0"};
}

}  // namespace

void RegisterServerFamily(CommandTable& t) {
  constexpr uint32_t kConn = kCmdNoScript | kCmdLoading | kCmdStale;
  t.Register({.name = "ping",
              .arity = -1,
              .flags = kCmdFast,
              .handler = Ping,
              .group = "connection",
              .summary = "Ping the server",
              .since = "1.0.0"});
  t.Register({.name = "echo",
              .arity = 2,
              .flags = kCmdLoading | kCmdStale | kCmdFast,
              .handler = Echo,
              .group = "connection",
              .summary = "Echo the given string",
              .since = "1.0.0"});
  t.Register({.name = "quit",
              .arity = -1,
              .flags = kCmdAllowBusy | kCmdNoAuth | kCmdFast | kConn,
              .handler = Quit,
              .group = "connection",
              .summary = "Close the connection",
              .since = "1.0.0"});
  t.Register({.name = "reset",
              .arity = 1,
              .flags = kCmdAllowBusy | kCmdNoAuth | kCmdFast | kConn,
              .handler = ResetSession,
              .group = "connection",
              .summary = "Reset the connection",
              .since = "6.2.0"});
  t.Register({.name = "hello",
              .arity = -1,
              .flags = kCmdAllowBusy | kCmdNoAuth | kCmdFast | kConn,
              .handler = Hello,
              .group = "connection",
              .summary = "Handshake with Redis",
              .since = "6.0.0"});
  t.Register({.name = "auth",
              .arity = -2,
              .flags = kCmdAllowBusy | kCmdNoAuth | kCmdFast | kConn,
              .handler = Auth,
              .group = "connection",
              .summary = "Authenticate to the server",
              .since = "1.0.0"});
  t.Register({.name = "time",
              .arity = 1,
              .flags = kCmdLoading | kCmdStale | kCmdFast,
              .handler = Time,
              .group = "server",
              .summary = "Return the current server time",
              .since = "2.6.0"});
  t.Register({.name = "lastsave",
              .arity = 1,
              .flags = kCmdLoading | kCmdStale | kCmdFast,
              .handler = LastSave,
              .group = "server",
              .summary = "Get the UNIX time stamp of the last successful save to disk",
              .since = "1.0.0"});
  t.Register({.name = "shutdown",
              .arity = -1,
              .flags = kCmdAdmin | kConn | kCmdNoMulti | kCmdAllowBusy,
              .handler = Shutdown,
              .group = "server",
              .summary = "Synchronously save the dataset to disk and then shut down the server",
              .since = "1.0.0"});
  constexpr uint32_t kLoader = kCmdProtected | kCmdNoAsyncLoading;
  CommandSpec module = ModuleSub("module", -2, ModuleParent, "A container for module commands");
  module.flags = 0;
  CommandSpec help =
      ModuleSub("module|help", 2, ModuleHelp, "Show helpful text about the different subcommands");
  help.flags = kCmdLoading | kCmdStale;
  module.subcommands = {
      std::move(help),

      ModuleSub("module|list", 2, ModuleList, "List all modules loaded by the server"),
      ModuleSub("module|load", -3, ModuleLoad, "Load a module", kLoader),
      ModuleSub("module|loadex", -3, ModuleLoad, "Load a module with extended parameters", kLoader),
      ModuleSub("module|unload", 3, ModuleUnload, "Unload a module", kLoader),
  };
  t.Register(std::move(module));
}

}  // namespace shardnode::node
