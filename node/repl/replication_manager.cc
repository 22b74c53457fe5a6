#include "node/repl/replication_manager.h"

// GCC 12 flags the coroutine frame's sized operator delete in Asio's
// awaitable<T> for non-void T as mismatched (a false positive: the frame is
// allocated by the matching awaitable_frame_base::operator new).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/strings.h"
#include "clusterbus/cluster_state.h"
#include "clusterbus/slot_migration.h"
#include "node/commands/dispatcher.h"
#include "node/commands/errors.h"
#include "node/config/config.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/net/resp_client.h"
#include "node/persist/aof.h"
#include "node/persist/dataset.h"
#include "node/persist/persistence.h"
#include "node/persist/snapshot.h"
#include "node/repl/full_sync.h"
#include "node/resp/reply.h"
#include "node/server/blocking.h"
#include "node/server/clock.h"
#include "node/server/log.h"
#include "node/server/server.h"
#include "node/server/suspend.h"
#include "replication/handshake.h"
#include "replication/rdb.h"
#include "slots/hash_slot.h"
#include "slots/slot_set.h"

namespace shardnode::node {
namespace asio = boost::asio;
using replication::EncodeCommand;

namespace {

// The loader of a full sync: the dataset loader, plus the file's used-mem
// (INFO persistence loading_rdb_used_mem).
class SyncLoader : public persist::DatasetLoader {
 public:
  SyncLoader(Server& server, int64_t now_ms, persist::TempDataset* into = nullptr)
      : DatasetLoader(server, now_ms, {.skip_expired = false, .flush_first = false, .into = into}),
        server_(server) {}
  absl::Status OnAux(absl::string_view key, absl::string_view value) override {
    int64_t mem = 0;
    if (key == "used-mem" && absl::SimpleAtoi(value, &mem) && mem > 0) {
      server_.mutable_loading().rdb_used_mem = static_cast<uint64_t>(mem);
    }
    return absl::OkStatus();
  }

 private:
  Server& server_;
};

// How every database treats keys whose TTL passed (keyspace/db.h).
void SetExpiryMode(Server& server, ExpiryMode mode) {
  for (int i = 0; i < server.num_shards(); ++i) {
    Keyspace& ks = server.shard(i);
    for (int d = 0; d < ks.num_dbs(); ++d) ks.db(d).set_expiry_mode(mode);
  }
}

// Keys in every database of every shard (Redis's dbTotalServerKeyCount).
uint64_t TotalKeys(Server& server) {
  uint64_t n = 0;
  for (int i = 0; i < server.num_shards(); ++i) n += server.shard(i).TotalKeys();
  return n;
}

// "ip" of an "ip:port" peer address (IPv6 addresses keep their colons).
std::string HostOf(const std::string& addr) {
  const size_t colon = addr.rfind(':');
  return colon == std::string::npos ? addr : addr.substr(0, colon);
}

}  // namespace

// The replica's connection to its primary: one coroutine that connects
// through a RespClient (node/net/resp_client.h), runs the handshake core
// over its replies, receives a full sync or continues, then reads the
// stream in the client's raw mode and applies it. It reports back to the
// manager, which may Close() it at any time.
class PrimaryLink : public std::enable_shared_from_this<PrimaryLink> {
 public:
  PrimaryLink(asio::io_context& io, ReplicationManager* manager, std::string host, int port)
      : timer_(io), manager_(manager), host_(std::move(host)), port_(port) {
    RespClientOptions o;
    // The connect is bounded by repl-timeout; reads by the manager's cron
    // (repl-timeout since the last byte, whatever the link is doing).
    o.connect_timeout = std::chrono::seconds(std::max(1, manager->server_.options().repl_timeout));
    // Newlines are the primary's keepalives while our sync waits to begin.
    o.limits.skip_empty_lines = true;
    o.on_read = [this](size_t n) {
      // The client is ours and reads only while our coroutine awaits it.
      if (manager_ == nullptr) return;
      manager_->core_.LinkIo(NowMs());
      manager_->transfer_read_ += static_cast<int64_t>(n);
    };
    if (manager->tls_client) o.tls = manager->tls_client();
    o.source_addr = manager->server_.config().Value("bind-source-addr").value_or("");
    client_ = RespClient::Create(io.get_executor(), std::move(o));
  }

  static asio::awaitable<void> Run(std::shared_ptr<PrimaryLink> self) {
    std::string why;
    try {
      why = co_await self->Serve();
    } catch (const std::exception& e) {
      why = e.what();
    }
    self->Shutdown();
    if (self->manager_ != nullptr) {
      if (!why.empty()) Logf(LogLevel::kWarning, "%s", why);
      self->manager_->OnLinkClosed(self.get(), NowMs());
    }
  }

  // Drops the link; the coroutine ends without calling back. A load in
  // progress is abandoned where it is: into the live dataset, the keys
  // loaded so far stay until the next full sync flushes them; into a
  // dataset aside (swapdb), that dataset is dropped and the old one stays.
  void Close() {
    if (loading_ && manager_ != nullptr) manager_->server_.mutable_loading() = LoadingState();
    loading_ = false;
    manager_ = nullptr;
    Shutdown();
  }

  // Queues bytes for the primary (ACKs, keepalives). A write failure
  // closes the client, and the stream read then ends the link.
  void Send(std::string_view bytes) { (void)client_->SendRaw(bytes); }

 private:
  void Shutdown() {
    timer_.cancel();
    client_->Close();
  }

  bool alive() const { return manager_ != nullptr; }

  // Reads more stream bytes into in_; false at EOF, error or Close().
  asio::awaitable<bool> ReadMore() {
    const absl::Status s = co_await client_->ReadRaw(&in_);
    co_return s.ok() && alive();
  }

  // One line without its CRLF (or bare LF), in raw mode.
  asio::awaitable<bool> ReadLine(std::string* line) {
    absl::StatusOr<std::string> got = co_await client_->ReadLine();
    if (!got.ok() || !alive()) co_return false;
    *line = std::move(*got);
    co_return true;
  }

  // Sleeps key-load-delay microseconds for each of `keys` keys just loaded
  // (a testing knob of Redis's; 0 by default), or just yields to the loop.
  // The delay is re-read every 20 ms so that CONFIG SET applies mid-load.
  // Returns false when the link was closed meanwhile.
  asio::awaitable<bool> PauseAfterKeys(uint64_t keys) {
    do {
      const int64_t delay = manager_->server_.config().IntValue("key-load-delay", 0);
      int64_t us = 0;
      if (delay > 0 && keys > 0) {
        const uint64_t batch = std::min<uint64_t>(keys, std::max<int64_t>(1, 20000 / delay));
        us = static_cast<int64_t>(batch) * delay;
        keys -= batch;
      } else {
        keys = 0;  // negative delays (Redis's statistical sleeps) round to nothing
      }
      boost::system::error_code ec;
      timer_.expires_after(std::chrono::microseconds(us));
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!alive()) co_return false;
    } while (keys > 0);
    co_return true;
  }

  // Loads a full sync's RDB as Redis 7.0 does with repl-diskless-load
  // disabled: the payload was received whole, then the old data is flushed
  // and the node is "loading" (-LOADING to clients, INFO loading:1, offset 0
  // to the cluster) while the RDB is decoded a slice of
  // loading-process-events-interval-bytes at a time, the loop running
  // between slices (clients, cluster bus, timers). A newline goes to the
  // primary every second meanwhile, as Redis's keepalive. Returns the error,
  // or "" when loaded; when the link was closed meanwhile, returns "" with
  // alive() false and touches nothing.
  asio::awaitable<std::string> LoadRdb(std::string rdb) {
    Server& server = manager_->server_;
    manager_->AttachToNewPrimary();
    Logf(LogLevel::kNotice, "MASTER <-> REPLICA sync: Flushing old data");
    persist::FlushDataset(server);
    Logf(LogLevel::kNotice, "MASTER <-> REPLICA sync: Loading DB in memory");
    const int64_t start = NowMs();
    server.mutable_loading() =
        LoadingState{.active = true, .start_ms = start, .total_bytes = rdb.size()};
    loading_ = true;
    SyncLoader loader(server, start);
    replication::RdbReader reader;
    int64_t keepalive_ms = start;
    size_t pos = 0;
    std::string error;
    for (;;) {
      const int64_t interval =
          server.config().IntValue("loading-process-events-interval-bytes", 2 * 1024 * 1024);
      const size_t n =
          std::min(rdb.size() - pos, static_cast<size_t>(std::max<int64_t>(1, interval)));
      const uint64_t keys_before = loader.keys_loaded();
      auto progress = reader.Feed(absl::string_view(rdb.data() + pos, n), loader);
      pos += n;
      server.mutable_loading().loaded_bytes = pos;
      if (!progress.ok()) {
        error = std::string(progress.status().message());
        break;
      }
      if (*progress == replication::RdbReader::Progress::kDone) {
        if (!reader.Remaining().empty()) error = "Trailing bytes after the RDB checksum";
        break;
      }
      if (pos >= rdb.size()) {
        error = std::string(reader.Finish().message());
        break;
      }
      if (!co_await PauseAfterKeys(loader.keys_loaded() - keys_before)) co_return "";
      if (const int64_t now = NowMs(); now - keepalive_ms >= 1000) {
        keepalive_ms = now;
        Send("\n");
      }
    }
    loading_ = false;
    server.mutable_loading() = LoadingState();
    if (!error.empty()) {
      co_return absl::StrCat("Failed trying to load the MASTER synchronization DB: ", error);
    }
    Logf(LogLevel::kNotice, "Done loading RDB, keys loaded: %d, keys expired: %d.",
         loader.keys_loaded(), loader.expired_skipped());
    co_return "";
  }

