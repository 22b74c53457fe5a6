#include "replication/internal/listpack.h"

#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "replication/internal/numbers.h"

namespace shardnode::replication::internal {
namespace {

constexpr size_t kHeaderSize = 6;
constexpr unsigned char kEnd = 0xFF;
constexpr uint16_t kCountUnknown = 0xFFFF;

absl::Status Corrupt(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("Listpack integrity check failed: ", why));
}

uint64_t LoadLE(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

void StoreLE(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

size_t BacklenSize(uint64_t size) {
  if (size <= 127) return 1;
  if (size < 16383) return 2;
  if (size < 2097151) return 3;
  if (size < 268435455) return 4;
  return 5;
}

// Sign-extends the low `bits` bits of `v`.
int64_t SignExtend(uint64_t v, int bits) {
  uint64_t sign = uint64_t{1} << (bits - 1);
  v &= (sign << 1) - 1;
  return static_cast<int64_t>((v ^ sign) - sign);
}

}  // namespace

ListpackBuilder::ListpackBuilder() = default;

size_t ListpackBuilder::EntrySize(absl::string_view element) {
  int64_t v;
  size_t entry;
  if (base::ParseStrictInt64(base::ToStd(element), &v)) {
    if (v >= 0 && v <= 127) {
      entry = 1;
    } else if (v >= -4096 && v <= 4095) {
      entry = 2;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
      entry = 3;
    } else if (v >= -8388608 && v <= 8388607) {
      entry = 4;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      entry = 5;
    } else {
      entry = 9;
    }
  } else {
    size_t len = element.size();
    entry = len + (len < 64 ? 1 : len < 4096 ? 2 : 5);
  }
  return entry + BacklenSize(entry);
}

void ListpackBuilder::AppendBacklen(size_t entry_size) {
  size_t n = BacklenSize(entry_size);
  for (size_t i = n; i-- > 0;) {
    auto byte = static_cast<unsigned char>((entry_size >> (7 * i)) & 127);
    if (i != n - 1) byte |= 128;
    body_.push_back(static_cast<char>(byte));
  }
}

void ListpackBuilder::AppendInt(int64_t v) {
  size_t start = body_.size();
  auto u = static_cast<uint64_t>(v);
  if (v >= 0 && v <= 127) {
    body_.push_back(static_cast<char>(v));
  } else if (v >= -4096 && v <= 4095) {
    body_.push_back(static_cast<char>(0xC0 | ((u >> 8) & 0x1F)));
    body_.push_back(static_cast<char>(u & 0xFF));
  } else if (v >= INT16_MIN && v <= INT16_MAX) {
    body_.push_back(static_cast<char>(0xF1));
    StoreLE(&body_, u, 2);
  } else if (v >= -8388608 && v <= 8388607) {
    body_.push_back(static_cast<char>(0xF2));
    StoreLE(&body_, u, 3);
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    body_.push_back(static_cast<char>(0xF3));
    StoreLE(&body_, u, 4);
  } else {
    body_.push_back(static_cast<char>(0xF4));
    StoreLE(&body_, u, 8);
  }
  AppendBacklen(body_.size() - start);
  ++count_;
}

void ListpackBuilder::Append(absl::string_view element) {
  int64_t v;
  if (base::ParseStrictInt64(base::ToStd(element), &v)) {
    AppendInt(v);
    return;
  }
  size_t start = body_.size();
  size_t len = element.size();
  if (len < 64) {
    body_.push_back(static_cast<char>(0x80 | len));
  } else if (len < 4096) {
    body_.push_back(static_cast<char>(0xE0 | (len >> 8)));
    body_.push_back(static_cast<char>(len & 0xFF));
  } else {
    body_.push_back(static_cast<char>(0xF0));
    StoreLE(&body_, len, 4);
  }
  body_.append(element.data(), element.size());
  AppendBacklen(body_.size() - start);
  ++count_;
}

std::string ListpackBuilder::Finish() {
  std::string lp;
  lp.reserve(Bytes());
  StoreLE(&lp, Bytes(), 4);
  StoreLE(&lp, count_ < kCountUnknown ? count_ : kCountUnknown, 2);
  lp += body_;
  lp.push_back(static_cast<char>(kEnd));
  body_.clear();
  count_ = 0;
  return lp;
}

absl::Status DecodeListpack(absl::string_view blob, std::vector<std::string>* out) {
  const auto* lp = reinterpret_cast<const unsigned char*>(blob.data());
  const size_t size = blob.size();
  if (size < kHeaderSize + 1) return Corrupt("shorter than its header");
  if (LoadLE(lp, 4) != size) return Corrupt("total bytes do not match the string length");
  if (lp[size - 1] != kEnd) return Corrupt("no terminator");
  const size_t declared = LoadLE(lp + 4, 2);
  size_t count = 0;
  size_t pos = kHeaderSize;
  const size_t end = size - 1;  // the terminator
  while (pos < end) {
    const unsigned char* p = lp + pos;
    const size_t avail = end - pos;
    unsigned char enc = p[0];
    size_t header = 1;  // encoding bytes, data excluded
    size_t data = 0;
    bool is_int = true;
    int64_t value = 0;
    if ((enc & 0x80) == 0) {
      value = enc;
    } else if ((enc & 0xC0) == 0x80) {
      is_int = false;
      data = enc & 0x3F;
    } else if ((enc & 0xE0) == 0xC0) {
      header = 2;
      if (avail < 2) return Corrupt("entry runs past the end");
      value = SignExtend(static_cast<uint64_t>(enc & 0x1F) << 8 | p[1], 13);
    } else if ((enc & 0xF0) == 0xE0) {
      is_int = false;
      header = 2;
      if (avail < 2) return Corrupt("entry runs past the end");
      data = static_cast<size_t>(enc & 0x0F) << 8 | p[1];
    } else if (enc == 0xF0) {
      is_int = false;
      header = 5;
      if (avail < 5) return Corrupt("entry runs past the end");
      data = LoadLE(p + 1, 4);
    } else if (enc >= 0xF1 && enc <= 0xF4) {
      static constexpr int kBytes[] = {2, 3, 4, 8};
      int bytes = kBytes[enc - 0xF1];
      header = 1 + bytes;
      if (avail < header) return Corrupt("entry runs past the end");
      value = SignExtend(LoadLE(p + 1, bytes), bytes * 8);
    } else {
      return Corrupt(absl::StrCat("unknown entry encoding ", enc, " at byte ", pos));
    }
    if (data > avail || header + data > avail) return Corrupt("entry runs past the end");
    const size_t entry = header + data;
    const size_t backlen = BacklenSize(entry);
    if (entry + backlen > avail) return Corrupt("entry runs past the end");
    // The backlen must encode exactly `entry`, in the canonical form.
    uint64_t decoded = 0;
    for (size_t i = 0; i < backlen; ++i) {
      unsigned char b = p[entry + i];
      bool continuation = i != 0;
      if (((b & 128) != 0) != continuation) return Corrupt("malformed backlen");
      decoded = decoded << 7 | (b & 127);
    }
    if (decoded != entry) return Corrupt("backlen does not match the entry");
    if (is_int) {
      out->push_back(Int64ToString(value));
    } else {
      out->emplace_back(reinterpret_cast<const char*>(p + header), data);
    }
    pos += entry + backlen;
    ++count;
  }
  if (declared != kCountUnknown && declared != count) {
    return Corrupt("element count does not match the header");
  }
  return absl::OkStatus();
}

}  // namespace shardnode::replication::internal
