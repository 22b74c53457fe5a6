#include "node/net/net_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <optional>
#include <span>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/cycle_clock.h"
#include "node/commands/dispatcher.h"
#include "node/commands/errors.h"
#include "node/config/config.h"
#include "node/net/ready_read.h"
#include "node/net/shard_threads.h"
#include "node/net/stream.h"
#include "node/net/tls.h"
#include "node/net/tls_io.h"
#include "node/resp/parser.h"
#include "node/resp/query_buffer.h"
#include "node/resp/reply.h"
#include "node/server/clock.h"
#include "node/server/log.h"
#include "node/server/memory_counter.h"
#include "node/server/server.h"
#include "node/server/session.h"
#include "node/server/suspend.h"
#include "node/server/write_stream.h"

namespace shardnode::node {
namespace asio = boost::asio;
using asio::ip::tcp;

// What a shard thread runs commands with (shard.h, Server::shard_commands):
// its dispatcher, its write-stream producer and its view's statistics.
// One per shard thread, owned by the NetServer; `keyspace`: the thread's
// keyspace shard (shard thread i serves keyspace shard i; the control loop
// owns none and reaches all of them under the global step).
struct ShardRunner {
  ShardRunner(Server& server, int keyspace_shard, asio::io_context& loop)
      : keyspace(keyspace_shard),
        io(loop),
        dispatcher(server, keyspace_shard),
        producer(server.write_stream()),
        stats(server.shard_view(keyspace_shard).stats()) {}
  const int keyspace;
  asio::io_context& io;  // its thread's loop
  Dispatcher dispatcher;
  WriteStream::Producer producer;
  Stats& stats;
};

namespace {

std::string EndpointText(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    return absl::StrCat(addr.to_v6().to_v4().to_string(), ":", ep.port());
  }
  return absl::StrCat(addr.to_string(), ":", ep.port());
}

// Runs `fn` on `io`'s thread once `hops` handlers posted one after the
// other have run there. With 3, the thread's reactor has polled since the
// call and the handlers of what it found ready (reads) have run: Asio's
// scheduler runs the reactor as one entry of its queue and appends the
// completions it found behind the handlers queued meanwhile. The first hop
// outlasts a poll that began before the call, the second is queued behind
// the next poll, the third behind that poll's completions.
constexpr int kFenceHops = 3;
void AfterReactorRuns(asio::io_context& io, int hops, std::function<void()> fn) {
  asio::post(io, [&io, hops, fn = std::move(fn)]() mutable {
    if (hops <= 1) {
      fn();
      return;
    }
    AfterReactorRuns(io, hops - 1, std::move(fn));
  });
}

// Who the client is, read from its socket when it was accepted.
struct Peer {
  int fd = -1;
  std::string addr;  // empty: unknown (CLIENT LIST shows it so)
  std::string laddr;
  std::string unix_path;  // the unixsocket it came through; empty for TCP
};

Peer PeerOf(tcp::socket& socket, std::string unix_path) {
  Peer peer;
  peer.fd = socket.native_handle();
  if (!unix_path.empty()) {
    // As Redis: both ends of a unix client are the socket's path, port 0.
    peer.addr = peer.laddr = absl::StrCat(unix_path, ":0");
    peer.unix_path = std::move(unix_path);
    return peer;
  }
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (!ec) peer.addr = EndpointText(remote);
  const auto local = socket.local_endpoint(ec);
  if (!ec) peer.laddr = EndpointText(local);
  return peer;
}

// The runner of the commands running on this thread now; null on the
// control loop.
thread_local ShardRunner* running_runner = nullptr;

// Runs a connection's commands on its shard thread for the scope's life.
class ShardRunScope {
 public:
  explicit ShardRunScope(ShardRunner& runner)
      : previous_(std::exchange(running_runner, &runner)), producer_(&runner.producer) {
    running_on_shard_thread = true;
  }
  ~ShardRunScope() {
    running_runner = previous_;
    running_on_shard_thread = previous_ != nullptr;
  }
  ShardRunScope(const ShardRunScope&) = delete;
  ShardRunScope& operator=(const ShardRunScope&) = delete;

 private:
  ShardRunner* previous_;
  RunningProducerScope producer_;
};

// A SCRIPT DEBUG session's reads and writes through a TLS connection's
// session (Session::DebugIo). The session outlives them: the debugging
// runs inside the connection's own command.
std::shared_ptr<Session::DebugIo> TlsDebugIo(TlsSession& tls) {
  auto result = [](const TlsStep& step) -> long {
    if (step.bytes > 0) return static_cast<long>(step.bytes);
    if (step.want == TlsStep::kRead) return Session::DebugIo::kWantRead;
    if (step.want == TlsStep::kWrite) return Session::DebugIo::kWantWrite;
    return step.ec == boost::asio::error::eof ? 0 : Session::DebugIo::kFailed;
  };
  auto io = std::make_shared<Session::DebugIo>();
  io->read = [&tls, result](char* buf, size_t len) {
    return result(tls.Read(std::span<char>(buf, len)));
  };
  io->write = [&tls, result](const char* buf, size_t len) {
    return result(tls.Write(std::span<const char>(buf, len)));
  };
  return io;
}

// One client connection. Kept alive by its own coroutine.
//
// With shard threads (`threads N` > 1, shard_threads.h) most connections
// are "remote": their socket lives on a shard thread, which reads, sends
// and closes it, while the control loop keeps everything else (session,
// query buffer, parser, replies) and runs the commands, as at threads 1.
// The two sides hand over by posting, and each member is touched by one
// side only (the io_ members and stream_ by the socket thread, the others by
// the control loop), except unsent_ and want_drained_ (atomics):
//   - the socket thread reads one chunk, posts it (OnInput) and reads again
//     only when the control loop asks (IoRead, after the chunk's commands
//     ran), so input never piles up unread by the commands;
//   - the control loop posts its output (IoSend) and counts it in unsent_
//     until the socket took it; when it waits for that (a streaming
//     producer, a client far behind on its replies) it sets want_drained_
//     and the socket thread posts OnSent after each write;
//   - closing: the control loop detaches the session and posts IoClose
//     (kill) or IoCloseWhenSent (QUIT, a protocol error); a socket that
//     failed or ended is closed on its thread, which posts OnPeerGone.
//
// Commands on the shard thread (Server::shard_commands on: the control loop
// then runs only inside the global step, so it never runs at the same time
// as a shard thread's handler): the socket thread takes the chunk it read
// itself (OnInput through RunOnShard) instead of posting it, and runs its
// commands while they are its keyspace shard's plain data commands
// (Dispatcher::PlainShard). The first one that is not goes, with the rest
// of the chunk, to the thread of its keys' shard when it is a plain data
// command of one (ContinueOnShard), else to the control loop
// (ContinueOnControl), as does a chunk whose end closes the connection; a
// chunk that ends with a read sends its replies and reads again. The
// control side's members are then touched by the thread that runs the
// chunk, handed on by posting; a shard thread looks at the word before
// touching any (when it went off, the control loop runs without the step
// and takes the chunk).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `socket_loop`: the shard thread's loop that is to run the socket of a
  // remote connection (whose `stream` is an unopened socket of that loop,
  // StartRemote gives it the descriptor); nullptr for a connection served
  // on the control loop, `control`.
  // `runners`: every shard thread's (any connection at `threads N` > 1:
  // the input fence), `runner` the socket thread's (remote connections).
  Connection(Stream stream, Server& server, Dispatcher& dispatcher, Peer peer,
             const asio::any_io_executor& control, asio::io_context* socket_loop = nullptr,
             ShardRunner* runner = nullptr,
             const std::vector<std::unique_ptr<ShardRunner>>* runners = nullptr)
      : stream_(std::move(stream)),
        peer_(std::move(peer)),
        server_(server),
        dispatcher_(dispatcher),
        reply_(&out_),
        control_(control),
        socket_loop_(socket_loop),
        runner_(runner),
        runners_(runners) {
    if (socket_loop_ == nullptr) drained_.emplace(control_);
    reply_.on_error = [this](std::string_view message) {
      stats().CountError(message);
      if (session_.replica) ErrorToReplica(message);
    };
    // A reply is checked against client-output-buffer-limit as it grows,
    // so one command cannot build an unbounded reply.
    reply_.WatchGrowth(kLimitCheckBytes, [this]() { OverOutputLimit(); });
  }

  // A remote connection's start, on the control loop: it becomes a client
  // at once, then its socket thread adopts the descriptor (released from
  // the control loop's reactor; `protocol`: its family) and reads.
  void StartRemote(int fd, const tcp& protocol) {
    Register();
    keep_alive_ = shared_from_this();
    asio::post(*socket_loop_, [self = shared_from_this(), fd, protocol]() {
      boost::system::error_code ec;
      self->stream_.socket().assign(protocol, fd, ec);
      if (!ec) self->stream_.socket().non_blocking(true, ec);
      if (ec) {
        if (!self->stream_.socket().is_open()) ::close(fd);
        self->IoClose();
        asio::post(self->control_, [self]() { self->OnPeerGone(""); });
        return;
      }
      self->IoRead();
    });
  }

  // The coroutine's parameter keeps the connection alive until it ends
  // (co_spawn starts it after the accepting handler has returned). However
  // Serve ends, even by an exception (a bug: it is logged), the session is
  // detached from the server before the Connection can be destroyed: the
  // server's tables must never keep a pointer to a freed Session.
  static asio::awaitable<void> Run(std::shared_ptr<Connection> self) {
    try {
      // A TLS client becomes a client once its handshake succeeded; a
      // failed one (plain text on the TLS port, no certificate where one
      // is required) is logged as Redis logs it and closed.
      if (self->stream_.is_tls()) {
        const boost::system::error_code ec =
            co_await self->stream_.Handshake(asio::ssl::stream_base::server);
        if (ec) {
          Logf(LogLevel::kWarning, "Error accepting a client connection: %s (conn: fd=%d)",
               TlsErrorText(ec), self->stream_.socket().native_handle());
          self->stream_.Close();
          co_return;
        }
      }
      co_await self->Serve();
    } catch (const std::exception& e) {
      self->LogInternalError(e);
    }
    self->Close();
  }

