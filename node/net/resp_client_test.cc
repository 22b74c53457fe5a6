#include "node/net/resp_client.h"

// GCC 12's false positive on coroutine frames (see resp_client.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

// A scripted server on 127.0.0.1: accepts one connection; each step reads
// exactly `expect.size()` bytes (checked) and then writes `reply`.
struct Step {
  std::string expect;
  std::string reply;
};

class FakeServer {
 public:
  explicit FakeServer(asio::io_context& io)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), socket_(io) {}

  int port() const { return acceptor_.local_endpoint().port(); }

  void Script(std::vector<Step> steps, bool close_at_end = false) {
    acceptor_.async_accept(
        socket_, [this, steps = std::move(steps), close_at_end](boost::system::error_code ec) {
          if (ec) return;
          accepted_ = true;
          RunStep(steps, 0, close_at_end);
        });
  }

  bool accepted() const { return accepted_; }
  const std::vector<std::string>& received() const { return received_; }

 private:
  void RunStep(const std::vector<Step>& steps, size_t i, bool close_at_end) {
    if (i == steps.size()) {
      if (close_at_end) socket_.close();
      return;
    }
    auto buf = std::make_shared<std::string>(steps[i].expect.size(), '\0');
    auto after_read = [this, steps, i, close_at_end, buf](boost::system::error_code ec, size_t) {
      if (ec) return;
      received_.push_back(*buf);
      asio::async_write(socket_, asio::buffer(steps[i].reply),
                        [this, steps, i, close_at_end](boost::system::error_code e, size_t) {
                          if (!e) RunStep(steps, i + 1, close_at_end);
                        });
    };
    if (buf->empty()) {
      after_read({}, 0);
    } else {
      asio::async_read(socket_, asio::buffer(*buf), after_read);
    }
  }

  tcp::acceptor acceptor_;
  tcp::socket socket_;
  bool accepted_ = false;
  std::vector<std::string> received_;
};

// Runs `body` as a coroutine on `io` until it finishes (or 5 s pass). The
// capturing lambdas are safe as coroutines here: `body` and everything they
// capture outlive the run, which this function waits for.
void RunCoroutine(asio::io_context& io, std::function<asio::awaitable<void>()> body) {
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await body();
        done = true;
      },
      asio::detached);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(10ms);
  }
  EXPECT_TRUE(done) << "the coroutine did not finish";
}

std::string Cmd(std::vector<std::string> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

TEST(RespClientTest, ConnectionRefusedIsUnavailable) {
  asio::io_context io;
  int port = 0;
  {
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }  // closed: nothing listens there now
  absl::Status status;
  auto client = RespClient::Create(io.get_executor());
  RunCoroutine(
      io, [&]() -> asio::awaitable<void> { status = co_await client->Connect("127.0.0.1", port); });
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "Connection refused");
  EXPECT_FALSE(client->is_open());
}

TEST(RespClientTest, AuthWithUserThenPipelinedRepliesInRequestOrder) {
  asio::io_context io;
  FakeServer server(io);
  const std::string pipeline =
      Cmd({"SELECT", "3"}) + Cmd({"RESTORE-ASKING", "k", "0", "xyz"}) + Cmd({"PING"});
  server.Script({
      {Cmd({"AUTH", "alice", "secret"}), "+OK\r\n"},
      // The three replies come split at odd places.
      {pipeline, "+OK\r\n-BUSYKEY Target key name already exists.\r"},
      {"", "\n+PONG\r\n"},
  });
  absl::Status auth;
  absl::StatusOr<std::vector<resp::ReplyValue>> replies;
  auto client = RespClient::Create(io.get_executor());
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    absl::Status s = co_await client->Connect("127.0.0.1", server.port());
    EXPECT_TRUE(s.ok()) << s;
    auth = co_await client->Auth("alice", "secret");
    std::vector<std::vector<std::string>> batch;
    batch.push_back({"SELECT", "3"});
    batch.push_back({"RESTORE-ASKING", "k", "0", "xyz"});
    batch.push_back({"PING"});
    replies = co_await client->Pipeline(std::move(batch));
  });
  EXPECT_TRUE(auth.ok()) << auth;
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 3u);
  EXPECT_TRUE((*replies)[0].IsOk());
  EXPECT_TRUE((*replies)[1].is_error());
  EXPECT_EQ((*replies)[1].str, "BUSYKEY Target key name already exists.");
  EXPECT_EQ((*replies)[2].str, "PONG");
  ASSERT_EQ(server.received().size(), 3u);
  EXPECT_EQ(server.received()[1], pipeline);  // all three went before any reply
  EXPECT_EQ(client->peer_addr(), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_TRUE(absl::StartsWith(client->local_addr(), "127.0.0.1:"));
}

