#include "node/migrate/value_dumper.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

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
