// The `sentinel ...` config directives (spec §1.4) and the sentinel lines of
// a rewrite (§1.6), in Redis's order.
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "sentinel/sentinel.h"

namespace shardnode::sentinel {

namespace {

bool IsIp(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':')) return false;
  }
  return true;
}

// One argument of a rewritten line: as it is when the config reader gives
// it back unchanged, else quoted with escapes (sdscatrepr's form, which the
// reader and Redis's sdssplitargs both undo). Redis 7.0.15 writes these
// values bare, so a password or script path with a space made a
// sentinel.conf that its own sentinel then refused at start (found by
// sentinel_fuzz).
std::string Arg(std::string_view s) {
  bool plain = !s.empty();
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c >= 127 || c == '"' || c == '\'' || c == '\\') plain = false;
  }
  return plain ? std::string(s) : base::Repr(s);
}

}  // namespace

bool Sentinel::IsPreMonitorKey(std::string_view kw) {
  for (std::string_view k :
       {"announce-ip", "announce-port", "deny-scripts-reconfig", "sentinel-user", "sentinel-pass",
        "current-epoch", "myid", "resolve-hostnames", "announce-hostnames"}) {
    if (base::EqualsIgnoreCase(k, kw)) return true;
  }
  return false;
}

std::string Sentinel::ApplyConfig(const std::vector<std::vector<std::string>>& lines, Millis now,
                                  size_t* failed) {
  for (int pass = 0; pass < 3; ++pass) {
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::vector<std::string>& args = lines[i];
      const bool pre = !args.empty() && IsPreMonitorKey(args[0]);
      const bool monitor = !args.empty() && base::EqualsIgnoreCase(args[0], "monitor");
      if ((pass == 0 && !pre) || (pass == 1 && !monitor) || (pass == 2 && (pre || monitor))) {
        continue;
      }
      std::string err = ApplyConfigLine(args, now);
      if (!err.empty()) {
        if (failed != nullptr) *failed = i;
        return err;
      }
    }
  }
  return "";
}