  // Loads a full sync's RDB straight from the socket as it arrives, as
  // Redis 7.0 does with repl-diskless-load swapdb (or on-empty-db on an
  // empty node): decoded a slice of loading-process-events-interval-bytes
  // at a time, the loop running between slices.
  //  - `swapdb`: the keys go to a dataset aside that replaces the live one
  //    only once the whole RDB loaded; on failure it is dropped and the old
  //    data stays, with our history (the next PSYNC may continue it).
  //    `async` (our history is the primary's): the old data is served
  //    meanwhile (async_loading); else the node is "loading" (-LOADING).
  //  - otherwise the live dataset is flushed first, and again on failure.
  // Returns true when loaded. False when it failed (logged as Redis does; a
  // corrupt payload does not stop the node) or when the link was closed
  // meanwhile (alive() false; the dataset aside, if any, is dropped).
  asio::awaitable<bool> LoadFromSocket(const replication::PayloadHeader& header, bool swapdb,
                                       bool async) {
    Server& server = manager_->server_;
    std::unique_ptr<persist::TempDataset> temp;
    if (swapdb) {
      temp = std::make_unique<persist::TempDataset>(server);
    } else {
      manager_->AttachToNewPrimary();
      Logf(LogLevel::kNotice, "MASTER <-> REPLICA sync: Flushing old data");
      persist::FlushDataset(server);
    }
    Logf(LogLevel::kNotice, "MASTER <-> REPLICA sync: Loading DB in memory");
    const int64_t start = NowMs();
    const bool sized = header.kind == replication::PayloadHeader::Kind::kDisk;
    const uint64_t length = sized ? static_cast<uint64_t>(header.length) : 0;
    server.mutable_loading() =
        LoadingState{.active = true, .async = async, .start_ms = start, .total_bytes = length};
    loading_ = true;
    SyncLoader loader(server, start, temp.get());
    replication::RdbReader reader;
    int64_t keepalive_ms = start;
    uint64_t fed = 0;
    bool done = false;
    bool short_read = false;  // the connection ended first
    std::string error;        // the payload is corrupt
    while (!done) {
      if (sized && fed == length) {  // the payload ended inside the RDB
        error = std::string(reader.Finish().message());
        if (error.empty()) error = "Unexpected EOF reading RDB file";
        break;
      }
      if (in_.empty()) {
        if (!co_await ReadMore()) {
          if (!alive()) co_return false;
          short_read = true;
          break;
        }
        continue;
      }
      const int64_t interval =
          server.config().IntValue("loading-process-events-interval-bytes", 2 * 1024 * 1024);
      size_t n = std::min(in_.size(), static_cast<size_t>(std::max<int64_t>(1, interval)));
      if (sized) n = static_cast<size_t>(std::min<uint64_t>(n, length - fed));
      const uint64_t keys_before = loader.keys_loaded();
      auto progress = reader.Feed(absl::string_view(in_.data(), n), loader);
      in_.erase(0, n);
      fed += n;
      server.mutable_loading().loaded_bytes = reader.Consumed();
      if (!progress.ok()) {
        error = std::string(progress.status().message());
        break;
      }
      done = *progress == replication::RdbReader::Progress::kDone;
      if (!co_await PauseAfterKeys(loader.keys_loaded() - keys_before)) co_return false;
      if (const int64_t now = NowMs(); now - keepalive_ms >= 1000) {
        keepalive_ms = now;
        Send("\n");
      }
    }
    bool mark_broken = false;
    if (done) {
      // What follows the RDB: nothing more of a sized payload; the 40-byte
      // end mark of a streamed one, then the stream.
      const absl::string_view rest = reader.Remaining();
      if (sized) {
        if (!rest.empty() || fed != length) error = "Trailing bytes after the RDB checksum";
      } else {
        in_.insert(0, rest.data(), rest.size());
        while (in_.size() < replication::kEofMarkLength && !short_read) {
          if (!co_await ReadMore()) {
            if (!alive()) co_return false;
            short_read = true;
          }
        }
        if (!short_read) {
          mark_broken = in_.compare(0, replication::kEofMarkLength, header.eof_mark) != 0;
          if (!mark_broken) in_.erase(0, replication::kEofMarkLength);
        }
      }
    }
    if (short_read || mark_broken || !error.empty()) {
      if (mark_broken) {
        Log(LogLevel::kWarning, "Replication stream EOF marker is broken");
      } else if (short_read) {
        Log(LogLevel::kWarning, "Short read or OOM loading DB. Unrecoverable error, aborting now.");
        Logf(LogLevel::kWarning,
             "Internal error in RDB reading offset %d, function at rdbLoad -> Unexpected EOF "
             "reading RDB file. Failure loading rdb format from socket, assuming connection "
             "error, resuming operation.",
             reader.Consumed());
      } else {
        Logf(LogLevel::kWarning,
             "Internal error in RDB reading offset %d, function at rdbLoad -> %s. Failure "
             "loading rdb format",
             reader.Consumed(), error);
      }
      if (!mark_broken) {
        Logf(LogLevel::kWarning,
             "Failed trying to load the MASTER synchronization DB from socket: %s",
             short_read ? "Connection lost" : error);
      }
      loading_ = false;
      server.mutable_loading() = LoadingState();
      if (temp != nullptr) {
        temp.reset();
        Log(LogLevel::kNotice, "MASTER <-> REPLICA sync: Discarding temporary DB in background");
      } else {
        persist::FlushDataset(server);  // the half-loaded keys
      }
      co_return false;
    }
    Logf(LogLevel::kNotice, "Done loading RDB, keys loaded: %d, keys expired: %d.",
         loader.keys_loaded(), loader.expired_skipped());
    if (temp != nullptr) {
      // A script past busy-reply-threshold serves the loop from its hook:
      // the dataset it runs on is not swapped under it.
      while (!server.busy_script_error().empty()) {
        boost::system::error_code ec;
        timer_.expires_after(std::chrono::milliseconds(10));
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!alive()) co_return false;
      }
      manager_->AttachToNewPrimary();
      Log(LogLevel::kNotice, "MASTER <-> REPLICA sync: Swapping active DB with loaded DB");
      persist::SwapInDataset(server, *temp);
      temp.reset();
      Log(LogLevel::kNotice, "MASTER <-> REPLICA sync: Discarding old DB in background");
    }
    loading_ = false;
    server.mutable_loading() = LoadingState();
    co_return true;
  }

  // Returns why the link ended (empty: closed on purpose or plain EOF).
  asio::awaitable<std::string> Serve() {
    ReplicationManager* m = manager_;
    m->core_.LinkConnecting();
    const absl::Status connected = co_await client_->Connect(host_, port_);
    if (!alive()) co_return "";
    if (!connected.ok()) {
      co_return absl::StrCat("Error condition on socket for SYNC: ", connected.message());
    }
    Logf(LogLevel::kNotice, "MASTER <-> REPLICA sync started");
    m->core_.LinkHandshake();

    replication::HandshakeConfig hc;
    hc.masterauth = m->server_.options().masterauth;
    // With masteruser set, AUTH <user> <password> (Redis 6 ACL form).
    hc.masteruser = m->server_.config().Value("masteruser").value_or("");
    // Under tls-replication the primary reaches us on our TLS port.
    const ServerOptions& opts = m->server_.options();
    hc.listening_port =
        opts.tls_replication && opts.tls_port ? opts.tls_port : m->server_.tcp_port();
    // A history discarded for a full sync that did not complete (the data
    // may be half loaded) is not offered: PSYNC ? -1, as Redis.
    if (!m->history_discarded_) {
      hc.cached_replid = m->ids_.replid;
      hc.cached_offset = m->master_repl_offset_;
    }
    hc.failover = m->failover_state_ == ReplicationManager::FailoverState::kInProgress;
    replication::ReplicaHandshake hs(hc);
    Send(hs.Start());
    replication::ReplicaHandshake::Step step;
    std::string line;
    using Result = replication::ReplicaHandshake::Result;
    // The replies to the handshake's pipelined commands, in order; the core
    // reads each as its one-line form ("+PONG", "-NOAUTH ...").
    while (step.result == Result::kPending) {
      absl::StatusOr<resp::ReplyValue> reply = co_await client_->ReadReply();
      if (!alive()) co_return "";
      if (!reply.ok() && reply.status().code() == absl::StatusCode::kDataLoss) {
        co_return absl::StrCat("Protocol error from MASTER: ", reply.status().message());
      }
      if (!reply.ok()) co_return "";  // closed: retried by the cron
      step = hs.OnLine(reply->ToLine());
      if (!step.send.empty()) Send(step.send);
    }
    if (m->failover_state_ == ReplicationManager::FailoverState::kInProgress) {
      // The target took over (a full sync is fine too), or refused: then
      // we are a primary again (posted: this link is closed by it).
      if (step.result == Result::kFullResync || step.result == Result::kContinue) {
        m->ClearFailover();
      } else {
        asio::post(m->io_, [m]() { m->AbortFailover("Failover target rejected psync request"); });
        co_return step.error;
      }
    }
    if (step.result == Result::kRetryLater || step.result == Result::kError) co_return step.error;

    if (step.result == Result::kFullResync) {
      Logf(LogLevel::kNotice, "Full resync from master: %s:%d", step.replid, step.offset);
      m->core_.LinkTransfer();
      replication::PayloadHeader header;
      while (header.kind == replication::PayloadHeader::Kind::kSkip) {
        if (!co_await ReadLine(&line) || !alive()) co_return "";
        header = replication::ParsePayloadHeader(line);
      }
      if (header.kind == replication::PayloadHeader::Kind::kError) co_return header.error;
      const bool sized = header.kind == replication::PayloadHeader::Kind::kDisk;
      // INFO's master_sync_* figures (the diskless form has no size).
      m->transfer_size_ = sized ? header.length : 0;
      m->transfer_read_ = static_cast<int64_t>(client_->buffered());
      // Redis's useDisklessLoad: straight from the socket with swapdb, or
      // with on-empty-db while we hold no key; else received whole first.
      const std::string load_mode = absl::AsciiStrToLower(
          m->server_.config().Value("repl-diskless-load").value_or("disabled"));
      const bool swapdb = load_mode == "swapdb";
      const bool diskless = swapdb || (load_mode == "on-empty-db" && TotalKeys(m->server_) == 0);
      const char* to = diskless ? "to parser" : "to disk";
      if (sized) {
        Logf(LogLevel::kNotice, "MASTER <-> REPLICA sync: receiving %d bytes from master %s",
             header.length, to);
      } else {
        Logf(LogLevel::kNotice,
             "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF %s", to);
      }
      std::string rdb;
      if (!diskless && sized) {
        const size_t len = static_cast<size_t>(header.length);
        while (in_.size() < len) {
          if (!co_await ReadMore()) co_return "I/O error reading bulk count from MASTER";
        }
        rdb = in_.substr(0, len);
        in_.erase(0, len);
      } else if (!diskless) {
        // The RDB ends where the 40-byte mark appears, as Redis's replica
        // finds it (the mark is random; the load then checks the RDB's own
        // checksum). Searching the bytes as they come avoids decoding the
        // RDB twice.
        size_t searched = 0;
        size_t rdb_len = std::string::npos;
        for (;;) {
          rdb_len = in_.find(header.eof_mark, searched);
          if (rdb_len != std::string::npos) break;
          if (in_.size() >= replication::kEofMarkLength) {
            searched = in_.size() - replication::kEofMarkLength + 1;
          }
          if (!co_await ReadMore()) co_return "I/O error trying to sync with MASTER";
        }
        rdb = in_.substr(0, rdb_len);
        in_.erase(0, rdb_len + replication::kEofMarkLength);
      }
      // As Redis: the AOF is switched off while the dataset is replaced,
      // then on again, which writes a base of the new dataset (aof.h).
      persist::Aof* aof =
          m->server_.persistence() != nullptr ? m->server_.persistence()->aof() : nullptr;
      const bool aof_on = aof != nullptr && aof->state() != persist::Aof::State::kOff;
      if (aof_on) (void)aof->SetEnabled(false, false, NowMs());
      std::string error;
      if (diskless) {
        // Async loading when the primary's history is ours (Redis compares
        // the FULLRESYNC replid with its own).
        const bool async = swapdb && step.replid == m->ids_.replid;
        if (!co_await LoadFromSocket(header, swapdb, async) && alive()) {
          error = "Failed trying to load the MASTER synchronization DB from socket";
        }
      } else {
        error = co_await LoadRdb(std::move(rdb));
      }
      if (aof_on && m->server_.options().appendonly &&
          !aof->SetEnabled(true, false, NowMs()).ok()) {
        Log(LogLevel::kWarning,
            "Failed enabling the AOF after successful master synchronization! Trying it again "
            "in one second.");
      }
      if (!alive()) co_return "";
      if (!error.empty()) co_return diskless ? "" : error;  // the diskless load logged it
      m->OnFullSync(step.replid, step.offset);
      m->AttachPrimarySession(*client_, /*new_client=*/true);
      Logf(LogLevel::kNotice, "MASTER <-> REPLICA sync: Finished with success");
      Send(EncodeCommand({"REPLCONF", "ACK", absl::StrCat(m->master_repl_offset_)}));
    } else {
      Logf(LogLevel::kNotice,
           "Successful partial resynchronization with master. MASTER <-> REPLICA sync: Master "
           "accepted a Partial Resynchronization.");
      m->OnContinue(step.new_replid);
      m->AttachPrimarySession(*client_, /*new_client=*/false);
    }

    // The stream.
    std::string chunk;
    for (;;) {
      if (!in_.empty()) {
        chunk.swap(in_);
        in_.clear();
        if (!m->ApplyPrimaryBytes(chunk, NowMs())) co_return "Protocol error from MASTER";
        if (!alive()) co_return "";
      }
      if (!co_await ReadMore()) co_return "Connection with master lost.";
    }
  }

  std::shared_ptr<RespClient> client_;
  asio::steady_timer timer_;     // key-load-delay pauses
  ReplicationManager* manager_;  // null once closed
  std::string host_;
  int port_;
  std::string in_;        // raw bytes: the RDB, then stream not yet applied
  bool loading_ = false;  // LoadRdb owns Server::loading
};

