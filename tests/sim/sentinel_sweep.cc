#include "tests/sim/sentinel_sweep.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/split_args.h"
#include "sentinel/sentinel.h"

namespace shardnode::sim {
namespace {

using sentinel::InstanceId;
using sentinel::LinkKind;
using sentinel::Reply;
using sentinel::ReplyTo;
using sentinel::Sentinel;
using Args = std::vector<std::string>;

constexpr char kMaster[] = "mymaster";
constexpr int kInstancePort = 6379;
constexpr int kSentinelPort = 26379;
constexpr int64_t kCheckMs = 100;
constexpr int64_t kConnectTimeoutMs = 1000;  // an unreachable address
constexpr int64_t kConvergeBoundMs = 240000;
constexpr int64_t kRetransmitMs = 200;

// A simulated redis-server: its role persists across restarts (the
// sentinel's SLAVEOF comes with CONFIG REWRITE).
struct RedisInstance {
  bool alive = true;
  int primary = -1;  // endpoint it replicates; -1: a primary
  std::string runid;
  int64_t offset = 0;
  bool link_up = false;
  int64_t link_down_since = 0;
  int group = 0;       // the master (monitored name) it belongs to
  int priority = 100;  // replica-priority: 0 never promoted
};

// A sentinel process and the config lines it last saved.
struct SentinelProcess {
  std::unique_ptr<Sentinel> core;
  std::string myid;
  std::vector<Args> saved;
  uint64_t tick_gen = 0;  // a restart cancels the old process's ticks
  // Its machine's clock minus the simulated time (clock jumps; kept across
  // restarts).
  int64_t clock = 0;
  // Its scripts' children that have not ended, by pid.
  struct Child {
    bool hangs = false;   // runs until killed
    int64_t started = 0;  // simulated time
  };
  std::map<int64_t, Child> children;
};

// One connection of a sentinel to an endpoint (an instance or a sentinel).
struct Link {
  int endpoint = -1;
  uint64_t gen = 0;
  bool up = false;
  bool subscribed = false;
  bool in_multi = false;
  std::vector<Args> queued;
  // Sent while connecting: go out once connected (as hiredis buffers them).
  std::vector<sentinel::SendCommands> pending;
  // Per direction (0: to the endpoint, 1: back): messages sent and
  // delivered (in order), and the last delivery time.
  uint64_t sent[2] = {0, 0};
  uint64_t done[2] = {0, 0};
  int64_t at[2] = {0, 0};
};
using LinkKey = std::tuple<int, InstanceId, int>;  // sentinel, instance handle, kind

class SentinelSweep {
 public:
  SentinelSweep(uint64_t seed, const SentinelSweepConfig& config)
      : seed_(seed), config_(config), rng_(seed * 0x2545f4914f6cdd1dULL + 99) {}

  SentinelSweepResult Run();

 private:
  template <typename... Args2>
  void Note(const Args2&... args) {
    if (config_.verbose) {
      std::fprintf(stderr, "[%lld] %s\n", static_cast<long long>(now_),
                   absl::StrCat(args...).c_str());
    }
  }
  void Fail(const std::string& what) {
    if (!result_.ok) return;
    result_.ok = false;
    result_.failure = absl::StrCat("t=", now_, "ms: ", what);
  }
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string Hex40() {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s(40, '0');
    for (char& c : s) c = kHex[Uniform(0, 15)];
    return s;
  }

  bool IsSentinel(int e) const { return e < s_; }
  std::string Ip(int e) const {
    return IsSentinel(e) ? absl::StrCat("10.0.2.", e + 1) : absl::StrCat("10.0.1.", e - s_ + 1);
  }
  int Endpoint(const std::string& host, int port) const {
    for (int e = 0; e < s_ + n_; ++e) {
      if (Ip(e) == host && port == (IsSentinel(e) ? kSentinelPort : kInstancePort)) return e;
    }
    return -1;
  }
  bool Alive(int e) const {
    return IsSentinel(e) ? sentinels_[e].core != nullptr : instances_[e - s_].alive;
  }
  bool CanTalk(int a, int b) const { return Alive(a) && Alive(b) && group_[a] == group_[b]; }
  RedisInstance& Inst(int e) { return instances_[e - s_]; }
  const RedisInstance& Inst(int e) const { return instances_[e - s_]; }
  int64_t Delay() { return Uniform(1, 20); }
  // What sentinel s's machine clock reads now.
  int64_t Clock(int s) const { return now_ + sentinels_[s].clock; }
  // The monitored master whose name is `name`; -1 when none.
  int GroupOf(std::string_view name) const {
    for (size_t k = 0; k < names_.size(); ++k) {
      if (names_[k] == name) return static_cast<int>(k);
    }
    return -1;
  }

