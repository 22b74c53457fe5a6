#include "node/net/tls_io.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/net/stream.h"
#include "node/net/tls.h"

namespace shardnode::node {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using namespace std::chrono_literals;

// A throwaway self-signed EC P-256 certificate and its key, made once.
struct Identity {
  Identity() {
    key = EVP_EC_gen("P-256");
    cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
  }
  ~Identity() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  EVP_PKEY* key;
  X509* cert;
};

const Identity& TestIdentity() {
  static const Identity* id = new Identity();
  return *id;
}

// As TlsContexts builds them: partial writes, moving write buffers; the
// peer's certificate is trusted when it is the test's own.
std::shared_ptr<ssl::context> Context(bool with_cert) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls);
  SSL_CTX* h = ctx->native_handle();
  SSL_CTX_set_mode(h, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (with_cert) {
    SSL_CTX_use_certificate(h, TestIdentity().cert);
    SSL_CTX_use_PrivateKey(h, TestIdentity().key);
  }
  X509_STORE_add_cert(SSL_CTX_get_cert_store(h), TestIdentity().cert);
  SSL_CTX_set_verify(h, SSL_VERIFY_NONE, nullptr);
  return ctx;
}

// Runs `io` until `done` holds or 10 s pass.
template <typename Pred>
bool RunUntil(asio::io_context& io, Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(10ms);
  }
  return done();
}

struct Result {
  boost::system::error_code ec;
  size_t n = 0;
};

class TlsIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // OpenSSL writes to the descriptor itself: a closed peer must not kill
    // the test (the node ignores SIGPIPE as Redis does).
    std::signal(SIGPIPE, SIG_IGN);
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client_socket(io_);
    client_socket.connect(acceptor.local_endpoint());
    tcp::socket server_socket(io_);
    acceptor.accept(server_socket);
    // As the node's sockets: small records go out at once.
    client_socket.set_option(tcp::no_delay(true));
    server_socket.set_option(tcp::no_delay(true));
    server_ = std::make_unique<Stream>(std::move(server_socket));
    client_ = std::make_unique<Stream>(std::move(client_socket));
  }

  // Both handshakes, concurrently; their errors.
  std::pair<boost::system::error_code, boost::system::error_code> Handshake(
      bool client_cert = true, int server_verify = SSL_VERIFY_NONE) {
    server_->UseTls(Context(true));
    server_->tls().SetVerify(server_verify);
    client_->UseTls(Context(client_cert));
    std::optional<boost::system::error_code> s, c;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          s = co_await server_->Handshake(ssl::stream_base::server);
        },
        asio::detached);
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          c = co_await client_->Handshake(ssl::stream_base::client);
        },
        asio::detached);
    EXPECT_TRUE(RunUntil(io_, [&] { return s && c; }));
    return {s.value_or(asio::error::timed_out), c.value_or(asio::error::timed_out)};
  }

  // Reads from `stream` until `want` bytes came or it failed.
  std::string ReadAll(Stream& stream, size_t want) {
    std::string got;
    std::vector<char> buf(4096);
    boost::system::error_code ec;
    bool reading = false;
    std::function<void()> next = [&]() {
      reading = true;
      stream.async_read_some(asio::buffer(buf), [&](boost::system::error_code e, size_t n) {
        reading = false;
        got.append(buf.data(), n);
        ec = e;
        if (!e && got.size() < want) next();
      });
    };
    next();
    EXPECT_TRUE(RunUntil(io_, [&] { return !reading; }));
    EXPECT_FALSE(ec) << ec.message();
    return got;
  }

  asio::io_context io_;
  std::unique_ptr<Stream> server_;
  std::unique_ptr<Stream> client_;
};

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

TEST_F(TlsIoTest, BulkBothWaysThroughAsyncWriteAndReadSome) {
  auto [s, c] = Handshake();
  ASSERT_FALSE(s) << TlsErrorText(s);
  ASSERT_FALSE(c) << TlsErrorText(c);
  // Far more than the socket buffers hold: the writer waits for the
  // socket (OpenSSL wants to write) while the reader drains it.
  for (auto [from, to] :
       {std::pair{client_.get(), server_.get()}, {server_.get(), client_.get()}}) {
    const std::string data = Pattern(8 << 20);
    std::optional<Result> w;
    asio::async_write(*from, asio::buffer(data), [&](boost::system::error_code ec, size_t n) {
      w = Result{ec, n};
    });
    EXPECT_FALSE(w.has_value());  // never completed inside the call
    EXPECT_EQ(ReadAll(*to, data.size()), data);
    ASSERT_TRUE(RunUntil(io_, [&] { return w.has_value(); }));
    EXPECT_FALSE(w->ec);
    EXPECT_EQ(w->n, data.size());
  }
}

// Hands out `room` bytes at a time and keeps what was read.
struct Sink {
  std::vector<char> buf = std::vector<char>(1 << 16);
  size_t room = 7;
  std::string got;
  std::span<char> PrepareRead() { return {buf.data(), room}; }
  void CommitRead(size_t n) { got.append(buf.data(), n); }
};

