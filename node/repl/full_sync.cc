#include "node/repl/full_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "node/commands/errors.h"
#include "node/config/config.h"
#include "node/persist/persistence.h"
#include "node/persist/snapshot.h"
#include "node/server/clock.h"
#include "node/server/log.h"
#include "node/server/server.h"
#include "node/server/session.h"
#include "replication/rdb.h"

namespace shardnode::node {
namespace {

// Keys per Snapshot::Step; a slice runs steps for about kSlice, and stops
// early once it produced kChunk bytes.
constexpr size_t kKeysPerStep = 256;
constexpr auto kSlice = std::chrono::microseconds(1000);
constexpr size_t kChunk = 256 * 1024;
// A replica's pending output above which its image waits for the socket.
constexpr size_t kHighWater = 1024 * 1024;

// Writes all of `data` to `fd`; errno on failure, 0 on success.
int WriteFully(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

}  // namespace

struct FullSyncs::Member {
  uint64_t client_id = 0;
  bool gone = false;
  bool delivered = false;
  bool header_sent = false;  // disk target: "$<len>\r\n" pushed
  uint64_t sent = 0;         // disk target: file bytes handed over
  int64_t last_progress_ms = 0;
};

struct FullSyncs::Job {
  uint64_t id = 0;
  bool socket = false;
  std::unique_ptr<persist::Snapshot> snapshot;  // set while producing
  bool step_posted = false;
  std::vector<Member> members;
  std::string mark;  // socket target: the EOF mark
  int fd = -1;       // disk target: the (unlinked) file
  uint64_t file_size = 0;
  int64_t key_delay_us = 0;        // rdb-key-save-delay: tests slow the walk down
  persist::SnapshotFilter filter;  // what the image holds
  bool producing() const { return snapshot != nullptr; }
};

FullSyncs::FullSyncs(boost::asio::io_context& io, Server& server, Hooks hooks)
    : io_(io), server_(server), hooks_(std::move(hooks)), read_buf_(kChunk, '\0') {}

FullSyncs::~FullSyncs() { Clear(); }

Session* FullSyncs::SessionOf(uint64_t client_id) const {
  auto it = server_.clients().find(client_id);
  return it == server_.clients().end() ? nullptr : it->second;
}

FullSyncs::Job* FullSyncs::Producing() const {
  for (const auto& j : jobs_) {
    if (j->producing()) return j.get();
  }
  return nullptr;
}

FullSyncs::Job* FullSyncs::FindJob(uint64_t job_id) const {
  for (const auto& j : jobs_) {
    if (j->id == job_id) return j.get();
  }
  return nullptr;
}

FullSyncs::Job* FullSyncs::JobOf(uint64_t client_id, Member** member) const {
  for (const auto& j : jobs_) {
    for (Member& m : j->members) {
      if (m.client_id == client_id && !m.gone) {
        *member = &m;
        return j.get();
      }
    }
  }
  return nullptr;
}

void FullSyncs::Request(uint64_t client_id, bool capa_eof, int64_t now_ms,
                        persist::SnapshotFilter filter) {
  const ServerOptions& o = server_.options();
  Job* producing = Producing();
  if (producing != nullptr && !producing->socket && SameFilter(producing->filter, filter)) {
    // A disk image in the making: join it, as its other replicas did.
    uint64_t peer = 0;
    for (const Member& m : producing->members) {
      if (!m.gone) peer = m.client_id;
    }
    if (peer != 0) {
      producing->members.push_back({.client_id = client_id, .last_progress_ms = now_ms});
      Watch(client_id);
      hooks_.begin(client_id, peer);
      Log(LogLevel::kNotice, "Waiting for end of BGSAVE for SYNC");
      return;
    }
  }
  waiting_.push_back({client_id, capa_eof, now_ms, filter});
  if (producing != nullptr) {
    Log(LogLevel::kNotice,
        producing->socket
            ? "Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC"
            : "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC");
    return;
  }
  if (o.repl_diskless_sync && capa_eof && o.repl_diskless_sync_delay > 0) {
    Log(LogLevel::kNotice, "Delay next BGSAVE for diskless SYNC");
    return;
  }
  StartJob(now_ms);
}

void FullSyncs::Tick(int64_t now_ms) {
  if (waiting_.empty() || Producing() != nullptr) return;
  const ServerOptions& o = server_.options();
  bool start = !o.repl_diskless_sync;
  if (!start) {
    int64_t max_replicas = 0;
    if (auto v = server_.config().Value("repl-diskless-sync-max-replicas")) {
      (void)absl::SimpleAtoi(*v, &max_replicas);
    }
    int64_t longest_ms = 0;
    for (const Waiting& w : waiting_) longest_ms = std::max(longest_ms, now_ms - w.since_ms);
    start = (max_replicas > 0 && static_cast<int64_t>(waiting_.size()) >= max_replicas) ||
            longest_ms >= int64_t{o.repl_diskless_sync_delay} * 1000;
  }
  if (start) StartJob(now_ms);
}

void FullSyncs::StartJob(int64_t now_ms) {
  const ServerOptions& o = server_.options();
  // The image serves the waiting replicas that want what the first one
  // wants (REPLCONF rdb-filter-only); the others wait for the next one.
  std::vector<Waiting> waiting;
  std::vector<Waiting> later;
  const persist::SnapshotFilter filter = waiting_.front().filter;
  for (Waiting& w : waiting_) (SameFilter(w.filter, filter) ? waiting : later).push_back(w);
  waiting_ = std::move(later);
  bool socket = o.repl_diskless_sync;
  for (const Waiting& w : waiting) socket = socket && w.capa_eof;
  Logf(LogLevel::kNotice, "Starting BGSAVE for SYNC with target: %s",
       socket ? "replicas sockets" : "disk");

  auto job = std::make_unique<Job>();
  job->id = ++next_job_id_;
  job->socket = socket;
  if (!socket) {
    // Named only until it is open: the image needs no name, and a crash
    // leaves nothing behind.
    const std::string path = absl::StrCat("temp-sync-", getpid(), "-", job->id, ".rdb");
    job->fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (job->fd < 0) {
      Logf(LogLevel::kWarning, "Failed opening the temp RDB file %s for saving: %s", path,
           std::strerror(errno));
      Log(LogLevel::kWarning, "BGSAVE for replication failed");
      for (const Waiting& w : waiting) {
        if (Session* s = SessionOf(w.client_id); s != nullptr && s->push) {
          s->push(errors::RespError(errors::kBgsaveForReplicaFailed));
        }
        hooks_.drop(w.client_id);
      }
      return;
    }
    unlink(path.c_str());
  }
  replication::RdbWriterOptions options;
  options.ctime_s = now_ms / 1000;
  if (server_.persistence() != nullptr) options = server_.persistence()->WriterOptions(now_ms);
  job->filter = filter;
  job->snapshot = std::make_unique<persist::Snapshot>(server_, std::move(options), job->filter);
  // Without Persistence nothing would tell the snapshot about writes: take
  // the whole image now.
  if (server_.persistence() != nullptr) {
    server_.persistence()->TrackSnapshot(job->snapshot.get());
  } else {
    job->snapshot->Finish();
  }
  if (socket) job->mark = RandomHexId();
  if (auto v = server_.config().Value("rdb-key-save-delay")) {
    (void)absl::SimpleAtoi(*v, &job->key_delay_us);
  }
  // No child process makes the image: the pid is the node's own, as in
  // every "started by pid" line of ours.
  if (socket) {
    Logf(LogLevel::kNotice, "Background RDB transfer started by pid %d",
         static_cast<int>(getpid()));
  } else {
    Logf(LogLevel::kNotice, "Background saving started by pid %d", static_cast<int>(getpid()));
  }
  Job& j = *job;
  jobs_.push_back(std::move(job));
  ++busy_;
  for (const Waiting& w : waiting) {
    j.members.push_back({.client_id = w.client_id, .last_progress_ms = now_ms});
    Watch(w.client_id);
    hooks_.begin(w.client_id, 0);
    if (socket) {
      if (Session* s = SessionOf(w.client_id); s != nullptr && s->push) {
        s->push(absl::StrCat("$EOF:", j.mark, "\r\n"));
      }
    }
  }
  --busy_;
  PostProduce(j);
  Reap();
}

void FullSyncs::PostProduce(Job& job, int64_t delay_us) {
  if (job.step_posted) return;
  job.step_posted = true;
  std::weak_ptr<int> alive = alive_;
  auto step = [this, alive, id = job.id] {
    if (alive.lock()) Produce(id);
  };
  if (delay_us <= 0) {
    boost::asio::post(io_, std::move(step));
    return;
  }
  auto timer =
      std::make_shared<boost::asio::steady_timer>(io_, std::chrono::microseconds(delay_us));
  timer->async_wait([timer, step](boost::system::error_code ec) {
    if (!ec) step();
  });
}

void FullSyncs::Produce(uint64_t job_id) {
  Job* job = FindJob(job_id);
  if (job == nullptr || !job->producing()) return;
  job->step_posted = false;
  ++busy_;
  bool wait_for_socket = false;
  for (Member& m : job->members) {
    if (m.gone) continue;
    Session* s = SessionOf(m.client_id);
    if (s == nullptr) {
      m.gone = true;
    } else if (job->socket && s->output_buffer_bytes >= kHighWater) {
      wait_for_socket = true;  // OnDrained posts the next step
    }
  }
  if (!wait_for_socket) {
    persist::Snapshot& snap = *job->snapshot;
    std::string out;
    const auto start = std::chrono::steady_clock::now();
    bool done = false;
    int64_t delay_us = 0;
    if (job->key_delay_us > 0) {
      done = snap.StepSlice(job->key_delay_us, &delay_us);
      out = snap.TakeOutput();
    } else {
      do {
        done = snap.Step(kKeysPerStep);
        out += snap.TakeOutput();
      } while (!done && out.size() < kChunk && std::chrono::steady_clock::now() - start < kSlice);
    }
    int err = 0;
    if (job->socket) {
      for (Member& m : job->members) {
        Session* s = m.gone ? nullptr : SessionOf(m.client_id);
        if (s != nullptr && s->push && !out.empty()) s->push(out);
      }
    } else {
      err = WriteFully(job->fd, out);
    }
    if (err != 0) {
      Logf(LogLevel::kWarning, "Write error saving DB on disk(rdbSaveRio): %s", std::strerror(err));
      Log(LogLevel::kWarning, "SYNC failed. BGSAVE child returned an error");
      for (Member& m : job->members) DropMember(m);
    } else if (done) {
      FinishProducing(*job);
    } else {
      PostProduce(*job, delay_us);
    }
  }
  --busy_;
  Reap();
}

void FullSyncs::FinishProducing(Job& job) {
  job.file_size = job.snapshot->bytes_written();
  StopProducing(job);
  if (job.socket) {
    const auto up = std::count_if(job.members.begin(), job.members.end(), [this](const Member& m) {
      return !m.gone && SessionOf(m.client_id) != nullptr;
    });
    Logf(LogLevel::kNotice, "Diskless rdb transfer, done reading from pipe, %d replicas still up.",
         up);
    Log(LogLevel::kNotice, "Background RDB transfer terminated with success");
    for (Member& m : job.members) {
      Session* s = m.gone ? nullptr : SessionOf(m.client_id);
      if (s == nullptr) continue;
      if (s->push) s->push(job.mark);
      m.delivered = true;
      Unwatch(m.client_id);
      hooks_.delivered(m.client_id, true);
    }
  } else {
    Logf(LogLevel::kNotice, "RDB for SYNC ready on disk: %d bytes", job.file_size);
    for (Member& m : job.members) {
      if (!m.gone) SendFile(job, m);
    }
  }
  // Replicas that waited for this image to end get the next one.
  std::weak_ptr<int> alive = alive_;
  boost::asio::post(io_, [this, alive] {
    if (alive.lock()) Tick(NowMs());
  });
}

void FullSyncs::SendFile(Job& job, Member& m) {
  Session* s = SessionOf(m.client_id);
  if (s == nullptr || !s->push) {
    m.gone = true;
    return;
  }
  if (!m.header_sent) {
    s->push(absl::StrCat("$", job.file_size, "\r\n"));
    m.header_sent = true;
  }
  while (m.sent < job.file_size && s->output_buffer_bytes < kHighWater) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, job.file_size - m.sent));
    const ssize_t n = pread(job.fd, read_buf_.data(), want, static_cast<off_t>(m.sent));
    if (n <= 0) {
      Logf(LogLevel::kWarning, "Read error sending DB to replica: %s",
           n < 0 ? std::strerror(errno) : "premature EOF");
      DropMember(m);
      return;
    }
    s->push(std::string_view(read_buf_.data(), static_cast<size_t>(n)));
    m.sent += static_cast<uint64_t>(n);
  }
  if (m.sent == job.file_size) {
    m.delivered = true;
    Unwatch(m.client_id);
    hooks_.delivered(m.client_id, false);
  }
}

