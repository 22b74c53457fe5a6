// HyperLogLog in Redis 7.0's string layout, byte for byte, so that a value
// written by redis-server is read here and the other way round (PFADD,
// PFCOUNT, PFMERGE, PFDEBUG, and the RDB/DUMP payloads, which are plain
// strings).
//
// Layout: a 16-byte header ("HYLL", encoding byte 0 = dense / 1 = sparse,
// three zero bytes, the cached cardinality as 8 little-endian bytes whose
// top bit set means "stale"), then the registers: 16384 registers of 6 bits
// packed little-endian-first (dense, 12288 bytes), or the sparse run-length
// opcodes ZERO (00xxxxxx: 1..64 zero registers), XZERO (01xxxxxx xxxxxxxx:
// 1..16384 zero registers) and VAL (1vvvvvxx: 1..4 registers of value
// 1..32). Elements are hashed with MurmurHash64A (seed 0xadc83b19): the low
// 14 bits pick the register, the rest give the run of zeros.
//
// Pure functions on the value's bytes; no allocation beyond the string's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace shardnode::node::types {

inline constexpr int kHllRegisters = 16384;
inline constexpr size_t kHllHeaderSize = 16;
inline constexpr size_t kHllDenseSize = kHllHeaderSize + kHllRegisters * 6 / 8;
inline constexpr uint8_t kHllDense = 0;
inline constexpr uint8_t kHllSparse = 1;

// Austin Appleby's MurmurHash64A, as Redis computes it on little-endian.
uint64_t MurmurHash64A(const void* key, size_t len, uint64_t seed);

// The register `ele` maps to and its run length (1..51).
int HllPatternLength(std::string_view ele, int* reg);

// An empty HLL (sparse: one XZERO opcode covering every register).
std::string NewHll();

// Whether `s` has the header of an HLL Redis accepts: "HYLL", a known
// encoding, and the exact length when dense. The sparse opcodes are not
// checked here (a corrupt sparse body is reported by the operations).
bool LooksLikeHll(std::string_view s);

// Header accessors. REQUIRES: LooksLikeHll.
inline uint8_t HllEncoding(std::string_view s) { return static_cast<uint8_t>(s[4]); }
bool HllCacheValid(std::string_view s);
uint64_t HllCachedCardinality(std::string_view s);
void HllSetCachedCardinality(std::string* s, uint64_t card);
void HllInvalidateCache(std::string* s);

// Adds `ele`. Returns 1 when a register changed, 0 when none did, -1 when a
// sparse body is corrupt. A sparse HLL becomes dense when a register value
// above 32 is needed or when it would grow past `sparse_max_bytes`.
// REQUIRES: LooksLikeHll(*s).
int HllAdd(std::string* s, std::string_view ele, size_t sparse_max_bytes);

// Raises register `index` to `count` if below it (same results as HllAdd).
int HllSet(std::string* s, int index, uint8_t count, size_t sparse_max_bytes);

// Converts a sparse HLL to dense in place (the header, cached cardinality
// included, is kept). Returns false, leaving `s` as it was, when the sparse
// body does not cover exactly 16384 registers. No-op when already dense.
bool HllSparseToDense(std::string* s);

// max[i] = MAX(max[i], register i of `s`) for the 16384 registers. Returns
// false when a sparse body is corrupt.
bool HllMergeInto(uint8_t* max, std::string_view s);

// The estimated cardinality (Ertl's improved estimator, as Redis 7.0).
// *invalid is set when a sparse body does not cover 16384 registers.
uint64_t HllCount(std::string_view s, bool* invalid);
// The same for 16384 registers held one per byte (PFCOUNT of several keys).
uint64_t HllCountRaw(const uint8_t* registers);

// Register `index` of a dense HLL. REQUIRES: dense and LooksLikeHll.
uint8_t HllDenseRegister(std::string_view s, int index);

// PFDEBUG DECODE's text for a sparse HLL: "Z:16384", "z:3 v:2,1 ...".
std::string HllDecodeSparse(std::string_view s);

// PFSELFTEST: register access and estimation error checks, with `seed` for
// the random data. Returns "" on success, else the error reply text.
std::string HllSelfTest(uint64_t seed, size_t sparse_max_bytes);

}  // namespace shardnode::node::types
