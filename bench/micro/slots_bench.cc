// Micro-benchmarks of the key -> slot mapping: CRC16 over short and long
// inputs, hash-tag extraction, and KeyHashSlot on typical keys.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "slots/hash_slot.h"

namespace shardnode::slots {
namespace {

// CRC16 over a buffer of state.range(0) bytes.
void BM_Crc16(benchmark::State& state) {
  const std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(Crc16(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Crc16)->Arg(8)->Arg(16)->Arg(64)->Arg(1024);

std::vector<std::string> MakeKeys(const std::string& prefix, int n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (int i = 0; i < n; ++i) keys.push_back(prefix + std::to_string(i));
  return keys;
}

// "key:__rand_int__"-shaped keys as redis-benchmark sends them.
void BM_KeyHashSlotPlain(benchmark::State& state) {
  const std::vector<std::string> keys = MakeKeys("key:0000", 1024);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(KeyHashSlot(keys[i]));
    i = (i + 1) & 1023;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeyHashSlotPlain);

// Keys with a hash tag: only the tag is hashed.
void BM_KeyHashSlotTagged(benchmark::State& state) {
  const std::vector<std::string> keys = MakeKeys("{user1000}:profile:", 1024);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(KeyHashSlot(keys[i]));
    i = (i + 1) & 1023;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeyHashSlotTagged);

void BM_HashTag(benchmark::State& state) {
  const std::string key = "session:{user1000}:cart:items";
  for (auto _ : state) benchmark::DoNotOptimize(HashTag(key));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HashTag);

}  // namespace
}  // namespace shardnode::slots
