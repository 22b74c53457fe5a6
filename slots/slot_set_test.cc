#include "slots/slot_set.h"

#include "gtest/gtest.h"

namespace shardnode::slots {
namespace {

TEST(SlotSetTest, SetClearTestCount) {
  SlotSet s;
  EXPECT_TRUE(s.Empty());
  EXPECT_EQ(s.Count(), 0);
  s.Set(0);
  s.Set(9);
  s.Set(16383);
  EXPECT_TRUE(s.Test(0));
  EXPECT_TRUE(s.Test(9));
  EXPECT_FALSE(s.Test(8));
  EXPECT_EQ(s.Count(), 3);
  s.Clear(9);
  EXPECT_FALSE(s.Test(9));
  EXPECT_EQ(s.Count(), 2);
  EXPECT_FALSE(s.Empty());
}

TEST(SlotSetTest, BusByteLayoutIsLsbFirst) {
  SlotSet s;
  s.Set(0);
  s.Set(9);
  s.Set(16383);
  EXPECT_EQ(s.bytes()[0], 0x01);
  EXPECT_EQ(s.bytes()[1], 0x02);
  EXPECT_EQ(s.bytes()[SlotSet::kBytes - 1], 0x80);
  SlotSet copy = SlotSet::FromBytes(s.bytes());
  EXPECT_EQ(copy, s);
}

TEST(SlotSetTest, RangesAreMaximalRuns) {
  SlotSet s;
  s.SetRange(0, 5460);
  s.Set(5462);
  s.SetRange(16000, 16383);
  std::vector<SlotRange> want = {{0, 5460}, {5462, 5462}, {16000, 16383}};
  EXPECT_EQ(s.Ranges(), want);
  EXPECT_EQ(s.Format(), "0-5460 5462 16000-16383");
  EXPECT_EQ(s.Count(), 5461 + 1 + 384);
}

TEST(SlotSetTest, RangesMatchASlotBySlotWalkAtWordEdges) {
  auto walk = [](const SlotSet& s) {
    std::vector<SlotRange> out;
    for (int i = 0; i < kNumSlots; ++i) {
      if (!s.Test(i)) continue;
      if (!out.empty() && out.back().end == i - 1) {
        out.back().end = i;
      } else {
        out.push_back({i, i});
      }
    }
    return out;
  };
  SlotSet edges;
  for (int i : {0, 63, 64, 127, 129, 191, 192, 193, 16320, 16383}) edges.Set(i);
  edges.SetRange(250, 700);    // across several words
  edges.SetRange(1000, 1023);  // ends on a word's last bit
  EXPECT_EQ(edges.Ranges(), walk(edges));
  uint32_t x = 12345;
  for (int round = 0; round < 50; ++round) {
    SlotSet s;
    for (int i = 0; i < kNumSlots; ++i) {
      x = x * 1103515245u + 12345u;
      // Densities from none to nearly all slots.
      if ((x >> 16) % 100 < static_cast<uint32_t>(round * 2)) s.Set(i);
    }
    EXPECT_EQ(s.Ranges(), walk(s)) << "round " << round;
  }
}

TEST(SlotSetTest, FullAndEmptyFormat) {
  SlotSet s;
  EXPECT_EQ(s.Format(), "");
  EXPECT_TRUE(s.Ranges().empty());
  s.SetRange(0, kNumSlots - 1);
  EXPECT_EQ(s.Format(), "0-16383");
  EXPECT_EQ(s.Count(), kNumSlots);
}

TEST(SlotSetTest, ParseRoundTrip) {
  auto parsed = SlotSet::Parse("0-5460 5462  7000-7001");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->Format(), "0-5460 5462 7000-7001");
  EXPECT_EQ(parsed->Count(), 5461 + 1 + 2);
}

TEST(SlotSetTest, ParseRejectsBadTokens) {
  for (const char* bad : {"16384", "5-3", "x", "1-", "-1", "1-16384", "12a"}) {
    std::string token;
    EXPECT_FALSE(SlotSet::Parse(std::string("0 ") + bad, &token).has_value()) << bad;
    EXPECT_EQ(token, bad);
  }
}

TEST(SlotSetTest, ParseSlot) {
  EXPECT_EQ(ParseSlot("0"), 0);
  EXPECT_EQ(ParseSlot("16383"), 16383);
  EXPECT_EQ(ParseSlot("16384"), -1);
  EXPECT_EQ(ParseSlot(""), -1);
  EXPECT_EQ(ParseSlot("-1"), -1);
  EXPECT_EQ(ParseSlot("+1"), -1);
}

}  // namespace
}  // namespace shardnode::slots
