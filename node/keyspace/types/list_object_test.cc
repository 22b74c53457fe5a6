#include "node/keyspace/types/list_object.h"

#include <deque>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

std::deque<std::string> All(const ListObject& l) {
  std::deque<std::string> out;
  l.Walk(0, false, [&](size_t i, std::string_view v) {
    EXPECT_EQ(i, out.size());
    out.emplace_back(v);
    return true;
  });
  // The reverse walk sees the same elements.
  std::deque<std::string> back;
  if (l.Size()) {
    l.Walk(l.Size() - 1, true, [&](size_t i, std::string_view v) {
      EXPECT_EQ(i, l.Size() - 1 - back.size());
      back.emplace_front(v);
      return true;
    });
  }
  EXPECT_EQ(out, back);
  return out;
}

TEST(ListObjectTest, PushesAndPopsAtBothEnds) {
  ListObject l;
  l.PushBack("b");
  l.PushFront("a");
  l.PushBack("c");
  EXPECT_EQ(l.Size(), 3u);
  EXPECT_EQ(l.PopFront(), "a");
  EXPECT_EQ(l.PopBack(), "c");
  EXPECT_EQ(l.PopBack(), "b");
  EXPECT_EQ(l.Size(), 0u);
  EXPECT_EQ(l.node_count(), 0u);  // deletion to empty leaves no node
  EXPECT_EQ(l.EncodingName(), "quicklist");
}

TEST(ListObjectTest, IntegersComeBackAsTheirText) {
  ListObject l;
  for (const char* s : {"0", "-9223372036854775808", "9223372036854775807", "007", "-0", "1e3",
                        "18446744073709551616", ""}) {
    l.PushBack(s);
  }
  EXPECT_EQ(All(l), (std::deque<std::string>{"0", "-9223372036854775808", "9223372036854775807",
                                             "007", "-0", "1e3", "18446744073709551616", ""}));
  std::string scratch;
  EXPECT_EQ(l.Get(1, &scratch), "-9223372036854775808");
  l.Set(1, "x");
  EXPECT_EQ(l.Get(1, &scratch), "x");
  EXPECT_EQ(l.RemoveMatching("0", 0, false), 1u);  // "-0" and "007" are other strings
  EXPECT_EQ(l.RemoveMatching("007", 0, false), 1u);
  EXPECT_EQ(l.Size(), 6u);
}

TEST(ListObjectTest, LongListsSpanNodesAndBigElementsGetTheirOwn) {
  ListObject l;
  for (int i = 0; i < 3000; ++i) l.PushBack("element-" + std::to_string(i));
  EXPECT_GT(l.node_count(), 3u);
  l.PushBack(std::string(20000, 'x'));
  l.PushFront(std::string(9000, 'y'));
  std::string scratch;
  EXPECT_EQ(l.Get(0, &scratch), std::string(9000, 'y'));
  EXPECT_EQ(l.Get(3001, &scratch), std::string(20000, 'x'));
  EXPECT_EQ(l.Get(1501, &scratch), "element-1500");
  EXPECT_EQ(l.PopBack(), std::string(20000, 'x'));
  EXPECT_EQ(l.PopFront(), std::string(9000, 'y'));
  EXPECT_EQ(l.Size(), 3000u);
  EXPECT_EQ(All(l).size(), 3000u);
}

