#include "node/server/memory_counter.h"

#include <memory>
#include <thread>

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

// The evictor measures what evicting a key freed by this thread's count:
// another thread's allocations in between must not show in it (with shard
// threads, a read allocating beside an eviction made the key look as if it
// freed nothing, and the evictor went on until the dataset was gone).
TEST(MemoryCounterTest, ThreadNetCountsOnlyTheCallingThreadsWork) {
  constexpr size_t kBlock = 1 << 20;
  const size_t used_before = UsedMemory();
  const int64_t mine_before = ThreadNetAllocated();
  std::unique_ptr<char[]> block;
  std::thread other([&block]() { block = std::make_unique<char[]>(kBlock); });
  other.join();
  EXPECT_GE(UsedMemory(), used_before + kBlock);
  // (Starting the thread allocates a few bytes here; its megabyte is not.)
  EXPECT_LT(ThreadNetAllocated() - mine_before, 4096);
  // Freed here: this thread gave it back, whoever allocated it.
  block.reset();
  EXPECT_LE(ThreadNetAllocated(), mine_before - static_cast<int64_t>(kBlock));
  const int64_t mine_after_free = ThreadNetAllocated();
  auto own = std::make_unique<char[]>(kBlock);
  EXPECT_GE(ThreadNetAllocated(), mine_after_free + static_cast<int64_t>(kBlock));
}

}  // namespace
}  // namespace shardnode::node