  void Schedule(int64_t at, std::function<void()> fn) {
    queue_.push(Event{at, seq_++, std::move(fn)});
  }
  void RunUntil(int64_t end);
  void ScheduleTick(int s);
  void StartSentinel(int s, bool fresh);
  void KillSentinel(int s);
  void KillInstance(int e);
  void RestartInstance(int e);
  void Drain(int s);
  void Deliver(int s, const LinkKey& key, const sentinel::SendCommands& send);
  void Transmit(const LinkKey& key, int dir, std::function<void()> deliver);
  void Attempt(const LinkKey& key, uint64_t gen, int dir, uint64_t n,
               const std::function<void()>& deliver);
  void BreakLink(const LinkKey& key);
  void ResetLink(const LinkKey& key, uint64_t gen);
  Reply Execute(int s, const LinkKey& key, Link& link, const Args& cmd);
  Reply ExecuteOnInstance(int s, const LinkKey& key, Link& link, const Args& cmd);
  std::string InfoText(int e) const;
  void WorldTick();
  void RandomFault();
  // The extended scenario's faults: a clock jump, SENTINEL FAILOVER.
  void OperatorFault(int kind);
  void RunScript(int s, const sentinel::RunScript& run);
  void KillScript(int s, int64_t pid);
  void OnEvent(int s, const sentinel::Event& ev);
  void CheckVotes(int s);
  // Empty when converged, else what is not.
  std::string NotConverged() const;
  std::string NotConverged(int group) const;

