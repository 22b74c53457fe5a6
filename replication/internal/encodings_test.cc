// Tests of the compact encodings: listpack, ziplist, zipmap, intset.
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "replication/internal/intset.h"
#include "replication/internal/listpack.h"
#include "replication/internal/numbers.h"
#include "replication/internal/ziplist.h"

namespace shardnode::replication::internal {
namespace {

// Elements that exercise every integer width and string length class.
std::vector<std::string> Assorted() {
  return {"0",
          "127",
          "128",
          "-1",
          "-4096",
          "4095",
          "-32768",
          "32767",
          "-8388608",
          "8388607",
          "-2147483648",
          "2147483647",
          "9223372036854775807",
          "-9223372036854775808",
          "9223372036854775808",  // too big: a string
          "007",                  // not canonical: a string
          "-0",
          "",
          "x",
          std::string(63, 'a'),
          std::string(64, 'b'),
          std::string(4095, 'c'),
          std::string(4096, 'd'),
          std::string(20000, 'e')};
}

TEST(NumbersTest, ScoreToStringMatchesRedis) {
  EXPECT_EQ(ScoreToString(1), "1");
  EXPECT_EQ(ScoreToString(-0.0), "0");
  EXPECT_EQ(ScoreToString(2.5), "2.5");
  EXPECT_EQ(ScoreToString(0.1), "0.10000000000000001");
  EXPECT_EQ(ScoreToString(1e300), "1.0000000000000001e+300");
  EXPECT_EQ(ScoreToString(HUGE_VAL), "inf");
  EXPECT_EQ(ScoreToString(-HUGE_VAL), "-inf");
  double d;
  ASSERT_TRUE(ParseScore("-inf", &d));
  EXPECT_EQ(d, -HUGE_VAL);
  EXPECT_FALSE(ParseScore("1x", &d));
  EXPECT_FALSE(ParseScore("", &d));
}

TEST(ListpackTest, RoundTripsEveryEncoding) {
  ListpackBuilder b;
  for (const auto& e : Assorted()) {
    size_t before = b.Bytes();
    b.Append(e);
    EXPECT_EQ(b.Bytes() - before, ListpackBuilder::EntrySize(e)) << e.substr(0, 20);
  }
  std::string lp = b.Finish();
  std::vector<std::string> out;
  ASSERT_TRUE(DecodeListpack(lp, &out).ok());
  EXPECT_EQ(out, Assorted());
}

TEST(ListpackTest, UsesRedisBytesForSmallEntries) {
  ListpackBuilder b;
  b.Append("a");
  b.Append("1");
  b.Append("-5");
  b.Append("300");
  // As written by redis-server 7.0.15 for RPUSH l:lp a b 1 -5 300 (minus b).
  const std::string expected(
      "\x12\x00\x00\x00\x04\x00"
      "\x81"
      "a"
      "\x02"
      "\x01\x01"
      "\xdf\xfb\x02"
      "\xc1\x2c\x02"
      "\xff",
      18);
  EXPECT_EQ(b.Finish(), expected);
}

TEST(ListpackTest, CountsElementsPastTheHeaderLimit) {
  ListpackBuilder b;
  for (int i = 0; i < 70000; ++i) b.AppendInt(i % 100);
  std::string lp = b.Finish();
  EXPECT_EQ(lp.substr(4, 2), "\xff\xff");
  std::vector<std::string> out;
  ASSERT_TRUE(DecodeListpack(lp, &out).ok());
  EXPECT_EQ(out.size(), 70000u);
}

TEST(ListpackTest, RejectsCorruption) {
  ListpackBuilder b;
  b.Append("hello");
  b.Append(std::string(200, 'x'));
  const std::string good = b.Finish();
  std::vector<std::string> out;
  ASSERT_TRUE(DecodeListpack(good, &out).ok());

  std::string bad = good;
  bad[0] = static_cast<char>(bad[0] + 1);  // total bytes
  EXPECT_FALSE(DecodeListpack(bad, &out).ok());
  bad = good;
  bad.back() = 0;  // terminator
  EXPECT_FALSE(DecodeListpack(bad, &out).ok());
  bad = good;
  bad[4] = 3;  // element count
  EXPECT_FALSE(DecodeListpack(bad, &out).ok());
  bad = good;
  bad[6 + 6] = 9;  // backlen of "hello"
  EXPECT_FALSE(DecodeListpack(bad, &out).ok());
  bad = good;
  bad[6] = static_cast<char>(0xF5);  // unknown encoding
  EXPECT_FALSE(DecodeListpack(bad, &out).ok());
  bad = good;
  bad[6] = static_cast<char>(0xBF);  // string length past the end
  EXPECT_FALSE(DecodeListpack(bad, &out).ok());
  EXPECT_FALSE(DecodeListpack(good.substr(0, 5), &out).ok());
  // Every truncation and every single-byte change either fails or decodes.
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<std::string> ignored;
    EXPECT_FALSE(DecodeListpack(good.substr(0, i), &ignored).ok());
  }
}

TEST(ZiplistTest, RoundTripsEveryEncoding) {
  std::vector<std::string> elements = Assorted();
  for (int i = 0; i <= 13; ++i) elements.push_back(std::to_string(i));  // immediates
  elements.push_back("-128");
  elements.push_back("100");
  std::string zl = EncodeZiplist(elements);
  std::vector<std::string> out;
  absl::Status s = DecodeZiplist(zl, &out);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(out, elements);
}

TEST(ZiplistTest, RejectsCorruption) {
  const std::string good = EncodeZiplist({"a", "12", std::string(300, 'y'), "z"});
  std::vector<std::string> out;
  ASSERT_TRUE(DecodeZiplist(good, &out).ok());
  std::string bad = good;
  bad[4] = static_cast<char>(bad[4] + 1);  // tail offset
  EXPECT_FALSE(DecodeZiplist(bad, &out).ok());
  bad = good;
  bad[8] = 9;  // count
  EXPECT_FALSE(DecodeZiplist(bad, &out).ok());
  bad = good;
  bad[13] = 5;  // prevlen of the second entry
  EXPECT_FALSE(DecodeZiplist(bad, &out).ok());
  for (size_t i = 0; i < good.size(); ++i) {
    EXPECT_FALSE(DecodeZiplist(good.substr(0, i), &out).ok()) << i;
  }
}

TEST(ZipmapTest, RoundTripsAndRejectsCorruption) {
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"foo", "bar"}, {"hello", "world"}, {std::string(300, 'k'), ""}, {"", std::string(254, 'v')}};
  std::string zm = EncodeZipmap(pairs);
  std::vector<std::pair<std::string, std::string>> out;
  ASSERT_TRUE(DecodeZipmap(zm, &out).ok());
  EXPECT_EQ(out, pairs);
  // Redis's own example bytes.
  out.clear();
  ASSERT_TRUE(DecodeZipmap(std::string("\x02\x03"
                                       "foo\x03\x00"
                                       "bar\x05"
                                       "hello\x05\x00"
                                       "world\xff",
                                       24),
                           &out)
                  .ok());
  EXPECT_EQ(out,
            (std::vector<std::pair<std::string, std::string>>{{"foo", "bar"}, {"hello", "world"}}));
  for (size_t i = 0; i < zm.size(); ++i) {
    EXPECT_FALSE(DecodeZipmap(zm.substr(0, i), &out).ok()) << i;
  }
  std::string bad = zm;
  bad[0] = 7;
  EXPECT_FALSE(DecodeZipmap(bad, &out).ok());
}