ReplicationManager::ReplicationManager(asio::io_context& io, Server& server, Dispatcher& dispatcher)
    : io_(io), server_(server), dispatcher_(dispatcher), tick_timer_(io) {
  ids_.replid = RandomHexId();
  primary_session_.authenticated = true;
  primary_session_.from_primary = true;
  primary_session_.deny_blocking = true;
  // The end of a client pause that held the stream (Server::ParkSession).
  primary_session_.resume = [this]() { asio::post(io_, [this]() { ResumePrimaryStream(); }); };
  primary_session_.name = "";
  primary_session_.addr = "";
  FullSyncs::Hooks hooks;
  hooks.begin = [this](uint64_t id, uint64_t attach_to) { BeginFullSync(id, attach_to); };
  hooks.delivered = [this](uint64_t id, bool socket) { FullSyncDelivered(id, socket); };
  hooks.drop = [this](uint64_t id) {
    if (core_.MarkClosing(id)) CloseReplicaConnection(id);
  };
  hooks.name = [this](uint64_t id) {
    const replication::ReplicaRecord* r = core_.Find(id);
    return r == nullptr ? absl::StrCat("client id #", id) : ReplicaName(*r);
  };
  full_syncs_ = std::make_unique<FullSyncs>(io, server, std::move(hooks));
}

ReplicationManager::~ReplicationManager() {
  server_.write_stream().Unsubscribe(this);
  server_.on_replica_detached = nullptr;
  DetachPrimarySession();
  if (link_) link_->Close();
}

void ReplicationManager::Start() {
  ReadOutputLimit();
  // Writes (and the DELs of expired keys: see Server) reach the backlog
  // through OnWrite.
  server_.write_stream().Subscribe(this);
  // A replica that held the stream may be gone: its part of the shared
  // buffer goes at once (INFO's memory figures show it).
  server_.on_replica_detached = [this](uint64_t) { TrimBacklog(kTrimBlocksPerTick); };
  RestoreFromRdbFile();
  const ServerOptions& o = server_.options();
  if (!o.replicaof_host.empty() && !server_.cluster_enabled()) {
    SetPrimary(o.replicaof_host, o.replicaof_port);
  }
  SyncWithCluster();
  ArmTick();
}

void ReplicationManager::Stop() {
  stopped_ = true;
  full_syncs_->Clear();
  tick_timer_.cancel();
  DetachPrimarySession();
  if (link_) link_->Close();
  link_.reset();
}

void ReplicationManager::ArmTick() {
  tick_timer_.expires_after(std::chrono::milliseconds(100));
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    Tick();
    if (++tick_count_ % 10 == 0) Cron();
    ArmTick();
  });
}

// ---------------------------------------------------------------------------
// Primary side.

Session* ReplicationManager::FindSession(uint64_t client_id) const {
  auto it = server_.clients().find(client_id);
  return it == server_.clients().end() ? nullptr : it->second;
}

std::optional<uint64_t> ReplicationManager::ClientOutput(uint64_t client_id) const {
  const Session* s = FindSession(client_id);
  if (s == nullptr) return std::nullopt;
  return s->output_buffer_bytes;
}

void ReplicationManager::CarryOut(replication::ReplReady ready) {
  for (replication::ReplAction& action : ready.actions) {
    std::visit(
        replication::Overloaded{
            [&](const replication::PushToReplica& a) {
              if (Session* s = FindSession(a.client); s != nullptr && s->push) s->push(a.bytes);
            },
            [&](const replication::ReleaseHeld& a) {
              // The shared buffer kept the held stream (TrimBacklog asks the
              // core what is held); a history reset since drops the replica.
              if (backlog_ == nullptr || !backlog_->CanServeFrom(a.from)) {
                Logf(LogLevel::kWarning,
                     "The stream held for replica client id #%d is gone: disconnecting it",
                     a.client);
                if (core_.MarkClosing(a.client)) CloseReplicaConnection(a.client);
                return;
              }
              const std::string bytes = backlog_->CopyFrom(a.from);
              CarryOut(core_.Deliver(a.client, bytes, NowMs(), Limits(),
                                     [this](uint64_t id) { return ClientOutput(id); }));
            },
            [&](const replication::DropReplica& a) {
              const replication::ReplicaRecord* r = core_.Find(a.client);
              switch (a.reason) {
                case replication::DropReason::kTimeout:
                  Logf(LogLevel::kWarning, "Disconnecting timedout replica (streaming sync): %s",
                       r != nullptr ? ReplicaName(*r) : absl::StrCat("client id #", a.client));
                  break;
                case replication::DropReason::kOutputLimit:
                  if (const Session* s = FindSession(a.client)) {
                    Logf(LogLevel::kWarning,
                         "Client %s scheduled to be closed ASAP for overcoming of output buffer "
                         "limits.",
                         ClientInfoLine(*s, NowMs()));
                  }
                  break;
              }
              CloseReplicaConnection(a.client);
            },
            [&](const replication::CompleteWait& a) { CompleteWait(a.client, a.acked); },
            [&](const replication::DropPrimaryLink& a) {
              switch (a.state) {
                case LinkState::kConnecting:
                case LinkState::kHandshake:
                  Log(LogLevel::kWarning, "Timeout connecting to the MASTER...");
                  break;
                case LinkState::kTransfer:
                  Log(LogLevel::kWarning,
                      "Timeout receiving bulk data from MASTER... If the problem persists try to "
                      "set the 'repl-timeout' parameter in redis.conf to a larger value.");
                  break;
                case LinkState::kConnected:
                  Log(LogLevel::kWarning, "MASTER timeout: no data nor PING received...");
                  break;
                case LinkState::kNone:
                case LinkState::kConnect:
                  break;
              }
              if (!link_) return;
              std::shared_ptr<PrimaryLink> link = link_;
              OnLinkClosed(link.get(), NowMs());
              link->Close();
            },
        },
        action);
  }
}

void ReplicationManager::CompleteWait(uint64_t client_id, int64_t acked) {
  // A CLUSTER SETSLOT waiting for its replicas answers +OK either way: it
  // is applied here, and a replica that did not ACK in time gets it with
  // the stream.
  const bool setslot = setslot_waiters_.erase(client_id) > 0;
  if (Session* s = FindSession(client_id)) {
    Complete(*s, setslot ? std::string("+OK\r\n") : absl::StrCat(":", acked, "\r\n"));
  }
}

void ReplicationManager::CloseReplicaConnection(uint64_t client_id) {
  if (Session* s = FindSession(client_id); s != nullptr && s->kill) s->kill();
  full_syncs_->Remove(client_id);
}

replication::StreamLimits ReplicationManager::Limits() const {
  return {.output_limit = replica_output_limit_,
          .backlog_size = server_.options().repl_backlog_size};
}

void ReplicationManager::CreateBacklog() {
  // A primary starting a history from scratch takes a new id, as Redis does.
  if (!is_replica()) {
    ids_.replid = RandomHexId();
    ids_.ClearSecond();
  }
  backlog_ = std::make_unique<replication::ReplBacklog>(
      static_cast<size_t>(server_.options().repl_backlog_size), master_repl_offset_);
}

