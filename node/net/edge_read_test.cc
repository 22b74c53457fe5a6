#include "node/net/edge_read.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace shardnode::node {
// The recv calls of this test binary (Asio's and ours), counted by the
// recv defined below.
std::atomic<int> recv_calls{0};
}  // namespace shardnode::node

// Every recv of the binary lands here (the executable's definition comes
// first) and goes to the kernel unchanged.
extern "C" ssize_t recv(int fd, void* buf, size_t len, int flags) {
  ++shardnode::node::recv_calls;
  return syscall(SYS_recvfrom, fd, buf, len, flags, nullptr, nullptr);
}

namespace shardnode::node {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

// A connected pair of loopback sockets on one io_context.
struct Pair {
  explicit Pair(asio::io_context& io) : server(io), client(io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
  }
  tcp::socket server;
  tcp::socket client;
};

struct Result {
  boost::system::error_code ec;
  size_t n = 0;
};

// Runs `io` until `done` holds or 5 s pass.
template <typename Pred>
bool RunUntil(asio::io_context& io, Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(10ms);
  }
  return done();
}

TEST(EdgeReadTest, ReadsBytesThatArriveAfterTheSocketWasDrained) {
  asio::io_context io;
  Pair p(io);
  EdgeReader reader;
  char buf[64];
  std::string got;
  // Each read drains the socket (fewer bytes than the buffer), so the next
  // one is queued without a recv and must be woken by the next bytes.
  for (int round = 0; round < 50; ++round) {
    const std::string msg = "message " + std::to_string(round);
    std::optional<Result> r;
    reader.AsyncRead(p.server, asio::buffer(buf), [&](boost::system::error_code ec, size_t n) {
      r = Result{ec, n};
    });
    // The read is parked: nothing was sent yet.
    io.restart();
    io.poll();
    ASSERT_FALSE(r.has_value()) << round;
    asio::write(p.client, asio::buffer(msg));
    ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); })) << round;
    ASSERT_FALSE(r->ec) << r->ec.message();
    got.assign(buf, r->n);
    EXPECT_EQ(got, msg);
  }
}

// Reads `msg` sent after the read was started, with `start(buffer, handler)`
// starting the read; returns the recv calls that the next read made before
// any new byte arrived.
template <typename Start>
int RecvsOfAParkedRead(Start start) {
  asio::io_context io;
  Pair p(io);
  char buf[64];
  std::optional<Result> r;
  auto handler = [&](boost::system::error_code ec, size_t n) { r = Result{ec, n}; };
  // Bytes that arrive while a read waits: the epoll event performs it.
  start(p.server, asio::buffer(buf), handler);
  io.poll();
  asio::write(p.client, asio::buffer(std::string("first")));
  EXPECT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
  EXPECT_EQ(std::string(buf, r->n), "first");
  // The socket is empty now: the next read.
  r.reset();
  const int before = recv_calls;
  start(p.server, asio::buffer(buf), handler);
  io.restart();
  io.poll();
  const int parked = recv_calls - before;
  EXPECT_FALSE(r.has_value());
  asio::write(p.client, asio::buffer(std::string("second")));
  EXPECT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
  EXPECT_EQ(std::string(buf, r->n), "second");
  return parked;
}

TEST(EdgeReadTest, ADrainedSocketIsNotTriedBeforeNewBytes) {
  EdgeReader reader;
  const int recvs = RecvsOfAParkedRead([&](tcp::socket& s, asio::mutable_buffer b, auto h) {
    reader.AsyncRead(s, b, std::move(h));
  });
  EXPECT_EQ(recvs, 0);
}

// What edge_read.h saves: Asio's own read tries the empty socket first (a
// recv that fails with EAGAIN). Should a Boost release stop doing that,
// this fails and EdgeReader can go.
TEST(EdgeReadTest, AsioAloneTriesADrainedSocketFirst) {
  const int recvs = RecvsOfAParkedRead(
      [](tcp::socket& s, asio::mutable_buffer b, auto h) { s.async_read_some(b, std::move(h)); });
  EXPECT_EQ(recvs, 1);
}

TEST(EdgeReadTest, BytesAlreadyQueuedAreReadAtOnce) {
  asio::io_context io;
  Pair p(io);
  EdgeReader reader;
  asio::write(p.client, asio::buffer(std::string("abc")));
  char buf[64];
  std::optional<Result> r;
  // The bytes arrived before any read was started: the first read must
  // find them (the edge-triggered event may have come and gone).
  // A timer keeps the loop in epoll_wait meanwhile, which reports the
  // socket's event with no read queued.
  asio::steady_timer timer(io, 50ms);
  bool waited = false;
  timer.async_wait([&](boost::system::error_code) { waited = true; });
  ASSERT_TRUE(RunUntil(io, [&] { return waited; }));
  reader.AsyncRead(p.server, asio::buffer(buf), [&](boost::system::error_code ec, size_t n) {
    r = Result{ec, n};
  });
  ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
  EXPECT_EQ(std::string(buf, r->n), "abc");
}

TEST(EdgeReadTest, AFullBufferLeavesTheRestForTheNextRead) {
  asio::io_context io;
  Pair p(io);
  EdgeReader reader;
  asio::write(p.client, asio::buffer(std::string("0123456789")));
  char buf[4];
  std::string got;
  while (got.size() < 10) {
    std::optional<Result> r;
    reader.AsyncRead(p.server, asio::buffer(buf), [&](boost::system::error_code ec, size_t n) {
      r = Result{ec, n};
    });
    ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); })) << got;
    ASSERT_FALSE(r->ec);
    got.append(buf, r->n);
  }
  EXPECT_EQ(got, "0123456789");
}

TEST(EdgeReadTest, PeerCloseIsEof) {
  asio::io_context io;
  Pair p(io);
  EdgeReader reader;
  char buf[16];
  std::optional<Result> r;
  reader.AsyncRead(p.server, asio::buffer(buf), [&](boost::system::error_code ec, size_t n) {
    r = Result{ec, n};
  });
  p.client.close();
  ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
  EXPECT_EQ(r->ec, asio::error::eof);
}

TEST(EdgeReadTest, CancelAndCloseAbortAParkedRead) {
  asio::io_context io;
  Pair p(io);
  EdgeReader reader;
  char buf[16];
  std::optional<Result> r;
  reader.AsyncRead(p.server, asio::buffer(buf), [&](boost::system::error_code ec, size_t n) {
    r = Result{ec, n};
  });
  io.poll();
  p.server.cancel();
  ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
  EXPECT_EQ(r->ec, asio::error::operation_aborted);

  r.reset();
  reader.AsyncRead(p.server, asio::buffer(buf), [&](boost::system::error_code ec, size_t n) {
    r = Result{ec, n};
  });
  io.restart();
  io.poll();
  p.server.close();
  ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
  EXPECT_EQ(r->ec, asio::error::operation_aborted);
}

TEST(EdgeReadTest, AParkedReadDiesWithItsIoContext) {
  // The handler is destroyed, not called, when the io_context goes first.
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  bool called = false;
  {
    asio::io_context io;
    auto p = std::make_unique<Pair>(io);
    EdgeReader reader;
    static char buf[16];
    reader.AsyncRead(
        p->server, asio::buffer(buf),
        [&called, keep = std::move(alive)](boost::system::error_code, size_t) { called = true; });
    io.poll();
    p.reset();  // closing the socket posts the abort; the io_context never runs it
  }
  EXPECT_FALSE(called);
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace shardnode::node