TEST(IntsetTest, PicksTheNarrowestWidthAndSorts) {
  EXPECT_EQ(EncodeIntset({3, 1, 2}),
            std::string("\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00", 14));
  std::vector<std::string> out;
  ASSERT_TRUE(DecodeIntset(EncodeIntset({100000, -4}), &out).ok());
  EXPECT_EQ(out, (std::vector<std::string>{"-4", "100000"}));
  out.clear();
  std::string wide = EncodeIntset({5000000000, 1, INT64_MIN});
  EXPECT_EQ(wide[0], 8);
  ASSERT_TRUE(DecodeIntset(wide, &out).ok());
  EXPECT_EQ(out, (std::vector<std::string>{"-9223372036854775808", "1", "5000000000"}));
}

TEST(IntsetTest, RejectsCorruption) {
  std::vector<std::string> out;
  std::string good = EncodeIntset({1, 2, 3});
  std::string bad = good;
  bad[0] = 3;  // width
  EXPECT_FALSE(DecodeIntset(bad, &out).ok());
  bad = good;
  bad[4] = 4;  // count
  EXPECT_FALSE(DecodeIntset(bad, &out).ok());
  bad = good;
  bad[8] = 9;  // 9, 2, 3 is not ascending
  EXPECT_FALSE(DecodeIntset(bad, &out).ok());
  EXPECT_FALSE(DecodeIntset(EncodeIntset({}), &out).ok());
  EXPECT_FALSE(DecodeIntset(good.substr(0, 7), &out).ok());
}

}  // namespace
}  // namespace shardnode::replication::internal
