// CLIENT and its subcommands: ID SETNAME GETNAME LIST INFO KILL UNBLOCK
// PAUSE UNPAUSE REPLY NO-EVICT TRACKING CACHING GETREDIR TRACKINGINFO HELP.
#include "node/commands/client_family.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "node/acl/acl.h"
#include "node/commands/command_meta_reply.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/config/options.h"
#include "node/keyspace/types/type_util.h"
#include "node/resp/reply.h"
#include "node/server/blocking.h"
#include "node/server/node_services.h"
#include "node/server/pubsub.h"
#include "node/server/session.h"
#include "node/server/shard.h"
#include "node/server/tracking.h"
#include "node/server/watch.h"

namespace shardnode::node {
namespace {

using base::EqualsIgnoreCase;

void ClientId(CommandContext& ctx, Args) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.session.id));
}

void ClientSetName(CommandContext& ctx, Args args) {
  if (!IsValidClientName(args[2])) {
    ctx.reply.Error(errors::kClientName);
    return;
  }
  ctx.session.name = args[2];
  ctx.reply.Ok();
}

void ClientGetName(CommandContext& ctx, Args) {
  if (ctx.session.name.empty()) {
    ctx.reply.NullBulk();
  } else {
    ctx.reply.Bulk(ctx.session.name);
  }
}

// Redis's getClientType: our primary's link, a replica, a Pub/Sub
// subscriber, or a normal client.
bool IsClientType(const Session& s, std::string_view type) {
  if (type == "master") return s.from_primary;
  if (type == "replica" || type == "slave") return s.replica;
  if (type == "pubsub") return !s.replica && !s.from_primary && s.in_pubsub();
  return !s.replica && !s.from_primary && !s.in_pubsub();
}