 private:
  asio::awaitable<void> Serve() {
    Register();
    boost::system::error_code ec;
    while (!closing_ && !write_failed_) {
      // A plain socket's read is awaited here, not through a coroutine of
      // its own: one coroutine frame per read, which Asio recycles, where
      // two would cost a malloc per request.
      // A TLS stream is read the same way, OpenSSL decrypting into the
      // room (tls_io.h).
      read_parked_ = true;
      const size_t n =
          stream_.is_tls()
              ? co_await AsyncTlsReadWhenReady(stream_.tls(), *this,
                                               asio::redirect_error(asio::use_awaitable, ec))
              : co_await AsyncReadWhenReady(stream_.socket(), *this,
                                            asio::redirect_error(asio::use_awaitable, ec));
      read_parked_ = false;
      if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
      if (ec || closing_) break;
      const Next next = RunInput(n);
      if (next == Next::kClose) break;
      if (next == Next::kCloseAfterOutput) {
        co_await WaitDrained();
        break;
      }
      if (next == Next::kReadAfterDrain) co_await WaitDrained();
    }
  }

  // What a connection does once the commands of a read ran.
  enum class Next {
    kRead,              // reads on
    kClose,             // closes now (its output dropped)
    kCloseAfterOutput,  // closes once its output is written (QUIT, a protocol error)
    kReadAfterDrain,    // reads on once its output drained
  };

  // The `n` bytes just read are in the query buffer: runs their commands
  // and sends the replies. On the control loop.
  Next RunInput(size_t n) {
    stats().total_net_input_bytes += n;
    ++stats().total_reads_processed;
    const int64_t now_us = NowUs();
    const int64_t now_ms = now_us / 1000;
    session_.last_interaction_ms = now_ms;  // as Redis's lastinteraction, on each read
    // Read from inside this connection's own Process (a resumed command
    // runs a busy script, which serves the loop): that Process reads the
    // new bytes when the command returns; one Process at a time.
    if (processing_) return Next::kRead;
    // A remote connection's last output left the socket before the client
    // could send this (the socket thread counted it out then): the session
    // says so to the commands (SCRIPT DEBUG refuses to start with output
    // pending).
    if (remote()) CountOutput();
    command_now_ms_ = 0;
    read_now_us_ = now_us;
    read_ticks_ = base::CycleClock::Now();
    first_of_read_ = true;
    return ProcessInput();
  }

  // Runs the commands in the query buffer, then what RunInput does after
  // them.
  Next ProcessInput() {
    Process();
    read_now_us_ = 0;
    if (OverOutputLimit(command_now_ms_)) return Next::kClose;
    Flush();
    CountOutput();
    // A query buffer that grows past maxmemory-clients (a huge argument
    // arriving) may get this client evicted before its command is whole.
    server_.UpdateClientMemory(session_);
    if (server_.NeedsClientEviction()) {
      if (!dispatcher().on_shard_thread()) {
        server_.EvictClients();
      } else {
        // The walk reads every client: the control loop makes it, in a step.
        asio::post(control_, [&server = server_]() { server.EvictClients(); });
      }
    }
    if (closing_) return Next::kClose;
    if (session_.close_after_reply) return Next::kCloseAfterOutput;
    // A client that sends faster than it reads waits for its replies to
    // drain before more of its input is read, once far more is pending
    // than Redis's limits usually let through (Redis itself reads on;
    // client-output-buffer-limit and maxmemory-clients act before this).
    if (PendingOutput() > kMaxPendingOutput) return Next::kReadAfterDrain;
    return Next::kRead;
  }

  // Output not yet taken by the socket.
  size_t PendingOutput() const {
    return out_.size() + (remote() ? unsent_.load(std::memory_order_relaxed) : sending_.size());
  }
  bool remote() const { return socket_loop_ != nullptr; }

  void Close() {
    Detach();
    CloseSocket();
  }

  // The socket goes: closed here, or on its shard thread (remote). A
  // remote client's output still queued there is freed by that thread a
  // moment later: until then it is no client's and the evictor leaves it
  // out (AddOutputInFlight), as Redis frees a client's output at once (a
  // client evicted for maxmemory-clients must not get keys evicted for
  // the memory it held).
  void CloseSocket() {
    if (remote()) {
      const size_t held = socket_held_.load();
      if (held != 0) AddOutputInFlight(static_cast<int64_t>(held));
      asio::post(*socket_loop_, [self = shared_from_this(), held]() { self->IoClose(held); });
    } else {
      stream_.Close();
    }
  }

  // Reading what the client sent into the query buffer. The socket is
  // read once it is readable, into room made at that moment, as Redis's
  // readQueryFromClient does (AsyncReadWhenReady calls PrepareRead and
  // CommitRead below): no read holds on to the buffer while the client
  // idles, so the cron may shrink it (ResizeQueryBuffer), and a request
  // costs one recv, with neither a recv that finds the socket empty nor an
  // epoll re-arm. A TLS stream's SSL_read decrypts into the same room
  // (AsyncTlsReadWhenReady).

 public:
  // AsyncReadWhenReady's sink: the query buffer's room, asked for when the
  // socket is read. A big bulk waits whole in the query buffer
  // (set_keep_big_bulks): the room is what is left of it, so no read goes
  // past it. While Process runs (a busy script serving the loop from
  // inside a resumed command) the parser's state does not describe the
  // buffer's tail: a plain read then. A client without a buffer (one that
  // has sent nothing yet, or whose idle buffer the cron freed) gets one
  // only when bytes come, as in Redis: the recv goes to the loop's scratch
  // room, which is copied (a recv that finds nothing allocates nothing).
  std::span<char> PrepareRead() {
    const size_t big_left = BigBulkLeft();
    reading_scratch_ = query_.capacity() == 0 && big_left == 0;
    const std::span<char> room = reading_scratch_ ? ScratchRoom() : query_.PrepareRead(big_left);
    read_room_ = room.size();
    return room;
  }
  // What is still to come (CRLF included) of a big bulk waiting whole in
  // the query buffer, 0 when none.
  size_t BigBulkLeft() const {
    const int64_t bulk = processing_ ? -1 : parser_.current_bulk_len();
    const int64_t left =
        bulk >= kBigArg ? bulk + 2 - static_cast<int64_t>(query_.size()) : int64_t{0};
    return static_cast<size_t>(std::max<int64_t>(left, 0));
  }
  void CommitRead(size_t n) {
    // A short read counts as emptying the socket (ready_read.h): an end of
    // stream that came with these bytes has no event left to report it.
    // (A TLS read says so itself, SetReadDrained, after this.)
    peer_close_unseen_ = n < read_room_;
    if (reading_scratch_) {
      query_.Append(std::string_view(ScratchRoom().data(), n));
    } else {
      query_.Commit(n);
    }
  }  // A TLS read's verdict (tls_io.h): it drained OpenSSL and the socket.
  void SetReadDrained(bool drained) { peer_close_unseen_ = drained; }

 private:
  // One per loop thread: a recv and its copy never interleave with another.
  static std::span<char> ScratchRoom() {
    thread_local const std::unique_ptr<char[]> room =
        std::make_unique_for_overwrite<char[]>(resp::QueryBuffer::kReadLen);
    return {room.get(), resp::QueryBuffer::kReadLen};
  }

  // Redis's clientsCronResizeQueryBuffer, from the cron (Server): not
  // while this connection's commands run (a busy script serves the loop
  // from inside one), as Process reads the buffer then.
  void ResizeQueryBuffer(int64_t now_ms) {
    if (processing_) return;
    query_.Resize((now_ms / 1000) - (session_.last_interaction_ms / 1000),
                  parser_.current_bulk_len());
    UpdateQueryBufferStats();
  }

  // The cron's look for an end of stream (or a reset) that no read event
  // will report. A read that emptied the socket (plain: a short recv,
  // ready_read.h; TLS: OpenSSL and the socket both drained, tls_io.h)
  // waits for the next edge-triggered event; a
  // FIN or RST that arrived before that recv, behind the bytes it
  // returned, raised its event already, so a client that sent its last
  // commands and closed (killed with replies unread, a blocked command
  // left behind) would never be seen gone. One peek after such a read
  // settles it: whatever arrives later raises an event of its own. Redis
  // polls level-triggered and sees the close on its next read; here it is
  // seen by the next cron tick.
  void CheckPeerClosed() {
    if (closing_) return;
    if (remote()) {
      asio::post(*socket_loop_, [self = shared_from_this()]() { self->IoCheckPeerClosed(); });
      return;
    }
    if (!peer_close_unseen_ || !read_parked_) return;
    peer_close_unseen_ = false;
    if (!PeerGone()) return;
    // Posted: the cron is walking the server's client table.
    asio::post(control_, [weak = weak_from_this()]() {
      if (auto conn = weak.lock()) conn->Kill();
    });
  }

