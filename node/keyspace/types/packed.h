// Packed: a sequence of small strings and numbers in one heap buffer, the
// compact form of small hashes, small sorted sets and list nodes (our own
// format, playing the part of Redis's listpack).
//
// The allocation is a 8-byte header (bytes used by entries, entry count) then
// the entries back to back; an empty Packed owns no memory. One entry:
//
//   header   varint H; its two low bits say what follows:
//              00  a string of H >> 2 bytes
//              01  an integer whose zigzag form is H >> 2 (|v| < 2^61)
//              10  any int64, 8 raw bytes follow
//              11  a double, 8 raw bytes follow
//   payload  the string bytes or the 8 raw bytes (none for the 01 form)
//   backlen  the size of header + payload, written so that it can be read
//            from the entry's end backwards (7 bits per byte, low group
//            last, high bit set on every byte but the first one written),
//            so that the sequence can be walked in both directions.
//
// Positions are byte offsets of an entry's first byte: 0 is the first entry,
// bytes() is the end. Entries are edited in place with memmove; the buffer
// grows by realloc to exactly what it needs (first using any slack malloc
// gave, per malloc_usable_size) and shrinks once a quarter of it is unused.
//
// Pure data; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace shardnode::node::types {

// One decoded entry. `str` points into the Packed (valid until it changes).
struct PackedItem {
  enum Kind : uint8_t { kString, kInt, kDouble };
  Kind kind = kString;
  std::string_view str;
  int64_t i = 0;
  double d = 0;
  size_t next = 0;  // position of the entry after this one

  // The entry as text: strings as they are, integers in decimal written into
  // `scratch`. REQUIRES: kind != kDouble.
  std::string_view Text(std::string* scratch) const;
  // Whether the entry equals the text `s` whose integer reading (when it is
  // a canonical int64) is `s_int`/`s_is_int`: integers are stored as
  // integers, so a canonical integer text can only match an integer entry.
  bool Matches(std::string_view s, bool s_is_int, int64_t s_int) const {
    if (kind == kInt) return s_is_int && i == s_int;
    return kind == kString && !s_is_int && str == s;
  }
};

class Packed {
 public:
  Packed() = default;
  ~Packed();
  Packed(Packed&& other) noexcept : buf_(other.buf_) { other.buf_ = nullptr; }
  Packed& operator=(Packed&& other) noexcept;
  Packed(const Packed&) = delete;
  Packed& operator=(const Packed&) = delete;
  // A byte-for-byte copy (COPY).
  Packed Copy() const;

  size_t count() const { return buf_ ? Header()[1] : 0; }
  size_t bytes() const { return buf_ ? Header()[0] : 0; }
  bool empty() const { return count() == 0; }
  // Heap bytes owned (what malloc reserved for the buffer).
  size_t HeapBytes() const;

  // Walking. REQUIRES: pos is an entry's position (Next: pos < bytes();
  // Prev: pos > 0).
  size_t Next(size_t pos) const;
  size_t Prev(size_t pos) const;
  PackedItem At(size_t pos) const;
  // The position of the entry with index `index` (counted from the nearer
  // end). REQUIRES: index < count().
  size_t PosOf(size_t index) const;

  // Inserts before the entry at `pos` (bytes() appends). Text that is a
  // canonical int64 is stored as an integer unless `as_string`. The text
  // must not point into this Packed (the buffer may move).
  void InsertText(size_t pos, std::string_view s, bool as_string = false);
  void InsertInt(size_t pos, int64_t v);
  // Stores an integral double in [-2^53, 2^53] as an integer (it reads back
  // exactly, and -0 reads back as 0), anything else as 8 raw bytes.
  void InsertDouble(size_t pos, double d);
  // Removes `n` entries starting at `pos`.
  void Erase(size_t pos, size_t n = 1);
  // Replaces the entry at `pos` by text (as InsertText).
  void ReplaceText(size_t pos, std::string_view s, bool as_string = false);
  void Clear();
  // Moves the entries from `pos` to the end into a new Packed.
  Packed TakeTail(size_t pos);

 private:
  static constexpr size_t kHeader = 8;

  uint32_t* Header() const { return reinterpret_cast<uint32_t*>(buf_); }
  const unsigned char* Data() const { return reinterpret_cast<unsigned char*>(buf_) + kHeader; }
  unsigned char* Data() { return reinterpret_cast<unsigned char*>(buf_) + kHeader; }
  // Opens a gap of `len` bytes at `pos` (one more entry) and returns it.
  unsigned char* OpenGap(size_t pos, size_t len);
  // Writes one encoded entry (header of `h`, payload `payload`) at `pos`.
  void InsertEncoded(size_t pos, uint64_t h, const void* payload, size_t payload_len);
  // Size in bytes of the entry at `pos`.
  size_t EntrySize(size_t pos) const;

  char* buf_ = nullptr;
};

}  // namespace shardnode::node::types
