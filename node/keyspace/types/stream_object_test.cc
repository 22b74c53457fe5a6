#include "node/keyspace/types/stream_object.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

std::vector<StreamId> Ids(const StreamObject& s, bool rev = false) {
  std::vector<StreamId> out;
  s.Range(StreamId{}, StreamId::Max(), rev, [&](const StreamId& id, const StreamFields&) {
    out.push_back(id);
    return true;
  });
  return out;
}

StreamObject Filled(int n, StreamObject::Limits limits = {}) {
  StreamObject s;
  for (int i = 1; i <= n; ++i) {
    s.Append(StreamId{static_cast<uint64_t>(i), 0}, StreamFields{"f", std::to_string(i)}, limits);
  }
  return s;
}

TEST(StreamIdTest, IncrAndDecrCarryAndStopAtTheEnds) {
  StreamId id{1, UINT64_MAX};
  ASSERT_TRUE(id.Incr());
  EXPECT_EQ(id, (StreamId{2, 0}));
  ASSERT_TRUE(id.Decr());
  EXPECT_EQ(id, (StreamId{1, UINT64_MAX}));
  StreamId max = StreamId::Max();
  EXPECT_FALSE(max.Incr());
  StreamId zero;
  EXPECT_FALSE(zero.Decr());
  EXPECT_EQ((StreamId{5, 7}).ToString(), "5-7");
}

TEST(StreamObjectTest, NodesCloseAtTheEntryLimit) {
  StreamObject s = Filled(10, {.max_bytes = 4096, .max_entries = 4});
  EXPECT_EQ(s.Length(), 10u);
  EXPECT_EQ(s.NodeCount(), 3u);  // 4 + 4 + 2
  EXPECT_EQ(s.first_id(), (StreamId{1, 0}));
  EXPECT_EQ(s.last_id(), (StreamId{10, 0}));
  EXPECT_EQ(s.entries_added(), 10u);
}

TEST(StreamObjectTest, MemoryUsageCountsNodesAndGroups) {
  const StreamObject small = Filled(10);
  StreamObject big = Filled(1000);
  const size_t entries = big.MemoryUsage(0);
  EXPECT_GT(small.MemoryUsage(0), sizeof(StreamObject));
  EXPECT_GT(entries, 1000 * 8u);  // the entries' bytes, at least
  EXPECT_LT(entries, 1000 * 200u);
  // Sampling 2 of the 10 nodes estimates the same uniform nodes closely.
  EXPECT_NEAR(static_cast<double>(big.MemoryUsage(2)), static_cast<double>(entries), entries * 0.2);
  StreamGroup& g = big.groups()["g"];
  for (uint64_t i = 1; i <= 100; ++i) {
    g.pel[StreamId{i, 0}] = StreamNack{.consumer = "c"};
    g.consumers["c"].pel.insert(StreamId{i, 0});
  }
  EXPECT_GT(big.MemoryUsage(0), entries + 100 * 2 * sizeof(StreamId));
}

TEST(StreamObjectTest, NodesCloseAtRedisListpackBytes) {
  // A node holds the listpack header (7 bytes) and the master entry; each
  // entry of one field "f" and a 100-byte value with the master's fields
  // costs flags 2 + ms delta 2 + seq delta 2 + value 103 + lp-count 2 bytes.
  StreamObject::Limits limits{.max_bytes = 400, .max_entries = 0};
  StreamObject s;
  const std::string v(100, 'x');
  for (uint64_t i = 1; i <= 6; ++i) s.Append(StreamId{i, 0}, StreamFields{"f", v}, limits);
  // 7 + count 2 + deleted 2 + nfields 2 + "f" 3 + 0 2 = 18; +111 per entry:
  // 129, 240, 351; the next would reach 351 + 101 (its field and value
  // bytes, what Redis adds) >= 400.
  EXPECT_EQ(s.NodeCount(), 2u);
}

TEST(StreamObjectTest, DeleteKeepsTombstonesAndDropsEmptyNodes) {
  StreamObject s = Filled(6, {.max_bytes = 4096, .max_entries = 3});
  ASSERT_EQ(s.NodeCount(), 2u);
  EXPECT_TRUE(s.Delete(StreamId{1, 0}));
  EXPECT_FALSE(s.Delete(StreamId{1, 0}));
  EXPECT_FALSE(s.Delete(StreamId{99, 0}));
  EXPECT_EQ(s.first_id(), (StreamId{2, 0}));
  EXPECT_EQ(s.FirstIdWithTombstones(), (StreamId{1, 0}));
  EXPECT_TRUE(s.Delete(StreamId{2, 0}));
  EXPECT_TRUE(s.Delete(StreamId{3, 0}));  // the node's last live entry
  EXPECT_EQ(s.NodeCount(), 1u);
  EXPECT_EQ(s.first_id(), (StreamId{4, 0}));
  EXPECT_EQ(Ids(s), (std::vector<StreamId>{{4, 0}, {5, 0}, {6, 0}}));
  EXPECT_EQ(Ids(s, true), (std::vector<StreamId>{{6, 0}, {5, 0}, {4, 0}}));
}