TEST_F(TlsIoTest, DecryptedBytesOpenSslStillHoldsAreReadWithoutNewBytes) {
  ASSERT_FALSE(Handshake().first);
  // One record, read 7 bytes at a time: after the first read the rest is
  // in OpenSSL, not in the socket, and no event will come for it.
  const std::string msg = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n*1\r\n$4\r\nPING\r\n";
  std::optional<Result> w;
  asio::async_write(*client_, asio::buffer(msg), [&](boost::system::error_code ec, size_t n) {
    w = Result{ec, n};
  });
  ASSERT_TRUE(RunUntil(io_, [&] { return w.has_value(); }));
  Sink sink;
  while (sink.got.size() < msg.size()) {
    std::optional<Result> r;
    AsyncTlsReadWhenReady(server_->tls(), sink, [&](boost::system::error_code ec, size_t n) {
      r = Result{ec, n};
    });
    EXPECT_FALSE(r.has_value());  // never completed inside the call
    ASSERT_TRUE(RunUntil(io_, [&] { return r.has_value(); })) << sink.got;
    ASSERT_FALSE(r->ec) << r->ec.message();
    EXPECT_LE(r->n, sink.room);
  }
  EXPECT_EQ(sink.got, msg);
}

TEST_F(TlsIoTest, RecordsOpenSslReadAheadAreReadWithoutNewBytes) {
  ASSERT_FALSE(Handshake().first);
  // Three records in the socket; one SSL_read returns one record's bytes
  // (fewer than the room) while OpenSSL has read the others ahead: the
  // reads that follow must find them, with no event to come.
  const std::vector<std::string> msgs = {"first record", "second", "third and last"};
  std::string all;
  for (const std::string& m : msgs) {
    std::optional<Result> w;
    asio::async_write(*client_, asio::buffer(m), [&](boost::system::error_code ec, size_t n) {
      w = Result{ec, n};
    });
    ASSERT_TRUE(RunUntil(io_, [&] { return w.has_value(); }));
    all += m;
  }
  Sink sink;
  sink.room = 1024;
  while (sink.got.size() < all.size()) {
    std::optional<Result> r;
    AsyncTlsReadWhenReady(server_->tls(), sink, [&](boost::system::error_code ec, size_t n) {
      r = Result{ec, n};
    });
    ASSERT_TRUE(RunUntil(io_, [&] { return r.has_value(); })) << sink.got;
    ASSERT_FALSE(r->ec) << r->ec.message();
  }
  EXPECT_EQ(sink.got, all);
}

TEST_F(TlsIoTest, AReadSaysWhenItEmptiedOpenSslAndTheSocket) {
  ASSERT_FALSE(Handshake().first);
  std::vector<char> room(1024);
  auto send = [&](const std::string& m) {
    std::optional<Result> w;
    asio::async_write(*client_, asio::buffer(m), [&](boost::system::error_code ec, size_t n) {
      w = Result{ec, n};
    });
    ASSERT_TRUE(RunUntil(io_, [&] { return w.has_value(); }));
  };
  // The first read's recv returns once bytes came.
  auto first_read = [&]() {
    TlsStep step;
    bool read = false;
    EXPECT_TRUE(RunUntil(io_, [&] {
      if (!read) {
        step = server_->tls().Read(room);
        read = step.want == TlsStep::kNothing;
      }
      return read;
    }));
    return step;
  };
  // One record: its recv got fewer bytes than asked and OpenSSL keeps
  // none: drained (the next read may park until an event).
  send("alone");
  TlsStep step = first_read();
  EXPECT_EQ(std::string(room.data(), step.bytes), "alone");
  EXPECT_TRUE(step.drained);
  // Two records that one recv took: one read decrypts both (as a plain
  // recv takes every byte that came), and that short recv emptied the
  // socket: drained.
  send("one");
  send("two");
  step = first_read();
  EXPECT_EQ(std::string(room.data(), step.bytes), "onetwo");
  EXPECT_TRUE(step.drained);
  EXPECT_EQ(server_->tls().Read(room).want, TlsStep::kRead);
  // The room ends inside the second record: the read stops there, the
  // rest stays in OpenSSL (not drained) for the next read.
  send("one");
  send("two");
  room.resize(5);
  step = first_read();
  EXPECT_EQ(std::string(room.data(), step.bytes), "onetw");
  EXPECT_FALSE(step.drained);
  step = server_->tls().Read(room);
  EXPECT_EQ(std::string(room.data(), step.bytes), "o");
  EXPECT_FALSE(step.drained);  // no recv in this read: it cannot tell
  EXPECT_EQ(server_->tls().Read(room).want, TlsStep::kRead);
  room.resize(64);
  // A room smaller than the record: bytes left in OpenSSL, not drained.
  send("0123456789");
  room.resize(4);
  step = first_read();
  EXPECT_EQ(std::string(room.data(), step.bytes), "0123");
  EXPECT_FALSE(step.drained);
}

