// Reads the files redis-server 7.0.15 wrote (tests/fixtures/rdb, made by
// make_fixtures.sh there) and checks every key against what the script put
// in.
#include <cmath>
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "replication/rdb.h"
#include "replication/rdb_test_util.h"

namespace shardnode::replication {
namespace {

using ::shardnode::replication::testing::FixturePath;
using ::shardnode::replication::testing::Normalized;
using ::shardnode::replication::testing::Range;
using ::shardnode::replication::testing::ReadFile;

std::map<std::string, RdbEntry> ByKey(const RdbFile& file) {
  std::map<std::string, RdbEntry> out;
  for (const auto& e : file.entries) out[e.key] = e;
  return out;
}

RdbFile MustRead(const std::string& name) {
  std::string bytes = ReadFile(FixturePath(name));
  EXPECT_FALSE(bytes.empty()) << FixturePath(name);
  absl::StatusOr<RdbFile> file = ReadRdb(bytes);
  EXPECT_TRUE(file.ok()) << name << ": " << file.status();
  return file.ok() ? *file : RdbFile();
}

void ExpectAuxOf7015(const RdbFile& file) {
  std::map<std::string, std::string> aux(file.aux.begin(), file.aux.end());
  EXPECT_EQ(aux["redis-ver"], "7.0.15");
  EXPECT_EQ(aux["redis-bits"], "64");
  EXPECT_EQ(aux["aof-base"], "0");
  EXPECT_TRUE(aux.count("ctime"));
  EXPECT_TRUE(aux.count("used-mem"));
}

TEST(RdbFixtureTest, SmallFile) {
  RdbFile file = MustRead("small.rdb");
  EXPECT_EQ(file.version, 10);
  ExpectAuxOf7015(file);
  std::vector<RdbEntry> expected = {
      {0, "s:raw", RdbValue::String("hello world"), -1},
      {0, "s:int", RdbValue::String("12345"), -1},
      {0, "l:lp", RdbValue::List({"a", "b", "1", "-5", "300"}), -1},
      {0, "set:int", RdbValue::Set({"1", "2", "3"}), -1},
      {0, "set:str", RdbValue::Set({"x", "y"}), -1},
      {0, "h:lp", RdbValue::Hash({{"f1", "v1"}, {"n", "7"}}), -1},
      {0, "z:lp", RdbValue::ZSet({{"a", 1}, {"b", 2.5}}), -1},
      {0, "s:exp", RdbValue::String("v"), 4102444800000},
  };
  EXPECT_EQ(Normalized(file.entries), Normalized(expected));
}

TEST(RdbFixtureTest, EveryTypeAndEncoding) {
  RdbFile file = MustRead("types.rdb");
  ExpectAuxOf7015(file);
  ASSERT_EQ(file.functions.size(), 1u);
  EXPECT_EQ(file.functions[0].substr(0, 18), "#!lua name=mylib\nr");
  auto keys = ByKey(file);
  EXPECT_EQ(keys.size(), 25u);
  auto value = [&](const std::string& key) { return Normalized(keys[key].value); };

  EXPECT_EQ(value("str:raw"), RdbValue::String("hello world"));
  EXPECT_EQ(value("str:int"), RdbValue::String("12345"));
  EXPECT_EQ(value("str:neg"), RdbValue::String("-7"));
  EXPECT_EQ(value("str:int64"), RdbValue::String("9223372036854775807"));
  EXPECT_EQ(value("str:lead0"), RdbValue::String("007"));
  EXPECT_EQ(value("str:empty"), RdbValue::String(""));
  EXPECT_EQ(value("str:lzf"), RdbValue::String(std::string(100, 'a') + std::string(100, 'b')));
  EXPECT_EQ(value("str:bin"), RdbValue::String(std::string("\x00\x01\xff\r\n", 5)));
  EXPECT_EQ(value("str:short_incompressible"), RdbValue::String("Kq8#zP!w@4mX^rT7&vB2*nL9"));

  EXPECT_EQ(value("list:small"), RdbValue::List({"a", "b", "1", "-5", "300", "70000", "-9000000",
                                                 "5000000000", "", std::string(70, 'x')}));
  EXPECT_EQ(value("list:big"), RdbValue::List(Range("item:", 1, 2000)));
  EXPECT_EQ(value("list:bigelem"), RdbValue::List({"head", std::string(10000, 'z'), "tail"}));

  EXPECT_EQ(value("set:int"), Normalized(RdbValue::Set({"1", "2", "3", "-4", "100000"})));
  EXPECT_EQ(value("set:int64"), Normalized(RdbValue::Set({"1", "5000000000"})));
  EXPECT_EQ(value("set:str"), Normalized(RdbValue::Set({"a", "b", "c"})));
  EXPECT_EQ(value("set:bigint"), Normalized(RdbValue::Set(Range("", 1, 600))));

  EXPECT_EQ(value("hash:small"),
            Normalized(RdbValue::Hash({{"f1", "v1"}, {"n", "123"}, {"e", ""}})));
  std::vector<std::pair<std::string, std::string>> hbig;
  for (int i = 1; i <= 600; ++i)
    hbig.emplace_back("f" + std::to_string(i), "v" + std::to_string(i));
  EXPECT_EQ(value("hash:big"), Normalized(RdbValue::Hash(hbig)));
  EXPECT_EQ(value("hash:longval"), RdbValue::Hash({{"k", std::string(100, 'w')}}));

  EXPECT_EQ(
      value("zset:small"),
      Normalized(RdbValue::ZSet(
          {{"a", 1}, {"b", 2.5}, {"c", -HUGE_VAL}, {"d", HUGE_VAL}, {"e", 1e300}, {"f", -0.5}})));
  std::vector<std::pair<std::string, double>> zbig;
  for (int i = 1; i <= 200; ++i) zbig.emplace_back("m" + std::to_string(i), i * 1.5);
  EXPECT_EQ(value("zset:big"), Normalized(RdbValue::ZSet(zbig)));
  EXPECT_EQ(value("zset:longmember"), RdbValue::ZSet({{std::string(100, 'q'), 3}}));

  EXPECT_EQ(keys["exp:str"].expire_ms, 4102444800000);
  EXPECT_EQ(keys["exp:hash"].expire_ms, 4102444800123);
  EXPECT_EQ(keys["str:raw"].expire_ms, -1);
  EXPECT_EQ(keys["db1:key"].db, 1u);
  EXPECT_EQ(value("db1:key"), RdbValue::String("in db1"));
  EXPECT_EQ(keys["str:raw"].db, 0u);
}

TEST(RdbFixtureTest, CompressedQuicklistNodesAndIdleTimes) {
  RdbFile file = MustRead("compressed.rdb");
  auto keys = ByKey(file);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys["qlist"].value, RdbValue::List(Range("compressible element number ", 1, 3000)));
  EXPECT_EQ(keys["plain"].value, RdbValue::String("v"));
}

TEST(RdbFixtureTest, OurWriterReproducesRedisBytesForTheSmallFile) {
  // Same keys in the same order with the same aux values: our bytes equal
  // Redis's, byte for byte (encodings, listpack entries, CRC).
  RdbFile redis = MustRead("small.rdb");
  std::map<std::string, std::string> aux(redis.aux.begin(), redis.aux.end());
  RdbWriterOptions options;
  options.ctime_s = std::stoll(aux["ctime"]);
  options.used_mem = std::stoll(aux["used-mem"]);
  EXPECT_EQ(WriteRdb(redis.entries, options), ReadFile(FixturePath("small.rdb")));
}

}  // namespace
}  // namespace shardnode::replication
