#include "node/net/shard_threads.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <set>
#include <thread>

namespace shardnode::node {
namespace {

namespace asio = boost::asio;

TEST(ShardThreadsTest, NoneAtThreadsOne) {
  ShardThreads threads(0);
  EXPECT_EQ(threads.size(), 0);
  threads.Stop();
}

TEST(ShardThreadsTest, EachLoopRunsOnItsOwnThread) {
  ShardThreads threads(3);
  ASSERT_EQ(threads.size(), 3);
  std::set<std::thread::id> ids;
  for (int i = 0; i < threads.size(); ++i) {
    std::promise<std::thread::id> where;
    auto got = where.get_future();
    asio::post(threads.io(i), [&where]() { where.set_value(std::this_thread::get_id()); });
    ASSERT_EQ(got.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    ids.insert(got.get());
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_FALSE(ids.contains(std::this_thread::get_id()));
}

// Posts from other threads run in each loop's order.
TEST(ShardThreadsTest, PostsFromOtherThreadsRunInOrder) {
  ShardThreads threads(2);
  std::vector<int> seen[2];
  std::atomic<int> done{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < 2; ++t) {
    posters.emplace_back([&threads, &seen, &done, t]() {
      for (int k = 0; k < 1000; ++k) {
        asio::post(threads.io(t), [&seen, &done, t, k]() {
          seen[t].push_back(k);
          if (k == 999) done.fetch_add(1);
        });
      }
    });
  }
  for (auto& p : posters) p.join();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (done.load() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  threads.Stop();  // joins: the loops' writes are visible now
  for (int t = 0; t < 2; ++t) {
    ASSERT_EQ(seen[t].size(), 1000u);
    for (int k = 0; k < 1000; ++k) EXPECT_EQ(seen[t][static_cast<size_t>(k)], k);
  }
}

// Handlers still queued at Stop are not run; what they hold is freed when
// the ShardThreads goes.
TEST(ShardThreadsTest, QueuedHandlersAreFreedNotRun) {
  auto held = std::make_shared<int>(7);
  std::atomic<bool> ran{false};
  {
    ShardThreads threads(1);
    std::promise<void> release;
    auto released = release.get_future().share();
    asio::post(threads.io(0), [released]() { released.wait(); });
    asio::post(threads.io(0), [held, &ran]() { ran = true; });
    EXPECT_EQ(held.use_count(), 2);
    std::thread stopper([&threads]() { threads.Stop(); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!threads.io(0).stopped() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    release.set_value();
    stopper.join();
  }
  EXPECT_FALSE(ran.load());
  EXPECT_EQ(held.use_count(), 1);
}

// Waits (bounded) until `done` holds.
template <typename Done>
bool PollUntil(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// While the step holds, nothing posted to a shard thread runs, and the
// handler that was running when it began has finished; after the release
// the queues go on in order.
TEST(GlobalStepTest, ParkAllStopsEveryThreadBetweenHandlers) {
  ShardThreads threads(3);
  std::atomic<bool> long_started{false};
  std::atomic<bool> long_done{false};
  asio::post(threads.io(1), [&]() {
    long_started = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    long_done = true;
  });
  ASSERT_TRUE(PollUntil([&]() { return long_started.load(); }));
  threads.ParkAll();
  EXPECT_TRUE(threads.parked());
  EXPECT_TRUE(long_done.load());  // the running handler ended first
  EXPECT_EQ(threads.steps(), 1u);

  std::atomic<int> ran{0};
  for (int i = 0; i < threads.size(); ++i) asio::post(threads.io(i), [&ran]() { ++ran; });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(ran.load(), 0);
  threads.ParkAll();  // already parked: no new step
  EXPECT_EQ(threads.steps(), 1u);

  threads.ReleaseAll();
  EXPECT_FALSE(threads.parked());
  EXPECT_TRUE(PollUntil([&]() { return ran.load() == 3; }));
}

// What the control loop writes during a step, shard threads read after it
// without a lock, and the other way round (TSan checks the hand-over), over
// many steps in a row with the threads busy between them.
TEST(GlobalStepTest, StepsOrderTheControlLoopWithTheShardThreads) {
  ShardThreads threads(3);
  std::vector<int64_t> cells(3, 0);  // cell i: written by thread i, and in steps
  std::atomic<bool> stop{false};
  std::atomic<int> busy{0};
  // Each thread keeps adding 1 to its own cell, one handler at a time.
  std::vector<std::function<void()>> loops(3);
  for (int i = 0; i < 3; ++i) {
    loops[static_cast<size_t>(i)] = [&, i]() {
      if (stop) {
        --busy;
        return;
      }
      ++cells[static_cast<size_t>(i)];
      asio::post(threads.io(i), loops[static_cast<size_t>(i)]);
    };
    ++busy;
    asio::post(threads.io(i), loops[static_cast<size_t>(i)]);
  }
  for (int round = 0; round < 300; ++round) {
    threads.ParkAll();
    // Parked: the cells stand still and belong to this thread.
    const std::vector<int64_t> before = cells;
    for (auto& c : cells) c += 1000;
    for (size_t i = 0; i < cells.size(); ++i) EXPECT_EQ(cells[i], before[i] + 1000);
    threads.ReleaseAll();
  }
  EXPECT_EQ(threads.steps(), 300u);
  stop = true;
  ASSERT_TRUE(PollUntil([&]() { return busy.load() == 0; }));
  threads.ParkAll();
  for (const int64_t c : cells) EXPECT_GT(c, 300 * 1000);
  threads.ReleaseAll();
}

// The lazy form: the step lasts until the control loop's current handler
// has ended, then the queued release lets the shard threads go.
TEST(GlobalStepTest, StepUntilIdleEndsAfterTheCurrentHandler) {
  ShardThreads threads(2);
  asio::io_context control;
  std::atomic<int> ran{0};
  bool parked_in_handler = false;
  bool parked_in_next = false;
  asio::post(control, [&]() {
    threads.StepUntilIdle(control);
    threads.StepUntilIdle(control);  // once per step
    parked_in_handler = threads.parked();
    asio::post(threads.io(0), [&ran]() { ++ran; });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(ran.load(), 0);
  });
  control.run_one();
  EXPECT_TRUE(parked_in_handler);
  EXPECT_EQ(threads.steps(), 1u);
  asio::post(control, [&]() { parked_in_next = threads.parked(); });
  control.run();  // the release, then the handler posted after it
  EXPECT_FALSE(parked_in_next);
  EXPECT_FALSE(threads.parked());
  EXPECT_TRUE(PollUntil([&]() { return ran.load() == 1; }));
}

// Stop ends a step in progress (the parked threads must be joinable), and
// after it there is nothing to park.
TEST(GlobalStepTest, StopEndsTheStep) {
  ShardThreads threads(2);
  threads.ParkAll();
  threads.Stop();
  EXPECT_FALSE(threads.parked());
  threads.ParkAll();
  EXPECT_FALSE(threads.parked());
}

// At threads 1 there is no shard thread: a step is nothing.
TEST(GlobalStepTest, NothingToParkAtThreadsOne) {
  ShardThreads threads(0);
  threads.ParkAll();
  EXPECT_FALSE(threads.parked());
  EXPECT_EQ(threads.steps(), 0u);
}

}  // namespace
}  // namespace shardnode::node
