#include "node/keyspace/types/packed.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shardnode::node::types {
namespace {

// Every entry as text (doubles printed with %.17g), walking forwards.
std::vector<std::string> Forward(const Packed& p) {
  std::vector<std::string> out;
  std::string scratch;
  for (size_t pos = 0; pos < p.bytes(); pos = p.Next(pos)) {
    const PackedItem it = p.At(pos);
    if (it.kind == PackedItem::kDouble) {
      char buf[64];
      snprintf(buf, sizeof buf, "%.17g", it.d);
      out.emplace_back(buf);
    } else {
      out.emplace_back(it.Text(&scratch));
    }
  }
  return out;
}

// The same walking backwards from the end, reversed again.
std::vector<std::string> Backward(const Packed& p) {
  std::vector<std::string> out;
  std::string scratch;
  for (size_t pos = p.bytes(); pos > 0;) {
    pos = p.Prev(pos);
    const PackedItem it = p.At(pos);
    out.insert(out.begin(), it.kind == PackedItem::kDouble ? "d" : std::string(it.Text(&scratch)));
  }
  return out;
}

TEST(PackedTest, EmptyOwnsNothing) {
  Packed p;
  EXPECT_EQ(p.count(), 0u);
  EXPECT_EQ(p.bytes(), 0u);
  EXPECT_EQ(p.HeapBytes(), 0u);
}

TEST(PackedTest, IntegersAndStringsRoundTripBothWays) {
  Packed p;
  const std::vector<std::string> in = {"0",
                                       "-1",
                                       "abc",
                                       "9223372036854775807",
                                       "-9223372036854775808",
                                       "",
                                       "01",
                                       "-0",
                                       "+1",
                                       "12345678901234567890",
                                       std::string(200, 'x'),
                                       "4611686018427387903",
                                       "-4611686018427387904",
                                       "4611686018427387904",
                                       " 1"};
  for (const auto& s : in) p.InsertText(p.bytes(), s);
  EXPECT_EQ(p.count(), in.size());
  EXPECT_EQ(Forward(p), in);
  EXPECT_EQ(Backward(p), in);
  // Canonical integers are integers; the rest (leading zero, "-0", "+1",
  // out of range, spaces) stay strings.
  std::vector<PackedItem::Kind> kinds;
  for (size_t pos = 0; pos < p.bytes(); pos = p.Next(pos)) kinds.push_back(p.At(pos).kind);
  EXPECT_EQ(kinds[0], PackedItem::kInt);
  EXPECT_EQ(kinds[3], PackedItem::kInt);
  EXPECT_EQ(kinds[4], PackedItem::kInt);
  EXPECT_EQ(kinds[6], PackedItem::kString);
  EXPECT_EQ(kinds[7], PackedItem::kString);
  EXPECT_EQ(kinds[8], PackedItem::kString);
  EXPECT_EQ(kinds[9], PackedItem::kString);
  EXPECT_EQ(kinds[13], PackedItem::kInt);
}

TEST(PackedTest, AsStringKeepsIntegerTextAsString) {
  Packed p;
  p.InsertText(0, "42", true);
  EXPECT_EQ(p.At(0).kind, PackedItem::kString);
  EXPECT_EQ(p.At(0).str, "42");
}

TEST(PackedTest, SmallIntegersTakeTwoBytes) {
  Packed p;
  p.InsertText(0, "7");
  EXPECT_EQ(p.bytes(), 2u);  // header + backlen
  p.InsertText(p.bytes(), "abcdefgh");
  EXPECT_EQ(p.bytes(), 2u + 1 + 8 + 1);
}

TEST(PackedTest, DoublesKeepTheirBitsAndIntegralOnesBecomeIntegers) {
  Packed p;
  const double inf = std::numeric_limits<double>::infinity();
  for (double d : {1.5, -inf, inf, 3.0, -0.25, 1e300, 1e17, 0.1}) {
    p.InsertDouble(p.bytes(), d);
  }
  std::vector<double> out;
  std::vector<PackedItem::Kind> kinds;
  for (size_t pos = 0; pos < p.bytes(); pos = p.Next(pos)) {
    out.push_back(p.At(pos).d);
    kinds.push_back(p.At(pos).kind);
  }
  EXPECT_EQ(out, (std::vector<double>{1.5, -inf, inf, 3.0, -0.25, 1e300, 1e17, 0.1}));
  EXPECT_EQ(kinds[3], PackedItem::kInt);
  EXPECT_EQ(kinds[0], PackedItem::kDouble);
  EXPECT_EQ(kinds[6], PackedItem::kDouble);  // beyond 2^53: raw bits
}

TEST(PackedTest, InsertEraseReplaceInTheMiddle) {
  Packed p;
  for (const char* s : {"a", "b", "c", "d"}) p.InsertText(p.bytes(), s);
  p.InsertText(p.PosOf(2), "X");
  EXPECT_EQ(Forward(p), (std::vector<std::string>{"a", "b", "X", "c", "d"}));
  p.ReplaceText(p.PosOf(1), std::string(300, 'y'));  // a long entry: 2-byte header and backlen
  EXPECT_EQ(Backward(p), (std::vector<std::string>{"a", std::string(300, 'y'), "X", "c", "d"}));
  p.Erase(p.PosOf(1), 2);
  EXPECT_EQ(Forward(p), (std::vector<std::string>{"a", "c", "d"}));
  EXPECT_EQ(p.PosOf(2), p.Prev(p.bytes()));
  p.Erase(0, 3);
  EXPECT_EQ(p.count(), 0u);
  EXPECT_EQ(p.HeapBytes(), 0u);  // deletion to empty frees the buffer
}

TEST(PackedTest, ManyEntriesGrowAndStayConsistent) {
  Packed p;
  std::vector<std::string> expect;
  for (int i = 0; i < 5000; ++i) {
    std::string s = i % 3 ? "v" + std::to_string(i) : std::to_string(i * 1000003LL);
    if (i % 2) {
      p.InsertText(0, s);
      expect.insert(expect.begin(), s);
    } else {
      p.InsertText(p.bytes(), s);
      expect.push_back(s);
    }
  }
  EXPECT_EQ(Forward(p), expect);
  EXPECT_EQ(Backward(p), expect);
  std::string scratch;
  EXPECT_EQ(p.At(p.PosOf(4321)).Text(&scratch), expect[4321]);
  Packed moved = std::move(p);
  EXPECT_EQ(moved.count(), 5000u);
  EXPECT_EQ(p.count(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty
}

TEST(PackedTest, GrowsExactlyAndShrinksAfterErasing) {
  Packed p;
  for (int i = 0; i < 100; ++i) p.InsertText(p.bytes(), "element-" + std::to_string(i));
  // No slack beyond malloc's own rounding.
  EXPECT_LT(p.HeapBytes(), 8 + p.bytes() + 32);
  const size_t full = p.HeapBytes();
  p.Erase(0, 90);
  EXPECT_LT(p.HeapBytes(), full / 4);
  std::string scratch;
  EXPECT_EQ(p.At(0).Text(&scratch), "element-90");
}

TEST(PackedTest, MatchesComparesIntegersAsIntegers) {
  Packed p;
  p.InsertText(0, "10");
  p.InsertText(p.bytes(), "010");
  EXPECT_TRUE(p.At(0).Matches("10", true, 10));
  EXPECT_FALSE(p.At(0).Matches("010", false, 0));
  EXPECT_TRUE(p.At(p.Next(0)).Matches("010", false, 0));
  EXPECT_FALSE(p.At(p.Next(0)).Matches("10", true, 10));
}

}  // namespace
}  // namespace shardnode::node::types
