// Sentinel: the pure core of Redis Sentinel 7.0.15 (src/sentinel.c): the
// monitored primaries with their replicas and the other sentinels, failure
// detection (SDOWN, ODOWN), epochs and votes, the leader election, the
// failover state machine, replica selection, hello messages, TILT, the
// SENTINEL command family and the sentinel lines of the config file.
//
// Shape: time and inputs in, one Ready out (like clusterbus's ClusterState).
// Inputs are a tick, a link coming up or going down, a reply to a command
// the core asked to send, a pub/sub message, and a client command. Every
// call appends what it decided to `ready()`: links to open or close,
// commands to send, events to publish and log, the config to save, scripts
// to run, the process to exit. The shell takes it with TakeReady() and
// handles every alternative of Action with std::visit.
//
// Times: `now` is a monotonic clock in milliseconds, supplied by the caller
// and never decreasing except when the machine stalls (which TILT detects).
// Randomness: an injected seed.
//
// Instances are named by a stable 64-bit handle (InstanceId), never reused;
// the shell keys its links by it. Loop: one thread; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "sentinel/reply.h"

namespace shardnode::sentinel {

using InstanceId = uint64_t;
using Millis = int64_t;

enum class Level { kDebug, kVerbose, kNotice, kWarning };
enum class LinkKind { kCommand, kPubsub };
// What a reply answers, so the core routes it: given back with the reply.
enum class ReplyTo { kIgnore, kPing, kInfo, kPublish, kIsMasterDown };

// --- Actions (everything a step decided) ---------------------------------
// Open a link to the instance; the shell reports LinkUp or LinkDown later.
// The shell sends AUTH first when `password` is set (AUTH [user] password),
// discarding its reply.
struct OpenLink {
  InstanceId id;
  LinkKind kind;
  std::string host;
  int port;
  std::string user;
  std::string password;
};
// Close a link (if open) without reporting LinkDown.
struct CloseLink {
  InstanceId id;
  LinkKind kind;
};
// Send commands on an open link, pipelined, in order; each reply is given
// back with Sentinel::OnReply(origin, to, reply). On the pub/sub link only the
// handshake is sent (CLIENT SETNAME, SUBSCRIBE): an error reply to SUBSCRIBE
// must close the link (hiredis does) and be reported as LinkDown.
struct SendCommands {
  InstanceId id;  // the link
  LinkKind kind;
  ReplyTo to;
  std::vector<std::vector<std::string>> commands;
  InstanceId origin = 0;  // the instance the replies go to (OnReply); 0: `id`
};
// An event: published on channel `type` to the sentinel's own subscribers
// unless kDebug, and logged as "<type> <payload>" at `level`.
struct Event {
  Level level;
  std::string type;
  std::string payload;
};
// A log line that is not an event.
struct LogLine {
  Level level;
  std::string text;
};
// Rewrite the config file now (Redis's sentinelFlushConfig). The shell takes
// the lines with Sentinel::RewriteLines().
struct SaveConfig {};
// Run a script: fork + execve(argv[0], argv) directly, no shell, no file
// descriptor but 0-2 inherited. The shell reports the child with
// Sentinel::OnScriptStarted(job, pid) (pid -1: fork failed) and its end with
// OnScriptExit(pid, ...).
struct RunScript {
  uint64_t job;
  std::vector<std::string> argv;
};
// SIGKILL a script that ran too long.
struct KillScript {
  int64_t pid;
};
// Exit the process (SIMULATE-FAILURE), with this code.
struct Exit {
  int code;
};
using Action = std::variant<OpenLink, CloseLink, SendCommands, Event, LogLine, SaveConfig,
                            RunScript, KillScript, Exit>;
struct Ready {
  std::vector<Action> actions;
};

// Periods and limits that SENTINEL DEBUG changes (process-wide in Redis).
struct Timing {
  Millis info_period = 10000;
  Millis ping_period = 1000;
  Millis ask_period = 1000;
  Millis publish_period = 2000;
  Millis default_down_after = 30000;
  Millis default_failover_timeout = 180000;
  Millis tilt_trigger = 2000;
  Millis tilt_period = 30000;
  Millis slave_reconf_timeout = 10000;
  Millis min_link_reconnect_period = 15000;
  Millis election_timeout = 10000;
  Millis script_max_runtime = 60000;
  Millis script_retry_delay = 30000;
};

enum class FailoverState {
  kNone,
  kWaitStart,
  kSelectSlave,
  kSendSlaveofNoone,
  kWaitPromotion,
  kReconfSlaves,
  kUpdateConfig,
};
std::string_view FailoverStateName(FailoverState s);

enum class Kind { kMaster, kReplica, kSentinel };

struct Master;

// The command and pub/sub links to one instance and their clocks (Redis's
// instanceLink). One sentinel known under several masters has one link,
// shared by its Instance objects (link-refcount): one connection, one PING
// per period, one view of whether it answers.
struct InstanceLink {
  InstanceId id = 0;  // the shell's key: the id of the instance that opened it
  bool cmd_up = false, pubsub_up = false;
  Millis cmd_conn_time = 0, pubsub_conn_time = 0, pubsub_last_activity = 0;
  Millis last_reconn_time = 0;
  int pending_commands = 0;
  std::string local_ip;  // our end of the command link (hello's address)
  Millis act_ping_time = 0, last_ping_time = 0, last_avail_time = 0, last_pong_time = 0;
};

// One monitored instance of any kind (Redis's sentinelRedisInstance).
struct Instance {
  InstanceId id = 0;
  Kind kind = Kind::kMaster;
  Master* master = nullptr;  // the owning master (replicas, sentinels)
  std::string name;          // master name, "ip:port" or the sentinel's runid
  std::string ip;            // as given: an IP, or a hostname (resolve-hostnames yes)
  std::string resolved;      // the IP to connect to ("" while unresolved)
  int port = 0;
  std::string runid;
  Millis down_after = 30000;

