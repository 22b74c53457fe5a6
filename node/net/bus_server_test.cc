#include "node/net/bus_server.h"

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "clusterbus/cluster_state.h"
#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using clusterbus::ClusterState;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

clusterbus::ClusterOptions Options() {
  clusterbus::ClusterOptions o;
  o.node_timeout_ms = 1000;
  return o;
}

// One in-process node: a ClusterState and its bus shell on 127.0.0.1,
// wired as node/app/data_node.cc wires them (cron: engine tick, state tick, actions,
// effects).
struct TestNode {
  TestNode(asio::io_context& io, char id_char, int client_port)
      : state(std::string(40, id_char), Options()) {
    BusServer::Hooks hooks;
    hooks.cron = [this](int64_t now) {
      bus->engine().Tick(now);
      state.Tick(now);
      ApplyEffects(now);
    };
    hooks.after_batch = [this](int64_t now) { ApplyEffects(now); };
    bus = std::make_unique<BusServer>(io, state, std::move(hooks), /*seed=*/id_char);
    EXPECT_TRUE(bus->Listen({"127.0.0.1"}, 0, 16).ok());
    state.myself().port = client_port;
    state.myself().cport = bus->bound_port();
    bus->StartCron();
  }

  // The node's handler of the Ready, reduced to the links: the state's
  // effects have nothing to act on here.
  void ApplyEffects(int64_t now) {
    for (;;) {
      clusterbus::Ready ready = bus->engine().TakeReady(now);
      if (ready.empty()) return;
      for (clusterbus::ReadyItem& item : ready.items) {
        std::visit(clusterbus::Overloaded{
                       [&](const clusterbus::ConnectAction& a) { bus->Connect(a, now); },
                       [&](const clusterbus::SendAction& a) { bus->Send(a); },
                       [&](const clusterbus::CloseAction& a) { bus->Close(a.link); },
                       [&](const clusterbus::DeliverAction&) {},
                       [&](const clusterbus::LogLine&) {},
                       [&](const clusterbus::SaveConfig&) {},
                       [&](const clusterbus::FlushData&) {},
                       [&](const clusterbus::DeleteKeysInSlots&) {},
                       [&](const clusterbus::UnsubscribeShardSlots&) {},
                       [&](const clusterbus::PauseWrites&) {},
                       [&](const clusterbus::StopReplication&) {},
                       [&](const clusterbus::ReplicatePrimary&) {},
                       [&](const clusterbus::ClusterStateChanged&) {},
                   },
                   item);
      }
    }
  }

  // Knows `other` by its real id, handshake done.
  bool Knows(const TestNode& other) {
    const clusterbus::ClusterNode* n = state.FindNode(other.state.myself().id);
    return n && !(n->flags & clusterbus::kFlagHandshake) && state.num_nodes() == 2;
  }

  ClusterState state;
  std::unique_ptr<BusServer> bus;
};

// Runs the loop until `done` or 5 s have passed.
bool RunUntil(asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  return true;
}

TEST(BusServerTest, TwoNodesCompleteTheMeetHandshakeOverLoopback) {
  asio::io_context io;
  TestNode a(io, 'a', 7001);
  TestNode b(io, 'b', 7002);
  ASSERT_TRUE(a.bus->engine().Meet("127.0.0.1", 7002, b.bus->bound_port(), NowMs()).ok());
  a.ApplyEffects(NowMs());
  ASSERT_TRUE(RunUntil(io, [&] { return a.Knows(b) && b.Knows(a); }));
  // Both directions: each node has its outbound link and the peer's inbound.
  ASSERT_TRUE(RunUntil(io, [&] { return a.bus->num_links() == 2 && b.bus->num_links() == 2; }));
  EXPECT_EQ(a.state.FindNode(b.state.myself().id)->cport, b.bus->bound_port());
  EXPECT_EQ(b.state.FindNode(a.state.myself().id)->ip, "127.0.0.1");
  // The engine counts what went over the shell's sockets.
  EXPECT_GT(a.state.messages_sent()[2], 0u);      // MEET
  EXPECT_GT(b.state.messages_received()[2], 0u);  // MEET
  EXPECT_GT(a.state.messages_received()[1], 0u);  // PONG

  std::vector<BusLinkInfo> links = a.bus->Links();
  ASSERT_EQ(links.size(), 2u);
  for (const BusLinkInfo& l : links) {
    EXPECT_EQ(l.node_id, b.state.myself().id);
    EXPECT_GT(l.create_ms, 0);
    EXPECT_FALSE(l.events.empty());
  }
  EXPECT_NE(links[0].outbound, links[1].outbound);
}

