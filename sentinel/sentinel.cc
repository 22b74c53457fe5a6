// The sentinel core's periodic work, replies and failover (sentinel.h).
// Redis 7.0.15's sentinel.c is the behaviour matched; the section numbers in
// comments refer to shared/spec/sentinel-7.0.md.
#include "sentinel/sentinel.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/strings.h"

namespace shardnode::sentinel {

namespace {

constexpr std::string_view kHelloChannel = "__sentinel__:hello";

int64_t AtoI(std::string_view s) {
  std::string tmp(s);
  return std::strtoll(tmp.c_str(), nullptr, 10);
}

}  // namespace

std::string_view FailoverStateName(FailoverState s) {
  switch (s) {
    case FailoverState::kNone:
      return "none";
    case FailoverState::kWaitStart:
      return "wait_start";
    case FailoverState::kSelectSlave:
      return "select_slave";
    case FailoverState::kSendSlaveofNoone:
      return "send_slaveof_noone";
    case FailoverState::kWaitPromotion:
      return "wait_promotion";
    case FailoverState::kReconfSlaves:
      return "reconf_slaves";
    case FailoverState::kUpdateConfig:
      return "update_config";
  }
  return "unknown";
}

bool Instance::disconnected() const {
  return !link->cmd_up || (kind != Kind::kSentinel && !link->pubsub_up);
}

// --- Hello codec (§2.5) ---------------------------------------------------

std::string EncodeHello(const Hello& h) {
  return absl::StrCat(h.ip, ",", h.port, ",", h.runid, ",", h.current_epoch, ",", h.master_name,
                      ",", h.master_ip, ",", h.master_port, ",", h.master_config_epoch);
}

std::optional<Hello> DecodeHello(std::string_view payload) {
  std::vector<std::string> t = absl::StrSplit(base::ToAbsl(payload), ',');
  if (t.size() != 8) return std::nullopt;
  Hello h;
  h.ip = t[0];
  h.port = static_cast<int>(AtoI(t[1]));
  h.runid = t[2];
  h.current_epoch = std::strtoull(t[3].c_str(), nullptr, 10);
  h.master_name = t[4];
  h.master_ip = t[5];
  h.master_port = static_cast<int>(AtoI(t[6]));
  h.master_config_epoch = std::strtoull(t[7].c_str(), nullptr, 10);
  return h;
}

bool IsIpAddress(const std::string& s) {
  if (s.empty()) return false;
  const bool v6 = s.find(':') != std::string::npos;
  int dots = 0;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (v6 ? !(std::isxdigit(u) || c == ':' || c == '.') : !(std::isdigit(u) || c == '.')) {
      return false;
    }
    dots += c == '.';
  }
  return v6 || dots == 3;
}

std::string Sentinel::Resolve(const std::string& host) const {
  if (IsIpAddress(host)) return host;
  if (!resolve_hostnames_ || !resolver) return "";
  return resolver(host);
}

std::string Sentinel::Addr(const Instance& ri) const {
  if (announce_hostnames_ || ri.resolved.empty()) return ri.ip;
  return ri.resolved;
}

bool Sentinel::SameAddr(const Instance& ri, const std::string& host, int port) const {
  if (ri.port != port) return false;
  if (base::EqualsIgnoreCase(ri.ip, host)) return true;
  return !ri.resolved.empty() && ri.resolved == Resolve(host);
}

// --- Construction and instances -------------------------------------------

Sentinel::Sentinel(std::string myid, int port, uint64_t seed, Millis now)
    : myid_(std::move(myid)),
      port_(port),
      previous_time_(now),
      rng_(seed),
      hz_rng_(static_cast<uint32_t>(seed ^ (seed >> 32)) | 1) {}

Master* Sentinel::FindMaster(std::string_view name) const {
  auto it = masters_.find(std::string(name));
  return it == masters_.end() ? nullptr : it->second.get();
}

