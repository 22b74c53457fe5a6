#include "node/server/tracking.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

struct Client {
  Session session;
  std::string received;
  Client(uint64_t id, int protocol) {
    session.id = id;
    session.protocol = protocol;
    session.push = [this](std::string_view bytes) { received.append(bytes); };
  }
};

class TrackingTest : public ::testing::Test {
 protected:
  Client& Add(uint64_t id, int protocol) {
    auto c = std::make_unique<Client>(id, protocol);
    Client& ref = *c;
    clients_[id] = &ref.session;
    owned_.push_back(std::move(c));
    return ref;
  }
  void Enable(Client& c, Tracking::Options o = {}) {
    bool enabled = false;
    ASSERT_EQ(tracking_.Enable(c.session, o, &enabled), "");
    ASSERT_TRUE(enabled);
  }
  void Read(Client& c, std::string_view key) {
    std::vector<std::string_view> keys = {key};
    tracking_.RememberKeys(c.session, keys);
  }

  std::map<uint64_t, Session*> clients_;
  std::vector<std::unique_ptr<Client>> owned_;
  Tracking tracking_{&clients_};
};

TEST_F(TrackingTest, Resp3ClientGetsOnePushPerChangedKeyThenForgetsIt) {
  Client& c = Add(1, 3);
  Enable(c);
  Read(c, "k");
  EXPECT_EQ(tracking_.total_keys(), 1u);
  tracking_.KeyModified("other");
  EXPECT_EQ(c.received, "");
  tracking_.KeyModified("k");
  EXPECT_EQ(c.received, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
  tracking_.KeyModified("k");  // no longer tracked
  EXPECT_EQ(c.received, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
  EXPECT_EQ(tracking_.total_keys(), 0u);
  EXPECT_EQ(tracking_.total_items(), 0u);
}

TEST_F(TrackingTest, Resp2RedirectGoesToTheSubscriberAsAMessage) {
  Client& target = Add(7, 2);
  target.session.channels.insert("__redis__:invalidate");
  Client& c = Add(1, 2);
  Enable(c, {.redirect = 7});
  Read(c, "k");
  tracking_.KeyModified("k");
  EXPECT_EQ(c.received, "");
  EXPECT_EQ(target.received,
            "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n");
  tracking_.Flushed();
  EXPECT_EQ(target.received.substr(target.received.size() - 5), "$-1\r\n");
}

TEST_F(TrackingTest, MissingRedirectTargetIsReportedToResp3Client) {
  Client& c = Add(1, 3);
  Enable(c, {.redirect = 99});
  Read(c, "k");
  tracking_.KeyModified("k");
  EXPECT_EQ(c.received, ">2\r\n$21\r\ntracking-redir-broken\r\n:99\r\n");
  EXPECT_TRUE(c.session.tracking.broken_redirect);
}

TEST_F(TrackingTest, CurrentClientsInvalidationWaitsForItsReply) {
  Client& c = Add(1, 3);
  Enable(c);
  Read(c, "k");
  tracking_.SetCurrent(&c.session);
  tracking_.EnterCall();
  tracking_.KeyModified("k");
  tracking_.LeaveCall();
  EXPECT_EQ(c.received, "");
  tracking_.FlushPending();
  EXPECT_EQ(c.received, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
}

TEST_F(TrackingTest, NoloopSkipsTheClientsOwnChanges) {
  Client& c = Add(1, 3);
  Enable(c, {.noloop = true});
  Read(c, "k");
  tracking_.SetCurrent(&c.session);
  tracking_.KeyModified("k");
  tracking_.SetCurrent(nullptr);
  EXPECT_EQ(c.received, "");
  EXPECT_EQ(tracking_.total_keys(), 0u);
}

TEST_F(TrackingTest, BcastGroupsKeysByPrefixAndHonoursNoloop) {
  Client& c = Add(1, 3);
  Client& other = Add(2, 3);
  Enable(c, {.bcast = true, .noloop = true, .prefixes = {"a:", "b:"}});
  EXPECT_EQ(tracking_.total_prefixes(), 2u);
  tracking_.SetModifier(2);
  tracking_.KeyModified("a:2");
  tracking_.KeyModified("a:1");
  tracking_.KeyModified("c:1");
  tracking_.SetModifier(1);
  tracking_.KeyModified("b:1");  // its own change
  tracking_.NextChangeByServer();
  tracking_.KeyModified("b:2");  // an expiry
  tracking_.BroadcastPending();
  EXPECT_EQ(c.received,
            ">2\r\n$10\r\ninvalidate\r\n*2\r\n$3\r\na:1\r\n$3\r\na:2\r\n"
            ">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nb:2\r\n");
  EXPECT_EQ(other.received, "");
}

TEST_F(TrackingTest, PrefixOverlapsAreRefusedAsRedisDoes) {
  Client& c = Add(1, 3);
  bool enabled = true;
  EXPECT_EQ(tracking_.Enable(c.session, {.bcast = true, .prefixes = {"FOOBAR", "FOO"}}, &enabled),
            "ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'. Prefixes for a "
            "single client must not overlap.");
  EXPECT_FALSE(enabled);
  Enable(c, {.bcast = true, .prefixes = {"FOO", "BAR"}});
  EXPECT_EQ(tracking_.Enable(c.session, {.bcast = true, .prefixes = {"FO"}}, &enabled),
            "ERR Prefix 'FO' overlaps with an existing prefix 'FOO'. Prefixes for a single "
            "client must not overlap.");
  tracking_.Disable(c.session);
  EXPECT_EQ(tracking_.total_prefixes(), 0u);
  EXPECT_EQ(tracking_.num_clients(), 0u);
}

TEST_F(TrackingTest, ConcernsTrackedKeysAndKeysUnderABcastPrefix) {
  EXPECT_FALSE(tracking_.in_use());
  EXPECT_FALSE(tracking_.Concerns("a"));
  Client& c = Add(1, 3);
  Enable(c);
  EXPECT_TRUE(tracking_.in_use());
  Read(c, "a");
  EXPECT_TRUE(tracking_.Concerns("a"));
  EXPECT_FALSE(tracking_.Concerns("b"));
  Client& b = Add(2, 3);
  Tracking::Options o;
  o.bcast = true;
  o.prefixes = {"user:"};
  Enable(b, o);
  EXPECT_TRUE(tracking_.Concerns("user:1"));
  EXPECT_FALSE(tracking_.Concerns("use"));
  // Once invalidated, a key is forgotten: its changes concern no one.
  tracking_.KeyModified("a");
  EXPECT_FALSE(tracking_.Concerns("a"));
  tracking_.Disable(b.session);
  EXPECT_FALSE(tracking_.Concerns("user:1"));
}

TEST_F(TrackingTest, LimitTableInvalidatesRandomKeysDownToTheLimit) {
  Client& c = Add(1, 3);
  Enable(c);
  for (int i = 0; i < 250; ++i) Read(c, "key" + std::to_string(i));
  tracking_.LimitTable(1);  // 100 at the first try
  EXPECT_EQ(tracking_.total_keys(), 150u);
  tracking_.LimitTable(1);  // then 200
  EXPECT_EQ(tracking_.total_keys(), 1u);
  EXPECT_EQ(tracking_.total_items(), 1u);
}

}  // namespace
}  // namespace shardnode::node
