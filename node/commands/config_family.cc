// CONFIG GET / SET / REWRITE / RESETSTAT / HELP. The semantics live in
// Config (node/config/config.h); this family only adapts arguments and
// replies, and applies the log level live.
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "node/acl/acl.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/config/config.h"
#include "node/persist/aof.h"
#include "node/persist/persistence.h"
#include "node/resp/reply.h"
#include "node/server/cluster_setup.h"
#include "node/server/crash_report.h"
#include "node/server/lazyfree.h"
#include "node/server/log.h"
#include "node/server/node_services.h"
#include "node/server/replication_control.h"
#include "node/server/session.h"
#include "node/server/shard.h"

namespace shardnode::node {
namespace {

// Redis's islocalClient: loopback peers (and sockets without an address,
// such as unix sockets) are local.
bool IsLocalClient(const Session& session) {
  const std::string& addr = session.addr;
  if (session.unix_socket || addr.empty()) return true;
  const size_t colon = addr.rfind(':');
  const std::string ip = colon == std::string::npos ? addr : addr.substr(0, colon);
  return ip == "127.0.0.1" || ip == "::1" || ip == "[::1]";
}

void ConfigGet(CommandContext& ctx, Args args) {
  std::vector<std::string> patterns(args.begin() + 2, args.end());
  const auto pairs = ctx.node.config().Get(patterns);
  ctx.reply.MapHeader(pairs.size());
  for (const auto& [name, value] : pairs) {
    ctx.reply.Bulk(name);
    ctx.reply.Bulk(value);
  }
}

void ConfigSet(CommandContext& ctx, Args args) {
  if (args.size() % 2 != 0) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 2; i + 1 < args.size(); i += 2) pairs.emplace_back(args[i], args[i + 1]);
  Config& config = ctx.node.config();
  // While a dataset loads, the directives Redis flags DENY_LOADING_CONFIG
  // are refused with -LOADING (unless an unknown name comes first).
  if (ctx.node.loading().active) {
    for (const auto& [name, value] : pairs) {
      if (!config.Value(name).has_value()) break;
      const std::string lower = absl::AsciiStrToLower(name);
      if (lower == "dir" || lower == "appendonly" || lower == "repl-diskless-load") {
        ctx.reply.Error(errors::kLoading);
        return;
      }
    }
  }
  const bool appendonly_before = config.options().appendonly;
  // The tls-* directives that rebuild the TLS contexts (Redis's
  // applyTlsCfg): their old values, to go back to when the new ones do
  // not load.
  std::vector<std::pair<std::string, std::string>> tls_before;
  for (const auto& [name, value] : pairs) {
    const std::string lower = absl::AsciiStrToLower(name);
    if (lower.rfind("tls-", 0) == 0 && lower != "tls-auth-clients" && lower != "tls-port") {
      tls_before.emplace_back(lower, config.Value(lower).value_or(""));
    }
  }
  const int port_before = config.options().port;
  const std::vector<std::string> bind_before = config.options().bind;
  const int tls_port_before = config.options().tls_port;
  // When applying one fails, every value of the command goes back, as
  // Redis's restoreBackupConfig does.
  std::vector<std::pair<std::string, std::string>> old_values;
  for (const auto& [name, value] : pairs) {
    if (std::optional<std::string> v = config.Value(name)) old_values.emplace_back(name, *v);
  }
  auto roll_back = [&]() { (void)config.Set(old_values, true); };
  absl::Status s = config.Set(pairs, IsLocalClient(ctx.session));
  if (!s.ok()) {
    ctx.reply.Error(errors::Err(s));
    return;
  }
  const ServerOptions& o = config.options();
  // port / tls-port: listen there now (Redis's changeListenPort).
  for (const bool tls : {false, true}) {
    const int before = tls ? tls_port_before : port_before;
    if ((tls ? o.tls_port : o.port) == before) continue;
    const absl::Status st = ctx.node.ApplyListenPort(tls);
    if (!st.ok()) {
      const char* name = tls ? "tls-port" : "port";
      roll_back();
      ctx.reply.Error(errors::Err(absl::StrCat("CONFIG SET failed (possibly related to argument '",
                                               name, "') - ", st.message())));
      return;
    }
  }
  // bind: listen at the new addresses now (Redis's changeBindAddr).
  if (o.bind != bind_before) {
    const absl::Status st = ctx.node.ApplyBind(bind_before);
    if (!st.ok()) {
      roll_back();
      ctx.reply.Error(errors::Err(absl::StrCat(
          "CONFIG SET failed (possibly related to argument 'bind') - ", st.message())));
      return;
    }
  }
  if (!tls_before.empty() && (o.tls_port != 0 || o.tls_replication || o.tls_cluster) &&
      !ctx.node.ApplyTlsOptions()) {
    roll_back();
    ctx.reply.Error(errors::Err(
        absl::StrCat("CONFIG SET failed (possibly related to argument '", tls_before.front().first,
                     "') - Unable to update TLS configuration. Check server logs.")));
    return;
  }
  for (const auto& [name, value] : pairs) {
    if (base::EqualsIgnoreCase(name, "proc-title-template")) ctx.node.ApplyProcTitle();
    // The watchdog starts (or stops) now, not at the next cron tick.
    if (base::EqualsIgnoreCase(name, "watchdog-period")) {
      ArmWatchdog(WatchdogPeriodMs(o.watchdog_period, o.hz));
    }
  }
  // oom-score-adj(-values): the process's score changes now.
  for (const auto& [name, value] : pairs) {
    const std::string lower = absl::AsciiStrToLower(name);
    if (lower != "oom-score-adj" && lower != "oom-score-adj-values") continue;
    if (!ctx.node.ApplyOomScore().ok()) {
      roll_back();
      (void)ctx.node.ApplyOomScore();
      ctx.reply.Error(
          errors::Err(absl::StrCat("CONFIG SET failed (possibly related to argument '", lower,
                                   "') - Failed to set current oom_score_adj. Check "
                                   "server logs.")));
      return;
    }
    break;
  }
  if (ctx.node.persistence() != nullptr) ctx.node.persistence()->aof()->RefreshConfig();
  // appendonly switches the AOF on (its first rewrite starts or is
  // scheduled) or off; turning it on may fail, and the value goes back.
  if (config.options().appendonly != appendonly_before && ctx.node.persistence() != nullptr) {
    const bool in_exec = ctx.session.deny_blocking && !ctx.session.from_primary;
    absl::Status st =
        ctx.node.persistence()->aof()->SetEnabled(config.options().appendonly, in_exec, ctx.now_ms);
    if (!st.ok()) {
      roll_back();
      ctx.reply.Error(errors::Err(absl::StrCat(
          "CONFIG SET failed (possibly related to argument 'appendonly') - ", st.message())));
      return;
    }
  }
  SetLogLevel(config.options().loglevel);
  if (acl::Acl* a = ctx.node.acl(); a != nullptr) {
    // requirepass is the default user's password (ACLUpdateDefaultUserPassword).
    for (const auto& [name, value] : pairs) {
      if (base::EqualsIgnoreCase(name, "requirepass")) {
        a->SetDefaultPassword(config.options().requirepass);
      }
    }
    a->set_pubsub_default_all(config.Value("acl-pubsub-default") == "allchannels");
  }
  ctx.node.RefreshClusterOptions();
  ctx.node.ApplyMemoryOptions(ctx.now_ms);
  ctx.reply.Ok();
}

void ConfigRewrite(CommandContext& ctx, Args) {
  absl::Status s = ctx.node.config().Rewrite();
  if (!s.ok()) {
    if (!ctx.node.config().config_file().empty()) {
      Logf(LogLevel::kWarning, "CONFIG REWRITE failed: %s", std::string(s.message()));
    }
    ctx.reply.Error(errors::Err(s));
    return;
  }
  Log(LogLevel::kWarning, "CONFIG REWRITE executed with success.");
  ctx.reply.Ok();
}

void ConfigResetStat(CommandContext& ctx, Args) {
  // Every shard view's figures, the per-command ones included.
  ctx.node.ResetStats();
  ResetLazyFreedObjects();
  if (ReplicationControl* repl = ctx.node.replication()) repl->ResetStats();
  ctx.reply.Ok();
}

void ConfigHelp(CommandContext& ctx, Args) {
  static const char* kLines[] = {
      "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GET <pattern>",
      "    Return parameters matching the glob-like <pattern> and their values.",
      "SET <directive> <value>",
      "    Set the configuration <directive> to <value>.",
      "RESETSTAT",
      "    Reset statistics reported by the INFO command.",
      "REWRITE",
      "    Rewrite the configuration file.",
      "HELP",
      "    Prints this help."};
  ctx.reply.ArrayHeader(std::size(kLines));
  for (const char* line : kLines) ctx.reply.SimpleString(line);
}

// Reached only as "CONFIG" alone is refused by arity; a known subcommand is
// dispatched to its own entry, an unknown one is refused by the dispatcher.
void ConfigParent(CommandContext& ctx, Args args) {
  ctx.reply.Error(errors::UnknownSubcommand("CONFIG", args.size() > 1 ? args[1] : ""));
}

CommandSpec Sub(std::string_view name, int arity, uint32_t flags, Handler handler,
                std::string_view summary, std::string_view since) {
  CommandSpec spec = SubcommandSpec("config", name, arity, flags, handler, "server");
  spec.summary = summary;
  spec.since = since;
  return spec;
}

}  // namespace

void RegisterConfigFamily(CommandTable& table) {
  constexpr uint32_t kAdmin = kCmdAdmin | kCmdNoScript | kCmdLoading | kCmdStale;
  CommandSpec config{.name = "config",
                     .arity = -2,
                     .flags = 0,
                     .handler = ConfigParent,
                     .group = "server",
                     .summary = "A container for server configuration commands",
                     .since = "2.0.0"};
  config.subcommands = {
      Sub("get", -3, kAdmin, ConfigGet, "Get the values of configuration parameters", "2.0.0"),
      Sub("help", 2, kCmdLoading | kCmdStale, ConfigHelp,
          "Show helpful text about the different subcommands", "5.0.0"),
      Sub("resetstat", 2, kAdmin, ConfigResetStat, "Reset the stats returned by INFO", "2.0.0"),
      Sub("rewrite", 2, kAdmin, ConfigRewrite,
          "Rewrite the configuration file with the in memory configuration", "2.8.0"),
      Sub("set", -4, kAdmin, ConfigSet, "Set configuration parameters to the given values",
          "2.0.0"),
  };
  table.Register(std::move(config));
}

}  // namespace shardnode::node
