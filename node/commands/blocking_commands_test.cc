// Blocking commands through the real Dispatcher against an in-process
// Server: two or more sessions, one blocks, another writes; the woken
// client's reply arrives through Session::push. Replies were checked against
// redis-server 7.0.15.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/commands/blocked_serve.h"
#include "node/commands/command_table.h"
#include "node/commands/dispatcher.h"
#include "node/commands/dispatcher_fixture.h"
#include "node/config/config.h"
#include "node/resp/reply.h"
#include "node/server/blocking.h"
#include "node/server/server.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

// A session whose pushed bytes and resumptions are recorded.
struct Client {
  Session session;
  std::string pushed;
  int resumed = 0;
};

class BlockingCommandsTest : public DispatcherFixture {
 protected:
  void SetUp() override {
    DispatcherFixture::SetUp();
    RecordPropagation();
  }

  Client& NewClient() {
    auto c = std::make_unique<Client>();
    Client* raw = c.get();
    raw->session.id = server_->NextClientId();
    raw->session.push = [raw](std::string_view b) { raw->pushed.append(b); };
    raw->session.resume = [raw]() { ++raw->resumed; };
    server_->clients()[raw->session.id] = &raw->session;
    clients_.push_back(std::move(c));
    return *raw;
  }

  std::string Run(Client& c, std::vector<std::string> args, int64_t now = kNow) {
    std::string out;
    resp::ReplyBuilder reply(&out, c.session.protocol);
    dispatcher_->Execute(c.session, args, reply, now);
    return out;
  }

  std::vector<std::unique_ptr<Client>> clients_;
};

TEST_F(BlockingCommandsTest, PushServesTheBlockedClient) {
  Client& a = NewClient();
  Client& b = NewClient();
  EXPECT_EQ(Run(a, {"blpop", "k1", "k2", "0"}), "");
  EXPECT_TRUE(a.session.blocked());
  EXPECT_EQ(a.session.FlagsText(), "b");
  EXPECT_EQ(Run(b, {"rpush", "k2", "x", "y"}), ":2\r\n");
  EXPECT_EQ(a.pushed, "*2\r\n$2\r\nk2\r\n$1\r\nx\r\n");
  EXPECT_FALSE(a.session.blocked());
  EXPECT_EQ(a.resumed, 1);
  EXPECT_EQ(Run(b, {"lrange", "k2", "0", "-1"}), "*1\r\n$1\r\ny\r\n");
  EXPECT_EQ(propagated_, (std::vector<std::string>{"0 rpush k2 x y", "0 LPOP k2"}));
}

TEST_F(BlockingCommandsTest, ServedAtOnceWhenDataIsThereAndPropagatedAsPop) {
  Client& a = NewClient();
  Run(a, {"rpush", "k", "a", "b"});
  EXPECT_EQ(Run(a, {"brpop", "none", "k", "0"}), "*2\r\n$1\r\nk\r\n$1\r\nb\r\n");
  EXPECT_EQ(Run(a, {"blmpop", "0", "2", "none", "k", "left", "count", "5"}),
            "*2\r\n$1\r\nk\r\n*1\r\n$1\r\na\r\n");
  EXPECT_EQ(propagated_, (std::vector<std::string>{"0 rpush k a b", "0 RPOP k", "0 LPOP k 1"}));
  EXPECT_EQ(Run(a, {"exists", "k"}), ":0\r\n");
}

