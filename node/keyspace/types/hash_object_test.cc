#include "node/keyspace/types/hash_object.h"

#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

TEST(HashObjectTest, SetGetDeleteKeepInsertionOrderWhileListpack) {
  HashObject h;
  EXPECT_TRUE(h.Set("b", "1"));
  EXPECT_TRUE(h.Set("a", "2"));
  EXPECT_FALSE(h.Set("b", "3"));
  std::string scratch;
  ASSERT_TRUE(h.Get("b", &scratch).has_value());
  EXPECT_EQ(*h.Get("b", &scratch), "3");
  EXPECT_FALSE(h.Get("zz", &scratch).has_value());
  EXPECT_TRUE(h.Contains("a"));
  EXPECT_FALSE(h.Contains("zz"));
  std::string order;
  h.ForEach([&](std::string_view f, std::string_view) { order += f; });
  EXPECT_EQ(order, "ba");
  EXPECT_TRUE(h.Delete("b"));
  EXPECT_FALSE(h.Delete("b"));
  EXPECT_EQ(h.Size(), 1u);
  EXPECT_EQ(h.EncodingName(), "listpack");
}

TEST(HashObjectTest, ConvertsAfter512FieldsAndKeepsEverything) {
  HashObject h;
  for (int i = 0; i < 512; ++i) h.Set("f" + std::to_string(i), std::to_string(i));
  EXPECT_EQ(h.EncodingName(), "listpack");
  h.Set("f512", "x");
  EXPECT_EQ(h.EncodingName(), "hashtable");
  EXPECT_EQ(h.Size(), 513u);
  std::string scratch;
  EXPECT_EQ(*h.Get("f7", &scratch), "7");
  EXPECT_EQ(*h.Get("f512", &scratch), "x");
  EXPECT_EQ(*h.Get("f0", &scratch), "0");
}

TEST(HashObjectTest, LongFieldValueOrArgumentConverts) {
  HashObject h;
  h.Set("f", std::string(64, 'x'));
  EXPECT_EQ(h.EncodingName(), "listpack");
  h.ConvertIfLong(64);
  EXPECT_EQ(h.EncodingName(), "listpack");
  h.ConvertIfLong(65);
  EXPECT_EQ(h.EncodingName(), "hashtable");
  HashObject g;
  g.Set(std::string(65, 'k'), "v");
  EXPECT_EQ(g.EncodingName(), "hashtable");
  std::string scratch;
  EXPECT_EQ(*g.Get(std::string(65, 'k'), &scratch), "v");
  // A value of exactly 64 bytes stays listpack; 65 converts.
  HashObject v;
  v.Set("f", std::string(64, 'v'));
  EXPECT_EQ(v.EncodingName(), "listpack");
  v.Set("g", std::string(65, 'v'));
  EXPECT_EQ(v.EncodingName(), "hashtable");
  EXPECT_EQ(*v.Get("f", &scratch), std::string(64, 'v'));
}

TEST(HashObjectTest, IntegerFieldsAndValuesAreExactWhilePacked) {
  HashObject h;
  h.Set("1", "-9223372036854775808");
  h.Set("01", "9223372036854775807");
  h.Set("-0", "0");
  h.Set("x", "18446744073709551616");  // beyond int64: kept as text
  std::string scratch;
  EXPECT_EQ(*h.Get("1", &scratch), "-9223372036854775808");
  EXPECT_EQ(*h.Get("01", &scratch), "9223372036854775807");
  EXPECT_EQ(*h.Get("-0", &scratch), "0");
  EXPECT_EQ(*h.Get("x", &scratch), "18446744073709551616");
  EXPECT_FALSE(h.Get("0", &scratch).has_value());
  EXPECT_FALSE(h.Get("+1", &scratch).has_value());
  std::map<std::string, std::string> all;
  h.ForEach([&](std::string_view f, std::string_view v) { all.emplace(f, v); });
  EXPECT_EQ(all.size(), 4u);
  EXPECT_EQ(all["01"], "9223372036854775807");
  // Overwriting with a string in place keeps insertion order.
  h.Set("1", "one");
  std::string order;
  h.ForEach([&](std::string_view f, std::string_view) { order += std::string(f) + ","; });
  EXPECT_EQ(order, "1,01,-0,x,");
  auto [f, v] = h.Random(&scratch, &order);
  EXPECT_EQ(*h.Get(std::string(f), &all["tmp"]), v);
}

TEST(HashObjectTest, DeleteToEmptyAndConversionAtExactly513) {
  HashObject h;
  for (int i = 0; i < 512; ++i) h.Set(std::to_string(i), "v");
  EXPECT_EQ(h.EncodingName(), "listpack");
  EXPECT_FALSE(h.Set("511", "w"));  // overwrite: still 512
  EXPECT_EQ(h.EncodingName(), "listpack");
  for (int i = 0; i < 512; ++i) EXPECT_TRUE(h.Delete(std::to_string(i)));
  EXPECT_EQ(h.Size(), 0u);
  EXPECT_FALSE(h.Delete("0"));
  for (int i = 0; i < 513; ++i) h.Set(std::to_string(i), std::to_string(-i));
  EXPECT_EQ(h.EncodingName(), "hashtable");
  std::string scratch;
  EXPECT_EQ(*h.Get("512", &scratch), "-512");
}

TEST(HashObjectTest, ScanOfHashtableVisitsEveryField) {
  HashObject h;
  for (int i = 0; i < 1000; ++i) h.Set("f" + std::to_string(i), "v");
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int steps = 0;
  do {
    cursor = h.Scan(cursor, 10, [&](std::string_view f, std::string_view) { seen.emplace(f); });
    ++steps;
  } while (cursor != 0);
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_GT(steps, 1);
}

}  // namespace
}  // namespace shardnode::node