TEST(StreamObjectTest, ApproximateTrimRemovesWholeNodesOnly) {
  StreamObject s = Filled(10, {.max_bytes = 4096, .max_entries = 4});
  StreamObject::TrimArgs t{
      .strategy = StreamObject::TrimStrategy::kMaxLen, .approx = true, .limit = 0, .maxlen = 5};
  EXPECT_EQ(s.Trim(t), 4);  // the first node; the second would leave 2 < 5
  EXPECT_EQ(s.Length(), 6u);
  t.approx = false;
  EXPECT_EQ(s.Trim(t), 1);  // marks 5-0 deleted inside the node
  EXPECT_EQ(s.first_id(), (StreamId{6, 0}));
  EXPECT_EQ(s.FirstIdWithTombstones(), (StreamId{5, 0}));
  StreamObject::TrimArgs m{.strategy = StreamObject::TrimStrategy::kMinId,
                           .approx = false,
                           .limit = 0,
                           .minid = StreamId{9, 0}};
  EXPECT_EQ(s.Trim(m), 3);  // the 5..8 node goes whole, then nothing below 9 is left
  EXPECT_EQ(Ids(s), (std::vector<StreamId>{{9, 0}, {10, 0}}));
  // LIMIT stops before a node that would exceed it.
  StreamObject u = Filled(10, {.max_bytes = 4096, .max_entries = 4});
  t = {.strategy = StreamObject::TrimStrategy::kMaxLen, .approx = true, .limit = 3, .maxlen = 0};
  EXPECT_EQ(u.Trim(t), 0);
}

TEST(StreamObjectTest, GroupLagFollowsRedisRules) {
  StreamObject s = Filled(5);
  StreamGroup* g = s.CreateGroup("g", StreamId{2, 0}, 2);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(s.CreateGroup("g", StreamId{}, 0), nullptr);
  EXPECT_EQ(s.GroupLag(*g), 3);
  g->entries_read = StreamObject::kInvalidEntriesRead;
  EXPECT_EQ(s.GroupLag(*g), std::nullopt);  // in the middle: unknown
  g->last_id = StreamId{5, 0};
  EXPECT_EQ(s.GroupLag(*g), 0);  // at the last id
  g->last_id = StreamId{};
  EXPECT_EQ(s.GroupLag(*g), 5);  // before the first entry, no tombstones
  s.Delete(StreamId{3, 0});
  s.set_max_deleted_id(StreamId{3, 0});
  EXPECT_EQ(s.GroupLag(*g), std::nullopt);  // a tombstone ahead
}

TEST(StreamObjectTest, CloneIsDeepAndLoadRebuildsTheSameNodes) {
  StreamObject s = Filled(7, {.max_bytes = 4096, .max_entries = 3});
  s.Delete(StreamId{2, 0});
  StreamGroup* g = s.CreateGroup("g", StreamId{1, 0}, 1);
  g->pel[StreamId{1, 0}] = StreamNack{.delivery_time = 5, .delivery_count = 1, .consumer = "c"};
  g->consumers["c"].pel.insert(StreamId{1, 0});
  std::unique_ptr<TypedObject> copy = s.Clone();
  auto* c = static_cast<StreamObject*>(copy.get());
  s.Delete(StreamId{1, 0});
  s.groups().clear();
  EXPECT_EQ(c->Length(), 6u);
  ASSERT_NE(c->FindGroup("g"), nullptr);
  EXPECT_EQ(c->FindGroup("g")->pel.size(), 1u);

  StreamObject loaded;
  c->ForEachNode([&](const StreamId& master, const StreamFields& fields,
                     const std::vector<StreamObject::Item>& items) {
    loaded.LoadNode(master, fields, items);
  });
  loaded.SetLoaded(c->Length(), c->last_id(), c->first_id(), c->max_deleted_id(),
                   c->entries_added());
  EXPECT_EQ(Ids(loaded), Ids(*c));
  EXPECT_EQ(loaded.NodeCount(), c->NodeCount());
  // Appending continues in the loaded tail node exactly as in the original.
  const StreamObject::Limits limits{.max_bytes = 4096, .max_entries = 3};
  loaded.Append(StreamId{8, 0}, StreamFields{"f", "8"}, limits);
  c->Append(StreamId{8, 0}, StreamFields{"f", "8"}, limits);
  EXPECT_EQ(loaded.NodeCount(), c->NodeCount());
}

TEST(StreamObjectTest, ListpackSizesMatchRedisEncodings) {
  EXPECT_EQ(RedisLpIntBytes(0), 2u);
  EXPECT_EQ(RedisLpIntBytes(127), 2u);
  EXPECT_EQ(RedisLpIntBytes(128), 3u);
  EXPECT_EQ(RedisLpIntBytes(-4096), 3u);
  EXPECT_EQ(RedisLpIntBytes(40000), 5u);
  EXPECT_EQ(RedisLpIntBytes(int64_t{1} << 40), 10u);
  EXPECT_EQ(RedisLpStringBytes("123"), 2u);
  EXPECT_EQ(RedisLpStringBytes("abc"), 5u);
  EXPECT_EQ(RedisLpStringBytes(std::string(63, 'x')), 65u);
  EXPECT_EQ(RedisLpStringBytes(std::string(64, 'x')), 67u);
  EXPECT_EQ(RedisLpStringBytes(std::string(200, 'x')), 204u);
}

}  // namespace
}  // namespace shardnode::node
