#include "node/server/memory_counter.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace shardnode::node {
namespace {

// Own cache line: every allocation on every thread adds here.
struct alignas(64) Counter {
  std::atomic<size_t> used{0};
};
constinit Counter g_counter;
// What this thread allocated less what it freed (its blocks or others').
constinit thread_local int64_t t_net = 0;
std::atomic<size_t> g_startup{0};
std::atomic<size_t> g_peak{0};

void* Counted(void* p) {
  if (p != nullptr) {
    const size_t n = malloc_usable_size(p);
    g_counter.used.fetch_add(n, std::memory_order_relaxed);
    t_net += static_cast<int64_t>(n);
  }
  return p;
}

void Uncount(void* p) {
  if (p != nullptr) {
    const size_t n = malloc_usable_size(p);
    g_counter.used.fetch_sub(n, std::memory_order_relaxed);
    t_net -= static_cast<int64_t>(n);
  }
}

void* AllocOrThrow(size_t n) {
  if (n == 0) n = 1;
  for (;;) {
    if (void* p = Counted(std::malloc(n))) return p;
    std::new_handler h = std::get_new_handler();
    if (h == nullptr) throw std::bad_alloc();
    h();
  }
}

void* AlignedAllocOrThrow(size_t n, std::align_val_t al) {
  const size_t a = static_cast<size_t>(al);
  if (n == 0) n = 1;
  for (;;) {
    void* p = nullptr;
    if (posix_memalign(&p, a < sizeof(void*) ? sizeof(void*) : a, n) == 0) return Counted(p);
    std::new_handler h = std::get_new_handler();
    if (h == nullptr) throw std::bad_alloc();
    h();
  }
}

void Release(void* p) {
  Uncount(p);
  std::free(p);
}

}  // namespace

size_t UsedMemory() { return g_counter.used.load(std::memory_order_relaxed); }

namespace {
std::atomic<int64_t> g_output_in_flight{0};
}  // namespace

void AddOutputInFlight(int64_t delta) {
  g_output_in_flight.fetch_add(delta, std::memory_order_relaxed);
}
size_t OutputInFlight() {
  const int64_t n = g_output_in_flight.load(std::memory_order_relaxed);
  return n > 0 ? static_cast<size_t>(n) : 0;
}
int64_t ThreadNetAllocated() { return t_net; }

void MarkStartupMemory() { g_startup.store(UsedMemory(), std::memory_order_relaxed); }
size_t StartupMemory() { return g_startup.load(std::memory_order_relaxed); }

size_t UpdatePeakMemory() {
  const size_t now = UsedMemory();
  size_t peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
  return now > peak ? now : peak;
}

void ResetPeakMemory() { g_peak.store(UsedMemory(), std::memory_order_relaxed); }

}  // namespace shardnode::node

// The replaceable global allocation functions ([new.delete]). The nothrow
// forms catch what the throwing ones throw, as the standard specifies.
using shardnode::node::AlignedAllocOrThrow;
using shardnode::node::AllocOrThrow;
using shardnode::node::Release;

void* operator new(size_t n) { return AllocOrThrow(n); }
void* operator new[](size_t n) { return AllocOrThrow(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return AllocOrThrow(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  try {
    return AllocOrThrow(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(size_t n, std::align_val_t al) { return AlignedAllocOrThrow(n, al); }
void* operator new[](size_t n, std::align_val_t al) { return AlignedAllocOrThrow(n, al); }
void* operator new(size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return AlignedAllocOrThrow(n, al);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return AlignedAllocOrThrow(n, al);
  } catch (...) {
    return nullptr;
  }
}

void operator delete(void* p) noexcept { Release(p); }
void operator delete[](void* p) noexcept { Release(p); }
void operator delete(void* p, size_t) noexcept { Release(p); }
void operator delete[](void* p, size_t) noexcept { Release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete(void* p, std::align_val_t) noexcept { Release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { Release(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { Release(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { Release(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { Release(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { Release(p); }
