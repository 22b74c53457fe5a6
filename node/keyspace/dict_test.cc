#include "node/keyspace/dict.h"

#include <random>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

using IntMap = StringMap<int>;

std::set<std::string> ScanAll(const IntMap& m) {
  std::set<std::string> seen;
  uint64_t cursor = 0;
  do {
    cursor = m.Scan(cursor, [&](std::string_view k, int&) { seen.emplace(k); });
  } while (cursor != 0);
  return seen;
}

TEST(DictTest, InsertFindEraseAndResize) {
  IntMap m;
  EXPECT_EQ(m.Find("a"), nullptr);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(m.Set("k" + std::to_string(i), i));
  EXPECT_EQ(m.size(), 1000u);
  EXPECT_FALSE(m.Set("k5", 55));  // overwrite
  EXPECT_EQ(*m.Find("k5"), 55);
  EXPECT_EQ(*m.Find("k999"), 999);
  EXPECT_EQ(m.Find("k1000"), nullptr);
  for (int i = 0; i < 1000; ++i) {
    if (i % 10 != 0) {
      EXPECT_TRUE(m.Erase("k" + std::to_string(i)));
    }
  }
  EXPECT_FALSE(m.Erase("k1"));
  EXPECT_EQ(m.size(), 100u);
  for (int i = 0; i < 1000; i += 10) EXPECT_EQ(*m.Find("k" + std::to_string(i)), i);
  m.Clear();
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.Find("k0"), nullptr);
}

TEST(DictTest, StringMapKeepsKeysOfAnyLengthInline) {
  StringMap<std::string> m;
  const std::string long_key(1000, 'k');
  EXPECT_TRUE(m.Set("", "empty"));
  EXPECT_TRUE(m.Set(long_key, std::string_view("long")));
  EXPECT_TRUE(m.Set(std::string_view("a\0b", 3), "nul"));
  EXPECT_EQ(*m.Find(""), "empty");
  EXPECT_EQ(*m.Find(long_key), "long");
  EXPECT_EQ(*m.Find(std::string_view("a\0b", 3)), "nul");
  EXPECT_EQ(m.Find("a"), nullptr);
  EXPECT_FALSE(m.Set("", std::string(100, 'v')));  // overwrite in place
  EXPECT_EQ(m.Find("")->size(), 100u);
  std::set<std::string> keys;
  m.ForEach([&](std::string_view k, std::string&) { keys.emplace(k); });
  EXPECT_EQ(keys, (std::set<std::string>{"", long_key, std::string("a\0b", 3)}));
  EXPECT_TRUE(m.Erase(long_key));
  EXPECT_EQ(m.size(), 2u);
}

struct Node {
  Node* dict_next = nullptr;
  std::string key;
};
struct NodeTraits {
  static std::string_view Key(const Node& n) { return n.key; }
  static void Free(Node* n) { delete n; }
};

