// Session: the state of one client connection that commands read and change
// (selected db, protocol, auth, cluster flags, MULTI queue). It knows nothing
// of sockets; the net shell owns the socket and fills in the address fields.
//
// Loop: lives on the thread of the connection that owns it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "replication/output_limit.h"

namespace shardnode::node {

namespace acl {
struct User;
}

// A key the session WATCHes, the keyspace shard that holds it (whose
// WatchTable lists the session), and whether it was live when WATCH ran.
struct WatchedKey {
  int db = 0;
  int shard = 0;
  std::string key;
  bool existed = false;
};

// A flag that another thread may set while its owner reads it (relaxed
// loads and stores: whoever must see a store in order gets it from the step
// that handed the work over). Copies take its value, so a Session stays a
// value that can be copied (a CLIENT LIST line built from a copy).
template <typename T>
class SharedValue {
 public:
  SharedValue() = default;
  SharedValue(const SharedValue& other) : value_(other.get()) {}
  SharedValue& operator=(const SharedValue& other) {
    set(other.get());
    return *this;
  }
  T get() const { return value_.load(std::memory_order_relaxed); }
  void set(T v) { value_.store(v, std::memory_order_relaxed); }

 private:
  std::atomic<T> value_{};
};
using SharedFlag = SharedValue<bool>;

// Why a client's command waits (see node/server/suspend.h).
enum class WaitReason : uint8_t {
  kNone,
  kKeys,      // BLPOP & co: a key to receive data (BlockingTable)
  kReplicas,  // WAIT: replicas to acknowledge an offset
  kMigrate,   // MIGRATE: its target to answer; a big RESTORE: its decoding
  kPause,     // CLIENT PAUSE / a manual failover: runs again when it ends
  kKeysBusy,  // its keys are in flight in a MIGRATE: runs again after it
  kShutdown,  // SHUTDOWN: lagging replicas to catch up (node/app/shutdown_sequence.h)
  // INFO, CLIENT LIST/KILL at `threads N` > 1: the shard threads to deliver
  // what other clients sent first (the input fence, net_server.cc)
  kInputFence,
};

// SCRIPT DEBUG: how this client's next EVAL runs (Redis's CLIENT_LUA_DEBUG
// and CLIENT_LUA_DEBUG_SYNC).
enum class LuaDebugMode : uint8_t { kOff, kYes, kSync };

struct Session {
  uint64_t id = 0;
  std::string name;   // CLIENT SETNAME
  std::string addr;   // peer "ip:port"
  std::string laddr;  // local "ip:port"
  int fd = -1;
  int db_index = 0;
  int protocol = 2;  // RESP version (HELLO)
  bool authenticated = false;
  // The ACL user (node/acl); nullptr for the node's own clients (the
  // primary's stream, the AOF loader), which may run anything.
  const acl::User* user = nullptr;
  bool asking = false;    // one-shot, cleared after the next command
  bool readonly = false;  // READONLY / READWRITE
  bool close_after_reply = false;
  // CLIENT REPLY: OFF drops every reply; SKIP drops the next command's
  // (reply_skip_next turns into reply_skip once CLIENT REPLY SKIP ends).
  bool reply_off = false;
  bool reply_skip_next = false;
  bool reply_skip = false;
  bool monitor = false;  // MONITOR: receives every command the node runs
  // A script's client (Redis's CLIENT_SCRIPT): MONITOR shows it as "lua",
  // SORT sorts a set even with BY nosort, XREAD BLOCK is an error there.
  bool script = false;
  // The replication link of our primary: its stream is applied without
  // routing, auth or read-only checks, and replies are discarded.
  bool from_primary = false;
  // The link of an atomic slot migration's source (CLUSTER SYNCSLOTS
  // ESTABLISH): its commands apply to the importing slots without routing,
  // are never paused, and only SYNCSLOTS and WAIT are answered.
  bool import_link = false;
  // The AOF loader's client: runs while the node is loading, and its
  // writes are not propagated (they are already in the file).
  bool aof_loader = false;
  // A replica of ours (it sent SYNC/PSYNC): CLIENT LIST flag S.
  bool replica = false;
  bool no_evict = false;  // CLIENT NO-EVICT ON
  LuaDebugMode lua_debug = LuaDebugMode::kOff;
  bool tls = false;  // connected through the TLS port (CLUSTER NODES ports)
  // A TLS connection's own reads and writes, for a SCRIPT DEBUG session
  // (script/debug_channel.h), which talks to its client while the loop is
  // blocked; set by the connection. Each call is one attempt: the bytes
  // moved (> 0), 0 when the peer closed, kFailed, or kWantRead / kWantWrite:
  // call again once the socket is readable / writable.
  struct DebugIo {
    static constexpr long kFailed = -1;
    static constexpr long kWantRead = -2;
    static constexpr long kWantWrite = -3;
    std::function<long(char* buf, size_t len)> read;
    std::function<long(const char* buf, size_t len)> write;
  };
  std::shared_ptr<DebugIo> debug_io;
  // Connected through the unixsocket (CLIENT LIST flag U; local, as Redis's
  // CLIENT_UNIX_SOCKET: no protected mode).
  bool unix_socket = false;
  // Client-side caching (CLIENT TRACKING, node/server/tracking.h).
  struct TrackingMode {
    bool on = false;
    bool bcast = false;
    bool optin = false;
    bool optout = false;
    bool noloop = false;
    // CLIENT CACHING YES (OPTIN) / NO (OPTOUT), for the next command (or
    // transaction).
    bool caching = false;
    bool broken_redirect = false;                 // the redirect target went away
    uint64_t redirect = 0;                        // 0: none
    std::set<std::string, std::less<>> prefixes;  // BCAST
  };
  TrackingMode tracking;
  // Set while a push is written (PushUnsilenced): CLIENT REPLY OFF does
  // not silence it (Redis's CLIENT_PUSHING).
  bool pushing = false;
  int64_t created_ms = 0;
  int64_t last_interaction_ms = 0;
  std::string last_command;  // lower-case name, CLIENT LIST "cmd="
  // The arguments of the command running (CLIENT LIST argv-mem, counted in
  // the client's memory as Redis's argv_len_sum); 0 between commands.
  size_t argv_bytes = 0;
  size_t argc = 0;
  size_t query_buffer_bytes = 0;
  size_t query_buffer_free = 0;  // CLIENT LIST qbuf-free (resp::QueryBuffer)
  // What the query buffer takes in memory: a big argument (32 KB or more)
  // counts its declared length at once, as Redis allocates it so.
  size_t query_buffer_allocated = 0;
  // Bytes handed to the net shell (replies and pushes) not yet written to
  // the socket; kept current by the shell.
  size_t output_buffer_bytes = 0;
  // What the shell's output buffers hold allocated (>= output_buffer_bytes):
  // INFO mem_clients_*, and mem_not_counted_for_evict for replicas.
  size_t output_buffer_allocated = 0;
  // This client's memory as maxmemory-clients' running total last counted
  // it (Server::UpdateClientMemory); 0 for a client it leaves out.
  size_t counted_memory = 0;
  // Redis's reply buffer (CLIENT LIST rbs / rbp), the first 16 KB of a
  // client's pending output there: its size, which the cron fits to the
  // recent peak (ResizeReplyBuffer), and that peak: the most output pending
  // at once, up to the size. Its size counts in the client's memory.
  size_t reply_buffer_size = 16 * 1024;
  size_t reply_buffer_peak = 0;
  int64_t reply_buffer_peak_reset_ms = 0;  // when the peak last started again
  // client-output-buffer-limit's soft-limit clock (Server::OutputLimitReached).
  replication::OutputLimitCheck obuf_check;

