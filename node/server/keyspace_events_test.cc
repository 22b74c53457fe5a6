#include "node/server/keyspace_events.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "node/keyspace/db.h"
#include "node/keyspace/notify.h"
#include "node/server/pubsub.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

// A RESP2 subscriber to every keyspace and keyevent channel.
struct Listener {
  Session session;
  std::string received;
  explicit Listener(PubSub& ps) {
    session.push = [this](std::string_view bytes) { received.append(bytes); };
    ps.PSubscribe(session, "__key*__:*");
  }
};

std::string PMessage(std::string_view channel, std::string_view payload) {
  auto bulk = [](std::string_view s) {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
  };
  return "*4\r\n" + bulk("pmessage") + bulk("__key*__:*") + bulk(channel) + bulk(payload);
}

TEST(KeyspaceEventsTest, ChannelsNameTheDatabase) {
  EXPECT_EQ(KeyspaceChannel(0, "k"), "__keyspace@0__:k");
  EXPECT_EQ(KeyeventChannel(15, "del"), "__keyevent@15__:del");
  EXPECT_EQ(KeyspaceChannel(3, std::string_view("a\0b", 3)),
            std::string("__keyspace@3__:a\0b", 18));
}

TEST(KeyspaceEventsTest, KeyspaceThenKeyeventWhenTheClassIsOn) {
  PubSub ps;
  Listener l(ps);
  const int classes = kNotifyKeyspace | kNotifyKeyevent | kNotifyGeneric;
  PublishKeyspaceEvent(ps, classes, kNotifyGeneric, "del", "k", 2);
  EXPECT_EQ(l.received, PMessage("__keyspace@2__:k", "del") + PMessage("__keyevent@2__:del", "k"));
}

TEST(KeyspaceEventsTest, NothingWithoutTheClassOrWithoutKOrE) {
  PubSub ps;
  Listener l(ps);
  // The class is off.
  PublishKeyspaceEvent(ps, kNotifyKeyspace | kNotifyKeyevent | kNotifyList, kNotifyGeneric, "del",
                       "k", 0);
  // Neither K nor E.
  PublishKeyspaceEvent(ps, kNotifyGeneric, kNotifyGeneric, "del", "k", 0);
  EXPECT_EQ(l.received, "");
  // E alone: the keyevent channel only.
  PublishKeyspaceEvent(ps, kNotifyKeyevent | kNotifyString, kNotifyString, "set", "k", 0);
  EXPECT_EQ(l.received, PMessage("__keyevent@0__:set", "k"));
}

// The events the Db raises itself: "new" on creation only, "keymiss" on a
// read that misses, "expired" when a lookup reaps a key, "evicted".
TEST(KeyspaceEventsTest, DbRaisesNewKeymissExpiredEvicted) {
  Db db;
  int classes = kNotifyNew | kNotifyKeyMiss | kNotifyExpired | kNotifyEvicted;
  std::vector<std::string> seen;
  db.notify_classes = &classes;
  db.on_event = [&](int cls, std::string_view event, std::string_view key) {
    seen.push_back(std::to_string(cls) + " " + std::string(event) + " " + std::string(key));
  };
  db.Set("a", Value::FromString("1"), kNow);
  db.Set("a", Value::FromString("2"), kNow);  // overwrite: no "new"
  EXPECT_EQ(db.FindRead("missing", kNow), nullptr);
  EXPECT_NE(db.FindRead("a", kNow), nullptr);
  db.SetExpire(db.Find("a", kNow), kNow + 10);
  EXPECT_EQ(db.Find("a", kNow + 10), nullptr);  // reaped: "expired"
  db.Set("b", Value::FromString("1"), kNow);
  EXPECT_TRUE(db.Evict("b"));
  const std::vector<std::string> want = {
      std::to_string(kNotifyNew) + " new a", std::to_string(kNotifyKeyMiss) + " keymiss missing",
      std::to_string(kNotifyExpired) + " expired a", std::to_string(kNotifyNew) + " new b",
      std::to_string(kNotifyEvicted) + " evicted b"};
  EXPECT_EQ(seen, want);

  // A class turned off at run time is not raised.
  classes = 0;
  seen.clear();
  db.Set("c", Value::FromString("1"), kNow);
  EXPECT_EQ(db.FindRead("missing", kNow), nullptr);
  EXPECT_TRUE(seen.empty());
}

}  // namespace
}  // namespace shardnode::node
