#include "replication/backlog.h"

#include <algorithm>
#include <cassert>

namespace shardnode::replication {

ReplBacklog::ReplBacklog(size_t capacity, int64_t end_offset)
    : buf_(std::max<size_t>(capacity, 1), '\0'), end_offset_(end_offset) {}

void ReplBacklog::Append(absl::string_view bytes) {
  end_offset_ += static_cast<int64_t>(bytes.size());
  const size_t cap = buf_.size();
  // Only the last `cap` bytes can survive.
  if (bytes.size() >= cap) {
    bytes.remove_prefix(bytes.size() - cap);
    std::copy(bytes.begin(), bytes.end(), buf_.begin());
    head_ = 0;
    size_ = cap;
    return;
  }
  const size_t first = std::min(bytes.size(), cap - head_);
  std::copy(bytes.begin(), bytes.begin() + first, buf_.begin() + head_);
  std::copy(bytes.begin() + first, bytes.end(), buf_.begin());
  head_ = (head_ + bytes.size()) % cap;
  size_ = std::min(cap, size_ + bytes.size());
}

bool ReplBacklog::CanServeFrom(int64_t offset) const {
  return offset >= first_byte_offset() && offset <= end_offset_ + 1;
}

std::string ReplBacklog::CopyFrom(int64_t offset) const {
  assert(CanServeFrom(offset));
  const size_t len = static_cast<size_t>(end_offset_ + 1 - offset);
  const size_t cap = buf_.size();
  // The newest byte sits just before head_; walk back `len` bytes.
  const size_t start = (head_ + cap - len % cap) % cap;
  std::string out;
  out.reserve(len);
  if (len == 0) return out;
  if (start + len <= cap) {
    out.append(buf_, start, len);
  } else {
    out.append(buf_, start, cap - start);
    out.append(buf_, 0, len - (cap - start));
  }
  return out;
}

void ReplBacklog::Resize(size_t capacity) {
  capacity = std::max<size_t>(capacity, 1);
  if (capacity == buf_.size()) return;
  const size_t keep = std::min(size_, capacity);
  std::string kept = CopyFrom(end_offset_ + 1 - static_cast<int64_t>(keep));
  const int64_t end = end_offset_;
  buf_.assign(capacity, '\0');
  head_ = 0;
  size_ = 0;
  end_offset_ = end - static_cast<int64_t>(kept.size());
  Append(kept);
}

void ReplBacklog::Reset(int64_t end_offset) {
  head_ = 0;
  size_ = 0;
  end_offset_ = end_offset;
}

}  // namespace shardnode::replication
