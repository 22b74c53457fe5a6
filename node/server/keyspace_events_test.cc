#include "node/server/keyspace_events.h"

#include <atomic>
#include <string>
#include <string_view>
#include <thread>
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

// Shard threads queue their events; the control loop publishes them in the
// order they were queued, whichever thread queued them.
TEST(KeyspaceEventQueueTest, PublishesInQueueOrderAndWakesOncePerBatch) {
  PubSub ps;
  Listener l(ps);
  KeyspaceEventQueue queue;
  int wakes = 0;
  queue.set_wake([&wakes] { ++wakes; });
  const int classes = kNotifyKeyspace | kNotifyString;
  queue.Push(classes, kNotifyGeneric, "del", "off", 0);  // class off: not queued
  EXPECT_EQ(wakes, 0);
  queue.Push(classes, kNotifyString, "set", "a", 0);
  queue.Push(classes, kNotifyString, "set", "b", 1);
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(l.received, "");
  queue.PublishAll(ps);
  EXPECT_EQ(l.received, PMessage("__keyspace@0__:a", "set") + PMessage("__keyspace@1__:b", "set"));
  queue.PublishAll(ps);  // nothing more
  queue.Push(classes, kNotifyString, "set", "c", 0);
  EXPECT_EQ(wakes, 2);
}

TEST(KeyspaceEventQueueTest, EventsOfSeveralThreadsKeepEachThreadsOrder) {
  PubSub ps;
  KeyspaceEventQueue queue;
  std::atomic<int> wakes{0};
  queue.set_wake([&wakes] { wakes.fetch_add(1); });
  const int classes = kNotifyKeyevent | kNotifyString;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&queue, t, classes] {
      for (int i = 0; i < 200; ++i) {
        queue.Push(classes, kNotifyString, "set", std::to_string(t) + ":" + std::to_string(i), 0);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_GE(wakes.load(), 1);
  std::vector<std::string> keys;  // each message's payload (its last bulk)
  Session session;
  session.push = [&keys](std::string_view bytes) {
    bytes.remove_suffix(2);
    keys.emplace_back(bytes.substr(bytes.rfind("\r\n") + 2));
  };
  ps.Subscribe(session, "__keyevent@0__:set", false);
  keys.clear();  // the subscription's confirmation
  queue.PublishAll(ps);
  ASSERT_EQ(keys.size(), 800u);
  std::vector<int> next(4, 0);
  for (const std::string& key : keys) {
    const int t = key[0] - '0';
    ASSERT_TRUE(t >= 0 && t < 4) << key;
    EXPECT_EQ(key, std::to_string(t) + ":" + std::to_string(next[t]));
    ++next[t];
  }
}

}  // namespace
}  // namespace shardnode::node