  // MULTI/EXEC.
  bool in_multi = false;
  bool multi_dirty = false;  // a queued command was refused: EXEC aborts
  std::vector<std::vector<std::string>> queued;
  // WATCH: the keys (node/server/watch.h: written on the session's side
  // only), and whether one of them changed since: set by the thread of the
  // shard whose key changed (EXEC reads it after the steps that ran the
  // changes handed their results over).
  std::vector<WatchedKey> watched;
  SharedFlag watch_dirty;
  // At `threads N` > 1: advanced by the thread running the client's input,
  // read by the control loop's input fence (net_server.cc): odd while a
  // chunk of its input is handed between threads, even once it ended.
  SharedValue<uint64_t> input_hops;

  // A command of this client that waits (node/server/suspend.h: blocking
  // pops, WAIT, MIGRATE, a client pause, keys in flight). While it waits the
  // net shell executes none of the client's further pipelined commands.
  WaitReason waiting = WaitReason::kNone;
  bool suspended() const { return waiting != WaitReason::kNone; }
  // Blocked as CLIENT LIST's flag `b` and INFO's blocked_clients count it:
  // waiting for keys, for replicas, or in a SHUTDOWN that waits for them.
  bool blocked() const {
    return waiting == WaitReason::kKeys || waiting == WaitReason::kReplicas ||
           waiting == WaitReason::kShutdown;
  }
  // `deny_blocking`: set while EXEC runs (and for a primary's replication
  // stream); a blocking command then acts as its non-blocking form.
  bool deny_blocking = false;

