#include "node/persist/aof.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <span>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/file.h"
#include "base/resp_command.h"
#include "node/config/config.h"
#include "node/keyspace/keyspace.h"
#include "node/persist/aof_reader.h"
#include "node/persist/dataset.h"
#include "node/persist/persistence.h"
#include "node/persist/snapshot.h"
#include "node/server/log.h"
#include "node/server/server.h"

namespace shardnode::node::persist {
namespace {

bool IsClusterCommand(std::span<const std::string> args) {
  return !args.empty() && absl::EqualsIgnoreCase(args[0], "cluster");
}

constexpr int64_t kWriteErrorLogPeriodS = 30;  // AOF_WRITE_LOG_ERROR_RATE
constexpr int64_t kMaxPostponeS = 2;
constexpr int64_t kSliceGapUs = 300;
constexpr size_t kItemsPerCommand = 64;  // AOF_REWRITE_ITEMS_PER_CMD

std::string ErrnoText(int err) { return std::strerror(err); }

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// write(2) until everything is written or an error: the bytes written, or
// -1 when the first write failed (errno set), as Redis's aofWrite.
ssize_t WriteFully(int fd, std::string_view data) {
  size_t total = 0;
  while (total < data.size()) {
    const ssize_t n = write(fd, data.data() + total, data.size() - total);
    if (n < 0) {
      if (errno == EINTR) continue;
      return total > 0 ? static_cast<ssize_t>(total) : -1;
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(total);
}

std::optional<uint64_t> FileSize(const std::string& path, int* err) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    *err = errno;
    return std::nullopt;
  }
  return static_cast<uint64_t>(st.st_size);
}

std::string FormatScore(double d) {
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  return absl::StrFormat("%.17g", d);
}

void SetExpiryMode(Server& server, ExpiryMode mode) {
  for (int i = 0; i < server.num_shards(); ++i) {
    Keyspace& ks = server.shard(i);
    for (int d = 0; d < ks.num_dbs(); ++d) ks.db(d).set_expiry_mode(mode);
  }
}

// Turns the snapshot's RDB bytes into the commands of a base file without
// preamble (aof-use-rdb-preamble no): FUNCTION LOAD per library, SELECT per
// database section, then per key SET / RPUSH / SADD / ZADD / HMSET (at most
// 64 items a command) and PEXPIREAT for a key with a TTL.
class CommandBaseWriter : public replication::RdbHandler {
 public:
  absl::Status Feed(std::string_view rdb) {
    auto st = reader_.Feed(absl::string_view(rdb.data(), rdb.size()), *this);
    return st.ok() ? absl::OkStatus() : st.status();
  }
  std::string TakeOutput() { return std::exchange(out_, std::string()); }

  absl::Status OnFunction(absl::string_view code) override {
    Emit({"FUNCTION", "LOAD", std::string(code)});
    return absl::OkStatus();
  }
  absl::Status OnSelectDb(uint64_t db) override {
    Emit({"SELECT", absl::StrCat(db)});
    return absl::OkStatus();
  }
  absl::Status OnEntry(replication::RdbEntry e) override {
    using replication::RdbType;
    const replication::RdbValue& v = e.value;
    switch (v.type) {
      case RdbType::kString:
        Emit({"SET", e.key, v.str});
        break;
      case RdbType::kList:
      case RdbType::kSet: {
        const char* cmd = v.type == RdbType::kList ? "RPUSH" : "SADD";
        for (size_t i = 0; i < v.elements.size(); i += kItemsPerCommand) {
          std::vector<std::string> args = {cmd, e.key};
          for (size_t j = i; j < std::min(v.elements.size(), i + kItemsPerCommand); ++j) {
            args.push_back(v.elements[j]);
          }
          Emit(args);
        }
        break;
      }
      case RdbType::kHash:
        for (size_t i = 0; i < v.fields.size(); i += kItemsPerCommand) {
          std::vector<std::string> args = {"HMSET", e.key};
          for (size_t j = i; j < std::min(v.fields.size(), i + kItemsPerCommand); ++j) {
            args.push_back(v.fields[j].first);
            args.push_back(v.fields[j].second);
          }
          Emit(args);
        }
        break;
      case RdbType::kZSet:
        for (size_t i = 0; i < v.zset.size(); i += kItemsPerCommand) {
          std::vector<std::string> args = {"ZADD", e.key};
          for (size_t j = i; j < std::min(v.zset.size(), i + kItemsPerCommand); ++j) {
            args.push_back(FormatScore(v.zset[j].second));
            args.push_back(v.zset[j].first);
          }
          Emit(args);
        }
        break;
      case RdbType::kStream:
        EmitStream(e.key, v.stream);
        break;
      default:
        return absl::UnimplementedError("a value type the AOF rewrite cannot write as commands");
    }
    if (e.expire_ms != -1) Emit({"PEXPIREAT", e.key, absl::StrCat(e.expire_ms)});
    return absl::OkStatus();
  }

 private:
  void Emit(const std::vector<std::string>& args) { base::AppendRespCommand(&out_, args); }

  static std::string Id(const replication::RdbStreamId& id) {
    return absl::StrCat(id.ms, "-", id.seq);
  }

  // A stream as Redis's rewriteStreamObject writes it: XADD per live entry
  // (an empty stream: XADD MAXLEN 0 of a dummy entry), XSETID with the
  // last id, entries added and max deleted id, then per group XGROUP
  // CREATE ... ENTRIESREAD, and per consumer XCLAIM ... JUSTID FORCE for
  // each pending entry it owns (XGROUP CREATECONSUMER when it owns none).
  void EmitStream(const std::string& key, const replication::RdbStream& s) {
    bool any = false;
    for (const replication::RdbStreamNode& node : s.nodes) {
      for (const replication::RdbStreamEntry& entry : node.entries) {
        if (entry.deleted) continue;
        std::vector<std::string> args = {"XADD", key, Id(entry.id)};
        args.insert(args.end(), entry.fields.begin(), entry.fields.end());
        Emit(args);
        any = true;
      }
    }
    if (!any) Emit({"XADD", key, "MAXLEN", "0", "0-1", "x", "y"});
    Emit({"XSETID", key, Id(s.last_id), "ENTRIESADDED", absl::StrCat(s.entries_added),
          "MAXDELETEDID", Id(s.max_deleted_id)});
    for (const replication::RdbStreamGroup& g : s.groups) {
      Emit({"XGROUP", "CREATE", key, g.name, Id(g.last_id), "ENTRIESREAD",
            absl::StrCat(g.entries_read)});
      for (const replication::RdbStreamConsumer& c : g.consumers) {
        if (c.pel.empty()) {
          Emit({"XGROUP", "CREATECONSUMER", key, g.name, c.name});
          continue;
        }
        for (const replication::RdbStreamId& id : c.pel) {
          const replication::RdbStreamNack* nack = nullptr;
          for (const replication::RdbStreamNack& n : g.pel) {
            if (n.id == id) {
              nack = &n;
              break;
            }
          }
          if (nack == nullptr) continue;
          Emit({"XCLAIM", key, g.name, c.name, "0", Id(id), "TIME",
                absl::StrCat(nack->delivery_time), "RETRYCOUNT", absl::StrCat(nack->delivery_count),
                "JUSTID", "FORCE"});
        }
      }
    }
  }