  // Flags shown by SENTINEL MASTER/REPLICAS/SENTINELS.
  bool s_down = false, o_down = false, master_down = false, promoted = false, reconf_sent = false,
       reconf_inprog = false, reconf_done = false, script_kill_sent = false;
  bool master_reboot = false;
  Millis master_reboot_since = 0;

  // Its links and their clocks; shared with the same sentinel known under
  // other masters (Redis's connection sharing).
  std::shared_ptr<InstanceLink> link = std::make_shared<InstanceLink>();
  Millis last_pub_time = 0, last_hello_time = 0, last_master_down_reply_time = 0;
  Millis s_down_since = 0, o_down_since = 0;

  // From INFO.
  Millis info_refresh = 0;
  std::string info;
  bool role_master = true;  // reported role
  Millis role_reported_time = 0;
  Millis slave_conf_change_time = 0;
  Millis master_link_down_time = 0;
  std::string slave_master_host;
  int slave_master_port = 0;
  bool slave_master_link_up = false;
  int64_t slave_priority = 100;
  int64_t slave_repl_offset = 0;
  bool replica_announced = true;
  Millis slave_reconf_sent_time = 0;

  // A sentinel's last vote as it told us (IS-MASTER-DOWN-BY-ADDR).
  std::string leader;
  uint64_t leader_epoch = 0;

  bool disconnected() const;
};

struct Master : Instance {
  int quorum = 2;
  int parallel_syncs = 1;
  Millis failover_timeout = 180000;
  Millis reboot_down_after_period = 0;
  std::string auth_pass, auth_user;
  std::string notification_script, client_reconfig_script;
  std::map<std::string, std::string> renamed;  // lower-case command -> new name
  uint64_t config_epoch = 0;
  uint64_t failover_epoch = 0;
  bool failover_in_progress = false, force_failover = false;
  FailoverState failover_state = FailoverState::kNone;
  // failover_start_time starts at kLongAgo: Redis's 0 on a wall clock, so
  // the first failover may start at once whatever the monotonic clock reads.
  static constexpr Millis kLongAgo = -(Millis{1} << 50);
  Millis failover_state_change_time = 0, failover_start_time = kLongAgo, failover_delay_logged = 0;
  Instance* promoted_replica = nullptr;
  std::map<std::string, std::unique_ptr<Instance>> replicas;   // by "ip:port"
  std::map<std::string, std::unique_ptr<Instance>> sentinels;  // by runid
};

class Sentinel {
 public:
  // `myid`: 40 characters (from the config, or generated by the shell).
  // `port`: what hellos announce unless announce-port is set.
  Sentinel(std::string myid, int port, uint64_t seed, Millis now);

