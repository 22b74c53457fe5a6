#include "node/net/tls_io.h"

#include <openssl/err.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <climits>
#include <utility>

namespace shardnode::node {
namespace asio = boost::asio;

TlsSession::TlsSession(Socket socket, std::shared_ptr<asio::ssl::context> ctx)
    : socket_(std::move(socket)), ctx_(std::move(ctx)) {
  boost::system::error_code ignored;
  // OpenSSL reads and writes the descriptor itself: it must never block.
  socket_.non_blocking(true, ignored);
  ssl_ = SSL_new(ctx_->native_handle());
  if (ssl_ == nullptr) return;
  // Two socket BIOs on the one descriptor (SSL_set_fd would share one):
  // the read side's callback below then stays out of every write and
  // control call of the write side (one record written per reply batch).
  BIO* rbio = BIO_new_socket(socket_.native_handle(), BIO_NOCLOSE);
  BIO* wbio = rbio != nullptr ? BIO_new_socket(socket_.native_handle(), BIO_NOCLOSE) : nullptr;
  if (wbio == nullptr) {
    if (rbio != nullptr) BIO_free(rbio);
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  SSL_set_bio(ssl_, rbio, wbio);
  // Records that are not application data (a session ticket, a key
  // update) are consumed inside SSL_read: it wants to read only when the
  // socket has nothing more, which is when a read may park.
  SSL_set_mode(ssl_, SSL_MODE_AUTO_RETRY);
  // One recv takes whatever the socket holds (several records of a
  // pipeline), not a record header and then its body: half the reads.
  SSL_set_read_ahead(ssl_, 1);
  // Whether a read emptied the socket (TlsStep::drained). The session
  // never moves (Stream holds it on the heap), so the BIO may point at it.
  BIO* bio = SSL_get_rbio(ssl_);
  BIO_set_callback_arg(bio, reinterpret_cast<char*>(this));
  BIO_set_callback_ex(bio, &TlsSession::OnBio);
}

TlsSession::~TlsSession() {
  if (ssl_ == nullptr) return;
  SendCloseNotify();
  SSL_free(ssl_);
}

void TlsSession::SendCloseNotify() {
  if (ssl_ == nullptr || !established_ || failed_) return;
  established_ = false;  // the connection is no longer up: once
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

void TlsSession::SetVerify(int mode) {
  if (ssl_ != nullptr) SSL_set_verify(ssl_, mode, nullptr);
}

asio::awaitable<boost::system::error_code> TlsSession::Handshake(
    asio::ssl::stream_base::handshake_type type) {
  if (ssl_ == nullptr) {
    co_return boost::system::error_code(ENOMEM, asio::error::get_system_category());
  }
  if (type == asio::ssl::stream_base::client) {
    SSL_set_connect_state(ssl_);
  } else {
    SSL_set_accept_state(ssl_);
  }
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_do_handshake(ssl_);
    const int saved_errno = errno;
    if (ret == 1) {
      established_ = true;
      co_return boost::system::error_code();
    }
    const TlsStep step = Outcome(ret, saved_errno);
    if (step.want == TlsStep::kNothing) co_return step.ec;
    boost::system::error_code ec;
    co_await socket_.async_wait(
        step.want == TlsStep::kRead ? Socket::wait_read : Socket::wait_write,
        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ec;
  }
}

TlsStep TlsSession::Read(std::span<char> room) {
  if (ssl_ == nullptr) return {TlsStep::kNothing, 0, asio::error::bad_descriptor};
  recv_short_ = false;
  size_t total = 0;
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_read(ssl_, room.data() + total,
                             static_cast<int>(std::min<size_t>(room.size() - total, INT_MAX)));
    const int saved_errno = errno;
    if (ret <= 0) {
      if (total == 0) return Outcome(ret, saved_errno);
      break;  // what came stands; the next read meets the same state again
    }
    total += static_cast<size_t>(ret);
    // SSL_read returns one record. The records OpenSSL already holds (read
    // ahead by the last recv) are decrypted now, into what is left of the
    // room, as a plain recv takes every byte that arrived: a client that
    // sends a record per command (Redis's Tcl client, many others) gets
    // the commands that came together run together and their replies in
    // one record, not a record each (a million 30-byte records filled a
    // client's receive buffer that was not being read, and the two
    // sockets stalled each other).
    if (total == room.size() || SSL_has_pending(ssl_) == 0) break;
  }
  return {TlsStep::kNothing, total, {}, recv_short_ && SSL_has_pending(ssl_) == 0};
}

long TlsSession::OnBio(BIO* bio, int oper, const char*, size_t len, int, long, int ret,
                       size_t* processed) {
  if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
    auto* self = reinterpret_cast<TlsSession*>(BIO_get_callback_arg(bio));
    // A failed recv (EAGAIN, eof) ends the SSL_read with no bytes: only a
    // short successful one matters.
    self->recv_short_ = ret > 0 && processed != nullptr && *processed < len;
  }
  return ret;
}

TlsStep TlsSession::Write(std::span<const char> bytes) {
  if (ssl_ == nullptr) return {TlsStep::kNothing, 0, asio::error::bad_descriptor};
  ERR_clear_error();
  errno = 0;
  const int ret =
      SSL_write(ssl_, bytes.data(), static_cast<int>(std::min<size_t>(bytes.size(), INT_MAX)));
  const int saved_errno = errno;
  if (ret > 0) return {TlsStep::kNothing, static_cast<size_t>(ret), {}};
  return Outcome(ret, saved_errno);
}

TlsStep TlsSession::Outcome(int ret, int saved_errno) {
  TlsStep step;
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      step.want = TlsStep::kRead;
      return step;
    case SSL_ERROR_WANT_WRITE:
      step.want = TlsStep::kWrite;
      return step;
    case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
      failed_ = true;
      step.ec = asio::error::eof;
      return step;
    default:
      break;
  }
  failed_ = true;
  // SSL_ERROR_SSL, or SSL_ERROR_SYSCALL: OpenSSL's own error when it
  // queued one (as Asio's ssl category carried it), else the system's,
  // else the peer closed the connection.
  if (const unsigned long err = ERR_get_error(); err != 0) {
    step.ec = boost::system::error_code(static_cast<int>(err), asio::error::get_ssl_category());
  } else if (saved_errno != 0 && saved_errno != EAGAIN && saved_errno != EWOULDBLOCK) {
    step.ec = boost::system::error_code(saved_errno, asio::error::get_system_category());
  } else {
    step.ec = asio::error::eof;
  }
  return step;
}

}  // namespace shardnode::node
