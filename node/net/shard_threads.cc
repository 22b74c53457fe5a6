#include "node/net/shard_threads.h"

#include <pthread.h>

#include <boost/asio/post.hpp>
#include <string>

namespace shardnode::node {

ShardThreads::Loop::Loop()
    : io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO), work(boost::asio::make_work_guard(io)) {}

ShardThreads::ShardThreads(int count) {
  for (int i = 0; i < count; ++i) {
    auto loop = std::make_unique<Loop>();
    boost::asio::io_context* io = &loop->io;
    loop->thread = std::thread([io]() { io->run(); });
    // "shard-0", "shard-1"...: thread i serves keyspace shard i (top -H,
    // gdb); the control loop keeps the process's name.
    const std::string name = "shard-" + std::to_string(i);
    pthread_setname_np(loop->thread.native_handle(), name.c_str());
    loops_.push_back(std::move(loop));
  }
}

ShardThreads::~ShardThreads() { Stop(); }

void ShardThreads::Stop() {
  ReleaseAll();
  stopped_ = true;
  for (auto& loop : loops_) {
    loop->work.reset();
    loop->io.stop();
  }
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
}

}  // namespace shardnode::node

namespace shardnode::node {

void ShardThreads::ParkAll() {
  if (parked_ || stopped_ || loops_.empty()) return;
  uint64_t step;
  {
    std::lock_guard<std::mutex> lock(step_mu_);
    step = ++generation_;
    arrived_ = 0;
  }
  for (auto& loop : loops_) {
    boost::asio::post(loop->io, [this, step]() {
      std::unique_lock<std::mutex> lock(step_mu_);
      if (released_ >= step) return;  // the step ended before this ran
      ++arrived_;
      step_cv_.notify_all();
      step_cv_.wait(lock, [this, step]() { return released_ >= step; });
    });
  }
  std::unique_lock<std::mutex> lock(step_mu_);
  step_cv_.wait(lock, [this]() { return arrived_ == static_cast<int>(loops_.size()); });
  parked_ = true;
  ++steps_;
}

void ShardThreads::ReleaseAll() {
  if (!parked_) return;
  {
    std::lock_guard<std::mutex> lock(step_mu_);
    released_ = generation_;
  }
  step_cv_.notify_all();
  parked_ = false;
}

void ShardThreads::StepUntilIdle(boost::asio::io_context& control) {
  if (parked_ || stopped_ || loops_.empty()) return;
  ParkAll();
  boost::asio::post(control, [this]() { ReleaseAll(); });
}

}  // namespace shardnode::node
