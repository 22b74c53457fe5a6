#include "node/persist/snapshot.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/persist/dataset.h"
#include "node/server/server.h"
#include "slots/hash_slot.h"

namespace shardnode::node::persist {
namespace {

// Lookups and walks ignore the clock: the snapshot keeps expired keys, and
// must not reap any (that would change the dataset behind the client).
constexpr int64_t kNoClock = std::numeric_limits<int64_t>::min();

absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace

Snapshot::Snapshot(Server& server, replication::RdbWriterOptions options, SnapshotFilter filter)
    : server_(server),
      writer_(std::move(options)),
      num_dbs_(server.shard(0).num_dbs()),
      db_keys_(num_dbs_, 0),
      db_expires_(num_dbs_, 0),
      db_opened_(num_dbs_, false),
      skip_(num_dbs_) {
  // Function libraries come before the first database, as in Redis.
  if (server_.function_library_codes && filter.functions) {
    for (const std::string& code : server_.function_library_codes()) writer_.Function(code);
  }
  if (!filter.keys) {
    writer_.End();
    done_ = true;
    return;
  }
  for (int d = 0; d < num_dbs_; ++d) {
    for (int s = 0; s < server_.num_shards(); ++s) {
      db_keys_[d] += server_.shard(s).db(d).Size();
      db_expires_[d] += server_.shard(s).db(d).expires_count();
    }
    keys_total_ += db_keys_[d];
  }
  // Start at the first database that holds keys.
  while (walk_db_ < num_dbs_ && db_keys_[walk_db_] == 0) ++walk_db_;
  if (walk_db_ == num_dbs_) {
    writer_.End();
    done_ = true;
  }
}

void Snapshot::OpenDb(int db) {
  if (section_db_ == db) return;
  if (!db_opened_[db]) {
    writer_.SelectDb(static_cast<uint64_t>(db), db_keys_[db], db_expires_[db]);
    db_opened_[db] = true;
  } else {
    writer_.SelectDb(static_cast<uint64_t>(db), 0, 0);
  }
  section_db_ = db;
}

void Snapshot::WriteEntry(int db, const Entry& e) {
  OpenDb(db);
  const Db& owner = server_.ShardForSlot(slots::KeyHashSlot(e.key())).db(db);
  writer_.Entry(AbslView(e.key()), ToRdbValue(e.value()), owner.ExpireOf(&e));
  ++keys_processed_;
}

size_t Snapshot::WalkSlot() {
  Db& db = server_.ShardForSlot(walk_slot_).db(walk_db_);
  if (db.CountKeysInSlot(walk_slot_) == 0) return 0;
  absl::flat_hash_set<std::string>& skip = skip_[walk_db_];
  size_t written = 0;
  db.Scan(
      static_cast<uint64_t>(walk_slot_), std::numeric_limits<size_t>::max(), kNoClock,
      [&](const Entry& e) {
        if (!skip.empty()) {
          auto it = skip.find(AbslView(e.key()));
          if (it != skip.end()) {
            skip.erase(it);
            return;
          }
        }
        WriteEntry(walk_db_, e);
        ++written;
      },
      walk_slot_ + 1);
  return written;
}

void Snapshot::Advance() {
  if (++walk_slot_ < slots::kNumSlots) return;
  walk_slot_ = 0;
  // Whatever is left to skip in this database belonged to keys deleted since.
  skip_[walk_db_].clear();
  do {
    ++walk_db_;
  } while (walk_db_ < num_dbs_ && db_keys_[walk_db_] == 0);
  if (walk_db_ == num_dbs_) {
    writer_.End();
    done_ = true;
  }
}

bool Snapshot::StepSlice(int64_t key_delay_us, int64_t* delay_us) {
  *delay_us = 0;
  if (key_delay_us > 0) {
    // Keys saved early by writes since the last slice cost their delay too,
    // as every key costs it in Redis's child: this slice is then only their
    // bytes, and the walk goes on after their delay.
    if (const uint64_t early = keys_processed() - keys_paced_; early > 0) {
      *delay_us = key_delay_us * static_cast<int64_t>(early);
      keys_paced_ = keys_processed();
      return done();
    }
    Step(1);
    *delay_us = key_delay_us *
                static_cast<int64_t>(std::max<uint64_t>(1, keys_processed() - keys_paced_));
    keys_paced_ = keys_processed();
    return done();
  }
  const auto start = std::chrono::steady_clock::now();
  while (!Step(kKeysPerStep) && std::chrono::steady_clock::now() - start < kSliceBudget) {
  }
  return done();
}

bool Snapshot::Step(size_t key_budget) {
  size_t written = 0;
  while (!done_ && written < key_budget) {
    written += WalkSlot();
    Advance();
  }
  return done_;
}

void Snapshot::Finish() {
  while (!done_) Step(std::numeric_limits<size_t>::max());
}

void Snapshot::BeforeWrite(int db, const std::vector<std::string_view>& keys) {
  if (done_) return;
  if (keys.empty()) {
    Finish();
    return;
  }
  for (std::string_view key : keys) {
    const int slot = slots::KeyHashSlot(key);
    // A command of database `db` may also write the same name in another
    // database (MOVE, COPY ... DB n): cover every database. One that was
    // empty at the instant has nothing to save.
    (void)db;
    for (int d = 0; d < num_dbs_; ++d) {
      if (db_keys_[d] == 0) continue;
      if (Walked(d, slot)) continue;
      auto [it, inserted] = skip_[d].emplace(key);
      if (!inserted) continue;  // already saved, or created after the instant
      const Entry* e = server_.ShardForSlot(slot).db(d).Find(key, kNoClock, false);
      if (e != nullptr) {
        WriteEntry(d, *e);
        ++keys_saved_early_;
      }
    }
  }
}

}  // namespace shardnode::node::persist