  // One peek at a socket whose last read was short: true when the peer
  // closed or reset it.
  bool PeerGone() {
    char byte;
    const ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return !(n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)));
  }

  void UpdateQueryBufferStats() {
    session_.query_buffer_bytes = query_.size() + parser_.pending_bytes();
    session_.query_buffer_free = query_.free();
    // Redis makes room for a big bulk's whole declared length on its first
    // bytes: client eviction sees it at once.
    const int64_t bulk = parser_.current_bulk_len();
    session_.query_buffer_allocated = std::max(bulk >= kBigArg ? static_cast<size_t>(bulk) + 2 : 0,
                                               query_.capacity() + parser_.pending_bytes());
  }

  void Register() {
    const ServerOptions& opts = server_.options();
    resp::ParserLimits limits;
    limits.max_bulk_len = opts.proto_max_bulk_len;
    parser_.set_limits(limits);
    parser_.set_keep_big_bulks(true);
    boost::system::error_code ec;
    session_.id = server_.NextClientId();
    session_.fd = peer_.fd;
    session_.tls = stream_.is_tls();
    if (session_.tls) session_.debug_io = TlsDebugIo(stream_.tls());
    session_.unix_socket = !peer_.unix_path.empty();
    session_.addr = peer_.addr;
    session_.laddr = peer_.laddr;
    session_.created_ms = session_.last_interaction_ms = NowMs();
    session_.reply_buffer_peak_reset_ms = session_.created_ms;
    server_.SetDefaultAuth(session_);
    std::weak_ptr<Connection> weak = weak_from_this();
    session_.kill = [weak]() {
      if (auto conn = weak.lock()) conn->Kill();
    };
    session_.push = [weak](std::string_view bytes) {
      // CLIENT REPLY OFF silences what is written here (MONITOR lines, a
      // resumed command's reply), but not Pub/Sub messages and tracking
      // invalidations (PushUnsilenced sets Session::pushing).
      if (auto conn = weak.lock();
          conn && !conn->closing_ && (!conn->session_.reply_off || conn->session_.pushing)) {
        if (conn->limit_hit_) return;
        if (conn->replica_command_) {
          // The stream pushed while a replica's own command runs (its
          // REPLCONF ACK releasing the stream held during the transfer)
          // follows the command, which must not grow out_ itself.
          conn->replica_held_push_.append(bytes);
          return;
        }
        conn->out_.append(bytes);
        if (conn->OverOutputLimit()) {
          // Not closed here: the pusher may be walking the subscribers.
          asio::post(conn->control_, [weak]() {
            if (auto c = weak.lock()) c->Kill();
          });
          return;
        }
        conn->Flush();
        conn->CountOutput();
        // What a client is pushed counts at once (a tracking redirection's
        // target that never reads): the eviction itself waits for the next
        // command or the cron, the pusher being amid its subscribers.
        conn->server_.UpdateClientMemory(conn->session_);
      }
    };
    if (remote()) {
      session_.count_output = [weak]() {
        if (auto conn = weak.lock()) conn->CountOutput();
      };
    }
    session_.client_cron = [weak](int64_t now_ms) {
      if (auto conn = weak.lock()) {
        conn->ResizeQueryBuffer(now_ms);
        conn->CheckPeerClosed();
      }
    };
    // A plain socket never blocks the loop: its reads (ready_read.h) and
    // WriteNow try it and leave the rest to epoll (a remote connection's
    // socket thread makes its socket so).
    if (!stream_.is_tls() && !remote()) stream_.socket().non_blocking(true, ec);
    session_.resume = [weak]() {
      if (auto conn = weak.lock()) {
        asio::post(conn->control_, [weak]() {
          if (auto c = weak.lock()) c->Resume();
        });
      }
    };
    server_.clients()[session_.id] = &session_;
  }

  // The session leaves the server's tables and runs nothing more (a
  // posted Resume finds closing_). Idempotent.
  void Detach() {
    closing_ = true;
    server_.DetachSession(session_);
    session_.on_output_drained = nullptr;
    // Released by a handler of its own: the caller may be the last owner.
    if (keep_alive_) asio::post(control_, [keep = std::move(keep_alive_)]() {});
  }

  // Starts writing out_ unless a write is in flight; the completion
  // continues with whatever was appended meanwhile. Replies and pushes
  // (Pub/Sub messages from other sessions) share this one ordered path.
  //
  // A remote connection posts out_ to its socket thread instead; while
  // OnInput runs the commands of a chunk it sends once, at the end, with
  // the request for the next read (`read_more`: true when the post carried
  // it).
  //
  // A connection of the control loop writes at the end of the loop's pass
  // (`pass_ended`: the pass gate's release calls it so), as Redis writes
  // its replies before it sleeps: every client ready in one pass gets its
  // replies in one burst, so a client machine reading many connections
  // wakes once for them, not once per connection served (50 clients at
  // -P 16: 9 times fewer wake-ups of redis-benchmark, bench/README.md).
  bool Flush(bool read_more = false, bool pass_ended = false) {
    if (writing_ || out_.empty() || write_failed_ || closing_ || in_input_) return false;
    // The AOF has writes of this pass not yet on disk: replies wait for
    // them (OutputGate), then go out.
    if (server_.output_gate().held()) {
      WaitForGate(server_.output_gate());
      return false;
    }
    if (!remote() && !pass_ended) {
      OutputGate& pass = server_.pass_gate();
      if (!pass.held()) {
        // Released by a handler posted now: it runs after the handlers
        // ready in this pass (the reads the reactor reported with ours).
        pass.Hold(nullptr);
        asio::post(control_, [&pass]() { pass.Release(); });
      }
      WaitForGate(pass);
      return false;
    }
    // A remote connection that hears back after each write (WantsDrained:
    // a replica's stream, a full sync's producer) keeps appending to out_
    // while its socket thread still has output to send, and posts it all
    // when that write completes (OnSent): one buffer, not a post, a string
    // and a queue entry per command streamed (a stopped replica's queue
    // grew by 32 bytes a command that no figure counted). Not when the
    // connection is to close after this output (the close follows what
    // was posted). The flag is raised before unsent_ is read, so a write
    // that ends meanwhile sees it and reports (IoTook).
    if (remote() && WantsDrained() && !session_.close_after_reply) {
      want_drained_.store(true);
      if (unsent_.load() != 0) return false;
    }
    stats().total_net_output_bytes += out_.size();
    ++stats().total_writes_processed;
    if (remote()) {
      unsent_.fetch_add(out_.size());
      posted_.fetch_add(out_.capacity());
      // Left out of eviction's count until the socket's thread offered it
      // to the socket (AddOutputInFlight); a replica's output is left out
      // whole already.
      const bool in_flight = !session_.replica;
      if (in_flight) AddOutputInFlight(static_cast<int64_t>(out_.capacity()));
      want_drained_.store(WantsDrained());
      // Nothing of the connection is touched after the post: with
      // read_more, the socket thread may read and run the next chunk at
      // once (on a shard thread, the commands then run there).
      std::string bytes = std::move(out_);
      out_.clear();
      asio::post(*socket_loop_,
                 [self = shared_from_this(), bytes = std::move(bytes), read_more,
                  in_flight]() mutable { self->IoSend(std::move(bytes), read_more, in_flight); });
      return read_more;
    }
    if (WriteNow()) return false;
    writing_ = true;
    sending_.swap(out_);
    asio::async_write(
        stream_, asio::buffer(sending_),
        [self = shared_from_this()](boost::system::error_code ec, size_t) {
          self->writing_ = false;
          self->sending_.clear();
          // A burst's buffer is not kept: it would count as used memory
          // (maxmemory) long after the burst. Nor is a killed client's
          // (Kill left it out of eviction's count until now).
          if (self->sending_.capacity() > kKeptBufferBytes || self->released_sending_ != 0) {
            std::string().swap(self->sending_);
          }
          if (self->released_sending_ != 0) {
            AddOutputInFlight(-static_cast<int64_t>(self->released_sending_));
            self->released_sending_ = 0;
          }
          if (ec) {
            // The peer is gone (reset, broken pipe): the client is freed
            // now, as Redis frees a client its write failed on. The reader
            // may be parked waiting for an event that already came.
            self->write_failed_ = true;
            if (!self->closing_) {
              Logf(LogLevel::kVerbose, "Error writing to client: %s", ec.message());
              self->Kill();
            }
          } else if (!self->out_.empty()) {
            // What came meanwhile goes now (or after the AOF's write).
            self->Flush(/*read_more=*/false, /*pass_ended=*/true);
            if (self->writing_ || self->gated_) {  // not after a kill
              self->Drained();
              return;
            }
          }
          self->drained_->cancel();
          if (self->kill_when_drained_) self->Kill();
          if (!ec) self->Drained();
        });
    return false;
  }

  // Waits for `gate`'s release (once: a connection waits for one gate at a
  // time), which flushes what is pending then.
  void WaitForGate(OutputGate& gate) {
    if (gated_) return;
    gated_ = true;
    gate.Wait([weak = weak_from_this()]() {
      auto self = weak.lock();
      if (!self) return;
      self->gated_ = false;
      self->Flush(/*read_more=*/false, /*pass_ended=*/true);
      self->CountOutput();  // what CLIENT LIST and client eviction read
      self->server_.UpdateClientMemory(self->session_);
      if (self->remote()) {
        if (std::exchange(self->close_after_gate_, false)) self->CloseAfterOutput();
      } else if (!self->writing_ && !self->gated_) {
        self->drained_->cancel();
        if (self->kill_when_drained_) self->Kill();
      }
    });
  }

  // Writes out_ at once, as Redis writes its replies before it sleeps:
  // true when the socket took all of it. Whatever it did not take is left
  // in out_ for the asynchronous write (a full socket buffer, an error it
  // reports). Not while a streaming producer waits for its drain callback
  // (that is called from a write's completion, never from inside Flush).
  bool WriteNow() {
    if (session_.on_output_drained) return false;
    size_t sent = 0;
    if (stream_.is_tls()) {
      sent = WriteTlsNow();
    } else {
      const ssize_t n = ::send(stream_.socket().native_handle(), out_.data(), out_.size(),
                               MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent = static_cast<size_t>(n);
    }
    if (sent < out_.size()) {
      out_.erase(0, sent);
      return false;
    }
    out_.clear();
    // As after an asynchronous write: a burst's buffer is not kept. What
    // is kept is Redis's 16 KB reply buffer, from the first reply on (a
    // client that never replied has none): replies that fit it (an INFO)
    // leave used_memory where it was.
    if (out_.capacity() != kKeptBufferBytes) {
      std::string fresh;
      fresh.reserve(kKeptBufferBytes);
      out_.swap(fresh);
    }
    return true;
  }

  // SSL_write of out_ until OpenSSL took it all or waits for the socket
  // (or failed: the asynchronous write's retry reports it). Returns the
  // bytes taken. A record OpenSSL could not finish is retried by the
  // asynchronous write: its bytes stay at the front of out_.
  size_t WriteTlsNow() {
    size_t sent = 0;
    while (sent < out_.size()) {
      const TlsStep step =
          stream_.tls().Write(std::span<const char>(out_.data() + sent, out_.size() - sent));
      if (step.bytes == 0) break;
      sent += step.bytes;
    }
    return sent;
  }

  void CountOutput() {
    session_.output_buffer_bytes = PendingOutput();
    session_.reply_buffer_peak =
        std::max(session_.reply_buffer_peak,
                 std::min(session_.output_buffer_bytes, session_.reply_buffer_size));
    session_.output_buffer_allocated =
        out_.capacity() + (remote() ? posted_.load(std::memory_order_relaxed) +
                                          socket_held_.load(std::memory_order_relaxed)
                                    : sending_.capacity());
  }

  // client-output-buffer-limit (Server::OutputLimitReached): true once the
  // client is to be closed. Its unsent output is dropped at once and so is
  // whatever it is still replied (a transaction runs to its end, a command
  // with a huge reply stops, as in Redis); no more of its input runs. The
  // caller closes it when the command or push that grew the buffer ended.
  // `now_ms`: the time the command that just ran was given (the clock is
  // read once per command, as Redis's cached time), 0 to read it here.
  bool OverOutputLimit(int64_t now_ms = 0) {
    if (limit_hit_) return true;
    if (closing_) return false;
    CountOutput();
    // Nothing pending is never over (OutputLimitReached says so too): no
    // clock read for it.
    if (session_.output_buffer_bytes == 0) return false;
    if (!server_.OutputLimitReached(session_, now_ms != 0 ? now_ms : NowMs(), true)) return false;
    limit_hit_ = true;
    reply_.Discard();  // frees out_
    CountOutput();
    return true;
  }

  // A write completed: the output went down; a streaming producer may add.
  void Drained() {
    CountOutput();
    if (session_.on_output_drained) {
      // A copy: the producer may reset the callback (or kill us) inside it.
      std::function<void()> producer = session_.on_output_drained;
      producer();
    }
  }

  asio::awaitable<void> WaitDrained() {
    while ((writing_ || gated_) && !write_failed_) {
      drained_->expires_at(asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await drained_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // CLIENT KILL and the like: the client is gone at once, as with Redis's
  // freeClient (not counted or killed twice, no more messages); the reader
  // coroutine wakes up cancelled and closes the socket (a remote one's
  // socket thread closes it).
  void Kill() {
    // Its pending output goes now, as with Redis's freeClient (a client
    // evicted for maxmemory-clients frees what it held before the next
    // command's eviction looks), and whatever it is still replied is
    // dropped.
    reply_.Discard();
    Detach();
    if (remote()) {
      CloseSocket();
      return;
    }
    // The output being written goes when the cancelled write completes
    // (its buffer is the write's until then): left out of eviction's count
    // meanwhile, as a remote client's (CloseSocket).
    if (writing_ && released_sending_ == 0 && sending_.capacity() != 0) {
      released_sending_ = sending_.capacity();
      AddOutputInFlight(static_cast<int64_t>(released_sending_));
    }
    boost::system::error_code ignored;
    stream_.socket().cancel(ignored);
  }

  // A suspended command's wait ended (suspend.h): runs it again when it
  // was kept for that, then the commands that arrived while it waited. The
  // reader coroutine is parked in a read, so a QUIT found here closes the
  // connection once its reply is written.
  void Resume() {
    if (closing_ || session_.suspended()) return;
    if (!parked_.empty()) {
      std::vector<std::string> args = std::move(parked_);
      parked_.clear();
      ExecuteOrPark(args);
    }
    Process();
    if (OverOutputLimit()) {
      Kill();
      return;
    }
    Flush();
    CountOutput();
    if (session_.close_after_reply) {
      if (remote()) {
        CloseAfterOutput();
      } else if (writing_ || gated_) {
        kill_when_drained_ = true;
      } else {
        Kill();
      }
    }
  }

  // The control loop's side of a remote connection.

  // A chunk its socket thread read: its commands run, their replies go
  // back with the request for the next read (or the connection closes).
  // On the control loop, or on the socket thread itself (RunOnShard).
  void OnInput(const std::string& chunk) {
    if (closing_) return;
    const bool on_shard = running_runner != nullptr;
    const bool outer = std::exchange(in_input_, true);  // Flush waits for the end
    try {
      // Taken as the reads of a local connection take it, so CLIENT LIST
      // and client eviction see the same memory at any `threads`: a chunk
      // that ends a big bulk waiting whole in the query buffer goes in up
      // to the bulk's end first (the room exactly the bulk's size), and
      // the rest once its command ran and emptied the buffer.
      std::string_view rest = chunk;
      Next next = Next::kRead;
      do {
        const size_t big_left = BigBulkLeft();
        const size_t n = big_left > 0 ? std::min(big_left, rest.size()) : rest.size();
        query_.Append(rest.substr(0, n), big_left);
        rest.remove_prefix(n);
        // The chunk is whole in the query buffer: its commands may hop
        // between threads (Process).
        may_hop_ = rest.empty();
        next = RunInput(n);
        may_hop_ = false;
      } while (!rest.empty() && (next == Next::kRead || next == Next::kReadAfterDrain));
      if (on_shard || !handoff_.empty()) {
        PassOn(next);
        return;
      }
      in_input_ = outer;
      FinishInput(next);
    } catch (const std::exception& e) {
      in_input_ = outer;
      LogInternalError(e);
      if (on_shard) {
        asio::post(control_, [self = shared_from_this()]() { self->Kill(); });
      } else {
        Kill();
      }
    }
  }

  // The end of a chunk's commands: the replies go with the request for the
  // next read, or the connection closes.
  void FinishInput(Next next) {
    if (session_.input_hops.get() % 2 == 1) session_.input_hops.set(session_.input_hops.get() + 1);
    reply_after_ = 0;
    hop_consumed_ = 0;
    switch (next) {
      case Next::kRead:
        if (!Flush(/*read_more=*/true)) AskRead();
        break;
      case Next::kClose:
        Kill();
        break;
      case Next::kCloseAfterOutput:
        Flush();
        CloseAfterOutput();
        break;
      case Next::kReadAfterDrain:
        Flush();
        read_waits_drain_ = true;
        want_drained_.store(true);
        ReadIfDrained();  // it may have drained already
        break;
    }
  }

  // After a thread's part of a chunk: the command it handed over goes to
  // its shard's thread or the control loop with the rest of the chunk
  // (in_input_ stays set until the chunk ends), and so does the end of a
  // chunk that closes the connection (the control loop closes); else the
  // chunk ends here.
  void PassOn(Next next) {
    if (running_runner != nullptr) {
      reply_after_ = std::max(reply_after_, running_runner->producer.last_commit());
    }
    // Handed on below, unless it ends here: in flight for the input fence.
    const uint64_t hops = session_.input_hops.get();
    if (hops % 2 == 0) session_.input_hops.set(hops + 1);
    if (!handoff_.empty() && handoff_to_ != Dispatcher::kControlLoop && next == Next::kRead) {
      ShardRunner* target = (*runners_)[static_cast<size_t>(handoff_to_)].get();
      asio::post(target->io,
                 [self = shared_from_this(), target]() { self->ContinueOnShard(*target); });
      return;
    }
    // With the AOF on, replies wait until it wrote the writes of the
    // threads the chunk ran on (its own, and those its reads may have
    // seen): the control loop's step takes them to the AOF and its end
    // writes them (OutputGate, WriteStream::ReplyWaits).
    if (!handoff_.empty() || next != Next::kRead ||
        (running_runner != nullptr && server_.write_stream().ReplyWaits(reply_after_))) {
      asio::post(control_, [self = shared_from_this(), next]() { self->ContinueOnControl(next); });
      return;
    }
    in_input_ = false;
    FinishInput(next);
  }

  // The rest of a chunk that another shard thread began, from the command
  // it handed over for this thread's shard (PassOn).
  void ContinueOnShard(ShardRunner& runner) {
    // The word first: once it is off, the control loop runs without the
    // step and the connection is its own again (nothing here is touched).
    if (!server_.shard_commands()) {
      asio::post(control_, [self = shared_from_this()]() { self->ContinueOnControl(Next::kRead); });
      return;
    }
    if (closing_) {  // killed meanwhile (by the control loop, in a step)
      in_input_ = false;
      handoff_.clear();
      return;
    }
    ShardRunScope scope(runner);
    try {
      if (runner.dispatcher.PlainShard(session_, handoff_) != runner.keyspace) {
        asio::post(control_,
                   [self = shared_from_this()]() { self->ContinueOnControl(Next::kRead); });
        return;
      }
      std::vector<std::string> args = std::move(handoff_);
      handoff_.clear();
      session_.query_buffer_bytes = handoff_qbuf_;
      ExecuteOrPark(args);
      may_hop_ = true;
      const Next next = ProcessInput();
      may_hop_ = false;
      PassOn(next);
    } catch (const std::exception& e) {
      LogInternalError(e);
      asio::post(control_, [self = shared_from_this()]() {
        self->in_input_ = false;
        self->Kill();
      });
    }
  }

  // The rest of a chunk that its shard thread began (OnInput): the command
  // it handed over, the commands after it, the end. On the control loop.
  void ContinueOnControl(Next next) {
    if (closing_) {  // killed meanwhile
      in_input_ = false;
      handoff_.clear();
      return;
    }
    try {
      if (!handoff_.empty()) {
        std::vector<std::string> args = std::move(handoff_);
        handoff_.clear();
        session_.query_buffer_bytes = handoff_qbuf_;
        ExecuteOrPark(args);
        may_hop_ = true;
        next = ProcessInput();
        may_hop_ = false;
        if (!handoff_.empty()) {  // on to a shard thread
          PassOn(next);
          return;
        }
      }
      in_input_ = false;
      FinishInput(next);
    } catch (const std::exception& e) {
      in_input_ = false;
      LogInternalError(e);
      Kill();
    }
  }

  // A bug surfaced as an exception while the client's commands ran: the
  // client is closed (the node goes on).
  void LogInternalError(const std::exception& e) const {
    Logf(LogLevel::kWarning, "Closing client after an internal error (%s): id=%d addr=%s", e.what(),
         session_.id, session_.addr);
  }

  // Whether the socket thread may run the commands of the chunk it just
  // read (the class comment). REQUIRES: on the socket thread, with
  // Server::shard_commands on (so that the control side may be read).
  bool MayRunOnShard() const {
    return !closing_ && !processing_ && !in_input_ && !write_failed_ && !limit_hit_ && !gated_ &&
           !close_after_gate_ && !read_waits_drain_ && parked_.empty() && handoff_.empty() &&
           BigBulkLeft() == 0 && !session_.close_after_reply && !session_.replica &&
           !session_.suspended() && session_.on_output_drained == nullptr;
  }

  // Runs a chunk on the socket thread (MayRunOnShard).
  void RunOnShard(const std::string& chunk) {
    ShardRunScope scope(*runner_);
    OnInput(chunk);
  }

  // The dispatcher and statistics of the thread running the commands now.
  Dispatcher& dispatcher() {
    return running_runner != nullptr ? running_runner->dispatcher : dispatcher_;
  }
  Stats& stats() { return running_runner != nullptr ? running_runner->stats : server_.stats(); }

  void AskRead() {
    asio::post(*socket_loop_, [self = shared_from_this()]() { self->IoRead(); });
  }

  // The socket took output while the control loop waited for it.
  void OnSent() {
    if (closing_) return;
    if (!out_.empty()) Flush();  // what Flush held while the socket was busy
    ReadIfDrained();
    Drained();
  }

  // A connection whose reads wait for its output to drain (RunInput's
  // kReadAfterDrain) reads again once half of it went.
  void ReadIfDrained() {
    if (!read_waits_drain_ || PendingOutput() > kMaxPendingOutput / 2) return;
    read_waits_drain_ = false;
    want_drained_.store(WantsDrained());
    AskRead();
  }

  // Whether the control loop waits for the socket to take output: a
  // streaming producer, reads waiting for the output to drain, and a
  // replica, whose output the replication buffer holds until it is sent
  // (ReplicationManager reads output_buffer_bytes, kept current by OnSent).
  bool WantsDrained() const {
    return session_.on_output_drained != nullptr || read_waits_drain_ || session_.replica;
  }

  // The socket thread closed the socket: the peer went, or a write
  // failed (`write_error`: its text).
  void OnPeerGone(std::string write_error) {
    if (closing_) return;
    if (!write_error.empty()) {
      write_failed_ = true;
      Logf(LogLevel::kVerbose, "Error writing to client: %s", write_error);
    }
    Detach();
  }

  // QUIT, a protocol error: the client goes once its output is written.
  void CloseAfterOutput() {
    if (gated_) {  // the OutputGate's release flushes, then closes
      close_after_gate_ = true;
      return;
    }
    Detach();
    asio::post(*socket_loop_, [self = shared_from_this()]() { self->IoCloseWhenSent(); });
  }

  // The socket thread's side of a remote connection.

  // Reads once the socket is readable (unless a read is pending already).
  void IoRead() {
    if (io_closed_ || io_read_pending_) return;
    io_read_pending_ = true;
    AsyncReadWhenReady(
        stream_.socket(), io_sink_,
        [self = shared_from_this()](boost::system::error_code ec, size_t) {
          self->io_read_pending_ = false;
          if (self->io_closed_) return;
          if (ec == asio::error::would_block || ec == asio::error::try_again) {
            self->IoRead();
            return;
          }
          if (ec) {
            self->IoClose();
            asio::post(self->control_, [self]() { self->OnPeerGone(""); });
            return;
          }
          if (self->runner_ != nullptr && self->server_.shard_commands() && self->MayRunOnShard()) {
            const std::string chunk = std::move(self->io_inbox_);
            self->io_inbox_.clear();
            self->RunOnShard(chunk);
            return;
          }
          asio::post(self->control_,
                     [self, chunk = std::move(self->io_inbox_)]() { self->OnInput(chunk); });
          self->io_inbox_.clear();
        });
  }

  // The read's sink (ready_read.h): the thread's scratch room, copied out.
  struct IoSink {
    Connection& c;
    std::span<char> PrepareRead() {
      const std::span<char> room = IoScratch();
      c.io_room_ = room.size();
      return room;
    }
    void CommitRead(size_t n) {
      c.io_peer_close_unseen_ = n < c.io_room_;
      c.io_inbox_.assign(IoScratch().data(), n);
    }
  };
  static std::span<char> IoScratch() {
    static constexpr size_t kRoom = 64 * 1024;
    thread_local const std::unique_ptr<char[]> room = std::make_unique_for_overwrite<char[]>(kRoom);
    return {room.get(), kRoom};
  }

  // Output from the control loop: sent at once as far as the socket takes
  // it, the rest kept as it came (a queue of the posted buffers, written
  // by gathering writes: no copy, no growing buffer); then the next read
  // when asked. A buffer's memory is counted in socket_held_ before it
  // leaves posted_, and leaves socket_held_ once freed: the control loop,
  // reading both at any time, never sees output memory as neither
  // (maxmemory leaves a replica's output out of the data it evicts for).
  // `in_flight`: the buffer was counted in AddOutputInFlight, which it
  // leaves with posted_ (what the socket did not take is counted in
  // socket_held_ by then).
  void IoSend(std::string bytes, bool read_more, bool in_flight) {
    const size_t posted = bytes.capacity();
    size_t taken = 0;
    if (io_closed_) {
      taken = bytes.size();  // dropped
    } else {
      if (io_writing_ == 0 && io_chunks_.empty()) {
        const ssize_t n = ::send(stream_.socket().native_handle(), bytes.data(), bytes.size(),
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) taken = static_cast<size_t>(n);
      }
      if (taken < bytes.size()) {
        socket_held_.fetch_add(posted);
        if (io_chunks_.empty()) io_front_sent_ = taken;
        io_chunks_.push_back(std::move(bytes));
        if (io_writing_ == 0) IoWrite();
      }
    }
    std::string().swap(bytes);  // freed before it is no longer counted
    posted_.fetch_sub(posted);
    if (in_flight) AddOutputInFlight(-static_cast<int64_t>(posted));
    if (taken != 0) IoTook(taken);
    if (read_more) IoRead();
  }

  // Writes the queued buffers (up to kIoGather at once) from the front.
  void IoWrite() {
    io_buffers_.clear();
    for (const std::string& chunk : io_chunks_) {
      const size_t skip = io_buffers_.empty() ? io_front_sent_ : 0;
      io_buffers_.emplace_back(chunk.data() + skip, chunk.size() - skip);
      if (io_buffers_.size() == kIoGather) break;
    }
    io_writing_ = io_buffers_.size();
    asio::async_write(
        stream_, io_buffers_, [self = shared_from_this()](boost::system::error_code ec, size_t) {
          // The written buffers go (all of them after an error or a close).
          const size_t n = ec || self->io_closed_ ? self->io_chunks_.size() : self->io_writing_;
          self->io_writing_ = 0;
          size_t done = 0;
          size_t freed = 0;
          for (size_t i = 0; i < n; ++i) {
            std::string& chunk = self->io_chunks_.front();
            done += chunk.size() - (i == 0 ? self->io_front_sent_ : 0);
            freed += chunk.capacity();
            self->io_chunks_.pop_front();
          }
          self->io_front_sent_ = 0;
          self->socket_held_.fetch_sub(freed);
          if (self->io_closed_) self->IoReleased();
          if (ec) {
            if (!self->io_closed_) {
              self->IoClose();
              asio::post(self->control_, [self, text = ec.message()]() { self->OnPeerGone(text); });
            }
          } else if (!self->io_chunks_.empty() && !self->io_closed_) {
            self->IoWrite();
          } else if (self->io_close_when_sent_) {
            self->IoClose();
          }
          self->IoTook(done);
        });
  }

  // `n` bytes of output left the connection's count of unsent bytes.
  void IoTook(size_t n) {
    unsent_.fetch_sub(n);
    if (want_drained_.load())
      asio::post(control_, [self = shared_from_this()]() { self->OnSent(); });
  }

  void IoCloseWhenSent() {
    if (io_writing_ != 0 || !io_chunks_.empty()) {
      io_close_when_sent_ = true;
    } else {
      IoClose();
    }
  }

  // Closes the socket (idempotent); a pending read ends cancelled.
  // `released`: what CloseSocket left out of eviction's count for the
  // output queued here, counted back once it is freed (IoReleased: at once
  // when no write is in flight, else when the cancelled write completes).
  void IoClose(size_t released = 0) {
    io_released_ += released;
    if (!io_closed_) {
      io_closed_ = true;
      stream_.Close();
    }
    if (io_writing_ == 0) IoReleased();
  }

  // The output queued here is freed: what CloseSocket left out counts
  // again (as nothing).
  void IoReleased() {
    if (io_released_ == 0) return;
    AddOutputInFlight(-static_cast<int64_t>(io_released_));
    io_released_ = 0;
  }

  // The cron's CheckPeerClosed, on the socket's thread.
  void IoCheckPeerClosed() {
    if (io_closed_ || !io_read_pending_ || !io_peer_close_unseen_) return;
    io_peer_close_unseen_ = false;
    if (!PeerGone()) return;
    IoClose();
    asio::post(control_, [self = shared_from_this()]() { self->OnPeerGone(""); });
  }

  // Parses and executes every complete command in the received bytes,
  // stopping at a command that blocks (the rest waits in query_).
  void Process() {
    processing_ = true;
    size_t pos = 0;
    // The buffer is looked at again after each command: a busy script
    // serving the loop may have read more into it (and moved it).
    for (std::string_view data = query_.data(); pos < data.size() && !session_.close_after_reply &&
                                                !closing_ && !limit_hit_ && !session_.suspended();
         data = query_.data()) {
      // Before AUTH, Redis bounds multibulk counts and bulk lengths tightly.
      parser_.set_auth_required(server_.AuthRequired(session_));
      size_t consumed = 0;
      const resp::ParseStatus status = parser_.Parse(data.substr(pos), &consumed, &args_);
      pos += consumed;
      // While it runs, the query buffer holds the unconsumed bytes of the
      // reads, those of the commands before it included, as Redis's (it
      // trims them after the batch): CLIENT LIST qbuf=26 for itself, 73
      // after a SET and before a GET of the same read (whichever threads
      // the chunk's commands ran on: hop_consumed_).
      session_.query_buffer_bytes = data.size() + hop_consumed_;
      if (status == resp::ParseStatus::kNeedMore) break;
      if (status == resp::ParseStatus::kError) {
        reply_.Error(errors::Err(parser_.error()));
        Logf(LogLevel::kVerbose, "Protocol error (%s) from client: id=%d addr=%s", parser_.error(),
             session_.id, session_.addr);
        session_.close_after_reply = true;
        break;
      }
      if (args_.empty()) continue;
      // On a shard thread, a command of another shard goes to that shard's
      // thread, any other command it may not run to the control loop, with
      // the rest of the chunk (OnInput, PassOn).
      // The control loop likewise hands a plain data command of a shard
      // thread's keys back to that thread, in a chunk that is whole in the
      // query buffer (may_hop_).
      if (running_runner != nullptr ||
          (may_hop_ && runners_ != nullptr && !runners_->empty() && server_.shard_commands())) {
        const int here =
            running_runner != nullptr ? running_runner->keyspace : Dispatcher::kControlLoop;
        int where = server_.shard_commands()
                        ? (*runners_)[0]->dispatcher.PlainShard(session_, args_)
                        : Dispatcher::kControlLoop;
        if (where == Dispatcher::kAnyShard) where = here;
        if (where < 0 || where >= static_cast<int>(runners_->size()))
          where = Dispatcher::kControlLoop;
        if (where != here) {
          handoff_ = std::move(args_);
          args_.clear();
          handoff_to_ = where;
          handoff_qbuf_ = session_.query_buffer_bytes;
          hop_consumed_ += pos;
          break;
        }
      }
      ExecuteOrPark(args_);
      // The arguments are freed after the command, as Redis frees a
      // client's argv: a command of 100k arguments must not keep its
      // vector (megabytes) for the connection's lifetime.
      if (args_.capacity() > kMaxRetainedArgs) std::vector<std::string>().swap(args_);
    }
    // Keep what was not consumed (a partial header line, the commands
    // after one that blocks).
    query_.Consume(pos);
    processing_ = false;
    UpdateQueryBufferStats();
    if (static_cast<int64_t>(session_.query_buffer_bytes) >
        server_.options().client_query_buffer_limit) {
      Logf(LogLevel::kWarning,
           "Closing client that reached max query buffer length: id=%d addr=%s (qbuf "
           "initial bytes: ...)",
           session_.id, session_.addr);
      session_.close_after_reply = true;
    }
  }

  // Runs one command, unless writes are paused (manual failover, CLIENT
  // PAUSE) and it may write. A command that is to run again when its wait
  // ends (the pause, or keys in flight in a MIGRATE: suspend.h's Retry) is
  // kept in parked_ until the session resumes.
  void ExecuteOrPark(std::vector<std::string>& args) {
    // The clock was just read for the read that brought the first command;
    // the commands after it in the same read see that time moved on by the
    // cycle counter (a wall-clock read costs twice a counter read).
    int64_t now = 0;
    if (read_now_us_ == 0) {
      now = NowMs();
    } else if (std::exchange(first_of_read_, false)) {
      now = read_now_us_ / 1000;
    } else {
      now = (read_now_us_ + base::CycleClock::NanosSince(read_ticks_) / 1000) / 1000;
    }
    command_now_ms_ = now;
    // Run again after its input fence, the command sees the query buffer
    // figure it came with (CLIENT LIST's own qbuf), not what was left.
    const bool fenced = std::exchange(input_fenced_, false);
    if (fenced) session_.query_buffer_bytes = fenced_qbuf_;
    if (!fenced && NeedsInputFence(args)) {
      FenceInput();
    } else if (server_.WritesPaused(now) && dispatcher().WaitsForPause(session_, args, now)) {
      server_.ParkSession(session_);
    } else {
      // A replica's commands are expected to reply nothing (see
      // RefuseReplicaReply); SYNC and PSYNC themselves make a replica.
      const bool replica = session_.replica;
      const size_t before = out_.size();
      replica_command_ = replica;
      dispatcher().Execute(session_, args, reply_, now);
      if (running_runner != nullptr) ++running_runner->stats.shard_thread_commands;
      replica_command_ = false;
      reply_.set_protocol(session_.protocol);
      if (replica && !closing_ && out_.size() > before) RefuseReplicaReply(before);
      if (!replica_held_push_.empty()) {
        const std::string held = std::exchange(replica_held_push_, {});
        if (!closing_) session_.push(held);
      }
    }
    if (RetriedOnResume(session_.waiting)) parked_ = std::move(args);
  }

  // The input fence (`threads N` > 1): a command of the control loop that
  // reports on other clients (Dispatcher::ObservesOtherClients) must see
  // the bytes they sent before it, as Redis's one event loop reads a socket
  // that became readable earlier first; here another client's socket may
  // be read by a shard thread that has not got to it yet. Once per command
  // (ExecuteOrPark).
  bool NeedsInputFence(const std::vector<std::string>& args) {
    if (running_runner != nullptr || runners_ == nullptr || runners_->empty()) return false;
    return dispatcher().ObservesOtherClients(session_, args);
  }

  // Suspends the command (kInputFence) until every shard thread's reactor
  // has run after now and what it read was handed on (a chunk a socket
  // thread reads is posted to the control loop before that thread's answer
  // to the fence), and until the chunks of other clients then handed
  // between threads have ended (Redis runs a read's commands at once):
  // the command, run again then (suspend.h's Retry), comes after them.
  void FenceInput() {
    Suspend(session_, WaitReason::kInputFence);
    fenced_qbuf_ = session_.query_buffer_bytes;
    FencePass({});
  }

  // One pass of the fence over every shard thread. `waited`: the clients
  // whose chunks were in flight after the first pass, with their
  // input_hops then; the fence ends once each of those chunks ended.
  using InFlight = std::vector<std::pair<uint64_t, uint64_t>>;
  void FencePass(InFlight waited) {
    struct Pass {
      size_t left;  // shard threads yet to answer
      InFlight waited;
    };
    auto pass = std::make_shared<Pass>(Pass{runners_->size(), std::move(waited)});
    auto answer = [weak = weak_from_this(), pass]() {
      if (--pass->left != 0) return;
      auto conn = weak.lock();
      if (conn == nullptr || conn->session_.waiting != WaitReason::kInputFence) return;
      InFlight& waited = pass->waited;
      if (waited.empty()) waited = conn->OthersInputInFlight();
      std::erase_if(waited, [&](const auto& client) {
        auto it = conn->server_.clients().find(client.first);
        return it == conn->server_.clients().end() || it->second->input_hops.get() != client.second;
      });
      if (!waited.empty()) {
        conn->FencePass(std::move(waited));
        return;
      }
      conn->input_fenced_ = true;
      Retry(conn->session_);
    };
    for (const std::unique_ptr<ShardRunner>& runner : *runners_) {
      AfterReactorRuns(runner->io, kFenceHops,
                       [control = control_, answer]() { asio::post(control, answer); });
    }
  }

  // The other clients whose input is between threads now (input_hops odd).
  InFlight OthersInputInFlight() const {
    InFlight found;
    for (const auto& [id, session] : server_.clients()) {
      const uint64_t hops = session->input_hops.get();
      if (id != session_.id && hops % 2 == 1) found.emplace_back(id, hops);
    }
    return found;
  }

  // A replica of ours only sends what needs no reply (REPLCONF ACK): a
  // command that replied anyway (a rogue or confused replica) has its reply
  // dropped and the replica disconnected, as Redis does (its
  // _addReplyToBufferOrList and addReplyDeferredLen); writing it would mix
  // it into the replication stream. `before`: out_'s size before the
  // command ran.
  void RefuseReplicaReply(size_t before) {
    out_.resize(before);
    Logf(LogLevel::kWarning, "Replica generated a reply to command '%s', disconnecting it: %s",
         session_.last_command.empty() ? std::string("<unknown>") : session_.last_command,
         ClientInfoLine(session_, NowMs()));
    Kill();
  }

  // Redis's afterErrorReply for a replica client: an error for a replica
  // is logged as critical and counted (INFO unexpected_error_replies).
  void ErrorToReplica(std::string_view message) {
    if (message.starts_with("ERR ")) message.remove_prefix(4);
    Logf(LogLevel::kWarning,
         "== CRITICAL == This master is sending an error to its replica: '%s' after processing "
         "the command '%s'",
         message.substr(0, 4096),
         session_.last_command.empty() ? std::string("<unknown>") : session_.last_command);
    ++server_.stats().unexpected_error_replies;
  }

  Stream stream_;  // remote: the socket thread's
  const Peer peer_;
  Server& server_;
  Dispatcher& dispatcher_;
  Session session_;
  resp::RequestParser parser_;
  std::vector<std::string> args_;
  std::vector<std::string> parked_;   // the command waiting for a write pause
  bool input_fenced_ = false;         // the parked command passed its input fence
  size_t fenced_qbuf_ = 0;            // its query_buffer_bytes when it came
  std::vector<std::string> handoff_;  // a shard thread's command for the control loop
  resp::QueryBuffer query_;           // received, not yet parsed
  bool processing_ = false;           // Process is reading query_
  bool reading_scratch_ = false;      // the recv in progress goes to ScratchRoom
  size_t read_room_ = 0;              // the room PrepareRead gave the recv in progress
  bool read_parked_ = false;          // the reader coroutine waits in a read
  bool peer_close_unseen_ = false;    // the last read was short (CheckPeerClosed)
  // The output buffer a connection of the control loop keeps once it has
  // replied, as Redis's 16 KB reply buffer (PROTO_REPLY_CHUNK_BYTES): more
  // was a burst
  // (replies and pushes gathered over one pass: the invalidations that an
  // eviction run sends tracking clients), freed so that it does not count
  // as used memory afterwards (maxmemory would evict keys for it).
  static constexpr size_t kKeptBufferBytes = 16 * 1024;
  static constexpr int64_t kBigArg = resp::QueryBuffer::kBigArg;
  std::string out_;      // replies not yet handed to the socket
  std::string sending_;  // the bytes of the write in flight
  // What Kill left out of eviction's count for sending_ (AddOutputInFlight),
  // counted back when the write completes and frees it.
  size_t released_sending_ = 0;
  resp::ReplyBuilder reply_;
  // Cancelled when a write completes; none for a remote connection (its
  // last owner may be the socket thread).
  std::optional<asio::steady_timer> drained_;
  bool writing_ = false;
  bool gated_ = false;  // waiting for the OutputGate's release
  bool write_failed_ = false;
  bool closing_ = false;
  bool kill_when_drained_ = false;  // close after the pending output is written
  bool limit_hit_ = false;          // over client-output-buffer-limit: closing
  int64_t command_now_ms_ = 0;      // the time of the last command this read ran
  // The wall-clock time of the read whose commands run now (0: none), the
  // cycle counter then, and whether its first command is still to run.
  int64_t read_now_us_ = 0;
  int64_t read_ticks_ = 0;
  bool first_of_read_ = false;
  // While a replica's command runs (ExecuteOrPark): what the replication
  // stream pushed meanwhile, appended after it (so out_ grows only by a
  // reply, which RefuseReplicaReply refuses).
  bool replica_command_ = false;
  std::string replica_held_push_;
  static constexpr size_t kLimitCheckBytes = 16 * 1024;  // Redis's reply chunk
  static constexpr size_t kMaxRetainedArgs = 1024;       // argument slots kept
  static constexpr size_t kMaxPendingOutput = 64 * 1024 * 1024;

  const asio::any_io_executor control_;  // the control loop
  asio::io_context* const socket_loop_;  // a remote connection's socket thread; else null
  ShardRunner* const runner_;            // its commands' runner there; else null
  const std::vector<std::unique_ptr<ShardRunner>>* const runners_;  // every shard thread's
  // handoff_'s keyspace shard (its thread's), or Dispatcher::kControlLoop.
  int handoff_to_ = Dispatcher::kControlLoop;
  // The query buffer's figure while the handed-over command runs: its own
  // bytes and the rest of the chunk, as where it was read (CLIENT LIST
  // qbuf).
  size_t handoff_qbuf_ = 0;
  // The bytes of the chunk that threads it ran on before consumed (the
  // commands before a handover).
  size_t hop_consumed_ = 0;
  // The last write-stream unit committed by a shard thread this chunk ran
  // on (WriteStream::ReplyWaits); 0 once the chunk ended.
  uint64_t reply_after_ = 0;
  bool may_hop_ = false;  // Process may hand commands to another thread
  // Remote, control loop's side.
  // The connection itself while its session is registered (Detach lets go):
  // a local one is held by its reader coroutine, a remote one by whatever
  // handler is queued for it, and there may be none (waiting for the
  // OutputGate to close it).
  std::shared_ptr<Connection> keep_alive_;
  bool in_input_ = false;          // OnInput runs the commands of a chunk
  bool close_after_gate_ = false;  // CloseAfterOutput waits for the OutputGate
  bool read_waits_drain_ = false;  // the next read waits for the output to drain
  // Remote, shared: output posted to the socket thread not yet taken by
  // the socket; whether the control loop wants OnSent after each write.
  std::atomic<size_t> unsent_{0};
  std::atomic<bool> want_drained_{false};
  // Remote, shared: what the output takes in memory on its way (the
  // client's output_buffer_allocated): the capacity of the buffers posted
  // and not yet taken by the socket thread, and of the socket thread's own.
  std::atomic<size_t> posted_{0};
  std::atomic<size_t> socket_held_{0};
  // Remote, the socket thread's side.
  IoSink io_sink_{*this};
  std::string io_inbox_;  // the bytes of the last read
  // Output not yet taken by the socket, as posted; the socket took the
  // first io_front_sent_ bytes of the front one.
  std::deque<std::string> io_chunks_;
  size_t io_front_sent_ = 0;
  size_t io_writing_ = 0;  // buffers in the write in flight (0: none)
  std::vector<asio::const_buffer> io_buffers_;
  static constexpr size_t kIoGather = 64;
  size_t io_room_ = 0;
  bool io_read_pending_ = false;
  bool io_closed_ = false;
  bool io_close_when_sent_ = false;
  size_t io_released_ = 0;  // IoClose's
  bool io_peer_close_unseen_ = false;
};

// Redis's protected mode lets in 127.0.0.1 and ::1 only (connIsLocal
// compares the peer's text), not the rest of 127.0.0.0/8.
bool IsLoopback(const asio::ip::address& addr) {
  if (addr.is_v4()) return addr.to_v4() == asio::ip::address_v4::loopback();
  return addr.to_v6() == asio::ip::address_v6::loopback();
}

}  // namespace

NetServer::NetServer(asio::io_context& io, Server& server, Dispatcher& dispatcher, TlsContexts* tls,
                     ShardThreads* threads)
    : io_(io),
      server_(server),
      dispatcher_(dispatcher),
      tls_(tls),
      threads_(threads),
      step_(*this),
      shard_commands_timer_(io) {
  if (threads_ == nullptr || threads_->size() == 0) return;
  for (int i = 0; i < threads_->size(); ++i) {
    runners_.push_back(std::make_unique<ShardRunner>(server_, i, threads_->io(i)));
  }
  // This thread runs the control loop: each of its handlers takes the
  // global step while shard threads run commands.
  hook_scope_.emplace(&step_);
  CheckShardCommands();
}

void NetServer::StepHook::BeforeHandler() {
  if (ending_ || !net_.server_.shard_commands() || net_.threads_->parked()) return;
  net_.threads_->ParkAll();
  asio::post(net_.io_, [this]() { EndStep(); });
  // The writes the shard threads committed go first, in their order
  // (replicas, the AOF, WAIT's offset see them before anything this step
  // does).
  net_.server_.write_stream().Drain();
  // So do the keyspace events their commands raised, and their MONITOR
  // lines.
  net_.server_.keyspace_event_queue()->PublishAll(net_.server_.pubsub());
  net_.server_.SendQueuedMonitorLines();
}

void NetServer::StepHook::EndStep() {
  // Still parked: whatever the step's handlers changed may keep commands
  // on the control loop from now on.
  ending_ = true;
  // The AOF writes what the step delivered to it (the shard threads'
  // units, drained at its start, and the control loop's own writes) before
  // any shard thread runs again: the replies the gate holds go now, and
  // the shard threads may send those of their acknowledged units.
  net_.server_.output_gate().ReleaseNow();
  net_.server_.write_stream().AckDrained();
  if (!net_.server_.ShardCommandsBlocker().empty()) net_.server_.set_shard_commands(false);
  net_.threads_->ReleaseAll();
  ending_ = false;
}

void NetServer::CheckShardCommands() {
  shard_commands_timer_.expires_after(std::chrono::milliseconds(100));
  shard_commands_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    CheckShardCommands();
    // The last thing this handler does: from here on the shard threads may
    // run commands while the control loop runs nothing outside a step.
    if (!server_.shard_commands() && server_.ShardCommandsBlocker().empty()) {
      server_.set_shard_commands(true);
    }
  });
}

