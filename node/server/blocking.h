// Blocked clients: the registry of the clients that wait in BLPOP, BRPOP,
// BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX or BZMPOP for a key of one
// database to receive data (Redis's blocked.c).
//
// BlockingTable is pure bookkeeping: the record of each blocked client and
// the deadlines (the session's side), and, split as the keyspace is, one
// BlockedKeys per keyspace shard: for each (db, key) of that shard's slots
// the clients waiting for it, first blocked first, and the keys that changed
// since the last pass ("ready" keys). It never replies: the functions below
// it do, through Session::push, and resume the client's pipelined input
// through Session::resume. They decide why a wait ends (an UnblockOutcome)
// and leave its wording to the command that blocked
// (BlockedClient::reply_unblocked, from node/commands' error table).
//
// Lifecycle of a blocked client: a handler that finds nothing to pop calls
// BlockingTable::Block (the dispatcher then sends no reply), which lists the
// client on the BlockedKeys of each of its keys' shards; every change to a
// key goes through Db::on_key_modified, which signals the key on its own
// keyspace shard's BlockedKeys (Server wires them); after each top-level
// command the dispatcher serves the clients waiting on ready keys, each key
// from its shard's BlockedKeys (ServeBlockedClients,
// node/commands/blocked_serve.h); the cron times them out; CLIENT UNBLOCK, a
// cluster slot change or a disconnect ends the wait.
//
// Ready keys keep one order over all shards: each signal takes a number from
// one counter (an atomic, so that shard threads may share it), and
// TakeReady merges the shards' queues by it, so that a step that touched
// keys of several shards (EXEC, a multi-key command in standalone mode)
// serves them in the order it changed them, as Redis does.
//
// Loop: a BlockedKeys, its keyspace shard's thread (today the control
// loop); the rest of BlockingTable (records, deadlines, Block / Unblock,
// which touch the BlockedKeys of every key of the client), the control loop,
// as a global step when a client's keys span shards. Not thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace shardnode::resp {
class ReplyBuilder;
}

namespace shardnode::node {

class Server;
struct Session;
struct CommandSpec;
struct CommandContext;

// What the client waits for: a list or a sorted set at one of its keys (a
// key that receives a value of the other type does not wake it), or entries
// of a stream (XREAD, XREADGROUP), whose ServeFn decides each time.
enum class BlockType { kList, kZSet, kStream };

// Serves a blocked client from `key`, which now holds a non-empty value of
// the client's BlockType: pops (and for BLMOVE pushes), appends the reply to
// ctx.reply and sets ctx.propagate_as (or propagate_many) to what
// replication must apply. May reply with an error instead (BLMOVE to a key
// of the wrong type). `args` is the blocked command as the client sent it.
// A kStream client's ServeFn is called for any change of its key, whatever
// the key holds now, and leaves the client waiting by writing no reply.
using ServeFn = void (*)(CommandContext& ctx, std::span<std::string> args, const std::string& key);

// Why a blocked client's wait ended without a key serving it. This module
// decides the outcome; the command that blocked words the reply
// (node/commands, from its error table), so that no client text is
// written here.
namespace unblock {
struct TimedOut {};         // its timeout passed, or CLIENT UNBLOCK id TIMEOUT
struct ByClientUnblock {};  // CLIENT UNBLOCK id ERROR
struct RoleChanged {};      // this primary turned into a replica
struct ClusterDown {};      // cluster mode: the cluster went down
struct SlotUnbound {};      // cluster mode: the keys' slot has no owner now
struct Moved {              // cluster mode: another node owns the keys' slot
  int slot = 0;
  std::string endpoint;
  int port = 0;
};
}  // namespace unblock
using UnblockOutcome =
    std::variant<unblock::TimedOut, unblock::ByClientUnblock, unblock::RoleChanged,
                 unblock::ClusterDown, unblock::SlotUnbound, unblock::Moved>;
// Appends the reply a client gets for `outcome` to `reply` (the client's
// protocol).
using UnblockReplyFn = void (*)(resp::ReplyBuilder& reply, const UnblockOutcome& outcome);

struct BlockedClient {
  Session* session = nullptr;  // borrowed; the net shell unblocks before freeing it
  int db = 0;
  std::vector<std::string> keys;  // distinct, in argument order
  BlockType type = BlockType::kList;
  int64_t deadline_ms = 0;  // absolute wall clock; 0: wait forever
  std::vector<std::string> args;
  // The command's table entry, for serving it later (node/commands reads
  // it; this module only borrows the pointer).
  const CommandSpec* spec = nullptr;
  bool is_write = false;             // the command has the write flag
  uint64_t* failed_calls = nullptr;  // its INFO commandstats failed_calls counter
  ServeFn serve = nullptr;
  // Words the reply when the wait ends unserved (the functions below that
  // end waits call it; the table itself never replies). Required: Block
  // aborts on a client without it.
  UnblockReplyFn reply_unblocked = nullptr;
};

// A key made ready, and the keyspace shard whose BlockedKeys signaled it
// (BlockingTable::TakeReady).
struct ReadyKey {
  int shard = 0;
  int db = 0;
  std::string key;
  bool operator==(const ReadyKey& other) const {
    return shard == other.shard && db == other.db && key == other.key;
  }
};

// One keyspace shard's waited keys and ready queue (see the header comment).
class BlockedKeys {
 public:
  using DbKey = std::pair<int, std::string>;

