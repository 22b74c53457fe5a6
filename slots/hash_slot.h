// Key -> hash slot mapping of Redis Cluster: CRC16-XMODEM of the key (or of
// its hash tag), masked to 14 bits. Pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace shardnode::slots {

inline constexpr int kNumSlots = 16384;

// CRC16-CCITT XMODEM: polynomial 0x1021, init 0, no reflection, no xorout.
// Crc16("123456789") == 0x31C3.
uint16_t Crc16(std::string_view data);

// The part of `key` that is hashed: the bytes between the first '{' and the
// first '}' after it when that span is non-empty; otherwise the whole key.
std::string_view HashTag(std::string_view key);

// Slot of `key`, in [0, kNumSlots).
int KeyHashSlot(std::string_view key);

}  // namespace shardnode::slots
