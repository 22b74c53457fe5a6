#include "node/net/shard_threads.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
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

}  // namespace
}  // namespace shardnode::node