  // `signals`: the counter that orders every shard's signals.
  // REQUIRES: `signals` outlives this.
  explicit BlockedKeys(std::atomic<uint64_t>* signals) : signals_(signals) {}

  // `session` waits for `key` of `db` (after the sessions already waiting).
  void Add(Session* session, int db, const std::string& key);
  // `session` no longer waits for `key` of `db`.
  void Remove(Session* session, int db, const std::string& key);
  // A key of database `db` changed. Queues it as ready when some client
  // waits for it (once until TakeReady).
  void Signal(int db, std::string_view key);
  // Database `db` was flushed: queues every key some client waits for in
  // it (a stream reader of a group learns its key is gone).
  void SignalDb(int db);
  bool has_ready() const { return !ready_.empty(); }
  // The ready keys with their signal numbers, in the order they were
  // signaled; the queue restarts empty (serving may signal more).
  std::vector<std::pair<uint64_t, DbKey>> TakeReady();
  // The sessions waiting for `key` of `db`, first blocked first.
  std::vector<Session*> Waiters(int db, std::string_view key) const;
  // Whether some session waits for `key` of `db`.
  bool Waited(int db, std::string_view key) const;
  bool empty() const { return waiters_.empty(); }

 private:
  std::atomic<uint64_t>* signals_;
  std::map<DbKey, std::list<Session*>, std::less<>> waiters_;
  std::vector<std::pair<uint64_t, DbKey>> ready_;
  std::set<DbKey, std::less<>> ready_set_;
};

class BlockingTable {
 public:
  using DbKey = BlockedKeys::DbKey;

  // One BlockedKeys per keyspace shard. REQUIRES: shards >= 1.
  explicit BlockingTable(int shards = 1);
  BlockingTable(const BlockingTable&) = delete;
  BlockingTable& operator=(const BlockingTable&) = delete;

  int num_shards() const { return static_cast<int>(keys_.size()); }
  // Keyspace shard `shard`'s waited keys. REQUIRES: 0 <= shard < num_shards().
  BlockedKeys& keys(int shard) { return *keys_[shard]; }
  // The keyspace shard that holds `key` (as Server::ShardIndexForSlot).
  int ShardOf(std::string_view key) const;

  // Registers the client as waiting, on the shard of each of its keys, and
  // suspends the session (WaitReason::kKeys).
  // REQUIRES: !c.session->suspended(), !c.keys.empty().
  void Block(BlockedClient c);
  // Forgets the session's wait, on every shard, and clears
  // session.waiting. Returns the record, or nullopt when the session was
  // not blocked.
  std::optional<BlockedClient> Unblock(Session& session);
  // The record of a blocked session, or nullptr.
  const BlockedClient* Find(const Session& session) const;