void FullSyncs::OnDrained(uint64_t client_id) {
  Member* m = nullptr;
  Job* job = JobOf(client_id, &m);
  if (job == nullptr || m->delivered) return;
  m->last_progress_ms = NowMs();
  if (job->producing()) {
    if (job->socket) PostProduce(*job);
    return;
  }
  ++busy_;
  SendFile(*job, *m);
  --busy_;
  Reap();
}

void FullSyncs::Watch(uint64_t client_id) {
  Session* s = SessionOf(client_id);
  if (s == nullptr) return;
  std::weak_ptr<int> alive = alive_;
  s->on_output_drained = [this, alive, client_id] {
    if (alive.lock()) OnDrained(client_id);
  };
}

void FullSyncs::Unwatch(uint64_t client_id) {
  if (Session* s = SessionOf(client_id)) s->on_output_drained = nullptr;
}

void FullSyncs::DropMember(Member& m) {
  if (m.gone) return;
  m.gone = true;
  Unwatch(m.client_id);
  hooks_.drop(m.client_id);
}

void FullSyncs::StopProducing(Job& job) {
  if (!job.producing()) return;
  if (server_.persistence() != nullptr) server_.persistence()->UntrackSnapshot(job.snapshot.get());
  job.snapshot.reset();
}

void FullSyncs::Remove(uint64_t client_id) {
  std::erase_if(waiting_, [client_id](const Waiting& w) { return w.client_id == client_id; });
  Member* m = nullptr;
  if (Job* job = JobOf(client_id, &m); job != nullptr) {
    m->gone = true;
    Unwatch(client_id);
    // The image may have waited for this replica's socket to drain: the
    // others go on without it.
    if (job->producing() && job->socket) PostProduce(*job);
  }
  Reap();
}