  // --- Configuration (the `sentinel ...` lines, Redis's three passes) ---
  // One line's arguments without the leading "sentinel". Returns "" or the
  // fatal config error text (e.g. "Unrecognized sentinel configuration
  // statement."). Lines are queued by the caller and applied with
  // ApplyConfig in Redis's order.
  static bool IsPreMonitorKey(std::string_view keyword);
  std::string ApplyConfigLine(const std::vector<std::string>& args, Millis now);
  // Applies every line in Redis's three passes (the pre-monitor keys, the
  // monitors, the rest). Returns "" or the first error, with the index of
  // its line in *failed.
  std::string ApplyConfig(const std::vector<std::vector<std::string>>& lines, Millis now,
                          size_t* failed = nullptr);
  // The sentinel lines of a rewrite, in Redis's order, each with its
  // rewrite key ("sentinel myid"), and the keys whose stale lines are blanked.
  struct RewriteLine {
    std::string key;
    std::string line;
    bool force;
  };
  std::vector<RewriteLine> RewriteLines() const;
  static std::vector<std::string> RewriteKeys();
  // Whether myid came from the config (else the shell saves at start).
  bool myid_from_config() const { return myid_from_config_; }
  void set_myid(std::string id) { myid_ = std::move(id); }

  // --- Inputs ---
  // The timer. The shell calls it again next_tick_delay() ms later.
  void Tick(Millis now);
  // A link the core asked for is up; `local_ip` is our end's address.
  void OnLinkUp(InstanceId id, LinkKind kind, const std::string& local_ip, Millis now);
  // A link failed to connect or closed (also after an error reply to
  // SUBSCRIBE). Ignored for unknown ids.
  void OnLinkDown(InstanceId id, LinkKind kind, Millis now);
  void OnReply(InstanceId id, ReplyTo to, const Reply& reply, Millis now);
  // A message received on a pub/sub link (any channel).
  void OnPubsubMessage(InstanceId id, const std::string& channel, const std::string& payload,
                       Millis now);
  // Scripts (§3.12): a child started for a RunScript job (pid -1: fork
  // failed), and a child that ended (exit code, or the signal that killed it).
  void OnScriptStarted(uint64_t job, int64_t pid, Millis now);
  void OnScriptExit(int64_t pid, int exit_code, int signal, Millis now);
  // A client command (args[0] is the command name, any case): SENTINEL ...
  // and PUBLISH (hello only). Other commands are the shell's.
  Reply Command(const std::vector<std::string>& args, Millis now);

  Ready TakeReady() { return std::exchange(ready_, {}); }
  const Ready& ready() const { return ready_; }

