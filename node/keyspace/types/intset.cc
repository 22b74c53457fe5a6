#include "node/keyspace/types/intset.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace shardnode::node::types {
namespace {

size_t WidthFor(int64_t v) {
  if (v >= std::numeric_limits<int16_t>::min() && v <= std::numeric_limits<int16_t>::max()) {
    return 2;
  }
  if (v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max()) {
    return 4;
  }
  return 8;
}

int64_t Load(const char* p, size_t w) {
  switch (w) {
    case 2: {
      int16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case 4: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    default: {
      int64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
}

void Store(char* p, size_t w, int64_t v) {
  if (w == 2) {
    const auto n = static_cast<int16_t>(v);
    std::memcpy(p, &n, 2);
  } else if (w == 4) {
    const auto n = static_cast<int32_t>(v);
    std::memcpy(p, &n, 4);
  } else {
    std::memcpy(p, &v, 8);
  }
}

void SetHeaderField(char* buf, int k, size_t v) {
  const auto n = static_cast<uint32_t>(v);
  std::memcpy(buf + 4 * k, &n, 4);
}

}  // namespace

IntSet::~IntSet() { std::free(buf_); }

IntSet IntSet::Copy() const {
  IntSet out;
  if (buf_ == nullptr) return out;
  const size_t len = kHeader + size() * width();
  out.buf_ = static_cast<char*>(std::malloc(len));
  if (out.buf_ == nullptr) throw std::bad_alloc();
  std::memcpy(out.buf_, buf_, len);
  return out;
}

IntSet& IntSet::operator=(IntSet&& other) noexcept {
  if (this != &other) {
    std::free(buf_);
    buf_ = other.buf_;
    other.buf_ = nullptr;
  }
  return *this;
}

int64_t IntSet::At(size_t i) const {
  const size_t w = width();
  return Load(buf_ + kHeader + i * w, w);
}

void IntSet::Set(size_t i, int64_t v) {
  const size_t w = width();
  Store(buf_ + kHeader + i * w, w, v);
}

size_t IntSet::LowerBound(int64_t v) const {
  size_t lo = 0, hi = size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (At(mid) < v) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

bool IntSet::Contains(int64_t v) const {
  if (WidthFor(v) > width()) return false;  // cannot be stored here
  const size_t i = LowerBound(v);
  return i < size() && At(i) == v;
}

void IntSet::Resize(size_t count, size_t w) {
  const size_t n = size();
  const size_t old_w = width();
  char* fresh = static_cast<char*>(std::malloc(kHeader + count * w));
  if (fresh == nullptr) throw std::bad_alloc();
  for (size_t i = 0; i < n; ++i)
    Store(fresh + kHeader + i * w, w, Load(buf_ + kHeader + i * old_w, old_w));
  SetHeaderField(fresh, 0, n);
  SetHeaderField(fresh, 1, w);
  std::free(buf_);
  buf_ = fresh;
}

bool IntSet::Insert(int64_t v) {
  const size_t n = size();
  const size_t need_w = WidthFor(v);
  if (need_w > width()) {
    // A wider member sorts before or after every present one.
    Resize(n + 1, need_w);
    const size_t w = width();
    char* data = buf_ + kHeader;
    if (v < 0) {
      std::memmove(data + w, data, n * w);
      Store(data, w, v);
    } else {
      Store(data + n * w, w, v);
    }
    SetHeaderField(buf_, 0, n + 1);
    return true;
  }
  const size_t i = LowerBound(v);
  if (i < n && At(i) == v) return false;
  const size_t w = width();
  char* grown = static_cast<char*>(std::realloc(buf_, kHeader + (n + 1) * w));
  if (grown == nullptr) throw std::bad_alloc();
  buf_ = grown;
  char* data = buf_ + kHeader;
  std::memmove(data + (i + 1) * w, data + i * w, (n - i) * w);
  SetHeaderField(buf_, 0, n + 1);
  Set(i, v);
  return true;
}

bool IntSet::Erase(int64_t v) {
  if (!Contains(v)) return false;
  const size_t n = size();
  const size_t i = LowerBound(v);
  const size_t w = width();
  char* data = buf_ + kHeader;
  std::memmove(data + i * w, data + (i + 1) * w, (n - i - 1) * w);
  SetHeaderField(buf_, 0, n - 1);
  if (n == 1) {
    Clear();
  } else if (char* smaller = static_cast<char*>(std::realloc(buf_, kHeader + (n - 1) * w))) {
    buf_ = smaller;
  }
  return true;
}

void IntSet::Clear() {
  std::free(buf_);
  buf_ = nullptr;
}

}  // namespace shardnode::node::types
