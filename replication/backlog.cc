#include "replication/backlog.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace shardnode::replication {

ReplBacklog::ReplBacklog(size_t capacity, int64_t end_offset, size_t min_block)
    : capacity_(capacity), min_block_(std::max<size_t>(min_block, 1)), end_offset_(end_offset) {}

size_t ReplBacklog::BlockSizeFor(size_t len) const {
  const size_t largest = std::max(capacity_ / 16, min_block_);
  return std::min(std::max(len, min_block_), largest);
}

void ReplBacklog::Append(absl::string_view bytes) {
  while (!bytes.empty()) {
    if (blocks_.empty() || blocks_.back().used == blocks_.back().size) {
      Block b;
      b.first = end_offset_ + 1;
      b.size = BlockSizeFor(bytes.size());
      b.data = std::make_unique_for_overwrite<char[]>(b.size);
      memory_ += b.size + kBlockOverhead;
      blocks_.push_back(std::move(b));
    }
    Block& tail = blocks_.back();
    const size_t n = std::min(bytes.size(), tail.size - tail.used);
    std::memcpy(tail.data.get() + tail.used, bytes.data(), n);
    tail.used += n;
    bytes.remove_prefix(n);
    end_offset_ += static_cast<int64_t>(n);
    histlen_ += static_cast<int64_t>(n);
  }
}

size_t ReplBacklog::Trim(int64_t keep_from, size_t max_blocks) {
  size_t freed = 0;
  // The last block always stays (the next bytes go there).
  while (freed < max_blocks && blocks_.size() > 1) {
    const Block& front = blocks_.front();
    const auto used = static_cast<int64_t>(front.used);
    if (histlen_ - used <= static_cast<int64_t>(capacity_)) break;
    if (keep_from < front.first + used) break;
    histlen_ -= used;
    memory_ -= front.size + kBlockOverhead;
    blocks_.pop_front();
    ++freed;
  }
  return freed;
}

bool ReplBacklog::CanServeFrom(int64_t offset) const {
  return offset >= first_byte_offset() && offset <= end_offset_ + 1;
}

std::string ReplBacklog::CopyFrom(int64_t offset) const {
  assert(CanServeFrom(offset));
  std::string out;
  if (offset > end_offset_) return out;
  out.reserve(static_cast<size_t>(end_offset_ + 1 - offset));
  // The last block that starts at or before `offset`.
  auto it = std::upper_bound(blocks_.begin(), blocks_.end(), offset,
                             [](int64_t o, const Block& b) { return o < b.first; });
  assert(it != blocks_.begin());
  --it;
  auto skip = static_cast<size_t>(offset - it->first);
  for (; it != blocks_.end(); ++it) {
    out.append(it->data.get() + skip, it->used - skip);
    skip = 0;
  }
  return out;
}

void ReplBacklog::Reset(int64_t end_offset) {
  blocks_.clear();
  memory_ = 0;
  histlen_ = 0;
  end_offset_ = end_offset;
}

}  // namespace shardnode::replication