std::string Sentinel::ApplyConfigLine(const std::vector<std::string>& a, Millis now) {
  const std::string kUnrecognized = "Unrecognized sentinel configuration statement.";
  if (a.empty()) return kUnrecognized;
  std::string kw = base::AsciiLower(a[0]);
  size_t n = a.size();
  auto master = [&](Master** out) -> std::string {
    *out = FindMaster(a[1]);
    return *out ? "" : "No such master with specified name.";
  };
  Master* m = nullptr;
  std::string err;
  if (kw == "monitor" && n == 5) {
    int quorum = std::atoi(a[4].c_str());
    if (quorum <= 0) return "Quorum must be 1 or greater.";
    if (!resolve_hostnames_ && !IsIp(a[2])) return "Can't resolve instance hostname.";
    if (CreateMaster(a[1], a[2], std::atoi(a[3].c_str()), quorum, now, &err) == nullptr) {
      return err;
    }
    return "";
  }
  if ((kw == "down-after-milliseconds" || kw == "failover-timeout") && n == 3) {
    if (!(err = master(&m)).empty()) return err;
    int64_t v = std::atoi(a[2].c_str());
    if (v <= 0) return "negative or zero time parameter.";
    if (kw == "failover-timeout") {
      m->failover_timeout = v;
    } else {
      m->down_after = v;
      for (auto& [k, r] : m->replicas) r->down_after = v;
      for (auto& [k, s] : m->sentinels) s->down_after = v;
    }
    return "";
  }
  if (kw == "parallel-syncs" && n == 3) {
    if (!(err = master(&m)).empty()) return err;
    m->parallel_syncs = std::atoi(a[2].c_str());
    return "";
  }
  if ((kw == "notification-script" || kw == "client-reconfig-script") && n == 3) {
    if (!(err = master(&m)).empty()) return err;
    if (access(a[2].c_str(), X_OK) == -1) {
      return kw == "notification-script"
                 ? "Notification script seems non existing or non executable."
                 : "Client reconfiguration script seems non existing or non executable.";
    }
    (kw == "notification-script" ? m->notification_script : m->client_reconfig_script) = a[2];
    return "";
  }
  if ((kw == "auth-pass" || kw == "auth-user") && n == 3) {
    if (!(err = master(&m)).empty()) return err;
    (kw == "auth-pass" ? m->auth_pass : m->auth_user) = a[2];
    return "";
  }
  if (kw == "master-reboot-down-after-period" && n == 3) {
    if (!(err = master(&m)).empty()) return err;
    int64_t v = std::atoi(a[2].c_str());
    if (v < 0) return "negative time parameter.";
    m->reboot_down_after_period = v;
    return "";
  }
  if (kw == "rename-command" && n == 4) {
    if (!(err = master(&m)).empty()) return err;
    std::string key = base::AsciiLower(a[2]);
    if (m->renamed.contains(key)) return "Same command renamed multiple times with rename-command.";
    m->renamed[key] = a[3];
    return "";
  }
  if (kw == "config-epoch" && n == 3) {
    if (!(err = master(&m)).empty()) return err;
    m->config_epoch = std::strtoull(a[2].c_str(), nullptr, 10);
    if (m->config_epoch > current_epoch_) current_epoch_ = m->config_epoch;
    return "";
  }
  if (kw == "leader-epoch" && n == 3) {
    if (!(err = master(&m)).empty()) return err;
    m->leader_epoch = std::strtoull(a[2].c_str(), nullptr, 10);
    return "";
  }
  if ((kw == "known-slave" || kw == "known-replica") && n == 4) {
    if (!(err = master(&m)).empty()) return err;
    if (!resolve_hostnames_ && !IsIp(a[2])) return "Can't resolve instance hostname.";
    if (CreateReplica(m, a[2], std::atoi(a[3].c_str()), now) == nullptr) {
      return "Duplicate hostname and port for replica.";
    }
    return "";
  }
  if (kw == "known-sentinel" && (n == 4 || n == 5)) {
    if (n == 4) return "";  // the old form without a runid is ignored
    if (!(err = master(&m)).empty()) return err;
    if (CreateSentinel(m, a[2], std::atoi(a[3].c_str()), a[4], now) == nullptr) {
      return "Duplicate runid for sentinel.";
    }
    return "";
  }
  if (kw == "current-epoch" && n == 2) {
    uint64_t e = std::strtoull(a[1].c_str(), nullptr, 10);
    if (e > current_epoch_) current_epoch_ = e;
    return "";
  }
  if (kw == "myid" && n == 2) {
    if (a[1].size() != 40) return "Malformed Sentinel id in myid option.";
    myid_ = a[1];
    myid_from_config_ = true;
    return "";
  }
  if (kw == "announce-ip" && n == 2) {
    if (!a[1].empty()) announce_ip_ = a[1];
    return "";
  }
  if (kw == "announce-port" && n == 2) {
    announce_port_ = std::atoi(a[1].c_str());
    return "";
  }
  auto yesno = [&](bool* field, bool* seen, const char* msg) -> std::string {
    if (base::EqualsIgnoreCase(a[1], "yes")) {
      *field = true;
    } else if (base::EqualsIgnoreCase(a[1], "no")) {
      *field = false;
    } else {
      return msg;
    }
    *seen = true;
    return "";
  };
  if (kw == "deny-scripts-reconfig" && n == 2) {
    return yesno(&deny_scripts_reconfig_, &had_deny_line_,
                 "Please specify yes or no for the deny-scripts-reconfig options.");
  }
  if (kw == "resolve-hostnames" && n == 2) {
    return yesno(&resolve_hostnames_, &had_resolve_line_,
                 "Please specify yes or no for the resolve-hostnames option.");
  }
  if (kw == "announce-hostnames" && n == 2) {
    return yesno(&announce_hostnames_, &had_announce_hostnames_line_,
                 "Please specify yes or no for the announce-hostnames option.");
  }
  if (kw == "sentinel-user" && n == 2) {
    if (!a[1].empty()) sentinel_user_ = a[1];
    return "";
  }
  if (kw == "sentinel-pass" && n == 2) {
    if (!a[1].empty()) sentinel_pass_ = a[1];
    return "";
  }
  return kUnrecognized;
}

