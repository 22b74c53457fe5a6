#include "node/keyspace/types/bitmap.h"

#include <bit>
#include <cstring>
#include <limits>

namespace shardnode::node::types {

namespace {

// Bits set in a word without the popcnt instruction (the build targets
// baseline x86-64, where std::popcount is a libgcc call).
inline uint64_t WordPopCount(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
  return (x * 0x0101010101010101ULL) >> 56;
}

}  // namespace

uint64_t PopCount(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  uint64_t count = 0;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    count += WordPopCount(w);
    p += 8;
    n -= 8;
  }
  while (n--) count += static_cast<uint64_t>(std::popcount(*p++));
  return count;
}

int64_t BitPos(std::string_view bytes, int bit) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  const unsigned char skip = bit ? 0x00 : 0xff;
  size_t i = 0;
  // Whole words that cannot hold the bit first.
  const uint64_t skip_word = bit ? 0 : ~uint64_t{0};
  while (i + 8 <= n) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w != skip_word) break;
    i += 8;
  }
  for (; i < n; ++i) {
    if (p[i] != skip) {
      const unsigned char b = bit ? p[i] : static_cast<unsigned char>(~p[i]);
      return static_cast<int64_t>(i * 8) + std::countl_zero(b);
    }
  }
  return bit ? -1 : static_cast<int64_t>(n * 8);
}

uint64_t GetUnsignedField(const unsigned char* p, uint64_t offset, int bits) {
  uint64_t value = 0;
  for (int j = 0; j < bits; ++j, ++offset) {
    const unsigned shift = 7 - static_cast<unsigned>(offset & 7);
    value = (value << 1) | ((p[offset >> 3] >> shift) & 1u);
  }
  return value;
}

int64_t GetSignedField(const unsigned char* p, uint64_t offset, int bits) {
  uint64_t u = GetUnsignedField(p, offset, bits);
  // Extend the sign bit over the high bits.
  if (bits < 64 && (u & (uint64_t{1} << (bits - 1)))) u |= ~uint64_t{0} << bits;
  return static_cast<int64_t>(u);
}

void SetField(unsigned char* p, uint64_t offset, int bits, uint64_t value) {
  for (int j = 0; j < bits; ++j, ++offset) {
    const unsigned bitval = (value >> (bits - 1 - j)) & 1u;
    const unsigned shift = 7 - static_cast<unsigned>(offset & 7);
    unsigned char& byte = p[offset >> 3];
    byte = static_cast<unsigned char>((byte & ~(1u << shift)) | (bitval << shift));
  }
}

int CheckUnsignedOverflow(uint64_t value, int64_t incr, int bits, Overflow how, uint64_t* limit) {
  const uint64_t max =
      bits == 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t{1} << bits) - 1;
  // The room above and below `value`, as Redis computes them (in int64).
  const auto maxincr = static_cast<int64_t>(max - value);
  const auto minincr = static_cast<int64_t>(uint64_t{0} - value);
  int result = 0;
  if (value > max || (incr > 0 && incr > maxincr)) {
    result = 1;
    if (how == Overflow::kSat) *limit = max;
  } else if (incr < 0 && incr < minincr) {
    result = -1;
    if (how == Overflow::kSat) *limit = 0;
  } else {
    return 0;
  }
  if (how == Overflow::kWrap) {
    const uint64_t mask = bits == 64 ? 0 : ~uint64_t{0} << bits;
    *limit = (value + static_cast<uint64_t>(incr)) & ~mask;
    return 1;  // Redis answers 1 for a wrap either way
  }
  return result;
}

int CheckSignedOverflow(int64_t value, int64_t incr, int bits, Overflow how, int64_t* limit) {
  const int64_t max =
      bits == 64 ? std::numeric_limits<int64_t>::max() : (int64_t{1} << (bits - 1)) - 1;
  const int64_t min = -max - 1;
  // Computed with wrapping arithmetic, as Redis's C does; only used once
  // `value` is known to be in range, where they do not wrap.
  const auto maxincr =
      static_cast<int64_t>(static_cast<uint64_t>(max) - static_cast<uint64_t>(value));
  const auto minincr =
      static_cast<int64_t>(static_cast<uint64_t>(min) - static_cast<uint64_t>(value));
  int result = 0;
  if (value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr)) {
    result = 1;
    if (how == Overflow::kSat) *limit = max;
  } else if (value < min || (bits != 64 && incr < minincr) ||
             (value < 0 && incr < 0 && incr < minincr)) {
    result = -1;
    if (how == Overflow::kSat) *limit = min;
  } else {
    return 0;
  }
  if (how == Overflow::kWrap) {
    uint64_t c = static_cast<uint64_t>(value) + static_cast<uint64_t>(incr);
    if (bits < 64) {
      const uint64_t msb = uint64_t{1} << (bits - 1);
      const uint64_t mask = ~uint64_t{0} << bits;
      c = (c & msb) ? (c | mask) : (c & ~mask);
    }
    *limit = static_cast<int64_t>(c);
    return 1;
  }
  return result;
}

std::string BitOp(BitOpKind op, std::span<const std::string_view> sources) {
  size_t maxlen = 0;
  for (std::string_view s : sources) maxlen = std::max(maxlen, s.size());
  std::string out(maxlen, '\0');
  if (maxlen == 0 || sources.empty()) return out;
  auto byte_at = [&](size_t k, size_t j) -> unsigned char {
    return j < sources[k].size() ? static_cast<unsigned char>(sources[k][j]) : 0;
  };
  for (size_t j = 0; j < maxlen; ++j) {
    unsigned char v = byte_at(0, j);
    switch (op) {
      case BitOpKind::kNot:
        v = static_cast<unsigned char>(~v);
        break;
      case BitOpKind::kAnd:
        for (size_t k = 1; k < sources.size() && v != 0; ++k) v &= byte_at(k, j);
        break;
      case BitOpKind::kOr:
        for (size_t k = 1; k < sources.size() && v != 0xff; ++k) v |= byte_at(k, j);
        break;
      case BitOpKind::kXor:
        for (size_t k = 1; k < sources.size(); ++k) v ^= byte_at(k, j);
        break;
    }
    out[j] = static_cast<char>(v);
  }
  return out;
}

}  // namespace shardnode::node::types
