// QueryBuffer: the bytes a client sent that no command has consumed yet, in
// a buffer whose size follows Redis 7.0.15's query buffer, so CLIENT LIST's
// qbuf / qbuf-free and the client's memory mean what they mean there:
//
// - Before a read (PrepareRead): a buffer under 16 KB (the first one) gets
//   exactly 16 KB of room; a bigger one with less than 16 KB free doubles
//   (readQueryFromClient's sdsMakeRoomFor). A bulk of 32 KB or more waits
//   whole in the buffer (RequestParser::set_keep_big_bulks): the room grows
//   with what arrived of it, up to exactly its size, and no read goes past
//   it; Redis likewise holds a big argument in its query buffer.
// - The cron (Resize, clientsCronResizeQueryBuffer): a buffer wasting more
//   than 4 KB is freed down to its content when the client has been idle
//   more than 2 s, or trimmed down to the recent peak when it is over 32 KB
//   and more than twice that peak.
//
// Pure: no I/O. Loop: the connection's. The memory returned by PrepareRead
// is valid until the next call of any non-const method.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace shardnode::resp {

class QueryBuffer {
 public:
  static constexpr size_t kReadLen = 16 * 1024;          // PROTO_IOBUF_LEN
  static constexpr size_t kResizeThreshold = 32 * 1024;  // PROTO_RESIZE_THRESHOLD
  static constexpr int64_t kBigArg = 32 * 1024;          // PROTO_MBULK_BIG_ARG

  // Room at the end for the next read. `big_bulk_left`: the bytes (CRLF
  // included) still to come of a bulk of kBigArg or more that waits in the
  // buffer, 0 when none.
  std::span<char> PrepareRead(size_t big_bulk_left);
  // `n` bytes were read into the room PrepareRead gave. REQUIRES: n <= its size.
  void Commit(size_t n);
  // Appends bytes read elsewhere (a shard thread's read of a connection's
  // socket), growing as the reads into PrepareRead's room would have:
  // `big_bulk_left` as there, for the first bytes.
  void Append(std::string_view bytes, size_t big_bulk_left = 0);

  std::string_view data() const { return {buf_.get(), len_}; }
  // Drops the first `n` bytes (consumed by the parser). REQUIRES: n <= size().
  void Consume(size_t n);

  size_t size() const { return len_; }
  size_t capacity() const { return cap_; }
  size_t free() const { return cap_ - len_; }

  // The cron's look at the buffer: `idle_s` whole seconds since the client
  // last sent something, `bulk` the declared length of a bulk being read
  // (-1 when none). Then the peak starts again from what the buffer holds.
  void Resize(int64_t idle_s, int64_t bulk);

 private:
  void Reallocate(size_t cap);

  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
  size_t len_ = 0;
  size_t peak_ = 0;  // the most bytes held since the last Resize
};

}  // namespace shardnode::resp
