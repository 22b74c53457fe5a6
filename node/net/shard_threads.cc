#include "node/net/shard_threads.h"

#include <pthread.h>

#include <string>

namespace shardnode::node {

ShardThreads::Loop::Loop()
    : io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO), work(boost::asio::make_work_guard(io)) {}

ShardThreads::ShardThreads(int count) {
  for (int i = 0; i < count; ++i) {
    auto loop = std::make_unique<Loop>();
    boost::asio::io_context* io = &loop->io;
    loop->thread = std::thread([io]() { io->run(); });
    // "shard-1", "shard-2"...: the control loop is shard 0 (top -H, gdb).
    const std::string name = "shard-" + std::to_string(i + 1);
    pthread_setname_np(loop->thread.native_handle(), name.c_str());
    loops_.push_back(std::move(loop));
  }
}

ShardThreads::~ShardThreads() { Stop(); }

void ShardThreads::Stop() {
  for (auto& loop : loops_) {
    loop->work.reset();
    loop->io.stop();
  }
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
}

}  // namespace shardnode::node
