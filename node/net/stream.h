// Stream: the byte stream of one connection, plain TCP or TLS over TCP, that
// every shell which moves bytes uses: client connections (NetServer), bus
// links (BusServer) and the outbound RespClient (replica link, MIGRATE).
// It is an Asio AsyncReadStream / AsyncWriteStream, so asio::async_write and
// co_await stream.async_read_some(...) work on it as on a socket.
//
// The choice between plain and TLS is one branch per read or write call
// (never per byte), and a plain stream has no OpenSSL state at all: the plain
// path costs what a bare socket costs. TLS is OpenSSL on the socket itself
// (TlsSession, node/net/tls_io.h), as Redis runs it.
//
// Lifetime: a TLS stream holds its context (shared), so a context replaced
// by CONFIG SET lives on until its last connection closes. The TLS state is
// on the heap: a Stream may be moved between operations (not during one).
// Loop: the executor of its socket; not thread-safe (as a socket).
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>
// The others.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <memory>

#include "node/net/tls_io.h"

namespace shardnode::node {

class Stream {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using executor_type = Socket::executor_type;

  explicit Stream(Socket socket) : tcp_(std::move(socket)) {}
  explicit Stream(const executor_type& ex) : tcp_(ex) {}

  // Wraps the (connected) socket in TLS with `ctx`; the socket becomes
  // non-blocking. REQUIRES: no I/O yet; then Handshake() before any read
  // or write.
  void UseTls(std::shared_ptr<boost::asio::ssl::context> ctx) {
    tls_ = std::make_unique<TlsSession>(std::move(tcp_), std::move(ctx));
  }
  bool is_tls() const { return tls_ != nullptr; }
  // The OpenSSL session (SetVerify, direct reads and writes). REQUIRES:
  // is_tls().
  TlsSession& tls() { return *tls_; }

  // The TLS handshake as server (accepted connections) or client. Returns
  // the error; see TlsErrorText (node/net/tls.h) for its Redis wording.
  boost::asio::awaitable<boost::system::error_code> Handshake(
      boost::asio::ssl::stream_base::handshake_type type) {
    return tls_->Handshake(type);
  }

  // The TCP socket under the stream (addresses, options, cancel, close).
  Socket& socket() { return tls_ ? tls_->socket() : tcp_; }
  const Socket& socket() const { return tls_ ? tls_->socket() : tcp_; }
  executor_type get_executor() { return socket().get_executor(); }

  // Under TLS one call moves the first non-empty buffer of the sequence
  // (as Asio's ssl::stream does).
  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (tls_) {
      return AsyncTlsReadSome(*tls_, First<boost::asio::mutable_buffer>(buffers),
                              std::forward<Token>(token));
    }
    return tcp_.async_read_some(buffers, std::forward<Token>(token));
  }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (tls_) {
      return AsyncTlsWriteSome(*tls_, First<boost::asio::const_buffer>(buffers),
                               std::forward<Token>(token));
    }
    return tcp_.async_write_some(buffers, std::forward<Token>(token));
  }

  // Shuts the TCP connection down both ways and closes it, after a TLS
  // close_notify (TlsSession::SendCloseNotify, as Redis's connTLSClose).
  // Idempotent.
  void Close() {
    if (tls_) tls_->SendCloseNotify();
    boost::system::error_code ignored;
    socket().shutdown(Socket::shutdown_both, ignored);
    socket().close(ignored);
  }

 private:
  template <typename Buffer, typename Buffers>
  static Buffer First(const Buffers& buffers) {
    const auto end = boost::asio::buffer_sequence_end(buffers);
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != end; ++it) {
      const Buffer b(*it);
      if (b.size() != 0) return b;
    }
    return Buffer();
  }

  Socket tcp_;  // the socket while plain; moved into tls_ by UseTls
  std::unique_ptr<TlsSession> tls_;
};

}  // namespace shardnode::node