void NetServer::StopShardCommands() {
  shard_commands_timer_.cancel();
  if (threads_ == nullptr) return;
  threads_->ParkAll();
  server_.set_shard_commands(false);
  threads_->ReleaseAll();
}

NetServer::~NetServer() = default;

absl::Status NetServer::Listen() {
  const ServerOptions& opts = server_.options();
  const bool tls = opts.tls_port != 0;
  if (tls && (tls_ == nullptr || !tls_->configured())) {
    return absl::FailedPreconditionError("TLS is not configured");
  }
  // Port 0: no plain port at all, as in Redis (a TLS port or the
  // unixsocket may serve alone).
  if (opts.port != 0) {
    absl::Status st = Bind(opts.port, /*tls=*/false, &acceptors_);
    if (!st.ok()) return st;
  }
  if (tls) {
    absl::Status st = Bind(opts.tls_port, /*tls=*/true, &acceptors_);
    if (!st.ok()) return st;
  }
  for (auto& acceptor : acceptors_) StartAccept(*acceptor);
  return absl::OkStatus();
}

absl::Status NetServer::ChangePort(int port, bool tls) {
  if (tls && port != 0 && (tls_ == nullptr || !tls_->configured()) &&
      (tls_ == nullptr || !tls_->Configure(server_.options()))) {
    return absl::FailedPreconditionError("Unable to update TLS configuration. Check server logs.");
  }
  std::vector<std::unique_ptr<Acceptor>> fresh;
  if (port != 0) {
    absl::Status st = Bind(port, tls, &fresh);
    if (!st.ok()) {
      Logf(LogLevel::kWarning, "%s", st.message());
      return absl::UnavailableError("Unable to listen on this port. Check server logs.");
    }
  }
  // The old sockets close; their pending accepts end cancelled.
  boost::system::error_code ignored;
  std::erase_if(acceptors_, [&](const std::unique_ptr<Acceptor>& a) {
    if (a->tls != tls) return false;
    a->acceptor->close(ignored);
    return true;
  });
  if (!tls && port == 0) server_.set_tcp_port(0);
  for (auto& a : fresh) {
    StartAccept(*a);
    acceptors_.push_back(std::move(a));
  }
  return absl::OkStatus();
}

