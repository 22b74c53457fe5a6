// Persistence: the node's RDB file, dbfilename in `dir` (the working
// directory), and the owner of the append-only file (aof.h), which it
// loads instead of the RDB file at start-up when appendonly is yes. It
// owns SAVE (synchronous), BGSAVE (a fork-less Snapshot walked a slice at a
// time from the event loop while the node keeps serving), the
// save points (`save` directive, checked by the cron), the final save of
// SHUTDOWN/SIGTERM, loading the file at start-up (with cluster mode's
// reconciliation of keys and slots) and the INFO persistence figures.
//
// Files are written crash-safely: a temporary file in the same directory,
// fsync, rename over dbfilename, fsync of the directory. A failed save
// leaves the previous file untouched and removes the temporary one.
//
// While a snapshot is live (its own BGSAVE, or any the replication work
// registers with TrackSnapshot) it installs Server::before_write, which
// forwards to every live snapshot for copy-on-write; the hook is removed
// once none is. It sets Server::persistence to itself.
//
// Loop: the control loop (the Server's). The only other thread is a short-
// lived finisher that fsyncs and renames a finished BGSAVE file, then posts
// the outcome back to the loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "node/server/server.h"
#include "replication/rdb.h"

namespace shardnode::node::persist {

class Snapshot;
class Aof;

class Persistence {
 public:
  // Runs `fn` on the loop after `delay_us` microseconds (0: as soon as the
  // loop is free, after pending I/O). Must be callable from any thread.
  using Post = std::function<void(int64_t delay_us, std::function<void()> fn)>;

  // REQUIRES: `server` outlives this object; `post` runs tasks on the loop
  // that owns `server`.
  Persistence(Server& server, Post post);
  ~Persistence();
  Persistence(const Persistence&) = delete;
  Persistence& operator=(const Persistence&) = delete;

  // SAVE: writes the whole dataset now. Errors: FailedPrecondition
  // "Background save already in progress"; Internal with the I/O error (also
  // logged as Redis logs it). Resets the dirty counter on success.
  // `counted`: INFO rdb_saves counts it (the SAVE command; not the saves
  // of FLUSHALL, SHUTDOWN or DEBUG RELOAD, as in Redis).
  absl::Status Save(int64_t now_ms, bool counted = false);
  // BGSAVE: starts a background save. Errors: FailedPrecondition
  // "Background save already in progress"; Internal when the temp file
  // cannot be created.
  absl::Status StartBackgroundSave(int64_t now_ms);
  bool bgsave_in_progress() const { return bg_ != nullptr; }
  // Stops a running BGSAVE and removes its temporary file (SHUTDOWN).
  void AbortBackgroundSave();

  // The cron (hz times a second): save points and scheduled BGSAVEs.
  void Cron(int64_t now_ms);
  // A BGSAVE to start from the cron as soon as possible.
  void ScheduleBackgroundSave() { bgsave_scheduled_ = true; }

  // SHUTDOWN's and SIGTERM's save: aborts a running BGSAVE, then saves when
  // save points are configured (kDefault) or kSave asks for it (never with
  // kNoSave; nor while a load is in progress). Returns false when that save
  // failed and `force` is not set:
  // the node must keep running ("Error trying to save the DB, can't exit.").
  bool PrepareShutdown(ShutdownMode mode, bool force, int64_t now_ms);

  // Start-up: with appendonly yes the AOF is loaded instead (LoadAtStartup-
  // InBackground), then opened for appending. Otherwise: loads dbfilename if it exists (a missing
  // file is fine). In cluster mode, a primary then checks its keys against the slot table (keys in
  // databases other than 0 are an error; a populated slot nobody owns is claimed; one owned by
  // another node is set importing) and saves nodes.conf if it changed. Errors stop the node; the
  // file is left alone.
  absl::Status LoadAtStartup(int64_t now_ms);
  // The same as Redis does it at start: the file is loaded while the loop
  // runs, a slice of loading-process-events-interval-bytes per posted task
  // (plus key-load-delay per key), the node "loading" meanwhile (clients
  // get -LOADING, INFO persistence loading:1). Calls `done` with
  // LoadAtStartup's outcome, at once when there is no file. REQUIRES: the
  // loop will run; nothing else loads or flushes the dataset meanwhile.
  void LoadAtStartupInBackground(int64_t now_ms, std::function<void(absl::Status)> done);
  // Whether the start-up load failed on the RDB file's content (logged as
  // Redis's rdbReportError; the caller then stops the node with Redis's
  // "Terminating server after rdb file reading failure.").
  bool rdb_read_failed() const { return rdb_read_failed_; }

