#include "node/keyspace/types/hyperloglog.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"

namespace shardnode::node::types {
namespace {

constexpr int kP = 14;
constexpr int kQ = 64 - kP;
constexpr int kRegisterMax = 63;
constexpr size_t kDenseBytes = kHllDenseSize - kHllHeaderSize;
constexpr int kValMaxValue = 32;
constexpr int kValMaxLen = 4;
constexpr int kZeroMaxLen = 64;
constexpr int kXZeroMaxLen = 16384;
constexpr double kAlphaInf = 0.721347520444481703680;  // 0.5 / ln(2)
constexpr uint64_t kHashSeed = 0xadc83b19ULL;

// --- Sparse opcodes ---
bool IsZero(uint8_t b) { return (b & 0xc0) == 0; }
bool IsXZero(uint8_t b) { return (b & 0xc0) == 0x40; }
bool IsVal(uint8_t b) { return b & 0x80; }
int ZeroLen(uint8_t b) { return (b & 0x3f) + 1; }
int XZeroLen(uint8_t b0, uint8_t b1) { return (((b0 & 0x3f) << 8) | b1) + 1; }
int ValValue(uint8_t b) { return ((b >> 2) & 0x1f) + 1; }
int ValLen(uint8_t b) { return (b & 0x3) + 1; }
uint8_t Val(int value, int len) {
  return static_cast<uint8_t>(((value - 1) << 2) | (len - 1) | 0x80);
}
uint8_t Zero(int len) { return static_cast<uint8_t>(len - 1); }
void PutXZero(uint8_t* p, int len) {
  p[0] = static_cast<uint8_t>(((len - 1) >> 8) | 0x40);
  p[1] = static_cast<uint8_t>((len - 1) & 0xff);
}

uint8_t* Bytes(std::string* s) { return reinterpret_cast<uint8_t*>(s->data()); }
const uint8_t* Bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// --- Dense registers: 6 bits each, register i at bit 6*i, low bits first.
// The last register ends inside the last byte; the byte after it reads as 0.
uint8_t DenseGet(const uint8_t* regs, int i) {
  const size_t byte = static_cast<size_t>(i) * 6 / 8;
  const unsigned fb = static_cast<unsigned>(i * 6) & 7;
  const unsigned b0 = regs[byte];
  const unsigned b1 = byte + 1 < kDenseBytes ? regs[byte + 1] : 0;
  return static_cast<uint8_t>(((b0 >> fb) | (b1 << (8 - fb))) & kRegisterMax);
}

void DenseSetRaw(uint8_t* regs, int i, unsigned v) {
  const size_t byte = static_cast<size_t>(i) * 6 / 8;
  const unsigned fb = static_cast<unsigned>(i * 6) & 7;
  regs[byte] = static_cast<uint8_t>((regs[byte] & ~(kRegisterMax << fb)) | (v << fb));
  if (byte + 1 < kDenseBytes) {
    const unsigned fb8 = 8 - fb;
    regs[byte + 1] = static_cast<uint8_t>((regs[byte + 1] & ~(kRegisterMax >> fb8)) | (v >> fb8));
  }
}

int DenseSet(uint8_t* regs, int i, uint8_t count) {
  if (count > DenseGet(regs, i)) {
    DenseSetRaw(regs, i, count);
    return 1;
  }
  return 0;
}

// Calls fn(first_register, run_length, value) for each opcode of a sparse
// body; returns the number of registers covered.
template <typename Fn>
long WalkSparse(std::string_view s, Fn&& fn) {
  const uint8_t* p = Bytes(s) + kHllHeaderSize;
  const uint8_t* end = Bytes(s) + s.size();
  long idx = 0;
  while (p < end) {
    if (IsZero(*p)) {
      const int run = ZeroLen(*p);
      if (!fn(idx, run, 0)) return -1;
      idx += run;
      p++;
    } else if (IsXZero(*p)) {
      // An XZERO cut short by the end of the string reads its second byte
      // as 0 (Redis reads the terminating NUL).
      const int run = XZeroLen(p[0], p + 1 < end ? p[1] : 0);
      if (!fn(idx, run, 0)) return -1;
      idx += run;
      p += 2;
    } else {
      const int run = ValLen(*p);
      if (!fn(idx, run, ValValue(*p))) return -1;
      idx += run;
      p++;
    }
  }
  return idx;
}

double Sigma(double x) {
  if (x == 1.) return INFINITY;
  double z_prime;
  double y = 1;
  double z = x;
  do {
    x *= x;
    z_prime = z;
    z += x * y;
    y += y;
  } while (z_prime != z);
  return z;
}

double Tau(double x) {
  if (x == 0. || x == 1.) return 0.;
  double z_prime;
  double y = 1.0;
  double z = 1 - x;
  do {
    x = std::sqrt(x);
    z_prime = z;
    y *= 0.5;
    z -= std::pow(1 - x, 2) * y;
  } while (z_prime != z);
  return z / 3;
}

uint64_t EstimateFromHistogram(const int* histo) {
  const double m = kHllRegisters;
  double z = m * Tau((m - histo[kQ + 1]) / m);
  for (int j = kQ; j >= 1; --j) {
    z += histo[j];
    z *= 0.5;
  }
  z += m * Sigma(histo[0] / m);
  return static_cast<uint64_t>(std::llround(kAlphaInf * m * m / z));
}

// The body of HllSet for a sparse HLL: Redis's hllSparseSet, opcode for
// opcode, so that the bytes come out the same. Returns 2 when the HLL must
// be promoted to dense first.
int SparseSet(std::string* s, int index, uint8_t count, size_t sparse_max_bytes) {
  if (count > kValMaxValue) return 2;
  const size_t body = kHllHeaderSize;
  size_t end = s->size();
  // Step 1: find the opcode that covers `index`.
  size_t p = body;
  size_t prev = 0;
  bool has_prev = false;
  long first = 0, span = 0;
  while (p < end) {
    const uint8_t* b = Bytes(s);
    size_t oplen = 1;
    if (IsZero(b[p])) {
      span = ZeroLen(b[p]);
    } else if (IsVal(b[p])) {
      span = ValLen(b[p]);
    } else {
      span = XZeroLen(b[p], p + 1 < end ? b[p + 1] : 0);
      oplen = 2;
    }
    if (index <= first + span - 1) break;
    prev = p;
    has_prev = true;
    p += oplen;
    first += span;
  }
  if (span == 0 || p >= end) return -1;

  uint8_t* b = Bytes(s);
  const bool is_zero = IsZero(b[p]);
  const bool is_xzero = IsXZero(b[p]);
  const bool is_val = !is_zero && !is_xzero;
  const long runlen = is_zero ? ZeroLen(b[p]) : is_val ? ValLen(b[p]) : span;

  bool updated = false;
  if (is_val) {
    if (ValValue(b[p]) >= count) return 0;  // nothing to raise
    if (runlen == 1) {
      b[p] = Val(count, 1);
      updated = true;
    }
  }
  if (!updated && is_zero && runlen == 1) {
    b[p] = Val(count, 1);
    updated = true;
  }
  if (!updated) {
    // Split the opcode into up to three: before, ours, after.
    uint8_t seq[5];
    int n = 0;
    const long last = first + span - 1;
    auto put_zero_run = [&](long len) {
      if (len > kZeroMaxLen) {
        PutXZero(seq + n, static_cast<int>(len));
        n += 2;
      } else {
        seq[n++] = Zero(static_cast<int>(len));
      }
    };
    if (is_zero || is_xzero) {
      if (index != first) put_zero_run(index - first);
      seq[n++] = Val(count, 1);
      if (index != last) put_zero_run(last - index);
    } else {
      const int curval = ValValue(b[p]);
      if (index != first) seq[n++] = Val(curval, static_cast<int>(index - first));
      seq[n++] = Val(count, 1);
      if (index != last) seq[n++] = Val(curval, static_cast<int>(last - index));
    }
    const int oldlen = is_xzero ? 2 : 1;
    const int delta = n - oldlen;
    if (delta > 0 && s->size() + static_cast<size_t>(delta) > sparse_max_bytes) return 2;
    // The string's length changes by exactly `delta`. An XZERO cut short by
    // the end of the string counts as two bytes there, so a sequence that
    // replaces it is cut short too, as in Redis.
    const auto* bytes = reinterpret_cast<const char*>(seq);
    if (p + static_cast<size_t>(oldlen) <= end) {
      s->replace(p, static_cast<size_t>(oldlen), bytes, static_cast<size_t>(n));
    } else {
      const size_t new_size = static_cast<size_t>(static_cast<long>(end) + delta);
      s->resize(p);
      s->append(bytes, static_cast<size_t>(n));
      s->resize(new_size);
    }
    end = s->size();
  }

  // Step 4: merge adjacent VAL opcodes of the same value, looking at up to
  // five opcodes from the one before the change.
  size_t q = has_prev ? prev : body;
  int scanlen = 5;
  while (q < end && scanlen--) {
    b = Bytes(s);
    if (IsXZero(b[q])) {
      q += 2;
      continue;
    }
    if (IsZero(b[q])) {
      q++;
      continue;
    }
    if (q + 1 < end && IsVal(b[q + 1])) {
      const int v1 = ValValue(b[q]);
      const int v2 = ValValue(b[q + 1]);
      if (v1 == v2) {
        const int len = ValLen(b[q]) + ValLen(b[q + 1]);
        if (len <= kValMaxLen) {
          b[q + 1] = Val(v1, len);
          s->erase(q, 1);
          end--;
          continue;
        }
      }
    }
    q++;
  }
  HllInvalidateCache(s);
  return 1;
}

}  // namespace

uint64_t MurmurHash64A(const void* key, size_t len, uint64_t seed) {
  const uint64_t m = 0xc6a4a7935bd1e995ULL;
  const int r = 47;
  // Redis passes the length as an int.
  uint64_t h = seed ^ (static_cast<uint64_t>(static_cast<int64_t>(static_cast<int>(len))) * m);
  const auto* data = static_cast<const uint8_t*>(key);
  const uint8_t* end = data + (len - (len & 7));
  while (data != end) {
    uint64_t k;
    std::memcpy(&k, data, 8);
    if constexpr (std::endian::native == std::endian::big) k = __builtin_bswap64(k);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
    data += 8;
  }
  switch (len & 7) {
    case 7:
      h ^= static_cast<uint64_t>(data[6]) << 48;
      [[fallthrough]];
    case 6:
      h ^= static_cast<uint64_t>(data[5]) << 40;
      [[fallthrough]];
    case 5:
      h ^= static_cast<uint64_t>(data[4]) << 32;
      [[fallthrough]];
    case 4:
      h ^= static_cast<uint64_t>(data[3]) << 24;
      [[fallthrough]];
    case 3:
      h ^= static_cast<uint64_t>(data[2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint64_t>(data[1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= static_cast<uint64_t>(data[0]);
      h *= m;
      break;
    default:
      break;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

int HllPatternLength(std::string_view ele, int* reg) {
  uint64_t hash = MurmurHash64A(ele.data(), ele.size(), kHashSeed);
  *reg = static_cast<int>(hash & (kHllRegisters - 1));
  hash >>= kP;
  hash |= uint64_t{1} << kQ;  // bounds the run at Q + 1
  return std::countr_zero(hash) + 1;
}

std::string NewHll() {
  std::string s(kHllHeaderSize + 2, '\0');
  std::memcpy(s.data(), "HYLL", 4);
  s[4] = static_cast<char>(kHllSparse);
  PutXZero(Bytes(&s) + kHllHeaderSize, kXZeroMaxLen);
  return s;
}

bool LooksLikeHll(std::string_view s) {
  if (s.size() < kHllHeaderSize || s.substr(0, 4) != "HYLL") return false;
  const uint8_t enc = HllEncoding(s);
  if (enc > kHllSparse) return false;
  return enc != kHllDense || s.size() == kHllDenseSize;
}

bool HllCacheValid(std::string_view s) { return (Bytes(s)[15] & 0x80) == 0; }

uint64_t HllCachedCardinality(std::string_view s) {
  uint64_t card = 0;
  for (int i = 7; i >= 0; --i) card = (card << 8) | Bytes(s)[8 + i];
  return card;
}

void HllSetCachedCardinality(std::string* s, uint64_t card) {
  for (int i = 0; i < 8; ++i) Bytes(s)[8 + i] = static_cast<uint8_t>(card >> (8 * i));
}

void HllInvalidateCache(std::string* s) { Bytes(s)[15] |= 0x80; }

int HllSet(std::string* s, int index, uint8_t count, size_t sparse_max_bytes) {
  if (HllEncoding(*s) == kHllDense) return DenseSet(Bytes(s) + kHllHeaderSize, index, count);
  const int r = SparseSet(s, index, count, sparse_max_bytes);
  if (r != 2) return r;
  // Promote: the register needs raising, so the dense set changes it.
  if (!HllSparseToDense(s)) return -1;
  DenseSet(Bytes(s) + kHllHeaderSize, index, count);
  return 1;
}

int HllAdd(std::string* s, std::string_view ele, size_t sparse_max_bytes) {
  int reg;
  const int count = HllPatternLength(ele, &reg);
  return HllSet(s, reg, static_cast<uint8_t>(count), sparse_max_bytes);
}

bool HllSparseToDense(std::string* s) {
  if (HllEncoding(*s) == kHllDense) return true;
  std::string dense(kHllDenseSize, '\0');
  std::memcpy(dense.data(), s->data(), kHllHeaderSize);
  dense[4] = static_cast<char>(kHllDense);
  uint8_t* regs = Bytes(&dense) + kHllHeaderSize;
  bool overflow = false;
  const long covered = WalkSparse(*s, [&](long idx, int run, int value) {
    if (value == 0) return true;
    if (idx + run > kHllRegisters) {
      overflow = true;
      return false;
    }
    for (int k = 0; k < run; ++k) DenseSetRaw(regs, static_cast<int>(idx + k), value);
    return true;
  });
  if (overflow || covered != kHllRegisters) return false;
  *s = std::move(dense);
  return true;
}

bool HllMergeInto(uint8_t* max, std::string_view s) {
  if (HllEncoding(s) == kHllDense) {
    const uint8_t* regs = Bytes(s) + kHllHeaderSize;
    for (int i = 0; i < kHllRegisters; ++i) max[i] = std::max(max[i], DenseGet(regs, i));
    return true;
  }
  bool overflow = false;
  const long covered = WalkSparse(s, [&](long idx, int run, int value) {
    if (value == 0) return true;
    if (idx + run > kHllRegisters) {
      overflow = true;
      return false;
    }
    for (int k = 0; k < run; ++k) {
      uint8_t& r = max[idx + k];
      r = std::max(r, static_cast<uint8_t>(value));
    }
    return true;
  });
  return !overflow && covered == kHllRegisters;
}

uint64_t HllCount(std::string_view s, bool* invalid) {
  int histo[64] = {};
  if (HllEncoding(s) == kHllDense) {
    const uint8_t* regs = Bytes(s) + kHllHeaderSize;
    for (int i = 0; i < kHllRegisters; ++i) histo[DenseGet(regs, i)]++;
  } else {
    const long covered = WalkSparse(s, [&](long, int run, int value) {
      histo[value] += run;
      return true;
    });
    if (covered != kHllRegisters && invalid) *invalid = true;
  }
  return EstimateFromHistogram(histo);
}

uint64_t HllCountRaw(const uint8_t* registers) {
  int histo[256] = {};
  for (int i = 0; i < kHllRegisters; ++i) histo[registers[i]]++;
  return EstimateFromHistogram(histo);
}

uint8_t HllDenseRegister(std::string_view s, int index) {
  return DenseGet(Bytes(s) + kHllHeaderSize, index);
}

std::string HllDecodeSparse(std::string_view s) {
  std::string out;
  const uint8_t* p = Bytes(s) + kHllHeaderSize;
  const uint8_t* end = Bytes(s) + s.size();
  while (p < end) {
    if (IsZero(*p)) {
      absl::StrAppend(&out, "z:", ZeroLen(*p), " ");
      p++;
    } else if (IsXZero(*p)) {
      absl::StrAppend(&out, "Z:", XZeroLen(p[0], p + 1 < end ? p[1] : 0), " ");
      p += 2;
    } else {
      absl::StrAppend(&out, "v:", ValValue(*p), ",", ValLen(*p), " ");
      p++;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string HllSelfTest(uint64_t seed, size_t sparse_max_bytes) {
  std::mt19937_64 rng(seed);
  std::string dense(kHllDenseSize, '\0');
  std::memcpy(dense.data(), "HYLL", 4);
  uint8_t* regs = Bytes(&dense) + kHllHeaderSize;
  // 1: registers keep what was written and do not disturb their neighbours.
  std::vector<uint8_t> expect(kHllRegisters);
  for (int cycle = 0; cycle < 1000; ++cycle) {
    for (int i = 0; i < kHllRegisters; ++i) {
      expect[i] = static_cast<uint8_t>(rng() & kRegisterMax);
      DenseSetRaw(regs, i, expect[i]);
    }
    for (int i = 0; i < kHllRegisters; ++i) {
      const uint8_t v = DenseGet(regs, i);
      if (v != expect[i]) {
        return absl::StrCat("TESTFAILED Register ", i, " should be ", expect[i], " but is ", v);
      }
    }
  }
  // 2: estimates of dense and sparse agree and stay within bounds.
  std::memset(regs, 0, kDenseBytes);
  std::string sparse = NewHll();
  const double relerr = 1.04 / std::sqrt(static_cast<double>(kHllRegisters));
  int64_t checkpoint = 1;
  const uint64_t mix = rng();
  for (uint64_t j = 1; j <= 10000000; ++j) {
    const uint64_t ele = j ^ mix;
    const std::string_view bytes(reinterpret_cast<const char*>(&ele), sizeof(ele));
    int reg;
    const int count = HllPatternLength(bytes, &reg);
    DenseSet(regs, reg, static_cast<uint8_t>(count));
    HllAdd(&sparse, bytes, sparse_max_bytes);
    if (static_cast<int64_t>(j) != checkpoint) continue;
    if (j < sparse_max_bytes / 2 && HllEncoding(sparse) != kHllSparse) {
      return "TESTFAILED sparse encoding not used";
    }
    const uint64_t card = HllCount(dense, nullptr);
    if (card != HllCount(sparse, nullptr)) return "TESTFAILED dense/sparse disagree";
    int64_t abserr = checkpoint - static_cast<int64_t>(card);
    uint64_t maxerr =
        static_cast<uint64_t>(std::ceil(relerr * 6 * static_cast<double>(checkpoint)));
    if (j == 10) maxerr = 1;
    if (abserr < 0) abserr = -abserr;
    if (abserr > static_cast<int64_t>(maxerr)) {
      return absl::StrCat("TESTFAILED Too big error. card:", checkpoint, " abserr:", abserr);
    }
    checkpoint *= 10;
  }
  return "";
}

}  // namespace shardnode::node::types