void ReplicationManager::OnWrite(const StreamWrite& write) {
  FeedStream(write.bytes);
  if (!write.args.empty() && absl::EqualsIgnoreCase(write.args[0], "cluster")) {
    setslot_stream_end_ = master_repl_offset_;
  }
}

bool ReplicationManager::FeedReplicas(const std::vector<std::string>& args) {
  if (!produces_stream()) return false;
  FeedStream(EncodeCommand(args));
  return true;
}

void ReplicationManager::OnUnitEnd() {
  if (!std::exchange(pending_getack_, false) || core_.replicas().empty()) return;
  FeedStream(EncodeCommand({"REPLCONF", "GETACK", "*"}));
}

bool ReplicationManager::ReplicasApplySetSlot() const {
  const auto& replicas = core_.replicas();
  // With no replica attached the command still goes into the backlog: a
  // shardnode replica back with a partial resync mirrors it, and one that
  // does not apply it (a redis-server replica) is given a full resync
  // instead (setslot_stream_end_). Replicas whose connection is gone
  // (forgotten at the next cron) do not count.
  return std::all_of(replicas.begin(), replicas.end(), [this](const replication::ReplicaRecord& r) {
    return r.closing || r.conf.capa_setslot || !ClientOutput(r.client_id).has_value();
  });
}

bool ReplicationManager::PropagateSetSlot(Session& session, int64_t now_ms,
                                          std::span<const std::string> args) {
  if (!produces_stream() || !ReplicasApplySetSlot()) return false;
  WriteStream& stream = server_.write_stream();
  // Keyless and db-less: sent on the stream's current db (no SELECT).
  const int db = std::max(stream.selected_db(this), 0);
  // Delivered when the command's unit ends: the replicas have it once they
  // ACK past the offset of now (they ACK at command boundaries).
  const int64_t target = master_repl_offset_ + 1;
  stream.Append(db, kNoSlot, args);
  int online = 0;
  for (const replication::ReplicaRecord& r : core_.replicas()) online += r.online() ? 1 : 0;
  if (online == 0) return false;
  const std::optional<int64_t> acked =
      core_.Wait(session.id, online, target, now_ms + kSetSlotAckTimeoutMs,
                 !session.deny_blocking && !session.in_multi);
  if (acked.has_value()) return false;
  // (Waiters whose client went away were dropped without a CompleteWait.)
  std::erase_if(setslot_waiters_, [this](uint64_t id) { return FindSession(id) == nullptr; });
  setslot_waiters_.insert(session.id);
  Suspend(session, WaitReason::kReplicas);
  // Asked after the SETSLOT itself (the unit ends before this is sent).
  pending_getack_ = true;
  return true;
}

void ReplicationManager::PropagateToShardnodeReplicas(std::span<const std::string> args) {
  if (!produces_stream() || !ReplicasApplySetSlot()) return;
  WriteStream& stream = server_.write_stream();
  stream.Append(std::max(stream.selected_db(this), 0), kNoSlot, args);
}

void ReplicationManager::StreamOpenSlots() {
  clusterbus::ClusterState* cluster = server_.cluster();
  if (cluster == nullptr || !cluster->myself().is_primary() || !ReplicasApplySetSlot()) return;
  for (const std::vector<std::string>& cmd : cluster->OpenSlotCommands()) {
    server_.write_stream().Append(0, kNoSlot, std::span<const std::string>(cmd.data(), cmd.size()));
  }
  // The slots an atomic migration is importing (hidden here; the replica
  // cleared its own when the image came).
  if (server_.AnySlotHidden()) {
    const std::vector<std::string> hidden = clusterbus::HiddenSlotsCommand(server_.hidden_slots());
    server_.write_stream().Append(0, kNoSlot, std::span<const std::string>(hidden));
  }
}

void ReplicationManager::ForgetStreamDb() { server_.write_stream().ForgetSelectedDb(this); }

void ReplicationManager::FeedStream(std::string_view bytes) {
  if (backlog_ == nullptr) CreateBacklog();
  if (static_cast<int64_t>(backlog_->capacity()) != server_.options().repl_backlog_size) {
    backlog_->Resize(static_cast<size_t>(server_.options().repl_backlog_size));
  }
  backlog_->Append(absl::string_view(bytes.data(), bytes.size()));
  master_repl_offset_ += static_cast<int64_t>(bytes.size());
  if (!core_.replicas().empty()) {
    CarryOut(
        core_.Stream(bytes, NowMs(), Limits(), [this](uint64_t id) { return ClientOutput(id); }));
  }
  TrimBacklog(kTrimBlocksPerWrite);
}

size_t ReplicationManager::replication_buffers_memory() const {
  size_t total = backlog_memory();
  for (const replication::ReplicaRecord& r : core_.replicas()) {
    if (!r.online()) continue;
    if (std::optional<uint64_t> pending = ClientOutput(r.client_id)) total += *pending;
  }
  return total;
}

size_t ReplicationManager::backlog_not_counted() const {
  if (backlog_ == nullptr) return 0;
  const size_t size = backlog_->capacity();
  const size_t counted = size + (size / replication::ReplBacklog::kMinBlockBytes + 1) *
                                    replication::ReplBacklog::kBlockOverhead;
  return backlog_->memory() > counted ? backlog_->memory() - counted : 0;
}

void ReplicationManager::TrimBacklog(size_t max_blocks) {
  // Nothing to free within the configured size (the common case per write).
  if (backlog_ == nullptr || backlog_->histlen() <= static_cast<int64_t>(backlog_->capacity())) {
    return;
  }
  backlog_->Trim(core_.OldestHeld([this](uint64_t id) { return ClientOutput(id); }), max_blocks);
}

void ReplicationManager::ReadOutputLimit() {
  replica_output_limit_ = replication::OutputLimit::ReplicaClass(
      server_.config().Value("client-output-buffer-limit").value_or(""));
}

std::string ReplicationManager::ReplicaName(const replication::ReplicaRecord& r) const {
  return r.conf.listening_port != 0 ? absl::StrCat(r.ip, ":", r.conf.listening_port)
                                    : absl::StrCat(r.ip, ":<unknown-replica-port>");
}

void ReplicationManager::BeginFullSync(uint64_t client_id, uint64_t attach_to) {
  const bool attached = attach_to != 0 && core_.Find(attach_to) != nullptr;
  const std::optional<int64_t> offset =
      core_.BeginFullSync(client_id, attach_to, master_repl_offset_);
  if (!offset.has_value()) return;
  if (core_.Find(client_id)->psync) {
    if (Session* s = FindSession(client_id); s != nullptr && s->push) {
      s->push(absl::StrCat("+FULLRESYNC ", ids_.replid, " ", *offset, "\r\n"));
    }
  }
  // The stream that follows an image starts with a SELECT, then the open
  // slots (a shardnode replica cleared its own when the image came).
  if (!attached) {
    ForgetStreamDb();
    StreamOpenSlots();
  }
}

void ReplicationManager::FullSyncDelivered(uint64_t client_id, bool socket_target) {
  replication::ReplReady ready;
  if (!core_.FullSyncDelivered(client_id, socket_target, NowMs(), ready)) return;
  const replication::ReplicaRecord& r = *core_.Find(client_id);
  const std::string name = ReplicaName(r);
  if (socket_target) {
    Logf(LogLevel::kNotice,
         "Streamed RDB transfer with replica %s succeeded (socket). Waiting for REPLCONF ACK "
         "from slave to enable streaming",
         name);
  }
  Logf(LogLevel::kNotice, "Synchronization with replica %s succeeded", name);
  CarryOut(std::move(ready));
}

void ReplicationManager::DisconnectReplicas() {
  full_syncs_->Clear();
  for (uint64_t id : core_.TakeAll()) {
    if (Session* s = FindSession(id); s != nullptr && s->kill) s->kill();
  }
}

int ReplicationManager::GoodReplicas(int64_t now_ms) const {
  // As ReplCore::GoodReplicas, but a replica whose connection is gone (the
  // core forgets it at the next cron) no longer counts: Redis frees a
  // replica as soon as its link closes (min-replicas-to-write sees it).
  const int64_t max_lag_ms = int64_t{server_.options().min_replicas_max_lag} * 1000;
  int n = 0;
  for (const replication::ReplicaRecord& r : core_.replicas()) {
    if (r.online() && now_ms - r.ack_time_ms <= max_lag_ms && FindSession(r.client_id)) ++n;
  }
  return n;
}

