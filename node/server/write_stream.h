// WriteStream: the one stream of writes that leaves the command layer.
//
// Every write the node makes (a client command as it is to be replayed,
// rewritten where Redis rewrites it; the DEL of a key found expired) enters
// here once, as (db, slot, args), through Append. The stream owns:
//   - execution units (Redis 7.0's also_propagate / propagatePendingCommands):
//     writes appended inside a unit are held until the outermost unit ends,
//     then delivered, wrapped in MULTI ... EXEC when there is more than one
//     (unless the unit is marked SetNoMulti).
//     Outside a unit (the active expiry cycle) a write is delivered at once.
//   - encoding: each write is encoded in RESP once, whatever the number of
//     consumers.
//   - SELECT: a consumer receives the encoded SELECT of a write's db before
//     the write whenever its previous write was on another db (or it was
//     told to forget its db, see ForgetSelectedDb). Each consumer has its own
//     selected db, as Redis keeps one for replicas and one for the AOF.
//   - the stream offset: the number of command bytes produced so far
//     (MULTI/EXEC included, SELECTs excluded since they differ per consumer).
//
// Consumers subscribe: replication (backlog and replica links), the AOF
// (node/persist/aof.h) and each outgoing atomic slot migration (filtering
// on `slot`, node/migrate/atomic_migrator.h); per-shard streams later. A
// write is collected (copied, encoded) only while at least one consumer
// wants writes: a node with none pays one check per write.
//
// Pure: no sockets, clock or threads. Loop: the loop that owns the Server
// (the control loop today).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shardnode::node {

// `slot` of a write that has no single hash slot: keyless (MULTI, EXEC,
// FLUSHALL, FLUSHDB, SWAPDB) or with keys in several slots (a multi-key
// command in standalone mode).
inline constexpr int kNoSlot = -1;

// Which consumers a write is for (Redis's PROPAGATE_AOF / PROPAGATE_REPL;
// a script picks them with redis.set_repl). Consumers say which kind they
// are (WriteConsumer::kind); the other consumers (slot migrations) take
// every write.
enum WriteTargets : uint8_t { kToNone = 0, kToAof = 1, kToReplicas = 2, kToAll = 3 };

// One write as a consumer receives it. The views are valid during the call.
struct StreamWrite {
  int db = 0;
  int slot = kNoSlot;  // the hash slot of the write's keys, or kNoSlot
  std::span<const std::string> args;
  // The encoded SELECT this consumer needs before the command (empty when
  // its selected db is already `db`), then the command in RESP. Both live
  // in one buffer: `bytes` is the SELECT followed by the command.
  std::string_view bytes;
  size_t select_size = 0;
  // The stream offset after this write's command bytes.
  uint64_t offset = 0;

  std::string_view select() const { return bytes.substr(0, select_size); }
  std::string_view command() const { return bytes.substr(select_size); }
};

class WriteConsumer {
 public:
  virtual ~WriteConsumer() = default;
  // Whether the consumer wants writes now. Asked when a write is appended
  // (nothing is collected while no consumer wants) and when a unit is
  // delivered (a consumer that does not want is skipped, and its selected
  // db is kept).
  virtual bool WantsWrites() const = 0;
  // kToAof (the AOF), kToReplicas (replication), or kToAll (any write,
  // whatever its targets).
  virtual WriteTargets kind() const { return kToAll; }
  // One write (MULTI and EXEC included), in stream order.
  virtual void OnWrite(const StreamWrite& write) = 0;
  // After the last write of a delivered unit (or of a write made outside
  // any unit): a point where the consumer may flush what it buffered.
  virtual void OnUnitEnd() {}
};

class WriteStream {
 public:
  WriteStream() = default;
  WriteStream(const WriteStream&) = delete;
  WriteStream& operator=(const WriteStream&) = delete;

  // Adds a consumer, whose selected db starts unknown (its first write
  // carries a SELECT). REQUIRES: `consumer` is not subscribed, and stays
  // alive until Unsubscribe. Consumers receive writes in subscription order.
  void Subscribe(WriteConsumer* consumer);
  // Removes a consumer (a no-op when it is not subscribed). Safe from a
  // consumer's own callbacks: it receives nothing more.
  void Unsubscribe(WriteConsumer* consumer);

  // Whether some consumer wants writes now (callers may skip building a
  // rewritten command when not).
  bool wanted() const;

  // Appends one write made on database `db`, whose keys hash to `slot`
  // (kNoSlot when keyless or spread over several slots), for the consumers
  // of `targets`. Dropped when no consumer wants writes. The MULTI/EXEC
  // around a unit goes to every consumer, as in Redis.
  void Append(int db, int slot, std::span<const std::string> args, WriteTargets targets = kToAll);

  // Execution units nest; the writes of a unit are delivered when the
  // outermost one ends. The dispatcher opens one around each client command
  // (EXEC included, so a transaction's writes travel together).
  void BeginUnit() { ++unit_depth_; }
  // REQUIRES: matches a BeginUnit.
  void EndUnit();
  bool in_unit() const { return unit_depth_ > 0; }
  // The writes of the current outermost unit go without MULTI/EXEC (Redis
  // for a command with TOUCHES_ARBITRARY_KEYS run directly by a client).
  // REQUIRES: in_unit().
  void SetNoMulti() { no_multi_ = true; }

  // The next write delivered to `consumer` is preceded by a SELECT (a
  // replica whose image was just taken, a rewritten AOF). A no-op for a
  // consumer that is not subscribed.
  void ForgetSelectedDb(const WriteConsumer* consumer);
  // The db of the last SELECT delivered to `consumer`; -1 when none (or
  // forgotten, or not subscribed).
  int selected_db(const WriteConsumer* consumer) const;

  // Command bytes produced so far (see the file comment).
  uint64_t offset() const { return offset_; }

 private:
  struct Subscriber {
    WriteConsumer* consumer = nullptr;  // null once unsubscribed mid-delivery
    int selected_db = -1;
  };
  struct Pending {
    int db;
    int slot;
    std::vector<std::string> args;
    WriteTargets targets;
  };

  // Delivers one write to every consumer that wants it and is targeted.
  void Deliver(int db, int slot, std::span<const std::string> args, WriteTargets targets);
  void EndDelivery();

  std::vector<Subscriber> subscribers_;
  int delivering_ = 0;         // nesting of Deliver/EndDelivery loops
  bool unsubscribed_ = false;  // some entry awaits removal
  int unit_depth_ = 0;
  bool no_multi_ = false;  // SetNoMulti, for the current outermost unit
  std::vector<Pending> pending_;
  uint64_t offset_ = 0;
  std::string command_;  // the encoded command being delivered
  std::string buffer_;   // SELECT + command for one consumer
};

}  // namespace shardnode::node
