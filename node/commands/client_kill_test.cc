// CLIENT KILL inside MULTI/EXEC through the real Dispatcher (issue 9: the
// transaction Redis Sentinel sends when it promotes a replica). Each
// session's kill does what the net shell does (detach from the server at
// once, then close). Replies were checked against redis-server 7.0.15 (the
// same scenarios run against it in tests/e2e/test_client_kill_exec.py).
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/commands/dispatcher_fixture.h"
#include "node/resp/reply.h"
#include "node/server/pubsub.h"
#include "node/server/server.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;
constexpr std::string_view kHello = "__sentinel__:hello";

struct Client {
  Session session;
  std::string pushed;
  int killed = 0;
};

class ClientKillTest : public DispatcherFixture {
 protected:
  Client& NewClient() {
    auto c = std::make_unique<Client>();
    Client* raw = c.get();
    raw->session.id = server_->NextClientId();
    raw->session.push = [raw](std::string_view b) { raw->pushed.append(b); };
    raw->session.kill = [this, raw]() {
      server_->DetachSession(raw->session);
      ++raw->killed;
    };
    server_->clients()[raw->session.id] = &raw->session;
    clients_.push_back(std::move(c));
    return *raw;
  }

  std::string Run(Client& c, std::vector<std::string> args) {
    std::string out;
    resp::ReplyBuilder reply(&out, c.session.protocol);
    reply.on_error = [this](std::string_view m) { server_->stats().CountError(m); };
    dispatcher_->Execute(c.session, args, reply, kNow);
    return out;
  }

  // Runs each command on `c`, returning the replies concatenated.
  std::string Pipeline(Client& c, std::vector<std::vector<std::string>> commands) {
    std::string out;
    for (auto& args : commands) out += Run(c, std::move(args));
    return out;
  }

  std::vector<std::unique_ptr<Client>> clients_;
};

TEST_F(ClientKillTest, SentinelPromotionKillsOtherClientsOnceAndKeepsItsOwnConnection) {
  Client& sentinel = NewClient();
  Client& normal = NewClient();
  Client& subscriber = NewClient();
  Client& psubscriber = NewClient();
  Run(subscriber, {"subscribe", std::string(kHello)});
  Run(psubscriber, {"psubscribe", "__sentinel__:*"});
  EXPECT_EQ(Pipeline(sentinel, {{"multi"},
                                {"client", "kill", "type", "normal"},
                                {"client", "kill", "type", "pubsub"},
                                {"client", "kill", "type", "normal"},
                                {"client", "kill", "type", "pubsub"},
                                {"exec"}}),
            "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*4\r\n:1\r\n:2\r\n:0\r\n:0\r\n");
  EXPECT_FALSE(sentinel.session.close_after_reply);
  EXPECT_EQ(sentinel.killed, 0);
  EXPECT_EQ(normal.killed, 1);
  EXPECT_EQ(subscriber.killed, 1);
  EXPECT_EQ(psubscriber.killed, 1);
  // Nothing of the killed clients is left in the server.
  EXPECT_EQ(server_->clients().size(), 1u);
  EXPECT_EQ(server_->pubsub().NumSubscribers(kHello, false), 0u);
  EXPECT_EQ(server_->pubsub().NumPatterns(), 0u);
  subscriber.pushed.clear();
  psubscriber.pushed.clear();
  EXPECT_EQ(Run(sentinel, {"publish", std::string(kHello), "m"}), ":0\r\n");
  EXPECT_EQ(subscriber.pushed, "");
  EXPECT_EQ(psubscriber.pushed, "");
  EXPECT_EQ(Run(sentinel, {"client", "list"}).find("id=2 "), std::string::npos);
}

TEST_F(ClientKillTest, KillingItsOwnConnectionInsideExecEndsTheReplyThere) {
  Client& a = NewClient();
  const std::string id = std::to_string(a.session.id);
  EXPECT_EQ(Pipeline(a, {{"multi"},
                         {"set", "k", "v"},
                         {"client", "kill", "id", id, "skipme", "no"},
                         {"incr", "k"},
                         {"set", "after", "1"},
                         {"exec"}}),
            // The commands after the kill run (their replies, an error
            // included, are dropped): Redis's CLOSE_AFTER_REPLY.
            "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*4\r\n+OK\r\n:1\r\n");
  EXPECT_TRUE(a.session.close_after_reply);
  EXPECT_EQ(a.killed, 0);  // closed by the shell after the reply, not killed
  Client& b = NewClient();
  EXPECT_EQ(Run(b, {"get", "after"}), "$1\r\n1\r\n");
  EXPECT_EQ(server_->stats().total_error_replies, 1u);
}

TEST_F(ClientKillTest, KillingEveryoneInsideExecClosesTheOthersAndThisOneAfterTheReply) {
  Client& a = NewClient();
  Client& b = NewClient();
  Client& sub = NewClient();
  Run(sub, {"subscribe", "ch"});
  EXPECT_EQ(Pipeline(a, {{"multi"},
                         {"client", "kill", "type", "normal", "skipme", "no"},
                         {"client", "kill", "type", "pubsub"},
                         {"exec"}}),
            "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:2\r\n");
  EXPECT_TRUE(a.session.close_after_reply);
  EXPECT_EQ(b.killed, 1);
  EXPECT_EQ(sub.killed, 1);
  EXPECT_EQ(server_->pubsub().NumSubscribers("ch", false), 0u);
}

// The commands that pass the input fence at `threads N` > 1 (net_server.cc):
// those reporting on other clients, in any case, unless queued in MULTI.
TEST_F(ClientKillTest, OnlyCommandsReportingOnOtherClientsPassTheInputFence) {
  Client& c = NewClient();
  using Args = std::vector<std::string>;
  for (const Args& args : {Args{"INFO"}, Args{"info", "clients"}, Args{"CLIENT", "LIST"},
                           Args{"client", "kill", "id", "7"}}) {
    EXPECT_TRUE(dispatcher_->ObservesOtherClients(c.session, args)) << args[0];
  }
  for (const Args& args : {Args{"CLIENT", "INFO"}, Args{"CLIENT", "ID"}, Args{"PING"},
                           Args{"PUBLISH", "ch", "m"}, Args{"GET", "k"}, Args{"NOSUCH"}, Args{}}) {
    EXPECT_FALSE(dispatcher_->ObservesOtherClients(c.session, args));
  }
  EXPECT_EQ(Run(c, {"MULTI"}), "+OK\r\n");
  EXPECT_FALSE(dispatcher_->ObservesOtherClients(c.session, {"CLIENT", "LIST"}));
}

}  // namespace
}  // namespace shardnode::node
