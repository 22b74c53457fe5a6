// ReplBacklog: the ring buffer of the most recent replication stream bytes
// (repl-backlog-size), addressed by global stream offsets, from which a
// master answers PSYNC with +CONTINUE. It owns a copy of those bytes only.
//
// Offsets follow Redis: the stream's first byte has offset 1, and
// `end_offset()` is the offset of the last byte appended (master_repl_offset).
// The backlog holds [first_byte_offset(), end_offset()], histlen() bytes.
// A new backlog created at master_repl_offset N holds nothing and starts at
// N + 1.
//
// Pure: no I/O. Loop: used from one thread (the control loop).
#ifndef SHARDNODE_REPLICATION_BACKLOG_H_
#define SHARDNODE_REPLICATION_BACKLOG_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace shardnode::replication {

class ReplBacklog {
 public:
  // REQUIRES: capacity > 0; end_offset >= 0 (the stream offset so far).
  ReplBacklog(size_t capacity, int64_t end_offset);

  // Appends stream bytes; the oldest bytes beyond the capacity are dropped.
  void Append(absl::string_view bytes);

  int64_t end_offset() const { return end_offset_; }
  int64_t histlen() const { return static_cast<int64_t>(size_); }
  int64_t first_byte_offset() const { return end_offset_ - histlen() + 1; }
  size_t capacity() const { return buf_.size(); }

  // True when a replica that wants the stream from `offset` on (the byte
  // after the last one it processed) can be served from here: the range
  // first_byte_offset() <= offset <= end_offset() + 1.
  bool CanServeFrom(int64_t offset) const;

  // The bytes from `offset` to end_offset(). REQUIRES: CanServeFrom(offset).
  std::string CopyFrom(int64_t offset) const;

  // Changes the capacity, keeping the newest bytes that still fit.
  void Resize(size_t capacity);

  // Forgets the history and restarts at `end_offset` (a full sync on a
  // replica adopts its master's offset).
  void Reset(int64_t end_offset);

 private:
  std::string buf_;  // the ring, buf_.size() == capacity
  size_t head_ = 0;  // index where the next byte goes
  size_t size_ = 0;  // bytes held
  int64_t end_offset_ = 0;
};

}  // namespace shardnode::replication

#endif  // SHARDNODE_REPLICATION_BACKLOG_H_
