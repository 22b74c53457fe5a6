#include "node/net/ready_read.h"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gtest/gtest.h"

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

// Hands out `room` bytes of its current buffer and keeps what was read.
struct Sink {
  std::vector<char> buf = std::vector<char>(64);
  size_t room = 64;
  std::string got;
  int prepares = 0;  // recvs tried
  int commits = 0;   // recvs that read something
  std::span<char> PrepareRead() {
    ++prepares;
    return {buf.data(), room};
  }
  void CommitRead(size_t n) {
    ++commits;
    got.append(buf.data(), n);
  }
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

void StartRead(tcp::socket& s, Sink& sink, std::optional<Result>& r) {
  r.reset();
  AsyncReadWhenReady(s, sink, [&r](boost::system::error_code ec, size_t n) { r = Result{ec, n}; });
}

TEST(ReadyReadTest, OneRecvPerMessageOnceTheSocketWasDrained) {
  asio::io_context io;
  Pair p(io);
  Sink sink;
  std::string sent;
  // Each read drains the socket (fewer bytes than the room), so the next
  // one is queued without a recv and woken by the next bytes: besides the
  // very first read (Asio tries a fresh socket at once), no recv finds the
  // socket empty. Asio's async_read_some would try one before every message.
  for (int round = 0; round < 50; ++round) {
    const std::string msg = "message " + std::to_string(round);
    std::optional<Result> r;
    StartRead(p.server, sink, r);
    io.restart();
    io.poll();
    ASSERT_FALSE(r.has_value()) << round;  // parked: nothing was sent yet
    asio::write(p.client, asio::buffer(msg));
    sent += msg;
    ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); })) << round;
    ASSERT_FALSE(r->ec) << r->ec.message();
    EXPECT_EQ(r->n, msg.size());
  }
  EXPECT_EQ(sink.got, sent);
  EXPECT_EQ(sink.commits, 50);
  EXPECT_LE(sink.prepares - sink.commits, 1);
}

TEST(ReadyReadTest, TheRoomIsAskedForWhenTheBytesAreRead) {
  asio::io_context io;
  Pair p(io);
  Sink sink;
  std::optional<Result> r;
  StartRead(p.server, sink, r);
  io.poll();
  // While the read waits the sink may free and replace its memory (as the
  // cron shrinks an idle client's query buffer): the read holds none of it.
  const int prepares = sink.prepares;
  sink.buf = std::vector<char>(8);
  sink.buf.shrink_to_fit();
  sink.room = 8;
  asio::write(p.client, asio::buffer(std::string("abcdefghij")));
  ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
  ASSERT_FALSE(r->ec);
  EXPECT_EQ(sink.prepares, prepares + 1);
  // A full room: the rest is read by the next read, at once.
  EXPECT_EQ(r->n, 8u);
  EXPECT_EQ(sink.got, "abcdefgh");
  StartRead(p.server, sink, r);
  ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
  EXPECT_EQ(sink.got, "abcdefghij");
}

TEST(ReadyReadTest, BytesAlreadyQueuedAreReadAtOnce) {
  asio::io_context io;
  Pair p(io);
  asio::write(p.client, asio::buffer(std::string("abc")));
  // The bytes arrived before any read was started: the first read must
  // find them (the edge-triggered event may have come and gone). A timer
  // keeps the loop in epoll_wait meanwhile, which reports the socket's
  // event with no read queued.
  asio::steady_timer timer(io, 50ms);
  bool waited = false;
  timer.async_wait([&](boost::system::error_code) { waited = true; });
  ASSERT_TRUE(RunUntil(io, [&] { return waited; }));
  Sink sink;
  std::optional<Result> r;
  StartRead(p.server, sink, r);
  ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
  EXPECT_EQ(sink.got, "abc");
}

TEST(ReadyReadTest, AFullRoomLeavesTheRestForTheNextRead) {
  asio::io_context io;
  Pair p(io);
  asio::write(p.client, asio::buffer(std::string("0123456789")));
  Sink sink;
  sink.room = 4;
  while (sink.got.size() < 10) {
    std::optional<Result> r;
    StartRead(p.server, sink, r);
    ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); })) << sink.got;
    ASSERT_FALSE(r->ec);
  }
  EXPECT_EQ(sink.got, "0123456789");
}

TEST(ReadyReadTest, PeerCloseIsEof) {
  asio::io_context io;
  Pair p(io);
  Sink sink;
  std::optional<Result> r;
  StartRead(p.server, sink, r);
  p.client.close();
  ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
  EXPECT_EQ(r->ec, asio::error::eof);
  EXPECT_EQ(sink.commits, 0);
}

TEST(ReadyReadTest, CancelAndCloseAbortAParkedRead) {
  asio::io_context io;
  Pair p(io);
  Sink sink;
  std::optional<Result> r;
  StartRead(p.server, sink, r);
  io.poll();
  p.server.cancel();
  ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
  EXPECT_EQ(r->ec, asio::error::operation_aborted);

  StartRead(p.server, sink, r);
  io.restart();
  io.poll();
  p.server.close();
  ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
  EXPECT_EQ(r->ec, asio::error::operation_aborted);
  EXPECT_EQ(sink.commits, 0);
}

TEST(ReadyReadTest, AParkedReadDiesWithItsIoContext) {
  // The handler is destroyed, not called, when the io_context goes first.
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  bool called = false;
  Sink sink;
  {
    asio::io_context io;
    auto p = std::make_unique<Pair>(io);
    AsyncReadWhenReady(
        p->server, sink,
        [&called, keep = std::move(alive)](boost::system::error_code, size_t) { called = true; });
    io.poll();
    p.reset();  // closing the socket posts the abort; the io_context never runs it
  }
  EXPECT_FALSE(called);
  EXPECT_TRUE(watch.expired());
}

TEST(ReadyReadTest, ReadsAUnixSocketCarriedByATcpSocket) {
  // NetServer serves unix clients through a tcp::socket holding the
  // unix descriptor.
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  asio::io_context io;
  tcp::socket carrier(io);
  carrier.assign(tcp::v4(), fds[0]);
  Sink sink;
  for (const std::string msg : {"one", "two", "three"}) {
    std::optional<Result> r;
    StartRead(carrier, sink, r);
    io.restart();
    io.poll();
    ASSERT_EQ(::write(fds[1], msg.data(), msg.size()), static_cast<ssize_t>(msg.size()));
    ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
    ASSERT_FALSE(r->ec);
  }
  EXPECT_EQ(sink.got, "onetwothree");
  EXPECT_LE(sink.prepares - sink.commits, 1);
  std::optional<Result> r;
  StartRead(carrier, sink, r);
  ::close(fds[1]);
  ASSERT_TRUE(RunUntil(io, [&] { return r.has_value(); }));
  EXPECT_EQ(r->ec, asio::error::eof);
}

}  // namespace
}  // namespace shardnode::node
