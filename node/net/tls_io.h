// TlsSession: TLS run by OpenSSL directly on a connection's non-blocking
// socket, as Redis's connection layer does (one SSL bound to the
// descriptor; SSL_read / SSL_write on the socket, and on "want read" /
// "want write" a wait for the socket to become readable / writable).
//
// Why not Asio's ssl::stream: it runs OpenSSL over a memory BIO pair, so
// each record costs one more copy each way and a composed operation of
// several handlers, and every wait for the socket is a re-armed epoll
// registration (a system call per request). Here an SSL_read or SSL_write
// runs inside Asio's reactor operation, as ready_read.h's recv does: tried
// at once, and when OpenSSL wants bytes that have not come the operation
// waits, with no re-arm, for the edge-triggered event that performs it.
//
// AsyncTlsReadWhenReady(session, sink, token): ready_read.h's read (the
// sink's room is asked for at the moment of the SSL_read, the decrypted
// bytes land in it, no copy) for NetServer's client connections.
// AsyncTlsReadSome / AsyncTlsWriteSome: one buffer's async_read_some /
// async_write_some (Stream's, so asio::async_write works). Completion:
// (error_code, bytes); never inside the initiating call; eof when the peer
// sent close_notify (a bare TCP close is OpenSSL 3's "unexpected eof while
// reading" error); operation_aborted when cancelled or closed. Errors from
// OpenSSL carry its error code in Asio's ssl category, which TlsErrorText
// (tls.h) prints as Redis logs them.
//
// A write that OpenSSL could not finish (want write) must be retried with
// the same bytes at the front of its buffer, possibly moved and longer
// (the contexts set SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER and
// SSL_MODE_ENABLE_PARTIAL_WRITE, as Redis's); every writer here retries the
// unsent rest of its buffer.
//
// Lifetime: the session holds its context (shared), so a context replaced
// by CONFIG SET lives on until its last connection closes. An operation
// needs its session alive until it completes (as a socket's own do).
// Loop: the socket's io_context thread only; not thread-safe.
#pragma once

#include <openssl/ssl.h>

// Asio's detail headers need the public ones (the scheduler) first.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>
// The others.
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/thread_context.hpp>
#include <boost/asio/detail/thread_info_base.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>

#include "node/net/ready_read.h"

namespace shardnode::node {

// What one SSL_read / SSL_write / SSL_do_handshake call left to do.
struct TlsStep {
  enum Want : uint8_t {
    kNothing,  // finished: `bytes` moved, or `ec` failed it
    kRead,     // call again once the socket is readable
    kWrite,    // call again once the socket is writable
  };
  Want want = kNothing;
  size_t bytes = 0;
  boost::system::error_code ec;
  // A read that emptied both OpenSSL and the socket: its last recv got
  // fewer bytes than it asked for, and OpenSSL holds none of them.
  bool drained = false;
};

class TlsSession {
 public:
  using Socket = boost::asio::ip::tcp::socket;

  // A new SSL of `ctx` on `socket` (connected), which is made non-blocking.
  TlsSession(Socket socket, std::shared_ptr<boost::asio::ssl::context> ctx);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  Socket& socket() { return socket_; }
  const Socket& socket() const { return socket_; }

  // SSL_set_verify: whether and how the peer's certificate is required.
  void SetVerify(int mode);

  // The handshake as server or client, waiting for the socket between
  // steps. Returns the error (none when the session is ready).
  boost::asio::awaitable<boost::system::error_code> Handshake(
      boost::asio::ssl::stream_base::handshake_type type);

  // SSL_read into `room` (non-empty): one record, then those OpenSSL
  // already holds while the room lasts. One SSL_write of `bytes`.
  TlsStep Read(std::span<char> room);
  TlsStep Write(std::span<const char> bytes);
  // A close_notify, once, as Redis's connTLSClose sends on a connection
  // still up (one non-blocking attempt; none after a failure or the peer's
  // close): a client that reads it ends cleanly (redis-cli after a SCRIPT
  // DEBUG session) instead of writing its own into a reset. Also done by
  // the destructor.
  void SendCloseNotify();