void ReplicationManager::Sync(CommandContext& ctx, Args args) {
  Session& session = ctx.session;
  if (core_.Find(session.id) != nullptr) return;  // already a replica: ignored
  const bool psync = base::AsciiLower(args[0]) == "psync";
  // PSYNC <our replid> <offset> FAILOVER: our primary hands over to us.
  if (psync && args.size() > 3 && base::EqualsIgnoreCase(args[3], "failover")) {
    Logf(LogLevel::kWarning, "Failover request received for replid %s.", args[1]);
    if (!is_replica()) {
      ctx.reply.Error(errors::kPsyncFailoverToPrimary);
      return;
    }
    if (args[1] != ids_.replid) {
      ctx.reply.Error(errors::kPsyncFailoverReplid);
      return;
    }
    UnsetPrimary();
    Logf(LogLevel::kNotice, "MASTER MODE enabled (failover request from '%s')",
         ClientInfoLine(session, ctx.now_ms));
  }
  if (failover_state_ != FailoverState::kNone) {
    ctx.reply.Error(errors::kSyncWhileFailover);
    return;
  }
  if (is_replica() && core_.link_state() != LinkState::kConnected) {
    ctx.reply.Error(errors::kNoMasterLink);
    return;
  }
  replication::ReplicaRecord r;
  r.client_id = session.id;
  r.conf = core_.TakePendingConf(session.id);
  r.ip = r.conf.ip.empty() ? HostOf(session.addr) : r.conf.ip;
  r.ack_time_ms = ctx.now_ms;
  r.psync = psync;
  const std::string name = ReplicaName(r);
  Logf(LogLevel::kNotice, "Replica %s asks for synchronization", name);

  if (psync) {
    int64_t offset = 0;
    if (!absl::SimpleAtoi(absl::string_view(args[2].data(), args[2].size()), &offset)) {
      Logf(LogLevel::kWarning, "Replica %s asks for synchronization but with a wrong offset", name);
      ctx.reply.Error(errors::kNotInteger);
      return;
    }
    const std::string& want = args[1];
    replication::PsyncOutcome outcome = replication::DecidePsync(
        ids_, backlog_.get(), absl::string_view(want.data(), want.size()), offset);
    const bool setslot_in_gap = outcome == replication::PsyncOutcome::kContinue &&
                                !r.conf.capa_setslot && offset <= setslot_stream_end_;
    if (setslot_in_gap) {
      Logf(LogLevel::kNotice,
           "Partial resynchronization not accepted: the backlog %s asks for holds CLUSTER "
           "SETSLOT, which it does not apply (no capa %s)",
           name, std::string(replication::kCapaSetSlot));
      outcome = replication::PsyncOutcome::kFullResync;
    }
    if (outcome == replication::PsyncOutcome::kContinue) {
      ctx.reply.Raw(r.conf.capa_psync2 ? absl::StrCat("+CONTINUE ", ids_.replid, "\r\n")
                                       : std::string("+CONTINUE\r\n"));
      const std::string gap = backlog_->CopyFrom(offset);
      ctx.reply.Raw(gap);
      Logf(LogLevel::kNotice,
           "Partial resynchronization request from %s accepted. Sending %d bytes of backlog "
           "starting from offset %d.",
           name, gap.size(), offset);
      r.ack_offset = offset - 1;
      server_.MarkReplica(session);
      core_.Add(std::move(r));
      ++sync_partial_ok_;
      return;
    }
    switch (setslot_in_gap ? replication::PsyncOutcome::kContinue : outcome) {
      case replication::PsyncOutcome::kContinue:
        break;  // logged above
      case replication::PsyncOutcome::kFullResync:
        Logf(LogLevel::kNotice, "Full resync requested by replica %s", name);
        break;
      case replication::PsyncOutcome::kIdMismatch:
        Logf(LogLevel::kNotice,
             "Partial resynchronization not accepted: Replication ID mismatch (Replica asked "
             "for '%s', my replication IDs are '%s' and '%s')",
             want, ids_.replid, ids_.replid2);
        break;
      case replication::PsyncOutcome::kSecondIdTooFar:
        Logf(LogLevel::kNotice,
             "Partial resynchronization not accepted: Requested offset for second ID was %d, "
             "but I can reply up to %d",
             offset, ids_.second_offset);
        break;
      default:
        Logf(LogLevel::kNotice,
             "Unable to partial resync with replica %s for lack of backlog (Replica request "
             "was: %d).",
             name, offset);
        break;
    }
    if (replication::IsPartialError(outcome)) ++sync_partial_err_;
  }
  ++sync_full_;
  if (backlog_ == nullptr) CreateBacklog();
  // The image is made in the background (FullSyncs); BeginFullSync answers
  // +FULLRESYNC when it begins, FullSyncDelivered puts the replica online.
  r.ack_offset = 0;
  r.sync_pending = true;
  server_.MarkReplica(session);
  const bool capa_eof = r.conf.capa_eof;
  const persist::SnapshotFilter filter{.keys = !r.conf.rdb_exclude_keys,
                                       .functions = !r.conf.rdb_exclude_functions};
  core_.Add(std::move(r));
  full_syncs_->Request(session.id, capa_eof, ctx.now_ms, filter);
}

void ReplicationManager::Replconf(CommandContext& ctx, Args args) {
  if (args.size() % 2 == 0) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  replication::ReplicaConf* conf = nullptr;
  auto get_conf = [&]() -> replication::ReplicaConf& {
    if (conf == nullptr) conf = &core_.ConfFor(ctx.session.id);
    return *conf;
  };
  for (size_t i = 1; i < args.size(); i += 2) {
    const std::string opt = base::AsciiLower(args[i]);
    const std::string& value = args[i + 1];
    const absl::string_view v(value.data(), value.size());
    if (opt == "listening-port") {
      int64_t port = 0;
      if (!absl::SimpleAtoi(v, &port)) {
        ctx.reply.Error(errors::kNotInteger);
        return;
      }
      get_conf().listening_port = static_cast<int>(port);
    } else if (opt == "ip-address") {
      if (value.size() >= 46) {
        ctx.reply.Error(errors::ReplconfIpTooLong(value.size()));
        return;
      }
      get_conf().ip = value;
    } else if (opt == "capa") {
      if (absl::EqualsIgnoreCase(v, "eof")) get_conf().capa_eof = true;
      if (absl::EqualsIgnoreCase(v, "psync2")) get_conf().capa_psync2 = true;
      if (base::EqualsIgnoreCase(value, replication::kCapaSetSlot)) get_conf().capa_setslot = true;
    } else if (opt == "ack") {
      // From a replica: its processed offset. Never answered.
      int64_t offset = 0;
      if (core_.Find(ctx.session.id) == nullptr || !absl::SimpleAtoi(v, &offset)) return;
      CarryOut(core_.Ack(ctx.session.id, offset, ctx.now_ms,
                         [this](uint64_t id) { return ClientOutput(id); }));
      return;
    } else if (opt == "getack") {
      // From our primary: answer with an ACK on the link. Never answered.
      if (ctx.session.from_primary && link_ && core_.link_state() == LinkState::kConnected) {
        link_->Send(EncodeCommand({"REPLCONF", "ACK", absl::StrCat(master_repl_offset_)}));
      }
      return;
    } else if (opt == "rdb-filter-only") {
      // Space-separated include filters: the image then holds no key, and
      // the function libraries only with "functions" (the only filter of
      // Redis 7.0); an empty value gives an empty image.
      bool functions = false;
      for (absl::string_view f : absl::StrSplit(v, ' ', absl::SkipEmpty())) {
        if (!absl::EqualsIgnoreCase(f, "functions")) {
          ctx.reply.Error(absl::StrCat("ERR Unsupported rdb-filter-only option: ", f));
          return;
        }
        functions = true;
      }
      get_conf().rdb_exclude_keys = true;
      get_conf().rdb_exclude_functions = !functions;
    } else if (opt == "rdb-only") {
      // Accepted; the replica (redis-cli --rdb) closes after the image.
    } else {
      ctx.reply.Error(errors::UnrecognizedReplconfOption(args[i]));
      return;
    }
  }
  ctx.reply.Ok();
}