absl::Status NetServer::ChangeBind(const std::vector<std::string>& previous) {
  const ServerOptions& opts = server_.options();
  // The ports in use (port 0 in the options may stand for a picked one).
  int port = 0, tls_port = 0;
  bool had_plain = false, had_tls = false;
  boost::system::error_code ec;
  for (const auto& a : acceptors_) {
    const int p = a->acceptor->local_endpoint(ec).port();
    if (ec) continue;
    (a->tls ? tls_port : port) = p;
    (a->tls ? had_tls : had_plain) = true;
  }
  if (!had_plain) port = opts.port;
  if (!had_tls) tls_port = opts.tls_port;
  auto bind_all = [&](const std::vector<std::string>& addrs,
                      std::vector<std::unique_ptr<Acceptor>>* out) {
    absl::Status st;
    if (port != 0) st = Bind(port, /*tls=*/false, out, &addrs);
    if (st.ok() && tls_port != 0) st = Bind(tls_port, /*tls=*/true, out, &addrs);
    return st;
  };
  for (auto& a : acceptors_) a->acceptor->close(ec);
  acceptors_.clear();
  std::vector<std::unique_ptr<Acceptor>> fresh;
  absl::Status st = bind_all(opts.bind, &fresh);
  if (!st.ok()) {
    Logf(LogLevel::kWarning, "%s", st.message());
    fresh.clear();
    if (absl::Status back = bind_all(previous, &fresh); !back.ok()) {
      Logf(LogLevel::kWarning, "Failed to restore old listening sockets: %s", back.message());
    }
  }
  for (auto& a : fresh) {
    StartAccept(*a);
    acceptors_.push_back(std::move(a));
  }
  if (!st.ok()) return absl::UnavailableError("Failed to bind to specified addresses.");
  return absl::OkStatus();
}

