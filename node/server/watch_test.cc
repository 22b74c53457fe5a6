#include "node/server/watch.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

bool Dirty(const Session& s) { return s.watch_dirty.get(); }

// Each key is listed in its own shard's table only: a change reported to
// another table (another keyspace shard's hook) touches nobody.
TEST(WatchIndexTest, KeysAreListedInTheirShardsTableOnly) {
  WatchIndex index(4);
  Session s;
  index.Watch(s, 2, 0, "k", true);
  index.Watch(s, 2, 0, "k", true);  // watched once
  index.Watch(s, 0, 0, "j", false);
  ASSERT_EQ(s.watched.size(), 2u);
  EXPECT_EQ(index.table(2).KeysOf(0), std::vector<std::string>{"k"});
  EXPECT_EQ(index.table(0).KeysOf(0), std::vector<std::string>{"j"});
  EXPECT_TRUE(index.table(1).empty());
  EXPECT_TRUE(index.table(3).empty());
  index.table(1).Touch(0, "k");
  index.table(2).Touch(1, "k");  // another database
  EXPECT_FALSE(Dirty(s));
  index.table(2).Touch(0, "k");
  EXPECT_TRUE(Dirty(s));
}

TEST(WatchIndexTest, UnwatchForgetsEveryTableAndTheDirtyFlag) {
  WatchIndex index(4);
  Session s, other;
  index.Watch(s, 1, 0, "a", true);
  index.Watch(s, 3, 0, "b", true);
  index.Watch(other, 3, 0, "b", true);
  index.table(1).Touch(0, "a");
  ASSERT_TRUE(Dirty(s));
  index.Unwatch(s);
  EXPECT_FALSE(Dirty(s));
  EXPECT_TRUE(s.watched.empty());
  EXPECT_TRUE(index.table(1).empty());
  EXPECT_EQ(index.table(3).KeysOf(0), std::vector<std::string>{"b"});  // still `other`'s
  index.table(3).Touch(0, "b");
  EXPECT_FALSE(Dirty(s));
  EXPECT_TRUE(Dirty(other));
}

// A flush of one shard's database touches the watchers of the keys of that
// table that were live at WATCH, in that database.
TEST(WatchIndexTest, FlushTouchesTheKeysThatExisted) {
  WatchIndex index(2);
  Session live, absent, other_db, other_shard;
  index.Watch(live, 0, 0, "x", true);
  index.Watch(absent, 0, 0, "y", false);
  index.Watch(other_db, 0, 1, "x", true);
  index.Watch(other_shard, 1, 0, "z", true);
  index.table(0).TouchFlushed(0);
  EXPECT_TRUE(Dirty(live));
  EXPECT_FALSE(Dirty(absent));
  EXPECT_FALSE(Dirty(other_db));
  EXPECT_FALSE(Dirty(other_shard));
}

}  // namespace
}  // namespace shardnode::node