Instance* Sentinel::Find(InstanceId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

void Sentinel::InitInstance(Instance* ri, Millis now) {
  ri->id = next_id_++;
  ri->link->id = ri->id;
  by_id_[ri->id] = ri;
  // A new link: the ping is "pending" since creation, so an instance that is
  // never reached goes SDOWN after down-after.
  ri->link->act_ping_time = now;
  ri->link->last_avail_time = now;
  ri->link->last_pong_time = now;
  ri->link->last_ping_time = 0;
  ri->role_reported_time = now;
  ri->slave_conf_change_time = now;
}

Master* Sentinel::CreateMaster(const std::string& name, const std::string& ip, int port, int quorum,
                               Millis now, std::string* err) {
  if (port < 0 || port > 65535) {
    *err = "Invalid port number.";
    return nullptr;
  }
  if (masters_.contains(name)) {
    *err = "Duplicate master name.";
    return nullptr;
  }
  auto m = std::make_unique<Master>();
  m->kind = Kind::kMaster;
  m->name = name;
  m->ip = ip;
  m->resolved = Resolve(ip);
  m->port = port;
  m->quorum = quorum;
  m->down_after = timing_.default_down_after;
  m->failover_timeout = timing_.default_failover_timeout;
  m->role_master = true;
  InitInstance(m.get(), now);
  Master* raw = m.get();
  masters_[name] = std::move(m);
  return raw;
}

Instance* Sentinel::CreateReplica(Master* m, const std::string& ip, int port, Millis now) {
  std::string key = ip.find(':') != std::string::npos ? absl::StrCat("[", ip, "]:", port)
                                                      : absl::StrCat(ip, ":", port);
  if (m->replicas.contains(key)) return nullptr;
  auto ri = std::make_unique<Instance>();
  ri->kind = Kind::kReplica;
  ri->master = m;
  ri->name = key;
  ri->ip = ip;
  ri->resolved = Resolve(ip);
  ri->port = port;
  ri->down_after = m->down_after;
  ri->role_master = false;
  InitInstance(ri.get(), now);
  Instance* raw = ri.get();
  m->replicas[key] = std::move(ri);
  return raw;
}

Instance* Sentinel::CreateSentinel(Master* m, const std::string& ip, int port,
                                   const std::string& runid, Millis now) {
  if (m->sentinels.contains(runid)) return nullptr;
  auto ri = std::make_unique<Instance>();
  ri->kind = Kind::kSentinel;
  ri->master = m;
  ri->name = runid;
  ri->runid = runid;
  ri->ip = ip;
  ri->resolved = Resolve(ip);
  ri->port = port;
  ri->down_after = m->down_after;
  InitInstance(ri.get(), now);
  Instance* raw = ri.get();
  m->sentinels[runid] = std::move(ri);
  return raw;
}

void Sentinel::ReleaseInstance(Instance* ri) {
  // A shared link stays up for its other owners (releaseInstanceLink).
  if (ri->link.use_count() == 1) {
    if (ri->link->cmd_up) ready_.actions.push_back(CloseLink{ri->link->id, LinkKind::kCommand});
    if (ri->link->pubsub_up) ready_.actions.push_back(CloseLink{ri->link->id, LinkKind::kPubsub});
  }
  by_id_.erase(ri->id);
}

InstanceLink* Sentinel::FindLink(InstanceId id) const {
  if (Instance* ri = Find(id); ri != nullptr && ri->link->id == id) return ri->link.get();
  for (const auto& [k, ri] : by_id_) {
    if (ri->link->id == id) return ri->link.get();
  }
  return nullptr;
}

bool Sentinel::TryConnectionSharing(Instance* si) {
  if (si->runid.empty() || si->link.use_count() > 1) return false;
  for (auto& [name, m] : masters_) {
    if (m.get() == si->master) continue;
    auto it = m->sentinels.find(si->runid);
    if (it == m->sentinels.end() || it->second.get() == si) continue;
    ReleaseLinkOnly(si);
    si->link = it->second->link;
    return true;
  }
  return false;
}

void Sentinel::ReleaseLinkOnly(Instance* ri) {
  if (ri->link.use_count() == 1) {
    if (ri->link->cmd_up) ready_.actions.push_back(CloseLink{ri->link->id, LinkKind::kCommand});
    if (ri->link->pubsub_up) ready_.actions.push_back(CloseLink{ri->link->id, LinkKind::kPubsub});
  }
  ri->link = std::make_shared<InstanceLink>();
}

void Sentinel::UpdateSentinelAddressInAllMasters(Instance* si) {
  int reconfigured = 0;
  for (auto& [name, m] : masters_) {
    auto it = m->sentinels.find(si->runid);
    if (it == m->sentinels.end()) continue;
    Instance* match = it->second.get();
    if (match->link->cmd_up)
      ready_.actions.push_back(CloseLink{match->link->id, LinkKind::kCommand});
    if (match->link->pubsub_up)
      ready_.actions.push_back(CloseLink{match->link->id, LinkKind::kPubsub});
    match->link->cmd_up = match->link->pubsub_up = false;
    match->link->pending_commands = 0;
    if (match == si) continue;
    match->ip = si->ip;
    match->resolved = si->resolved;
    match->port = si->port;
    ++reconfigured;
  }
  if (reconfigured > 0) {
    Emit(Level::kNotice, "+sentinel-address-update", si,
         absl::StrCat(reconfigured, " additional matching instances"));
  }
}

void Sentinel::RemoveMaster(const std::string& name) {
  auto it = masters_.find(name);
  if (it == masters_.end()) return;
  Master* m = it->second.get();
  for (auto& [k, r] : m->replicas) ReleaseInstance(r.get());
  for (auto& [k, s] : m->sentinels) ReleaseInstance(s.get());
  ReleaseInstance(m);
  masters_.erase(it);
}

void Sentinel::ResetMaster(Master* m, bool keep_sentinels, Millis now) {
  for (auto& [k, r] : m->replicas) ReleaseInstance(r.get());
  m->replicas.clear();
  if (!keep_sentinels) {
    for (auto& [k, s] : m->sentinels) ReleaseInstance(s.get());
    m->sentinels.clear();
  }
  if (m->link->cmd_up) ready_.actions.push_back(CloseLink{m->link->id, LinkKind::kCommand});
  if (m->link->pubsub_up) ready_.actions.push_back(CloseLink{m->link->id, LinkKind::kPubsub});
  m->link->cmd_up = m->link->pubsub_up = false;
  m->link->pending_commands = 0;
  m->s_down = m->o_down = m->master_down = m->promoted = false;
  m->reconf_sent = m->reconf_inprog = m->reconf_done = m->script_kill_sent = false;
  m->master_reboot = false;
  m->failover_in_progress = m->force_failover = false;
  m->leader.clear();
  m->failover_state = FailoverState::kNone;
  m->failover_state_change_time = 0;
  m->failover_start_time = Master::kLongAgo;  // may fail over again at once
  m->promoted_replica = nullptr;
  m->runid.clear();
  m->slave_master_host.clear();
  m->link->act_ping_time = now;
  m->link->last_ping_time = 0;
  m->link->last_avail_time = now;
  m->link->last_pong_time = now;
  m->role_reported_time = now;
  m->role_master = true;
  m->s_down_since = m->o_down_since = 0;
  m->info_refresh = 0;
  m->info.clear();
}

void Sentinel::ResetMasterAndChangeAddress(Master* m, const std::string& ip, int port, Millis now) {
  std::vector<std::pair<std::string, int>> replicas;
  for (auto& [k, r] : m->replicas) {
    if (SameAddr(*r, ip, port)) continue;
    replicas.emplace_back(r->ip, r->port);
  }
  if (!SameAddr(*m, ip, port)) replicas.emplace_back(m->ip, m->port);
  ResetMaster(m, /*keep_sentinels=*/true, now);
  // The new address is tried at the next timer run, not up to a ping period
  // after the last attempt at the old (often dead) one: act_ping_time was
  // just reset, so a connection made a second late would let its first PONG
  // arrive after down-after and mark the new master down at once (Redis keeps
  // the old attempt's time; on a loaded machine that caused a second failover).
  m->link->last_reconn_time = 0;
  m->ip = ip;
  m->resolved = Resolve(ip);
  m->port = port;
  for (auto& [rip, rport] : replicas) {
    if (Instance* r = CreateReplica(m, rip, rport, now)) Emit(Level::kNotice, "+slave", r, "");
  }
  Flush();
}

void Sentinel::SwitchToPromoted(Master* m, Millis now) {
  const Instance* p = m->promoted_replica;
  if (p == nullptr) return;
  EmitRaw(Level::kWarning, "+switch-master",
          absl::StrCat(m->name, " ", Addr(*m), " ", m->port, " ", Addr(*p), " ", p->port));
  const std::string ip = p->ip;  // copies: the reset frees the replica
  const int port = p->port;
  ResetMasterAndChangeAddress(m, ip, port, now);
}

std::pair<std::string, int> Sentinel::CurrentAddress(const Master& m) const {
  if (m.failover_in_progress && m.promoted_replica != nullptr &&
      m.failover_state >= FailoverState::kReconfSlaves) {
    return {Addr(*m.promoted_replica), m.promoted_replica->port};
  }
  return {Addr(m), m.port};
}

// --- Events ---------------------------------------------------------------

std::string Sentinel::Describe(const Instance& ri) const {
  const char* type = ri.kind == Kind::kMaster    ? "master"
                     : ri.kind == Kind::kReplica ? "slave"
                                                 : "sentinel";
  std::string s = absl::StrCat(type, " ", ri.name, " ", Addr(ri), " ", ri.port);
  if (ri.master != nullptr) {
    absl::StrAppend(&s, " @ ", ri.master->name, " ", Addr(*ri.master), " ", ri.master->port);
  }
  return s;
}

void Sentinel::Emit(Level level, std::string type, const Instance* ri, std::string extra) {
  std::string payload = Describe(*ri);
  if (!extra.empty()) absl::StrAppend(&payload, " ", extra);
  EmitFor(level, std::move(type), ri, std::move(payload));
}

void Sentinel::EmitFor(Level level, std::string type, const Instance* ri, std::string payload) {
  EmitRaw(level, type, payload);
  // The notification script runs for WARNING events that have an instance.
  if (level == Level::kWarning && ri != nullptr) {
    const Master* m = ri->kind == Kind::kMaster ? static_cast<const Master*>(ri) : ri->master;
    if (m != nullptr && !m->notification_script.empty()) {
      ScheduleScript({m->notification_script, type, payload});
    }
  }
}

void Sentinel::EmitRaw(Level level, std::string type, std::string payload) {
  ready_.actions.push_back(Event{level, std::move(type), std::move(payload)});
}

void Sentinel::Log(Level level, std::string text) {
  ready_.actions.push_back(LogLine{level, std::move(text)});
}

std::vector<std::string> Sentinel::Cmd(const Master* m, std::vector<std::string> args) const {
  if (m != nullptr && !args.empty()) {
    auto it = m->renamed.find(base::AsciiLower(args[0]));
    if (it != m->renamed.end()) args[0] = it->second;
  }
  return args;
}

void Sentinel::Send(Instance* ri, ReplyTo to, std::vector<std::vector<std::string>> commands) {
  const Master* m = ri->kind == Kind::kMaster ? static_cast<const Master*>(ri) : ri->master;
  for (auto& c : commands) c = Cmd(m, std::move(c));
  ri->link->pending_commands += static_cast<int>(commands.size());
  ready_.actions.push_back(
      SendCommands{ri->link->id, LinkKind::kCommand, to, std::move(commands), ri->id});
}

// --- Timer ------------------------------------------------------------------

void Sentinel::CheckTiltCondition(Millis now) {
  Millis delta = now - previous_time_;
  if (delta < 0 || delta > timing_.tilt_trigger) {
    tilt_ = true;
    tilt_start_ = now;
    EmitRaw(Level::kWarning, "+tilt", "#tilt mode entered");
  }
  previous_time_ = now;
}

void Sentinel::Tick(Millis now) {
  CheckTiltCondition(now);
  RunPendingScripts(now);
  KillTimedOutScripts(now);
  std::vector<Master*> to_switch;
  for (auto& [name, m] : masters_) {
    HandleInstance(m.get(), now);
    for (auto& [k, r] : m->replicas) HandleInstance(r.get(), now);
    for (auto& [k, s] : m->sentinels) HandleInstance(s.get(), now);
    if (m->failover_state == FailoverState::kUpdateConfig) to_switch.push_back(m.get());
  }
  for (Master* m : to_switch) SwitchToPromoted(m, now);
  hz_ = 10 + static_cast<int>(hz_rng_() % 10);
}

void Sentinel::HandleInstance(Instance* ri, Millis now) {
  Reconnect(ri, now);
  SendPeriodic(ri, now);
  if (tilt_) {
    if (now - tilt_start_ < timing_.tilt_period) return;
    tilt_ = false;
    EmitRaw(Level::kWarning, "-tilt", "#tilt mode exited");
  }
  CheckSubjectivelyDown(ri, now);
  if (ri->kind == Kind::kMaster) {
    Master* m = static_cast<Master*>(ri);
    CheckObjectivelyDown(m, now);
    if (StartFailoverIfNeeded(m, now)) AskOtherSentinels(m, /*forced=*/true, now);
    FailoverStateMachine(m, now);
    AskOtherSentinels(m, /*forced=*/false, now);
  }
}

void Sentinel::Reconnect(Instance* ri, Millis now) {
  if (!ri->disconnected()) return;
  if (ri->port == 0) return;
  if (now - ri->link->last_reconn_time < timing_.ping_period) return;
  ri->link->last_reconn_time = now;
  // A name that did not resolve is tried again at every reconnection.
  if (ri->resolved.empty()) ri->resolved = Resolve(ri->ip);
  if (ri->resolved.empty()) return;
  const Master* m = ri->kind == Kind::kMaster ? static_cast<const Master*>(ri) : ri->master;
  std::string user, pass;
  if (ri->kind == Kind::kSentinel && !sentinel_pass_.empty()) {
    user = sentinel_user_;
    pass = sentinel_pass_;
  } else if (ri->kind == Kind::kSentinel) {
    pass = requirepass_;  // no user: AUTH <password>
  } else {
    user = m->auth_user;
    pass = m->auth_pass;
  }
  std::string id8 = myid_.substr(0, 8);
  if (!ri->link->cmd_up) {
    ri->link->cmd_up = true;
    ri->link->pending_commands = 0;
    ri->link->cmd_conn_time = now;
    ready_.actions.push_back(
        OpenLink{ri->link->id, LinkKind::kCommand, ri->resolved, ri->port, user, pass});
    Send(ri, ReplyTo::kIgnore, {{"CLIENT", "SETNAME", absl::StrCat("sentinel-", id8, "-cmd")}});
    SendPing(ri, now);
  }
  if (ri->kind != Kind::kSentinel && !ri->link->pubsub_up) {
    ri->link->pubsub_up = true;
    ri->link->pubsub_conn_time = now;
    ri->link->pubsub_last_activity = now;
    ready_.actions.push_back(
        OpenLink{ri->link->id, LinkKind::kPubsub, ri->resolved, ri->port, user, pass});
    ready_.actions.push_back(
        SendCommands{ri->link->id,
                     LinkKind::kPubsub,
                     ReplyTo::kIgnore,
                     {Cmd(m, {"CLIENT", "SETNAME", absl::StrCat("sentinel-", id8, "-pubsub")}),
                      Cmd(m, {"SUBSCRIBE", std::string(kHelloChannel)})}});
  }
}

void Sentinel::SendPing(Instance* ri, Millis now) {
  Send(ri, ReplyTo::kPing, {{"PING"}});
  ri->link->last_ping_time = now;
  if (ri->link->act_ping_time == 0) ri->link->act_ping_time = now;
}

void Sentinel::SendPeriodic(Instance* ri, Millis now) {
  if (!ri->link->cmd_up) return;
  // The cap grows with the owners of a shared link, as Redis's.
  if (ri->link->pending_commands >= 100 * ri->link.use_count()) return;
  Millis info_period = timing_.info_period;
  if (ri->kind == Kind::kReplica &&
      (ri->master->o_down || ri->master->failover_in_progress || ri->master_link_down_time != 0)) {
    info_period = 1000;
  }
  Millis ping_period = std::min(ri->down_after, timing_.ping_period);
  if (ri->kind != Kind::kSentinel &&
      (ri->info_refresh == 0 || now - ri->info_refresh > info_period)) {
    Send(ri, ReplyTo::kInfo, {{"INFO"}});
  }
  if (now - ri->link->last_pong_time > ping_period &&
      now - ri->link->last_ping_time > ping_period / 2) {
    SendPing(ri, now);
  }
  if (now - ri->last_pub_time > timing_.publish_period) SendHello(ri, now);
}

bool Sentinel::SendHello(Instance* ri, Millis now) {
  (void)now;
  if (!ri->link->cmd_up) return false;
  Master* m = ri->kind == Kind::kMaster ? static_cast<Master*>(ri) : ri->master;
  auto [mip, mport] = CurrentAddress(*m);
  Hello h;
  h.ip = !announce_ip_.empty() ? announce_ip_ : ri->link->local_ip;
  if (h.ip.empty()) return false;  // the link is not connected yet
  h.port = announce_port_ != 0 ? announce_port_ : port_;
  h.runid = myid_;
  h.current_epoch = current_epoch_;
  h.master_name = m->name;
  h.master_ip = mip;
  h.master_port = mport;
  h.master_config_epoch = m->config_epoch;
  Send(ri, ReplyTo::kPublish, {{"PUBLISH", std::string(kHelloChannel), EncodeHello(h)}});
  return true;
}

void Sentinel::ForceHelloUpdate(Master* m) {
  auto back = [&](Instance* ri) {
    if (ri->last_pub_time >= timing_.publish_period + 1) {
      ri->last_pub_time -= timing_.publish_period + 1;
    } else {
      ri->last_pub_time = 0;
    }
  };
  back(m);
  for (auto& [k, r] : m->replicas) back(r.get());
  for (auto& [k, s] : m->sentinels) back(s.get());
}

// --- Failure detection (§3.1, §3.2) ----------------------------------------

void Sentinel::CheckSubjectivelyDown(Instance* ri, Millis now) {
  Millis elapsed = 0;
  if (ri->link->act_ping_time != 0) {
    elapsed = now - ri->link->act_ping_time;
  } else if (ri->disconnected()) {
    elapsed = now - ri->link->last_avail_time;
  }
  // Link health (§2.7).
  if (ri->link->cmd_up && now - ri->link->cmd_conn_time > timing_.min_link_reconnect_period &&
      ri->link->act_ping_time != 0 && now - ri->link->act_ping_time > ri->down_after / 2 &&
      now - ri->link->last_pong_time > ri->down_after / 2) {
    ready_.actions.push_back(CloseLink{ri->link->id, LinkKind::kCommand});
    ri->link->cmd_up = false;
    ri->link->pending_commands = 0;
  }
  if (ri->link->pubsub_up && now - ri->link->pubsub_conn_time > timing_.min_link_reconnect_period &&
      now - ri->link->pubsub_last_activity > timing_.publish_period * 3) {
    ready_.actions.push_back(CloseLink{ri->link->id, LinkKind::kPubsub});
    ri->link->pubsub_up = false;
  }
  const Master* m = ri->kind == Kind::kMaster ? static_cast<const Master*>(ri) : nullptr;
  bool down = elapsed > ri->down_after ||
              (m != nullptr && !ri->role_master &&
               now - ri->role_reported_time > ri->down_after + timing_.info_period * 2) ||
              (m != nullptr && ri->master_reboot &&
               now - ri->master_reboot_since > m->reboot_down_after_period);
  if (down) {
    if (!ri->s_down) {
      Emit(Level::kWarning, "+sdown", ri, "");
      ri->s_down_since = now;
      ri->s_down = true;
    }
  } else if (ri->s_down) {
    Emit(Level::kWarning, "-sdown", ri, "");
    ri->s_down = false;
    ri->script_kill_sent = false;
  }
}

void Sentinel::CheckObjectivelyDown(Master* m, Millis now) {
  int quorum = 0;
  bool odown = false;
  if (m->s_down) {
    quorum = 1;
    for (auto& [k, s] : m->sentinels) {
      if (s->master_down) ++quorum;
    }
    if (quorum >= m->quorum) odown = true;
  }
  if (odown) {
    if (!m->o_down) {
      Emit(Level::kWarning, "+odown", m, absl::StrCat("#quorum ", quorum, "/", m->quorum));
      m->o_down = true;
      m->o_down_since = now;
    }
  } else if (m->o_down) {
    Emit(Level::kWarning, "-odown", m, "");
    m->o_down = false;
  }
}

void Sentinel::AskOtherSentinels(Master* m, bool forced, Millis now) {
  for (auto& [k, s] : m->sentinels) {
    Instance* ri = s.get();
    Millis elapsed = now - ri->last_master_down_reply_time;
    if (elapsed > timing_.ask_period * 5) {
      ri->master_down = false;
      ri->leader.clear();
    }
    if (!m->s_down) continue;
    if (ri->disconnected()) continue;
    if (!forced && elapsed < timing_.ask_period) continue;
    auto [ip, port] = std::pair{Addr(*m), m->port};
    Send(
        ri, ReplyTo::kIsMasterDown,
        {{"SENTINEL", "is-master-down-by-addr", ip, std::to_string(port),
          std::to_string(current_epoch_), m->failover_state > FailoverState::kNone ? myid_ : "*"}});
  }
}

// --- Votes and election (§3.3, §3.4) ---------------------------------------

std::string Sentinel::VoteLeader(Master* m, uint64_t req_epoch, const std::string& req_runid,
                                 uint64_t* leader_epoch, Millis now) {
  if (req_epoch > current_epoch_) {
    current_epoch_ = req_epoch;
    Flush();
    EmitFor(Level::kWarning, "+new-epoch", m, std::to_string(current_epoch_));
  }
  if (m->leader_epoch < req_epoch && current_epoch_ <= req_epoch) {
    m->leader = req_runid;
    m->leader_epoch = current_epoch_;
    Flush();
    EmitFor(Level::kWarning, "+vote-for-leader", m, absl::StrCat(m->leader, " ", m->leader_epoch));
    if (req_runid != myid_) {
      m->failover_start_time = now + static_cast<Millis>(rng_() % 1000);
    }
  }
  *leader_epoch = m->leader_epoch;
  return m->leader;
}

std::string Sentinel::GetLeader(Master* m, uint64_t epoch, Millis now) {
  std::map<std::string, int> counters;
  int voters = static_cast<int>(m->sentinels.size()) + 1;
  // The other sentinels' votes in the election's own epoch. Redis 7.0.15
  // counts those in its current epoch instead, which another master's
  // failover may have moved on: a sentinel whose failover of this master
  // started in epoch E then "wins" E on votes given in E+1 (asked in its
  // current epoch), beside the sentinel elected in E by E's votes, and two
  // replicas are promoted under one config epoch (found by the sentinel
  // sweep, two masters: the deployment never converged).
  for (auto& [k, s] : m->sentinels) {
    if (!s->leader.empty() && s->leader_epoch == epoch) counters[s->leader]++;
  }
  std::string winner;
  int max_votes = 0;
  for (auto& [runid, votes] : counters) {
    if (votes > max_votes) {
      max_votes = votes;
      winner = runid;
    }
  }
  uint64_t leader_epoch = 0;
  std::string myvote = VoteLeader(m, epoch, winner.empty() ? myid_ : winner, &leader_epoch, now);
  if (!myvote.empty() && leader_epoch == epoch) {
    int votes = ++counters[myvote];
    if (votes > max_votes) {
      max_votes = votes;
      winner = myvote;
    }
  }
  int voters_quorum = voters / 2 + 1;
  if (!winner.empty() && (max_votes < voters_quorum || max_votes < m->quorum)) winner.clear();
  return winner;
}

// --- Failover (§3.5 - §3.9) -------------------------------------------------

bool Sentinel::StartFailoverIfNeeded(Master* m, Millis now) {
  if (!m->o_down) return false;
  if (m->failover_in_progress) return false;
  if (now - m->failover_start_time < m->failover_timeout * 2) {
    if (m->failover_delay_logged != m->failover_start_time) {
      m->failover_delay_logged = m->failover_start_time;
      // ctime(3) of the wall-clock moment, without its newline, as Redis.
      const time_t clock = static_cast<time_t>(
          (m->failover_start_time + m->failover_timeout * 2 + wall_offset) / 1000);
      char buf[32] = {};
      ctime_r(&clock, buf);
      buf[24] = '\0';
      Log(Level::kWarning,
          absl::StrCat("Next failover delay: I will not start a failover before ", buf));
    }
    return false;
  }
  StartFailover(m, now);
  return true;
}

void Sentinel::StartFailover(Master* m, Millis now) {
  m->failover_state = FailoverState::kWaitStart;
  m->failover_in_progress = true;
  m->failover_epoch = ++current_epoch_;
  EmitFor(Level::kWarning, "+new-epoch", m, std::to_string(current_epoch_));
  Emit(Level::kWarning, "+try-failover", m, "");
  m->failover_start_time = now + static_cast<Millis>(rng_() % 1000);
  m->failover_state_change_time = now;
}

void Sentinel::AbortFailover(Master* m, Millis now) {
  m->failover_in_progress = false;
  m->force_failover = false;
  m->failover_state = FailoverState::kNone;
  m->failover_state_change_time = now;
  if (m->promoted_replica != nullptr) {
    m->promoted_replica->promoted = false;
    m->promoted_replica = nullptr;
  }
}

void Sentinel::FailoverStateMachine(Master* m, Millis now) {
  if (!m->failover_in_progress) return;
  switch (m->failover_state) {
    case FailoverState::kWaitStart:
      FailoverWaitStart(m, now);
      break;
    case FailoverState::kSelectSlave:
      FailoverSelectSlave(m, now);
      break;
    case FailoverState::kSendSlaveofNoone:
      FailoverSendSlaveofNoone(m, now);
      break;
    case FailoverState::kWaitPromotion:
      if (now - m->failover_state_change_time > m->failover_timeout) {
        Emit(Level::kWarning, "-failover-abort-slave-timeout", m, "");
        AbortFailover(m, now);
      }
      break;
    case FailoverState::kReconfSlaves:
      FailoverReconfSlaves(m, now);
      break;
    case FailoverState::kNone:
    case FailoverState::kUpdateConfig:
      break;
  }
}

void Sentinel::FailoverWaitStart(Master* m, Millis now) {
  std::string leader = GetLeader(m, m->failover_epoch, now);
  bool is_leader = leader == myid_;
  if (!is_leader && !m->force_failover) {
    Millis election_timeout = std::min(timing_.election_timeout, m->failover_timeout);
    if (now - m->failover_start_time > election_timeout) {
      Emit(Level::kWarning, "-failover-abort-not-elected", m, "");
      AbortFailover(m, now);
    }
    return;
  }
  Emit(Level::kWarning, "+elected-leader", m, "");
  if (simfailure_ & 1) {
    Log(Level::kWarning, "Sentinel CRASH because of SENTINEL simulate-failure");
    ready_.actions.push_back(Exit{99});
    return;
  }
  m->failover_state = FailoverState::kSelectSlave;
  m->failover_state_change_time = now;
  Emit(Level::kWarning, "+failover-state-select-slave", m, "");
}

Instance* Sentinel::SelectReplica(Master* m, Millis now) const {
  std::vector<Instance*> candidates;
  Millis max_master_down_time = 0;
  if (m->s_down) max_master_down_time += now - m->s_down_since;
  max_master_down_time += m->down_after * 10;
  for (auto& [k, r] : m->replicas) {
    Instance* ri = r.get();
    if (ri->s_down || ri->o_down) continue;
    if (ri->disconnected()) continue;
    if (now - ri->link->last_avail_time > timing_.ping_period * 5) continue;
    if (ri->slave_priority == 0) continue;
    Millis info_validity = m->s_down ? timing_.ping_period * 5 : timing_.info_period * 3;
    if (now - ri->info_refresh > info_validity) continue;
    if (ri->master_link_down_time > max_master_down_time) continue;
    candidates.push_back(ri);
  }
  if (candidates.empty()) return nullptr;
  std::sort(candidates.begin(), candidates.end(), [](const Instance* a, const Instance* b) {
    if (a->slave_priority != b->slave_priority) return a->slave_priority < b->slave_priority;
    if (a->slave_repl_offset != b->slave_repl_offset) {
      return a->slave_repl_offset > b->slave_repl_offset;
    }
    if (a->runid.empty() != b->runid.empty()) return !a->runid.empty();
    return strcasecmp(a->runid.c_str(), b->runid.c_str()) < 0;
  });
  return candidates.front();
}

void Sentinel::FailoverSelectSlave(Master* m, Millis now) {
  Instance* r = SelectReplica(m, now);
  if (r == nullptr) {
    Emit(Level::kWarning, "-failover-abort-no-good-slave", m, "");
    AbortFailover(m, now);
    return;
  }
  Emit(Level::kWarning, "+selected-slave", r, "");
  r->promoted = true;
  m->promoted_replica = r;
  m->failover_state = FailoverState::kSendSlaveofNoone;
  m->failover_state_change_time = now;
  Emit(Level::kNotice, "+failover-state-send-slaveof-noone", r, "");
}

void Sentinel::SendSlaveOf(Instance* ri, const std::string& host, int port) {
  std::vector<std::string> slaveof =
      host.empty() ? std::vector<std::string>{"SLAVEOF", "NO", "ONE"}
                   : std::vector<std::string>{"SLAVEOF", host, std::to_string(port)};
  Send(ri, ReplyTo::kIgnore,
       {{"MULTI"},
        slaveof,
        {"CONFIG", "REWRITE"},
        {"CLIENT", "KILL", "TYPE", "normal"},
        {"CLIENT", "KILL", "TYPE", "pubsub"},
        {"EXEC"}});
}

void Sentinel::FailoverSendSlaveofNoone(Master* m, Millis now) {
  Instance* p = m->promoted_replica;
  if (p->disconnected()) {
    if (now - m->failover_state_change_time > m->failover_timeout) {
      Emit(Level::kWarning, "-failover-abort-slave-timeout", m, "");
      AbortFailover(m, now);
    }
    return;
  }
  SendSlaveOf(p, "", 0);
  Emit(Level::kNotice, "+failover-state-wait-promotion", p, "");
  m->failover_state = FailoverState::kWaitPromotion;
  m->failover_state_change_time = now;
}

void Sentinel::FailoverReconfSlaves(Master* m, Millis now) {
  int in_progress = 0;
  for (auto& [k, r] : m->replicas) {
    if (r->reconf_sent || r->reconf_inprog) ++in_progress;
  }
  Instance* p = m->promoted_replica;
  for (auto& [k, r] : m->replicas) {
    if (in_progress >= m->parallel_syncs) break;
    Instance* ri = r.get();
    if (ri->promoted || ri->reconf_done) continue;
    if (ri->reconf_sent && now - ri->slave_reconf_sent_time > timing_.slave_reconf_timeout) {
      Emit(Level::kNotice, "-slave-reconf-sent-timeout", ri, "");
      ri->reconf_sent = false;
      ri->reconf_done = true;
    }
    if (ri->reconf_sent || ri->reconf_inprog) continue;
    if (ri->disconnected()) continue;
    SendSlaveOf(ri, Addr(*p), p->port);
    ri->reconf_sent = true;
    ri->slave_reconf_sent_time = now;
    Emit(Level::kNotice, "+slave-reconf-sent", ri, "");
    ++in_progress;
  }
  CheckFailoverEnd(m, now);
}

void Sentinel::CheckFailoverEnd(Master* m, Millis now) {
  Instance* p = m->promoted_replica;
  if (p == nullptr || p->s_down) return;
  int not_reconfigured = 0;
  for (auto& [k, r] : m->replicas) {
    if (!r->promoted && !r->reconf_done && !r->s_down) ++not_reconfigured;
  }
  bool timeout = false;
  if (now - m->failover_state_change_time > m->failover_timeout) {
    not_reconfigured = 0;
    timeout = true;
    Emit(Level::kWarning, "+failover-end-for-timeout", m, "");
  }
  if (not_reconfigured != 0) return;
  Emit(Level::kWarning, "+failover-end", m, "");
  m->failover_state = FailoverState::kUpdateConfig;
  m->failover_state_change_time = now;
  if (!timeout) return;
  // Best effort: point every remaining replica at the promoted one.
  for (auto& [k, r] : m->replicas) {
    Instance* ri = r.get();
    if (ri->promoted || ri->reconf_done || ri->reconf_sent) continue;
    if (ri->disconnected()) continue;
    SendSlaveOf(ri, Addr(*p), p->port);
    Emit(Level::kNotice, "+slave-reconf-sent-be", ri, "");
    ri->reconf_sent = true;
  }
}

// --- Scripts (§3.12) ---------------------------------------------------------

void Sentinel::ScheduleScript(std::vector<std::string> argv) {
  scripts_.push_back({next_script_job_++, std::move(argv)});
  if (scripts_.size() <= 256) return;
  // Too many: drop the oldest job that is not running.
  for (auto it = scripts_.begin(); it != scripts_.end(); ++it) {
    if (!it->running) {
      scripts_.erase(it);
      break;
    }
  }
}

void Sentinel::RunPendingScripts(Millis now) {
  for (ScriptJob& j : scripts_) {
    if (running_scripts_ >= 16) break;
    if (j.running) continue;
    if (j.start_time != 0 && j.start_time > now) continue;
    j.running = true;
    j.start_time = now;
    ++j.retry_num;
    ++running_scripts_;
    ready_.actions.push_back(RunScript{j.id, j.argv});
  }
}

void Sentinel::OnScriptStarted(uint64_t job, int64_t pid, Millis now) {
  (void)now;
  for (ScriptJob& j : scripts_) {
    if (j.id != job) continue;
    if (pid == -1) {
      EmitRaw(Level::kWarning, "-script-error", absl::StrCat(j.argv[0], " 99 0"));
      j.running = false;
      j.pid = 0;
      --running_scripts_;
    } else {
      j.pid = pid;
      EmitRaw(Level::kDebug, "+script-child", std::to_string(pid));
    }
    return;
  }
}

void Sentinel::OnScriptExit(int64_t pid, int exit_code, int signal, Millis now) {
  EmitRaw(Level::kDebug, "-script-child", absl::StrCat(pid, " ", exit_code, " ", signal));
  for (auto it = scripts_.begin(); it != scripts_.end(); ++it) {
    if (!it->running || it->pid != pid) continue;
    --running_scripts_;
    if ((signal != 0 || exit_code == 1) && it->retry_num != 10) {
      // Retry after 30 s, 60 s, 120 s... (script-retry-delay doubling).
      Millis delay = timing_.script_retry_delay;
      for (int r = it->retry_num; r > 1; --r) delay *= 2;
      it->running = false;
      it->pid = 0;
      it->start_time = now + delay;
    } else {
      if (signal != 0 || exit_code != 0) {
        EmitRaw(Level::kWarning, "-script-error",
                absl::StrCat(it->argv[0], " ", signal, " ", exit_code));
      }
      scripts_.erase(it);
    }
    return;
  }
  Log(Level::kWarning, absl::StrCat("waitpid() returned a pid (", pid,
                                    ") we can't find in our scripts execution queue!"));
}

void Sentinel::KillTimedOutScripts(Millis now) {
  for (ScriptJob& j : scripts_) {
    if (j.running && j.pid > 0 && now - j.start_time > timing_.script_max_runtime) {
      EmitRaw(Level::kWarning, "-script-timeout", absl::StrCat(j.argv[0], " ", j.pid));
      ready_.actions.push_back(KillScript{j.pid});
    }
  }
}

// --- Links and replies ------------------------------------------------------

void Sentinel::OnLinkUp(InstanceId id, LinkKind kind, const std::string& local_ip, Millis now) {
  (void)now;
  InstanceLink* link = FindLink(id);
  if (link == nullptr) return;
  if (kind == LinkKind::kCommand) link->local_ip = local_ip;
}

void Sentinel::OnLinkDown(InstanceId id, LinkKind kind, Millis now) {
  (void)now;
  InstanceLink* link = FindLink(id);
  if (link == nullptr) return;
  if (kind == LinkKind::kCommand) {
    link->cmd_up = false;
    link->pending_commands = 0;
  } else {
    link->pubsub_up = false;
  }
}

void Sentinel::OnReply(InstanceId id, ReplyTo to, const Reply& reply, Millis now) {
  // `id` is the instance that sent the command (its link may be shared).
  Instance* ri = Find(id);
  if (ri == nullptr || !ri->link->cmd_up) return;
  if (ri->link->pending_commands > 0) --ri->link->pending_commands;
  switch (to) {
    case ReplyTo::kIgnore:
      break;
    case ReplyTo::kPing:
      OnPingReply(ri, reply, now);
      break;
    case ReplyTo::kInfo:
      if (reply.type == Reply::Type::kBulk) OnInfo(ri, reply.str, now);
      break;
    case ReplyTo::kPublish:
      if (!reply.is_error()) ri->last_pub_time = now;
      break;
    case ReplyTo::kIsMasterDown:
      OnIsMasterDownReply(ri, reply, now);
      break;
  }
}

void Sentinel::OnPingReply(Instance* ri, const Reply& r, Millis now) {
  if (r.type == Reply::Type::kStatus || r.type == Reply::Type::kError) {
    std::string_view s = r.str;
    if (s.starts_with("PONG") || s.starts_with("LOADING") || s.starts_with("MASTERDOWN")) {
      ri->link->last_avail_time = now;
      ri->link->act_ping_time = 0;
      if (ri->master_reboot && s.starts_with("PONG")) ri->master_reboot = false;
    } else if (s.starts_with("BUSY") && ri->s_down && !ri->script_kill_sent) {
      Send(ri, ReplyTo::kIgnore, {{"SCRIPT", "KILL"}});
      ri->script_kill_sent = true;
    }
  }
  ri->link->last_pong_time = now;
}

void Sentinel::OnIsMasterDownReply(Instance* ri, const Reply& r, Millis now) {
  if (r.type != Reply::Type::kArray || r.elements.size() != 3 ||
      r.elements[0].type != Reply::Type::kInteger || r.elements[1].type != Reply::Type::kBulk ||
      r.elements[2].type != Reply::Type::kInteger) {
    return;
  }
  ri->last_master_down_reply_time = now;
  ri->master_down = r.elements[0].integer == 1;
  if (r.elements[1].str != "*") {
    uint64_t epoch = static_cast<uint64_t>(r.elements[2].integer);
    if (ri->leader_epoch != epoch) {
      Log(Level::kWarning, absl::StrCat(ri->name, " voted for ", r.elements[1].str, " ", epoch));
    }
    ri->leader = r.elements[1].str;
    ri->leader_epoch = epoch;
  }
}

void Sentinel::OnInfo(Instance* ri, const std::string& info, Millis now) {
  ri->info = info;
  ri->master_link_down_time = 0;
  enum { kNoRole, kRoleMaster, kRoleSlave } role = kNoRole;
  for (absl::string_view al : absl::StrSplit(info, "\r\n")) {
    std::string_view l = base::ToStd(al);
    if (l.size() >= 47 && l.starts_with("run_id:")) {
      std::string id(l.substr(7, 40));
      if (ri->runid.empty()) {
        ri->runid = id;
      } else if (ri->runid != id) {
        Emit(Level::kNotice, "+reboot", ri, "");
        if (ri->kind == Kind::kMaster && static_cast<Master*>(ri)->reboot_down_after_period != 0) {
          ri->master_reboot = true;
          ri->master_reboot_since = now;
        }
        ri->runid = id;
      }
    }
    if (ri->kind == Kind::kMaster && l.size() >= 7 && l.starts_with("slave") &&
        std::isdigit(static_cast<unsigned char>(l[5]))) {
      std::string ip, port;
      if (l.find("ip=") == std::string_view::npos) {
        size_t colon = l.find(':');
        if (colon == std::string_view::npos) continue;
        std::vector<std::string> parts = absl::StrSplit(base::ToAbsl(l.substr(colon + 1)), ',');
        if (parts.size() < 3) continue;
        ip = parts[0];
        port = parts[1];
      } else {
        size_t i = l.find("ip=");
        size_t p = l.find("port=");
        if (p == std::string_view::npos) continue;
        std::string_view ipv = l.substr(i + 3);
        ip = std::string(ipv.substr(0, ipv.find(',')));
        std::string_view pv = l.substr(p + 5);
        port = std::string(pv.substr(0, pv.find(',')));
      }
      Master* m = static_cast<Master*>(ri);
      int portn = static_cast<int>(AtoI(port));
      if (Instance* r = CreateReplica(m, ip, portn, now)) {
        Emit(Level::kNotice, "+slave", r, "");
        Flush();
      }
    }
    if (l.size() >= 32 && l.starts_with("master_link_down_since_seconds")) {
      ri->master_link_down_time = AtoI(l.substr(31)) * 1000;
    }
    if (l.starts_with("role:master")) {
      role = kRoleMaster;
    } else if (l.starts_with("role:slave")) {
      role = kRoleSlave;
    }
    if (role == kRoleSlave) {
      if (l.starts_with("master_host:")) {
        std::string host(l.substr(12));
        if (ri->slave_master_host.empty() || !base::EqualsIgnoreCase(host, ri->slave_master_host)) {
          ri->slave_master_host = host;
          ri->slave_conf_change_time = now;
        }
      }
      if (l.starts_with("master_port:")) {
        int p = static_cast<int>(AtoI(l.substr(12)));
        if (ri->slave_master_port != p) {
          ri->slave_master_port = p;
          ri->slave_conf_change_time = now;
        }
      }
      if (l.starts_with("master_link_status:")) {
        ri->slave_master_link_up = base::EqualsIgnoreCase(l.substr(19), "up");
      }
      if (l.starts_with("slave_priority:")) ri->slave_priority = AtoI(l.substr(15));
      if (l.starts_with("slave_repl_offset:")) ri->slave_repl_offset = AtoI(l.substr(18));
      if (l.starts_with("replica_announced:")) ri->replica_announced = AtoI(l.substr(18)) != 0;
    }
  }
  ri->info_refresh = now;

  // Redis keeps "no role line" as a third value: it is neither role.
  bool reported_master = role == kRoleMaster;
  bool reported_known = role != kNoRole;
  bool changed = !reported_known || reported_master != ri->role_master;
  if (reported_known && changed) {
    ri->role_reported_time = now;
    ri->role_master = reported_master;
    if (!reported_master) ri->slave_conf_change_time = now;
    bool matches = (ri->kind == Kind::kMaster) == reported_master;
    Emit(Level::kVerbose, matches ? "+role-change" : "-role-change", ri,
         absl::StrCat("new reported role is ", reported_master ? "master" : "slave"));
  }
  if (tilt_) return;
  if (ri->kind != Kind::kReplica) return;
  Master* m = ri->master;
  auto no_down_for = [&](Millis ms) {
    Millis most_recent = std::max(ri->s_down_since, ri->o_down_since);
    return most_recent == 0 || now - most_recent > ms;
  };
  auto master_sane = [&] {
    return m->role_master && !m->s_down && !m->o_down &&
           now - m->info_refresh < timing_.info_period * 2;
  };
  if (role == kRoleMaster) {
    if (ri->promoted && m->failover_in_progress &&
        m->failover_state == FailoverState::kWaitPromotion) {
      m->config_epoch = m->failover_epoch;
      m->failover_state = FailoverState::kReconfSlaves;
      m->failover_state_change_time = now;
      Flush();
      Emit(Level::kWarning, "+promoted-slave", ri, "");
      if (simfailure_ & 2) {
        Log(Level::kWarning, "Sentinel CRASH because of SENTINEL simulate-failure");
        ready_.actions.push_back(Exit{99});
        return;
      }
      Emit(Level::kWarning, "+failover-state-reconf-slaves", m, "");
      if (!m->client_reconfig_script.empty()) {
        ScheduleScript({m->client_reconfig_script, m->name, "leader", "start", Addr(*m),
                        std::to_string(m->port), Addr(*ri), std::to_string(ri->port)});
      }
      ForceHelloUpdate(m);
    } else {
      Millis wait_time = timing_.publish_period * 4;
      if (!ri->promoted && master_sane() && no_down_for(wait_time) &&
          now - ri->role_reported_time > wait_time) {
        SendSlaveOf(ri, Addr(*m), m->port);
        Emit(Level::kNotice, "+convert-to-slave", ri, "");
      }
    }
  }
  if (role == kRoleSlave && !SameAddr(*m, ri->slave_master_host, ri->slave_master_port)) {
    Millis wait_time = m->failover_timeout;
    if (master_sane() && no_down_for(wait_time) && now - ri->slave_conf_change_time > wait_time) {
      SendSlaveOf(ri, Addr(*m), m->port);
      Emit(Level::kNotice, "+fix-slave-config", ri, "");
    }
  }
  if (role == kRoleSlave && (ri->reconf_sent || ri->reconf_inprog) &&
      m->promoted_replica != nullptr) {
    Instance* p = m->promoted_replica;
    if (ri->reconf_sent && !ri->slave_master_host.empty() &&
        SameAddr(*p, ri->slave_master_host, ri->slave_master_port)) {
      ri->reconf_sent = false;
      ri->reconf_inprog = true;
      Emit(Level::kNotice, "+slave-reconf-inprog", ri, "");
    }
    if (ri->reconf_inprog && ri->slave_master_link_up) {
      ri->reconf_inprog = false;
      ri->reconf_done = true;
      Emit(Level::kNotice, "+slave-reconf-done", ri, "");
    }
  }
}

void Sentinel::OnPubsubMessage(InstanceId id, const std::string& channel,
                               const std::string& payload, Millis now) {
  Instance* ri = Find(id);
  if (ri == nullptr) return;
  ri->link->pubsub_last_activity = now;
  if (channel != kHelloChannel) return;
  ProcessHello(payload, now);
}

void Sentinel::ProcessHello(const std::string& payload, Millis now) {
  if (payload.find(myid_) != std::string::npos) return;
  std::optional<Hello> h = DecodeHello(payload);
  if (!h) return;
  Master* m = FindMaster(h->master_name);
  if (m == nullptr) return;
  Instance* si = nullptr;
  for (auto& [k, s] : m->sentinels) {
    if (s->ip == h->ip && s->port == h->port && s->runid == h->runid) si = s.get();
  }
  if (si == nullptr) {
    bool address_switch = false;
    // The same runid at another address: the sentinel moved.
    auto same_runid = m->sentinels.find(h->runid);
    if (same_runid != m->sentinels.end()) {
      ReleaseInstance(same_runid->second.get());
      m->sentinels.erase(same_runid);
      EmitRaw(Level::kNotice, "+sentinel-address-switch",
              absl::StrCat("master ", m->name, " ", Addr(*m), " ", m->port, " ip ", h->ip, " port ",
                           h->port, " for ", h->runid));
      address_switch = true;
    } else {
      // Another runid at this address: that sentinel was replaced.
      std::string old_runid;
      for (auto& [k, s] : m->sentinels) {
        if (s->ip == h->ip && s->port == h->port) {
          Emit(Level::kNotice, "+sentinel-invalid-addr", s.get(), "");
          old_runid = s->runid;
        }
      }
      if (!old_runid.empty()) {
        for (auto& [n, mm] : masters_) {
          auto it = mm->sentinels.find(old_runid);
          if (it == mm->sentinels.end()) continue;
          ReleaseInstance(it->second.get());
          mm->sentinels.erase(it);
        }
      }
    }
    si = CreateSentinel(m, h->ip, h->port, h->runid, now);
    if (si != nullptr) {
      if (!address_switch) Emit(Level::kNotice, "+sentinel", si, "");
      TryConnectionSharing(si);
      if (address_switch) UpdateSentinelAddressInAllMasters(si);
      Flush();
    }
  }
  if (h->current_epoch > current_epoch_) {
    current_epoch_ = h->current_epoch;
    Flush();
    EmitFor(Level::kWarning, "+new-epoch", m, std::to_string(current_epoch_));
  }
  // Beyond Redis 7.0.15: a hello naming another address under my own
  // config epoch is a conflict that epochs cannot settle (an unelected
  // SENTINEL FAILOVER in a minority partition takes the epoch that an
  // election took meanwhile; Redis's sentinels then convert each other's
  // primaries back and forth for good, as the sentinel sweep found). The
  // lower address wins, the same choice at every sentinel, so they all end
  // on the lowest address announced under the highest epoch.
  const std::pair<std::string, int> mine = CurrentAddress(*m);
  const bool tie_lost = m->config_epoch == h->master_config_epoch && m->config_epoch > 0 &&
                        std::pair<std::string, int>(h->master_ip, h->master_port) < mine;
  if (m->config_epoch < h->master_config_epoch || tie_lost) {
    if (tie_lost) {
      Log(Level::kWarning,
          absl::StrCat("configEpoch ", m->config_epoch, " of ", m->name, " names ", h->master_ip,
                       ":", h->master_port, " at another sentinel and ", mine.first, ":",
                       mine.second, " here: the lower address is kept"));
    }
    m->config_epoch = h->master_config_epoch;
    // Beyond Redis 7.0.15: a failover of mine still running is superseded
    // by the newer config even when that names the address I fail over
    // from (a later failover promoted it back). Redis lets mine run on and
    // end by switching to my promoted replica under the newer epoch: two
    // sentinels then name two primaries with one epoch, for good (the
    // sentinel sweep's seed 1154).
    if (SameAddr(*m, h->master_ip, h->master_port) && m->failover_in_progress) {
      Log(Level::kWarning, absl::StrCat("Failover of ", m->name, " superseded by configEpoch ",
                                        m->config_epoch, " from another sentinel"));
      ResetMasterAndChangeAddress(m, h->master_ip, h->master_port, now);
    } else if (!SameAddr(*m, h->master_ip, h->master_port)) {
      if (si != nullptr) Emit(Level::kWarning, "+config-update-from", si, "");
      std::string old_ip = Addr(*m);
      int old_port = m->port;
      EmitRaw(Level::kWarning, "+switch-master",
              absl::StrCat(m->name, " ", old_ip, " ", old_port, " ", h->master_ip, " ",
                           h->master_port));
      ResetMasterAndChangeAddress(m, h->master_ip, h->master_port, now);
      if (!m->client_reconfig_script.empty()) {
        ScheduleScript({m->client_reconfig_script, m->name, "observer", "start", old_ip,
                        std::to_string(old_port), Addr(*m), std::to_string(m->port)});
      }
    }
  }
  if (si != nullptr) si->last_hello_time = now;
}

}  // namespace shardnode::sentinel