absl::Status NetServer::Bind(int port, bool tls, std::vector<std::unique_ptr<Acceptor>>* out,
                             const std::vector<std::string>* addresses) {
  const ServerOptions& opts = server_.options();
  for (std::string addr : addresses != nullptr ? *addresses : opts.bind) {
    const bool optional = !addr.empty() && addr[0] == '-';
    if (optional) addr.erase(0, 1);
    asio::ip::address ip;
    if (addr == "*") {
      ip = asio::ip::address_v4::any();
    } else if (addr == "::*") {
      ip = asio::ip::address_v6::any();
    } else {
      boost::system::error_code ec;
      ip = asio::ip::make_address(addr, ec);
      if (ec) {
        if (optional) continue;
        return absl::InvalidArgumentError(absl::StrCat(
            "Could not create server TCP listening socket ", addr, ":", port, ": ", ec.message()));
      }
    }
    tcp::endpoint ep(ip, static_cast<unsigned short>(port));
    auto acceptor = std::make_unique<tcp::acceptor>(io_);
    boost::system::error_code ec;
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && ip.is_v6()) acceptor->set_option(boost::asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(opts.tcp_backlog, ec);
    if (ec) {
      if (optional) continue;
      return absl::UnavailableError(absl::StrCat("Could not create server TCP listening socket ",
                                                 addr, ":", port, ": ", ec.message()));
    }
    if (!tls) server_.set_tcp_port(acceptor->local_endpoint().port());
    out->push_back(std::make_unique<Acceptor>(Acceptor{std::move(acceptor), tls}));
  }
  return absl::OkStatus();
}