 private:
  TlsStep Outcome(int ret, int saved_errno);
  // The socket BIO's callback: notes whether each recv filled its room.
  static long OnBio(BIO* bio, int oper, const char* argp, size_t len, int argi, long argl, int ret,
                    size_t* processed);

  Socket socket_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  SSL* ssl_ = nullptr;        // nullptr when OpenSSL could not make one (every call fails)
  bool recv_short_ = false;   // the last recv of the current SSL_read got less than its room
  bool established_ = false;  // the handshake completed, no close_notify sent yet
  bool failed_ = false;       // a call failed or met the peer's close: no close_notify
};

namespace tls_io_internal {

namespace detail = boost::asio::detail;

// Asio's reactor operation whose I/O is one TlsSession step (Io:
// `TlsStep operator()()`), on the reactor queue `op_type` (read_op or
// write_op). A step that wants the other direction (a read that must send,
// a write that must receive: a renegotiation, a key update) completes the
// operation without calling the handler: Complete waits for that direction
// with async_wait and starts the operation again.
template <typename Io, typename Handler>
class TlsOp : public detail::reactor_op {
 public:
  // In the memory Asio recycles per thread for its own handlers.
  static TlsOp* Make(TlsSession& session, int op_type, Io io, Handler handler) {
    void* mem = detail::thread_info_base::allocate(detail::thread_context::thread_call_stack::top(),
                                                   sizeof(TlsOp));
    return new (mem) TlsOp(session, op_type, std::move(io), std::move(handler));
  }

  static void Start(TlsSession& session, int op_type, Io io, Handler handler) {
    auto& socket = session.socket();
    auto& impl = ready_read_internal::SocketAccess::Impl(socket);
    auto& reactor = boost::asio::use_service<detail::reactor>(
        boost::asio::query(socket.get_executor(), boost::asio::execution::context));
    const bool is_continuation = boost_asio_handler_cont_helpers::is_continuation(handler);
    TlsOp* op = Make(session, op_type, std::move(io), std::move(handler));
    reactor.start_op(op_type, impl.socket_, impl.reactor_data_, op, is_continuation,
                     /*allow_speculative=*/true);
  }

 private:
  TlsOp(TlsSession& session, int op_type, Io io, Handler handler)
      : reactor_op(boost::system::error_code(), &Perform, &Complete),
        session_(session),
        op_type_(op_type),
        io_(std::move(io)),
        handler_(std::move(handler)) {}

  static status Perform(reactor_op* base) {
    auto* op = static_cast<TlsOp*>(base);
    const TlsStep step = op->io_();
    switch (step.want) {
      case TlsStep::kNothing:
        op->ec_ = step.ec;
        op->bytes_transferred_ = step.bytes;
        // "Exhausted" (the next read parks at once, woken by the next
        // edge-triggered event, as ready_read.h's short recv) only when
        // neither OpenSSL nor the socket held more: OpenSSL may keep
        // decrypted bytes, or whole records it read ahead; then the next
        // operation tries at once.
        return step.drained ? done_and_exhausted : done;
      case TlsStep::kRead:
        if (op->op_type_ == detail::reactor::read_op) return not_done;
        break;
      case TlsStep::kWrite:
        if (op->op_type_ == detail::reactor::write_op) return not_done;
        break;
    }
    op->other_direction_ = true;
    return done;
  }

