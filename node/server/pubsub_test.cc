#include "node/server/pubsub.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

// Names longer than std::string's inline buffer: their bytes live on the
// heap, so a lookup through a view of a freed copy reads freed memory.
constexpr std::string_view kHello = "__sentinel__:hello";
constexpr std::string_view kLongPattern = "__sentinel__:*:pattern-with-a-long-name";
constexpr std::string_view kShard = "{user1000}:a-long-shard-channel-name";

struct Subscriber {
  Session session;
  std::string received;
  Subscriber() {
    session.push = [this](std::string_view bytes) { received.append(bytes); };
  }
};

// Issue 9: a closing session must leave no pointer to itself behind. The
// index lookup used to go through a view of the session's own copy of the
// name after that copy was erased, so the index kept the Session* of a
// closed connection, and a later PUBLISH called into freed memory.
TEST(PubSubTest, RemoveSessionLeavesNoSubscriptionBehind) {
  PubSub ps;
  auto a = std::make_unique<Subscriber>();
  Subscriber b;
  for (int i = 0; i < 3; ++i) {
    const std::string extra = std::string(kHello) + "-extra-" + std::to_string(i);
    ASSERT_TRUE(ps.Subscribe(a->session, extra, false));
  }
  ASSERT_TRUE(ps.Subscribe(a->session, kHello, false));
  ASSERT_TRUE(ps.PSubscribe(a->session, kLongPattern));
  ASSERT_TRUE(ps.Subscribe(a->session, kShard, true));
  ASSERT_TRUE(ps.Subscribe(b.session, kHello, false));

  ps.RemoveSession(a->session);
  EXPECT_TRUE(a->session.channels.empty());
  EXPECT_TRUE(a->session.patterns.empty());
  EXPECT_TRUE(a->session.shard_channels.empty());
  EXPECT_EQ(ps.NumSubscribers(kHello, false), 1u);
  EXPECT_EQ(ps.NumChannels(false), 1u);
  EXPECT_EQ(ps.NumPatterns(), 0u);
  EXPECT_EQ(ps.NumChannels(true), 0u);

  // The session is gone; a message reaches the remaining subscriber only.
  a.reset();
  EXPECT_EQ(ps.Publish(kHello, "m", false), 1u);
  EXPECT_EQ(b.received, "*3\r\n$7\r\nmessage\r\n$18\r\n__sentinel__:hello\r\n$1\r\nm\r\n");
  EXPECT_EQ(ps.Publish(kShard, "m", true), 0u);
}

TEST(PubSubTest, UnsubscribeByTheSessionsOwnNameLeavesNoSubscription) {
  PubSub ps;
  Subscriber a;
  ASSERT_TRUE(ps.Subscribe(a.session, kHello, false));
  ASSERT_TRUE(ps.PSubscribe(a.session, kLongPattern));
  // The name passed is the session's own copy, as RemoveSession does.
  EXPECT_TRUE(ps.Unsubscribe(a.session, *a.session.channels.begin(), false));
  EXPECT_TRUE(ps.PUnsubscribe(a.session, *a.session.patterns.begin()));
  EXPECT_EQ(ps.NumChannels(false), 0u);
  EXPECT_EQ(ps.NumPatterns(), 0u);
  EXPECT_EQ(ps.Publish(kHello, "m", false), 0u);
  EXPECT_EQ(a.received, "");
}

}  // namespace
}  // namespace shardnode::node