  // Pub/Sub subscriptions (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE).
  std::set<std::string, std::less<>> channels;
  std::set<std::string, std::less<>> patterns;
  std::set<std::string, std::less<>> shard_channels;
  bool in_pubsub() const {
    return !channels.empty() || !patterns.empty() || !shard_channels.empty();
  }

  // Set by the net shell: writes bytes to the client outside of a reply
  // (Pub/Sub messages). Empty for sessions without a socket.
  std::function<void(std::string_view bytes)> push;

  // Set by the net shell (CLIENT KILL, SHUTDOWN, dropped replicas): the
  // client is gone at once, as with Redis's freeClient: detached from the
  // server (Server::DetachSession), its pending output dropped, its socket
  // closed. Closing one's own connection after the reply is
  // close_after_reply instead. Empty for sessions without a socket (tests).
  std::function<void()> kill;

  // Set by the net shell: the cron's per-client look at the connection:
  // the query buffer's size (Redis's clientsCronResizeQueryBuffer) and a
  // peer that closed (or reset) the connection while no read event could
  // report it any more (Connection::CheckPeerClosed; a client found gone is
  // killed, posted). Empty without a socket.
  std::function<void(int64_t now_ms)> client_cron;

  // Set by the net shell for a connection whose socket is on a shard
  // thread: brings output_buffer_bytes and output_buffer_allocated up to
  // date (the socket thread sends and frees output without telling the
  // control loop). Readers that sum clients' memory call it first
  // (CountOutputOf). Empty otherwise: the figures are kept current.
  std::function<void()> count_output;

  // Set by the net shell: after a blocked command was answered, resumes
  // executing the input that arrived meanwhile (posted, not run inline).
  std::function<void()> resume;

  // Set by a producer that streams to the client at the socket's pace (a
  // full sync's RDB): the net shell calls it each time a socket write
  // completes, after output_buffer_bytes went down. Empty otherwise.
  std::function<void()> on_output_drained;

  // CLIENT LIST "flags=" field.
  std::string FlagsText() const;
};

// Brings `s`'s output figures up to date (Session::count_output).
inline void CountOutputOf(const Session& s) {
  if (s.count_output) s.count_output();
}

// Writes `bytes` to `s` through its push callback even under CLIENT REPLY
// OFF: Pub/Sub messages and tracking invalidations, which Redis writes with
// CLIENT_PUSHING set. No-op for a session without a socket.
void PushUnsilenced(Session& s, std::string_view bytes);

// The cron's look at the reply buffer (Redis 7.0.15's
// clientsCronResizeOutputBuffer): halved towards the peak (not below 1 KB)
// when the peak is under half of it, doubled (up to 16 KB) when the peak
// filled it; the peak starts again from the pending output every
// `peak_reset_ms` (never when negative). Returns -1 after a shrink, 1 after
// an expansion, 0 otherwise.
int ResizeReplyBuffer(Session& c, int64_t now_ms, int64_t peak_reset_ms);

// What the client takes in memory, as Redis's getClientMemoryUsage counts
// it (CLIENT LIST tot-mem; client eviction, maxmemory-clients): its output
// and query buffers, the session itself, its MULTI queue, its watched keys,
// subscriptions and tracking prefixes.
size_t ClientMemoryUsage(const Session& c);
// The MULTI queue's share of it (CLIENT LIST multi-mem).
size_t MultiMemory(const Session& c);

// One CLIENT LIST / CLIENT INFO line (without the newline), as Redis's
// catClientInfoString formats it; also used in log lines about a client.
std::string ClientInfoLine(const Session& c, int64_t now_ms);

}  // namespace shardnode::node
