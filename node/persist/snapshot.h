// Snapshot: a fork-less, point-in-time RDB image of the whole dataset,
// produced incrementally while the node keeps serving.
//
// At construction the snapshot's instant is fixed. Step() then walks the
// databases in (db, slot) order, a few whole slots at a time, serializing
// every key it finds. Between steps the dataset may change; consistency
// comes from copy-on-write: the node calls BeforeWrite() with the keys a
// write command is about to touch, and for each key in a (db, slot) the walk
// has not reached yet:
//   - if the key exists, its current value (still the value at the
//     snapshot's instant: any earlier change would have come through here
//     first) is serialized at once, and the walk will skip it later;
//   - if it does not exist, it was created after the instant (or deleted and
//     already serialized), and the walk will skip it too.
// A write without keys (FLUSHALL, FLUSHDB, SWAPDB...) cannot be tracked key
// by key, so BeforeWrite() then finishes the whole snapshot synchronously.
// The same goes for any bulk change done outside the command path (call
// Finish() first).
//
// Keys are written whatever their TTL, as Redis does (loaders drop the
// expired ones); a key that expires and is reaped between the instant and the
// walk is left out, which loaders would have done anyway.
//
// Output: the bytes of an RDB file (header, aux fields, keys, EOF, CRC),
// drained with TakeOutput(). The file may re-select a database (SELECTDB
// with zero sizing hints) when a key of another database is saved early;
// Redis's loader and ours accept that.
//
// Pure: no I/O, no clock. Loop: the Server's loop; not thread-safe.
// REQUIRES: `server` outlives the snapshot.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "replication/rdb.h"

namespace shardnode::node {
class Server;
class Entry;
}  // namespace shardnode::node

namespace shardnode::node::persist {

// What an image holds (all of it unless a replica's filter says less).
struct SnapshotFilter {
  bool keys = true;
  bool functions = true;
};

class Snapshot {
 public:
  // `filter`: what a replica's REPLCONF rdb-filter-only leaves in the image
  // (redis-cli --functions-rdb: the function libraries and no key).
  Snapshot(Server& server, replication::RdbWriterOptions options,
           SnapshotFilter filter = SnapshotFilter());
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  // Serializes whole slots until at least `key_budget` keys were written or
  // the walk ends (then the EOF and checksum are written). Returns done().
  bool Step(size_t key_budget);
  // One slice of a background save (BGSAVE, AOF rewrite, full sync): Steps
  // of kKeysPerStep keys for about kSliceBudget; or, with `key_delay_us` > 0
  // (rdb-key-save-delay, for tests), one key, and *delay_us is set to that
  // delay per key written since the previous slice, early saves included
  // (0 otherwise). Returns done().
  bool StepSlice(int64_t key_delay_us, int64_t* delay_us);
  static constexpr size_t kKeysPerStep = 256;
  static constexpr auto kSliceBudget = std::chrono::microseconds(1000);
  // Runs the walk to the end now.
  void Finish();
  bool done() const { return done_; }

  // Copy-on-write hook: `keys` of database `db` are about to change (see the
  // header comment). An empty `keys` finishes the snapshot.
  void BeforeWrite(int db, const std::vector<std::string_view>& keys);

  // Bytes produced since the previous call.
  std::string TakeOutput() { return writer_.TakeOutput(); }
  uint64_t bytes_written() const { return writer_.BytesWritten(); }

  // Keys serialized so far (early saves included), and the keys the dataset
  // held at the instant (INFO current_save_keys_processed / _total).
  uint64_t keys_processed() const { return keys_processed_; }
  uint64_t keys_total() const { return keys_total_; }
  // Keys serialized ahead of the walk by BeforeWrite.
  uint64_t keys_saved_early() const { return keys_saved_early_; }

 private:
  // Whether the walk has already passed (db, slot).
  bool Walked(int db, int slot) const {
    return db < walk_db_ || (db == walk_db_ && slot < walk_slot_);
  }
  // Makes `db` the database the next entries go to.
  void OpenDb(int db);
  void WriteEntry(int db, const Entry& e);
  // Walks one slot of the current database; returns the keys written.
  size_t WalkSlot();
  void Advance();

  Server& server_;
  replication::RdbWriter writer_;
  int num_dbs_;
  std::vector<uint64_t> db_keys_;     // keys per db at the instant
  std::vector<uint64_t> db_expires_;  // keys with a TTL per db at the instant
  std::vector<bool> db_opened_;       // SELECTDB with sizing hints written
  int section_db_ = -1;               // database of the last SELECTDB
  int walk_db_ = 0;
  int walk_slot_ = 0;
  bool done_ = false;
  // Per db: keys of unwalked slots the walk must skip (saved early, or
  // created after the instant). Entries are dropped as their slot is walked.
  std::vector<absl::flat_hash_set<std::string>> skip_;
  uint64_t keys_processed_ = 0;
  uint64_t keys_total_ = 0;
  uint64_t keys_saved_early_ = 0;
  uint64_t keys_paced_ = 0;  // keys_processed_ at the last paced StepSlice
};

}  // namespace shardnode::node::persist