void ClientList(CommandContext& ctx, Args args) {
  std::set<uint64_t> ids;
  std::string type_filter;
  for (size_t i = 2; i < args.size(); ++i) {
    if (EqualsIgnoreCase(args[i], "type") && i + 1 < args.size()) {
      const std::string type = absl::AsciiStrToLower(args[++i]);
      if (type != "normal" && type != "master" && type != "replica" && type != "slave" &&
          type != "pubsub") {
        ctx.reply.Error(errors::UnknownClientType(args[i]));
        return;
      }
      type_filter = type;
    } else if (EqualsIgnoreCase(args[i], "id") && i + 1 < args.size()) {
      for (++i; i < args.size(); ++i) {
        uint64_t id;
        if (!absl::SimpleAtoi(args[i], &id) || id == 0) {
          ctx.reply.Error(errors::kInvalidClientId);
          return;
        }
        ids.insert(id);
      }
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  std::string out;
  for (const auto& [id, session] : ctx.node.clients()) {
    if (!ids.empty() && !ids.count(id)) continue;
    if (!type_filter.empty() && !IsClientType(*session, type_filter)) continue;
    CountOutputOf(*session);
    absl::StrAppend(&out, ClientInfoLine(*session, ctx.now_ms), "\n");
  }
  ctx.reply.Verbatim(out);
}

void ClientInfo(CommandContext& ctx, Args) {
  ctx.reply.Verbatim(absl::StrCat(ClientInfoLine(ctx.session, ctx.now_ms), "\n"));
}

void ClientKill(CommandContext& ctx, Args args) {
  std::vector<Session*> victims;
  if (args.size() == 3) {  // CLIENT KILL addr:port
    for (auto& [id, session] : ctx.node.clients()) {
      if (session->addr == args[2]) victims.push_back(session);
    }
    if (victims.empty()) {
      ctx.reply.Error(errors::kNoSuchClient);
      return;
    }
  } else {
    if ((args.size() - 2) % 2 != 0) {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
    uint64_t id = 0;
    std::string addr, laddr, type;
    bool skipme = true;
    const acl::User* kill_user = nullptr;
    for (size_t i = 2; i + 1 < args.size(); i += 2) {
      const std::string opt = absl::AsciiStrToLower(args[i]);
      const std::string& val = args[i + 1];
      if (opt == "id") {
        if (!absl::SimpleAtoi(val, &id) || id == 0) {
          ctx.reply.Error(errors::kClientIdNotPositive);
          return;
        }
      } else if (opt == "addr") {
        addr = val;
      } else if (opt == "laddr") {
        laddr = val;
      } else if (opt == "type") {
        type = absl::AsciiStrToLower(val);
        if (type != "normal" && type != "master" && type != "replica" && type != "slave" &&
            type != "pubsub") {
          ctx.reply.Error(errors::UnknownClientType(val));
          return;
        }
      } else if (opt == "user") {
        kill_user = ctx.node.acl() != nullptr ? ctx.node.acl()->Find(val) : nullptr;
        if (kill_user == nullptr) {
          ctx.reply.Error(errors::NoSuchUser(val));
          return;
        }
      } else if (opt == "skipme") {
        if (EqualsIgnoreCase(val, "yes")) {
          skipme = true;
        } else if (EqualsIgnoreCase(val, "no")) {
          skipme = false;
        } else {
          ctx.reply.Error(errors::kSyntax);
          return;
        }
      } else {
        ctx.reply.Error(errors::kSyntax);
        return;
      }
    }
    for (auto& [cid, session] : ctx.node.clients()) {
      if (id && cid != id) continue;
      if (!addr.empty() && session->addr != addr) continue;
      if (!laddr.empty() && session->laddr != laddr) continue;
      if (!type.empty() && !IsClientType(*session, type)) continue;
      if (skipme && session == &ctx.session) continue;
      if (kill_user != nullptr && session->user != kill_user) continue;
      victims.push_back(session);
    }
  }
  for (Session* victim : victims) {
    if (victim == &ctx.session) {
      victim->close_after_reply = true;
    } else if (victim->kill) {
      victim->kill();
    }
  }
  if (args.size() == 3) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Integer(static_cast<int64_t>(victims.size()));
  }
}

// CLIENT UNBLOCK id [TIMEOUT|ERROR] / CLIENT PAUSE timeout [WRITE|ALL]: the
// optional mode word args[3]. *marked is true when it is `marked_word`, false
// when it is `other_word` or absent. Replies Redis's error and returns false
// on more arguments or another word.
bool ParseModeWord(resp::ReplyBuilder& r, std::span<const std::string> args,
                   std::string_view marked_word, std::string_view other_word,
                   std::string_view error, bool* marked) {
  if (args.size() > 4) {
    r.Error(errors::SubcommandSyntax(args[0], args[1]));
    return false;
  }
  *marked = false;
  if (args.size() < 4) return true;
  if (EqualsIgnoreCase(args[3], marked_word)) {
    *marked = true;
  } else if (!EqualsIgnoreCase(args[3], other_word)) {
    r.Error(error);
    return false;
  }
  return true;
}

// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 when the client was blocked.
void ClientUnblock(CommandContext& ctx, Args args) {
  bool with_error = false;
  if (!ParseModeWord(ctx.reply, args, "error", "timeout", errors::kUnblockReason, &with_error))
    return;
  int64_t id;
  if (!types::ParseInt64(args[2], &id)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  const bool unblocked = id > 0 && ctx.node.UnblockClient(static_cast<uint64_t>(id), with_error);
  ctx.reply.Integer(unblocked ? 1 : 0);
}

// CLIENT PAUSE timeout [WRITE|ALL] / CLIENT UNPAUSE: the net shell parks
// the commands that must wait (Dispatcher::WaitsForPause).
void ClientPause(CommandContext& ctx, Args args) {
  int64_t end_ms = 0;
  bool all = true;
  if (!ParseClientPause(ctx.reply, args, ctx.now_ms, &end_ms, &all)) return;
  ctx.node.PauseClients(NodeServices::PausePurpose::kClientCommand, end_ms, all);
  ctx.reply.Ok();
}

void ClientUnpause(CommandContext& ctx, Args) {
  ctx.node.UnpauseClients(NodeServices::PausePurpose::kClientCommand);
  ctx.reply.Ok();
}

// CLIENT REPLY ON|OFF|SKIP: the dispatcher silences the replies (Execute).
void ClientReply(CommandContext& ctx, Args args) { ClientReplyMode(ctx.session, ctx.reply, args); }

void ClientHelp(CommandContext& ctx, Args) {
  meta::ReplyHelpLines(ctx.reply, "CLIENT", ClientHelpLines());
}

// CLIENT NO-EVICT ON|OFF: whether client eviction (maxmemory-clients) may
// close this connection.
void ClientNoEvict(CommandContext& ctx, Args args) {
  if (EqualsIgnoreCase(args[2], "on")) {
    ctx.session.no_evict = true;
  } else if (EqualsIgnoreCase(args[2], "off")) {
    ctx.session.no_evict = false;
  } else {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  ctx.reply.Ok();
}

void ClientTracking(CommandContext& ctx, Args args) {
  ClientTrackingCommand(ctx.node.tracking(), ctx.node.clients(), ctx.session, ctx.reply, args);
}

void ClientCaching(CommandContext& ctx, Args args) {
  ClientCachingCommand(ctx.session, ctx.reply, args);
}

void ClientGetRedir(CommandContext& ctx, Args) { ReplyTrackingRedirect(ctx.session, ctx.reply); }

void ClientTrackingInfo(CommandContext& ctx, Args) { ReplyTrackingInfo(ctx.session, ctx.reply); }

void Help(CommandContext& ctx, Args) { ctx.reply.Error(errors::kUnexpectedHelp); }

CommandSpec Sub(std::string_view sub, int arity, uint32_t flags, Handler h) {
  return SubcommandSpec("client", sub, arity, flags, h, "connection");
}

}  // namespace

bool ParseClientPause(resp::ReplyBuilder& r, std::span<const std::string> args, int64_t now_ms,
                      int64_t* end_ms, bool* all) {
  bool write_only = false;
  if (!ParseModeWord(r, args, "write", "all", errors::kPauseMode, &write_only)) return false;
  *all = !write_only;
  int64_t ms;
  if (!types::ParseInt64(args[2], &ms)) {
    r.Error(errors::kTimeoutNotInteger);
    return false;
  }
  if (ms < 0) {
    r.Error(errors::kTimeoutNegative);
    return false;
  }
  *end_ms = now_ms + ms;
  return true;
}

void ClientReplyMode(Session& s, resp::ReplyBuilder& r, std::span<const std::string> args) {
  if (EqualsIgnoreCase(args[2], "on")) {
    s.reply_off = false;
    s.reply_skip_next = false;
    s.reply_skip = false;
    r.set_silenced(false);
    r.Ok();
  } else if (EqualsIgnoreCase(args[2], "off")) {
    s.reply_off = true;
    r.set_silenced(true);
  } else if (EqualsIgnoreCase(args[2], "skip")) {
    if (!s.reply_off) s.reply_skip_next = true;
  } else {
    r.Error(errors::kSyntax);
  }
}

// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN]
// [OPTOUT] [NOLOOP]: options are parsed (and REDIRECT checked) before ON or
// OFF is looked at, as in Redis.
void ClientTrackingCommand(Tracking& tracking, const std::map<uint64_t, Session*>& clients,
                           Session& s, resp::ReplyBuilder& r, std::span<const std::string> args) {
  Tracking::Options o;
  for (size_t j = 3; j < args.size(); ++j) {
    const bool more = j + 1 < args.size();
    if (EqualsIgnoreCase(args[j], "redirect") && more) {
      ++j;
      if (o.redirect != 0) {
        r.Error("ERR A client can only redirect to a single other client");
        return;
      }
      int64_t id;
      if (!types::ParseInt64(args[j], &id)) {
        r.Error(errors::kNotInteger);
        return;
      }
      // The target must exist now (it may leave later: tracking-redir-broken).
      if (id <= 0 || !clients.count(static_cast<uint64_t>(id))) {
        r.Error("ERR The client ID you want redirect to does not exist");
        return;
      }
      o.redirect = static_cast<uint64_t>(id);
    } else if (EqualsIgnoreCase(args[j], "bcast")) {
      o.bcast = true;
    } else if (EqualsIgnoreCase(args[j], "optin")) {
      o.optin = true;
    } else if (EqualsIgnoreCase(args[j], "optout")) {
      o.optout = true;
    } else if (EqualsIgnoreCase(args[j], "noloop")) {
      o.noloop = true;
    } else if (EqualsIgnoreCase(args[j], "prefix") && more) {
      o.prefixes.push_back(args[++j]);
    } else {
      r.Error(errors::kSyntax);
      return;
    }
  }
  if (EqualsIgnoreCase(args[2], "on")) {
    bool enabled = false;
    const std::string error = tracking.Enable(s, o, &enabled);
    if (!error.empty()) r.Error(error);
    if (!enabled) return;
  } else if (EqualsIgnoreCase(args[2], "off")) {
    tracking.Disable(s);
  } else {
    r.Error(errors::kSyntax);
    return;
  }
  r.Ok();
}

// CLIENT CACHING YES|NO: for the next command, in OPTIN / OPTOUT mode.
void ClientCachingCommand(Session& s, resp::ReplyBuilder& r, std::span<const std::string> args) {
  Session::TrackingMode& t = s.tracking;
  if (!t.on) {
    r.Error(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
        "OPTOUT mode enabled");
    return;
  }
  if (EqualsIgnoreCase(args[2], "yes")) {
    if (!t.optin) {
      r.Error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
      return;
    }
  } else if (EqualsIgnoreCase(args[2], "no")) {
    if (!t.optout) {
      r.Error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
      return;
    }
  } else {
    r.Error(errors::kSyntax);
    return;
  }
  t.caching = true;
  r.Ok();
}

void ReplyTrackingRedirect(const Session& s, resp::ReplyBuilder& r) {
  const Session::TrackingMode& t = s.tracking;
  r.Integer(t.on ? static_cast<int64_t>(t.redirect) : -1);
}

void ReplyTrackingInfo(const Session& s, resp::ReplyBuilder& r) {
  const Session::TrackingMode& t = s.tracking;
  std::vector<std::string_view> flags = {t.on ? "on" : "off"};
  if (t.bcast) flags.push_back("bcast");
  if (t.optin) {
    flags.push_back("optin");
    if (t.caching) flags.push_back("caching-yes");
  }
  if (t.optout) {
    flags.push_back("optout");
    if (t.caching) flags.push_back("caching-no");
  }
  if (t.noloop) flags.push_back("noloop");
  if (t.broken_redirect) flags.push_back("broken_redirect");
  r.MapHeader(3);
  r.Bulk("flags");
  r.SetHeader(flags.size());
  for (std::string_view f : flags) r.Bulk(f);
  r.Bulk("redirect");
  r.Integer(t.on ? static_cast<int64_t>(t.redirect) : -1);
  r.Bulk("prefixes");
  r.ArrayHeader(t.prefixes.size());
  for (const std::string& p : t.prefixes) r.Bulk(p);
}

std::span<const std::string_view> ClientHelpLines() {
  static constexpr std::string_view kLines[] = {
      "CACHING (YES|NO)",
      "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
      "GETREDIR",
      "    Return the client ID we are redirecting to when tracking is enabled.",
      "GETNAME",
      "    Return the name of the current connection.",
      "ID",
      "    Return the ID of the current connection.",
      "INFO",
      "    Return information about the current client connection.",
      "KILL <ip:port>",
      "    Kill connection made from <ip:port>.",
      "KILL <option> <value> [<option> <value> [...]]",
      "    Kill connections. Options are:",
      "    * ADDR (<ip:port>|<unixsocket>:0)",
      "      Kill connections made from the specified address",
      "    * LADDR (<ip:port>|<unixsocket>:0)",
      "      Kill connections made to specified local address",
      "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
      "      Kill connections by type.",
      "    * USER <username>",
      "      Kill connections authenticated by <username>.",
      "    * SKIPME (YES|NO)",
      "      Skip killing current connection (default: yes).",
      "LIST [options ...]",
      "    Return information about client connections. Options:",
      "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
      "      Return clients of specified type.",
      "UNPAUSE",
      "    Stop the current client pause, resuming traffic.",
      "PAUSE <timeout> [WRITE|ALL]",
      "    Suspend all, or just write, clients for <timeout> milliseconds.",
      "REPLY (ON|OFF|SKIP)",
      "    Control the replies sent to the current connection.",
      "SETNAME <name>",
      "    Assign the name <name> to the current connection.",
      "UNBLOCK <clientid> [TIMEOUT|ERROR]",
      "    Unblock the specified blocked client.",
      "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
      "         [OPTIN] [OPTOUT] [NOLOOP]",
      "    Control server assisted client side caching.",
      "TRACKINGINFO",
      "    Report tracking status for the current connection.",
      "NO-EVICT (ON|OFF)",
      "    Protect current client connection from eviction.",
  };
  return kLines;
}

bool IsValidClientName(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

void RegisterClientFamily(CommandTable& t) {
  constexpr uint32_t kConn = kCmdNoScript | kCmdLoading | kCmdStale;
  CommandSpec client{.name = "client",
                     .arity = -2,
                     .flags = 0,
                     .handler = Help,
                     .group = "connection",
                     .summary = "A container for client connection commands",
                     .since = "2.4.0"};
  client.subcommands = {
      Sub("id", 2, kConn, ClientId),
      Sub("setname", 3, kConn, ClientSetName),
      Sub("getname", 2, kConn, ClientGetName),
      Sub("list", -2, kCmdAdmin | kConn, ClientList),
      Sub("info", 2, kConn, ClientInfo),
      Sub("kill", -3, kCmdAdmin | kConn, ClientKill),
      Sub("unblock", -3, kCmdAdmin | kConn, ClientUnblock),
      Sub("pause", -3, kCmdAdmin | kConn, ClientPause),
      Sub("unpause", 2, kCmdAdmin | kConn, ClientUnpause),
      Sub("reply", 3, kConn, ClientReply),
      Sub("no-evict", 3, kCmdAdmin | kConn, ClientNoEvict),
      Sub("tracking", -3, kConn, ClientTracking),
      Sub("caching", 3, kConn, ClientCaching),
      Sub("getredir", 2, kConn, ClientGetRedir),
      Sub("trackinginfo", 2, kConn, ClientTrackingInfo),
      Sub("help", 2, kCmdLoading | kCmdStale, ClientHelp),
  };
  t.Register(std::move(client));
}

}  // namespace shardnode::node
