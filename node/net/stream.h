// Stream: the byte stream of one connection, plain TCP or TLS over TCP, that
// every shell which moves bytes uses: client connections (NetServer), bus
// links (BusServer) and the outbound RespClient (replica link, MIGRATE).
// It is an Asio AsyncReadStream / AsyncWriteStream, so asio::async_write and
// co_await stream.async_read_some(...) work on it as on a socket.
//
// The choice between plain and TLS is one branch per read or write call
// (never per byte), and a plain stream has no OpenSSL state at all: the plain
// path costs what a bare socket costs.
//
// Lifetime: a TLS stream holds its context (shared), so a context replaced
// by CONFIG SET lives on until its last connection closes.
// Loop: the executor of its socket; not thread-safe (as a socket).
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>
// The others.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <utility>

#include "node/net/edge_read.h"

namespace shardnode::node {

class Stream {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using TlsStream = boost::asio::ssl::stream<Socket>;
  using executor_type = Socket::executor_type;

  explicit Stream(Socket socket) : tcp_(std::move(socket)) {}
  explicit Stream(const executor_type& ex) : tcp_(ex) {}

  // Wraps the (connected) socket in TLS with `ctx`. REQUIRES: no I/O yet;
  // then Handshake() before any read or write.
  void UseTls(std::shared_ptr<boost::asio::ssl::context> ctx) {
    ctx_ = std::move(ctx);
    tls_ = std::make_unique<TlsStream>(std::move(tcp_), *ctx_);
  }
  bool is_tls() const { return tls_ != nullptr; }
  // The OpenSSL stream (for SSL_set_verify and the like). REQUIRES: is_tls().
  TlsStream& tls() { return *tls_; }

  // The TLS handshake as server (accepted connections) or client. Returns
  // the error; see TlsErrorText (node/net/tls.h) for its Redis wording.
  boost::asio::awaitable<boost::system::error_code> Handshake(
      boost::asio::ssl::stream_base::handshake_type type) {
    boost::system::error_code ec;
    co_await tls_->async_handshake(type,
                                   boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    co_return ec;
  }

  // The TCP socket under the stream (addresses, options, cancel, close).
  Socket& socket() { return tls_ ? tls_->next_layer() : tcp_; }
  const Socket& socket() const { return tls_ ? tls_->next_layer() : tcp_; }
  executor_type get_executor() { return socket().get_executor(); }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return tcp_.async_read_some(buffers, std::forward<Token>(token));
  }
  // As async_read_some into one buffer, but a plain stream that a read
  // left empty is not tried again before epoll reports new bytes
  // (edge_read.h): one recv per request where async_read_some makes two.
  template <typename Token>
  auto async_read_when_ready(boost::asio::mutable_buffer buffer, Token&& token) {
    if (tls_)
      return tls_->async_read_some(boost::asio::mutable_buffers_1(buffer),
                                   std::forward<Token>(token));
    return edge_reader_.AsyncRead(tcp_, buffer, std::forward<Token>(token));
  }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return tcp_.async_write_some(buffers, std::forward<Token>(token));
  }

  // Shuts the TCP connection down both ways and closes it (no TLS
  // close_notify: as Redis, the peer sees the TCP close). Idempotent.
  void Close() {
    boost::system::error_code ignored;
    socket().shutdown(Socket::shutdown_both, ignored);
    socket().close(ignored);
  }

 private:
  Socket tcp_;  // the socket while plain; moved into tls_ by UseTls
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  std::unique_ptr<TlsStream> tls_;
  EdgeReader edge_reader_;
};

}  // namespace shardnode::node
