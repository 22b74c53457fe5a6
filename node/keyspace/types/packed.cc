#include "node/keyspace/types/packed.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "absl/strings/numbers.h"
#include "node/keyspace/types/type_util.h"

namespace shardnode::node::types {
namespace {

// Tags in the two low bits of an entry's header.
constexpr uint64_t kTagString = 0;
constexpr uint64_t kTagSmallInt = 1;
constexpr uint64_t kTagInt64 = 2;
constexpr uint64_t kTagDouble = 3;
// Integers whose zigzag form fits in 62 bits use the short form.
constexpr uint64_t kSmallIntLimit = uint64_t{1} << 62;
// Doubles in this range that are integral convert to int64 and back exactly.
constexpr double kExactIntLimit = 9007199254740992.0;  // 2^53

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t z) { return static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1); }

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

size_t PutVarint(unsigned char* p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  p[n++] = static_cast<unsigned char>(v);
  return n;
}

uint64_t GetVarint(const unsigned char* p, size_t* len) {
  uint64_t v = 0;
  size_t n = 0;
  int shift = 0;
  for (;;) {
    const unsigned char b = p[n++];
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
    shift += 7;
  }
  *len = n;
  return v;
}

// The back length: the low 7-bit group is the last byte; every byte but the
// first one written carries 0x80 (meaning "one more byte before me").
size_t BacklenSize(size_t v) { return VarintSize(v); }

void PutBacklen(unsigned char* p, size_t v) {
  const size_t n = BacklenSize(v);
  for (size_t k = 0; k < n; ++k) {
    // Byte k from the end holds group k.
    unsigned char b = static_cast<unsigned char>((v >> (7 * k)) & 0x7f);
    if (k + 1 < n) b |= 0x80;
    p[n - 1 - k] = b;
  }
}

// Reads the back length that ends just before `end`.
size_t GetBacklen(const unsigned char* end, size_t* len) {
  size_t v = 0;
  size_t k = 0;
  for (;;) {
    const unsigned char b = *(end - 1 - k);
    v |= static_cast<size_t>(b & 0x7f) << (7 * k);
    ++k;
    if (!(b & 0x80)) break;
  }
  *len = k;
  return v;
}

}  // namespace

std::string_view PackedItem::Text(std::string* scratch) const {
  if (kind == kString) return str;
  char buf[32];
  char* end = absl::numbers_internal::FastIntToBuffer(i, buf);
  scratch->assign(buf, end);
  return *scratch;
}

Packed::~Packed() { std::free(buf_); }

Packed& Packed::operator=(Packed&& other) noexcept {
  if (this != &other) {
    std::free(buf_);
    buf_ = other.buf_;
    other.buf_ = nullptr;
  }
  return *this;
}

Packed Packed::Copy() const {
  Packed out;
  if (buf_ == nullptr) return out;
  const size_t len = kHeader + bytes();
  out.buf_ = static_cast<char*>(std::malloc(len));
  if (out.buf_ == nullptr) throw std::bad_alloc();
  std::memcpy(out.buf_, buf_, len);
  return out;
}

size_t Packed::HeapBytes() const { return buf_ ? malloc_usable_size(buf_) : 0; }

void Packed::Clear() {
  std::free(buf_);
  buf_ = nullptr;
}

size_t Packed::EntrySize(size_t pos) const {
  const unsigned char* p = Data() + pos;
  size_t hlen;
  const uint64_t h = GetVarint(p, &hlen);
  size_t body = hlen;
  switch (h & 3) {
    case kTagString:
      body += h >> 2;
      break;
    case kTagSmallInt:
      break;
    default:
      body += 8;
  }
  return body + BacklenSize(body);
}

size_t Packed::Next(size_t pos) const { return pos + EntrySize(pos); }

size_t Packed::Prev(size_t pos) const {
  size_t blen;
  const size_t body = GetBacklen(Data() + pos, &blen);
  return pos - blen - body;
}

PackedItem Packed::At(size_t pos) const {
  const unsigned char* p = Data() + pos;
  size_t hlen;
  const uint64_t h = GetVarint(p, &hlen);
  PackedItem item;
  size_t body = hlen;
  switch (h & 3) {
    case kTagString:
      item.kind = PackedItem::kString;
      item.str = std::string_view(reinterpret_cast<const char*>(p + hlen), h >> 2);
      body += h >> 2;
      break;
    case kTagSmallInt:
      item.kind = PackedItem::kInt;
      item.i = UnZigZag(h >> 2);
      break;
    case kTagInt64:
      item.kind = PackedItem::kInt;
      std::memcpy(&item.i, p + hlen, 8);
      body += 8;
      break;
    default:
      item.kind = PackedItem::kDouble;
      std::memcpy(&item.d, p + hlen, 8);
      body += 8;
  }
  if (item.kind == PackedItem::kInt) item.d = static_cast<double>(item.i);
  item.next = pos + body + BacklenSize(body);
  return item;
}