  // --- Reads (INFO, ROLE, tests) ---
  const std::string& myid() const { return myid_; }
  uint64_t current_epoch() const { return current_epoch_; }
  const std::map<std::string, std::unique_ptr<Master>>& masters() const { return masters_; }
  Master* FindMaster(std::string_view name) const;
  Instance* Find(InstanceId id) const;
  bool tilt() const { return tilt_; }
  // Redis's sentinel redraws its hz as 10 + rand() % 10 at the end of every
  // timer run (so that sentinels started together drift apart and do not ask
  // for votes in lockstep), and its next run comes 1000 / hz ms later: 52..100
  // ms, about 72 on average, not a fixed 100. INFO shows this hz.
  int hz() const { return hz_; }
  Millis next_tick_delay() const { return 1000 / hz_; }
  Millis tilt_start() const { return tilt_start_; }
  int simulate_failure_flags() const { return simfailure_; }
  Timing& timing() { return timing_; }
  // The address clients should use: the promoted replica's once the
  // failover reached RECONF_SLAVES.
  std::pair<std::string, int> CurrentAddress(const Master& m) const;
  // The `sentinel_*` lines and masterN lines of INFO's Sentinel section.
  std::string InfoSection(Millis now) const;
  void set_announce_port(int p) { announce_port_ = p; }
  // The server's requirepass: what the links to other sentinels AUTH with
  // when no sentinel-pass is set (Redis's compatibility with old configs).
  void set_requirepass(std::string p) { requirepass_ = std::move(p); }
  // Unix time in ms minus `now`: only to print wall-clock times in logs
  // ("Next failover delay: I will not start a failover before <ctime>").
  Millis wall_offset = 0;
  // Resolves a hostname to an IP ("" when it fails). Set by the shell; only
  // called with resolve-hostnames yes and for names that are not IPs.
  std::function<std::string(const std::string&)> resolver;
  // The address shown and sent for an instance: its hostname with
  // announce-hostnames yes, else its IP.
  std::string Addr(const Instance& ri) const;
  // Redis's address equality: same port, and the same IP or the same
  // hostname (case-insensitive).
  bool SameAddr(const Instance& ri, const std::string& host, int port) const;
  // An IP literal as it is; a name through `resolver` with resolve-hostnames
  // yes; otherwise "".
  std::string Resolve(const std::string& host) const;

 private:
  // Instances.
  Master* CreateMaster(const std::string& name, const std::string& ip, int port, int quorum,
                       Millis now, std::string* err);
  Instance* CreateReplica(Master* m, const std::string& ip, int port, Millis now);
  Instance* CreateSentinel(Master* m, const std::string& ip, int port, const std::string& runid,
                           Millis now);
  void InitInstance(Instance* ri, Millis now);
  void ReleaseInstance(Instance* ri);
  // The link whose shell key is `id` (an instance's own, or one shared).
  InstanceLink* FindLink(InstanceId id) const;
  // Redis's sentinelTryConnectionSharing: a sentinel just learned from a
  // hello that is also known under another master uses that one's link.
  bool TryConnectionSharing(Instance* si);
  // Drops `ri`'s hold on its link (closing it when it was the last owner)
  // and gives it a fresh, unconnected one.
  void ReleaseLinkOnly(Instance* ri);
  // After a hello moved sentinel `si` (+sentinel-address-switch): the same
  // sentinel under the other masters takes the new address and every one
  // of them drops its links (Redis's sentinelUpdateSentinelAddressInAllMasters).
  void UpdateSentinelAddressInAllMasters(Instance* si);
  void RemoveMaster(const std::string& name);
  void ResetMaster(Master* m, bool keep_sentinels, Millis now);
  void ResetMasterAndChangeAddress(Master* m, const std::string& ip, int port, Millis now);
  // The end of a failover: +switch-master and the master moved to its
  // promoted replica (no-op without one).
  void SwitchToPromoted(Master* m, Millis now);

  // Events.
  std::string Describe(const Instance& ri) const;  // %@
  void Emit(Level level, std::string type, const Instance* ri, std::string extra);
  // An event whose payload is not "%@ ..." but which has an instance (the
  // notification script runs for it).
  void EmitFor(Level level, std::string type, const Instance* ri, std::string payload);
  void EmitRaw(Level level, std::string type, std::string payload);
  void Log(Level level, std::string text);
  void Flush() { ready_.actions.push_back(SaveConfig{}); }
  std::vector<std::string> Cmd(const Master* m, std::vector<std::string> args) const;
  void Send(Instance* ri, ReplyTo to, std::vector<std::vector<std::string>> commands);