// The first node takes the bucket held inside the Dict (no array, no
// bucket bytes counted); the second brings the usual 4 buckets. A moved
// table keeps its nodes whichever bucket form it had.
TEST(DictTest, FirstNodeUsesTheInlineBucket) {
  Dict<Node, NodeTraits> d;
  d.Insert(new Node{nullptr, "a"});
  EXPECT_EQ(d.bucket_count(), 1u);
  EXPECT_EQ(d.BucketBytes(), 0u);
  ASSERT_NE(d.Find("a"), nullptr);
  EXPECT_EQ(d.Find("b"), nullptr);
  std::mt19937 rng(1);
  EXPECT_EQ(d.Random(rng)->key, "a");
  EXPECT_EQ(d.Scan(0, [](Node&) {}), 0u);

  Dict<Node, NodeTraits> moved(std::move(d));
  EXPECT_EQ(d.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(d.Find("a"), nullptr);
  ASSERT_NE(moved.Find("a"), nullptr);
  moved.Insert(new Node{nullptr, "b"});
  EXPECT_EQ(moved.bucket_count(), 4u);
  EXPECT_EQ(moved.BucketBytes(), 4 * sizeof(Node*));
  EXPECT_NE(moved.Find("a"), nullptr);
  EXPECT_NE(moved.Find("b"), nullptr);
  EXPECT_TRUE(moved.Erase("a"));
  EXPECT_TRUE(moved.Erase("b"));
  EXPECT_EQ(moved.bucket_count(), 0u);
  // From empty, the inline bucket again; move-assigned over a table.
  moved.Insert(new Node{nullptr, "c"});
  Dict<Node, NodeTraits> other;
  for (int i = 0; i < 10; ++i) other.Insert(new Node{nullptr, std::to_string(i)});
  other = std::move(moved);
  EXPECT_EQ(other.size(), 1u);
  EXPECT_NE(other.Find("c"), nullptr);
  other.Insert(new Node{nullptr, "d"});
  EXPECT_EQ(other.size(), 2u);
}

TEST(DictTest, BucketsGrowAndShrinkAsPowersOfTwo) {
  Dict<Node, NodeTraits> d;
  EXPECT_EQ(d.bucket_count(), 0u);
  for (int i = 0; i < 100; ++i) d.Insert(new Node{nullptr, std::to_string(i)});
  EXPECT_EQ(d.bucket_count(), 128u);
  for (int i = 0; i < 95; ++i) EXPECT_TRUE(d.Erase(std::to_string(i)));
  EXPECT_EQ(d.size(), 5u);
  EXPECT_LE(d.bucket_count(), 16u);
  EXPECT_EQ(d.bucket_count() & (d.bucket_count() - 1), 0u);
  for (int i = 95; i < 100; ++i) EXPECT_NE(d.Find(std::to_string(i)), nullptr);
  for (int i = 95; i < 100; ++i) EXPECT_TRUE(d.Erase(std::to_string(i)));
  EXPECT_EQ(d.bucket_count(), 0u);
}

// The buckets' filters only ever say "maybe" for a key present: under
// churn (keys removed from the middle of chains leave their bits, emptied
// buckets and resizes start afresh) every lookup agrees with a model, and
// a Dict that is two words moves as plain bytes.
TEST(DictTest, BucketFiltersNeverHideAKeyUnderChurn) {
  static_assert(sizeof(Dict<Node, NodeTraits>) == 2 * sizeof(void*));
  Dict<Node, NodeTraits> d;
  std::set<std::string> model;
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    const std::string key = "k" + std::to_string(rng() % 300);
    if (rng() % 2 == 0) {
      if (model.insert(key).second) d.Insert(new Node{nullptr, key});
    } else {
      EXPECT_EQ(d.Erase(key), model.erase(key) == 1) << key;
    }
    if (step % 97 == 0) {
      for (int k = 0; k < 300; ++k) {
        const std::string probe = "k" + std::to_string(k);
        const Node* found = d.Find(probe);
        ASSERT_EQ(found != nullptr, model.count(probe) == 1) << probe << " at step " << step;
        if (found != nullptr) {
          EXPECT_EQ(found->key, probe);
        }
      }
      EXPECT_EQ(d.size(), model.size());
    }
  }
  Dict<Node, NodeTraits> moved(std::move(d));
  for (const std::string& key : model) EXPECT_NE(moved.Find(key), nullptr) << key;
}

TEST(DictTest, ScanVisitsEverythingOnce) {
  IntMap m;
  EXPECT_EQ(ScanAll(m).size(), 0u);
  for (int i = 0; i < 5000; ++i) m.Set(std::to_string(i), i);
  std::multiset<std::string> seen;
  uint64_t cursor = 0;
  do {
    cursor = m.Scan(cursor, [&](std::string_view k, int&) { seen.emplace(k); });
  } while (cursor != 0);
  EXPECT_EQ(seen.size(), 5000u);  // no duplicates without a resize
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 5000u);
}

// Elements present for the whole scan are returned even when the table grows
// or shrinks between two calls.
TEST(DictTest, ScanGuaranteeAcrossGrowAndShrink) {
  for (int mode = 0; mode < 2; ++mode) {
    IntMap m;
    std::set<std::string> stable;
    for (int i = 0; i < 300; ++i) {
      m.Set("s" + std::to_string(i), i);
      stable.insert("s" + std::to_string(i));
    }
    if (mode == 1) {  // many transient keys to delete later (forces shrinks)
      for (int i = 0; i < 5000; ++i) m.Set("t" + std::to_string(i), i);
    }
    std::set<std::string> seen;
    uint64_t cursor = 0;
    int step = 0;
    do {
      cursor = m.Scan(cursor, [&](std::string_view k, int&) { seen.emplace(k); });
      ++step;
      if (mode == 0 && step % 3 == 0 && step < 60) {
        // Grow: add 500 keys every third call.
        for (int i = 0; i < 500; ++i) m.Set("g" + std::to_string(step * 1000 + i), i);
      }
      if (mode == 1 && step % 2 == 0) {
        for (int i = 0; i < 1000; ++i) m.Erase("t" + std::to_string((step / 2 - 1) * 1000 + i));
      }
    } while (cursor != 0);
    for (const std::string& k : stable) EXPECT_TRUE(seen.count(k)) << k << " mode " << mode;
  }
}

TEST(DictTest, RandomReturnsEveryElementEventually) {
  IntMap m;
  std::mt19937_64 rng(1);
  EXPECT_EQ(m.Random(rng), nullptr);
  for (int i = 0; i < 10; ++i) m.Set(std::to_string(i), i);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.emplace(m.Random(rng)->key());
  EXPECT_EQ(seen.size(), 10u);
}

}  // namespace
}  // namespace shardnode::node
