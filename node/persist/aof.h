// Aof: the append-only file, as Redis 7.0.15 keeps it: a folder
// (`appenddirname` under `dir`) holding a manifest (aof_manifest.h), one
// base file (RDB with aof-use-rdb-preamble yes, commands otherwise) and incr
// files of commands appended since.
//
// It owns:
//   - the state (off, on, waiting for the first rewrite after CONFIG SET
//     appendonly yes) and the in-memory manifest, changed on a copy that
//     becomes current only once written (temp file, fsync, rename, fsync of
//     the folder);
//   - writing: it is a WriteStream consumer; every write (SELECT, MULTI/EXEC
//     and the rewritten forms replicas get; #TS: annotations with
//     aof-timestamp-enabled) goes to a buffer. The buffer is written (and
//     with appendfsync always fsynced) once per event-loop pass, before any
//     reply of that pass leaves: while the buffer holds bytes the Server's
//     OutputGate is held, so replies wait (group commit: with always the
//     pass ends once a turn of the loop brought no more writes,
//     FlushAtPassEnd; with shard threads
//     the end of the global step writes, and shard threads' replies wait
//     for it: node/server/shard.h). With everysec an
//     fsync thread syncs once a second and a write is postponed (up to 2 s,
//     then aof_delayed_fsync) while an fsync is still running; `no` leaves
//     syncing to the kernel;
//   - write errors: with always the node exits; otherwise the data stays in
//     the buffer, writes are refused with -MISCONF (Server::aof_misconf) and
//     the cron retries every second;
//   - loading at start-up and by DEBUG LOADAOF: the base (RDB or commands),
//     then every incr file, commands run through `execute` (the
//     dispatcher) with a loader session; in slices while the loop serves
//     (-LOADING); a torn last record is truncated with aof-load-truncated;
//   - rewriting without fork (BGREWRITEAOF, automatic growth trigger, the
//     first base of CONFIG SET appendonly yes): at the start a new incr file
//     is opened and a Snapshot (snapshot.h) fixed at the same instant, so
//     the base holds exactly what precedes the new incr file; the snapshot
//     is written a slice at a time, fsynced off the loop, renamed into the
//     folder, and the manifest switched; history files are then deleted.
//
// Loop: the control loop. Other threads: the fsync worker (fsyncs and
// closes file descriptors it is handed) and a short-lived finisher that
// fsyncs a finished rewrite file and posts back to the loop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/persist/aof_manifest.h"
#include "node/server/session.h"
#include "node/server/write_stream.h"

namespace shardnode::node {
class Server;
}

namespace shardnode::node::persist {

class Persistence;

class Aof : public WriteConsumer {
 public:
  using Post = std::function<void(int64_t delay_us, std::function<void()> fn)>;
  enum class State { kOff, kOn, kWaitRewrite };

  // REQUIRES: `server` and `persistence` outlive this object; `post` runs
  // tasks on the server's loop.
  Aof(Server& server, Persistence& persistence, Post post);
  ~Aof() override;
  Aof(const Aof&) = delete;
  Aof& operator=(const Aof&) = delete;

  // Runs one command read from the file (installed by the wiring: the
  // dispatcher), with the loader's session; false (and nothing run) when
  // the command is unknown.
  std::function<bool(Session& session, std::vector<std::string>& args)> execute;

  // --- start-up ---
  // Reads the manifest (a missing folder or manifest is no error). Errors
  // carry the log lines Redis prints for a bad manifest.
  absl::Status ReadManifest();
  // Whether the manifest lists data (a base or an incr file).
  bool HasData() const { return !manifest_.NoData(); }
  // Loads every file of the manifest in slices posted to the loop (the
  // node is "loading" meanwhile), then calls `done` (at once when there is
  // nothing to load). The error names the file (and offset) that failed.
  void LoadInBackground(int64_t now_ms, std::function<void(absl::Status)> done);
  // After the load, with appendonly yes: creates the folder, a base when
  // there was no data, opens (or creates) the last incr file, writes the
  // manifest, deletes history files, and subscribes to the write stream.
  absl::Status OpenAtStartup();

  // --- WriteConsumer ---
  bool WantsWrites() const override;
  WriteTargets kind() const override { return kToAof; }
  void OnWrite(const StreamWrite& write) override;
  bool HoldsReplies() const override { return true; }

  // --- the loop ---
  // hz times a second: retries after write errors, everysec fsyncs and
  // postponed writes, the automatic rewrite, scheduled rewrites.
  void Cron(int64_t now_ms);
  // BGREWRITEAOF. `in_exec`: inside a transaction (scheduled instead).
  // Returns the reply line ("Background append only file rewriting
  // started" / "... scheduled") or an error status with Redis's text.
  absl::StatusOr<std::string> BackgroundRewriteCommand(bool in_exec, int64_t now_ms);
  // CONFIG SET appendonly yes / no. Errors: "Unable to turn on AOF. Check
  // server logs."
  absl::Status SetEnabled(bool on, bool in_exec, int64_t now_ms);
  // DEBUG LOADAOF: flush, empty the dataset (functions included), read the
  // manifest again and load it synchronously. Any failure exits the node,
  // as Redis does.
  void DebugLoadAof();
  // SHUTDOWN / SIGTERM: false (with the log line) when the first rewrite of
  // a runtime enable is running and !force; else stops a rewrite and
  // flushes and fsyncs the file.
  bool PrepareShutdown(bool force);

