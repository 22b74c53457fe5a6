#include "replication/lzf.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

namespace shardnode::replication {
namespace {

constexpr size_t kMaxLiteral = 32;
constexpr size_t kMinMatch = 3;
constexpr size_t kMaxMatch = 7 + 255 + 2;
constexpr size_t kMaxDistance = 8192;
constexpr int kHashBits = 14;
// The best ratio LZF reaches is a 3-byte reference producing 264 bytes.
constexpr size_t kMaxExpansion = 88;

uint32_t HashPrefix(const unsigned char* p, int bits) {
  uint32_t v = static_cast<uint32_t>(p[0]) << 16 | static_cast<uint32_t>(p[1]) << 8 | p[2];
  return (v * 2654435761u) >> (32 - bits);
}

absl::Status Corrupt() { return absl::InvalidArgumentError("Invalid LZF compressed string"); }

}  // namespace

bool LzfCompress(absl::string_view in, size_t max_out, std::string* out) {
  out->clear();
  const auto* data = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  // Positions are stored plus one so that zero means "empty slot". The
  // table grows with the input (up to 2^kHashBits slots): clearing a full
  // table for every short value would cost more than compressing it.
  thread_local std::array<uint32_t, size_t{1} << kHashBits> table;
  const int bits = std::clamp(static_cast<int>(std::bit_width(n)), 8, kHashBits);
  std::fill_n(table.begin(), size_t{1} << bits, 0u);
  size_t literal_start = 0;
  auto flush_literals = [&](size_t end) {
    while (literal_start < end) {
      size_t run = std::min(kMaxLiteral, end - literal_start);
      out->push_back(static_cast<char>(run - 1));
      out->append(in.data() + literal_start, run);
      literal_start += run;
    }
  };
  size_t i = 0;
  while (i + kMinMatch <= n) {
    uint32_t h = HashPrefix(data + i, bits);
    size_t candidate = table[h];
    table[h] = static_cast<uint32_t>(i + 1);
    if (candidate == 0 || i - (candidate - 1) > kMaxDistance ||
        std::memcmp(data + candidate - 1, data + i, kMinMatch) != 0) {
      ++i;
      continue;
    }
    size_t from = candidate - 1;
    size_t limit = std::min(kMaxMatch, n - i);
    size_t len = kMinMatch;
    while (len < limit && data[from + len] == data[i + len]) ++len;
    flush_literals(i);
    size_t offset = i - from - 1;
    size_t code = len - 2;
    if (code < 7) {
      out->push_back(static_cast<char>(code << 5 | offset >> 8));
    } else {
      out->push_back(static_cast<char>(7 << 5 | offset >> 8));
      out->push_back(static_cast<char>(code - 7));
    }
    out->push_back(static_cast<char>(offset & 0xFF));
    // Index the positions the match covered so later data can refer to them.
    for (size_t j = i + 1; j + kMinMatch <= n && j < i + len; ++j) {
      table[HashPrefix(data + j, bits)] = static_cast<uint32_t>(j + 1);
    }
    i += len;
    literal_start = i;
    if (out->size() > max_out) return false;
  }
  flush_literals(n);
  return out->size() <= max_out;
}

absl::Status LzfDecompress(absl::string_view in, size_t out_len, std::string* out) {
  if (out_len / kMaxExpansion > in.size()) return Corrupt();
  out->resize(out_len);
  const auto* ip = reinterpret_cast<const unsigned char*>(in.data());
  const auto* const in_end = ip + in.size();
  auto* const base = reinterpret_cast<unsigned char*>(out->data());
  unsigned char* op = base;
  unsigned char* const out_end = base + out_len;
  while (ip < in_end) {
    size_t ctrl = *ip++;
    if (ctrl < 32) {
      size_t run = ctrl + 1;
      if (static_cast<size_t>(in_end - ip) < run || static_cast<size_t>(out_end - op) < run) {
        return Corrupt();
      }
      std::memcpy(op, ip, run);
      op += run;
      ip += run;
      continue;
    }
    size_t len = ctrl >> 5;
    if (ip >= in_end) return Corrupt();
    if (len == 7) {
      len += *ip++;
      if (ip >= in_end) return Corrupt();
    }
    size_t distance = ((ctrl & 31) << 8 | *ip++) + 1;
    len += 2;
    if (distance > static_cast<size_t>(op - base) || static_cast<size_t>(out_end - op) < len) {
      return Corrupt();
    }
    // Byte by byte: a reference may overlap the bytes it produces.
    const unsigned char* ref = op - distance;
    for (size_t k = 0; k < len; ++k) *op++ = *ref++;
  }
  if (op != out_end) return Corrupt();
  return absl::OkStatus();
}

}  // namespace shardnode::replication
