// AsyncReadWhenReady: a read on a plain socket (TCP, or a unix socket
// carried by a tcp::socket) that costs one recv per request and no epoll
// re-arm, as Redis's read handler does, and asks for its buffer only at the
// moment it reads.
//
// Why not Asio's own operations: its epoll reactor registers each socket
// edge-triggered once and
// - async_read_some starts with a "speculative" recv, which it skips only
//   after a recv found the socket exhausted; Boost 1.74 counts a recv as
//   exhausting only when it returns 0 bytes, so a connection that reads,
//   replies and reads again pays a recv failing with EAGAIN before every
//   request. It also holds its buffer while it waits, so a client's idle
//   query buffer could not be freed by the cron.
// - async_wait(wait_read) then a read holds no buffer, but every wait is
//   queued with an epoll_ctl(EPOLL_CTL_MOD) re-arm: a system call per
//   request.
//
// This read is Asio's reactor operation with two differences: a recv that
// returned fewer bytes than its room counts as exhausting the socket (the
// reactor then queues the next read without trying it, and the
// edge-triggered event that new bytes raise performs it; every event sets
// "try speculatively" again, so bytes arriving in between are never
// missed; but a FIN or RST that arrived before that recv, behind the bytes
// it returned, raised the event already consumed and raises no other: the
// caller looks for it itself, net_server.cc's CheckPeerClosed); and the
// room comes from the sink when the recv happens, and the bytes are
// committed to it then, so between reads the sink may move or free its
// memory (QueryBuffer::Resize from the cron).
//
// Sink: `std::span<char> PrepareRead()` (non-empty room for the next recv)
// and `void CommitRead(size_t n)` (n > 0 bytes landed at the room's start;
// never called for a recv that read nothing or failed). Both run on the
// socket's loop, from inside the reactor, with no other handler of it in
// progress on this thread... except that a handler which runs the loop
// itself (a busy script serving events) may see them called from inside.
//
// Completion: (error_code, bytes committed); eof when the peer closed;
// operation_aborted when cancelled or closed first (nothing was read then).
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
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/thread_context.hpp>
#include <boost/asio/detail/thread_info_base.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/query.hpp>
#include <cerrno>
#include <span>
#include <type_traits>
#include <utility>

namespace shardnode::node {
namespace ready_read_internal {

static_assert(std::is_same_v<boost::asio::detail::reactor, boost::asio::detail::epoll_reactor>,
              "ready_read.h is written for Asio's epoll reactor");

// The socket's implementation (descriptor, state, reactor data) is a
// protected member of basic_socket; a derived class names it.
struct SocketAccess : boost::asio::ip::tcp::socket {
  static auto& Impl(boost::asio::ip::tcp::socket& s) {
    return (s.*(&SocketAccess::impl_)).get_implementation();
  }
};

template <typename Sink, typename Handler>
class ReadOp : public boost::asio::detail::reactor_op {
 public:
  // Ops live in the memory Asio recycles per thread for its own handlers
  // (no malloc per read once warm).
  static ReadOp* Make(int fd, Sink& sink, Handler handler) {
    void* mem = boost::asio::detail::thread_info_base::allocate(
        boost::asio::detail::thread_context::thread_call_stack::top(), sizeof(ReadOp));
    return new (mem) ReadOp(fd, sink, std::move(handler));
  }

 private:
  ReadOp(int fd, Sink& sink, Handler handler)
      : reactor_op(boost::system::error_code(), &Perform, &Complete),
        fd_(fd),
        sink_(sink),
        handler_(std::move(handler)) {}

  static status Perform(reactor_op* base) {
    auto* op = static_cast<ReadOp*>(base);
    const std::span<char> room = op->sink_.PrepareRead();
    if (room.empty()) {  // a broken sink: never a recv of 0 bytes (it reads as eof)
      op->ec_ = boost::asio::error::no_buffer_space;
      return done;
    }
    for (;;) {
      const ssize_t n = ::recv(op->fd_, room.data(), room.size(), 0);
      if (n > 0) {
        const auto got = static_cast<size_t>(n);
        op->sink_.CommitRead(got);
        op->bytes_transferred_ = got;
        // Fewer bytes than asked: the socket is empty (the difference).
        return got < room.size() ? done_and_exhausted : done;
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
    op->~ReadOp();
    boost::asio::detail::thread_info_base::deallocate(
        boost::asio::detail::thread_context::thread_call_stack::top(), op, sizeof(ReadOp));
    if (owner != nullptr) {
      // As Asio's own operations do before their handlers (the control
      // loop's global step, base/asio_handler_hook.h).
      BOOST_ASIO_HANDLER_INVOCATION_BEGIN(());
      std::move(handler)(ec, n);
    }
  }

  int fd_;
  Sink& sink_;
  Handler handler_;
};

}  // namespace ready_read_internal

// Reads what `socket` holds into `sink` once it is readable (see above).
// REQUIRES: `socket` open and plain (not under TLS), `sink` alive until
// completion (or until the io_context is destroyed), no other read in
// flight on the socket.
template <typename Sink, typename Token>
auto AsyncReadWhenReady(boost::asio::ip::tcp::socket& socket, Sink& sink, Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
      [&socket, &sink](auto handler) {
        using Op = ready_read_internal::ReadOp<Sink, std::decay_t<decltype(handler)>>;
        namespace detail = boost::asio::detail;
        auto& impl = ready_read_internal::SocketAccess::Impl(socket);
        auto& reactor = boost::asio::use_service<detail::reactor>(
            boost::asio::query(socket.get_executor(), boost::asio::execution::context));
        const bool is_continuation = boost_asio_handler_cont_helpers::is_continuation(handler);
        auto* op = Op::Make(impl.socket_, sink, std::move(handler));
        // Asio's operations set the descriptor non-blocking on their first
        // use; so does this one (once per socket).
        boost::system::error_code ec;
        if (!(impl.state_ & detail::socket_ops::internal_non_blocking) &&
            !detail::socket_ops::set_internal_non_blocking(impl.socket_, impl.state_, true, ec)) {
          op->ec_ = ec;
          reactor.post_immediate_completion(op, is_continuation);
          return;
        }
        reactor.start_op(detail::reactor::read_op, impl.socket_, impl.reactor_data_, op,
                         is_continuation, /*allow_speculative=*/true);
      },
      token);
}

}  // namespace shardnode::node