  replication::RdbReader reader_;
  std::string out_;
};

}  // namespace

// A load of the manifest's files in progress.
struct Aof::Load {
  struct File {
    std::string name;
    bool base = false;
  };
  std::vector<File> files;
  size_t index = 0;
  bool sync = false;  // DEBUG LOADAOF: no slices
  // The current file.
  int fd = -1;
  std::string path;
  uint64_t offset = 0;  // file offset of buf[0]
  std::string buf;
  bool eof = false;
  bool opened = false;
  bool sniffed = false;  // the first bytes were checked for "REDIS"
  std::unique_ptr<replication::RdbReader> rdb;
  std::unique_ptr<DatasetLoader> loader;
  uint64_t valid_up_to = 0;
  uint64_t valid_before_multi = 0;
  bool in_multi = false;
  bool warned_cluster = false;  // a CLUSTER command was skipped
  bool truncated = false;       // the result of the last file
  std::chrono::steady_clock::time_point file_start;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  uint64_t base_size = 0;
  uint64_t total_size = 0;
  uint64_t loaded_before = 0;  // bytes of the finished files
  ExpiryMode saved_mode = ExpiryMode::kDelete;
  std::vector<std::string> args;
  ~Load() {
    if (fd >= 0) close(fd);
  }
};

struct Aof::Rewrite {
  std::unique_ptr<Snapshot> snap;
  std::unique_ptr<CommandBaseWriter> commands;  // null: RDB preamble
  int fd = -1;
  std::string tmp_path;  // in `dir`
  std::string tmp_name;
  int64_t start_ms = 0;
  uint64_t generation = 0;
  int64_t key_delay_us = 0;
  bool rdb = true;
  bool finishing = false;
};

Aof::Aof(Server& server, Persistence& persistence, Post post)
    : server_(server), persistence_(persistence), post_(std::move(post)) {
  loader_.aof_loader = true;
  loader_.from_primary = true;
  loader_.deny_blocking = true;
  loader_.authenticated = true;
  loader_.name = "";
  worker_ = std::thread([this] { FsyncWorker(); });
}

Aof::~Aof() {
  if (rw_) AbortRewrite(false);
  JoinFinisher();
  server_.write_stream().Unsubscribe(this);
  if (fd_ >= 0) SubmitJob({fd_, true, 0});
  fd_ = -1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_worker_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

// ---------------------------------------------------------------------------
// Paths and small helpers.

const std::string& Aof::filename() const { return server_.options().appendfilename; }

std::string Aof::FolderPath() const {
  return server_.config().Value("appenddirname").value_or("appendonlydir");
}

std::string Aof::PathIn(const std::string& name) const {
  return absl::StrCat(FolderPath(), "/", name);
}

bool Aof::BoolConfig(const char* name, bool fallback) const {
  const std::optional<std::string> v = server_.config().Value(name);
  return v ? *v == "yes" : fallback;
}

int64_t Aof::UnixSeconds() const { return WallMs() / 1000; }

bool Aof::EnsureFolder() {
  const std::string dir = FolderPath();
  if (mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return true;
  Logf(LogLevel::kWarning, "Can't open or create append-only dir %s: %s", dir, ErrnoText(errno));
  return false;
}

bool Aof::PersistManifest(const AofManifest& m) {
  const std::string name = AofManifestFileName(filename());
  const std::string tmp_name = AofTempManifestFileName(filename());
  const std::string path = PathIn(name);
  const std::string tmp = PathIn(tmp_name);
  int fd;
  do {
    fd = open(tmp.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    Logf(LogLevel::kWarning, "Can't open the AOF manifest file %s: %s", tmp_name, ErrnoText(errno));
    return false;
  }
  if (int err = base::WriteAll(fd, m.Serialize()); err != 0) {
    Logf(LogLevel::kWarning, "Error trying to write the temporary AOF manifest file %s: %s",
         tmp_name, ErrnoText(err));
    close(fd);
    return false;
  }
  if (fsync(fd) != 0) {
    Logf(LogLevel::kWarning, "Fail to fsync the temp AOF file %s: %s.", tmp_name, ErrnoText(errno));
    close(fd);
    return false;
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    Logf(LogLevel::kWarning,
         "Error trying to rename the temporary AOF manifest file %s into %s: %s", tmp_name, name,
         ErrnoText(errno));
    return false;
  }
  if (int err = base::FsyncDirOf(path); err != 0) {
    Logf(LogLevel::kWarning, "Fail to fsync AOF directory %s: %s.", FolderPath(), ErrnoText(err));
    return false;
  }
  return true;
}

void Aof::DeleteHistory() {
  if (manifest_.history.empty() || BoolConfig("aof-disable-auto-gc", false)) return;
  for (const AofFileInfo& h : manifest_.history) {
    Logf(LogLevel::kNotice, "Removing the history file %s in the background", h.name);
    unlink(PathIn(h.name).c_str());
  }
  manifest_.history.clear();
  (void)PersistManifest(manifest_);
}

void Aof::UpdateMisconf() {
  std::string err;
  if (state_ != State::kOff) {
    if (write_error_) {
      err = absl::StrCat("MISCONF Errors writing to the AOF file: ", ErrnoText(write_errno_));
    } else if (int e = fsync_errno_.load(); e != 0) {
      err = absl::StrCat("MISCONF Errors writing to the AOF file: ", ErrnoText(e));
    }
  }
  if (err != server_.aof_misconf()) server_.set_aof_misconf(std::move(err));
}

// ---------------------------------------------------------------------------
// Start-up.

absl::Status Aof::ReadManifest() {
  manifest_ = AofManifest();
  struct stat st;
  if (stat(FolderPath().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    Logf(LogLevel::kDebug, "The AOF directory %s doesn't exist", FolderPath());
    return absl::OkStatus();
  }
  const std::string name = AofManifestFileName(filename());
  const std::string path = PathIn(name);
  std::string content;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      Logf(LogLevel::kDebug, "The AOF manifest file %s doesn't exist", name);
      return absl::OkStatus();
    }
    return absl::InternalError(
        absl::StrFormat("Fatal error: can't open the AOF manifest file %s for reading: %s", path,
                        ErrnoText(errno)));
  }
  char chunk[65536];
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      Log(LogLevel::kWarning, "\n*** FATAL AOF MANIFEST FILE ERROR ***\n");
      return absl::InternalError("Read AOF manifest failed\n");
    }
    if (n == 0) break;
    content.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  AofManifestError err;
  std::optional<AofManifest> m = ParseAofManifest(content, &err);
  if (!m) {
    Log(LogLevel::kWarning, "\n*** FATAL AOF MANIFEST FILE ERROR ***\n");
    if (err.line > 0) {
      Logf(LogLevel::kWarning, "Reading the manifest file, at line %d\n", err.line);
      Logf(LogLevel::kWarning, ">>> '%s'\n", err.text);
    }
    return absl::InternalError(absl::StrCat(err.message, "\n"));
  }
  manifest_ = std::move(*m);
  return absl::OkStatus();
}

absl::Status Aof::MaybeUpgrade() {
  struct stat st;
  if (stat(filename().c_str(), &st) != 0) return absl::OkStatus();
  const bool no_folder = stat(FolderPath().c_str(), &st) != 0;
  const bool interrupted = manifest_.base && manifest_.incr.empty() &&
                           manifest_.base->name == filename() &&
                           stat(PathIn(filename()).c_str(), &st) != 0;
  if (!no_folder && !manifest_.NoData() && !interrupted) return absl::OkStatus();
  // A pre-7.0 single file in `dir`: it becomes the base of a new folder.
  if (!EnsureFolder()) return absl::InternalError("Can't open or create append-only dir");
  manifest_.base = AofFileInfo{filename(), 1, AofFileType::kBase};
  manifest_.base_seq = 1;
  if (!PersistManifest(manifest_)) return absl::InternalError("Can't persist the AOF manifest");
  if (rename(filename().c_str(), PathIn(filename()).c_str()) != 0) {
    return absl::InternalError(
        absl::StrFormat("Error trying to move the old AOF file %s into dir %s: %s", filename(),
                        FolderPath(), ErrnoText(errno)));
  }
  Logf(LogLevel::kNotice,
       "Successfully migrated an old-style AOF file (%s) into the AOF directory (%s).", filename(),
       FolderPath());
  return absl::OkStatus();
}

void Aof::LoadInBackground(int64_t now_ms, std::function<void(absl::Status)> done) {
  if (absl::Status st = MaybeUpgrade(); !st.ok()) {
    done(st);
    return;
  }
  auto load = std::make_unique<Load>();
  if (manifest_.base) load->files.push_back({manifest_.base->name, true});
  for (const AofFileInfo& i : manifest_.incr) load->files.push_back({i.name, false});
  if (load->files.empty()) {
    done(absl::OkStatus());
    return;
  }
  // Every listed file must exist; their sizes make loading_total_bytes.
  for (const Load::File& f : load->files) {
    int err = 0;
    std::optional<uint64_t> size = FileSize(PathIn(f.name), &err);
    if (!size) {
      done(absl::InternalError(absl::StrFormat("Unable to obtain the AOF file %s length. stat: %s",
                                               f.name, ErrnoText(err))));
      return;
    }
    load->total_size += *size;
    if (f.base) load->base_size = *size;
  }
  if (load->total_size == 0) {
    // AOF_EMPTY: nothing to load, not an error.
    done(absl::OkStatus());
    return;
  }
  load->saved_mode = server_.shard(0).db(0).expiry_mode();
  SetExpiryMode(server_, ExpiryMode::kKeep);
  server_.mutable_loading() =
      LoadingState{.active = true, .start_ms = now_ms, .total_bytes = load->total_size};
  load_ = std::move(load);
  load_done_ = std::move(done);
  post_(0, [this]() { LoadStep(); });
}

void Aof::LoadStep() {
  if (load_ == nullptr) return;
  const int64_t interval =
      server_.config().IntValue("loading-process-events-interval-bytes", 2 * 1024 * 1024);
  bool finished = false;
  absl::Status st =
      LoadSome(*load_, static_cast<size_t>(std::max<int64_t>(1, interval)), &finished);
  server_.mutable_loading().loaded_bytes = load_->loaded_before + load_->offset;
  if (!st.ok() || finished) {
    FinishLoad(st);
    return;
  }
  const int64_t delay = server_.config().IntValue("key-load-delay", 0);
  post_(delay > 0 ? delay : 0, [this]() { LoadStep(); });
}

void Aof::FinishLoad(absl::Status st) {
  std::unique_ptr<Load> load = std::move(load_);
  SetExpiryMode(server_, load->saved_mode);
  loader_.in_multi = false;
  loader_.queued.clear();
  if (st.ok()) {
    Logf(LogLevel::kNotice, "DB loaded from append only file: %.3f seconds",
         SecondsSince(load->start));
    current_size_ = load->total_size;
    rewrite_base_size_ = load->base_size;
  }
  server_.mutable_loading() = LoadingState();
  if (load->sync) {
    if (!st.ok() || load->truncated) {
      if (!st.ok()) Log(LogLevel::kWarning, std::string(st.message()));
      exit(1);
    }
    return;
  }
  std::function<void(absl::Status)> done = std::move(load_done_);
  done(st);
}

absl::Status Aof::OpenLoadFile(Load& load) {
  const Load::File& f = load.files[load.index];
  load.path = PathIn(f.name);
  load.fd = open(load.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (load.fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return absl::InternalError(
          absl::StrFormat("The append log file %s doesn't exist: %s", f.name, ErrnoText(err)));
    }
    return absl::InternalError(absl::StrFormat(
        "Fatal error: can't open the append log file %s for reading: %s", f.name, ErrnoText(err)));
  }
  load.opened = true;
  load.sniffed = false;
  load.offset = 0;
  load.buf.clear();
  load.eof = false;
  load.rdb.reset();
  load.loader.reset();
  load.valid_up_to = 0;
  load.valid_before_multi = 0;
  load.in_multi = false;
  load.file_start = std::chrono::steady_clock::now();
  // A fresh client per file, as Redis creates one.
  loader_.db_index = 0;
  loader_.in_multi = false;
  loader_.multi_dirty = false;
  loader_.queued.clear();
  return absl::OkStatus();
}

absl::Status Aof::EndOfFile(Load& load, bool truncated) {
  const Load::File& f = load.files[load.index];
  const bool last = load.index + 1 == load.files.size();
  if (!truncated && load.in_multi) {
    Logf(LogLevel::kWarning, "Revert incomplete MULTI/EXEC transaction in AOF file %s", f.name);
    load.valid_up_to = load.valid_before_multi;
    truncated = true;
  }
  load.truncated = false;
  if (truncated) {
    if (!BoolConfig("aof-load-truncated", true)) {
      return absl::DataLossError(absl::StrFormat(
          "Unexpected end of file reading the append only file %s. You can: 1) Make a backup of "
          "your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively "
          "you can set the 'aof-load-truncated' configuration option to yes and restart the "
          "server.",
          f.name));
    }
    if (!last) {
      // Redis would cut this file too before failing; we leave it whole.
      return absl::DataLossError("Fatal error: the truncated file is not the last file");
    }
    Logf(LogLevel::kWarning, "!!! Warning: short read while loading the AOF file %s!!!", f.name);
    Logf(LogLevel::kWarning, "!!! Truncating the AOF %s at offset %d !!!", f.name,
         load.valid_up_to);
    if (truncate(load.path.c_str(), static_cast<off_t>(load.valid_up_to)) != 0) {
      Logf(LogLevel::kWarning, "Error truncating the AOF file %s: %s", f.name, ErrnoText(errno));
      return absl::DataLossError(absl::StrFormat(
          "Unexpected end of file reading the append only file %s. You can: 1) Make a backup of "
          "your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively "
          "you can set the 'aof-load-truncated' configuration option to yes and restart the "
          "server.",
          f.name));
    }
    Logf(LogLevel::kWarning, "AOF %s loaded anyway because aof-load-truncated is enabled", f.name);
    load.truncated = true;
  }
  Logf(LogLevel::kNotice, "DB loaded from %s file %s: %.3f seconds", f.base ? "base" : "incr",
       f.name, SecondsSince(load.file_start));
  return absl::OkStatus();
}

absl::Status Aof::LoadSome(Load& load, size_t budget, bool* finished) {
  *finished = false;
  size_t spent = 0;
  while (spent < budget || load.sync) {
    if (load.index >= load.files.size()) {
      *finished = true;
      return absl::OkStatus();
    }
    const Load::File& f = load.files[load.index];
    if (!load.opened) {
      // An empty file is skipped (AOF_EMPTY).
      int err = 0;
      if (FileSize(PathIn(f.name), &err).value_or(1) == 0) {
        ++load.index;
        continue;
      }
      if (absl::Status st = OpenLoadFile(load); !st.ok()) return st;
    }
    // Read more when the buffer cannot make progress.
    auto read_more = [&]() -> absl::Status {
      char chunk[1 << 16];
      for (;;) {
        const ssize_t n = read(load.fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          return absl::InternalError(absl::StrFormat(
              "Unrecoverable error reading the append only file %s: %s", f.name, ErrnoText(errno)));
        }
        if (n == 0) {
          load.eof = true;
        } else {
          load.buf.append(chunk, static_cast<size_t>(n));
          spent += static_cast<size_t>(n);
        }
        return absl::OkStatus();
      }
    };
    if (!load.sniffed) {
      while (load.buf.size() < 5 && !load.eof) {
        if (absl::Status st = read_more(); !st.ok()) return st;
      }
      load.sniffed = true;
      if (load.buf.compare(0, 5, "REDIS") == 0) {
        Log(LogLevel::kNotice, f.name == filename() ? "Reading RDB preamble from AOF file..."
                                                    : "Reading RDB base file on AOF loading...");
        load.rdb = std::make_unique<replication::RdbReader>();
        load.loader = std::make_unique<DatasetLoader>(
            server_, WallMs(), LoadOptions{.skip_expired = false, .flush_first = false});
      }
    }
    if (load.rdb) {
      absl::StatusOr<replication::RdbReader::Progress> p =
          load.rdb->Feed(absl::string_view(load.buf.data(), load.buf.size()), *load.loader);
      load.buf.clear();
      const bool done = p.ok() && *p == replication::RdbReader::Progress::kDone;
      if (p.ok() && !done && load.eof) {
        absl::Status fin = load.rdb->Finish();
        p = fin.ok() ? absl::DataLossError("Unexpected EOF reading RDB file") : fin;
      }
      if (!p.ok()) {
        Logf(LogLevel::kWarning,
             f.name == filename()
                 ? "Error reading the RDB preamble of the AOF file %s, AOF loading aborted"
                 : "Error reading the RDB base file %s, AOF loading aborted",
             f.name);
        return absl::DataLossError(absl::StrFormat("%s (%s)", p.status().message(), f.name));
      }
      if (done) {
        // Whatever follows the RDB part is commands (an old-style file).
        const absl::string_view rest = load.rdb->Remaining();
        load.buf.assign(rest.data(), rest.size());
        load.offset = load.rdb->Consumed();
        load.valid_up_to = load.offset;
        load.rdb.reset();
        load.loader.reset();
        if (f.name == filename()) Log(LogLevel::kNotice, "Reading the remaining AOF tail...");
      } else if (absl::Status st = read_more(); !st.ok()) {
        return st;
      }
      continue;
    }
    // Commands.
    size_t pos = 0;
    bool file_done = false;
    absl::Status result;
    while (true) {
      size_t consumed = 0;
      const AofRecordStatus rs =
          ReadAofRecord(std::string_view(load.buf).substr(pos), load.eof, &load.args, &consumed);
      if (rs == AofRecordStatus::kNeedMore) break;
      if (rs == AofRecordStatus::kEnd) {
        result = EndOfFile(load, false);
        file_done = true;
        break;
      }
      if (rs == AofRecordStatus::kTruncated) {
        result = EndOfFile(load, true);
        file_done = true;
        break;
      }
      if (rs == AofRecordStatus::kFormatError) {
        return absl::DataLossError(
            absl::StrFormat("Bad file format reading the append only file %s: make a backup of "
                            "your AOF file, then use ./redis-check-aof --fix <filename.manifest>",
                            f.name));
      }
      pos += consumed;
      if (rs == AofRecordStatus::kAnnotation) continue;
      const std::string name = absl::AsciiStrToLower(load.args[0]);
      if (IsClusterCommand(load.args)) {
        // Written by versions that kept their SETSLOTs in the AOF: skipped
        // (nodes.conf says what this node owns).
        if (!load.warned_cluster) {
          Logf(LogLevel::kWarning,
               "Skipping CLUSTER commands in the append only file %s: the cluster "
               "configuration is read from the cluster config file only",
               f.name);
          load.warned_cluster = true;
        }
        load.valid_up_to = load.offset + pos;
        continue;
      }
      const bool multi = name == "multi";
      const bool exec = name == "exec";
      if (!execute(loader_, load.args)) {
        return absl::DataLossError(absl::StrFormat(
            "Unknown command '%s' reading the append only file %s", load.args[0], f.name));
      }
      if (multi) {
        load.valid_before_multi = load.valid_up_to;
        load.in_multi = true;
      } else if (exec) {
        load.in_multi = false;
      }
      load.valid_up_to = load.offset + pos;
    }
    load.buf.erase(0, pos);
    load.offset += pos;
    if (file_done) {
      if (!result.ok()) return result;
      struct stat st;
      load.loaded_before += fstat(load.fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
      close(load.fd);
      load.fd = -1;
      load.opened = false;
      load.offset = 0;
      ++load.index;
      continue;
    }
    if (absl::Status st = read_more(); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status Aof::WriteBaseNow(const std::string& path, int64_t now_ms) {
  const std::string tmp = absl::StrCat("temp-rewriteaof-", getpid(), ".aof");
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(absl::StrFormat(
        "Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): %s", ErrnoText(errno)));
  }
  replication::RdbWriterOptions o = persistence_.WriterOptions(now_ms);
  o.repl_id.clear();
  o.aof_base = true;
  const bool rdb = BoolConfig("aof-use-rdb-preamble", true);
  Snapshot snap(server_, o);
  CommandBaseWriter commands;
  std::string head;
  if (!rdb && BoolConfig("aof-timestamp-enabled", false)) {
    head = AofTimestampAnnotation(UnixSeconds());
  }
  int err = base::WriteAll(fd, head);
  while (err == 0) {
    const bool done = snap.Step(64 * Snapshot::kKeysPerStep);
    std::string out = snap.TakeOutput();
    if (!rdb) {
      absl::Status st = commands.Feed(out);
      if (!st.ok()) {
        close(fd);
        unlink(tmp.c_str());
        return st;
      }
      out = commands.TakeOutput();
    }
    err = base::WriteAll(fd, out);
    if (done) break;
  }
  if (err == 0 && fsync(fd) != 0) err = errno;
  close(fd);
  if (err == 0 && rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    unlink(tmp.c_str());
    Logf(LogLevel::kWarning, "Write error writing append only file on disk: %s", ErrnoText(err));
    return absl::InternalError(ErrnoText(err));
  }
  return absl::OkStatus();
}

absl::Status Aof::OpenAtStartup() {
  state_ = State::kOn;
  if (!EnsureFolder()) return absl::InternalError("Can't open or create append-only dir");
  if (manifest_.NoData()) {
    const std::string base =
        manifest_.NewBase(filename(), BoolConfig("aof-use-rdb-preamble", true));
    if (absl::Status st = WriteBaseNow(PathIn(base), WallMs()); !st.ok()) return st;
    Logf(LogLevel::kNotice, "Creating AOF base file %s on server start", base);
  }
  const bool had_incr = !manifest_.incr.empty();
  const std::string name = manifest_.LastOrNewIncr(filename());
  fd_ = open(PathIn(name).c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    return absl::InternalError(
        absl::StrFormat("Can't open the append-only file %s: %s", name, ErrnoText(errno)));
  }
  if (!PersistManifest(manifest_)) return absl::InternalError("Can't persist the AOF manifest");
  int err = 0;
  incr_size_ = synced_offset_ = FileSize(PathIn(name), &err).value_or(0);
  if (manifest_.base) {
    const uint64_t base_size = FileSize(PathIn(manifest_.base->name), &err).value_or(0);
    if (current_size_ == 0) current_size_ = base_size + incr_size_;
    if (rewrite_base_size_ == 0) rewrite_base_size_ = base_size;
  }
  Logf(LogLevel::kNotice,
       had_incr ? "Opening AOF incr file %s on server start"
                : "Creating AOF incr file %s on server start",
       name);
  DeleteHistory();
  server_.write_stream().Subscribe(this);
  last_fsync_s_ = UnixSeconds();
  timestamps_ = BoolConfig("aof-timestamp-enabled", false);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Writing.

bool Aof::WantsWrites() const {
  return state_ == State::kOn || (state_ == State::kWaitRewrite && rw_ != nullptr);
}

void Aof::OnWrite(const StreamWrite& write) {
  // PUBLISH goes to the replicas only (pubsub_family.cc), and so does every
  // CLUSTER command (SETSLOT, SYNCSLOTS HIDDEN: a primary's slot changes,
  // for its replicas to mirror): the AOF keeps just the SELECT the stream
  // counted as sent with it. The slot table lives in nodes.conf alone; an
  // AOF replaying SETSLOT over it would bring back slots given away since.
  if (!write.args.empty() &&
      (absl::EqualsIgnoreCase(write.args[0], "publish") || IsClusterCommand(write.args))) {
    if (write.select().empty()) return;
    buf_.append(write.select());
    PostFlush();
    return;
  }
  if (timestamps_) {
    const int64_t now_s = UnixSeconds();
    if (cur_ts_ < now_s) {
      cur_ts_ = now_s;
      buf_.append(AofTimestampAnnotation(now_s));
    }
  }
  buf_.append(write.bytes);
  PostFlush();
}

void Aof::PostFlush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  // After every other handler ready now (or at the end of the global step
  // that wrote, with shard threads: OutputGate::ReleaseNow): the replies
  // of this pass wait for one write (and fsync) of all their records.
  server_.output_gate().Hold([this]() { FlushPosted(); });
  pass_seen_ = buf_.size();
  pass_hops_ = 0;
  post_(0, [this]() { FlushAtPassEnd(); });
}

void Aof::FlushAtPassEnd() {
  if (!flush_posted_) return;  // done by ReleaseNow
  // Asio has no "before sleep": a handler posted now runs after the reads
  // queued before it, while those its reactor finds ready meanwhile queue
  // behind it. Waiting a turn while turns still bring writes lets one
  // write (and, with always, one fsync) cover every client ready in the
  // pass, as Redis's beforeSleep does (50 clients at -P 1, appendfsync
  // always: 606 fsyncs per 30,000 SETs instead of 1,245; Redis 638). Only
  // with always: a write alone costs less than the extra turns.
  if (server_.options().appendfsync == AppendFsync::kAlways && buf_.size() != pass_seen_ &&
      pass_hops_ < kMaxPassHops) {
    pass_seen_ = buf_.size();
    ++pass_hops_;
    post_(0, [this]() { FlushAtPassEnd(); });
    return;
  }
  FlushPosted();
}

void Aof::FlushPosted() {
  if (!std::exchange(flush_posted_, false)) return;  // done by ReleaseNow
  Flush(false);
  server_.output_gate().Release();
}

void Aof::Flush(bool force) {
  if (fd_ < 0) return;
  const AppendFsync policy = server_.options().appendfsync;
  const int64_t now_s = UnixSeconds();
  UpdateMisconf();
  if (buf_.empty()) {
    // Written but not yet synced (the buffer emptied before the second
    // changed): sync it now.
    if (policy == AppendFsync::kEverysec && synced_offset_ != incr_size_ && now_s > last_fsync_s_ &&
        pending_fsyncs_.load() == 0) {
      ScheduleFsync();
    }
    return;
  }
  if (policy == AppendFsync::kEverysec && !force && pending_fsyncs_.load() > 0) {
    if (postponed_start_s_ == 0) {
      postponed_start_s_ = now_s;
      return;
    }
    if (now_s - postponed_start_s_ < kMaxPostponeS) return;
    ++delayed_fsync_;
    Log(LogLevel::kNotice,
        "Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer "
        "without waiting for fsync to complete, this may slow down Redis.");
  }
  postponed_start_s_ = 0;
  // DEBUG AOF-FLUSH-SLEEP: a slow disk, for tests.
  if (flush_sleep_us_ > 0) usleep(static_cast<useconds_t>(flush_sleep_us_));
  const ssize_t n = WriteFully(fd_, buf_);
  if (n != static_cast<ssize_t>(buf_.size())) {
    int err = errno;
    const bool log = now_s - last_write_error_log_s_ > kWriteErrorLogPeriodS;
    if (log) last_write_error_log_s_ = now_s;
    if (n < 0) {
      if (log) Logf(LogLevel::kWarning, "Error writing to the AOF file: %s", ErrnoText(err));
    } else {
      if (log) {
        Logf(LogLevel::kWarning,
             "Short write while writing to the AOF file: (nwritten=%d, expected=%d)", n,
             buf_.size());
      }
      if (ftruncate(fd_, static_cast<off_t>(incr_size_)) != 0) {
        if (log) {
          Logf(LogLevel::kWarning,
               "Could not remove short write from the append-only file.  Redis may refuse to "
               "load the AOF the next time it starts.  ftruncate: %s",
               ErrnoText(errno));
        }
        incr_size_ += static_cast<uint64_t>(n);
        current_size_ += static_cast<uint64_t>(n);
        buf_.erase(0, static_cast<size_t>(n));
      }
      err = ENOSPC;
    }
    if (policy == AppendFsync::kAlways) {
      Log(LogLevel::kWarning,
          "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
      exit(1);
    }
    write_error_ = true;
    write_errno_ = err;
    UpdateMisconf();
    return;
  }
  if (write_error_) {
    Log(LogLevel::kWarning, "AOF write error looks solved, Redis can write again.");
    write_error_ = false;
    UpdateMisconf();
  }
  incr_size_ += static_cast<uint64_t>(n);
  current_size_ += static_cast<uint64_t>(n);
  if (buf_.capacity() > 4000) {
    std::string().swap(buf_);
  } else {
    buf_.clear();
  }
  if (rw_ != nullptr && BoolConfig("no-appendfsync-on-rewrite", false)) return;
  if (policy == AppendFsync::kAlways) {
    if (fdatasync(fd_) != 0) {
      Logf(LogLevel::kWarning,
           "Can't persist AOF for fsync error when the AOF fsync policy is 'always': %s. "
           "Exiting...",
           ErrnoText(errno));
      exit(1);
    }
    last_fsync_s_ = now_s;
    synced_offset_ = incr_size_;
  } else if (policy == AppendFsync::kEverysec && now_s > last_fsync_s_ &&
             pending_fsyncs_.load() == 0) {
    ScheduleFsync();
  }
}

void Aof::ScheduleFsync() {
  SubmitJob({fd_, false, incr_size_});
  last_fsync_s_ = UnixSeconds();
  synced_offset_ = incr_size_;
}

void Aof::SubmitJob(FsyncJob job) {
  if (!job.close) ++pending_fsyncs_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(job);
  }
  cv_.notify_one();
}

void Aof::FsyncWorker() {
  for (;;) {
    FsyncJob job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_worker_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = jobs_.front();
      jobs_.pop_front();
    }
    if (fdatasync(job.fd) != 0 && errno != EBADF && errno != EINVAL) {
      const int err = errno;
      if (fsync_errno_.exchange(err) == 0) {
        Logf(LogLevel::kWarning, "Fail to fsync the AOF file: %s", ErrnoText(err));
      }
    } else {
      fsync_errno_.store(0);
    }
    if (job.close) {
      close(job.fd);
    } else {
      --pending_fsyncs_;
    }
  }
}

// ---------------------------------------------------------------------------
// The cron and the commands.

void Aof::RefreshConfig() {
  timestamps_ = BoolConfig("aof-timestamp-enabled", false);
  // aof-disable-auto-gc back to no deletes the history files at once.
  if (!manifest_.history.empty() && !BoolConfig("aof-disable-auto-gc", false)) DeleteHistory();
}

void Aof::Cron(int64_t now_ms) {
  if (state_ == State::kOn) {
    // A postponed write is retried every tick; a failed one once a second.
    if (postponed_start_s_ != 0 || buf_.empty()) Flush(false);
    if (write_error_ && now_ms - last_write_retry_ms_ >= 1000) {
      last_write_retry_ms_ = now_ms;
      Flush(false);
    }
    UpdateMisconf();
  }
  if (rw_ != nullptr || persistence_.bgsave_in_progress()) return;
  if (rewrite_scheduled_) {
    if (consecutive_failures_ < 3 || now_ms >= next_retry_ms_) (void)StartRewrite(now_ms);
    return;
  }
  if (state_ != State::kOn) return;
  const int64_t perc = server_.config().IntValue("auto-aof-rewrite-percentage", 100);
  const int64_t min_size = server_.config().IntValue("auto-aof-rewrite-min-size", 64 << 20);
  if (perc <= 0 || static_cast<int64_t>(current_size_) <= min_size) return;
  const uint64_t base = rewrite_base_size_ ? rewrite_base_size_ : 1;
  const int64_t growth = static_cast<int64_t>(current_size_ * 100 / base) - 100;
  if (growth < perc) return;
  if (consecutive_failures_ >= 3 && now_ms < next_retry_ms_) return;
  Logf(LogLevel::kNotice, "Starting automatic rewriting of AOF on %d%% growth", growth);
  (void)StartRewrite(now_ms);
}

absl::StatusOr<std::string> Aof::BackgroundRewriteCommand(bool in_exec, int64_t now_ms) {
  if (rw_ != nullptr) {
    return absl::FailedPreconditionError(
        "ERR Background append only file rewriting already in progress");
  }
  if (in_exec || persistence_.bgsave_in_progress()) {
    rewrite_scheduled_ = true;
    consecutive_failures_ = 0;
    return std::string("Background append only file rewriting scheduled");
  }
  if (!StartRewrite(now_ms).ok()) {
    return absl::InternalError(
        "ERR Can't execute an AOF background rewriting. Please check the server logs for more "
        "information.");
  }
  return std::string("Background append only file rewriting started");
}

absl::Status Aof::StartRewrite(int64_t now_ms) {
  if (rw_ != nullptr) return absl::FailedPreconditionError("rewrite in progress");
  rewrite_scheduled_ = false;
  auto fail = [&]() {
    last_bgrewrite_ok_ = false;
    return absl::InternalError("Can't rewrite append only file in background");
  };
  if (!EnsureFolder()) return fail();
  // Everything before the switch goes to the old incr file.
  Flush(true);
  server_.write_stream().ForgetSelectedDb(this);
  if (state_ == State::kOn) {
    AofManifest copy = manifest_;
    const std::string name = copy.NewIncr(filename());
    const int fd = open(PathIn(name).c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      Logf(LogLevel::kWarning, "Can't open the append-only file %s: %s", name, ErrnoText(errno));
      return fail();
    }
    if (!PersistManifest(copy)) {
      close(fd);
      unlink(PathIn(name).c_str());
      return fail();
    }
    if (fd_ >= 0) SubmitJob({fd_, true, 0});
    fd_ = fd;
    incr_size_ = synced_offset_ = 0;
    manifest_ = std::move(copy);
    cur_ts_ = 0;
    Logf(LogLevel::kNotice, "Creating AOF incr file %s on background rewrite", name);
  } else if (state_ == State::kWaitRewrite) {
    const std::string name = AofTempIncrFileName(filename());
    const int fd = open(PathIn(name).c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      Logf(LogLevel::kWarning, "Can't open the append-only file %s: %s", name, ErrnoText(errno));
      return fail();
    }
    if (fd_ >= 0) SubmitJob({fd_, true, 0});
    fd_ = fd;
    incr_size_ = synced_offset_ = 0;
    cur_ts_ = 0;
    Logf(LogLevel::kNotice, "Creating AOF incr file %s on background rewrite", name);
  }
  auto rw = std::make_unique<Rewrite>();
  rw->tmp_name = absl::StrCat("temp-rewriteaof-bg-", getpid(), ".aof");
  rw->tmp_path = rw->tmp_name;  // in `dir`, the working directory
  rw->fd = open(rw->tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (rw->fd < 0) {
    Logf(LogLevel::kWarning, "Can't rewrite append only file in background: %s", ErrnoText(errno));
    return fail();
  }
  rw->rdb = BoolConfig("aof-use-rdb-preamble", true);
  replication::RdbWriterOptions o = persistence_.WriterOptions(now_ms);
  o.repl_id.clear();
  o.aof_base = true;
  rw->snap = std::make_unique<Snapshot>(server_, o);
  if (!rw->rdb) {
    rw->commands = std::make_unique<CommandBaseWriter>();
    if (BoolConfig("aof-timestamp-enabled", false)) {
      (void)base::WriteAll(rw->fd, AofTimestampAnnotation(UnixSeconds()));
    }
  }
  rw->start_ms = now_ms;
  rw->key_delay_us = std::max<int64_t>(0, server_.config().IntValue("rdb-key-save-delay", 0));
  rw->generation = ++rw_generation_;
  rw_ = std::move(rw);
  persistence_.TrackSnapshot(rw_->snap.get());
  ++rewrites_;
  Logf(LogLevel::kNotice, "Background append only file rewriting started by pid %d",
       static_cast<int>(getpid()));
  const uint64_t gen = rw_->generation;
  post_(0, [this, gen] {
    if (rw_ && rw_->generation == gen) RewriteStep();
  });
  return absl::OkStatus();
}

void Aof::RewriteStep() {
  Rewrite& rw = *rw_;
  Snapshot& snap = *rw.snap;
  int64_t delay_us = 0;
  const bool done = snap.StepSlice(rw.key_delay_us, &delay_us);
  std::string out = snap.TakeOutput();
  absl::Status st;
  if (rw.commands) {
    st = rw.commands->Feed(out);
    out = rw.commands->TakeOutput();
  }
  int err = st.ok() ? base::WriteAll(rw.fd, out) : EIO;
  if (err != 0) {
    Logf(LogLevel::kWarning, "Write error writing append only file on disk: %s",
         st.ok() ? ErrnoText(err) : std::string(st.message()));
    Log(LogLevel::kWarning, "Background AOF rewrite terminated with error");
    RewriteFailed();
    return;
  }
  const uint64_t gen = rw.generation;
  if (!done) {
    // A short gap between slices (a timer, not a posted task) lets the
    // clients whose requests arrive meanwhile run before the next slice:
    // a client's round trip then seldom waits for a whole slice.
    post_(std::max<int64_t>(delay_us, kSliceGapUs), [this, gen] {
      if (rw_ && rw_->generation == gen && !rw_->finishing) RewriteStep();
    });
    return;
  }
  persistence_.UntrackSnapshot(rw.snap.get());
  rw.snap.reset();
  rw.finishing = true;
  JoinFinisher();
  finisher_ = std::thread([this, gen, fd = rw.fd] {
    absl::Status result;
    if (fsync(fd) != 0) result = absl::InternalError(ErrnoText(errno));
    close(fd);
    post_(0, [this, gen, result] { RewriteDone(gen, result); });
  });
  rw.fd = -1;
}

void Aof::RewriteDone(uint64_t generation, absl::Status st) {
  if (!rw_ || rw_->generation != generation) return;
  JoinFinisher();
  if (!st.ok()) {
    Logf(LogLevel::kWarning, "Write error writing append only file on disk: %s", st.message());
    Log(LogLevel::kWarning, "Background AOF rewrite terminated with error");
    RewriteFailed();
    return;
  }
  Log(LogLevel::kNotice, "Successfully created the temporary AOF base file " + rw_->tmp_name);
  Log(LogLevel::kNotice, "Background AOF rewrite terminated with success");
  AofManifest copy = manifest_;
  const std::string base = copy.NewBase(filename(), rw_->rdb);
  if (rename(rw_->tmp_path.c_str(), PathIn(base).c_str()) != 0) {
    Logf(LogLevel::kWarning, "Error trying to rename the temporary AOF base file %s into %s: %s",
         rw_->tmp_name, base, ErrnoText(errno));
    RewriteFailed();
    return;
  }
  Logf(LogLevel::kNotice, "Successfully renamed the temporary AOF base file %s into %s",
       rw_->tmp_name, base);
  std::string new_incr;
  if (state_ == State::kWaitRewrite) {
    const std::string tmp_incr = AofTempIncrFileName(filename());
    new_incr = copy.NewIncr(filename());
    if (rename(PathIn(tmp_incr).c_str(), PathIn(new_incr).c_str()) != 0) {
      Logf(LogLevel::kWarning, "Error trying to rename the temporary AOF incr file %s into %s: %s",
           tmp_incr, new_incr, ErrnoText(errno));
      unlink(PathIn(base).c_str());
      RewriteFailed();
      return;
    }
    Logf(LogLevel::kNotice, "Successfully renamed the temporary AOF incr file %s into %s", tmp_incr,
         new_incr);
  }
  copy.MarkIncrAsHistory(/*keep_last=*/fd_ >= 0);
  if (!PersistManifest(copy)) {
    unlink(PathIn(base).c_str());
    if (!new_incr.empty()) {
      rename(PathIn(new_incr).c_str(), PathIn(AofTempIncrFileName(filename())).c_str());
    }
    RewriteFailed();
    return;
  }
  manifest_ = std::move(copy);
  if (fd_ >= 0) {
    int err = 0;
    current_size_ = FileSize(PathIn(base), &err).value_or(0) + incr_size_;
    rewrite_base_size_ = current_size_;
  }
  DeleteHistory();
  Log(LogLevel::kNotice, "Background AOF rewrite finished successfully");
  last_bgrewrite_ok_ = true;
  consecutive_failures_ = 0;
  if (state_ == State::kWaitRewrite) state_ = State::kOn;
  last_rewrite_time_s_ = (WallMs() - rw_->start_ms) / 1000;
  rw_.reset();
}

void Aof::RewriteFailed() {
  last_bgrewrite_ok_ = false;
  ++consecutive_failures_;
  if (consecutive_failures_ >= 3) {
    const int64_t minutes =
        std::min<int64_t>(60, int64_t{1} << std::min<uint64_t>(6, consecutive_failures_ - 3));
    next_retry_ms_ = WallMs() + minutes * 60 * 1000;
    Logf(LogLevel::kWarning,
         "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in "
         "%d minutes",
         minutes);
  }
  AbortRewrite(false);
  if (state_ == State::kWaitRewrite) rewrite_scheduled_ = true;
}

void Aof::AbortRewrite(bool log_kill) {
  if (!rw_) return;
  if (log_kill) {
    Logf(LogLevel::kNotice, "Killing running AOF rewrite child: %d", static_cast<int>(getpid()));
  }
  if (rw_->finishing) JoinFinisher();
  if (rw_->snap) persistence_.UntrackSnapshot(rw_->snap.get());
  if (rw_->fd >= 0) close(rw_->fd);
  unlink(rw_->tmp_path.c_str());
  last_rewrite_time_s_ = (WallMs() - rw_->start_ms) / 1000;
  rw_.reset();
  ++rw_generation_;
  if (state_ == State::kWaitRewrite) {
    // The writes kept for the first base are dropped with it.
    buf_.clear();
    if (fd_ >= 0) SubmitJob({fd_, true, 0});
    fd_ = -1;
    const std::string tmp_incr = AofTempIncrFileName(filename());
    Logf(LogLevel::kNotice, "Removing the temp incr aof file %s in the background", tmp_incr);
    unlink(PathIn(tmp_incr).c_str());
  }
}

void Aof::JoinFinisher() {
  if (finisher_.joinable()) finisher_.join();
}

absl::Status Aof::SetEnabled(bool on, bool in_exec, int64_t now_ms) {
  if (on) {
    if (state_ != State::kOff) return absl::OkStatus();
    state_ = State::kWaitRewrite;
    timestamps_ = BoolConfig("aof-timestamp-enabled", false);
    server_.write_stream().Subscribe(this);
    server_.write_stream().ForgetSelectedDb(this);
    if (rw_ != nullptr) {
      Log(LogLevel::kNotice,
          "AOF was enabled but there is already an AOF rewriting in background. Stopping "
          "background AOF and starting a rewrite now.");
      AbortRewrite(true);
    }
    if (persistence_.bgsave_in_progress()) {
      rewrite_scheduled_ = true;
      Log(LogLevel::kNotice,
          "AOF was enabled but there is already another background operation. An AOF "
          "background was scheduled to start when possible.");
    } else if (in_exec) {
      rewrite_scheduled_ = true;
      Log(LogLevel::kNotice,
          "AOF was enabled during a transaction. An AOF background was scheduled to start when "
          "possible.");
    } else if (!StartRewrite(now_ms).ok()) {
      state_ = State::kOff;
      server_.write_stream().Unsubscribe(this);
      Log(LogLevel::kWarning,
          "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. "
          "Check the above logs for more info about the error.");
      return absl::InternalError("Unable to turn on AOF. Check server logs.");
    }
    if (write_error_) {
      Log(LogLevel::kNotice, "AOF reopen, just ignore the last error.");
      write_error_ = false;
    }
    if (fsync_errno_.exchange(0) != 0) {
      Log(LogLevel::kNotice, "AOF reopen, just ignore the AOF fsync error in bio job");
    }
    UpdateMisconf();
    return absl::OkStatus();
  }
  if (state_ == State::kOff) return absl::OkStatus();
  Flush(true);
  if (fd_ >= 0) {
    if (fdatasync(fd_) != 0) {
      Logf(LogLevel::kWarning, "Fail to fsync the AOF file: %s", ErrnoText(errno));
    }
    close(fd_);
    fd_ = -1;
  }
  buf_.clear();
  rewrite_scheduled_ = false;
  if (rw_ != nullptr) AbortRewrite(true);
  state_ = State::kOff;
  write_error_ = false;
  fsync_errno_.store(0);
  UpdateMisconf();
  server_.write_stream().Unsubscribe(this);
  return absl::OkStatus();
}

void Aof::DebugLoadAof() {
  if (state_ == State::kOn) Flush(true);
  persistence_.BeforeBulkChange();
  FlushDataset(server_);
  if (absl::Status st = ReadManifest(); !st.ok()) {
    Log(LogLevel::kWarning, std::string(st.message()));
    exit(1);
  }
  if (absl::Status st = MaybeUpgrade(); !st.ok()) {
    Log(LogLevel::kWarning, std::string(st.message()));
    exit(1);
  }
  DeleteHistory();
  auto load = std::make_unique<Load>();
  load->sync = true;
  if (manifest_.base) load->files.push_back({manifest_.base->name, true});
  for (const AofFileInfo& i : manifest_.incr) load->files.push_back({i.name, false});
  for (const Load::File& f : load->files) {
    int err = 0;
    std::optional<uint64_t> size = FileSize(PathIn(f.name), &err);
    if (!size) {
      Logf(LogLevel::kWarning, "Unable to obtain the AOF file %s length. stat: %s", f.name,
           ErrnoText(err));
      exit(1);
    }
    load->total_size += *size;
    if (f.base) load->base_size = *size;
  }
  if (load->total_size == 0) return;
  load->saved_mode = server_.shard(0).db(0).expiry_mode();
  SetExpiryMode(server_, ExpiryMode::kKeep);
  server_.mutable_loading() =
      LoadingState{.active = true, .start_ms = WallMs(), .total_bytes = load->total_size};
  load_ = std::move(load);
  bool finished = false;
  absl::Status st = LoadSome(*load_, SIZE_MAX, &finished);
  FinishLoad(st);
}

bool Aof::PrepareShutdown(bool force) {
  if (state_ == State::kWaitRewrite && rw_ != nullptr) {
    if (!force) {
      Log(LogLevel::kWarning, "Writing initial AOF, can't exit.");
      return false;
    }
    Log(LogLevel::kWarning, "Writing initial AOF. Exit anyway.");
  }
  if (rw_ != nullptr) {
    Log(LogLevel::kWarning, "There is a child rewriting the AOF. Killing it!");
    AbortRewrite(false);
  }
  if (state_ != State::kOff && fd_ >= 0) {
    Log(LogLevel::kNotice, "Calling fsync() on the AOF file.");
    Flush(true);
    (void)fdatasync(fd_);
  }
  return true;
}

void Aof::AppendInfo(std::string& out, int64_t now_ms) const {
  const bool write_ok = !write_error_ && fsync_errno_.load() == 0;
  absl::StrAppend(
      &out, "aof_enabled:", state_ != State::kOff ? 1 : 0, "\r\n",
      "aof_rewrite_in_progress:", rw_ != nullptr ? 1 : 0, "\r\n",
      "aof_rewrite_scheduled:", rewrite_scheduled_ ? 1 : 0, "\r\n",
      "aof_last_rewrite_time_sec:", last_rewrite_time_s_, "\r\n",
      "aof_current_rewrite_time_sec:", rw_ != nullptr ? (now_ms - rw_->start_ms) / 1000 : -1,
      "\r\n", "aof_last_bgrewrite_status:", last_bgrewrite_ok_ ? "ok" : "err", "\r\n",
      "aof_rewrites:", rewrites_, "\r\n",
      "aof_rewrites_consecutive_failures:", consecutive_failures_, "\r\n",
      "aof_last_write_status:", write_ok ? "ok" : "err", "\r\n", "aof_last_cow_size:0\r\n",
      "module_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n");
  if (server_.options().appendonly) {
    absl::StrAppend(
        &out, "aof_current_size:", current_size_, "\r\n", "aof_base_size:", rewrite_base_size_,
        "\r\n", "aof_pending_rewrite:", rewrite_scheduled_ ? 1 : 0, "\r\n",
        "aof_buffer_length:", buf_.size(), "\r\n", "aof_pending_bio_fsync:", pending_fsyncs_.load(),
        "\r\n", "aof_delayed_fsync:", delayed_fsync_, "\r\n");
  }
}

}  // namespace shardnode::node::persist
