// ShardThreads: the threads that run beside the control loop at `threads N`
// (N > 1): N - 1 io_contexts, each run by a thread of its own until Stop.
//
// What runs on them (shard.h): the sockets of the client connections the
// NetServer spreads over them (reads, sends, closes; net_server.cc) and,
// while Server::shard_commands is on, the plain data commands of thread i's
// keyspace shard i; a connection's thread, the other shard threads and the
// control loop hand a connection's chunk to each other by posting.
//
// Each io_context is run by exactly one thread, so its reactor needs no
// locking (as the control loop's); other threads only post to it, which its
// scheduler keeps safe. An I/O object of one of these contexts is touched
// only from its thread (created unopened elsewhere is fine).
//
// The global step (shard.h's plan for running commands on these threads):
// ParkAll stops every shard thread between two of its handlers and returns
// once all of them wait, so the control loop may touch any shard's data and
// sessions until ReleaseAll. StepUntilIdle is the lazy form the accessors
// are to use: it parks unless parked already and releases when the control
// loop's current handler (and what was queued before it) has run.
//
// Lifetime: Stop (or the destructor) stops every loop and joins its thread;
// handlers still queued are destroyed with the io_contexts, so whatever
// they hold (connections) must not need another loop to be freed.
// Loop: constructed, stopped and destroyed on the control loop's thread;
// the step's calls are the control loop's too.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
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
  // A step in progress ends first. Idempotent.
  void Stop();

  // The global step. ParkAll returns once every shard thread has finished
  // the handler it was running and waits in the step's own handler (queued
  // behind whatever was posted to it before); nothing else runs on them
  // until ReleaseAll. A no-op while parked, or with no shard thread.
  // REQUIRES: not called from a shard thread (it would wait for itself).
  // After Stop there is nothing to park: a no-op.
  void ParkAll();
  // Ends the step: the shard threads go on with their queues. A no-op when
  // not parked.
  void ReleaseAll();
  bool parked() const { return parked_; }
  // Parks (unless parked already) and posts ReleaseAll to `control`, the
  // control loop: the step lasts until the control loop's current handler
  // and everything queued before the release have run, so its callers need
  // not end it themselves (nor keep a reference into a shard's data across
  // a co_await: a later handler may run outside the step).
  void StepUntilIdle(boost::asio::io_context& control);
  // Steps taken since the start (ParkAll calls that parked): for tests and
  // INFO.
  uint64_t steps() const { return steps_; }

 private:
  struct Loop {
    Loop();
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops_;

  // The step's handshake. `generation_` numbers the steps; a thread's park
  // handler counts itself in `arrived_` if it belongs to the current step
  // and waits until `released_` reaches its step's number (a late handler
  // of an earlier step leaves at once).
  std::mutex step_mu_;
  std::condition_variable step_cv_;
  uint64_t generation_ = 0;  // guarded by step_mu_
  uint64_t released_ = 0;    // guarded by step_mu_
  int arrived_ = 0;          // guarded by step_mu_
  bool parked_ = false;      // the control loop's
  bool stopped_ = false;     // the control loop's
  uint64_t steps_ = 0;       // the control loop's
};

}  // namespace shardnode::node
