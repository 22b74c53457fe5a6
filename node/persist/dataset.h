// Dataset <-> RDB: conversion between the keyspace's Value and the codec's
// generic RdbValue, plus the two whole-dataset operations built on it:
// SerializeDataset (write every key of every database through an RdbWriter)
// and LoadDataset (replace the dataset with the keys of an RDB stream).
//
// These are synchronous and run on the loop that owns the Server (the
// control loop: one shard thread today). The replication work calls them
// for full syncs (primary side: SerializeDataset, or the incremental
// Snapshot of snapshot.h when it must keep serving; replica side:
// LoadDataset or DatasetLoader fed chunk by chunk from the socket).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "node/keyspace/value.h"
#include "replication/rdb.h"

namespace shardnode::node {
class Keyspace;
class Server;
}  // namespace shardnode::node

namespace shardnode::node::persist {

// The generic form of `value` (any type). Sorted sets come out in ascending
// (score, member) order, hashes and sets in their encoding's order.
replication::RdbValue ToRdbValue(const Value& value);

// A keyspace Value holding `value`, encoded as Redis 7.0.15 would after
// loading it (int/embstr/raw strings, listpack/hashtable hashes, intset/
// hashtable sets, listpack/skiplist sorted sets, quicklist lists).
Value FromRdbValue(const replication::RdbValue& value);

// Writes every key of every database (ascending db, then slot order), each
// database opened with SelectDb and its sizing hints. Keys already expired at
// `now_ms` are written too, as Redis does (loaders drop them). Does not call
// writer.End(): the caller may add to the file and must end it.
void SerializeDataset(Server& server, int64_t now_ms, replication::RdbWriter& writer);

// A dataset loaded beside the live one (repl-diskless-load swapdb, Redis's
// temp db): shards and databases shaped as the Server's, and the function
// libraries of the file, kept as code until SwapInDataset loads them.
// REQUIRES: used on the Server's loop only; the Server's shape (shards,
// databases) does not change while it lives.
struct TempDataset {
  explicit TempDataset(Server& server);
  ~TempDataset();
  TempDataset(const TempDataset&) = delete;
  TempDataset& operator=(const TempDataset&) = delete;

  std::vector<std::unique_ptr<Keyspace>> shards;
  std::vector<std::string> functions;
};

// Puts `temp`'s keys in place of the live ones, database by database (each
// live database keeps its hooks; WATCHers of every database are touched),
// and replaces the function libraries with `temp`'s. `temp` then holds the
// old keys: freeing it frees them. A snapshot in progress is completed
// first (Persistence::BeforeBulkChange). A library that does not load is
// logged and skipped (the file's libraries loaded once on its primary).
void SwapInDataset(Server& server, TempDataset& temp);

// Options of a load.
struct LoadOptions {
  // Primary: keys whose TTL has passed at `now_ms` are skipped (Redis does
  // so on a primary; a replica keeps them and waits for the primary's DEL).
  bool skip_expired = true;
  // Empties every database first (FLUSHALL without notifications to
  // replication; WATCHers are touched).
  bool flush_first = true;
  // DEBUG RELOAD MERGE: a key or function library of the file replaces the
  // one already there instead of failing the load.
  bool merge = false;
  // Loads into this dataset instead of the Server's (which it leaves
  // alone): keys into its shards, function libraries into its list.
  // REQUIRES: outlives the loader.
  TempDataset* into = nullptr;
};

// Streaming loader: an RdbHandler that stores each entry into the Server's
// keyspace as it is decoded. Use it with an RdbReader fed from a file or a
// socket; or call LoadDataset for bytes already in memory.
//
// Errors (from OnEntry / OnSelectDb): DataLoss "Duplicate key ..." when a
// key appears twice, FailedPrecondition when the file selects a db the
// server does not have (in cluster mode any db other than 0).
// REQUIRES: `server` outlives the loader; used on the Server's loop only.
class DatasetLoader : public replication::RdbHandler {
 public:
  DatasetLoader(Server& server, int64_t now_ms, LoadOptions options = {});

  absl::Status OnSelectDb(uint64_t db) override;
  absl::Status OnEntry(replication::RdbEntry entry) override;
  // A function library: loaded through Server::load_function_library
  // (DataLoss with its error when it does not load, e.g. it exists
  // already); skipped when unset.
  absl::Status OnFunction(absl::string_view library_code) override;
  // Logged as Redis does, for the first ten.
  void OnEmptyKey(absl::string_view key) override;

  uint64_t keys_loaded() const { return loaded_; }
  uint64_t expired_skipped() const { return expired_skipped_; }
  // The keys skipped as expired, each with its database, in file order: a
  // restarted primary sends their DELs to its replicas (Redis's
  // RDBFLAGS_FEED_REPL).
  std::vector<std::pair<int, std::string>> TakeExpiredKeys() { return std::move(expired_keys_); }

 private:
  Server& server_;
  int64_t now_ms_;
  LoadOptions options_;
  uint64_t db_ = 0;
  uint64_t loaded_ = 0;
  uint64_t expired_skipped_ = 0;
  uint64_t empty_skipped_ = 0;
  std::vector<std::pair<int, std::string>> expired_keys_;
};

// Replaces the dataset with the keys of `rdb_bytes`, a whole RDB file.
// On error the dataset holds what was loaded before the error (callers at
// start-up stop the node). Errors: the reader's DataLoss/Unimplemented, or
// DatasetLoader's.
absl::Status LoadDataset(Server& server, std::string_view rdb_bytes, int64_t now_ms,
                         LoadOptions options = {});

// Empties every database of every shard (touching WATCHers), as FLUSHALL,
// after completing any snapshot in progress (Persistence::BeforeBulkChange),
// and drops the function libraries (Server::flush_functions): the
// loads that follow (a full sync, a reload) replace them too.
void FlushDataset(Server& server);

}  // namespace shardnode::node::persist