  struct Event {
    int64_t at;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  uint64_t seed_;
  SentinelSweepConfig config_;
  std::mt19937_64 rng_;
  SentinelSweepResult result_;
  int s_ = 0;  // sentinels: endpoints 0..s_-1
  int n_ = 0;  // instances: endpoints s_..s_+n_-1
  int quorum_ = 2;
  bool hold_ = false;  // partitions hold messages (else they break links)
  bool ext_ = false;   // SentinelSweepConfig::extended
  // Per monitored master: its name, its first instance's endpoint and its
  // number of instances (endpoints first_[k] .. first_[k] + size_[k] - 1).
  std::vector<std::string> names_;
  std::vector<int> first_;
  std::vector<int> size_;
  int64_t next_pid_ = 1000;
  int64_t now_ = 0;
  uint64_t seq_ = 0;
  uint64_t link_gen_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  std::vector<SentinelProcess> sentinels_;
  std::vector<RedisInstance> instances_;
  std::vector<int> group_;  // per endpoint: endpoints in different groups cannot talk
  std::map<LinkKey, Link> links_;
  // (sentinel, master, epoch) -> leader
  std::map<std::tuple<int, std::string, uint64_t>, std::string> votes_;
  // (master, epoch) -> elected sentinel
  std::map<std::pair<std::string, uint64_t>, int> leaders_;
  std::set<std::pair<std::string, uint64_t>> switch_epochs_;
  // Failover epochs that SENTINEL FAILOVER started: the forced sentinel goes
  // on unelected (Redis's SRI_FORCE_FAILOVER), so another sentinel may be
  // elected in the same epoch.
  std::set<std::pair<std::string, uint64_t>> forced_;
};

void SentinelSweep::RunUntil(int64_t end) {
  while (!queue_.empty() && queue_.top().at <= end && result_.ok) {
    Event ev = std::move(const_cast<Event&>(queue_.top()));
    queue_.pop();
    now_ = ev.at;
    ev.fn();
  }
  now_ = end;
}

void SentinelSweep::ScheduleTick(int s) {
  SentinelProcess& p = sentinels_[s];
  const uint64_t gen = p.tick_gen;
  Schedule(now_ + p.core->next_tick_delay(), [this, s, gen] {
    SentinelProcess& q = sentinels_[s];
    if (!q.core || q.tick_gen != gen) return;
    q.core->Tick(Clock(s));
    Drain(s);
    ScheduleTick(s);
  });
}

void SentinelSweep::StartSentinel(int s, bool fresh) {
  SentinelProcess& p = sentinels_[s];
  p.core = std::make_unique<Sentinel>(p.myid, kSentinelPort, seed_ * 31 + s + now_, Clock(s));
  ++p.tick_gen;
  if (fresh) {
    p.saved = {{"myid", p.myid}};
    for (size_t k = 0; k < names_.size(); ++k) {
      const std::string& name = names_[k];
      p.saved.push_back(
          {"monitor", name, Ip(first_[k]), std::to_string(kInstancePort), std::to_string(quorum_)});
      p.saved.push_back({"down-after-milliseconds", name, std::to_string(Uniform(1000, 3000))});
      p.saved.push_back({"failover-timeout", name, std::to_string(Uniform(6000, 20000))});
      if (ext_) {
        // Scripts are "run" by the simulation (RunScript): the path only
        // has to be executable.
        p.saved.push_back({"notification-script", name, "/bin/true"});
        p.saved.push_back({"client-reconfig-script", name, "/bin/true"});
      }
    }
  }
  std::string err = p.core->ApplyConfig(p.saved, Clock(s));
  if (!err.empty()) Fail(absl::StrCat("sentinel ", s, " refused its saved config: ", err));
  p.core->TakeReady();
  ScheduleTick(s);
}

// The endpoint of a connection died: the sentinel sees it reset.
void SentinelSweep::ResetLink(const LinkKey& key, uint64_t gen) {
  Schedule(now_ + Delay(), [this, key, gen] {
    auto l = links_.find(key);
    if (l == links_.end() || l->second.gen != gen) return;
    links_.erase(l);
    const int t = std::get<0>(key);
    sentinels_[t].core->OnLinkDown(std::get<1>(key), LinkKind(std::get<2>(key)), Clock(t));
    Drain(t);
  });
}

void SentinelSweep::KillSentinel(int s) {
  sentinels_[s].core.reset();
  sentinels_[s].children.clear();
  ++sentinels_[s].tick_gen;
  for (auto it = links_.begin(); it != links_.end();) {
    if (std::get<0>(it->first) == s) {
      it = links_.erase(it);
      continue;
    }
    // Its peers' connections to it are reset.
    if (it->second.endpoint == s && it->second.up) ResetLink(it->first, it->second.gen);
    ++it;
  }
}

// A sentinel's vote (Master::leader, leader_epoch: what its VoteLeader
// stored; the runid is not saved, the epoch is) never changes within an
// epoch, across restarts too.
void SentinelSweep::CheckVotes(int s) {
  if (!sentinels_[s].core) return;
  for (const auto& [name, m] : sentinels_[s].core->masters()) {
    if (m->leader.empty() || m->leader_epoch == 0) continue;
    auto [it, added] = votes_.try_emplace({s, name, m->leader_epoch}, m->leader);
    if (!added && it->second != m->leader) {
      Fail(absl::StrCat("sentinel ", s, " voted for two leaders of ", name, " in epoch ",
                        m->leader_epoch));
    }
  }
}

// A script the sentinel asked to run: started (or fork fails) at once, and
// ends a little later with exit code 0 mostly, 1 or a signal (the core
// retries those), 2 (no retry), or hangs until the core kills it.
void SentinelSweep::RunScript(int s, const sentinel::RunScript& run) {
  ++result_.scripts;
  const Args& argv = run.argv;
  if (argv.empty() || argv[0] != "/bin/true") return Fail("a script run with an unknown path");
  if (argv.size() == 8) {  // client-reconfig-script
    const int k = GroupOf(argv[1]);
    const int to = Endpoint(argv[6], std::atoi(argv[7].c_str()));
    if (k < 0 || (argv[2] != "leader" && argv[2] != "observer") ||
        (argv[3] != "start" && argv[3] != "failover-end" &&
         argv[3] != "failover-end-for-timeout") ||
        to < 0 || IsSentinel(to) || Inst(to).group != k) {
      return Fail(absl::StrCat(
          "sentinel ", s, " ran a malformed client-reconfig-script: ", absl::StrJoin(argv, " ")));
    }
  } else if (argv.size() != 3) {  // notification-script: type, description
    return Fail(absl::StrCat("sentinel ", s, " ran a script with ", argv.size(), " arguments"));
  }
  SentinelProcess& p = sentinels_[s];
  if (p.children.size() >= 16) {  // SENTINEL_SCRIPT_MAX_RUNNING
    return Fail(absl::StrCat("sentinel ", s, " runs more than 16 scripts at once"));
  }
  const bool forked = Uniform(0, 39) != 0;
  const int64_t pid = forked ? next_pid_++ : -1;
  const bool hangs = forked && Uniform(0, 49) == 0;
  if (forked) p.children[pid] = {hangs, now_};
  const uint64_t gen = p.tick_gen;
  Schedule(now_, [this, s, gen, job = run.job, pid] {
    if (!sentinels_[s].core || sentinels_[s].tick_gen != gen) return;
    sentinels_[s].core->OnScriptStarted(job, pid, Clock(s));
    Drain(s);
  });
  if (!forked || hangs) return;
  const int outcome = Uniform(0, 19);
  const int code = outcome == 16 || outcome == 17 ? 1 : outcome == 18 ? 2 : 0;
  const int signal = outcome == 19 ? 11 : 0;
  Schedule(now_ + Uniform(1, 500), [this, s, gen, pid, code, signal] {
    if (!sentinels_[s].core || sentinels_[s].tick_gen != gen) return;
    if (sentinels_[s].children.erase(pid) == 0) return;  // killed meanwhile
    sentinels_[s].core->OnScriptExit(pid, code, signal, Clock(s));
    Drain(s);
  });
}

void SentinelSweep::KillScript(int s, int64_t pid) {
  SentinelProcess& p = sentinels_[s];
  if (p.children.erase(pid) == 0) {
    return Fail(absl::StrCat("sentinel ", s, " killed pid ", pid, ", no script of its own"));
  }
  ++result_.scripts_killed;
  const uint64_t gen = p.tick_gen;
  Schedule(now_ + Delay(), [this, s, gen, pid] {
    if (!sentinels_[s].core || sentinels_[s].tick_gen != gen) return;
    sentinels_[s].core->OnScriptExit(pid, 0, 9, Clock(s));
    Drain(s);
  });
}

void SentinelSweep::KillInstance(int e) {
  Inst(e).alive = false;
  for (auto& [key, link] : links_) {
    if (link.endpoint == e && link.up) ResetLink(key, link.gen);
  }
}

void SentinelSweep::RestartInstance(int e) {
  RedisInstance& r = Inst(e);
  r.alive = true;
  r.runid = Hex40();
  r.link_up = false;
  r.link_down_since = now_;
}

void SentinelSweep::Drain(int s) {
  SentinelProcess& p = sentinels_[s];
  if (!p.core) return;
  for (auto& action : p.core->TakeReady().actions) {
    if (auto* open = std::get_if<sentinel::OpenLink>(&action)) {
      const LinkKey key{s, open->id, static_cast<int>(open->kind)};
      Link& link = links_[key];
      link = Link{};
      link.endpoint = Endpoint(open->host, open->port);
      link.gen = ++link_gen_;
      const uint64_t gen = link.gen;
      const bool reachable = link.endpoint >= 0 && CanTalk(s, link.endpoint);
      const bool refused = link.endpoint < 0 || !Alive(link.endpoint);
      Schedule(now_ + (reachable || refused ? Delay() : kConnectTimeoutMs), [this, key, gen] {
        auto l = links_.find(key);
        if (l == links_.end() || l->second.gen != gen) return;
        const int t = std::get<0>(key);
        const auto kind = LinkKind(std::get<2>(key));
        if (l->second.endpoint >= 0 && CanTalk(t, l->second.endpoint)) {
          l->second.up = true;
          for (const auto& send : std::exchange(l->second.pending, {})) Deliver(t, key, send);
          sentinels_[t].core->OnLinkUp(std::get<1>(key), kind, Ip(t), Clock(t));
        } else {
          links_.erase(l);
          sentinels_[t].core->OnLinkDown(std::get<1>(key), kind, Clock(t));
        }
        Drain(t);
      });
    } else if (auto* close = std::get_if<sentinel::CloseLink>(&action)) {
      links_.erase(LinkKey{s, close->id, static_cast<int>(close->kind)});
    } else if (auto* send = std::get_if<sentinel::SendCommands>(&action)) {
      result_.commands += send->commands.size();
      for (const Args& cmd : send->commands) {
        // In TILT a sentinel acts on nothing it sees (Redis's TILT mode).
        if (p.core->tilt() && (absl::EqualsIgnoreCase(cmd[0], "SLAVEOF") ||
                               absl::EqualsIgnoreCase(cmd[0], "REPLICAOF"))) {
          Fail(absl::StrCat("sentinel ", s, " sent ", cmd[0], " in TILT mode"));
        }
      }
      Deliver(s, LinkKey{s, send->id, static_cast<int>(send->kind)}, *send);
    } else if (auto* ev = std::get_if<sentinel::Event>(&action)) {
      OnEvent(s, *ev);
    } else if (auto* line = std::get_if<sentinel::LogLine>(&action)) {
      Note("  sentinel ", s, " logs: ", line->text);
    } else if (std::holds_alternative<sentinel::SaveConfig>(action)) {
      p.saved.clear();
      for (const auto& l : p.core->RewriteLines()) {
        auto args = base::SplitArgs(l.line);
        if (!args || args->size() < 2) {
          Fail(absl::StrCat("sentinel ", s, " saved an unreadable line: ", l.line));
          continue;
        }
        args->erase(args->begin());  // "sentinel"
        p.saved.push_back(std::move(*args));
      }
    } else if (auto* run = std::get_if<sentinel::RunScript>(&action); run != nullptr && ext_) {
      RunScript(s, *run);
    } else if (auto* kill = std::get_if<sentinel::KillScript>(&action); kill != nullptr && ext_) {
      KillScript(s, kill->pid);
    } else {
      // SIMULATE-FAILURE (and scripts in the basic scenario) are not
      // configured here.
      Fail(absl::StrCat("sentinel ", s, " asked for an action this scenario never configures"));
    }
  }
  CheckVotes(s);
}

// A connection that a partition cuts breaks: nothing sent on it is lost
// silently (TCP), the sentinel is told the link went down.
// Sends `deliver` on `key` in direction `dir`, after a delay and after
// everything sent before it that way. A partition breaks the connection
// (break mode) or holds what is in flight until the heal, as TCP
// retransmits, unless a side closes the link first (hold mode: the
// sentinel's own link timeouts act).
void SentinelSweep::Transmit(const LinkKey& key, int dir, std::function<void()> deliver) {
  Link& link = links_.at(key);
  const uint64_t n = link.sent[dir]++;
  link.at[dir] = std::max(link.at[dir], now_) + Delay();
  Schedule(link.at[dir], [this, key, gen = link.gen, dir, n, deliver = std::move(deliver)] {
    Attempt(key, gen, dir, n, deliver);
  });
}

void SentinelSweep::Attempt(const LinkKey& key, uint64_t gen, int dir, uint64_t n,
                            const std::function<void()>& deliver) {
  auto l = links_.find(key);
  if (l == links_.end() || l->second.gen != gen) return;
  const bool blocked = !CanTalk(std::get<0>(key), l->second.endpoint);
  if (blocked && !hold_) return BreakLink(key);
  if (blocked || l->second.done[dir] != n) {
    Schedule(now_ + kRetransmitMs,
             [this, key, gen, dir, n, deliver] { Attempt(key, gen, dir, n, deliver); });
    return;
  }
  ++l->second.done[dir];
  deliver();
}

void SentinelSweep::BreakLink(const LinkKey& key) {
  links_.erase(key);
  const int t = std::get<0>(key);
  Schedule(now_ + Delay(), [this, key, t, tick = sentinels_[t].tick_gen] {
    if (!sentinels_[t].core || sentinels_[t].tick_gen != tick || links_.count(key)) return;
    sentinels_[t].core->OnLinkDown(std::get<1>(key), LinkKind(std::get<2>(key)), Clock(t));
    Drain(t);
  });
}

// Commands travel in order on their link, one delay each way.
void SentinelSweep::Deliver(int s, const LinkKey& key, const sentinel::SendCommands& send) {
  auto it = links_.find(key);
  if (it == links_.end()) return;
  Link& link = it->second;
  if (!link.up) {
    link.pending.push_back(send);
    return;
  }
  const InstanceId origin = send.origin != 0 ? send.origin : send.id;
  for (const Args& cmd : send.commands) {
    Transmit(key, 0, [this, s, key, cmd, origin, to = send.to] {
      Reply reply = Execute(s, key, links_.at(key), cmd);
      if (!links_.count(key)) return;  // Execute may drain another sentinel
      if (LinkKind(std::get<2>(key)) == LinkKind::kPubsub) return;  // handshake replies
      Transmit(key, 1, [this, s, reply, origin, to] {
        sentinels_[s].core->OnReply(origin, to, reply, Clock(s));
        Drain(s);
      });
    });
  }
}

Reply SentinelSweep::Execute(int s, const LinkKey& key, Link& link, const Args& cmd) {
  const std::string name = absl::AsciiStrToUpper(cmd[0]);
  if (!IsSentinel(link.endpoint)) return ExecuteOnInstance(s, key, link, cmd);
  if (name == "PING") return Reply::Status("PONG");
  if (name == "SENTINEL" || name == "PUBLISH") {
    const int t = link.endpoint;
    Reply r = sentinels_[t].core->Command(cmd, Clock(t));
    Drain(t);
    return r;
  }
  return Reply::Ok();
}

Reply SentinelSweep::ExecuteOnInstance(int s, const LinkKey& key, Link& link, const Args& cmd) {
  const int e = link.endpoint;
  const std::string name = absl::AsciiStrToUpper(cmd[0]);
  if (link.in_multi && name != "EXEC") {
    link.queued.push_back(cmd);
    return Reply::Status("QUEUED");
  }
  if (name == "PING") return Reply::Status("PONG");
  if (name == "INFO") return Reply::Bulk(InfoText(e));
  if (name == "MULTI") {
    link.in_multi = true;
    return Reply::Ok();
  }
  if (name == "EXEC") {
    link.in_multi = false;
    std::vector<Reply> out;
    std::vector<Args> queued = std::exchange(link.queued, {});
    for (const Args& q : queued) out.push_back(ExecuteOnInstance(s, key, link, q));
    return Reply::Array(std::move(out));
  }
  if ((name == "SLAVEOF" || name == "REPLICAOF") && cmd.size() == 3) {
    RedisInstance& r = Inst(e);
    if (absl::EqualsIgnoreCase(cmd[1], "no") && absl::EqualsIgnoreCase(cmd[2], "one")) {
      if (r.priority == 0) {
        Fail(absl::StrCat("sentinel ", s, " promoted instance ", e - s_, " of priority 0"));
      }
      if (r.primary != -1) Note("instance ", e - s_, " becomes a primary");
      r.primary = -1;
    } else {
      const int p = Endpoint(cmd[1], std::atoi(cmd[2].c_str()));
      if (p < 0 || IsSentinel(p) || p == e) return Reply::Error("ERR no such instance here");
      if (Inst(p).group != r.group) {
        Fail(absl::StrCat("sentinel ", s, " told instance ", e - s_, " of ", names_[r.group],
                          " to replicate instance ", p - s_, " of ", names_[Inst(p).group]));
      }
      if (r.primary != p) Note("instance ", e - s_, " replicates instance ", p - s_);
      r.primary = p;
      r.link_up = false;
      r.link_down_since = now_;
    }
    return Reply::Ok();
  }
  if (name == "PUBLISH" && cmd.size() == 3) {
    int receivers = 0;
    for (auto& [k, l] : links_) {
      if (l.endpoint != e || !l.subscribed || !l.up) continue;
      ++receivers;
      const LinkKey lk = k;
      Transmit(lk, 1, [this, lk, channel = cmd[1], payload = cmd[2]] {
        const int t = std::get<0>(lk);
        sentinels_[t].core->OnPubsubMessage(std::get<1>(lk), channel, payload, Clock(t));
        Drain(t);
      });
    }
    return Reply::Integer(receivers);
  }
  if (name == "SUBSCRIBE") {
    link.subscribed = true;
    return Reply::Array();
  }
  if (name == "SCRIPT") return Reply::Error("NOTBUSY No scripts in execution right now.");
  return Reply::Ok();  // CLIENT SETNAME / KILL, CONFIG REWRITE
}

std::string SentinelSweep::InfoText(int e) const {
  const RedisInstance& r = instances_[e - s_];
  std::string s = absl::StrCat("# Server\r\nrun_id:", r.runid, "\r\n\r\n# Replication\r\n");
  if (r.primary == -1) {
    std::string lines;
    int n = 0;
    for (int j = s_; j < s_ + n_; ++j) {
      const RedisInstance& q = instances_[j - s_];
      if (j == e || q.primary != e || !CanTalk(e, j)) continue;
      absl::StrAppend(&lines, "slave", n++, ":ip=", Ip(j), ",port=", kInstancePort,
                      ",state=online,offset=", q.offset, ",lag=0\r\n");
    }
    return absl::StrCat(s, "role:master\r\nconnected_slaves:", n, "\r\n", lines,
                        "master_repl_offset:", r.offset, "\r\n");
  }
  absl::StrAppend(&s, "role:slave\r\nmaster_host:", Ip(r.primary),
                  "\r\nmaster_port:", kInstancePort,
                  "\r\nmaster_link_status:", r.link_up ? "up" : "down", "\r\n");
  if (!r.link_up) {
    absl::StrAppend(&s, "master_link_down_since_seconds:", (now_ - r.link_down_since) / 1000,
                    "\r\n");
  }
  absl::StrAppend(&s, "slave_repl_offset:", r.offset, "\r\nslave_priority:", r.priority,
                  "\r\nreplica_announced:1\r\n");
  return s;
}

// Primaries take writes; replicas follow while they reach their primary.
// A script that hangs is killed once it ran script_max_runtime (60 s; a
// clock jump back may delay that by its size).
void SentinelSweep::WorldTick() {
  for (int s = 0; s < s_; ++s) {
    for (const auto& [pid, child] : sentinels_[s].children) {
      if (sentinels_[s].core && now_ - child.started > 70000) {
        Fail(absl::StrCat("sentinel ", s, " let script pid ", pid, " run for ",
                          now_ - child.started, " ms"));
      }
    }
  }
  for (int e = s_; e < s_ + n_; ++e) {
    RedisInstance& r = Inst(e);
    if (r.alive && r.primary == -1) r.offset += 100;
  }
  for (int e = s_; e < s_ + n_; ++e) {
    RedisInstance& r = Inst(e);
    if (!r.alive || r.primary == -1) continue;
    const bool up = CanTalk(e, r.primary);
    if (up) r.offset = std::max(r.offset, Inst(r.primary).offset);
    if (r.link_up && !up) r.link_down_since = now_;
    r.link_up = up;
  }
}

void SentinelSweep::OnEvent(int s, const sentinel::Event& ev) {
  if (ev.level != sentinel::Level::kDebug)
    Note("  sentinel ", s, " event ", ev.type, " ", ev.payload);
  // "+elected-leader" carries "master <name> <ip> <port>", "+switch-master"
  // "<name> <old ip> <old port> <new ip> <new port>".
  if (ev.type == "+tilt") ++result_.tilts;
  if (ev.type != "+elected-leader" && ev.type != "+switch-master") return;
  std::vector<std::string> parts = absl::StrSplit(ev.payload, ' ');
  if (ev.type == "+elected-leader" && parts.size() >= 2) {
    const sentinel::Master* m = sentinels_[s].core->FindMaster(parts[1]);
    if (m == nullptr) return;
    const std::pair<std::string, uint64_t> key{m->name, m->failover_epoch};
    auto [it, added] = leaders_.try_emplace(key, s);
    if (!added && it->second != s && !forced_.count(key)) {
      Fail(absl::StrCat("sentinels ", it->second, " and ", s, " both elected for ", m->name,
                        " in epoch ", m->failover_epoch));
    }
  } else if (ev.type == "+switch-master" && !parts.empty()) {
    const sentinel::Master* m = sentinels_[s].core->FindMaster(parts[0]);
    if (m != nullptr) switch_epochs_.insert({m->name, m->config_epoch});
  }
}

void SentinelSweep::RandomFault() {
  const int kind = Uniform(0, ext_ ? 12 : 9);
  if (kind >= 10) return OperatorFault(kind);
  const int e = Uniform(0, s_ + n_ - 1);
  if (kind <= 2) {  // kill or restart an instance
    const int i = Uniform(s_, s_ + n_ - 1);
    if (Inst(i).alive) {
      Note("kill instance ", i - s_);
      KillInstance(i);
    } else {
      Note("restart instance ", i - s_);
      RestartInstance(i);
      ++result_.restarts;
    }
  } else if (kind == 3) {  // kill or restart a sentinel
    const int t = Uniform(0, s_ - 1);
    if (sentinels_[t].core) {
      Note("kill sentinel ", t);
      KillSentinel(t);
    } else {
      Note("restart sentinel ", t);
      StartSentinel(t, false);
      ++result_.restarts;
    }
  } else if (kind <= 5) {
    Note("partition into 2 groups");
    for (int& g : group_) g = Uniform(0, 1);
  } else if (kind == 6) {
    Note("isolate ", IsSentinel(e) ? "sentinel " : "instance ", IsSentinel(e) ? e : e - s_);
    std::fill(group_.begin(), group_.end(), 0);
    group_[e] = 1;
  } else {
    Note("heal");
    std::fill(group_.begin(), group_.end(), 0);
  }
}

// Kinds 10-12 of the extended scenario: a sentinel's clock jumps (back, or
// forward by more than the TILT trigger, or a little), or an operator's
// SENTINEL FAILOVER on one sentinel. (Not SENTINEL RESET: it forgets the
// replicas, and an old primary not yet converted back is then known to no
// sentinel and stays a primary; Redis's documentation asks for it only on a
// settled deployment, one sentinel at a time.)
void SentinelSweep::OperatorFault(int kind) {
  const int t = Uniform(0, s_ - 1);
  const int k = Uniform(0, static_cast<int>(names_.size()) - 1);
  if (kind <= 11) {
    const int how = Uniform(0, 2);
    const int64_t delta = how == 0   ? -Uniform(100, 5000)
                          : how == 1 ? Uniform(2100, 15000)
                                     : Uniform(50, 1900);
    Note("clock of sentinel ", t, " jumps by ", delta, " ms");
    sentinels_[t].clock += delta;
    return;
  }
  if (!sentinels_[t].core) return;
  const Reply r = sentinels_[t].core->Command({"SENTINEL", "FAILOVER", names_[k]}, Clock(t));
  Note("sentinel ", t, ": SENTINEL FAILOVER ", names_[k], " -> ", r.is_error() ? r.str : "ok");
  if (!r.is_error()) {
    const sentinel::Master* m = sentinels_[t].core->FindMaster(names_[k]);
    if (m != nullptr) forced_.insert({names_[k], m->failover_epoch});
    ++result_.forced_failovers;
  }
  Drain(t);
}

std::string SentinelSweep::NotConverged() const {
  for (size_t k = 0; k < names_.size(); ++k) {
    std::string why = NotConverged(static_cast<int>(k));
    if (!why.empty()) return why;
  }
  return "";
}

std::string SentinelSweep::NotConverged(int group) const {
  const std::string& name = names_[group];
  std::string addr;
  uint64_t epoch = 0;
  for (int s = 0; s < s_; ++s) {
    const Sentinel& core = *sentinels_[s].core;
    const sentinel::Master* m = core.FindMaster(name);
    if (m == nullptr) return absl::StrCat("sentinel ", s, " does not monitor ", name);
    auto [ip, port] = core.CurrentAddress(*m);
    const std::string a = absl::StrCat(ip, ":", port);
    if (s == 0) {
      addr = a;
      epoch = m->config_epoch;
    } else if (a != addr || m->config_epoch != epoch) {
      return absl::StrCat("sentinel ", s, " names ", a, " epoch ", m->config_epoch, " for ", name,
                          ", sentinel 0 names ", addr, " epoch ", epoch);
    }
    if (m->failover_state != sentinel::FailoverState::kNone) {
      return absl::StrCat("sentinel ", s, " is still in a failover of ", name);
    }
    if (m->s_down || m->o_down) return absl::StrCat("sentinel ", s, " sees ", name, " down");
    if (static_cast<int>(m->sentinels.size()) != s_ - 1) {
      return absl::StrCat("sentinel ", s, " knows ", m->sentinels.size(), " sentinels of ", name);
    }
    int replicas = 0;
    for (const auto& [rname, r] : m->replicas) {
      if (rname != a) ++replicas;
      if (r->s_down) return absl::StrCat("sentinel ", s, " sees replica ", rname, " down");
    }
    if (replicas != size_[group] - 1) {
      return absl::StrCat("sentinel ", s, " knows ", replicas, " replicas of ", name);
    }
    if (core.tilt()) return absl::StrCat("sentinel ", s, " is in TILT");
  }
  auto colon = addr.rfind(':');
  const int p = Endpoint(addr.substr(0, colon), std::atoi(addr.substr(colon + 1).c_str()));
  if (p < 0 || IsSentinel(p) || Inst(p).group != group) {
    return absl::StrCat("the primary named for ", name, ", ", addr, ", is no instance of it");
  }
  if (Inst(p).primary != -1) return absl::StrCat("instance ", p - s_, " is a replica");
  for (int e = first_[group]; e < first_[group] + size_[group]; ++e) {
    if (e != p && Inst(e).primary != p) {
      return absl::StrCat("instance ", e - s_, " does not replicate instance ", p - s_);
    }
  }
  return "";
}

SentinelSweepResult SentinelSweep::Run() {
  hold_ = seed_ % 3 == 0;  // not from rng_: the other seeds keep their runs
  ext_ = config_.extended;
  s_ = Uniform(3, 7);
  n_ = Uniform(2, 5);
  quorum_ = Uniform(s_ / 2, s_ / 2 + 1);
  if (quorum_ < 1) quorum_ = 1;
  names_ = {kMaster};
  first_ = {s_};
  size_ = {n_};
  // The extended scenario: a second master in one seed of two. (Its draws
  // come after the basic scenario's, which keeps its runs.)
  if (ext_ && Uniform(0, 1) == 1) {
    names_.push_back("othermaster");
    first_.push_back(s_ + n_);
    size_.push_back(Uniform(2, 4));
    n_ += size_.back();
  }
  result_.sentinels = s_;
  result_.instances = n_;
  result_.masters = static_cast<int>(names_.size());
  group_.assign(s_ + n_, 0);
  instances_.resize(n_);
  for (size_t k = 0; k < names_.size(); ++k) {
    for (int e = first_[k]; e < first_[k] + size_[k]; ++e) {
      RedisInstance& r = Inst(e);
      r.runid = Hex40();
      r.group = static_cast<int>(k);
      r.primary = e == first_[k] ? -1 : first_[k];
      // Some replicas are never to be promoted (replica-priority 0).
      if (ext_ && e != first_[k] && Uniform(0, 3) == 0) r.priority = 0;
    }
  }
  sentinels_.resize(s_);
  Note("sentinels ", s_, " instances ", n_, " masters ", names_.size(), " quorum ", quorum_,
       hold_ ? ", partitions hold messages" : ", partitions break links");
  for (int s = 0; s < s_; ++s) {
    sentinels_[s].myid = Hex40();
    StartSentinel(s, true);
  }
  std::function<void()> world = [&] {
    WorldTick();
    Schedule(now_ + kCheckMs, world);
  };
  Schedule(kCheckMs, world);
  // Discovery (hello every 2 s, INFO every 10 s), then faults.
  RunUntil(20000);
  const int64_t fault_end = now_ + config_.fault_ms;
  while (now_ < fault_end && result_.ok) {
    RunUntil(std::min(fault_end, now_ + Uniform(500, 6000)));
    if (now_ < fault_end) RandomFault();
  }
  Note("heal everything");
  std::fill(group_.begin(), group_.end(), 0);
  for (int e = s_; e < s_ + n_; ++e) {
    if (!Inst(e).alive) RestartInstance(e);
  }
  for (int s = 0; s < s_; ++s) {
    if (!sentinels_[s].core) StartSentinel(s, false);
  }
  const int64_t healed = now_;
  std::string why;
  while (result_.ok) {
    why = NotConverged();
    if (why.empty()) break;
    if (now_ - healed > kConvergeBoundMs) {
      Fail(absl::StrCat("not converged ", kConvergeBoundMs, " ms after healing: ", why));
      break;
    }
    RunUntil(now_ + kCheckMs);
  }
  if (result_.ok) result_.converge_ms = now_ - healed;
  result_.failovers = static_cast<int>(switch_epochs_.size());
  return result_;
}

}  // namespace

SentinelSweepResult RunSentinelSweep(uint64_t seed, const SentinelSweepConfig& config) {
  return SentinelSweep(seed, config).Run();
}

}  // namespace shardnode::sim