TEST(BusServerTest, PeerGoingAwayIsReportedAndNoticedByTheEngine) {
  asio::io_context io;
  TestNode a(io, 'a', 7001);
  auto b = std::make_unique<TestNode>(io, 'b', 7002);
  ASSERT_TRUE(a.bus->engine().Meet("127.0.0.1", 7002, b->bus->bound_port(), NowMs()).ok());
  a.ApplyEffects(NowMs());
  ASSERT_TRUE(RunUntil(io, [&] { return a.Knows(*b) && b->Knows(a); }));
  const std::string b_id = b->state.myself().id;
  b->bus->Stop();
  b.reset();
  // Both links of A fail (reads see EOF, reconnects are refused) and the
  // engine, told about it, ends up marking B PFAIL after the node timeout.
  ASSERT_TRUE(RunUntil(io, [&] { return a.bus->num_links() == 0; }));
  ASSERT_TRUE(RunUntil(io, [&] {
    const clusterbus::ClusterNode* n = a.state.FindNode(b_id);
    return n && (n->flags & (clusterbus::kFlagPfail | clusterbus::kFlagFail));
  }));
}

TEST(BusServerTest, BadFrameClosesTheLinkAndAnInvalidMessageDoesNot) {
  asio::io_context io;
  TestNode a(io, 'a', 7001);
  const tcp::endpoint bus(asio::ip::make_address("127.0.0.1"),
                          static_cast<unsigned short>(a.bus->bound_port()));

  tcp::socket bad(io);
  bad.connect(bus);
  ASSERT_TRUE(RunUntil(io, [&] { return a.bus->num_links() == 1; }));
  asio::write(bad, asio::buffer(std::string("XXXX\0\0\x08\xd0", 8)));
  ASSERT_TRUE(RunUntil(io, [&] { return a.bus->num_links() == 0; }));
  char c;
  boost::system::error_code ec;
  bad.read_some(asio::buffer(&c, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);

  // Framed, version 2: dropped and counted, the link stays open. Sent in
  // two pieces to exercise reassembly.
  tcp::socket odd(io);
  odd.connect(bus);
  std::string msg(2256, '\0');
  msg.replace(0, 4, "RCmb");
  msg[6] = 0x08;  // totlen 2256 = 0x08d0
  msg[7] = static_cast<char>(0xd0);
  msg[9] = 2;  // version 2
  asio::write(odd, asio::buffer(msg.data(), 1000));
  ASSERT_TRUE(RunUntil(io, [&] { return a.bus->num_links() == 1; }));
  asio::write(odd, asio::buffer(msg.data() + 1000, msg.size() - 1000));
  ASSERT_TRUE(RunUntil(io, [&] { return a.state.messages_received()[0] == 1; }));
  EXPECT_EQ(a.bus->num_links(), 1u);
}

// A message the engine queues (a PONG after CLUSTER SETSLOT NODE, from a
// command) leaves within the turn of the loop that queued it: no other
// event (a read, a timer) is needed. Here the loop runs only the handlers
// already ready (poll) and never waits.
TEST(BusServerTest, SendIsWrittenWithoutWaitingForAnotherEvent) {
  asio::io_context io;
  TestNode a(io, 'a', 7001);
  const tcp::endpoint bus(asio::ip::make_address("127.0.0.1"),
                          static_cast<unsigned short>(a.bus->bound_port()));
  tcp::socket peer(io);
  peer.connect(bus);
  ASSERT_TRUE(RunUntil(io, [&] { return a.bus->num_links() == 1; }));
  // Let the link's reader start and the loop go idle.
  io.restart();
  io.run_for(std::chrono::milliseconds(20));
  ASSERT_EQ(a.bus->num_links(), 1u);
  // The only link made so far is the first one.
  const clusterbus::LinkId link = 1;
  a.bus->Send({.link = link, .bytes = "first"});
  a.bus->Send({.link = link, .bytes = "-second"});
  io.restart();
  io.poll();

  std::string all;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (all.size() < 12 && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{.fd = peer.native_handle(), .events = POLLIN, .revents = 0};
    if (::poll(&pfd, 1, 100) != 1) {
      io.restart();
      io.poll();  // a write completion, never a wait
      continue;
    }
    std::string more(64, '\0');
    more.resize(peer.read_some(asio::buffer(more)));
    all += more;
  }
  EXPECT_EQ(all, "first-second");
}

TEST(BusServerTest, ListenFailsOnAPortInUse) {
  asio::io_context io;
  TestNode a(io, 'a', 7001);
  ClusterState other(std::string(40, 'c'), Options());
  BusServer second(io, other, {}, 1);
  absl::Status st = second.Listen({"127.0.0.1"}, a.bus->bound_port(), 16);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("127.0.0.1:" + std::to_string(a.bus->bound_port())),
            std::string::npos);
  // An optional address that fails is skipped, leaving nothing to listen on.
  EXPECT_FALSE(second.Listen({"-127.0.0.1"}, a.bus->bound_port(), 16).ok());
}

}  // namespace
}  // namespace shardnode::node