size_t Packed::PosOf(size_t index) const {
  const size_t n = count();
  if (index < n / 2) {
    size_t pos = 0;
    for (size_t k = 0; k < index; ++k) pos = Next(pos);
    return pos;
  }
  size_t pos = bytes();
  for (size_t k = n; k > index; --k) pos = Prev(pos);
  return pos;
}

unsigned char* Packed::OpenGap(size_t pos, size_t len) {
  const size_t used = bytes();
  const size_t need = kHeader + used + len;
  if (buf_ == nullptr || malloc_usable_size(buf_) < need) {
    // Exactly what is needed, as a listpack does: small buffers would waste
    // more in slack than the realloc calls cost (glibc usually extends in
    // place, and an insert moves the tail of the buffer anyway; nodes are
    // bounded at ListObject::kNodeBytes).
    void* grown = std::realloc(buf_, need);
    if (grown == nullptr) throw std::bad_alloc();
    if (buf_ == nullptr) std::memset(grown, 0, kHeader);
    buf_ = static_cast<char*>(grown);
  }
  unsigned char* d = Data();
  std::memmove(d + pos + len, d + pos, used - pos);
  Header()[0] = static_cast<uint32_t>(used + len);
  Header()[1] += 1;
  return d + pos;
}

void Packed::InsertEncoded(size_t pos, uint64_t h, const void* payload, size_t payload_len) {
  const size_t hlen = VarintSize(h);
  const size_t body = hlen + payload_len;
  unsigned char* p = OpenGap(pos, body + BacklenSize(body));
  PutVarint(p, h);
  if (payload_len) std::memcpy(p + hlen, payload, payload_len);
  PutBacklen(p + body, body);
}

void Packed::InsertInt(size_t pos, int64_t v) {
  const uint64_t z = ZigZag(v);
  if (z < kSmallIntLimit) {
    InsertEncoded(pos, (z << 2) | kTagSmallInt, nullptr, 0);
  } else {
    InsertEncoded(pos, kTagInt64, &v, 8);
  }
}

void Packed::InsertText(size_t pos, std::string_view s, bool as_string) {
  int64_t v;
  if (!as_string && s.size() <= 20 && ParseInt64(s, &v)) {
    InsertInt(pos, v);
    return;
  }
  InsertEncoded(pos, (static_cast<uint64_t>(s.size()) << 2) | kTagString, s.data(), s.size());
}

void Packed::InsertDouble(size_t pos, double d) {
  if (d >= -kExactIntLimit && d <= kExactIntLimit &&
      static_cast<double>(static_cast<int64_t>(d)) == d) {
    InsertInt(pos, static_cast<int64_t>(d));
    return;
  }
  InsertEncoded(pos, kTagDouble, &d, 8);
}

void Packed::Erase(size_t pos, size_t n) {
  size_t end = pos;
  for (size_t k = 0; k < n; ++k) end = Next(end);
  unsigned char* d = Data();
  const size_t used = bytes();
  std::memmove(d + pos, d + end, used - end);
  Header()[0] = static_cast<uint32_t>(used - (end - pos));
  Header()[1] -= static_cast<uint32_t>(n);
  if (Header()[1] == 0) {
    Clear();
    return;
  }
  // Give back space once a quarter of the buffer is unused.
  const size_t need = kHeader + bytes();
  if (malloc_usable_size(buf_) > need + need / 4 + 32) {
    if (void* smaller = std::realloc(buf_, need)) buf_ = static_cast<char*>(smaller);
  }
}

void Packed::ReplaceText(size_t pos, std::string_view s, bool as_string) {
  // The new entry goes in first, then the old one (now right after it) goes.
  InsertText(pos, s, as_string);
  Erase(Next(pos), 1);
}

Packed Packed::TakeTail(size_t pos) {
  Packed tail;
  const size_t len = bytes() - pos;
  if (len == 0) return tail;
  size_t n = 0;
  for (size_t p = pos; p < bytes(); p = Next(p)) ++n;
  tail.buf_ = static_cast<char*>(std::malloc(kHeader + len));
  if (tail.buf_ == nullptr) throw std::bad_alloc();
  std::memcpy(tail.Data(), Data() + pos, len);
  tail.Header()[0] = static_cast<uint32_t>(len);
  tail.Header()[1] = static_cast<uint32_t>(n);
  Header()[0] = static_cast<uint32_t>(pos);
  Header()[1] -= static_cast<uint32_t>(n);
  if (Header()[1] == 0) Clear();
  return tail;
}

}  // namespace shardnode::node::types