TEST(RespClientTest, AuthErrorIsPermissionDenied) {
  asio::io_context io;
  FakeServer server(io);
  server.Script({{Cmd({"AUTH", "nope"}),
                  "-WRONGPASS invalid username-password pair or user is disabled.\r\n"}});
  absl::Status auth;
  auto client = RespClient::Create(io.get_executor());
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    (void)co_await client->Connect("127.0.0.1", server.port());
    auth = co_await client->Auth("", "nope");
  });
  EXPECT_EQ(auth.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(auth.message(), "WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_TRUE(client->is_open());  // an error reply leaves the connection usable
}

TEST(RespClientTest, ReadTimeoutIsDeadlineExceededAndCloses) {
  asio::io_context io;
  FakeServer server(io);
  server.Script({{Cmd({"PING"}), ""}});  // never answers
  absl::StatusOr<resp::ReplyValue> reply;
  RespClientOptions o;
  o.io_timeout = 50ms;
  auto client = RespClient::Create(io.get_executor(), o);
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    (void)co_await client->Connect("127.0.0.1", server.port());
    std::vector<std::string> ping = {"PING"};
    reply = co_await client->Command(std::move(ping));
  });
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(client->is_open());
}

TEST(RespClientTest, ProtocolErrorIsDataLossAndCloses) {
  asio::io_context io;
  FakeServer server(io);
  server.Script({{Cmd({"PING"}), "?what\r\n"}});
  absl::StatusOr<resp::ReplyValue> reply;
  auto client = RespClient::Create(io.get_executor());
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    (void)co_await client->Connect("127.0.0.1", server.port());
    std::vector<std::string> ping = {"PING"};
    reply = co_await client->Command(std::move(ping));
  });
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(reply.status().message(), "Protocol error: unexpected reply type byte 63");
  EXPECT_FALSE(client->is_open());
  EXPECT_EQ(client->Send({"PING"}).code(), absl::StatusCode::kDataLoss);  // stays failed
}

TEST(RespClientTest, ServerClosingIsUnavailable) {
  asio::io_context io;
  FakeServer server(io);
  server.Script({{Cmd({"PING"}), "+PO"}}, /*close_at_end=*/true);
  absl::StatusOr<resp::ReplyValue> reply;
  auto client = RespClient::Create(io.get_executor());
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    (void)co_await client->Connect("127.0.0.1", server.port());
    std::vector<std::string> ping = {"PING"};
    reply = co_await client->Command(std::move(ping));
  });
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(reply.status().message(), "Connection closed by the server");
}

TEST(RespClientTest, RawModeAfterAReplyGetsTheBytesAlreadyReceivedFirst) {
  asio::io_context io;
  FakeServer server(io);
  const std::string psync = Cmd({"PSYNC", "?", "-1"});
  // Keepalive newlines, the answer, then a payload that is not RESP, all
  // in one write; then more stream.
  server.Script({{psync, "\n\n+FULLRESYNC 0123 7\r\n$5\r\nREDIS*1\r\n"}, {"", "$4\r\nPING\r\n"}});
  absl::StatusOr<resp::ReplyValue> reply;
  absl::StatusOr<std::string> header;
  std::string payload;
  RespClientOptions o;
  o.limits.skip_empty_lines = true;
  auto client = RespClient::Create(io.get_executor(), o);
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    (void)co_await client->Connect("127.0.0.1", server.port());
    std::vector<std::string> psync_cmd = {"PSYNC", "?", "-1"};
    reply = co_await client->Command(std::move(psync_cmd));
    header = co_await client->ReadLine();
    while (payload.size() < 5 + 4 + 10) {
      absl::Status s = co_await client->ReadRaw(&payload);
      if (!s.ok()) break;
    }
  });
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->ToLine(), "+FULLRESYNC 0123 7");
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(*header, "$5");
  EXPECT_EQ(payload, "REDIS*1\r\n$4\r\nPING\r\n");
}

