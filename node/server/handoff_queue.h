// HandoffQueue: what shard threads hand to the control loop for it to
// deliver in their order (keyspace events to publish, MONITOR lines to
// send): one vector under one mutex, so the items of commands run on
// several shard threads keep the order the commands ran in.
//
// The control loop takes the items before anything else it does (NetServer's
// global step, and the wake posted when the queue stops being empty), so
// what it does itself comes after what the shard threads did before.
//
// Threads: Push from any thread; TakeAll on the control loop.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace shardnode::node {

template <typename T>
class HandoffQueue {
 public:
  // Any thread. Wakes the control loop when the queue was empty.
  void Push(T item) {
    bool was_empty = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      was_empty = items_.empty();
      items_.push_back(std::move(item));
      queued_.store(true, std::memory_order_release);
    }
    if (was_empty && wake_) wake_();
  }
  // The control loop: every queued item, in order (one atomic load when
  // none is).
  std::vector<T> TakeAll() {
    std::vector<T> items;
    if (!queued_.load(std::memory_order_acquire)) return items;
    std::lock_guard<std::mutex> lock(mu_);
    items.swap(items_);
    queued_.store(false, std::memory_order_release);
    return items;
  }
  // Called from the thread that queued into an empty queue: the wiring
  // posts the delivery to the control loop. REQUIRES: set before any Push.
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }

 private:
  std::mutex mu_;
  std::vector<T> items_;  // guarded by mu_
  std::atomic<bool> queued_{false};
  std::function<void()> wake_;
};

}  // namespace shardnode::node
