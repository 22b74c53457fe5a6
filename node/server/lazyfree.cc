#include "node/server/lazyfree.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "node/keyspace/types/hash_object.h"
#include "node/keyspace/types/list_object.h"
#include "node/keyspace/types/set_object.h"
#include "node/keyspace/types/stream_object.h"
#include "node/keyspace/types/zset_object.h"

namespace shardnode::node {
namespace {

std::atomic<size_t> g_pending{0};
std::atomic<size_t> g_freed{0};

// One background thread that destroys what it is given, in order. It is
// detached and lives as long as the process (Redis's lazyfree bio thread).
class Freer {
 public:
  static Freer& Get() {
    static Freer* freer = new Freer();  // never destroyed: the thread outlives exit paths
    return *freer;
  }

  void Push(Value value) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(value));
    }
    cv_.notify_one();
  }

 private:
  Freer() {
    std::thread([this] { Run(); }).detach();
  }

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return !queue_.empty(); });
      Value v = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      v = Value();  // the freeing itself, outside the lock
      g_pending.fetch_sub(1, std::memory_order_relaxed);
      g_freed.fetch_add(1, std::memory_order_relaxed);
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Value> queue_;
};

}  // namespace

size_t FreeEffort(const Value& value) {
  const TypedObject* obj = value.object();
  if (obj == nullptr) return 1;
  switch (value.type()) {
    case ValueType::kList:
      return static_cast<const ListObject*>(obj)->node_count();
    case ValueType::kSet: {
      const auto* s = static_cast<const SetObject*>(obj);
      return s->is_intset() ? 1 : s->Size();
    }
    case ValueType::kZSet: {
      const auto* z = static_cast<const ZSetObject*>(obj);
      return z->is_listpack() ? 1 : z->Size();
    }
    case ValueType::kHash: {
      const auto* h = static_cast<const HashObject*>(obj);
      return h->is_listpack() ? 1 : h->Size();
    }
    case ValueType::kStream: {
      const auto* st = static_cast<const StreamObject*>(obj);
      size_t effort = st->RaxNodeEstimate();
      if (!st->groups().empty()) {
        effort += st->groups().size() * (1 + st->groups().begin()->second.pel.size());
      }
      return effort;
    }
    case ValueType::kString:
      break;
  }
  return 1;
}

bool FreeMaybeLater(Value& value) {
  if (FreeEffort(value) <= kLazyFreeThreshold) {
    value = Value();
    return false;
  }
  g_pending.fetch_add(1, std::memory_order_relaxed);
  Freer::Get().Push(std::move(value));
  value = Value();
  return true;
}

size_t LazyFreePendingObjects() { return g_pending.load(std::memory_order_relaxed); }
size_t LazyFreedObjects() { return g_freed.load(std::memory_order_relaxed); }
void ResetLazyFreedObjects() { g_freed.store(0, std::memory_order_relaxed); }

}  // namespace shardnode::node