void FullSyncs::Reap() {
  if (busy_ > 0) return;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    Job& job = **it;
    std::erase_if(job.members, [](const Member& m) { return m.gone; });
    const bool pending = std::any_of(job.members.begin(), job.members.end(),
                                     [](const Member& m) { return !m.delivered; });
    if (pending) {
      ++it;
      continue;
    }
    if (job.producing()) {
      Log(LogLevel::kWarning,
          job.socket ? "Diskless rdb transfer, last replica dropped, killing fork child."
                     : "Background RDB save for SYNC stopped: no replica left");
      StopProducing(job);
    }
    if (job.fd >= 0) close(job.fd);
    it = jobs_.erase(it);
  }
}

void FullSyncs::AbortProducing() {
  Job* job = Producing();
  if (job == nullptr) return;
  Log(LogLevel::kWarning, job->socket ? "Background transfer stopped by FLUSHALL"
                                      : "Background RDB save for SYNC stopped by FLUSHALL");
  ++busy_;
  for (Member& m : job->members) {
    if (m.gone) continue;
    Log(LogLevel::kWarning, "SYNC failed. BGSAVE child returned an error");
    DropMember(m);
  }
  StopProducing(*job);
  --busy_;
  Reap();
  std::weak_ptr<int> alive = alive_;
  boost::asio::post(io_, [this, alive] {
    if (alive.lock()) Tick(NowMs());
  });
}

