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
// Threads. The stream and its consumers live on the control loop: the
// WriteStream methods (Subscribe, Append, BeginUnit/EndUnit, Drain...) are
// called there only. A shard thread appends through its own Producer,
// which keeps the thread's execution unit and, when the outermost unit ends,
// commits the unit whole to a queue under one short lock (the lock guards
// that queue only; nothing is encoded or delivered under it). The control
// loop delivers queued units in commit order (Drain, woken by the producer
// through the wake hook when the queue was empty) exactly as it delivers
// its own: one global offset, advanced on the control loop only, per
// consumer SELECTs, MULTI/EXEC around a unit. A unit the control loop ends
// itself is delivered after the units committed before it. With one thread
// no Producer exists and the queue stays empty: every write is delivered
// inline, as before.
//
// Which side a write takes is the running thread's: RunningWriter sends
// it to the thread's Producer when the thread installed one
// (RunningProducerScope: a shard thread, for its whole run), else to the
// stream itself (the control loop). The dispatcher's unit around a command,
// the command's writes, the DELs of keys it finds expired (Db::on_key_expired)
// and the writes of the blocked clients it serves all go through it.
//
// Pure: no sockets or clock; the only synchronization is the queue's
// mutex. Loop: the control loop (Producer: its own thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
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
  // Whether the replies of the commands that made the writes it is given
  // wait until it wrote them (the AOF, through the Server's OutputGate).
  virtual bool HoldsReplies() const { return false; }
};

class WriteStream {
  // A write held until its unit ends.
  struct Pending {
    int db;
    int slot;
    std::vector<std::string> args;
    WriteTargets targets;
  };

 public:
  // The execution units of one thread other than the control loop (a
  // shard thread): same unit rules as the WriteStream's own Append /
  // BeginUnit / EndUnit / SetNoMulti, but the outermost unit's end (or a
  // write outside any unit) commits the unit to the stream's queue instead
  // of delivering it; the control loop delivers it (Drain). A Producer is
  // used by one thread; several Producers may commit at once.
  // REQUIRES: the stream outlives the producer.
  class Producer {
   public:
    explicit Producer(WriteStream& stream) : stream_(stream) {}
    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;
    ~Producer();

    // Whether a write may be wanted: some consumer is subscribed (whether
    // it wants writes now is decided on the control loop, at delivery).
    bool maybe_wanted() const;
    void Append(int db, int slot, std::span<const std::string> args, WriteTargets targets = kToAll);
    void BeginUnit() { ++unit_depth_; }
    // REQUIRES: matches a BeginUnit.
    void EndUnit();
    bool in_unit() const { return unit_depth_ > 0; }
    // REQUIRES: in_unit().
    void SetNoMulti() { no_multi_ = true; }
    // The sequence number of the last unit this producer committed (0:
    // none). See WriteStream::ReplyWaits.
    uint64_t last_commit() const { return last_commit_; }

   private:
    WriteStream& stream_;
    uint64_t last_commit_ = 0;
    int unit_depth_ = 0;
    bool no_multi_ = false;
    std::vector<Pending> pending_;
  };

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

  // Command bytes produced so far (see the file comment). Advanced on the
  // control loop only; readable from any thread.
  uint64_t offset() const { return offset_.load(std::memory_order_acquire); }

  // Delivers the units that Producers committed, in commit order. A no-op
  // when called from a consumer's callback (the outer drain goes on) or when
  // the queue is empty. The control loop's own Append and EndUnit drain
  // first, so that units are delivered in the order they were committed.
  void Drain();
  // Replies held for the AOF. Producers' units are numbered as they are
  // committed (Producer::last_commit). A shard thread's reply to a command
  // that wrote (or that ran after a write of the same thread, which it may
  // have read) must not leave before a consumer that HoldsReplies wrote
  // that write: ReplyWaits(seq) says whether the units up to `seq` are
  // still to be written. AckDrained, on the control loop once every
  // delivered unit is written (the end of a global step, after the AOF's
  // flush), acknowledges every unit delivered so far. Readable from any
  // thread.
  bool ReplyWaits(uint64_t seq) const {
    return seq > acked_seq_.load(std::memory_order_acquire) && holds_replies();
  }
  void AckDrained() { acked_seq_.store(drained_seq_, std::memory_order_release); }
  // Whether some consumer that wants writes holds replies (the control
  // loop's state: a shard thread reads it while the control loop runs no
  // handler).
  bool holds_replies() const;