  // DEBUG RELOAD: SAVE (unless !save), then empty the dataset (unless
  // !flush) and load the file again; `merge`: what the file holds replaces
  // the keys and function libraries already there (NOFLUSH MERGE).
  absl::Status Reload(int64_t now_ms, bool save, bool flush, bool merge = false);

  // The keys the start-up load skipped as expired (database, key), handed
  // over once: a restarted primary continuing its replication history feeds
  // their DELs to its backlog.
  std::vector<std::pair<int, std::string>> TakeKeysExpiredAtLoad() {
    return std::move(expired_at_load_);
  }

  // The INFO persistence lines from "loading" to "rdb_last_load_keys_loaded".
  void AppendInfo(std::string& out, int64_t now_ms) const;

  // Copy-on-write fan-out (Server::before_write calls it). Also from the
  // shard threads, for their own keys: the calls of several threads are
  // serialized by a mutex; the control loop's (and every other use of the
  // snapshots) run in global steps, while no shard thread runs.
  void BeforeWrite(int db, const std::vector<std::string_view>& keys);
  // Before a change that bypasses the command path (slot deletion, dataset
  // replacement): completes every live snapshot first.
  void BeforeBulkChange();
  // Registers a snapshot made elsewhere (full sync) so that it gets
  // BeforeWrite calls until Untrack. REQUIRES: it outlives its registration.
  void TrackSnapshot(Snapshot* s);
  void UntrackSnapshot(Snapshot* s);

  // The writer options (rdbcompression, rdbchecksum, ctime) for a file
  // started at `now_ms`.
  replication::RdbWriterOptions WriterOptions(int64_t now_ms) const;

  // The append-only file (aof.h); always present, off unless appendonly.
  Aof* aof() { return aof_.get(); }
  const Aof* aof() const { return aof_.get(); }

  uint64_t saves() const { return rdb_saves_; }
  bool last_bgsave_ok() const { return last_bgsave_ok_; }

 private:
  struct Background;  // a BGSAVE in progress
  // Set while the load of a Reload with MERGE runs.
  bool reload_merge_ = false;
  struct StartupLoad;  // a load of dbfilename in progress

  // Opens dbfilename into *load (left null when there is no file).
  absl::Status OpenStartupLoad(int64_t now_ms, std::unique_ptr<StartupLoad>* load);
  // Decodes up to `max_bytes` more of the file; *finished once it ended
  // (or failed: the error names the file).
  absl::Status LoadSome(StartupLoad& load, size_t max_bytes, bool* finished);
  // After the last byte: figures, logs and cluster mode's slot checks.
  absl::Status FinishStartupLoad(StartupLoad& load);
  // Cluster mode: a primary's keys must agree with the slot table (after
  // loading the RDB or the AOF).
  absl::Status ReconcileClusterSlots();
  void BackgroundLoadStep();

  std::string FilePath() const;
  // Runs one slice of the BGSAVE and posts the next one.
  void BackgroundStep();
  // Called on the loop when the finisher is done.
  void BackgroundDone(uint64_t generation, absl::Status status);
  void JoinFinisher();
  // Installs Server::before_write while a snapshot is live, removes it after.
  void UpdateHook();

  Server& server_;
  Post post_;
  std::unique_ptr<Aof> aof_;
  std::unique_ptr<Background> bg_;
  uint64_t bg_generation_ = 0;
  std::thread finisher_;
  std::vector<Snapshot*> tracked_;
  std::mutex before_write_mutex_;  // BeforeWrite's, between shard threads
  std::unique_ptr<StartupLoad> startup_load_;
  std::function<void(absl::Status)> startup_done_;
  bool bgsave_scheduled_ = false;
  bool last_bgsave_ok_ = true;
  int64_t last_bgsave_try_ms_ = 0;
  int64_t last_bgsave_time_sec_ = -1;
  uint64_t rdb_saves_ = 0;
  uint64_t last_load_keys_loaded_ = 0;
  uint64_t last_load_keys_expired_ = 0;
  bool rdb_read_failed_ = false;
  std::vector<std::pair<int, std::string>> expired_at_load_;
};

// The INFO persistence aof_* lines (Aof::AppendInfo's, or those of an AOF
// that is off when there is no persistence).
void AppendAofInfo(NodeServices& node, int64_t now_ms, std::string& out);
// The INFO persistence lines from "loading" to "rdb_last_load_keys_loaded"
// (NodeServices::persistence()'s, or the figures of a node without
// persistence, with `changes_since_save` from the shard's statistics).
void AppendRdbInfo(NodeServices& node, uint64_t changes_since_save, int64_t now_ms,
                   std::string& out);
// The loading_* lines Redis adds at the end of INFO persistence while a load
// is in progress (nothing otherwise).
void AppendLoadingInfo(const NodeServices& node, int64_t now_ms, std::string& out);

}  // namespace shardnode::node::persist
