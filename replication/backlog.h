// ReplBacklog: the replication buffer of a primary, as Redis 7 shares it:
// the stream bytes kept as a list of blocks, addressed by global stream
// offsets. One copy of each byte serves both the backlog (a PSYNC answered
// +CONTINUE) and every replica that is still waiting for its full sync's
// image (its held stream is a starting offset into these blocks, not a
// copy of its own).
//
// Trimming follows Redis 7.0.15: the oldest block is freed only while the
// bytes left after it are still more than the configured size
// (repl-backlog-size) and no holder needs any byte of it. So the history
// may outgrow the configured size while a replica holds an old offset, and
// a PSYNC may continue from anywhere in it (histlen() counts it all).
// Blocks hold at least kMinBlockBytes and at most max(size / 16,
// kMinBlockBytes), so a big write never pins one huge block.
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
#include <deque>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace shardnode::replication {

class ReplBacklog {
 public:
  // Redis's PROTO_REPLY_CHUNK_BYTES.
  static constexpr size_t kMinBlockBytes = 16 * 1024;
  // The bookkeeping counted per block, as Redis counts its block header
  // and list node.
  static constexpr size_t kBlockOverhead = 64;
  // Nothing held (NeedsFrom's answer when no replica holds the stream).
  static constexpr int64_t kNoHold = std::numeric_limits<int64_t>::max();

  // REQUIRES: end_offset >= 0 (the stream offset so far). `min_block`:
  // the smallest block (tests use tiny ones).
  ReplBacklog(size_t capacity, int64_t end_offset, size_t min_block = kMinBlockBytes);

  // Appends stream bytes (no trimming: see Trim).
  void Append(absl::string_view bytes);

  // Frees up to `max_blocks` of the oldest blocks that are not needed: the
  // bytes after a freed block still exceed capacity(), and `keep_from` (the
  // oldest offset a holder needs; kNoHold for none) lies after it. Returns
  // the blocks freed.
  size_t Trim(int64_t keep_from, size_t max_blocks);

  int64_t end_offset() const { return end_offset_; }
  int64_t histlen() const { return histlen_; }
  int64_t first_byte_offset() const { return end_offset_ - histlen_ + 1; }
  // repl-backlog-size.
  size_t capacity() const { return capacity_; }
  // The bytes the blocks take (mem_total_replication_buffers).
  size_t memory() const { return memory_; }
  size_t blocks() const { return blocks_.size(); }

  // True when a replica that wants the stream from `offset` on (the byte
  // after the last one it processed) can be served from here: the range
  // first_byte_offset() <= offset <= end_offset() + 1.
  bool CanServeFrom(int64_t offset) const;

  // The bytes from `offset` to end_offset(). REQUIRES: CanServeFrom(offset).
  std::string CopyFrom(int64_t offset) const;

  // Changes the configured size; the blocks beyond it go at the next Trim.
  void Resize(size_t capacity) { capacity_ = capacity; }

  // Forgets the history and restarts at `end_offset` (a full sync on a
  // replica adopts its master's offset).
  void Reset(int64_t end_offset);

 private:
  struct Block {
    int64_t first = 0;  // the offset of data[0]
    size_t size = 0;    // bytes allocated
    size_t used = 0;
    std::unique_ptr<char[]> data;
  };
  size_t BlockSizeFor(size_t len) const;

  std::deque<Block> blocks_;
  size_t capacity_ = 0;
  size_t min_block_ = kMinBlockBytes;
  int64_t end_offset_ = 0;
  int64_t histlen_ = 0;
  size_t memory_ = 0;
};

}  // namespace shardnode::replication

#endif  // SHARDNODE_REPLICATION_BACKLOG_H_