  // A key of database `db` changed (a command that did not go through the
  // key's Db hook: XGROUP DESTROY); signaled on the key's shard.
  void Signal(int db, std::string_view key) { keys(ShardOf(key)).Signal(db, key); }
  // Database `db` changed as a whole (SWAPDB): every shard's waited keys
  // of it are ready.
  void SignalDb(int db);
  // Whether some shard has ready keys.
  bool has_ready() const {
    for (const auto& k : keys_) {
      if (k->has_ready()) return true;
    }
    return false;
  }
  // Every shard's ready keys, in the order they were signaled; the queues
  // restart empty (serving may signal more).
  std::vector<ReadyKey> TakeReady();

  // The sessions waiting for `key` of `db`, first blocked first.
  std::vector<Session*> Waiters(int db, std::string_view key) const {
    return keys_[ShardOf(key)]->Waiters(db, key);
  }
  // The sessions whose deadline is before `now_ms`, earliest first.
  std::vector<Session*> TimedOut(int64_t now_ms) const;
  // Every blocked session, in the order they blocked.
  std::vector<Session*> All() const;

  size_t size() const { return clients_.size(); }
  // Blocked clients with a deadline (INFO clients_in_timeout_table).
  size_t with_timeout() const { return deadlines_.size(); }

  // Set by the owner of other kinds of blocked sessions (WAIT, whose
  // sessions have `blocked` set but no record here): ends such a wait for
  // CLIENT UNBLOCK, as a timeout or with the UNBLOCKED error. Returns
  // whether it ended one.
  std::function<bool(Session& session, bool with_error)> unblock_other;

 private:
  struct Record {
    uint64_t seq;  // blocking order
    BlockedClient client;
  };
  std::atomic<uint64_t> signals_{0};  // orders the shards' signals
  std::vector<std::unique_ptr<BlockedKeys>> keys_;
  std::map<Session*, Record> clients_;
  std::set<std::pair<int64_t, uint64_t>> deadlines_;  // (deadline, seq)
  std::map<uint64_t, Session*> by_seq_;
  uint64_t next_seq_ = 0;
};

// What ParseBlockTimeout found wrong, if anything (node/commands words it:
// "ERR timeout is not a float or out of range", "ERR timeout is negative").
enum class BlockTimeoutError { kNone, kNotFloat, kNegative };
// Parses a blocking command's timeout in seconds (a float, as strtold reads
// it) into an absolute deadline in ms (0: forever), set only on kNone.
BlockTimeoutError ParseBlockTimeout(std::string_view arg, int64_t now_ms, int64_t* deadline_ms);

// Ends the wait of a blocked session with `reply` (encoded RESP bytes): the
// reply is pushed, the session unblocked and its pending input resumed.
// No-op when the session is not blocked.
void FinishBlocked(Server& server, Session& session, std::string_view reply);

// Ends the waits of the clients whose timeout passed (cron), with the
// TimedOut outcome (a null array for the blocking pops).
void HandleBlockedTimeouts(Server& server, int64_t now_ms);

// Cluster mode: unblocks every client blocked on a key whose slot this node
// no longer serves, with the outcome ClusterDown when the cluster is down,
// SlotUnbound when the slot is unassigned, Moved when another node owns it
// (a slot being imported here keeps its clients). Called by the cron and
// after cluster state changes. No-op outside cluster mode.
void RedirectBlockedClients(Server& server);

// CLIENT UNBLOCK: ends the wait of client `id` as a timeout (TimedOut) or as
// an error (ByClientUnblock). Returns whether the client was blocked.
bool UnblockClientById(Server& server, uint64_t id, bool with_error);

// A primary turning into a replica: every blocked client's wait ends with
// RoleChanged and the client is closed after the reply, as Redis does.
void DisconnectAllBlockedClients(Server& server);

}  // namespace shardnode::node
