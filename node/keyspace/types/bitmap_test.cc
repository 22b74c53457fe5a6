#include "node/keyspace/types/bitmap.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shardnode::node::types {
namespace {

TEST(BitmapTest, PopCountCountsEveryByte) {
  EXPECT_EQ(PopCount(""), 0u);
  EXPECT_EQ(PopCount("foobar"), 26u);
  EXPECT_EQ(PopCount(std::string(17, '\xff')), 136u);
}

TEST(BitmapTest, BitPosPadsWithZerosOnTheRight) {
  EXPECT_EQ(BitPos("", 1), -1);
  EXPECT_EQ(BitPos("", 0), 0);
  EXPECT_EQ(BitPos(std::string("\xff\xf0\x00", 3), 0), 12);
  EXPECT_EQ(BitPos(std::string("\x00\x0f\x00", 3), 1), 12);
  EXPECT_EQ(BitPos(std::string(20, '\xff'), 0), 160);
  EXPECT_EQ(BitPos(std::string(20, '\0'), 1), -1);
  std::string s(40, '\0');
  s[33] = 1;
  EXPECT_EQ(BitPos(s, 1), 33 * 8 + 7);
}

TEST(BitmapTest, FieldsAreBigEndianAcrossBytes) {
  unsigned char buf[9] = {};
  SetField(buf, 5, 8, 0xab);
  EXPECT_EQ(GetUnsignedField(buf, 5, 8), 0xabu);
  EXPECT_EQ(buf[0], 0x05);
  EXPECT_EQ(buf[1], 0x58);
  EXPECT_EQ(GetSignedField(buf, 5, 8), -85);
  SetField(buf, 0, 64, 0x8000000000000001ULL);
  EXPECT_EQ(GetSignedField(buf, 0, 64), std::numeric_limits<int64_t>::min() + 1);
  EXPECT_EQ(GetUnsignedField(buf, 63, 1), 1u);
}

TEST(BitmapTest, UnsignedOverflowWrapsSaturatesOrFails) {
  uint64_t limit = 0;
  EXPECT_EQ(CheckUnsignedOverflow(250, 10, 8, Overflow::kWrap, &limit), 1);
  EXPECT_EQ(limit, 4u);
  EXPECT_EQ(CheckUnsignedOverflow(250, 10, 8, Overflow::kSat, &limit), 1);
  EXPECT_EQ(limit, 255u);
  EXPECT_EQ(CheckUnsignedOverflow(5, -10, 8, Overflow::kSat, &limit), -1);
  EXPECT_EQ(limit, 0u);
  EXPECT_EQ(CheckUnsignedOverflow(5, -10, 8, Overflow::kWrap, &limit), 1);
  EXPECT_EQ(limit, 251u);
  limit = 77;
  EXPECT_EQ(CheckUnsignedOverflow(5, -10, 8, Overflow::kFail, &limit), -1);
  EXPECT_EQ(limit, 77u);
  EXPECT_EQ(CheckUnsignedOverflow(5, 250, 8, Overflow::kFail, &limit), 0);
  // A SET of a value above the width.
  EXPECT_EQ(CheckUnsignedOverflow(300, 0, 8, Overflow::kWrap, &limit), 1);
  EXPECT_EQ(limit, 44u);
}

TEST(BitmapTest, SignedOverflowWrapsSaturatesOrFails) {
  int64_t limit = 0;
  EXPECT_EQ(CheckSignedOverflow(127, 1, 8, Overflow::kWrap, &limit), 1);
  EXPECT_EQ(limit, -128);
  EXPECT_EQ(CheckSignedOverflow(127, 1, 8, Overflow::kSat, &limit), 1);
  EXPECT_EQ(limit, 127);
  EXPECT_EQ(CheckSignedOverflow(-128, -1, 8, Overflow::kSat, &limit), -1);
  EXPECT_EQ(limit, -128);
  EXPECT_EQ(CheckSignedOverflow(-100, -20, 8, Overflow::kFail, &limit), 0);
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(CheckSignedOverflow(max, 1, 64, Overflow::kWrap, &limit), 1);
  EXPECT_EQ(limit, std::numeric_limits<int64_t>::min());
  const int64_t min = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(CheckSignedOverflow(0, min, 64, Overflow::kSat, &limit), 0);
  EXPECT_EQ(CheckSignedOverflow(-1, min, 64, Overflow::kSat, &limit), -1);
  EXPECT_EQ(limit, std::numeric_limits<int64_t>::min());
}

TEST(BitmapTest, BitOpPadsShorterSources) {
  std::vector<std::string_view> src = {"\xff\x0f", std::string_view("\x0f", 1)};
  EXPECT_EQ(BitOp(BitOpKind::kAnd, src), std::string("\x0f\x00", 2));
  EXPECT_EQ(BitOp(BitOpKind::kOr, src), "\xff\x0f");
  EXPECT_EQ(BitOp(BitOpKind::kXor, src), "\xf0\x0f");
  std::vector<std::string_view> one = {"\x0f"};
  EXPECT_EQ(BitOp(BitOpKind::kNot, one), "\xf0");
  std::vector<std::string_view> empty = {"", ""};
  EXPECT_EQ(BitOp(BitOpKind::kOr, empty), "");
}

}  // namespace
}  // namespace shardnode::node::types
