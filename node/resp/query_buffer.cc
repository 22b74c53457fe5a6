// QueryBuffer: see query_buffer.h. The growth and trimming rules are those
// of Redis 7.0.15's readQueryFromClient and clientsCronResizeQueryBuffer.
#include "node/resp/query_buffer.h"

#include <algorithm>
#include <cstring>

namespace shardnode::resp {
namespace {

constexpr size_t kMaxPrealloc = 1024 * 1024;  // SDS_MAX_PREALLOC
constexpr size_t kWasteWorthTrimming = 4 * 1024;
constexpr int64_t kIdleSeconds = 2;

}  // namespace

void QueryBuffer::Reallocate(size_t cap) {
  if (cap == cap_) return;
  std::unique_ptr<char[]> next;
  if (cap != 0) {
    next = std::make_unique_for_overwrite<char[]>(cap);
    if (len_ != 0) std::memcpy(next.get(), buf_.get(), len_);
  }
  buf_ = std::move(next);
  cap_ = cap;
}

std::span<char> QueryBuffer::PrepareRead(size_t big_bulk_left) {
  if (big_bulk_left > 0) {
    // Room for the rest of the big bulk, but never more than what arrived
    // of it (a declared length alone reserves nothing big), so the last
    // step makes the buffer exactly the bulk's size.
    const size_t room = std::min(big_bulk_left, std::max(kReadLen, len_));
    if (free() < room) Reallocate(len_ + room);
    return {buf_.get() + len_, std::min(free(), big_bulk_left)};
  }
  if (cap_ < kReadLen) {
    // A first buffer: exactly 16 KB of room, not doubled.
    if (free() < kReadLen) Reallocate(len_ + kReadLen);
  } else if (free() < kReadLen) {
    const size_t wanted = len_ + kReadLen;
    Reallocate(wanted < kMaxPrealloc ? wanted * 2 : wanted + kMaxPrealloc);
  }
  // As much as the room holds, to save reads.
  return {buf_.get() + len_, free()};
}

void QueryBuffer::Commit(size_t n) {
  len_ += std::min(n, free());
  peak_ = std::max(peak_, len_);
}

void QueryBuffer::Append(std::string_view bytes, size_t big_bulk_left) {
  while (!bytes.empty()) {
    std::span<char> room = PrepareRead(big_bulk_left);
    const size_t n = std::min(room.size(), bytes.size());
    std::memcpy(room.data(), bytes.data(), n);
    Commit(n);
    bytes.remove_prefix(n);
    big_bulk_left -= std::min(n, big_bulk_left);
  }
}

void QueryBuffer::Consume(size_t n) {
  n = std::min(n, len_);
  if (n == 0) return;
  len_ -= n;
  if (len_ != 0) std::memmove(buf_.get(), buf_.get() + n, len_);
}

void QueryBuffer::Resize(int64_t idle_s, int64_t bulk) {
  if (free() > kWasteWorthTrimming) {
    if (idle_s > kIdleSeconds) {
      Reallocate(len_);  // idle: only what it holds
    } else if (cap_ > kResizeThreshold && cap_ / 2 > peak_) {
      // Too big for the recent peak: down to it, but never below what it
      // holds or a bulk being read.
      size_t target = std::max(len_, peak_);
      if (bulk >= 0) target = std::max(target, static_cast<size_t>(bulk));
      Reallocate(std::min(target, cap_));
    }
  }
  peak_ = len_;
  if (bulk >= 0) peak_ = std::max(peak_, static_cast<size_t>(bulk));
}

}  // namespace shardnode::resp
