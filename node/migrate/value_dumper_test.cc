#include "node/migrate/value_dumper.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/persist/dataset.h"
#include "replication/rdb.h"

namespace shardnode::node::migrate {
namespace {

using replication::RdbValue;

// RdbValue with collections in a canonical order (hash, set and zset order
// depends on the encoding).
RdbValue Canonical(RdbValue v) {
  std::sort(v.fields.begin(), v.fields.end());
  if (v.type == replication::RdbType::kSet) std::sort(v.elements.begin(), v.elements.end());
  std::sort(v.zset.begin(), v.zset.end());
  return v;
}

// Dumps `value` with ValueDumper in steps of `budget`, counting the steps.
std::string DumpInSteps(const Value& value, size_t budget, int* steps) {
  ValueDumper d(value, {});
  *steps = 0;
  while (!d.Step(budget)) ++*steps;
  ++*steps;
  return d.TakePayload();
}

void ExpectRoundTrip(const RdbValue& original, size_t budget, int min_steps) {
  const Value value = persist::FromRdbValue(original);
  int steps = 0;
  const std::string payload = DumpInSteps(value, budget, &steps);
  absl::StatusOr<RdbValue> back = replication::ParseDumpPayload(payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(Canonical(*back), Canonical(original));
  EXPECT_GE(steps, min_steps);
}

TEST(ValueDumperTest, SmallValuesAreDumpedAsDumpDoes) {
  for (const RdbValue& v :
       {RdbValue::String("bar"), RdbValue::String("12345"), RdbValue::List({"a", "b", "1"}),
        RdbValue::Set({"1", "2", "3"}), RdbValue::Set({"x", "y"}),
        RdbValue::Hash({{"f", "v"}, {"g", "w"}}), RdbValue::ZSet({{"m", 1.5}, {"n", -2}})}) {
    const Value value = persist::FromRdbValue(v);
    ValueDumper d(value, {});
    EXPECT_FALSE(d.sliced());
    EXPECT_TRUE(d.Step(1));
    EXPECT_EQ(d.TakePayload(), replication::DumpPayload(persist::ToRdbValue(value)));
  }
}

TEST(ValueDumperTest, BigCollectionsAreDumpedInSlices) {
  const size_t n = ValueDumper::kSliceElements * 5 + 7;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::string> members;
  std::vector<std::string> elements;
  std::vector<std::pair<std::string, double>> scored;
  for (size_t i = 0; i < n; ++i) {
    fields.emplace_back(absl::StrCat("field:", i), absl::StrCat("value:", i * 7));
    members.push_back(absl::StrCat("member:", i));
    elements.push_back(i % 3 == 0 ? absl::StrCat(i) : absl::StrCat("element:", i));
    scored.emplace_back(absl::StrCat("m", i), static_cast<double>(i % 97) / 4);
  }
  // 100 elements a step: at least n / 100 steps each.
  ExpectRoundTrip(RdbValue::Hash(fields), 100, static_cast<int>(n / 100));
  ExpectRoundTrip(RdbValue::Set(members), 100, static_cast<int>(n / 100));
  ExpectRoundTrip(RdbValue::List(elements), 100, static_cast<int>(n / 100));
  ExpectRoundTrip(RdbValue::ZSet(scored), 100, static_cast<int>(n / 100));
}

TEST(ValueDumperTest, BigStringsAreCopiedInChunks) {
  std::string big(ValueDumper::kSliceStringBytes * 2 + 5, 'x');
  for (size_t i = 0; i < big.size(); i += 1000) big[i] = static_cast<char>('a' + i % 26);
  // One chunk a step.
  ExpectRoundTrip(RdbValue::String(big), 1,
                  static_cast<int>(big.size() / ValueDumper::kStringChunk));
}

// Dumps `value` in steps of `budget`, keeping the chunks.
std::vector<std::string> DumpChunks(const Value& value, size_t budget,
                                    replication::RdbWriterOptions options = {}) {
  ValueDumper d(value, options);
  while (!d.Step(budget)) {
  }
  size_t total = 0;
  std::vector<std::string> chunks = d.TakeChunks();
  for (const std::string& c : chunks) total += c.size();
  EXPECT_EQ(total, d.payload_size());
  return chunks;
}

std::string Join(const std::vector<std::string>& chunks) {
  std::string out;
  for (const std::string& c : chunks) out += c;
  return out;
}

TEST(ValueDumperTest, ChunksJoinedAreTheWholePayloadByteForByte) {
  const size_t n = ValueDumper::kSliceElements * 20 + 3;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::string> elements;
  std::vector<std::pair<std::string, double>> scored;
  for (size_t i = 0; i < n; ++i) {
    fields.emplace_back(absl::StrCat("field:", i),
                        std::string(100, static_cast<char>('a' + i % 26)));
    elements.push_back(absl::StrCat("element:", i));
    scored.emplace_back(absl::StrCat("m", i), static_cast<double>(i % 101) / 8);
  }
  for (const RdbValue& v : {RdbValue::Hash(fields), RdbValue::Set(elements), RdbValue::ZSet(scored),
                            RdbValue::List(elements)}) {
    const Value value = persist::FromRdbValue(v);
    // In slices of 50 elements: many chunks, none holding more than a
    // slice's bytes (a hash slice may end a bucket later).
    const std::vector<std::string> chunks = DumpChunks(value, 50);
    EXPECT_GE(chunks.size(), n / 100);
    for (size_t i = 0; i + 1 < chunks.size(); ++i) EXPECT_LE(chunks[i].size(), 100u * 200u);
    // In one step: one chunk, the same bytes.
    const std::vector<std::string> whole = DumpChunks(value, n + 1);
    ASSERT_EQ(whole.size(), 1u);
    EXPECT_EQ(Join(chunks), whole[0]);
    // And what DUMP writes for the same value with the elements in the same
    // order, checksum included (the CRC64 run over the chunks is the CRC64
    // of the whole). Not for lists: DUMP writes a quicklist, the slices the
    // plain LIST form that Redis also loads.
    if (v.type == replication::RdbType::kList) continue;
    absl::StatusOr<RdbValue> back = replication::ParseDumpPayload(whole[0]);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(replication::DumpPayload(*back), whole[0]);
  }
}

TEST(ValueDumperTest, BigStringChunksAreDumpsBytes) {
  std::string big(ValueDumper::kSliceStringBytes * 3 + 11, 'q');
  for (size_t i = 0; i < big.size(); i += 777) big[i] = static_cast<char>(i % 251);
  const Value value = persist::FromRdbValue(RdbValue::String(big));
  const std::vector<std::string> chunks = DumpChunks(value, 2);
  EXPECT_GE(chunks.size(), big.size() / (2 * ValueDumper::kStringChunk));
  // Strings in slices are written uncompressed, as DUMP writes them with
  // rdbcompression off.
  EXPECT_EQ(Join(chunks), replication::DumpPayload(RdbValue::String(big), {.compression = false}));
}

TEST(ValueDumperTest, RedisOrderForSortedSets) {
  std::vector<std::pair<std::string, double>> scored;
  for (size_t i = 0; i < ValueDumper::kSliceElements + 1; ++i) {
    scored.emplace_back(absl::StrCat("m", i), static_cast<double>(i));
  }
  const Value value = persist::FromRdbValue(RdbValue::ZSet(scored));
  int steps = 0;
  absl::StatusOr<RdbValue> back = replication::ParseDumpPayload(DumpInSteps(value, 10, &steps));
  ASSERT_TRUE(back.ok()) << back.status();
  // The reader keeps the file's order: highest score first.
  ASSERT_EQ(back->zset.size(), scored.size());
  EXPECT_EQ(back->zset.front().second, static_cast<double>(scored.size() - 1));
  EXPECT_EQ(back->zset.back().second, 0.0);
}

}  // namespace
}  // namespace shardnode::node::migrate
