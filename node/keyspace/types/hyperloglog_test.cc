#include "node/keyspace/types/hyperloglog.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace shardnode::node::types {
namespace {

// FNV-1a 64 of the bytes: the reference values below were computed on the
// strings redis-server 7.0.15 stores for the same commands.
uint64_t Fnv(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string AddAll(std::string hll, const std::string& prefix, int first, int n,
                   size_t sparse_max = 3000) {
  for (int i = first; i < first + n; ++i) {
    EXPECT_GE(HllAdd(&hll, absl::StrCat(prefix, i), sparse_max), 0);
  }
  return hll;
}

TEST(HyperLogLogTest, EmptyHllIsOneXZeroOpcode) {
  const std::string h = NewHll();
  EXPECT_EQ(h, std::string("HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18));
  EXPECT_TRUE(LooksLikeHll(h));
  EXPECT_EQ(HllDecodeSparse(h), "Z:16384");
  EXPECT_EQ(HllCount(h, nullptr), 0u);
}

TEST(HyperLogLogTest, SparseBytesMatchRedis) {
  // redis-server: PFADD h a b c; PFCOUNT h; GET h.
  std::string h = NewHll();
  for (const char* e : {"a", "b", "c"}) EXPECT_EQ(HllAdd(&h, e, 3000), 1);
  EXPECT_EQ(HllAdd(&h, "a", 3000), 0);
  EXPECT_EQ(HllDecodeSparse(h), "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603");
  EXPECT_FALSE(HllCacheValid(h));
  bool invalid = false;
  EXPECT_EQ(HllCount(h, &invalid), 3u);
  EXPECT_FALSE(invalid);
  HllSetCachedCardinality(&h, 3);
  EXPECT_EQ(h, std::string("HYLL\x01\0\0\0\x03\0\0\0\0\0\0\0`\xf3\x80P\xb1\x84K\xfb\x80"
                           "BZ",
                           27));
  EXPECT_TRUE(HllCacheValid(h));
  EXPECT_EQ(HllCachedCardinality(h), 3u);
}

TEST(HyperLogLogTest, ThousandElementsStaySparseAsInRedis) {
  std::string h = AddAll(NewHll(), "e", 1, 1000);
  EXPECT_EQ(HllEncoding(h), kHllSparse);
  EXPECT_EQ(HllCount(h, nullptr), 1008u);
  HllSetCachedCardinality(&h, 1008);
  EXPECT_EQ(h.size(), 1906u);
  EXPECT_EQ(Fnv(h), 0x8b59617dea27b6b9ULL);
}

TEST(HyperLogLogTest, ManyElementsGoDenseAsInRedis) {
  std::string h = AddAll(NewHll(), "x", 0, 20000);
  EXPECT_EQ(HllEncoding(h), kHllDense);
  ASSERT_EQ(h.size(), kHllDenseSize);
  EXPECT_EQ(HllCount(h, nullptr), 19985u);
  HllSetCachedCardinality(&h, 19985);
  EXPECT_EQ(Fnv(h), 0x22b5ba47fa920c3dULL);
  // The union with the sparse one, as PFCOUNT d big answers.
  std::vector<uint8_t> max(kHllRegisters, 0);
  ASSERT_TRUE(HllMergeInto(max.data(), h));
  ASSERT_TRUE(HllMergeInto(max.data(), AddAll(NewHll(), "e", 1, 1000)));
  EXPECT_EQ(HllCountRaw(max.data()), 21054u);
}

TEST(HyperLogLogTest, SparseMaxBytesPromotesToDense) {
  // CONFIG SET hll-sparse-max-bytes 100; PFADD s y0..y59.
  std::string h = AddAll(NewHll(), "y", 0, 60, 100);
  EXPECT_EQ(HllEncoding(h), kHllDense);
  EXPECT_EQ(HllCount(h, nullptr), 60u);
  HllSetCachedCardinality(&h, 60);
  EXPECT_EQ(Fnv(h), 0x40ef36786988e31aULL);
}

TEST(HyperLogLogTest, SparseToDenseKeepsRegistersAndCount) {
  std::string h = AddAll(NewHll(), "k", 0, 300);
  std::string d = h;
  ASSERT_TRUE(HllSparseToDense(&d));
  EXPECT_EQ(HllEncoding(d), kHllDense);
  EXPECT_EQ(HllCount(h, nullptr), HllCount(d, nullptr));
  std::vector<uint8_t> a(kHllRegisters, 0), b(kHllRegisters, 0);
  ASSERT_TRUE(HllMergeInto(a.data(), h));
  ASSERT_TRUE(HllMergeInto(b.data(), d));
  EXPECT_EQ(a, b);
  for (int i = 0; i < kHllRegisters; ++i) ASSERT_EQ(HllDenseRegister(d, i), b[i]) << i;
}

TEST(HyperLogLogTest, CorruptSparseBodiesAreReported) {
  std::string h = NewHll();
  h.back() = '\x10';  // XZERO covering 16145 registers, not 16384
  bool invalid = false;
  HllCount(h, &invalid);
  EXPECT_TRUE(invalid);
  std::string d = h;
  EXPECT_FALSE(HllSparseToDense(&d));
  EXPECT_EQ(d, h);
  std::vector<uint8_t> max(kHllRegisters, 0);
  EXPECT_FALSE(HllMergeInto(max.data(), h));
  // A register past the covered ones cannot be set.
  EXPECT_EQ(HllSet(&h, 16200, 3, 3000), -1);
  // VAL runs that overflow the registers.
  std::string v = std::string("HYLL\x01\0\0\0\0\0\0\0\0\0\0\0", 16) + "\x7f\xff\x80";
  EXPECT_FALSE(HllMergeInto(max.data(), v));
}

TEST(HyperLogLogTest, HeaderChecks) {
  EXPECT_FALSE(LooksLikeHll("HYLL"));
  EXPECT_FALSE(LooksLikeHll(std::string("HYLX\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18)));
  EXPECT_FALSE(LooksLikeHll(std::string("HYLL\x02\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18)));
  // Dense must be exactly the dense size.
  EXPECT_FALSE(LooksLikeHll(std::string("HYLL\x00\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18)));
  std::string d(kHllDenseSize, '\0');
  d.replace(0, 4, "HYLL");
  EXPECT_TRUE(LooksLikeHll(d));
}

TEST(HyperLogLogTest, MurmurHashMatchesReference) {
  // Registers and runs of "a", "b", "c" in Redis (PFDEBUG DECODE above).
  std::vector<std::pair<int, int>> got;
  for (const char* e : {"a", "b", "c"}) {
    int reg;
    const int run = HllPatternLength(e, &reg);
    got.emplace_back(reg, run);
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::pair<int, int>>{{8436, 1}, {12711, 2}, {15780, 1}}));
}

TEST(HyperLogLogTest, SelfTestPasses) { EXPECT_EQ(HllSelfTest(42, 3000), ""); }

}  // namespace
}  // namespace shardnode::node::types