TEST(RespClientTest, CloseWhileReadingIsCancelled) {
  asio::io_context io;
  FakeServer server(io);
  server.Script({});
  absl::StatusOr<resp::ReplyValue> reply;
  auto client = RespClient::Create(io.get_executor());
  asio::steady_timer closer(io);
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    (void)co_await client->Connect("127.0.0.1", server.port());
    closer.expires_after(20ms);
    closer.async_wait([&](boost::system::error_code) { client->Close(); });
    reply = co_await client->ReadReply();
  });
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kCancelled);
}

TEST(RespClientTest, OutputIsBounded) {
  asio::io_context io;
  FakeServer server(io);
  server.Script({});
  RespClientOptions o;
  o.max_output_bytes = 64;
  auto client = RespClient::Create(io.get_executor(), o);
  EXPECT_EQ(client->Send({"PING"}).code(), absl::StatusCode::kFailedPrecondition);
  absl::Status big, small;
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    (void)co_await client->Connect("127.0.0.1", server.port());
    big = client->Send({"SET", "k", std::string(100, 'x')});
    small = client->Send({"PING"});
    (void)co_await client->Drain();
  });
  EXPECT_EQ(big.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(small.ok());
  EXPECT_EQ(client->pending_output(), 0u);
}

TEST(RespClientTest, PipelineLargerThanTheOutputBoundWaitsForTheQueueToDrain) {
  asio::io_context io;
  FakeServer server(io);
  std::vector<std::vector<std::string>> batch;
  std::string expect, replies;
  for (int i = 0; i < 20; ++i) {
    batch.push_back({"SET", "key" + std::to_string(i), std::string(20, 'v')});
    expect += Cmd(batch.back());
    replies += ":" + std::to_string(i) + "\r\n";
  }
  server.Script({{expect, replies}});
  RespClientOptions o;
  o.max_output_bytes = 100;  // about two commands
  auto client = RespClient::Create(io.get_executor(), o);
  absl::StatusOr<std::vector<resp::ReplyValue>> got;
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    (void)co_await client->Connect("127.0.0.1", server.port());
    got = co_await client->Pipeline(batch);
  });
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ((*got)[i].integer, i);
}

TEST(RespClientTest, ChunksAreSentInOrderBetweenOtherOutput) {
  asio::io_context io;
  FakeServer server(io);
  // A RESTORE whose payload goes as many chunks (more than one write's
  // worth of buffers, some big, some tiny) between raw sends.
  std::vector<std::string> chunks;
  std::string payload;
  for (int i = 0; i < 300; ++i) {
    chunks.push_back(std::string(i % 7 == 0 ? 100000 : 10 + i, static_cast<char>('a' + i % 26)));
    payload += chunks.back();
  }
  const std::string head =
      "*4\r\n$7\r\nRESTORE\r\n$1\r\nk\r\n$1\r\n0\r\n$" + std::to_string(payload.size()) + "\r\n";
  server.Script({{head + payload + "\r\n" + Cmd({"PING"}), "+OK\r\n+PONG\r\n"}});
  auto client = RespClient::Create(io.get_executor());
  absl::Status sent;
  std::vector<std::string> replies;
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    (void)co_await client->Connect("127.0.0.1", server.port());
    EXPECT_TRUE(client->SendRaw(std::string_view(head)).ok());
    sent = client->SendChunks(std::move(chunks));
    EXPECT_TRUE(client->SendRaw(std::string("\r\n")).ok());
    EXPECT_TRUE(client->Send({"PING"}).ok());
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<resp::ReplyValue> r = co_await client->ReadReply();
      if (r.ok()) replies.push_back(r->ToLine());
    }
  });
  EXPECT_TRUE(sent.ok()) << sent;
  EXPECT_EQ(replies, (std::vector<std::string>{"+OK", "+PONG"}));
  EXPECT_EQ(client->pending_output(), 0u);
}

TEST(RespClientTest, DrainToAPeerThatDoesNotReadTimesOut) {
  asio::io_context io;
  FakeServer server(io);
  server.Script({{std::string(1, '*'), ""}});  // reads one byte, then nothing
  RespClientOptions o;
  o.io_timeout = 200ms;
  auto client = RespClient::Create(io.get_executor(), o);
  absl::Status drained;
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    (void)co_await client->Connect("127.0.0.1", server.port());
    // More than the loopback socket buffers hold.
    const std::string value(8 * 1024 * 1024, 'x');
    for (int i = 0; i < 6; ++i) EXPECT_TRUE(client->Send({"SET", "k", value}).ok());
    drained = co_await client->Drain();
  });
  EXPECT_EQ(drained.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(client->is_open());
}

}  // namespace
}  // namespace shardnode::node
