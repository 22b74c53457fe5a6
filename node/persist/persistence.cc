#include "node/persist/persistence.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/file.h"
#include "clusterbus/cluster_state.h"
#include "clusterbus/slot_migration.h"
#include "node/config/config.h"
#include "node/keyspace/keyspace.h"
#include "node/persist/aof.h"
#include "node/persist/dataset.h"
#include "node/persist/snapshot.h"
#include "node/server/log.h"
#include "node/server/nodes_conf_file.h"
#include "node/server/replication_control.h"
#include "slots/hash_slot.h"

namespace shardnode::node::persist {
namespace {

// Redis retries a failed automatic BGSAVE after this long.
constexpr int64_t kBgsaveRetryDelayMs = 5000;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ErrnoText(int err) { return std::strerror(err); }

std::string CurrentDir() {
  char buf[4096];
  return getcwd(buf, sizeof(buf)) ? std::string(buf) : std::string("unknown");
}

using base::WriteAll;

// fsync, close, rename over `final_path`, fsync the directory. Takes `fd`.
// On failure the temp file is removed; the message names the failed step.
absl::Status CommitFile(int fd, const std::string& tmp_path, const std::string& final_path) {
  // Redis closes the file before the rename (rdbSave's fclose).
  bool still_open = true;
  const base::ReplaceResult r = base::CommitReplace(fd, tmp_path, final_path, [&](int f) {
    still_open = false;
    return close(f) == 0 ? 0 : errno;
  });
  if (still_open) close(fd);
  const char* op = "";
  switch (r.failed) {
    case base::ReplaceStep::kNone:
      return absl::OkStatus();
    case base::ReplaceStep::kFsync:
      op = "fsync";
      break;
    case base::ReplaceStep::kBeforeRename:
      op = "fclose";
      break;
    case base::ReplaceStep::kRename:
      op = "rename";
      break;
    case base::ReplaceStep::kFsyncDir:
      op = "fsyncFileDir";
      break;
  }
  return absl::InternalError(
      absl::StrCat("Write error saving DB on disk(", op, "): ", ErrnoText(r.err)));
}

}  // namespace

struct Persistence::Background {
  std::unique_ptr<Snapshot> snapshot;
  int fd = -1;
  std::string tmp_path;
  std::string final_path;
  int64_t start_ms = 0;
  uint64_t dirty_before = 0;
  int64_t key_delay_us = 0;  // rdb-key-save-delay
  uint64_t generation = 0;
  bool finishing = false;  // the finisher thread owns fd
};

namespace {

// Whether this node starts as a primary: only a primary drops the keys of
// its file whose TTL has passed; a replica (myself a replica in nodes.conf,
// or replicaof in standalone mode) keeps them until its primary's DELs.
bool WillBePrimary(Server& server) {
  if (clusterbus::ClusterState* cluster = server.cluster()) {
    return !cluster->myself().is_replica();
  }
  return server.options().replicaof_host.empty();
}

}  // namespace

// A load of dbfilename in progress: the open file and the decoder's state.
struct Persistence::StartupLoad {
  StartupLoad(Server& server, int64_t now_ms, int fd, bool merge)
      : fd(fd), loader(server, now_ms, {.skip_expired = WillBePrimary(server), .merge = merge}) {}
  ~StartupLoad() { close(fd); }
  int fd;
  DatasetLoader loader;
  replication::RdbReader reader;
  std::string buf;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

Persistence::Persistence(Server& server, Post post) : server_(server), post_(std::move(post)) {
  server_.set_persistence(this);
  aof_ = std::make_unique<Aof>(server_, *this, post_);
}

void Persistence::UpdateHook() {
  // The dispatcher pays for collecting the keys of every write only while
  // some snapshot needs them.
  const bool needed = (bg_ && bg_->snapshot && !bg_->snapshot->done()) || !tracked_.empty();
  if (needed && !server_.before_write) {
    server_.before_write = [this](int db, const std::vector<std::string_view>& keys) {
      BeforeWrite(db, keys);
    };
  } else if (!needed && server_.before_write) {
    server_.before_write = nullptr;
  }
}

Persistence::~Persistence() {
  aof_.reset();
  AbortBackgroundSave();
  JoinFinisher();
  server_.before_write = nullptr;
  server_.set_persistence(nullptr);
}

std::string Persistence::FilePath() const {
  return absl::StrCat(CurrentDir(), "/", server_.options().dbfilename);
}

replication::RdbWriterOptions Persistence::WriterOptions(int64_t now_ms) const {
  replication::RdbWriterOptions o;
  o.compression = server_.options().rdbcompression;
  o.checksum = server_.config().Value("rdbchecksum").value_or("yes") == "yes";
  o.ctime_s = now_ms / 1000;
  // repl-id / repl-offset: a restarted node continues with a partial resync.
  if (server_.replication() != nullptr) server_.replication()->FillRdbReplInfo(o);
  return o;
}

absl::Status Persistence::Save(int64_t now_ms, bool counted) {
  if (bg_) return absl::FailedPreconditionError("Background save already in progress");
  if (counted) ++rdb_saves_;
  const std::string tmp = absl::StrCat("temp-", getpid(), ".rdb");
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const std::string msg = absl::StrFormat(
        "Failed opening the temp RDB file %s (in server root dir %s) for saving: %s", tmp,
        CurrentDir(), ErrnoText(errno));
    Log(LogLevel::kWarning, msg);
    // A failed SAVE leaves rdb_last_bgsave_status (and MISCONF) as it was,
    // as Redis's rdbSave does; only a successful one sets it ok.
    return absl::InternalError(msg);
  }
  Snapshot snap(server_, WriterOptions(now_ms));
  // rdb-key-save-delay (microseconds per key, for tests) slows this save
  // down too, as Redis's rdbSave: the loop waits meanwhile.
  int64_t key_delay_us = 0;
  if (auto v = server_.config().Value("rdb-key-save-delay")) {
    (void)absl::SimpleAtoi(*v, &key_delay_us);
  }
  int err = 0;
  while (err == 0) {
    bool done;
    if (key_delay_us > 0) {
      int64_t delay_us = 0;
      done = snap.StepSlice(key_delay_us, &delay_us);
      if (delay_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
    } else {
      done = snap.Step(64 * Snapshot::kKeysPerStep);
    }
    err = WriteAll(fd, snap.TakeOutput());
    if (done) break;
  }
  absl::Status st;
  if (err != 0) {
    close(fd);
    unlink(tmp.c_str());
    st = absl::InternalError(
        absl::StrCat("Write error saving DB on disk(rdbSaveRio): ", ErrnoText(err)));
  } else {
    st = CommitFile(fd, tmp, server_.options().dbfilename);
  }
  if (!st.ok()) {
    Log(LogLevel::kWarning, std::string(st.message()));
    return st;
  }
  Log(LogLevel::kNotice, "DB saved on disk");
  server_.SetDirty(0);
  server_.set_last_save_ms(WallMs());
  last_bgsave_ok_ = true;
  return absl::OkStatus();
}

absl::Status Persistence::StartBackgroundSave(int64_t now_ms) {
  if (bg_) return absl::FailedPreconditionError("Background save already in progress");
  bgsave_scheduled_ = false;
  ++rdb_saves_;
  last_bgsave_try_ms_ = now_ms;
  auto bg = std::make_unique<Background>();
  bg->final_path = FilePath();
  bg->tmp_path = absl::StrCat(CurrentDir(), "/temp-bgsave-", getpid(), ".rdb");
  bg->fd = open(bg->tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (bg->fd < 0) {
    const std::string msg = absl::StrFormat("Failed opening the temp RDB file %s for saving: %s",
                                            bg->tmp_path, ErrnoText(errno));
    Log(LogLevel::kWarning, msg);
    last_bgsave_ok_ = false;
    return absl::InternalError(msg);
  }
  bg->snapshot = std::make_unique<Snapshot>(server_, WriterOptions(now_ms));
  bg->start_ms = now_ms;
  bg->dirty_before = server_.TotalStat(&Stats::dirty);
  int64_t delay = 0;
  if (auto v = server_.config().Value("rdb-key-save-delay")) (void)absl::SimpleAtoi(*v, &delay);
  bg->key_delay_us = std::max<int64_t>(0, delay);
  bg->generation = ++bg_generation_;
  bg_ = std::move(bg);
  UpdateHook();
  Logf(LogLevel::kNotice, "Background saving started by pid %d", static_cast<int>(getpid()));
  const uint64_t gen = bg_->generation;
  post_(0, [this, gen] {
    if (bg_ && bg_->generation == gen) BackgroundStep();
  });
  return absl::OkStatus();
}

void Persistence::BackgroundStep() {
  Background& bg = *bg_;
  Snapshot& snap = *bg.snapshot;
  int64_t delay_us = 0;
  const bool done = snap.StepSlice(bg.key_delay_us, &delay_us);
  const int err = WriteAll(bg.fd, snap.TakeOutput());
  if (err != 0) {
    Logf(LogLevel::kWarning, "Write error saving DB on disk(rdbSaveRio): %s", ErrnoText(err));
    Log(LogLevel::kWarning, "Background saving error");
    close(bg.fd);
    unlink(bg.tmp_path.c_str());
    last_bgsave_ok_ = false;
    last_bgsave_time_sec_ = (WallMs() - bg.start_ms) / 1000;
    bg_.reset();
    UpdateHook();
    return;
  }
  const uint64_t gen = bg.generation;
  if (!done) {
    post_(delay_us, [this, gen] {
      if (bg_ && bg_->generation == gen && !bg_->finishing) BackgroundStep();
    });
    return;
  }
  // The image is complete: fsync and rename off the loop.
  bg.snapshot.reset();
  UpdateHook();
  bg.finishing = true;
  JoinFinisher();
  finisher_ = std::thread([this, gen, fd = bg.fd, tmp = bg.tmp_path, fin = bg.final_path] {
    absl::Status st = CommitFile(fd, tmp, fin);
    post_(0, [this, gen, st] { BackgroundDone(gen, st); });
  });
}

void Persistence::BackgroundDone(uint64_t generation, absl::Status status) {
  if (!bg_ || bg_->generation != generation) return;
  JoinFinisher();
  const int64_t now = WallMs();
  last_bgsave_time_sec_ = (now - bg_->start_ms) / 1000;
  if (status.ok()) {
    Log(LogLevel::kNotice, "DB saved on disk");
    Log(LogLevel::kNotice, "Background saving terminated with success");
    const uint64_t dirty = server_.TotalStat(&Stats::dirty);
    server_.SetDirty(dirty >= bg_->dirty_before ? dirty - bg_->dirty_before : 0);
    server_.set_last_save_ms(now);
    last_bgsave_ok_ = true;
  } else {
    Log(LogLevel::kWarning, std::string(status.message()));
    Log(LogLevel::kWarning, "Background saving error");
    last_bgsave_ok_ = false;
  }
  bg_.reset();
  UpdateHook();
}

void Persistence::JoinFinisher() {
  if (finisher_.joinable()) finisher_.join();
}

void Persistence::AbortBackgroundSave() {
  if (!bg_) return;
  Log(LogLevel::kWarning, "There is a background save in progress. Stopping it!");
  if (bg_->finishing) {
    // The finisher owns the file and is almost done; let it finish.
    JoinFinisher();
  } else {
    close(bg_->fd);
    unlink(bg_->tmp_path.c_str());
  }
  bg_.reset();
  ++bg_generation_;
  UpdateHook();
}

void Persistence::Cron(int64_t now_ms) {
  aof_->Cron(now_ms);
  if (bg_) return;
  if (bgsave_scheduled_) {
    (void)StartBackgroundSave(now_ms);
    return;
  }
  const int64_t last_save = server_.last_save_ms() ? server_.last_save_ms() : server_.start_ms();
  const uint64_t dirty = server_.TotalStat(&Stats::dirty);
  for (const SavePoint& sp : server_.options().save) {
    if (dirty < static_cast<uint64_t>(sp.changes)) continue;
    if ((now_ms - last_save) / 1000 <= sp.seconds) continue;
    if (!last_bgsave_ok_ && now_ms - last_bgsave_try_ms_ <= kBgsaveRetryDelayMs) continue;
    Logf(LogLevel::kNotice, "%d changes in %d seconds. Saving...", sp.changes, sp.seconds);
    (void)StartBackgroundSave(now_ms);
    return;
  }
}

bool Persistence::PrepareShutdown(ShutdownMode mode, bool force, int64_t now_ms) {
  if (!aof_->PrepareShutdown(force)) return false;
  AbortBackgroundSave();
  // A half-loaded dataset is never saved (Redis forces NOSAVE while loading).
  const bool save = !server_.loading().active &&
                    (mode == ShutdownMode::kSave ||
                     (mode == ShutdownMode::kDefault && !server_.options().save.empty()));
  if (!save) return true;
  Log(LogLevel::kNotice, "Saving the final RDB snapshot before exiting.");
  if (Save(now_ms).ok()) return true;
  if (force) {
    Log(LogLevel::kWarning, "Error trying to save the DB. Exit anyway.");
    return true;
  }
  Log(LogLevel::kWarning, "Error trying to save the DB, can't exit.");
  return false;
}

absl::Status Persistence::OpenStartupLoad(int64_t now_ms, std::unique_ptr<StartupLoad>* load) {
  const int fd = open(server_.options().dbfilename.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::InternalError(
        absl::StrFormat("Fatal error loading the DB: %s. Exiting.", ErrnoText(errno)));
  }
  *load = std::make_unique<StartupLoad>(server_, now_ms, fd, reload_merge_);
  return absl::OkStatus();
}

absl::Status Persistence::LoadSome(StartupLoad& load, size_t max_bytes, bool* finished) {
  *finished = false;
  load.buf.resize(std::max<size_t>(1, max_bytes));
  absl::Status st;
  for (;;) {
    const ssize_t n = read(load.fd, load.buf.data(), load.buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      st = absl::InternalError(ErrnoText(errno));
    } else if (n == 0) {
      st = load.reader.Finish();
      *finished = true;
    } else {
      auto progress =
          load.reader.Feed(absl::string_view(load.buf.data(), static_cast<size_t>(n)), load.loader);
      if (!progress.ok()) {
        st = progress.status();
      } else if (*progress == replication::RdbReader::Progress::kDone) {
        *finished = true;
        // Nothing may follow the checksum.
        char extra;
        if (!load.reader.Remaining().empty() || read(load.fd, &extra, 1) > 0) {
          st = absl::DataLossError("Trailing bytes after the RDB checksum");
        }
      }
    }
    break;
  }
  if (st.ok()) return st;
  *finished = true;
  if (st.code() == absl::StatusCode::kDataLoss) {
    // What Redis's rdbReportError logs before it stops the server.
    Logf(LogLevel::kWarning, "Internal error in RDB reading offset %d -> %s",
         load.reader.Consumed(), std::string(st.message()));
    rdb_read_failed_ = true;
  }
  return absl::DataLossError(absl::StrFormat("Fatal error loading the DB (%s in %s): %s. Exiting.",
                                             server_.options().dbfilename, CurrentDir(),
                                             st.message()));
}

absl::Status Persistence::LoadAtStartup(int64_t now_ms) {
  std::unique_ptr<StartupLoad> load;
  absl::Status st = OpenStartupLoad(now_ms, &load);
  if (!st.ok() || load == nullptr) return st;
  bool finished = false;
  while (!finished) {
    st = LoadSome(*load, 1 << 20, &finished);
    if (!st.ok()) return st;
  }
  return FinishStartupLoad(*load);
}

void Persistence::LoadAtStartupInBackground(int64_t now_ms,
                                            std::function<void(absl::Status)> done) {
  if (server_.options().appendonly) {
    // Redis 7.0: with appendonly yes only the AOF is read, never dbfilename.
    absl::Status st = aof_->ReadManifest();
    if (!st.ok()) {
      done(st);
      return;
    }
    aof_->LoadInBackground(now_ms, [this, done = std::move(done)](absl::Status st) {
      if (st.ok()) st = ReconcileClusterSlots();
      if (st.ok()) st = aof_->OpenAtStartup();
      done(st);
    });
    return;
  }
  absl::Status st = OpenStartupLoad(now_ms, &startup_load_);
  if (!st.ok() || startup_load_ == nullptr) {
    done(st);
    return;
  }
  struct stat info;
  server_.mutable_loading() = LoadingState{.active = true, .start_ms = now_ms};
  if (fstat(startup_load_->fd, &info) == 0) {
    server_.mutable_loading().total_bytes = static_cast<uint64_t>(info.st_size);
  }
  startup_done_ = std::move(done);
  post_(0, [this]() { BackgroundLoadStep(); });
}

void Persistence::BackgroundLoadStep() {
  if (startup_load_ == nullptr) return;
  StartupLoad& load = *startup_load_;
  const int64_t interval =
      server_.config().IntValue("loading-process-events-interval-bytes", 2 * 1024 * 1024);
  const uint64_t keys_before = load.loader.keys_loaded();
  bool finished = false;
  absl::Status st = LoadSome(load, static_cast<size_t>(std::max<int64_t>(1, interval)), &finished);
  server_.mutable_loading().loaded_bytes = load.reader.Consumed();
  if (!finished) {
    // key-load-delay (a testing knob): microseconds per key just loaded.
    const int64_t delay = server_.config().IntValue("key-load-delay", 0);
    const int64_t keys = static_cast<int64_t>(load.loader.keys_loaded() - keys_before);
    post_(delay > 0 ? delay * keys : 0, [this]() { BackgroundLoadStep(); });
    return;
  }
  if (st.ok()) st = FinishStartupLoad(load);
  startup_load_.reset();
  server_.mutable_loading() = LoadingState();
  std::function<void(absl::Status)> done = std::move(startup_done_);
  done(st);
}

absl::Status Persistence::FinishStartupLoad(StartupLoad& load) {
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load.start).count();
  last_load_keys_loaded_ = load.loader.keys_loaded();
  last_load_keys_expired_ = load.loader.expired_skipped();
  expired_at_load_ = load.loader.TakeExpiredKeys();
  Logf(LogLevel::kNotice, "DB loaded from disk: %.3f seconds", secs);
  if (const uint64_t empty = load.reader.EmptyKeysSkipped(); empty != 0) {
    Logf(LogLevel::kWarning,
         "Done loading RDB, keys loaded: %d, keys expired: %d, empty keys skipped: %d.",
         last_load_keys_loaded_, last_load_keys_expired_, empty);
  } else {
    Logf(LogLevel::kNotice, "Done loading RDB, keys loaded: %d, keys expired: %d.",
         last_load_keys_loaded_, last_load_keys_expired_);
  }
  return ReconcileClusterSlots();
}

absl::Status Persistence::ReconcileClusterSlots() {
  clusterbus::ClusterState* cluster = server_.cluster();
  if (cluster == nullptr || cluster->myself().is_replica()) return absl::OkStatus();
  // Cluster mode: the data must agree with the slot table. Keys of a slot
  // in the drop record that is not mine are an atomic import's staged keys
  // (or an export's or failed import's left to delete): they are hidden
  // here, never served nor counted, and the migrator deletes them
  // (AtomicMigrator::DropOrphanHiddenSlots), which clears the record.
  slots::SlotSet dropped;
  const std::string& conf_path = server_.options().cluster_config_file;
  absl::StatusOr<slots::SlotSet> record = ReadDropRecord(DropRecordPath(conf_path));
  if (record.ok()) {
    dropped = *record;
  } else {
    Logf(LogLevel::kWarning, "Ignoring the atomic slot migration record: %s",
         std::string(record.status().message()));
  }
  bool changed = false;
  slots::SlotSet to_hide;
  for (int slot = 0; slot < slots::kNumSlots; ++slot) {
    if (server_.ShardForSlot(slot).db(0).CountKeysInSlot(slot) == 0) continue;
    const clusterbus::ClusterNode* owner = cluster->SlotOwner(slot);
    switch (clusterbus::DecideStartupSlot(owner == &cluster->myself(),
                                          cluster->ImportingFrom(slot) != nullptr, owner != nullptr,
                                          dropped.Test(slot))) {
      case clusterbus::StartupSlotFate::kKeep:
        break;
      case clusterbus::StartupSlotFate::kDrop:
        if (!server_.SlotHidden(slot)) {
          Logf(LogLevel::kWarning,
               "I have keys for slot %d from an atomic slot migration that did not finish. "
               "Dropping them.",
               slot);
        }
        to_hide.Set(slot);
        break;
      case clusterbus::StartupSlotFate::kTakeOwnership:
        Logf(LogLevel::kWarning,
             "I have keys for unassigned slot %d. Taking responsibility for it.", slot);
        cluster->BindSlot(slot, cluster->myself());
        changed = true;
        break;
      case clusterbus::StartupSlotFate::kSetImporting:
        Logf(LogLevel::kWarning,
             "I have keys for slot %d, but the slot is assigned to another node. Setting it to "
             "importing state.",
             slot);
        cluster->SetImporting(slot, cluster->FindNode(owner->id));
        changed = true;
        break;
    }
  }
  server_.SetSlotsHidden(to_hide, true);
  // The record keeps what is still to drop (and a running import's slots,
  // on DEBUG RELOAD); slots left without keys leave it.
  slots::SlotSet still = server_.hidden_slots();
  if (record.ok() && !(still == dropped)) {
    if (absl::Status st = WriteDropRecord(DropRecordPath(conf_path), still); !st.ok()) {
      Logf(LogLevel::kWarning, "Can't update the atomic slot migration record: %s",
           std::string(st.message()));
    }
  }
  if (changed) server_.PublishSlotTable();
  if (changed && server_.save_cluster_config) {
    std::string error;
    if (!server_.save_cluster_config(true, &error)) {
      return absl::InternalError(absl::StrCat("Fatal: can't update cluster config file: ", error));
    }
  }
  return absl::OkStatus();
}

absl::Status Persistence::Reload(int64_t now_ms, bool save, bool flush, bool merge) {
  AbortBackgroundSave();
  if (save) {
    absl::Status st = Save(now_ms);
    if (!st.ok()) return st;
  }
  BeforeBulkChange();
  if (flush) FlushDataset(server_);
  reload_merge_ = merge;
  absl::Status st = LoadAtStartup(now_ms);
  reload_merge_ = false;
  return st;
}

void Persistence::AppendInfo(std::string& out, int64_t now_ms) const {
  const int64_t last_save = server_.last_save_ms() ? server_.last_save_ms() : server_.start_ms();
  uint64_t processed = 0, total = 0;
  double perc = 0;
  if (bg_ && bg_->snapshot) {
    processed = bg_->snapshot->keys_processed();
    total = bg_->snapshot->keys_total();
    if (total > 0) perc = 100.0 * static_cast<double>(processed) / static_cast<double>(total);
  }
  const LoadingState& l = server_.loading();
  // A full sync's image counts as Redis's RDB child for replication.
  const ReplicationControl* repl = server_.replication();
  const bool sync_image = repl != nullptr && repl->producing_sync_image();
  absl::StrAppend(
      &out, "loading:", l.active && !l.async ? 1 : 0, "\r\nasync_loading:", l.async ? 1 : 0, "\r\n",
      "current_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\n",
      "current_fork_perc:", absl::StrFormat("%.2f", perc), "\r\n",
      "current_save_keys_processed:", processed, "\r\n", "current_save_keys_total:", total, "\r\n");
  absl::StrAppend(&out, "rdb_changes_since_last_save:", server_.TotalStat(&Stats::dirty), "\r\n",
                  "rdb_bgsave_in_progress:", bg_ || sync_image ? 1 : 0, "\r\n",
                  "rdb_last_save_time:", last_save / 1000, "\r\n",
                  "rdb_last_bgsave_status:", last_bgsave_ok_ ? "ok" : "err", "\r\n",
                  "rdb_last_bgsave_time_sec:", last_bgsave_time_sec_, "\r\n",
                  "rdb_current_bgsave_time_sec:", bg_ ? (now_ms - bg_->start_ms) / 1000 : -1,
                  "\r\n", "rdb_saves:", rdb_saves_, "\r\n", "rdb_last_cow_size:0\r\n",
                  "rdb_last_load_keys_expired:", last_load_keys_expired_, "\r\n",
                  "rdb_last_load_keys_loaded:", last_load_keys_loaded_, "\r\n");
}

void Persistence::BeforeWrite(int db, const std::vector<std::string_view>& keys) {
  std::lock_guard<std::mutex> lock(before_write_mutex_);
  if (bg_ && bg_->snapshot) bg_->snapshot->BeforeWrite(db, keys);
  for (Snapshot* s : tracked_) s->BeforeWrite(db, keys);
}

void Persistence::BeforeBulkChange() {
  if (bg_ && bg_->snapshot) bg_->snapshot->Finish();
  for (Snapshot* s : tracked_) s->Finish();
}

void Persistence::TrackSnapshot(Snapshot* s) {
  tracked_.push_back(s);
  UpdateHook();
}

void Persistence::UntrackSnapshot(Snapshot* s) {
  tracked_.erase(std::remove(tracked_.begin(), tracked_.end(), s), tracked_.end());
  UpdateHook();
}

void AppendRdbInfo(NodeServices& node, uint64_t changes_since_save, int64_t now_ms,
                   std::string& out) {
  if (node.persistence() != nullptr) {
    node.persistence()->AppendInfo(out, now_ms);
    return;
  }
  const int64_t last_save = node.last_save_ms() ? node.last_save_ms() : node.start_ms();
  const LoadingState& l = node.loading();
  absl::StrAppend(&out, "loading:", l.active && !l.async ? 1 : 0,
                  "\r\nasync_loading:", l.async ? 1 : 0,
                  "\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n"
                  "current_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\n"
                  "current_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\n",
                  "rdb_changes_since_last_save:", changes_since_save, "\r\n",
                  "rdb_bgsave_in_progress:0\r\nrdb_last_save_time:", last_save / 1000,
                  "\r\nrdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:-1\r\n"
                  "rdb_current_bgsave_time_sec:-1\r\nrdb_saves:0\r\nrdb_last_cow_size:0\r\n"
                  "rdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:0\r\n");
}

void AppendAofInfo(NodeServices& node, int64_t now_ms, std::string& out) {
  if (node.persistence() != nullptr) {
    node.persistence()->aof()->AppendInfo(out, now_ms);
    return;
  }
  absl::StrAppend(&out, "aof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n",
                  "aof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\n",
                  "aof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\n",
                  "aof_rewrites_consecutive_failures:0\r\n",
                  "aof_last_write_status:ok\r\naof_last_cow_size:0\r\n",
                  "module_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n");
}

void AppendLoadingInfo(const NodeServices& node, int64_t now_ms, std::string& out) {
  const LoadingState& l = node.loading();
  if (!l.active) return;
  // Redis's estimate: progress against the file size (or, without one, the
  // used-mem the file announced), and an ETA from the rate so far.
  double perc = 0;
  uint64_t remaining = 1;
  if (l.total_bytes > 0) {
    perc = 100.0 * static_cast<double>(l.loaded_bytes) / static_cast<double>(l.total_bytes);
    remaining = l.total_bytes - std::min(l.loaded_bytes, l.total_bytes);
  } else if (l.rdb_used_mem > 0) {
    perc = std::min(
        99.99, 100.0 * static_cast<double>(l.loaded_bytes) / static_cast<double>(l.rdb_used_mem));
    remaining = std::max<uint64_t>(1, l.rdb_used_mem - std::min(l.loaded_bytes, l.rdb_used_mem));
  }
  const int64_t start_s = l.start_ms / 1000;
  const int64_t elapsed = now_ms / 1000 - start_s;
  const int64_t eta = elapsed <= 0 ? 1
                                   : static_cast<int64_t>(static_cast<double>(elapsed) *
                                                          static_cast<double>(remaining) /
                                                          static_cast<double>(l.loaded_bytes + 1));
  absl::StrAppend(&out, "loading_start_time:", start_s, "\r\nloading_total_bytes:", l.total_bytes,
                  "\r\nloading_rdb_used_mem:", l.rdb_used_mem,
                  "\r\nloading_loaded_bytes:", l.loaded_bytes,
                  "\r\nloading_loaded_perc:", absl::StrFormat("%.2f", perc),
                  "\r\nloading_eta_seconds:", eta, "\r\n");
}

}  // namespace shardnode::node::persist
