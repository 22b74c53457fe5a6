// ShardThreads: the threads that run beside the control loop at `threads N`
// (N > 1): N - 1 io_contexts, each run by a thread of its own until Stop.
//
// What runs on them today (step A of shard.h's plan): the sockets of the
// client connections the NetServer spreads over them (reads, sends, closes;
// net_server.cc). Every command still runs on the control loop, which owns
// the sessions, query buffers and replies; a connection's thread and the
// control loop hand bytes to each other by posting.
//
// Each io_context is run by exactly one thread, so its reactor needs no
// locking (as the control loop's); other threads only post to it, which its
// scheduler keeps safe. An I/O object of one of these contexts is touched
// only from its thread (created unopened elsewhere is fine).
//
// Lifetime: Stop (or the destructor) stops every loop and joins its thread;
// handlers still queued are destroyed with the io_contexts, so whatever
// they hold (connections) must not need another loop to be freed.
// Loop: constructed, stopped and destroyed on the control loop's thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace shardnode::node {

class ShardThreads {
 public:
  // Starts `count` threads (0: none, the `threads 1` model).
  explicit ShardThreads(int count);
  ~ShardThreads();
  ShardThreads(const ShardThreads&) = delete;
  ShardThreads& operator=(const ShardThreads&) = delete;

  int size() const { return static_cast<int>(loops_.size()); }
  // The i-th thread's loop, 0 <= i < size().
  boost::asio::io_context& io(int i) { return loops_[static_cast<size_t>(i)]->io; }
  // Stops every loop (queued handlers are not run) and joins the threads.
  // Idempotent.
  void Stop();

 private:
  struct Loop {
    Loop();
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace shardnode::node
