#include "replication/crc64.h"

#include <string>

#include "gtest/gtest.h"

namespace shardnode::replication {
namespace {

TEST(Crc64Test, MatchesTheJonesCheckValue) {
  EXPECT_EQ(Crc64(0, "123456789"), 0xE9C6D914C4B8D9CAULL);
}

TEST(Crc64Test, EmptyInputKeepsTheCrc) {
  EXPECT_EQ(Crc64(0, ""), 0u);
  EXPECT_EQ(Crc64(0x1234, ""), 0x1234u);
}

TEST(Crc64Test, ContinuesAcrossEverySplitPoint) {
  std::string data;
  for (int i = 0; i < 100; ++i) data.push_back(static_cast<char>(i * 37 + 11));
  const uint64_t whole = Crc64(0, data);
  for (size_t split = 0; split <= data.size(); ++split) {
    absl::string_view v(data);
    EXPECT_EQ(Crc64(Crc64(0, v.substr(0, split)), v.substr(split)), whole) << split;
  }
}

TEST(Crc64Test, MatchesTheDumpPayloadVectorFromRedis) {
  // DUMP of the string "bar" on 7.0.15: the CRC covers type, value, version.
  const std::string covered(
      "\x00\x03"
      "bar\x0A\x00",
      7);
  EXPECT_EQ(Crc64(0, covered), 0x17FD66EE6049BEE6ULL);
}

}  // namespace
}  // namespace shardnode::replication