  // Called by a Producer's thread when it commits a unit to an empty queue:
  // the wiring posts Drain to the control loop. REQUIRES: set before any
  // Producer commits, and callable from any thread.
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }

 private:
  struct Subscriber {
    WriteConsumer* consumer = nullptr;  // null once unsubscribed mid-delivery
    int selected_db = -1;
  };

  // A unit committed by a Producer.
  struct Unit {
    std::vector<Pending> writes;
    bool no_multi = false;
    uint64_t seq = 0;
  };

  // Queues a Producer's unit (any thread); returns its sequence number.
  uint64_t Commit(std::vector<Pending> writes, bool no_multi);
  // Delivers one unit's writes (MULTI/EXEC around several, unless
  // `no_multi`), then the consumers' OnUnitEnd.
  void DeliverUnit(const std::vector<Pending>& writes, bool no_multi);
  // Drain() when units are queued (one relaxed load otherwise).
  void DrainIfQueued() {
    if (queued_.load(std::memory_order_acquire) != 0) Drain();
  }
  // Delivers one write to every consumer that wants it and is targeted.
  void Deliver(int db, int slot, std::span<const std::string> args, WriteTargets targets);
  void EndDelivery();

  std::vector<Subscriber> subscribers_;
  int delivering_ = 0;         // nesting of Deliver/EndDelivery loops
  bool unsubscribed_ = false;  // some entry awaits removal
  int unit_depth_ = 0;
  bool no_multi_ = false;  // SetNoMulti, for the current outermost unit
  std::vector<Pending> pending_;
  std::atomic<uint64_t> offset_{0};
  std::string command_;  // the encoded command being delivered
  std::string buffer_;   // SELECT + command for one consumer
  bool draining_ = false;
  // The subscribers (Producer::maybe_wanted reads it on other threads).
  std::atomic<size_t> subscribed_{0};
  std::function<void()> wake_;
  // Producers' committed units, guarded by queue_mutex_; queued_ is its
  // size, readable without the lock.
  std::mutex queue_mutex_;
  std::deque<Unit> queue_;
  std::atomic<size_t> queued_{0};
  uint64_t commit_seq_ = 0;  // the last unit's number, guarded by queue_mutex_
  // The last unit delivered (Drain) and the last one acknowledged.
  uint64_t drained_seq_ = 0;
  std::atomic<uint64_t> acked_seq_{0};
};

namespace internal {
// RunningProducer's value for this thread (RunningProducerScope sets it).
inline thread_local WriteStream::Producer* running_producer = nullptr;
}  // namespace internal

// The Producer of the thread running now, or nullptr: on the control loop,
// and on every thread while there is one (no Producer is installed then).
inline WriteStream::Producer* RunningProducer() { return internal::running_producer; }

// Installs `producer` as the running thread's Producer for the scope's life
// (a shard thread's run), then puts the previous one back.
// REQUIRES: `producer` outlives the scope; scopes nest on one thread.
class RunningProducerScope {
 public:
  explicit RunningProducerScope(WriteStream::Producer* producer)
      : previous_(internal::running_producer) {
    internal::running_producer = producer;
  }
  ~RunningProducerScope() { internal::running_producer = previous_; }
  RunningProducerScope(const RunningProducerScope&) = delete;
  RunningProducerScope& operator=(const RunningProducerScope&) = delete;

 private:
  WriteStream::Producer* previous_;
};

// The running thread's side of `stream` (see the file comment): its
// Producer's calls when it has one, else the stream's. Costs one
// thread-local read to build. REQUIRES: `stream` outlives it; used on the
// thread that built it.
class RunningWriter {
 public:
  explicit RunningWriter(WriteStream& stream) : stream_(stream), producer_(RunningProducer()) {}

  bool wanted() const {
    return producer_ != nullptr ? producer_->maybe_wanted() : stream_.wanted();
  }
  void Append(int db, int slot, std::span<const std::string> args, WriteTargets targets = kToAll) {
    if (producer_ != nullptr) {
      producer_->Append(db, slot, args, targets);
    } else {
      stream_.Append(db, slot, args, targets);
    }
  }
  void BeginUnit() {
    if (producer_ != nullptr) {
      producer_->BeginUnit();
    } else {
      stream_.BeginUnit();
    }
  }
  // REQUIRES: matches a BeginUnit on the same side.
  void EndUnit() {
    if (producer_ != nullptr) {
      producer_->EndUnit();
    } else {
      stream_.EndUnit();
    }
  }
  // REQUIRES: in a unit.
  void SetNoMulti() {
    if (producer_ != nullptr) {
      producer_->SetNoMulti();
    } else {
      stream_.SetNoMulti();
    }
  }

 private:
  WriteStream& stream_;
  WriteStream::Producer* producer_;
};

}  // namespace shardnode::node