  // Re-reads the directives it caches (CONFIG SET calls it).
  void RefreshConfig();
  // DEBUG AOF-FLUSH-SLEEP: each non-empty flush first sleeps this long.
  void set_flush_sleep_us(int64_t us) { flush_sleep_us_ = us; }

  // INFO persistence: the aof_* lines.
  void AppendInfo(std::string& out, int64_t now_ms) const;
  State state() const { return state_; }
  bool rewrite_in_progress() const { return rw_ != nullptr; }

 private:
  struct Load;
  struct Rewrite;
  struct FsyncJob {
    int fd;
    bool close;
    uint64_t offset;  // incr size synced by this job (fsync only)
  };

  std::string FolderPath() const;
  std::string PathIn(const std::string& name) const;
  const std::string& filename() const;
  bool BoolConfig(const char* name, bool fallback) const;
  int64_t UnixSeconds() const;

  // Writes `m` to disk crash-safely; logs Redis's lines on failure.
  bool PersistManifest(const AofManifest& m);
  bool EnsureFolder();
  // The upgrade from a pre-7.0 single file (`dir`/appendfilename): moved
  // into a new folder as its base, as Redis 7.0 does.
  absl::Status MaybeUpgrade();
  // Deletes the history files and persists the manifest without them.
  void DeleteHistory();

  // flushAppendOnlyFile: writes the buffer (and fsyncs per policy).
  void Flush(bool force);
  // Holds the OutputGate and posts FlushAtPassEnd (once per pass).
  void PostFlush();
  // The posted end of the pass, Redis's beforeSleep: with appendfsync
  // always, once a turn of the loop brought no more writes (the reads its
  // reactor found ready ran first), or after kMaxPassHops turns; at once
  // otherwise. Then FlushPosted.
  static constexpr int kMaxPassHops = 16;
  void FlushAtPassEnd();
  // The pass's flush (or the gate's ReleaseNow, whichever comes first):
  // writes and releases the gate.
  void FlushPosted();
  void ScheduleFsync();
  void FsyncWorker();
  void SubmitJob(FsyncJob job);
  void UpdateMisconf();

  // Load steps.
  void LoadStep();
  absl::Status LoadSome(Load& load, size_t budget, bool* finished);
  absl::Status OpenLoadFile(Load& load);
  absl::Status EndOfFile(Load& load, bool truncated);
  void FinishLoad(absl::Status st);

  // Rewrite.
  absl::Status StartRewrite(int64_t now_ms);
  void RewriteStep();
  void RewriteDone(uint64_t generation, absl::Status st);
  void AbortRewrite(bool log_kill);
  void RewriteFailed();
  // Writes a complete base to `path` now (start-up's first base).
  absl::Status WriteBaseNow(const std::string& path, int64_t now_ms);
  void JoinFinisher();

  Server& server_;
  Persistence& persistence_;
  Post post_;
  State state_ = State::kOff;
  AofManifest manifest_;

  int fd_ = -1;
  uint64_t incr_size_ = 0;     // bytes written to the current incr file
  uint64_t current_size_ = 0;  // aof_current_size
  uint64_t rewrite_base_size_ = 0;
  std::string buf_;
  bool flush_posted_ = false;
  size_t pass_seen_ = 0;     // buf_'s size at FlushAtPassEnd's last look
  int pass_hops_ = 0;        // its turns this pass
  int64_t cur_ts_ = 0;       // the last #TS: annotation written
  bool timestamps_ = false;  // aof-timestamp-enabled (read by the cron)
  int64_t flush_sleep_us_ = 0;

  bool write_error_ = false;
  int write_errno_ = 0;
  int64_t last_write_error_log_s_ = 0;
  int64_t last_write_retry_ms_ = 0;
  int64_t last_fsync_s_ = 0;
  int64_t postponed_start_s_ = 0;
  uint64_t delayed_fsync_ = 0;
  uint64_t synced_offset_ = 0;  // incr size covered by the last fsync asked

  // fsync worker.
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<FsyncJob> jobs_;
  bool stop_worker_ = false;
  std::atomic<int> pending_fsyncs_{0};
  std::atomic<int> fsync_errno_{0};

  // Rewrite.
  std::unique_ptr<Rewrite> rw_;
  uint64_t rw_generation_ = 0;
  std::thread finisher_;
  bool rewrite_scheduled_ = false;
  int64_t last_rewrite_time_s_ = -1;
  bool last_bgrewrite_ok_ = true;
  uint64_t rewrites_ = 0;
  uint64_t consecutive_failures_ = 0;
  int64_t next_retry_ms_ = 0;

  // Loading.
  std::unique_ptr<Load> load_;
  std::function<void(absl::Status)> load_done_;
  Session loader_;
};

}  // namespace shardnode::node::persist
