// Keyspace micro-benchmarks: Db SET and GET over 1M keys (the per-slot
// tables, lazy-expiry check and Value encoding on the hot path), plus SCAN
// and the Dict alone.
#include <cstdint>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "node/keyspace/db.h"
#include "node/keyspace/dict.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;
constexpr int kKeys = 1'000'000;

std::vector<std::string> MakeKeys(int n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (int i = 0; i < n; ++i) keys.push_back("key:" + std::to_string(i));
  return keys;
}

const std::vector<std::string>& Keys() {
  static const std::vector<std::string> keys = MakeKeys(kKeys);
  return keys;
}

// Inserts 1M fresh keys per iteration (a new Db each time).
void BM_DbSetFresh(benchmark::State& state) {
  const auto& keys = Keys();
  for (auto _ : state) {
    Db db;
    for (const std::string& k : keys) db.Set(k, Value::FromStringTryInt("value-1234"), kNow);
    benchmark::DoNotOptimize(db.Size());
  }
  state.SetItemsProcessed(state.iterations() * kKeys);
}
BENCHMARK(BM_DbSetFresh)->Unit(benchmark::kMillisecond);

// Overwrites existing keys in a 1M-key Db.
void BM_DbSetOverwrite(benchmark::State& state) {
  const auto& keys = Keys();
  Db db;
  for (const std::string& k : keys) db.Set(k, Value::FromString("v"), kNow);
  size_t i = 0;
  for (auto _ : state) {
    db.Set(keys[i], Value::FromStringTryInt("value-1234"), kNow);
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DbSetOverwrite);

void BM_DbGet(benchmark::State& state) {
  const auto& keys = Keys();
  Db db;
  for (const std::string& k : keys) db.Set(k, Value::FromString("value-1234"), kNow);
  size_t i = 0;
  std::string scratch;
  for (auto _ : state) {
    Entry* e = db.FindRead(keys[i], kNow);
    benchmark::DoNotOptimize(e->value().View(&scratch));
    if (++i == keys.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DbGet);

void BM_DbGetMiss(benchmark::State& state) {
  const auto& keys = Keys();
  Db db;
  for (const std::string& k : keys) db.Set(k, Value::FromString("value-1234"), kNow);
  const std::string missing = "missing-key";
  for (auto _ : state) benchmark::DoNotOptimize(db.FindRead(missing, kNow));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DbGetMiss);

// A full SCAN of 1M keys, COUNT 100 per call.
void BM_DbScanAll(benchmark::State& state) {
  const auto& keys = Keys();
  Db db;
  for (const std::string& k : keys) db.Set(k, Value::FromString("v"), kNow);
  for (auto _ : state) {
    uint64_t cursor = 0;
    size_t n = 0;
    do {
      cursor = db.Scan(cursor, 100, kNow, [&](const Entry&) { ++n; });
    } while (cursor != 0);
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations() * kKeys);
}
BENCHMARK(BM_DbScanAll)->Unit(benchmark::kMillisecond);

void BM_StringMapInsert(benchmark::State& state) {
  const auto& keys = Keys();
  for (auto _ : state) {
    StringMap<int> m;
    for (int i = 0; i < 100'000; ++i) m.Set(keys[i], i);
    benchmark::DoNotOptimize(m.size());
  }
  state.SetItemsProcessed(state.iterations() * 100'000);
}
BENCHMARK(BM_StringMapInsert)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace shardnode::node