void NetServer::StartAccept(Acceptor& entry) {
  tcp::acceptor& acceptor = *entry.acceptor;
  const bool tls = entry.tls;
  // A closed acceptor (ChangePort, Stop) may be gone when its accept ends
  // cancelled: `entry` is only touched when it did not.
  acceptor.async_accept([this, &entry, tls](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      const ServerOptions& opts = server_.options();
      const auto remote = socket.remote_endpoint(ignored);
      // Refusals are written in clear text, on the TLS port too (Redis
      // writes them before any handshake).
      if (static_cast<int64_t>(server_.clients().size()) >= opts.maxclients) {
        const std::string err = errors::RespError(errors::kMaxClients);
        asio::write(socket, asio::buffer(err), ignored);
        ++server_.stats().rejected_connections;
      } else if (opts.protected_mode && server_.acl_ref().default_user().nopass &&
                 !IsLoopback(remote.address())) {
        asio::write(socket, asio::buffer(errors::RespError(errors::kProtectedMode)), ignored);
        ++server_.stats().rejected_connections;
      } else if (tls && (tls_ == nullptr || !tls_->configured())) {
        ++server_.stats().rejected_connections;
      } else {
        ++server_.stats().total_connections_received;
        Adopt(std::move(socket), tls, "");
      }
    }
    StartAccept(entry);
  });
}