void FullSyncs::Clear() {
  waiting_.clear();
  for (auto& job : jobs_) {
    for (Member& m : job->members) {
      if (!m.gone) Unwatch(m.client_id);
    }
    StopProducing(*job);
    if (job->fd >= 0) close(job->fd);
  }
  jobs_.clear();
}

void FullSyncs::Cron(int64_t now_ms) {
  // Replicas that wait for an image, or for a disk image to be complete,
  // get a newline now and then: it keeps their link alive and moves no
  // offset.
  for (const Waiting& w : waiting_) {
    if (Session* s = SessionOf(w.client_id); s != nullptr && s->push) s->push("\n");
  }
  const int64_t timeout_ms = int64_t{server_.options().repl_timeout} * 1000;
  ++busy_;
  for (auto& job : jobs_) {
    if (!job->producing()) continue;
    for (Member& m : job->members) {
      Session* s = m.gone ? nullptr : SessionOf(m.client_id);
      if (s == nullptr) continue;
      if (!job->socket) {
        if (s->push) s->push("\n");
      } else if (s->output_buffer_bytes > 0 && now_ms - m.last_progress_ms > timeout_ms) {
        // A replica that stopped reading holds its image back.
        Logf(LogLevel::kWarning, "Disconnecting timedout replica (full sync): %s",
             hooks_.name(m.client_id));
        DropMember(m);
        PostProduce(*job);  // it may have waited for that socket only
      }
    }
  }
  --busy_;
  Reap();
}

const char* FullSyncs::StateOf(uint64_t client_id) const {
  for (const Waiting& w : waiting_) {
    if (w.client_id == client_id) return "wait_bgsave";
  }
  Member* m = nullptr;
  const Job* job = JobOf(client_id, &m);
  if (job == nullptr || m->delivered) return nullptr;
  return job->producing() ? "wait_bgsave" : "send_bulk";
}

}  // namespace shardnode::node