void ReplicationManager::Wait(CommandContext& ctx, Args args) {
  if (is_replica()) {
    ctx.reply.Error(errors::kWaitOnReplica);
    return;
  }
  int64_t num = 0;
  if (!absl::SimpleAtoi(absl::string_view(args[1].data(), args[1].size()), &num)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  int64_t timeout = 0;
  if (!absl::SimpleAtoi(absl::string_view(args[2].data(), args[2].size()), &timeout)) {
    ctx.reply.Error(errors::kTimeoutNotInteger);
    return;
  }
  if (timeout < 0) {
    ctx.reply.Error(errors::kTimeoutNegative);
    return;
  }
  const std::optional<int64_t> acked =
      core_.Wait(ctx.session.id, num, master_repl_offset_, timeout > 0 ? ctx.now_ms + timeout : 0,
                 !ctx.session.deny_blocking && !ctx.session.in_multi);
  if (acked.has_value()) {
    ctx.reply.Integer(*acked);
    return;
  }
  Suspend(ctx.session, WaitReason::kReplicas);
  // Ask every replica for its offset now.
  if (!core_.replicas().empty()) FeedStream(EncodeCommand({"REPLCONF", "GETACK", "*"}));
}

std::vector<ReplicationControl::ReplicaProgress> ReplicationManager::Replicas(
    int64_t now_ms) const {
  std::vector<ReplicaProgress> out;
  for (const replication::ReplicaRecord& r : core_.replicas()) {
    if (r.closing || FindSession(r.client_id) == nullptr) continue;
    const char* state = full_syncs_->StateOf(r.client_id);
    const bool syncing = r.sync_pending || r.in_full_sync;
    if (state == nullptr) state = syncing ? "wait_bgsave" : "online";
    out.push_back({.name = ReplicaName(r),
                   .behind = master_repl_offset_ - r.ack_offset,
                   .lag_s = syncing ? 0 : (now_ms - r.ack_time_ms) / 1000,
                   .state = state});
  }
  return out;
}

void ReplicationManager::RequestAcks() {
  if (produces_stream() && !core_.replicas().empty()) {
    FeedStream(EncodeCommand({"REPLCONF", "GETACK", "*"}));
  }
}

void ReplicationManager::ServeWaiters(int64_t now_ms, bool all) {
  CarryOut(core_.ServeWaiters(now_ms, all, [this](uint64_t id) { return ClientOutput(id); }));
}

std::string ReplicationManager::CheckCommand(bool is_write, bool stale_ok) const {
  const ServerOptions& o = server_.options();
  if (is_write) {
    if (!is_replica() && o.min_replicas_to_write > 0 && o.min_replicas_max_lag > 0 &&
        GoodReplicas(NowMs()) < o.min_replicas_to_write) {
      return std::string(errors::kNoReplicas);
    }
    if (is_replica() && o.replica_read_only) {
      return std::string(errors::kReadOnlyReplica);
    }
  }
  if (is_replica() && core_.link_state() != LinkState::kConnected && !o.replica_serve_stale_data &&
      !stale_ok) {
    return std::string(errors::kMasterDown);
  }
  return "";
}

// ---------------------------------------------------------------------------
// Replica side.

void ReplicationManager::ReplicaOf(CommandContext& ctx, Args args) {
  if (server_.cluster_enabled()) {
    ctx.reply.Error(errors::kReplicaOfInCluster);
    return;
  }
  if (failover_state_ != FailoverState::kNone) {
    ctx.reply.Error(errors::kReplicaOfWhileFailover);
    return;
  }
  if (base::EqualsIgnoreCase(args[1], "no") && base::EqualsIgnoreCase(args[2], "one")) {
    if (is_replica()) {
      UnsetPrimary();
      Logf(LogLevel::kNotice, "MASTER MODE enabled (user request from 'id=%d addr=%s')",
           ctx.session.id, ctx.session.addr);
    }
    ctx.reply.Ok();
    return;
  }
  if (core_.Find(ctx.session.id) != nullptr) {
    ctx.reply.Error(errors::kReplicaOfFromReplica);
    return;
  }
  int64_t port = 0;
  if (!absl::SimpleAtoi(absl::string_view(args[2].data(), args[2].size()), &port) || port < 0 ||
      port > 65535) {
    ctx.reply.Error(errors::kInvalidMasterPort);
    return;
  }
  if (is_replica() && absl::EqualsIgnoreCase(primary_host_, args[1]) && primary_port_ == port) {
    Logf(LogLevel::kNotice,
         "REPLICAOF would result into synchronization with the master we are already connected "
         "with. No operation performed.");
    ctx.reply.SimpleString("OK Already connected to specified master");
    return;
  }
  SetPrimary(args[1], static_cast<int>(port));
  Logf(LogLevel::kNotice, "REPLICAOF %s:%d enabled (user request from 'id=%d addr=%s')",
       primary_host_, primary_port_, ctx.session.id, ctx.session.addr);
  ctx.reply.Ok();
}

void ReplicationManager::SetPrimary(const std::string& host, int port) {
  DetachPrimarySession();
  primary_session_.id = 0;  // a new primary: a new client, also on +CONTINUE
  if (link_) {
    link_->Close();
    link_.reset();
  }
  // Clients blocked as on a primary are told the role changed.
  DisconnectAllBlockedClients(server_);
  ServeWaiters(NowMs(), true);
  primary_host_ = host;
  primary_port_ = port;
  RecordReplicaOf();
  (void)server_.ApplyOomScore();  // the replica's class (logged on failure)
  core_.Follow();
  // Keys now expire by the primary's DELs.
  SetExpiryMode(server_, ExpiryMode::kHide);
  ResetStream();
  // Our own history (ids_ / master_repl_offset_) is what the PSYNC offers: a
  // primary that was promoted from our old replicas knows it as its id2.
  Logf(LogLevel::kNotice, "Connecting to MASTER %s:%d", host, port);
  ConnectToPrimary();
}

void ReplicationManager::RecordReplicaOf() {
  // The replicaof setting follows REPLICAOF, as Redis's masterhost does: CONFIG
  // REWRITE keeps it and a restart (RDB aux fields) resyncs partially. In
  // cluster mode the node's role lives in nodes.conf instead.
  if (server_.cluster_enabled()) return;
  ServerOptions& o = server_.config().mutable_options();
  o.replicaof_host = primary_host_;
  o.replicaof_port = primary_port_;
  server_.config().PublishOptions();
}

void ReplicationManager::UnsetPrimary() {
  if (!is_replica()) return;
  primary_host_.clear();
  primary_port_ = 0;
  RecordReplicaOf();
  (void)server_.ApplyOomScore();  // the primary's class (logged on failure)
  SetExpiryMode(server_, ExpiryMode::kDelete);
  DetachPrimarySession();
  if (link_) {
    link_->Close();
    link_.reset();
  }
  // A new history continues ours; the old id stays valid up to here.
  ids_.Shift(master_repl_offset_, RandomHexId());
  if (backlog_ == nullptr) {
    backlog_ = std::make_unique<replication::ReplBacklog>(
        static_cast<size_t>(server_.options().repl_backlog_size), master_repl_offset_);
  }
  DisconnectReplicas();
  ResetStream();
  core_.Unfollow();
  ForgetStreamDb();
}

void ReplicationManager::ResetStream() {
  stream_pending_.clear();
  stream_unfed_.clear();
  stream_parked_ = false;
  primary_session_.waiting = WaitReason::kNone;
  stream_parser_ = resp::RequestParser();
}

void ReplicationManager::ConnectToPrimary() {
  if (!is_replica() || link_ || stopped_) return;
  core_.LinkStarted(NowMs());  // repl-timeout counts from the connect
  link_ = std::make_shared<PrimaryLink>(io_, this, primary_host_, primary_port_);
  asio::co_spawn(io_, PrimaryLink::Run(link_), asio::detached);
}

void ReplicationManager::OnLinkClosed(PrimaryLink* link, int64_t now_ms) {
  if (link_.get() != link) return;
  DetachPrimarySession();
  link_.reset();
  if (core_.LinkClosed(now_ms, is_replica())) {
    Logf(LogLevel::kNotice, "Connection with master lost.");
    // Sub-replicas stay: they may continue with us later.
  }
  ResetStream();
}

bool ReplicationManager::producing_sync_image() const { return full_syncs_->producing(); }

void ReplicationManager::AbortSyncImage() { full_syncs_->AbortProducing(); }

void ReplicationManager::AttachToNewPrimary() {
  history_discarded_ = true;
  DisconnectReplicas();
}

void ReplicationManager::OnFullSync(const std::string& replid, int64_t offset) {
  // A new history: sub-replicas must resync with us.
  DisconnectReplicas();
  ids_.replid = replid;
  ids_.ClearSecond();
  master_repl_offset_ = offset;
  if (backlog_ == nullptr) {
    backlog_ = std::make_unique<replication::ReplBacklog>(
        static_cast<size_t>(server_.options().repl_backlog_size), offset);
  } else {
    backlog_->Reset(offset);
  }
  primary_session_.db_index = 0;
  primary_session_.in_multi = false;
  primary_session_.queued.clear();
  // A new image: the open slots (and the hidden slots of an atomic
  // migration) mirrored from the old stream may be stale; a shardnode
  // primary sends its own right after the image.
  if (clusterbus::ClusterState* cluster = server_.cluster();
      cluster != nullptr && cluster->myself().is_replica()) {
    server_.SetHiddenSlots(slots::SlotSet());
    cluster->CloseAllSlots();
    cluster->RequestSave(/*fsync=*/false);
    server_.ApplyClusterEffects(NowMs());
  }
  core_.LinkUp(NowMs(), /*synced_now=*/true);
  history_discarded_ = false;
}

void ReplicationManager::OnContinue(const std::string& new_replid) {
  if (!new_replid.empty() && new_replid != ids_.replid) {
    ids_.Shift(master_repl_offset_, new_replid);
    Logf(LogLevel::kNotice, "Primary replication ID changed to %s", new_replid);
    DisconnectReplicas();
  }
  if (backlog_ == nullptr) {
    backlog_ = std::make_unique<replication::ReplBacklog>(
        static_cast<size_t>(server_.options().repl_backlog_size), master_repl_offset_);
  }
  core_.LinkUp(NowMs(), /*synced_now=*/false);
}

bool ReplicationManager::ApplyPrimaryBytes(std::string_view chunk, int64_t now_ms) {
  stream_unfed_.append(chunk);
  if (stream_parked_) {
    // Read (slave_read_repl_offset moves), applied once the pause ends.
    stream_pending_.append(chunk);
    return true;
  }
  std::string_view data = chunk;
  if (!stream_pending_.empty()) {
    stream_pending_.append(chunk);
    data = stream_pending_;
  }
  // data is the tail of stream_unfed_.
  const size_t base = stream_unfed_.size() - data.size();
  size_t pos = 0;
  size_t fed = 0;
  bool ok = true;
  while (pos < data.size()) {
    size_t consumed = 0;
    const resp::ParseStatus st = stream_parser_.Parse(data.substr(pos), &consumed, &stream_args_);
    pos += consumed;
    if (st == resp::ParseStatus::kNeedMore) break;
    if (st == resp::ParseStatus::kError) {
      ok = false;
      break;
    }
    if (!stream_args_.empty() && server_.WritesPaused(now_ms) &&
        dispatcher_.WaitsForPause(primary_session_, stream_args_, now_ms)) {
      // CLIENT PAUSE holds the primary's writes too (Redis's master client
      // is no replica): the applied offset stays until the pause ends.
      stream_parked_ = true;
      stream_parked_bytes_ = base + pos - fed;
      server_.ParkSession(primary_session_);
      break;
    }
    if (!stream_args_.empty()) ApplyPrimaryCommand(now_ms);
    // The command's bytes go on to our backlog and sub-replicas; the
    // applied offset moves past them.
    const size_t end = base + pos;
    FeedStream(std::string_view(stream_unfed_).substr(fed, end - fed));
    fed = end;
    if (!link_) return true;  // the command ended the link (REPLICAOF NO ONE...)
  }
  stream_unfed_.erase(0, fed);
  if (data.data() == stream_pending_.data()) {
    stream_pending_.erase(0, pos);
  } else {
    stream_pending_.assign(data.substr(pos));
  }
  return ok;
}

void ReplicationManager::ApplyPrimaryCommand(int64_t now_ms) {
  resp::ReplyBuilder sink(&discarded_replies_);
  // The primary's commands see its keys as it does: none expired here.
  applying_primary_ = true;
  SetExpiryMode(server_, ExpiryMode::kKeep);
  dispatcher_.Execute(primary_session_, stream_args_, sink, now_ms);
  SetExpiryMode(server_, is_replica() ? ExpiryMode::kHide : ExpiryMode::kDelete);
  applying_primary_ = false;
  if (!discarded_replies_.empty() && discarded_replies_[0] == '-') {
    ReportErrorToPrimary(discarded_replies_);
  }
  discarded_replies_.clear();
}

void ReplicationManager::ResumePrimaryStream() {
  if (!stream_parked_ || !link_) return;
  const int64_t now = NowMs();
  if (server_.WritesPaused(now) && dispatcher_.WaitsForPause(primary_session_, stream_args_, now)) {
    server_.ParkSession(primary_session_);  // paused again meanwhile
    return;
  }
  stream_parked_ = false;
  ApplyPrimaryCommand(now);
  FeedStream(std::string_view(stream_unfed_).substr(0, stream_parked_bytes_));
  if (!link_) return;  // the command ended the link
  // What follows the parked command is stream_pending_ (the parser stopped
  // right after it): fed again from the start.
  std::string rest;
  rest.swap(stream_pending_);
  stream_unfed_.clear();
  if (!ApplyPrimaryBytes(rest, now) && link_ && primary_session_.kill) {
    Log(LogLevel::kWarning, "Protocol error from MASTER");
    primary_session_.kill();
  }
}

void ReplicationManager::ReportErrorToPrimary(std::string_view reply) {
  // As Redis's afterErrorReply for its master client: the error never
  // reaches the primary, but it means the data sets may have diverged.
  std::string_view text = reply.substr(1, std::min<size_t>(reply.find('\r') - 1, 4096));
  const bool unknown = text.starts_with("ERR unknown command");
  if (text.starts_with("ERR ")) text.remove_prefix(4);
  const std::string cmd =
      unknown || stream_args_.empty() ? "<unknown>" : absl::AsciiStrToLower(stream_args_[0]);
  Logf(LogLevel::kWarning,
       "== CRITICAL == This replica is sending an error to its master: '%s' after processing "
       "the command '%s'",
       std::string(text), cmd);
  ++server_.stats().unexpected_error_replies;
  const std::string behavior =
      server_.config().Value("propagation-error-behavior").value_or("ignore");
  if (behavior != "ignore" &&
      server_.config().Value("replica-read-only").value_or("yes") == "yes") {
    Logf(LogLevel::kWarning,
         "Guru Meditation: This replica panicked sending an error to its master after "
         "processing the command '%s'",
         cmd);
    std::abort();
  }
}

void ReplicationManager::SyncWithCluster() {
  clusterbus::ClusterState* cluster = server_.cluster();
  if (cluster == nullptr) return;
  const clusterbus::ClusterNode& me = cluster->myself();
  if (me.is_replica() && me.primary != nullptr) {
    const clusterbus::ClusterNode& p = *me.primary;
    if (p.ip.empty() || p.port == 0) return;
    if (!is_replica() || primary_host_ != p.ip || primary_port_ != p.port) {
      SetPrimary(p.ip, p.port);
    }
  } else if (is_replica() && me.is_primary()) {
    Logf(LogLevel::kNotice, "Discarding previously cached master state.");
    UnsetPrimary();
  }
}

void ReplicationManager::AttachPrimarySession(const RespClient& client, bool new_client) {
  // Redis keeps its primary's client across a partial resync (the cached
  // master comes back) and makes a new one for a full sync.
  const int64_t now = NowMs();
  if (new_client || primary_session_.id == 0) {
    primary_session_.id = server_.NextClientId();
    primary_session_.created_ms = now;
  }
  primary_session_.last_interaction_ms = now;
  primary_session_.addr = client.peer_addr();
  primary_session_.laddr = client.local_addr();
  primary_session_.fd = client.fd();
  // CLIENT KILL (TYPE master, ID, ADDR): the link drops as if the
  // connection was lost; the cron reconnects and continues the history.
  primary_session_.kill = [this]() {
    if (!link_) return;
    std::shared_ptr<PrimaryLink> link = link_;
    OnLinkClosed(link.get(), NowMs());
    link->Close();
  };
  server_.clients()[primary_session_.id] = &primary_session_;
}

void ReplicationManager::DetachPrimarySession() {
  auto it = server_.clients().find(primary_session_.id);
  if (it != server_.clients().end() && it->second == &primary_session_) server_.clients().erase(it);
  primary_session_.kill = nullptr;
  primary_session_.fd = -1;
}

int64_t ReplicationManager::DataAgeMs(int64_t now_ms) const {
  if (!is_replica()) return 0;
  return core_.DataAgeMs(now_ms);
}

void ReplicationManager::Tick() {
  const int64_t now = NowMs();
  core_.ForgetClosed();
  TrimBacklog(kTrimBlocksPerTick);
  full_syncs_->Tick(now);
  if (core_.has_waiters()) ServeWaiters(now, false);
  SyncWithCluster();
  UpdateFailover(now);
}

const replication::ReplicaRecord* ReplicationManager::FindReplica(std::string_view host,
                                                                  int64_t port) const {
  for (const replication::ReplicaRecord& r : core_.replicas()) {
    if (!r.closing && r.ip == host && r.conf.listening_port == port) return &r;
  }
  return nullptr;
}

void ReplicationManager::Failover(CommandContext& ctx, Args args) {
  if (server_.cluster_enabled()) {
    ctx.reply.Error(errors::kFailoverInCluster);
    return;
  }
  if (args.size() == 2 && base::EqualsIgnoreCase(args[1], "abort")) {
    if (failover_state_ == FailoverState::kNone) {
      ctx.reply.Error(errors::kNoFailover);
      return;
    }
    AbortFailover("Failover manually aborted");
    ctx.reply.Ok();
    return;
  }
  int64_t timeout_ms = 0;
  bool force = false;
  std::string host;
  int64_t port = 0;
  bool has_host = false;
  for (size_t j = 1; j < args.size(); ++j) {
    if (base::EqualsIgnoreCase(args[j], "timeout") && j + 1 < args.size() && timeout_ms == 0) {
      if (!absl::SimpleAtoi(absl::string_view(args[j + 1].data(), args[j + 1].size()),
                            &timeout_ms)) {
        ctx.reply.Error(errors::kNotInteger);
        return;
      }
      if (timeout_ms <= 0) {
        ctx.reply.Error(errors::kFailoverTimeout);
        return;
      }
      ++j;
    } else if (base::EqualsIgnoreCase(args[j], "to") && j + 2 < args.size() && !has_host) {
      if (!absl::SimpleAtoi(absl::string_view(args[j + 2].data(), args[j + 2].size()), &port)) {
        ctx.reply.Error(errors::kNotInteger);
        return;
      }
      host = args[j + 1];
      has_host = true;
      j += 2;
    } else if (base::EqualsIgnoreCase(args[j], "force") && !force) {
      force = true;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (failover_state_ != FailoverState::kNone) {
    ctx.reply.Error(errors::kFailoverInProgress);
    return;
  }
  if (is_replica()) {
    ctx.reply.Error(errors::kFailoverOnReplica);
    return;
  }
  size_t replicas = 0;
  for (const replication::ReplicaRecord& r : core_.replicas()) replicas += r.closing ? 0 : 1;
  if (replicas == 0) {
    ctx.reply.Error(errors::kFailoverNoReplicas);
    return;
  }
  if (force && (timeout_ms == 0 || !has_host)) {
    ctx.reply.Error(errors::kFailoverForce);
    return;
  }
  if (has_host) {
    const replication::ReplicaRecord* r = FindReplica(host, port);
    if (r == nullptr) {
      ctx.reply.Error(errors::kFailoverNotReplica);
      return;
    }
    // Online as Redis's replstate (and INFO's state=online) say: the full
    // sync is over, even before the replica's first ACK.
    if (r->closing || r->sync_pending || r->in_full_sync) {
      ctx.reply.Error(errors::kFailoverNotOnline);
      return;
    }
    failover_host_ = host;
    failover_port_ = static_cast<int>(port);
    Logf(LogLevel::kNotice, "FAILOVER requested to %s:%d.", host, port);
  } else {
    Logf(LogLevel::kNotice, "FAILOVER requested to any replica.");
  }
  failover_end_ms_ = timeout_ms != 0 ? ctx.now_ms + timeout_ms : 0;
  failover_force_ = force;
  failover_state_ = FailoverState::kWaitForSync;
  // Writers wait (the replicas' ACKs still flow) until the failover ends.
  server_.PauseClients(NodeServices::PausePurpose::kFailover, INT64_MAX, false);
  ctx.reply.Ok();
}

void ReplicationManager::UpdateFailover(int64_t now_ms) {
  if (failover_state_ != FailoverState::kWaitForSync) return;
  if (failover_end_ms_ != 0 && failover_end_ms_ <= now_ms) {
    if (!failover_force_) {
      AbortFailover("Replica never caught up before timeout");
      return;
    }
    Logf(LogLevel::kNotice, "FAILOVER to %s:%d time out exceeded, failing over.", failover_host_,
         failover_port_);
    failover_state_ = FailoverState::kInProgress;
    SetPrimary(failover_host_, failover_port_);
    return;
  }
  const replication::ReplicaRecord* target = nullptr;
  if (!failover_host_.empty()) {
    target = FindReplica(failover_host_, failover_port_);
  } else {
    for (const replication::ReplicaRecord& r : core_.replicas()) {
      if (!r.closing && r.ack_offset == master_repl_offset_) {
        target = &r;
        failover_host_ = r.ip;
        failover_port_ = r.conf.listening_port;
        break;
      }
    }
  }
  if (target == nullptr || target->ack_offset != master_repl_offset_) return;
  failover_state_ = FailoverState::kInProgress;
  Logf(LogLevel::kNotice, "Failover target %s:%d is synced, failing over.", failover_host_,
       failover_port_);
  SetPrimary(failover_host_, failover_port_);
}

void ReplicationManager::ClearFailover() {
  failover_state_ = FailoverState::kNone;
  failover_host_.clear();
  failover_port_ = 0;
  failover_end_ms_ = 0;
  failover_force_ = false;
  server_.UnpauseClients(NodeServices::PausePurpose::kFailover);
}

void ReplicationManager::AbortFailover(std::string_view why) {
  if (failover_state_ == FailoverState::kNone) return;
  if (!failover_host_.empty()) {
    Logf(LogLevel::kNotice, "FAILOVER to %s:%d aborted: %s", failover_host_, failover_port_, why);
  } else {
    Logf(LogLevel::kNotice, "FAILOVER to any replica aborted: %s", why);
  }
  if (failover_state_ == FailoverState::kInProgress) UnsetPrimary();
  ClearFailover();
}

void ReplicationManager::Cron() {
  const int64_t now = NowMs();
  // Forget replicas and REPLCONF state of closed connections.
  for (uint64_t id : core_.ForgetGone([this](uint64_t id) { return ClientOutput(id); })) {
    full_syncs_->Remove(id);
  }
  ReadOutputLimit();
  full_syncs_->Cron(now);
  CheckTimeouts(now);
  if (is_replica()) {
    if (!link_) {
      ConnectToPrimary();
    } else if (core_.link_state() == LinkState::kConnected) {
      link_->Send(EncodeCommand({"REPLCONF", "ACK", absl::StrCat(master_repl_offset_)}));
    }
  } else {
    // PINGs keep the replicas' links alive and move the offset as Redis does.
    const int period = std::max(1, server_.options().repl_ping_replica_period);
    // Not while writes are paused for a manual failover: the replica waits
    // for the exact offset the pause began at.
    if (!core_.replicas().empty() && (tick_count_ / 10) % period == 0 &&
        !server_.WritesPaused(now)) {
      FeedStream(EncodeCommand({"PING"}));
    }
  }
}

void ReplicationManager::CheckTimeouts(int64_t now_ms) {
  const int64_t timeout_ms = int64_t{std::max(1, server_.options().repl_timeout)} * 1000;
  CarryOut(core_.CheckTimeouts(now_ms, timeout_ms, is_replica() && link_ != nullptr));
}

void ReplicationManager::FillRdbReplInfo(replication::RdbWriterOptions& o) const {
  // As Redis: a primary without a backlog has no history worth continuing.
  if (!is_replica() && backlog_ == nullptr) return;
  o.repl_id = ids_.replid;
  o.repl_offset = master_repl_offset_;
  o.repl_stream_db = is_replica() ? primary_session_.db_index
                                  : std::max(server_.write_stream().selected_db(this), 0);
}

void ReplicationManager::RestoreFromRdbFile() {
  // The aux fields come first: read until the first database opens.
  struct AuxOnly : replication::RdbHandler {
    std::string replid;
    int64_t offset = -1;
    int64_t db = 0;
    absl::Status OnAux(absl::string_view key, absl::string_view value) override {
      if (key == "repl-id") replid = std::string(value);
      if (key == "repl-offset") (void)absl::SimpleAtoi(value, &offset);
      if (key == "repl-stream-db") (void)absl::SimpleAtoi(value, &db);
      return absl::OkStatus();
    }
    absl::Status OnSelectDb(uint64_t) override { return absl::CancelledError("aux read"); }
    absl::Status OnEntry(replication::RdbEntry) override {
      return absl::CancelledError("aux read");
    }
  } aux;
  FILE* f = fopen(server_.options().dbfilename.c_str(), "rb");
  if (f == nullptr) return;
  replication::RdbReader reader;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
    auto p = reader.Feed(absl::string_view(buf, n), aux);
    if (!p.ok() || *p == replication::RdbReader::Progress::kDone) break;
  }
  fclose(f);
  std::vector<std::pair<int, std::string>> expired;
  if (server_.persistence() != nullptr) expired = server_.persistence()->TakeKeysExpiredAtLoad();
  if (aux.replid.size() != replication::kReplIdLength || aux.offset < 0 || aux.db < 0) return;
  const bool will_be_replica = server_.cluster() != nullptr
                                   ? server_.cluster()->myself().is_replica()
                                   : !server_.options().replicaof_host.empty();
  if (will_be_replica) {
    // A replica continues its primary's history: the cached-primary state.
    ids_.replid = aux.replid;
    master_repl_offset_ = aux.offset;
    primary_session_.db_index = static_cast<int>(aux.db);
    Logf(LogLevel::kNotice, "Replication history restored from the RDB file: %s:%d", aux.replid,
         aux.offset);
    return;
  }
  // A primary (Redis's loadDataFromDisk): a new id of its own, the saved one
  // as the second id valid up to the saved offset, so that its replicas
  // continue with a partial resync; an empty backlog from there.
  ids_.replid = RandomHexId();
  ids_.replid2 = aux.replid;
  ids_.second_offset = aux.offset + 1;
  master_repl_offset_ = aux.offset;
  backlog_ = std::make_unique<replication::ReplBacklog>(
      static_cast<size_t>(server_.options().repl_backlog_size), master_repl_offset_);
  ForgetStreamDb();
  Logf(LogLevel::kNotice, "Replication history restored from the RDB file: %s:%d", aux.replid,
       aux.offset);
  // The keys the load dropped as expired were not dropped on the replicas:
  // their DELs go into the backlog (RDBFLAGS_FEED_REPL).
  const bool lazy = server_.config().Value("lazyfree-lazy-expire").value_or("no") == "yes";
  for (auto& [db, key] : expired) {
    const std::string args[2] = {lazy ? "UNLINK" : "DEL", std::move(key)};
    server_.write_stream().Append(db, slots::KeyHashSlot(args[1]), args);
  }
}

// ---------------------------------------------------------------------------
// INFO and ROLE.

std::string ReplicationManager::SyncStatsLines() const {
  return absl::StrCat("sync_full:", sync_full_, "\r\nsync_partial_ok:", sync_partial_ok_,
                      "\r\nsync_partial_err:", sync_partial_err_, "\r\n");
}

std::string ReplicationManager::InfoSection(int64_t now_ms) const {
  const ServerOptions& o = server_.options();
  std::string s = absl::StrCat("# Replication\r\nrole:", is_replica() ? "slave" : "master", "\r\n");
  if (is_replica()) {
    const bool up = core_.link_state() == LinkState::kConnected;
    absl::StrAppend(
        &s, "master_host:", primary_host_, "\r\nmaster_port:", primary_port_,
        "\r\nmaster_link_status:", up ? "up" : "down",
        "\r\nmaster_last_io_seconds_ago:", link_ && up ? (now_ms - core_.last_io_ms()) / 1000 : -1,
        "\r\nmaster_sync_in_progress:", core_.link_state() == LinkState::kTransfer ? 1 : 0,
        // Redis shows 1 while it holds no history (a full sync under way).
        // Read: the applied offset plus the stream not yet applied.
        "\r\nslave_read_repl_offset:",
        history_discarded_ ? 1 : master_repl_offset_ + static_cast<int64_t>(stream_unfed_.size()),
        "\r\nslave_repl_offset:", history_discarded_ ? 1 : master_repl_offset_, "\r\n");
    if (core_.link_state() == LinkState::kTransfer) {
      const double perc = transfer_size_ > 0 ? 100.0 * static_cast<double>(transfer_read_) /
                                                   static_cast<double>(transfer_size_)
                                             : 0;
      absl::StrAppend(&s, "master_sync_total_bytes:", transfer_size_,
                      "\r\nmaster_sync_read_bytes:", transfer_read_,
                      "\r\nmaster_sync_left_bytes:", transfer_size_ - transfer_read_,
                      "\r\nmaster_sync_perc:", absl::StrFormat("%.2f", perc),
                      "\r\nmaster_sync_last_io_seconds_ago:", (now_ms - core_.last_io_ms()) / 1000,
                      "\r\n");
    }
    if (!up) {
      absl::StrAppend(&s, "master_link_down_since_seconds:",
                      core_.down_since_ms() ? (now_ms - core_.down_since_ms()) / 1000 : -1, "\r\n");
    }
    // Sentinel reads both: replica-priority 0 is never promoted, and
    // replica-announced no hides the replica from SENTINEL REPLICAS.
    absl::StrAppend(&s, "slave_priority:", server_.config().IntValue("replica-priority", 100),
                    "\r\nslave_read_only:", o.replica_read_only ? 1 : 0, "\r\nreplica_announced:",
                    server_.config().Value("replica-announced").value_or("yes") == "yes" ? 1 : 0,
                    "\r\n");
  }
  // A replica whose connection was just killed is gone at once (the list
  // itself is pruned by the cron).
  const auto connected = std::count_if(core_.replicas().begin(), core_.replicas().end(),
                                       [this](const replication::ReplicaRecord& r) {
                                         return !r.closing && FindSession(r.client_id) != nullptr;
                                       });
  absl::StrAppend(&s, "connected_slaves:", connected, "\r\n");
  if (o.min_replicas_to_write > 0 && o.min_replicas_max_lag > 0) {
    absl::StrAppend(&s, "min_slaves_good_slaves:", GoodReplicas(now_ms), "\r\n");
  }
  int n = 0;
  for (const replication::ReplicaRecord& r : core_.replicas()) {
    if (r.closing || FindSession(r.client_id) == nullptr) continue;
    const char* state = full_syncs_->StateOf(r.client_id);
    if (state == nullptr) state = r.sync_pending || r.in_full_sync ? "wait_bgsave" : "online";
    const int64_t lag = r.sync_pending || r.in_full_sync ? 0 : (now_ms - r.ack_time_ms) / 1000;
    absl::StrAppend(&s, "slave", n++, ":ip=", r.ip, ",port=", r.conf.listening_port,
                    ",state=", state, ",offset=", r.ack_offset, ",lag=", lag, "\r\n");
  }
  absl::StrAppend(
      &s, "master_failover_state:",
      failover_state_ == FailoverState::kNone          ? "no-failover"
      : failover_state_ == FailoverState::kWaitForSync ? "waiting-for-sync"
                                                       : "failover-in-progress",
      "\r\nmaster_replid:", ids_.replid, "\r\nmaster_replid2:", ids_.replid2,
      "\r\nmaster_repl_offset:", master_repl_offset_, "\r\nsecond_repl_offset:", ids_.second_offset,
      "\r\nrepl_backlog_active:", backlog_ ? 1 : 0, "\r\nrepl_backlog_size:", o.repl_backlog_size,
      "\r\nrepl_backlog_first_byte_offset:", backlog_ ? backlog_->first_byte_offset() : 0,
      "\r\nrepl_backlog_histlen:", backlog_ ? backlog_->histlen() : 0, "\r\n");
  return s;
}

void ReplicationManager::Role(CommandContext& ctx) {
  resp::ReplyBuilder& r = ctx.reply;
  if (!is_replica()) {
    std::vector<const replication::ReplicaRecord*> online;
    for (const replication::ReplicaRecord& rep : core_.replicas()) {
      if (!rep.closing && !rep.sync_pending && !rep.in_full_sync) online.push_back(&rep);
    }
    r.ArrayHeader(3);
    r.Bulk("master");
    r.Integer(master_repl_offset_);
    r.ArrayHeader(online.size());
    for (const replication::ReplicaRecord* rep : online) {
      r.ArrayHeader(3);
      r.Bulk(rep->ip);
      r.Bulk(absl::StrCat(rep->conf.listening_port));
      r.Bulk(absl::StrCat(rep->ack_offset));
    }
    return;
  }
  const char* state = "none";
  switch (core_.link_state()) {
    case LinkState::kNone:
      state = "none";
      break;
    case LinkState::kConnect:
      state = "connect";
      break;
    case LinkState::kConnecting:
      state = "connecting";
      break;
    case LinkState::kHandshake:
      state = "handshake";
      break;
    case LinkState::kTransfer:
      state = "sync";
      break;
    case LinkState::kConnected:
      state = "connected";
      break;
  }
  r.ArrayHeader(5);
  r.Bulk("slave");
  r.Bulk(primary_host_);
  r.Integer(primary_port_);
  r.Bulk(state);
  r.Integer(core_.link_state() == LinkState::kConnected ? master_repl_offset_ : -1);
}

}  // namespace shardnode::node