absl::Status NetServer::ListenUnix() {
  // Immutable directives the node reads as text (not ServerOptions).
  const std::string path = server_.config().Value("unixsocket").value_or("");
  if (path.empty()) return absl::OkStatus();
  const std::string perm_text = server_.config().Value("unixsocketperm").value_or("0");
  const auto perm = static_cast<mode_t>(std::strtoul(perm_text.c_str(), nullptr, 8));
  // A socket file left by an earlier run would make the bind fail.
  ::unlink(path.c_str());
  sockaddr_un sa{};
  if (path.size() > sizeof(sa.sun_path) - 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "unix socket path too long (%zu), must be under %zu", path.size(), sizeof(sa.sun_path)));
  }
  auto acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(io_);
  boost::system::error_code ec;
  acceptor->open(asio::local::stream_protocol(), ec);
  if (ec) return absl::UnavailableError(absl::StrCat("Error creating socket: ", ec.message()));
  acceptor->bind(asio::local::stream_protocol::endpoint(path), ec);
  if (ec) return absl::UnavailableError(absl::StrCat("bind: ", std::strerror(ec.value())));
  if (perm != 0) ::chmod(path.c_str(), perm);
  acceptor->listen(server_.options().tcp_backlog, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("listen: ", std::strerror(ec.value())));
  unix_acceptor_ = std::move(acceptor);
  unix_path_ = path;
  StartUnixAccept();
  return absl::OkStatus();
}

void NetServer::StartUnixAccept() {
  // The acceptor outlives its pending accept only until StopAccepting
  // closes it: then the handler ends cancelled without touching it.
  unix_acceptor_->async_accept(
      [this](boost::system::error_code ec, asio::local::stream_protocol::socket socket) {
        if (ec == asio::error::operation_aborted) return;
        if (!ec) {
          boost::system::error_code ignored;
          // No protected-mode check: a unix client is local, as in Redis.
          if (static_cast<int64_t>(server_.clients().size()) >= server_.options().maxclients) {
            const std::string err = errors::RespError(errors::kMaxClients);
            asio::write(socket, asio::buffer(err), ignored);
            ++server_.stats().rejected_connections;
          } else {
            // The connection is carried by a tcp::socket object holding the
            // unix descriptor: every operation a Connection makes on its
            // socket (wait, recv, send, shutdown, cancel, close) is the same
            // system call for both families, and a unix Connection never
            // asks for endpoints or TCP options (unix_path stands for them).
            // One Stream type, and one Connection, serve both.
            tcp::socket carrier(io_);
            const int fd = socket.release(ec);
            if (!ec) carrier.assign(tcp::v4(), fd, ec);
            if (ec) {
              if (fd >= 0) ::close(fd);
            } else {
              Logf(LogLevel::kVerbose, "Accepted connection to %s", unix_path_);
              ++server_.stats().total_connections_received;
              Adopt(std::move(carrier), /*tls=*/false, unix_path_);
            }
          }
        }
        if (unix_acceptor_ && unix_acceptor_->is_open()) StartUnixAccept();
      });
}

void NetServer::Adopt(tcp::socket socket, bool tls, const std::string& unix_path) {
  Peer peer = PeerOf(socket, unix_path);
  // Spread over the shard threads, round-robin; TLS connections stay on
  // the control loop (their OpenSSL state reads and writes together).
  asio::io_context* loop = nullptr;
  int pick = 0;
  if (!tls && threads_ != nullptr && threads_->size() > 0) {
    pick = static_cast<int>(next_loop_++ % static_cast<uint64_t>(threads_->size()));
    loop = &threads_->io(pick);
  }
  if (loop != nullptr) {
    boost::system::error_code ec;
    const tcp protocol = unix_path.empty() ? socket.local_endpoint(ec).protocol() : tcp::v4();
    const int fd = ec ? -1 : socket.release(ec);
    if (ec || fd < 0) return;  // the socket closes with `socket`
    auto conn = std::make_shared<Connection>(Stream(tcp::socket(*loop)), server_, dispatcher_,
                                             std::move(peer), io_.get_executor(), loop,
                                             runners_[static_cast<size_t>(pick)].get(), &runners_);
    conn->StartRemote(fd, protocol);
    return;
  }
  Stream stream(std::move(socket));
  if (tls) {
    stream.UseTls(tls_->server());
    stream.tls().SetVerify(TlsVerifyMode(server_.options().tls_auth_clients));
  }
  auto conn = std::make_shared<Connection>(std::move(stream), server_, dispatcher_, std::move(peer),
                                           io_.get_executor(), nullptr, nullptr, &runners_);
  asio::co_spawn(io_, Connection::Run(std::move(conn)), asio::detached);
}

void NetServer::RemoveUnixSocket() {
  if (unix_path_.empty()) return;
  Log(LogLevel::kNotice, "Removing the unix socket file.");
  if (::unlink(unix_path_.c_str()) != 0) {
    Logf(LogLevel::kWarning, "Error removing the unix socket file: %s", std::strerror(errno));
  }
  unix_path_.clear();
}

void NetServer::StopAccepting() {
  boost::system::error_code ignored;
  for (auto& entry : acceptors_) entry->acceptor->close(ignored);
  if (unix_acceptor_) unix_acceptor_->close(ignored);
}

void NetServer::Stop() {
  StopAccepting();
  // Copy: Kill() makes each connection unregister itself later.
  std::vector<Session*> sessions;
  for (auto& [id, session] : server_.clients()) sessions.push_back(session);
  for (Session* s : sessions) {
    if (s->kill) s->kill();
  }
}

}  // namespace shardnode::node