  // owner == nullptr: the io_context is being destroyed; the handler is
  // destroyed without being called, as Asio does.
  static void Complete(void* owner, detail::scheduler_operation* base,
                       const boost::system::error_code&, std::size_t) {
    auto* op = static_cast<TlsOp*>(base);
    TlsSession& session = op->session_;
    const int op_type = op->op_type_;
    Io io(std::move(op->io_));
    Handler handler(std::move(op->handler_));
    const boost::system::error_code ec = op->ec_;
    const size_t n = op->bytes_transferred_;
    const bool other = op->other_direction_;
    op->~TlsOp();
    detail::thread_info_base::deallocate(detail::thread_context::thread_call_stack::top(), op,
                                         sizeof(TlsOp));
    if (owner == nullptr) return;
    // As Asio's own operations do before their handlers (the control
    // loop's global step, base/asio_handler_hook.h).
    BOOST_ASIO_HANDLER_INVOCATION_BEGIN(());
    if (other && !ec) {
      const auto wait = op_type == detail::reactor::read_op ? TlsSession::Socket::wait_write
                                                            : TlsSession::Socket::wait_read;
      session.socket().async_wait(
          wait, [&session, op_type, io = std::move(io),
                 handler = std::move(handler)](boost::system::error_code wec) mutable {
            if (wec) {
              std::move(handler)(wec, size_t{0});
            } else {
              Start(session, op_type, std::move(io), std::move(handler));
            }
          });
      return;
    }
    std::move(handler)(ec, n);
  }

  TlsSession& session_;
  int op_type_;
  bool other_direction_ = false;
  Io io_;
  Handler handler_;
};

template <typename Sink>
struct SinkRead {
  TlsSession* session;
  Sink* sink;
  TlsStep operator()() {
    const std::span<char> room = sink->PrepareRead();
    if (room.empty()) return {TlsStep::kNothing, 0, boost::asio::error::no_buffer_space};
    TlsStep step = session->Read(room);
    if (step.bytes > 0) sink->CommitRead(step.bytes);
    // A sink that watches for closes the edge-triggered wait cannot report
    // (NetServer's CheckPeerClosed) learns whether this read drained both
    // OpenSSL and the socket: a short decrypt alone says nothing.
    if constexpr (requires { sink->SetReadDrained(true); }) sink->SetReadDrained(step.drained);
    return step;
  }
};

struct BufferRead {
  TlsSession* session;
  boost::asio::mutable_buffer buffer;
  TlsStep operator()() {
    if (buffer.size() == 0) return {};
    return session->Read({static_cast<char*>(buffer.data()), buffer.size()});
  }
};

struct BufferWrite {
  TlsSession* session;
  boost::asio::const_buffer buffer;
  TlsStep operator()() {
    if (buffer.size() == 0) return {};
    return session->Write({static_cast<const char*>(buffer.data()), buffer.size()});
  }
};

template <typename Io, typename Token>
auto Initiate(TlsSession& session, int op_type, Io io, Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
      [&session, op_type, io](auto handler) {
        TlsOp<Io, std::decay_t<decltype(handler)>>::Start(session, op_type, io, std::move(handler));
      },
      token);
}

}  // namespace tls_io_internal

// Decrypts what the session's socket brings into `sink` (ready_read.h's
// Sink: PrepareRead / CommitRead), once there is some. REQUIRES: the
// handshake done, `sink` alive until completion, no other read in flight.
template <typename Sink, typename Token>
auto AsyncTlsReadWhenReady(TlsSession& session, Sink& sink, Token&& token) {
  return tls_io_internal::Initiate(session, boost::asio::detail::reactor::read_op,
                                   tls_io_internal::SinkRead<Sink>{&session, &sink},
                                   std::forward<Token>(token));
}

// async_read_some into one buffer (an empty one completes with 0 bytes).
template <typename Token>
auto AsyncTlsReadSome(TlsSession& session, boost::asio::mutable_buffer buffer, Token&& token) {
  return tls_io_internal::Initiate(session, boost::asio::detail::reactor::read_op,
                                   tls_io_internal::BufferRead{&session, buffer},
                                   std::forward<Token>(token));
}

// async_write_some of one buffer (an empty one completes with 0 bytes).
template <typename Token>
auto AsyncTlsWriteSome(TlsSession& session, boost::asio::const_buffer buffer, Token&& token) {
  return tls_io_internal::Initiate(session, boost::asio::detail::reactor::write_op,
                                   tls_io_internal::BufferWrite{&session, buffer},
                                   std::forward<Token>(token));
}

}  // namespace shardnode::node
