// The SENTINEL command family and PUBLISH (spec §4.2 - §4.5), answered from
// the core's state. Replies are Reply values; the shell encodes them.
#include <fnmatch.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/strings.h"
#include "sentinel/sentinel.h"

namespace shardnode::sentinel {

namespace {

bool ParseInt(std::string_view s, int64_t* out) { return base::ParseStrictInt64(s, out); }

Reply NoSuchMaster() { return Reply::Error("ERR No such master with that name"); }

const std::vector<std::string_view>& HelpLines() {
  static const std::vector<std::string_view> lines = {
      "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "CKQUORUM <master-name>",
      "    Check if the current Sentinel configuration is able to reach the quorum",
      "    needed to failover a master and the majority needed to authorize the",
      "    failover.",
      "CONFIG SET <param> <value>",
      "    Set a global Sentinel configuration parameter.",
      "CONFIG GET <param>",
      "    Get global Sentinel configuration parameter.",
      "DEBUG [<param> <value> ...]",
      "    Show a list of configurable time parameters and their values (milliseconds).",
      "    Or update current configurable parameters values (one or more).",
      "GET-MASTER-ADDR-BY-NAME <master-name>",
      "    Return the ip and port number of the master with that name.",
      "FAILOVER <master-name>",
      "    Manually failover a master node without asking for agreement from other",
      "    Sentinels",
      "FLUSHCONFIG",
      "    Force Sentinel to rewrite its configuration on disk, including the current",
      "    Sentinel state.",
      "INFO-CACHE <master-name>",
      "    Return last cached INFO output from masters and all its replicas.",
      "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
      "    Check if the master specified by ip:port is down from current Sentinel's",
      "    point of view.",
      "MASTER <master-name>",
      "    Show the state and info of the specified master.",
      "MASTERS",
      "    Show a list of monitored masters and their state.",
      "MONITOR <name> <ip> <port> <quorum>",
      "    Start monitoring a new master with the specified name, ip, port and quorum.",
      "MYID",
      "    Return the ID of the Sentinel instance.",
      "PENDING-SCRIPTS",
      "    Get pending scripts information.",
      "REMOVE <master-name>",
      "    Remove master from Sentinel's monitor list.",
      "REPLICAS <master-name>",
      "    Show a list of replicas for this master and their state.",
      "RESET <pattern>",
      "    Reset masters for specific master name matching this pattern.",
      "SENTINELS <master-name>",
      "    Show a list of Sentinel instances for this master and their state.",
      "SET <master-name> <option> <value> [<option> <value> ...]",
      "    Set configuration paramters for certain masters.",
      "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
      "    Simulate a Sentinel crash.",
      "HELP",
      "    Prints this help.",
  };
  return lines;
}

// name, arity (Redis's: negative means at least).
struct SubInfo {
  std::string_view name;
  int arity;
};
constexpr SubInfo kSubcommands[] = {
    {"ckquorum", 3},
    {"config", -3},
    {"debug", -2},
    {"get-master-addr-by-name", 3},
    {"failover", 3},
    {"flushconfig", 2},
    {"info-cache", -3},
    {"is-master-down-by-addr", 6},
    {"master", 3},
    {"masters", 2},
    {"monitor", 6},
    {"myid", 2},
    {"pending-scripts", 2},
    {"remove", 3},
    {"replicas", 3},
    {"reset", 3},
    {"sentinels", 3},
    {"set", -5},
    {"simulate-failure", -3},
    {"slaves", 3},
    {"help", 2},
};

}  // namespace

Reply Sentinel::Command(const std::vector<std::string>& args, Millis now) {
  std::string name = base::AsciiLower(args[0]);
  if (name == "publish") {
    if (args.size() != 3)
      return Reply::Error("ERR wrong number of arguments for 'publish' command");
    if (args[1] != "__sentinel__:hello") {
      return Reply::Error("ERR Only HELLO messages are accepted by Sentinel instances.");
    }
    ProcessHello(args[2], now);
    return Reply::Integer(1);
  }
  return SentinelCommand(args, now);
}

Reply Sentinel::SentinelCommand(const std::vector<std::string>& args, Millis now) {
  if (args.size() < 2) return Reply::Error("ERR wrong number of arguments for 'sentinel' command");
  std::string sub = base::AsciiLower(args[1]);
  const SubInfo* info = nullptr;
  for (const SubInfo& s : kSubcommands) {
    if (s.name == sub) info = &s;
  }
  if (info == nullptr) {
    return Reply::Error(absl::StrCat("ERR unknown subcommand '", args[1], "'. Try SENTINEL HELP."));
  }
  int argc = static_cast<int>(args.size());
  if ((info->arity > 0 && argc != info->arity) || (info->arity < 0 && argc < -info->arity)) {
    return Reply::Error(
        absl::StrCat("ERR wrong number of arguments for 'sentinel|", sub, "' command"));
  }

  if (sub == "help") {
    Reply r = Reply::Array();
    for (std::string_view l : HelpLines()) r.elements.push_back(Reply::Status(std::string(l)));
    return r;
  }
  if (sub == "masters") {
    Reply r = Reply::Array();
    for (auto& [n, m] : masters_) r.elements.push_back(InstanceMap(*m, now));
    return r;
  }
  if (sub == "master") {
    Master* m = FindMaster(args[2]);
    return m ? InstanceMap(*m, now) : NoSuchMaster();
  }
  if (sub == "replicas" || sub == "slaves" || sub == "sentinels") {
    Master* m = FindMaster(args[2]);
    if (m == nullptr) return NoSuchMaster();
    Reply r = Reply::Array();
    if (sub == "sentinels") {
      for (auto& [k, s] : m->sentinels) r.elements.push_back(InstanceMap(*s, now));
    } else {
      for (auto& [k, s] : m->replicas) {
        if (s->replica_announced) r.elements.push_back(InstanceMap(*s, now));
      }
    }
    return r;
  }
  if (sub == "get-master-addr-by-name") {
    Master* m = FindMaster(args[2]);
    if (m == nullptr) return Reply::NullArray();
    auto [ip, port] = CurrentAddress(*m);
    return Reply::Array({Reply::Bulk(ip), Reply::Bulk(std::to_string(port))});
  }
  if (sub == "is-master-down-by-addr") return IsMasterDownByAddr(args, now);
  if (sub == "reset") {
    int count = 0;
    std::vector<Master*> matched;
    for (auto& [n, m] : masters_) {
      if (fnmatch(args[2].c_str(), n.c_str(), 0) == 0) matched.push_back(m.get());
    }
    for (Master* m : matched) {
      // A failover past the promotion has announced the promoted replica
      // under the master's config epoch (hellos carry CurrentAddress). Redis
      // 7.0.15 resets to the old address and keeps the epoch, so it then
      // announces another address under the same epoch, which no sentinel
      // takes, and the sentinels disagree for good (found by the sentinel
      // sweep). The switch that ends a failover is made first.
      if (m->failover_in_progress && m->failover_state >= FailoverState::kReconfSlaves) {
        SwitchToPromoted(m, now);
      }
      ResetMaster(m, /*keep_sentinels=*/false, now);
      Emit(Level::kWarning, "+reset-master", m, "");
      ++count;
    }
    return Reply::Integer(count);
  }
  if (sub == "failover") {
    Master* m = FindMaster(args[2]);
    if (m == nullptr) return NoSuchMaster();
    if (m->failover_in_progress) return Reply::Error("INPROG Failover already in progress");
    if (SelectReplica(m, now) == nullptr) {
      return Reply::Error("NOGOODSLAVE No suitable replica to promote");
    }
    Log(Level::kWarning, absl::StrCat("Executing user requested FAILOVER of '", m->name, "'"));
    StartFailover(m, now);
    m->force_failover = true;
    return Reply::Ok();
  }
  if (sub == "ckquorum") {
    Master* m = FindMaster(args[2]);
    if (m == nullptr) return NoSuchMaster();
    int usable = 1;
    for (auto& [k, s] : m->sentinels) {
      if (!s->s_down && !s->o_down) ++usable;
    }
    int voters = static_cast<int>(m->sentinels.size()) + 1;
    bool no_quorum = usable < m->quorum;
    bool no_majority = usable < voters / 2 + 1;
    if (!no_quorum && !no_majority) {
      return Reply::Status(absl::StrCat(
          "OK ", usable, " usable Sentinels. Quorum and failover authorization can be reached"));
    }
    std::string e = absl::StrCat("NOQUORUM ", usable, " usable Sentinels. ");
    if (no_quorum) {
      e += "Not enough available Sentinels to reach the specified quorum for this master";
    }
    if (no_majority) {
      if (no_quorum) e += ". ";
      e += "Not enough available Sentinels to reach the majority and authorize a failover";
    }
    return Reply::Error(e);
  }
  if (sub == "flushconfig") {
    Flush();
    return Reply::Ok();  // the shell replaces it when the save fails
  }
  if (sub == "monitor") {
    int64_t quorum = 0, port = 0;
    if (!ParseInt(args[5], &quorum)) return Reply::Error("ERR Invalid quorum");
    if (!ParseInt(args[4], &port)) return Reply::Error("ERR Invalid port");
    if (quorum <= 0) return Reply::Error("ERR Quorum must be 1 or greater.");
    if (Resolve(args[3]).empty()) {
      return Reply::Error("ERR Invalid IP address or hostname specified");
    }
    std::string err;
    Master* m =
        CreateMaster(args[2], args[3], static_cast<int>(port), static_cast<int>(quorum), now, &err);
    if (m == nullptr) return Reply::Error("ERR " + err);
    Flush();
    Emit(Level::kWarning, "+monitor", m, absl::StrCat("quorum ", m->quorum));
    return Reply::Ok();
  }
  if (sub == "remove") {
    Master* m = FindMaster(args[2]);
    if (m == nullptr) return NoSuchMaster();
    Emit(Level::kWarning, "-monitor", m, "");
    RemoveMaster(args[2]);
    Flush();
    return Reply::Ok();
  }
  if (sub == "set") return SentinelSet(args, now);
  if (sub == "config") return SentinelConfig(args, now);
  if (sub == "info-cache") {
    Reply r = Reply::Array();
    for (size_t i = 2; i < args.size(); ++i) {
      Master* m = FindMaster(args[i]);
      if (m == nullptr) continue;
      r.elements.push_back(Reply::Bulk(m->name));
      Reply list = Reply::Array();
      auto entry = [&](const Instance& ri, bool age_known) {
        Reply e = Reply::Array();
        e.elements.push_back(
            Reply::Integer(age_known && ri.info_refresh != 0 ? now - ri.info_refresh : 0));
        e.elements.push_back(ri.info.empty() ? Reply::NullBulk() : Reply::Bulk(ri.info));
        list.elements.push_back(std::move(e));
      };
      entry(*m, true);
      for (auto& [k, s] : m->replicas) entry(*s, !m->info.empty());
      r.elements.push_back(std::move(list));
    }
    return r;
  }
  if (sub == "simulate-failure") {
    simfailure_ = 0;
    for (size_t i = 2; i < args.size(); ++i) {
      if (base::EqualsIgnoreCase(args[i], "crash-after-election")) {
        simfailure_ |= 1;
        Log(Level::kWarning,
            "Failure simulation: this Sentinel will crash after being successfully elected as "
            "failover leader");
      } else if (base::EqualsIgnoreCase(args[i], "crash-after-promotion")) {
        simfailure_ |= 2;
        Log(Level::kWarning,
            "Failure simulation: this Sentinel will crash after promoting the selected replica to "
            "master");
      } else if (base::EqualsIgnoreCase(args[i], "help")) {
        return Reply::Array(
            {Reply::Bulk("crash-after-election"), Reply::Bulk("crash-after-promotion")});
      } else {
        return Reply::Error("ERR Unknown failure simulation specified");
      }
    }
    return Reply::Ok();
  }
  if (sub == "pending-scripts") {
    Reply r = Reply::Array();
    for (const ScriptJob& j : scripts_) {
      Reply e = Reply::Map();
      Reply argv = Reply::Array();
      for (const std::string& a : j.argv) argv.elements.push_back(Reply::Bulk(a));
      e.AddReply("argv", std::move(argv));
      e.Add("flags", j.running ? "running" : "scheduled");
      e.Add("pid", j.pid);
      if (j.running) {
        e.Add("run-time", now - j.start_time);
      } else {
        e.Add("run-delay", j.start_time == 0 ? 0 : std::max<Millis>(0, j.start_time - now));
      }
      e.Add("retry-num", j.retry_num);
      r.elements.push_back(std::move(e));
    }
    return r;
  }
  if (sub == "myid") return Reply::Bulk(myid_);
  if (sub == "debug") return SentinelDebug(args);
  return Reply::Error(absl::StrCat("ERR unknown subcommand '", args[1], "'. Try SENTINEL HELP."));
}

Reply Sentinel::IsMasterDownByAddr(const std::vector<std::string>& args, Millis now) {
  int64_t port = 0, epoch = 0;
  if (!ParseInt(args[3], &port) || !ParseInt(args[4], &epoch)) {
    return Reply::Error("ERR value is not an integer or out of range");
  }
  Master* m = nullptr;
  for (auto& [n, mm] : masters_) {
    if (SameAddr(*mm, args[2], static_cast<int>(port))) m = mm.get();
  }
  bool down = !tilt_ && m != nullptr && m->s_down;
  std::string leader;
  uint64_t leader_epoch = 0;
  if (m != nullptr && args[5] != "*") {
    leader = VoteLeader(m, static_cast<uint64_t>(epoch), args[5], &leader_epoch, now);
  }
  return Reply::Array({Reply::Integer(down ? 1 : 0), Reply::Bulk(leader.empty() ? "*" : leader),
                       Reply::Integer(leader.empty() ? 0 : static_cast<int64_t>(leader_epoch))});
}

Reply Sentinel::InstanceMap(const Instance& ri, Millis now) const {
  Reply r = Reply::Map();
  r.Add("name", ri.name);
  r.Add("ip", Addr(ri));
  r.Add("port", ri.port);
  r.Add("runid", ri.runid);
  const Master* m = ri.kind == Kind::kMaster ? static_cast<const Master*>(&ri) : nullptr;
  std::vector<std::string> flags;
  if (ri.s_down) flags.push_back("s_down");
  if (ri.o_down) flags.push_back("o_down");
  if (ri.kind == Kind::kMaster) flags.push_back("master");
  if (ri.kind == Kind::kReplica) flags.push_back("slave");
  if (ri.kind == Kind::kSentinel) flags.push_back("sentinel");
  if (ri.disconnected()) flags.push_back("disconnected");
  if (ri.master_down) flags.push_back("master_down");
  if (m != nullptr && m->failover_in_progress) flags.push_back("failover_in_progress");
  if (ri.promoted) flags.push_back("promoted");
  if (ri.reconf_sent) flags.push_back("reconf_sent");
  if (ri.reconf_inprog) flags.push_back("reconf_inprog");
  if (ri.reconf_done) flags.push_back("reconf_done");
  if (m != nullptr && m->force_failover) flags.push_back("force_failover");
  if (ri.script_kill_sent) flags.push_back("script_kill_sent");
  r.Add("flags", absl::StrJoin(flags, ","));
  r.Add("link-pending-commands", ri.link->pending_commands);
  r.Add("link-refcount", static_cast<int64_t>(ri.link.use_count()));
  if (m != nullptr && m->failover_in_progress) {
    r.Add("failover-state", std::string(FailoverStateName(m->failover_state)));
  }
  r.Add("last-ping-sent", ri.link->act_ping_time ? now - ri.link->act_ping_time : 0);
  r.Add("last-ok-ping-reply", now - ri.link->last_avail_time);
  r.Add("last-ping-reply", now - ri.link->last_pong_time);
  if (ri.s_down) r.Add("s-down-time", now - ri.s_down_since);
  if (ri.o_down) r.Add("o-down-time", now - ri.o_down_since);
  r.Add("down-after-milliseconds", ri.down_after);
  if (ri.kind != Kind::kSentinel) {
    r.Add("info-refresh", ri.info_refresh == 0 ? 0 : now - ri.info_refresh);
    r.Add("role-reported", ri.role_master ? "master" : "slave");
    r.Add("role-reported-time", now - ri.role_reported_time);
  }
  if (m != nullptr) {
    r.Add("config-epoch", static_cast<int64_t>(m->config_epoch));
    r.Add("num-slaves", static_cast<int64_t>(m->replicas.size()));
    r.Add("num-other-sentinels", static_cast<int64_t>(m->sentinels.size()));
    r.Add("quorum", m->quorum);
    r.Add("failover-timeout", m->failover_timeout);
    r.Add("parallel-syncs", m->parallel_syncs);
    if (!m->notification_script.empty()) r.Add("notification-script", m->notification_script);
    if (!m->client_reconfig_script.empty()) {
      r.Add("client-reconfig-script", m->client_reconfig_script);
    }
  }
  if (ri.kind == Kind::kReplica) {
    r.Add("master-link-down-time", ri.master_link_down_time);
    r.Add("master-link-status", ri.slave_master_link_up ? "ok" : "err");
    r.Add("master-host", ri.slave_master_host.empty() ? "?" : ri.slave_master_host);
    r.Add("master-port", ri.slave_master_port);
    r.Add("slave-priority", ri.slave_priority);
    r.Add("slave-repl-offset", ri.slave_repl_offset);
    r.Add("replica-announced", ri.replica_announced ? 1 : 0);
  }
  if (ri.kind == Kind::kSentinel) {
    r.Add("last-hello-message", now - ri.last_hello_time);
    r.Add("voted-leader", ri.leader.empty() ? "?" : ri.leader);
    r.Add("voted-leader-epoch", static_cast<int64_t>(ri.leader_epoch));
  }
  return r;
}

Reply Sentinel::SentinelSet(const std::vector<std::string>& args, Millis now) {
  (void)now;
  Master* m = FindMaster(args[2]);
  if (m == nullptr) return NoSuchMaster();
  int changes = 0;
  auto fail = [&](Reply err) {
    if (changes) Flush();
    return err;
  };
  for (size_t j = 3; j < args.size(); j += 2) {
    std::string opt = base::AsciiLower(args[j]);
    int moreargs = static_cast<int>(args.size()) - 1 - static_cast<int>(j);
    auto bad = [&](const std::string& v) {
      return fail(Reply::Error(
          absl::StrCat("ERR Invalid argument '", v, "' for SENTINEL SET '", args[j], "'")));
    };
    if ((opt == "down-after-milliseconds" || opt == "failover-timeout" || opt == "parallel-syncs" ||
         opt == "quorum" || opt == "master-reboot-down-after-period") &&
        moreargs > 0) {
      const std::string& v = args[j + 1];
      int64_t n = 0;
      bool ok = ParseInt(v, &n);
      if (!ok || (opt == "master-reboot-down-after-period" ? n < 0 : n <= 0)) return bad(v);
      if (opt == "down-after-milliseconds") {
        m->down_after = n;
        for (auto& [k, r] : m->replicas) r->down_after = n;
        for (auto& [k, s] : m->sentinels) s->down_after = n;
      } else if (opt == "failover-timeout") {
        m->failover_timeout = n;
      } else if (opt == "parallel-syncs") {
        m->parallel_syncs = static_cast<int>(n);
      } else if (opt == "quorum") {
        m->quorum = static_cast<int>(n);
      } else {
        m->reboot_down_after_period = n;
      }
      Emit(Level::kWarning, "+set", m, absl::StrCat(args[j], " ", v));
      ++changes;
    } else if ((opt == "notification-script" || opt == "client-reconfig-script") && moreargs > 0) {
      const std::string& v = args[j + 1];
      if (deny_scripts_reconfig_) {
        return fail(Reply::Error(
            "ERR Reconfiguration of scripts path is denied for security reasons. Check the "
            "deny-scripts-reconfig configuration directive in your Sentinel configuration"));
      }
      if (!v.empty() && access(v.c_str(), X_OK) == -1) {
        return fail(Reply::Error(opt == "notification-script"
                                     ? "ERR Notification script seems non existing or non "
                                       "executable"
                                     : "ERR Client reconfiguration script seems non existing or "
                                       "non executable"));
      }
      (opt == "notification-script" ? m->notification_script : m->client_reconfig_script) = v;
      Emit(Level::kWarning, "+set", m, absl::StrCat(args[j], " ", v));
      ++changes;
    } else if ((opt == "auth-pass" || opt == "auth-user") && moreargs > 0) {
      const std::string& v = args[j + 1];
      (opt == "auth-pass" ? m->auth_pass : m->auth_user) = v;
      // Reconnect with the new credentials.
      auto drop = [&](Instance* ri) {
        if (ri->link->cmd_up) ready_.actions.push_back(CloseLink{ri->link->id, LinkKind::kCommand});
        if (ri->link->pubsub_up)
          ready_.actions.push_back(CloseLink{ri->link->id, LinkKind::kPubsub});
        ri->link->cmd_up = ri->link->pubsub_up = false;
        ri->link->pending_commands = 0;
      };
      drop(m);
      for (auto& [k, r] : m->replicas) drop(r.get());
      Emit(Level::kWarning, "+set", m,
           absl::StrCat(args[j], " ", opt == "auth-pass" ? "******" : v));
      ++changes;
    } else if (opt == "rename-command" && moreargs > 1) {
      const std::string& from = args[j + 1];
      const std::string& to = args[j + 2];
      if (from.empty() || to.empty()) {
        return fail(Reply::Error(absl::StrCat(
            "ERR Unknown option or number of arguments for SENTINEL SET '", args[j], "'")));
      }
      std::string key = base::AsciiLower(from);
      m->renamed.erase(key);
      if (!base::EqualsIgnoreCase(from, to)) m->renamed[key] = to;
      Emit(Level::kWarning, "+set", m, absl::StrCat(args[j], " ", from, " ", to));
      ++changes;
      ++j;
    } else {
      return fail(Reply::Error(absl::StrCat(
          "ERR Unknown option or number of arguments for SENTINEL SET '", args[j], "'")));
    }
  }
  if (changes) Flush();
  return Reply::Ok();
}

Reply Sentinel::SentinelDebug(const std::vector<std::string>& args) {
  struct Param {
    std::string_view name;
    Millis* value;
  };
  Param params[] = {
      {"info-period", &timing_.info_period},
      {"ping-period", &timing_.ping_period},
      {"ask-period", &timing_.ask_period},
      {"publish-period", &timing_.publish_period},
      {"default-down-after", &timing_.default_down_after},
      {"default-failover-timeout", &timing_.default_failover_timeout},
      {"tilt-trigger", &timing_.tilt_trigger},
      {"tilt-period", &timing_.tilt_period},
      {"slave-reconf-timeout", &timing_.slave_reconf_timeout},
      {"min-link-reconnect-period", &timing_.min_link_reconnect_period},
      {"election-timeout", &timing_.election_timeout},
      {"script-max-runtime", &timing_.script_max_runtime},
      {"script-retry-delay", &timing_.script_retry_delay},
  };
  if (args.size() == 2) {
    Reply r = Reply::Map();
    const std::pair<std::string_view, Millis> shown[] = {
        {"INFO-PERIOD", timing_.info_period},
        {"PING-PERIOD", timing_.ping_period},
        {"ASK-PERIOD", timing_.ask_period},
        {"PUBLISH-PERIOD", timing_.publish_period},
        {"DEFAULT-DOWN-AFTER", timing_.default_down_after},
        {"DEFAULT-FAILOVER-TIMEOUT", timing_.default_failover_timeout},
        {"TILT-TRIGGER", timing_.tilt_trigger},
        {"TILT-PERIOD", timing_.tilt_period},
        {"SLAVE-RECONF-TIMEOUT", timing_.slave_reconf_timeout},
        {"MIN-LINK-RECONNECT-PERIOD", timing_.min_link_reconnect_period},
        {"ELECTION-TIMEOUT", timing_.election_timeout},
        {"SCRIPT-MAX-RUNTIME", timing_.script_max_runtime},
        {"SCRIPT-RETRY-DELAY", timing_.script_retry_delay},
    };
    for (auto& [n, v] : shown) r.Add(n, v);
    return r;
  }
  for (size_t j = 2; j < args.size(); j += 2) {
    Param* p = nullptr;
    for (Param& q : params) {
      if (base::EqualsIgnoreCase(q.name, args[j])) p = &q;
    }
    if (p == nullptr || j + 1 >= args.size()) {
      return Reply::Error(absl::StrCat(
          "ERR Unknown option or number of arguments for SENTINEL DEBUG '", args[j], "'"));
    }
    int64_t v = 0;
    if (!ParseInt(args[j + 1], &v) || v <= 0) {
      return Reply::Error(absl::StrCat("ERR Invalid argument '", args[j + 1],
                                       "' for SENTINEL DEBUG '", args[j], "'"));
    }
    *p->value = v;
  }
  return Reply::Ok();
}

Reply Sentinel::SentinelConfig(const std::vector<std::string>& args, Millis now) {
  (void)now;
  std::string op = base::AsciiLower(args[2]);
  if (op == "set" && args.size() == 5) {
    std::string param = base::AsciiLower(args[3]);
    const std::string& v = args[4];
    auto invalid = [&] {
      return Reply::Error(
          absl::StrCat("ERR Invalid value '", v, "' to SENTINEL CONFIG SET '", args[3], "'"));
    };
    auto yesno = [&](bool* field) {
      if (base::EqualsIgnoreCase(v, "yes")) {
        *field = true;
      } else if (base::EqualsIgnoreCase(v, "no")) {
        *field = false;
      } else {
        return false;
      }
      return true;
    };
    auto drop_sentinel_links = [&] {
      for (auto& [n, m] : masters_) {
        for (auto& [k, s] : m->sentinels) {
          if (s->link->cmd_up) ready_.actions.push_back(CloseLink{s->link->id, LinkKind::kCommand});
          s->link->cmd_up = false;
          s->link->pending_commands = 0;
        }
      }
    };
    if (param == "resolve-hostnames") {
      if (!yesno(&resolve_hostnames_)) return invalid();
      had_resolve_line_ = true;
    } else if (param == "announce-hostnames") {
      if (!yesno(&announce_hostnames_)) return invalid();
      had_announce_hostnames_line_ = true;
    } else if (param == "announce-ip") {
      announce_ip_ = v;
    } else if (param == "announce-port") {
      int64_t p = 0;
      if (!ParseInt(v, &p) || p < 0 || p > 65535) return invalid();
      announce_port_ = static_cast<int>(p);
    } else if (param == "sentinel-user") {
      sentinel_user_ = v;
      drop_sentinel_links();
    } else if (param == "sentinel-pass") {
      sentinel_pass_ = v;
      drop_sentinel_links();
    } else {
      return Reply::Error(
          absl::StrCat("ERR Invalid argument '", args[3], "' to SENTINEL CONFIG SET"));
    }
    Flush();
    return Reply::Ok();
  }
  if (op == "get" && args.size() == 4) {
    Reply r = Reply::Map();
    auto match = [&](std::string_view name) {
      return fnmatch(args[3].c_str(), std::string(name).c_str(), FNM_CASEFOLD) == 0;
    };
    if (match("resolve-hostnames")) r.Add("resolve-hostnames", resolve_hostnames_ ? "yes" : "no");
    if (match("announce-hostnames")) {
      r.Add("announce-hostnames", announce_hostnames_ ? "yes" : "no");
    }
    if (match("announce-ip")) r.Add("announce-ip", announce_ip_);
    if (match("announce-port")) r.Add("announce-port", announce_port_);
    if (match("sentinel-user")) r.Add("sentinel-user", sentinel_user_);
    if (match("sentinel-pass")) r.Add("sentinel-pass", sentinel_pass_);
    return r;
  }
  return Reply::Error(
      "ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.");
}

std::string Sentinel::InfoSection(Millis now) const {
  std::string s = absl::StrCat(
      "# Sentinel\r\nsentinel_masters:", masters_.size(), "\r\nsentinel_tilt:", tilt_ ? 1 : 0,
      "\r\nsentinel_tilt_since_seconds:", tilt_ ? (now - tilt_start_) / 1000 : -1,
      "\r\nsentinel_running_scripts:", running_scripts_,
      "\r\nsentinel_scripts_queue_length:", scripts_.size(),
      "\r\nsentinel_simulate_failure_flags:", simfailure_, "\r\n");
  int i = 0;
  for (auto& [n, m] : masters_) {
    auto [ip, port] = CurrentAddress(*m);
    const char* status = m->o_down ? "odown" : m->s_down ? "sdown" : "ok";
    absl::StrAppend(&s, "master", i++, ":name=", n, ",status=", status, ",address=", ip, ":", port,
                    ",slaves=", m->replicas.size(), ",sentinels=", m->sentinels.size() + 1, "\r\n");
  }
  return s;
}

}  // namespace shardnode::sentinel