  // The periodic work (sentinelHandleRedisInstance).
  void HandleInstance(Instance* ri, Millis now);
  void Reconnect(Instance* ri, Millis now);
  void SendPeriodic(Instance* ri, Millis now);
  bool SendHello(Instance* ri, Millis now);
  void SendPing(Instance* ri, Millis now);
  void CheckSubjectivelyDown(Instance* ri, Millis now);
  void CheckObjectivelyDown(Master* m, Millis now);
  bool StartFailoverIfNeeded(Master* m, Millis now);
  void StartFailover(Master* m, Millis now);
  void AskOtherSentinels(Master* m, bool forced, Millis now);
  void FailoverStateMachine(Master* m, Millis now);
  void AbortFailover(Master* m, Millis now);
  void FailoverWaitStart(Master* m, Millis now);
  void FailoverSelectSlave(Master* m, Millis now);
  void FailoverSendSlaveofNoone(Master* m, Millis now);
  void FailoverReconfSlaves(Master* m, Millis now);
  void CheckFailoverEnd(Master* m, Millis now);
  void SendSlaveOf(Instance* ri, const std::string& host, int port);
  void ForceHelloUpdate(Master* m);
  void CheckTiltCondition(Millis now);
  void ScheduleScript(std::vector<std::string> argv);
  void RunPendingScripts(Millis now);
  void KillTimedOutScripts(Millis now);

 public:
  // Replica selection (§3.7); nullptr when none qualifies.
  Instance* SelectReplica(Master* m, Millis now) const;
  // The election (§3.4): the winner's runid or "".
  std::string GetLeader(Master* m, uint64_t epoch, Millis now);
  // One vote per epoch (§3.3); returns the stored leader and its epoch.
  std::string VoteLeader(Master* m, uint64_t req_epoch, const std::string& req_runid,
                         uint64_t* leader_epoch, Millis now);

 private:
  // Replies.
  void OnInfo(Instance* ri, const std::string& info, Millis now);
  void OnPingReply(Instance* ri, const Reply& reply, Millis now);
  void OnIsMasterDownReply(Instance* ri, const Reply& reply, Millis now);
  void ProcessHello(const std::string& payload, Millis now);

  // SENTINEL subcommands.
  Reply SentinelCommand(const std::vector<std::string>& args, Millis now);
  Reply InstanceMap(const Instance& ri, Millis now) const;
  Reply SentinelSet(const std::vector<std::string>& args, Millis now);
  Reply SentinelDebug(const std::vector<std::string>& args);
  Reply SentinelConfig(const std::vector<std::string>& args, Millis now);
  Reply IsMasterDownByAddr(const std::vector<std::string>& args, Millis now);

  std::string myid_;
  bool myid_from_config_ = false;
  int port_;
  uint64_t current_epoch_ = 0;
  std::map<std::string, std::unique_ptr<Master>> masters_;
  std::map<InstanceId, Instance*> by_id_;
  InstanceId next_id_ = 1;
  Timing timing_;
  bool tilt_ = false;
  Millis tilt_start_ = 0;
  Millis previous_time_ = 0;
  int simfailure_ = 0;  // 1: crash after election, 2: after promotion
  std::string announce_ip_;
  int announce_port_ = 0;
  bool deny_scripts_reconfig_ = true;
  bool resolve_hostnames_ = false, announce_hostnames_ = false;
  bool had_deny_line_ = false, had_resolve_line_ = false, had_announce_hostnames_line_ = false;
  std::string sentinel_user_, sentinel_pass_;
  std::string requirepass_;
  std::mt19937_64 rng_;
  // Its own generator, so that the period draws do not shift rng_'s sequence.
  std::minstd_rand hz_rng_;
  int hz_ = 10;  // configured_hz until the first Tick
  Ready ready_;
  struct ScriptJob {
    uint64_t id;
    std::vector<std::string> argv;
    bool running = false;
    Millis start_time = 0;  // when running: started; else: not before (0: now)
    int retry_num = 0;
    int64_t pid = 0;
  };
  std::vector<ScriptJob> scripts_;  // the queue, oldest first
  uint64_t next_script_job_ = 1;
  int running_scripts_ = 0;
};

// Hello payload (§2.5): 8 fields joined by ','.
struct Hello {
  std::string ip;
  int port = 0;
  std::string runid;
  uint64_t current_epoch = 0;
  std::string master_name;
  std::string master_ip;
  int master_port = 0;
  uint64_t master_config_epoch = 0;
};
std::string EncodeHello(const Hello& h);
// nullopt unless exactly 8 fields with numeric ports and epochs.
std::optional<Hello> DecodeHello(std::string_view payload);
// True for an IPv4 or IPv6 literal.
bool IsIpAddress(const std::string& s);

}  // namespace shardnode::sentinel