std::vector<std::string> Sentinel::RewriteKeys() {
  std::vector<std::string> keys;
  for (const char* k : {"myid",
                        "deny-scripts-reconfig",
                        "resolve-hostnames",
                        "announce-hostnames",
                        "monitor",
                        "down-after-milliseconds",
                        "failover-timeout",
                        "parallel-syncs",
                        "notification-script",
                        "client-reconfig-script",
                        "auth-pass",
                        "auth-user",
                        "master-reboot-down-after-period",
                        "config-epoch",
                        "leader-epoch",
                        "known-replica",
                        "known-sentinel",
                        "rename-command",
                        "current-epoch",
                        "announce-ip",
                        "announce-port",
                        "sentinel-user",
                        "sentinel-pass"}) {
    keys.push_back(absl::StrCat("sentinel ", k));
  }
  return keys;
}

std::vector<Sentinel::RewriteLine> Sentinel::RewriteLines() const {
  std::vector<RewriteLine> out;
  auto add = [&](std::string_view kw, std::string rest, bool force = true) {
    std::string k = absl::StrCat("sentinel ", base::ToAbsl(kw));
    out.push_back({k, absl::StrCat(k, " ", rest), force});
  };
  add("myid", Arg(myid_));  // plain hex in practice; quoted when a config gave 40 odd bytes
  if (!deny_scripts_reconfig_ || had_deny_line_) {
    add("deny-scripts-reconfig", deny_scripts_reconfig_ ? "yes" : "no");
  }
  if (resolve_hostnames_ || had_resolve_line_) {
    add("resolve-hostnames", resolve_hostnames_ ? "yes" : "no");
  }
  if (announce_hostnames_ || had_announce_hostnames_line_) {
    add("announce-hostnames", announce_hostnames_ ? "yes" : "no");
  }
  for (auto& [name, m] : masters_) {
    auto [ip, port] = CurrentAddress(*m);
    add("monitor", absl::StrCat(Arg(name), " ", Arg(ip), " ", port, " ", m->quorum));
    if (m->down_after != timing_.default_down_after) {
      add("down-after-milliseconds", absl::StrCat(Arg(name), " ", m->down_after));
    }
    if (m->failover_timeout != timing_.default_failover_timeout) {
      add("failover-timeout", absl::StrCat(Arg(name), " ", m->failover_timeout));
    }
    if (m->parallel_syncs != 1)
      add("parallel-syncs", absl::StrCat(Arg(name), " ", m->parallel_syncs));
    if (!m->notification_script.empty()) {
      add("notification-script", absl::StrCat(Arg(name), " ", Arg(m->notification_script)));
    }
    if (!m->client_reconfig_script.empty()) {
      add("client-reconfig-script", absl::StrCat(Arg(name), " ", Arg(m->client_reconfig_script)));
    }
    if (!m->auth_pass.empty()) add("auth-pass", absl::StrCat(Arg(name), " ", Arg(m->auth_pass)));
    if (!m->auth_user.empty()) add("auth-user", absl::StrCat(Arg(name), " ", Arg(m->auth_user)));
    if (m->reboot_down_after_period != 0) {
      add("master-reboot-down-after-period",
          absl::StrCat(Arg(name), " ", m->reboot_down_after_period));
    }
    add("config-epoch", absl::StrCat(Arg(name), " ", m->config_epoch));
    add("leader-epoch", absl::StrCat(Arg(name), " ", m->leader_epoch));
    for (auto& [k, r] : m->replicas) {
      std::string rip = Addr(*r);
      int rport = r->port;
      if (rip == ip && rport == port) {
        rip = Addr(*m);
        rport = m->port;
      }
      add("known-replica", absl::StrCat(Arg(name), " ", Arg(rip), " ", rport));
    }
    for (auto& [k, s] : m->sentinels) {
      if (s->runid.empty()) continue;
      add("known-sentinel",
          absl::StrCat(Arg(name), " ", Arg(s->ip), " ", s->port, " ", Arg(s->runid)));
    }
    for (auto& [from, to] : m->renamed) {
      add("rename-command", absl::StrCat(Arg(name), " ", Arg(from), " ", Arg(to)));
    }
  }
  add("current-epoch", std::to_string(current_epoch_));
  if (!announce_ip_.empty()) add("announce-ip", base::Repr(announce_ip_));
  if (announce_port_ != 0) add("announce-port", std::to_string(announce_port_));
  if (!sentinel_user_.empty()) add("sentinel-user", Arg(sentinel_user_));
  if (!sentinel_pass_.empty()) add("sentinel-pass", Arg(sentinel_pass_));
  return out;
}

}  // namespace shardnode::sentinel
