#include "slots/hash_slot.h"

#include <string>

#include "gtest/gtest.h"

namespace shardnode::slots {
namespace {

TEST(HashSlotTest, Crc16CheckValue) {
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
  EXPECT_EQ(Crc16(""), 0);
}

TEST(HashSlotTest, Crc16MatchesBitwiseReference) {
  // Bit-at-a-time CRC as an independent reference for the table version.
  auto reference = [](std::string_view data) {
    uint16_t crc = 0;
    for (unsigned char c : data) {
      crc ^= static_cast<uint16_t>(c << 8);
      for (int i = 0; i < 8; ++i) {
        crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                             : static_cast<uint16_t>(crc << 1);
      }
    }
    return crc;
  };
  std::string data;
  for (int i = 0; i < 600; ++i) {
    data.push_back(static_cast<char>((i * 37 + 11) & 0xff));
    ASSERT_EQ(Crc16(data), reference(data)) << i;
  }
}

struct SlotCase {
  const char* key;
  const char* hashed;
  int slot;
};

TEST(HashSlotTest, SpecTable) {
  const SlotCase cases[] = {
      {"foo", "foo", 12182},
      {"bar", "bar", 5061},
      {"hello", "hello", 866},
      {"123456789", "123456789", 12739},
      {"{user1000}.following", "user1000", 3443},
      {"foo{}{bar}", "foo{}{bar}", 8363},
      {"foo{{bar}}zap", "{bar", 4015},
      {"foo{bar}{zap}", "bar", 5061},
      {"{}", "{}", 15257},
      {"{bar", "{bar", 4015},
      {"", "", 0},
  };
  for (const SlotCase& c : cases) {
    EXPECT_EQ(HashTag(c.key), c.hashed) << c.key;
    EXPECT_EQ(KeyHashSlot(c.key), c.slot) << c.key;
  }
}

TEST(HashSlotTest, BinaryKeys) {
  std::string key("a\0b{x\0y}", 8);
  EXPECT_EQ(HashTag(key), std::string_view("x\0y", 3));
  EXPECT_EQ(KeyHashSlot(key), Crc16(std::string_view("x\0y", 3)) & 0x3FFF);
}

// KeyHashSlot remembers the last key; alternating keys of equal length and
// keys reused in one buffer must still hash by their current bytes.
TEST(HashSlotTest, RepeatedAndAlternatingKeysKeepTheirSlots) {
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(KeyHashSlot("foo"), 12182);
    EXPECT_EQ(KeyHashSlot("foo"), 12182);
    EXPECT_EQ(KeyHashSlot("bar"), 5061);
    EXPECT_EQ(KeyHashSlot("{bar"), 4015);
    EXPECT_EQ(KeyHashSlot(""), 0);
  }
  std::string buffer = "foo";
  EXPECT_EQ(KeyHashSlot(buffer), 12182);
  buffer = "bar";  // same storage, same length, new bytes
  EXPECT_EQ(KeyHashSlot(buffer), 5061);
  const std::string long_key(100, 'k');  // longer than the cache holds
  EXPECT_EQ(KeyHashSlot(long_key), KeyHashSlot(long_key));
  EXPECT_EQ(KeyHashSlot(long_key), Crc16(long_key) & 16383);
}

}  // namespace
}  // namespace shardnode::slots
