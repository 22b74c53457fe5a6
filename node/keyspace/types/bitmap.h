// Bit-level operations on strings for the bitmap commands (SETBIT, BITCOUNT,
// BITPOS, BITOP, BITFIELD): population count, first set/clear bit, and
// big-endian bit fields of 1..64 bits with Redis 7.0's overflow rules.
//
// Bits are numbered as Redis numbers them: bit 0 is the most significant bit
// of byte 0. Pure functions; no allocation except BitOp's result.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace shardnode::node::types {

// Number of set bits in `bytes`.
uint64_t PopCount(std::string_view bytes);

// Position of the first bit equal to `bit` (0 or 1) in `bytes`, counting
// from the most significant bit of the first byte. When no byte matches:
// -1 for bit 1; for bit 0 the position just after the last byte (the string
// is taken as padded with zeros on the right), as Redis's redisBitpos.
int64_t BitPos(std::string_view bytes, int bit);

// The `bits`-wide unsigned field at bit `offset` of `p`.
// REQUIRES: 1 <= bits <= 64; p holds the bytes up to bit offset + bits - 1.
uint64_t GetUnsignedField(const unsigned char* p, uint64_t offset, int bits);
// The same read as a two's complement signed value.
int64_t GetSignedField(const unsigned char* p, uint64_t offset, int bits);
// Writes the low `bits` bits of `value` at bit `offset` (same REQUIRES).
void SetField(unsigned char* p, uint64_t offset, int bits, uint64_t value);

enum class Overflow { kWrap, kSat, kFail };

// Whether `value + incr` leaves the range of a `bits`-wide unsigned field
// (1 above, -1 below, 0 inside). When it does and `how` is kWrap or kSat,
// *limit is the value to store (wrapped, or the bound); untouched for kFail.
int CheckUnsignedOverflow(uint64_t value, int64_t incr, int bits, Overflow how, uint64_t* limit);
// The same for a signed field of `bits` bits.
int CheckSignedOverflow(int64_t value, int64_t incr, int bits, Overflow how, int64_t* limit);

enum class BitOpKind { kAnd, kOr, kXor, kNot };

// BITOP's result over `sources` (missing keys are empty strings): as long as
// the longest source, shorter ones padded with zero bytes. NOT takes one
// source. Empty when every source is empty.
std::string BitOp(BitOpKind op, std::span<const std::string_view> sources);

}  // namespace shardnode::node::types
