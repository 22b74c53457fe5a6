#include "slots/hash_slot.h"

#include <array>
#include <cstring>

namespace shardnode::slots {
namespace {

// One entry per byte value: the CRC contribution of that byte shifted through
// the high end of the register. Built at compile time.
constexpr std::array<uint16_t, 256> MakeTable() {
  std::array<uint16_t, 256> table{};
  for (int byte = 0; byte < 256; ++byte) {
    uint16_t crc = static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
    table[byte] = crc;
  }
  return table;
}

constexpr std::array<uint16_t, 256> kTable = MakeTable();

// kSliced[k][x]: the CRC of byte x followed by k zero bytes (from 0). The
// CRC is linear, so four bytes at once are the XOR of four independent
// lookups (the register's two bytes folded into the first two), not a chain
// of four dependent ones: keys of 16 bytes take a quarter of the steps.
constexpr std::array<std::array<uint16_t, 256>, 4> MakeSliced() {
  std::array<std::array<uint16_t, 256>, 4> t{};
  t[0] = kTable;
  for (size_t k = 1; k < 4; ++k) {
    for (size_t x = 0; x < 256; ++x) {
      const uint16_t prev = t[k - 1][x];
      t[k][x] = static_cast<uint16_t>((prev << 8) ^ kTable[prev >> 8]);
    }
  }
  return t;
}

constexpr std::array<std::array<uint16_t, 256>, 4> kSliced = MakeSliced();

}  // namespace

uint16_t Crc16(std::string_view data) {
  uint16_t crc = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  for (; n >= 4; p += 4, n -= 4) {
    crc = static_cast<uint16_t>(kSliced[3][(crc >> 8) ^ p[0]] ^ kSliced[2][(crc & 0xff) ^ p[1]] ^
                                kSliced[1][p[2]] ^ kSliced[0][p[3]]);
  }
  for (; n > 0; ++p, --n) {
    crc = static_cast<uint16_t>((crc << 8) ^ kTable[((crc >> 8) ^ *p) & 0xff]);
  }
  return crc;
}

std::string_view HashTag(std::string_view key) {
  size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

int KeyHashSlot(std::string_view key) {
  // One command asks for the slot of the same key several times (routing,
  // then each keyspace call), so remember the last short key per thread.
  // The cache compares bytes, never pointers, so it cannot go stale.
  constexpr size_t kCachedKeyMax = 64;
  thread_local char cached_key[kCachedKeyMax];
  thread_local size_t cached_len = kCachedKeyMax + 1;  // nothing cached yet
  thread_local int cached_slot = 0;
  if (key.empty()) return Crc16(key) & (kNumSlots - 1);
  if (key.size() == cached_len && std::memcmp(key.data(), cached_key, cached_len) == 0) {
    return cached_slot;
  }
  const int slot = Crc16(HashTag(key)) & (kNumSlots - 1);
  if (key.size() <= kCachedKeyMax) {
    std::memcpy(cached_key, key.data(), key.size());
    cached_len = key.size();
    cached_slot = slot;
  }
  return slot;
}

}  // namespace shardnode::slots