// Random operations against a std::deque model.
TEST(ListObjectTest, RandomOperationsMatchADeque) {
  std::mt19937 rng(7);
  for (int round = 0; round < 4; ++round) {
    ListObject l;
    std::deque<std::string> model;
    for (int step = 0; step < 6000; ++step) {
      const int op = static_cast<int>(rng() % 10);
      // Mostly short values; some integers; now and then a long one so that
      // nodes fill at different rates.
      std::string v = rng() % 3 == 0 ? std::to_string(static_cast<int>(rng() % 50) - 25)
                                     : "v" + std::to_string(rng() % 40);
      if (rng() % 200 == 0) v = std::string(3000 + rng() % 6000, 'L');
      const size_t n = model.size();
      if (op <= 2) {
        l.PushBack(v);
        model.push_back(v);
      } else if (op == 3) {
        l.PushFront(v);
        model.push_front(v);
      } else if (op == 4 && n) {
        ASSERT_EQ(l.PopFront(), model.front());
        model.pop_front();
      } else if (op == 5 && n) {
        ASSERT_EQ(l.PopBack(), model.back());
        model.pop_back();
      } else if (op == 6) {
        const size_t at = rng() % (n + 1);
        l.Insert(at, v);
        model.insert(model.begin() + static_cast<std::ptrdiff_t>(at), v);
      } else if (op == 7 && n) {
        const size_t at = rng() % n;
        l.Set(at, v);
        model[at] = v;
      } else if (op == 8 && n && rng() % 10 == 0) {
        const size_t front = rng() % (n + 1);
        const size_t back = rng() % (n - front + 1);
        l.TrimFront(front);
        l.TrimBack(back);
        model.erase(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(front));
        model.erase(model.end() - static_cast<std::ptrdiff_t>(back), model.end());
      } else if (op == 9) {
        const size_t limit = rng() % 3;
        const bool tail = rng() % 2;
        size_t removed = 0;
        if (!tail) {
          for (auto it = model.begin(); it != model.end();) {
            if (*it == v && (limit == 0 || removed < limit)) {
              it = model.erase(it);
              ++removed;
            } else {
              ++it;
            }
          }
        } else {
          for (size_t i = model.size(); i > 0 && (limit == 0 || removed < limit); --i) {
            if (model[i - 1] == v) {
              model.erase(model.begin() + static_cast<std::ptrdiff_t>(i - 1));
              ++removed;
            }
          }
        }
        ASSERT_EQ(l.RemoveMatching(v, limit, tail), removed);
      }
      ASSERT_EQ(l.Size(), model.size());
      if (step % 500 == 0) {
        ASSERT_EQ(All(l), model);
      }
      if (!model.empty()) {
        const size_t at = rng() % model.size();
        std::string scratch;
        ASSERT_EQ(l.Get(at, &scratch), model[at]) << at;
      }
    }
    ASSERT_EQ(All(l), model);
  }
}

// DEBUG QUICKLIST-PACKED-THRESHOLD: an element at least that long gets a
// node of its own wherever it is inserted, and nothing joins it there.
TEST(ListObjectTest, LargeElementsGetPlainNodes) {
  ASSERT_TRUE(ListObject::SetPackedThreshold(5));
  ListObject l;
  l.PushBack("aa");
  l.PushBack("bb");
  EXPECT_EQ(l.node_count(), 1u);
  l.PushBack("xxxxxx");  // at the tail
  EXPECT_EQ(l.node_count(), 2u);
  l.PushBack("cc");  // not into the plain node
  EXPECT_EQ(l.node_count(), 3u);
  l.Insert(1, "yyyyyy");  // in the middle of the first node: split around it
  EXPECT_EQ(l.node_count(), 5u);
  l.PushFront("zzzzzz");
  EXPECT_EQ(l.node_count(), 6u);
  EXPECT_EQ(All(l), (std::deque<std::string>{"zzzzzz", "aa", "yyyyyy", "bb", "xxxxxx", "cc"}));
  EXPECT_FALSE(ListObject::SetPackedThreshold(size_t{1} << 32));
  EXPECT_EQ(ListObject::packed_threshold(), 5u);
  ASSERT_TRUE(ListObject::SetPackedThreshold(0));  // the default again
  EXPECT_EQ(ListObject::packed_threshold(), size_t{1} << 30);
  ListObject m;
  m.PushBack("aa");
  m.PushBack("xxxxxx");
  EXPECT_EQ(m.node_count(), 1u);
}

}  // namespace
}  // namespace shardnode::node