TEST_F(TlsIoTest, AReadParksUntilBytesComeAndIsCancelled) {
  ASSERT_FALSE(Handshake().first);
  Sink sink;
  sink.room = 1024;
  for (int round = 0; round < 20; ++round) {
    std::optional<Result> r;
    AsyncTlsReadWhenReady(server_->tls(), sink, [&](boost::system::error_code ec, size_t n) {
      r = Result{ec, n};
    });
    io_.restart();
    io_.poll();
    ASSERT_FALSE(r.has_value());  // nothing sent yet
    const std::string msg = "round " + std::to_string(round);
    asio::async_write(*client_, asio::buffer(msg), [](boost::system::error_code, size_t) {});
    ASSERT_TRUE(RunUntil(io_, [&] { return r.has_value(); }));
    ASSERT_FALSE(r->ec);
    EXPECT_EQ(r->n, msg.size());
  }
  std::optional<Result> r;
  AsyncTlsReadWhenReady(server_->tls(), sink, [&](boost::system::error_code ec, size_t n) {
    r = Result{ec, n};
  });
  io_.restart();
  io_.poll();
  server_->socket().cancel();
  ASSERT_TRUE(RunUntil(io_, [&] { return r.has_value(); }));
  EXPECT_EQ(r->ec, asio::error::operation_aborted);
}

TEST_F(TlsIoTest, AWriteOpenSslCouldNotFinishIsRetriedFromAMovedBuffer) {
  ASSERT_FALSE(Handshake().first);
  // As NetServer's WriteNow: SSL_write at once until the socket is full,
  // then the unsent rest, moved to another buffer, through async_write.
  const std::string data = Pattern(16 << 20);
  size_t sent = 0;
  bool wanted_write = false;
  while (sent < data.size()) {
    const TlsStep step =
        server_->tls().Write(std::span<const char>(data.data() + sent, data.size() - sent));
    if (step.bytes == 0) {
      ASSERT_FALSE(step.ec) << step.ec.message();
      wanted_write = step.want == TlsStep::kWrite;
      break;
    }
    sent += step.bytes;
  }
  ASSERT_TRUE(wanted_write) << "the socket took " << sent << " bytes";
  auto rest = std::make_unique<std::string>(data.substr(sent));
  std::optional<Result> w;
  asio::async_write(*server_, asio::buffer(*rest), [&](boost::system::error_code ec, size_t n) {
    w = Result{ec, n};
  });
  EXPECT_EQ(ReadAll(*client_, data.size()), data);
  ASSERT_TRUE(RunUntil(io_, [&] { return w.has_value(); }));
  EXPECT_FALSE(w->ec) << TlsErrorText(w->ec);
  EXPECT_EQ(w->n, rest->size());
}

TEST_F(TlsIoTest, PlainTextToATlsServerFailsTheHandshakeAsRedisWordsIt) {
  server_->UseTls(Context(true));
  std::optional<boost::system::error_code> s;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> { s = co_await server_->Handshake(ssl::stream_base::server); },
      asio::detached);
  asio::write(client_->socket(), asio::buffer(std::string("PING\r\nPING\r\nPING\r\n")));
  ASSERT_TRUE(RunUntil(io_, [&] { return s.has_value(); }));
  ASSERT_TRUE(*s);
  EXPECT_EQ(s->category(), asio::error::get_ssl_category());
  EXPECT_NE(TlsErrorText(*s).find("SSL routines::"), std::string::npos) << TlsErrorText(*s);
}

TEST_F(TlsIoTest, AClientWithoutTheRequiredCertificateIsRefused) {
  auto [s, c] = Handshake(/*client_cert=*/false, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  ASSERT_TRUE(s);
  EXPECT_NE(TlsErrorText(s).find("peer did not return a certificate"), std::string::npos)
      << TlsErrorText(s);
}

TEST_F(TlsIoTest, ACertificateSignedByTheTrustedCaIsAccepted) {
  auto [s, c] = Handshake(/*client_cert=*/true, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  EXPECT_FALSE(s) << TlsErrorText(s);
  EXPECT_FALSE(c) << TlsErrorText(c);
}

TEST_F(TlsIoTest, PeerCloseEndsARead) {
  ASSERT_FALSE(Handshake().first);
  Sink sink;
  std::optional<Result> r;
  AsyncTlsReadWhenReady(server_->tls(), sink, [&](boost::system::error_code ec, size_t n) {
    r = Result{ec, n};
  });
  io_.restart();
  io_.poll();
  client_->Close();  // no close_notify, as Redis and the node close
  ASSERT_TRUE(RunUntil(io_, [&] { return r.has_value(); }));
  ASSERT_TRUE(r->ec);
  EXPECT_EQ(r->n, 0u);
  EXPECT_TRUE(r->ec == asio::error::eof ||
              TlsErrorText(r->ec).find("unexpected eof") != std::string::npos)
      << TlsErrorText(r->ec);
}

TEST_F(TlsIoTest, APlainStreamHasNoTlsState) {
  EXPECT_FALSE(server_->is_tls());
  const std::string msg = "plain";
  asio::write(client_->socket(), asio::buffer(msg));
  EXPECT_EQ(ReadAll(*server_, msg.size()), msg);
}

}  // namespace
}  // namespace shardnode::node
