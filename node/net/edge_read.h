// EdgeReader::AsyncRead: a read on a plain TCP socket that costs one recv per
// request, as Redis's read handler does, where Asio's async_read_some costs
// two at one command per round trip.
//
// Why: Asio's epoll reactor registers each socket edge-triggered once and
// starts every read with a "speculative" recv, which it skips only after a
// recv found the socket exhausted. Boost 1.74 counts a recv as exhausting
// only when it returns 0 bytes, so a connection that reads, replies and
// reads again pays a recv that fails with EAGAIN before every request (about
// 0.35 us on a loopback socket, a few percent of a SET at -P 1).
//
// This read is Asio's own reactor operation with one difference: a recv
// that returned fewer bytes than the buffer holds counts as exhausting the
// socket. The reactor then queues the next read without trying it; the
// edge-triggered event that new bytes raise performs it (every event sets
// "try speculatively" again, so bytes that arrive in between are never
// missed). Cancel and close complete it with operation_aborted, as they do
// every reactor operation.
//
// It reaches into Asio's detail namespace (reactor_op, the socket's
// per-descriptor data), which Boost 1.74 fixes; the static_assert below
// names the reactor it was written for.
//
// Loop: the socket's io_context thread only (as any operation on it).
#pragma once

#include <sys/socket.h>

// Asio's detail headers need the public ones (the scheduler) first.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
// The others.
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/query.hpp>
#include <cerrno>
#include <type_traits>
#include <utility>

namespace shardnode::node {
namespace edge_read_internal {

static_assert(std::is_same_v<boost::asio::detail::reactor, boost::asio::detail::epoll_reactor>,
              "edge_read.h is written for Asio's epoll reactor");

// The socket's implementation (descriptor, state, reactor data) is a
// protected member of basic_socket; a derived class names it.
struct SocketAccess : boost::asio::ip::tcp::socket {
  static auto& Impl(boost::asio::ip::tcp::socket& s) {
    return (s.*(&SocketAccess::impl_)).get_implementation();
  }
};

template <typename Handler>
class ReadOp : public boost::asio::detail::reactor_op {
 public:
  ReadOp(int fd, boost::asio::mutable_buffer buffer, Handler handler)
      : reactor_op(boost::system::error_code(), &Perform, &Complete),
        fd_(fd),
        buffer_(buffer),
        handler_(std::move(handler)) {}

 private:
  static status Perform(reactor_op* base) {
    auto* op = static_cast<ReadOp*>(base);
    for (;;) {
      const ssize_t n = ::recv(op->fd_, op->buffer_.data(), op->buffer_.size(), 0);
      if (n > 0) {
        op->bytes_transferred_ = static_cast<size_t>(n);
        // Fewer bytes than asked: the socket is empty (the difference).
        return static_cast<size_t>(n) < op->buffer_.size() ? done_and_exhausted : done;
      }
      if (n == 0) {
        op->ec_ = boost::asio::error::eof;
        return done;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;
      op->ec_ = boost::system::error_code(errno, boost::asio::error::get_system_category());
      return done;
    }
  }

  // owner == nullptr: the io_context is being destroyed; the handler is
  // destroyed without being called, as Asio does.
  static void Complete(void* owner, boost::asio::detail::scheduler_operation* base,
                       const boost::system::error_code&, std::size_t) {
    auto* op = static_cast<ReadOp*>(base);
    Handler handler(std::move(op->handler_));
    const boost::system::error_code ec = op->ec_;
    const size_t n = op->bytes_transferred_;
    delete op;
    if (owner != nullptr) std::move(handler)(ec, n);
  }

  int fd_;
  boost::asio::mutable_buffer buffer_;
  Handler handler_;
};

}  // namespace edge_read_internal

// Reads on plain sockets. It looks the io_context's reactor up on its first
// read (Asio's service lookup takes a lock) and keeps it while its socket
// stays on that io_context. Lifetime: within its sockets' io_context.
class EdgeReader {
 public:
  // Reads some bytes of `socket` into `buffer` (completion: error_code,
  // bytes; eof when the peer closed). REQUIRES: `socket` open and plain
  // (not under TLS); `buffer` non-empty and alive until completion; no
  // other read in flight on it.
  template <typename Token>
  auto AsyncRead(boost::asio::ip::tcp::socket& socket, boost::asio::mutable_buffer buffer,
                 Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this, &socket, buffer](auto handler) {
          using Op = edge_read_internal::ReadOp<std::decay_t<decltype(handler)>>;
          auto& impl = edge_read_internal::SocketAccess::Impl(socket);
          boost::asio::execution_context& context =
              boost::asio::query(socket.get_executor(), boost::asio::execution::context);
          if (context_ != &context) {
            reactor_ = &boost::asio::use_service<boost::asio::detail::reactor>(context);
            context_ = &context;
          }
          auto* op = new Op(impl.socket_, buffer, std::move(handler));
          // The descriptor is non-blocking for Asio's own operations alone
          // (a synchronous write on it still blocks).
          boost::system::error_code ec;
          if (!(impl.state_ & boost::asio::detail::socket_ops::internal_non_blocking) &&
              !boost::asio::detail::socket_ops::set_internal_non_blocking(impl.socket_, impl.state_,
                                                                          true, ec)) {
            op->ec_ = ec;
            reactor_->post_immediate_completion(op, false);
            return;
          }
          reactor_->start_op(boost::asio::detail::reactor::read_op, impl.socket_,
                             impl.reactor_data_, op, /*is_continuation=*/false,
                             /*allow_speculative=*/true);
        },
        token);
  }

 private:
  boost::asio::execution_context* context_ = nullptr;  // whose reactor reactor_ is
  boost::asio::detail::reactor* reactor_ = nullptr;
};

}  // namespace shardnode::node