TEST_F(BlockingCommandsTest, MpopIsPropagatedAsPopWithCount) {
  Client& a = NewClient();
  Run(a, {"rpush", "l", "1", "2", "3"});
  Run(a, {"zadd", "z", "1", "a", "2", "b"});
  propagated_.clear();
  EXPECT_EQ(Run(a, {"lmpop", "2", "x", "l", "right", "count", "2"}),
            "*2\r\n$1\r\nl\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n");
  EXPECT_EQ(Run(a, {"zmpop", "1", "z", "max", "count", "5"}),
            "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
  EXPECT_EQ(propagated_, (std::vector<std::string>{"0 RPOP l 2", "0 ZPOPMAX z 2"}));
}

TEST_F(BlockingCommandsTest, ClientsAreServedFirstBlockedFirst) {
  Client& a = NewClient();
  Client& b = NewClient();
  Client& c = NewClient();
  Client& w = NewClient();
  Run(b, {"blpop", "k", "0"});
  Run(a, {"blpop", "k", "0"});
  Run(c, {"blpop", "k", "0"});
  EXPECT_EQ(Run(w, {"rpush", "k", "1", "2"}), ":2\r\n");
  EXPECT_EQ(b.pushed, "*2\r\n$1\r\nk\r\n$1\r\n1\r\n");
  EXPECT_EQ(a.pushed, "*2\r\n$1\r\nk\r\n$1\r\n2\r\n");
  EXPECT_EQ(c.pushed, "");
  EXPECT_TRUE(c.session.blocked());
  EXPECT_EQ(Run(w, {"exists", "k"}), ":0\r\n");
}

TEST_F(BlockingCommandsTest, WrongTypeNowOrLater) {
  Client& a = NewClient();
  Client& w = NewClient();
  Run(w, {"set", "s", "v"});
  EXPECT_EQ(Run(a, {"blpop", "s", "0"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(Run(a, {"blpop", "k", "0"}), "");
  Run(w, {"zadd", "k", "1", "m"});  // another type does not wake the client
  EXPECT_TRUE(a.session.blocked());
  EXPECT_EQ(a.pushed, "");
  Run(w, {"del", "k"});
  Run(w, {"lpush", "k", "v"});
  EXPECT_EQ(a.pushed, "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
}

TEST_F(BlockingCommandsTest, InsideMultiTheCommandDoesNotBlock) {
  Client& a = NewClient();
  Run(a, {"multi"});
  EXPECT_EQ(Run(a, {"blpop", "k", "0"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(a, {"bzpopmin", "k", "0"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(a, {"blmove", "k", "d", "left", "right", "0"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(a, {"exec"}), "*3\r\n*-1\r\n*-1\r\n$-1\r\n");
  EXPECT_FALSE(a.session.blocked());
  EXPECT_FALSE(a.session.deny_blocking);
}

TEST_F(BlockingCommandsTest, PushesInsideExecServeAfterTheTransaction) {
  Client& a = NewClient();
  Client& w = NewClient();
  Run(a, {"blpop", "a", "b", "0"});
  Run(w, {"multi"});
  Run(w, {"rpush", "b", "1"});
  Run(w, {"rpush", "a", "2"});
  EXPECT_EQ(a.pushed, "");
  EXPECT_EQ(Run(w, {"exec"}), "*2\r\n:1\r\n:1\r\n");
  // The key signaled first serves, as Redis's ready list does.
  EXPECT_EQ(a.pushed, "*2\r\n$1\r\nb\r\n$1\r\n1\r\n");
}

TEST_F(BlockingCommandsTest, BlmoveChainWakesTheNextClient) {
  Client& a = NewClient();
  Client& b = NewClient();
  Client& w = NewClient();
  Run(a, {"blmove", "src", "mid", "left", "right", "0"});
  Run(b, {"brpoplpush", "mid", "dst", "0"});
  EXPECT_EQ(Run(w, {"lpush", "src", "x"}), ":1\r\n");
  EXPECT_EQ(a.pushed, "$1\r\nx\r\n");
  EXPECT_EQ(b.pushed, "$1\r\nx\r\n");
  EXPECT_EQ(Run(w, {"lrange", "dst", "0", "-1"}), "*1\r\n$1\r\nx\r\n");
  EXPECT_EQ(Run(w, {"exists", "src", "mid"}), ":0\r\n");
  EXPECT_EQ(propagated_, (std::vector<std::string>{"0 lpush src x", "0 LMOVE src mid left right",
                                                   "0 RPOPLPUSH mid dst"}));
}

TEST_F(BlockingCommandsTest, BlmoveToWrongTypeRepliesError) {
  Client& a = NewClient();
  Client& w = NewClient();
  Run(w, {"set", "dst", "v"});
  Run(a, {"blmove", "src", "dst", "left", "right", "0"});
  Run(w, {"rpush", "src", "x"});
  EXPECT_EQ(a.pushed, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_FALSE(a.session.blocked());
  EXPECT_EQ(Run(w, {"llen", "src"}), ":1\r\n");
}

TEST_F(BlockingCommandsTest, SortedSetPops) {
  Client& a = NewClient();
  Client& b = NewClient();
  Client& w = NewClient();
  Run(a, {"bzpopmin", "z", "0"});
  Run(b, {"bzmpop", "0", "1", "z", "max", "count", "2"});
  Run(w, {"zadd", "z", "1", "a", "2", "b", "3", "c"});
  EXPECT_EQ(a.pushed, "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n");
  EXPECT_EQ(b.pushed,
            "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
  EXPECT_EQ(propagated_.back(), "0 ZPOPMAX z 2");
  b.session.protocol = 3;
  b.pushed.clear();
  Run(b, {"bzpopmax", "z", "0"});
  Run(w, {"zadd", "z", "1.5", "m"});
  EXPECT_EQ(b.pushed, "*3\r\n$1\r\nz\r\n$1\r\nm\r\n,1.5\r\n");
}

TEST_F(BlockingCommandsTest, TimeoutRepliesNullArray) {
  Client& a = NewClient();
  Client& w = NewClient();
  EXPECT_EQ(Run(a, {"blpop", "k", "0.5"}), "");
  EXPECT_EQ(server_->blocking().with_timeout(), 1u);
  HandleBlockedTimeouts(*server_, kNow + 500);  // not yet passed
  EXPECT_TRUE(a.session.blocked());
  HandleBlockedTimeouts(*server_, kNow + 501);
  EXPECT_EQ(a.pushed, "*-1\r\n");
  EXPECT_FALSE(a.session.blocked());
  a.session.protocol = 3;
  Run(a, {"bzpopmin", "k", "1"});
  HandleBlockedTimeouts(*server_, kNow + 2000);
  EXPECT_EQ(a.pushed, "*-1\r\n_\r\n");
  EXPECT_EQ(Run(w, {"blpop", "k", "-1"}), "-ERR timeout is negative\r\n");
  EXPECT_EQ(Run(w, {"blpop", "k", "x"}), "-ERR timeout is not a float or out of range\r\n");
}

TEST_F(BlockingCommandsTest, ClientUnblock) {
  Client& a = NewClient();
  Client& w = NewClient();
  const std::string id = std::to_string(a.session.id);
  EXPECT_EQ(Run(w, {"client", "unblock", id}), ":0\r\n");
  Run(a, {"blpop", "k", "0"});
  EXPECT_EQ(Run(w, {"client", "unblock", id, "timeout"}), ":1\r\n");
  EXPECT_EQ(a.pushed, "*-1\r\n");
  Run(a, {"brpop", "k", "0"});
  EXPECT_EQ(Run(w, {"client", "unblock", id, "error"}), ":1\r\n");
  EXPECT_EQ(a.pushed, "*-1\r\n-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
  EXPECT_EQ(Run(w, {"client", "unblock", id, "foo"}),
            "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n");
}

// node/server decides why a wait ends; the blocking pops word each outcome
// with Redis 7.0.15's text (errors.h), in the client's protocol.
TEST_F(BlockingCommandsTest, UnblockOutcomesAreWordedByTheCommand) {
  auto word = [](const UnblockOutcome& outcome, int protocol = 2) {
    std::string out;
    resp::ReplyBuilder reply(&out, protocol);
    ReplyUnblockedPop(reply, outcome);
    return out;
  };
  EXPECT_EQ(word(unblock::TimedOut{}), "*-1\r\n");
  EXPECT_EQ(word(unblock::TimedOut{}, 3), "_\r\n");
  EXPECT_EQ(word(unblock::ByClientUnblock{}), "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
  EXPECT_EQ(word(unblock::RoleChanged{}),
            "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> "
            "replica?)\r\n");
  EXPECT_EQ(word(unblock::ClusterDown{}), "-CLUSTERDOWN The cluster is down\r\n");
  EXPECT_EQ(word(unblock::SlotUnbound{}), "-CLUSTERDOWN Hash slot not served\r\n");
  EXPECT_EQ(word(unblock::Moved{12182, "127.0.0.1", 7003}), "-MOVED 12182 127.0.0.1:7003\r\n");
}

TEST_F(BlockingCommandsTest, RoleChangeUnblocksWithErrorAndCloses) {
  Client& a = NewClient();
  Client& b = NewClient();
  Run(a, {"blpop", "k", "0"});
  Run(b, {"bzpopmin", "z", "0"});
  DisconnectAllBlockedClients(*server_);
  const std::string error =
      "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> "
      "replica?)\r\n";
  EXPECT_EQ(a.pushed, error);
  EXPECT_EQ(b.pushed, error);
  EXPECT_TRUE(a.session.close_after_reply && b.session.close_after_reply);
  EXPECT_FALSE(a.session.blocked() || b.session.blocked());
  EXPECT_EQ(server_->stats().error_codes.at("UNBLOCKED"), 2u);
}

TEST_F(BlockingCommandsTest, FlushAndDeleteDoNotWake) {
  Client& a = NewClient();
  Client& w = NewClient();
  Run(a, {"blpop", "k", "0"});
  Run(w, {"del", "k"});
  Run(w, {"flushall"});
  EXPECT_TRUE(a.session.blocked());
  EXPECT_EQ(server_->blocking().size(), 1u);
  server_->blocking().Unblock(a.session);  // what the net shell does on disconnect
  Run(w, {"rpush", "k", "v"});
  EXPECT_EQ(a.pushed, "");
  EXPECT_EQ(Run(w, {"llen", "k"}), ":1\r\n");
}

TEST_F(BlockingCommandsTest, OtherDatabasesAreSeparate) {
  Client& a = NewClient();
  Client& w = NewClient();
  Run(a, {"select", "1"});
  Run(a, {"blpop", "k", "0"});
  Run(w, {"rpush", "k", "db0"});
  EXPECT_EQ(a.pushed, "");
  Run(w, {"select", "1"});
  Run(w, {"rpush", "k", "db1"});
  EXPECT_EQ(a.pushed, "*2\r\n$1\r\nk\r\n$3\r\ndb1\r\n");
}

}  // namespace
}  // namespace shardnode::node
