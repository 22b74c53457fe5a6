#include "replication/internal/ziplist.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "replication/internal/numbers.h"

namespace shardnode::replication::internal {
namespace {

constexpr size_t kHeaderSize = 10;
constexpr unsigned char kEnd = 0xFF;
constexpr unsigned char kBigPrevlen = 0xFE;

absl::Status Corrupt(absl::string_view what, absl::string_view why) {
  return absl::DataLossError(absl::StrCat(what, " integrity check failed: ", why));
}

uint64_t LoadLE(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

void StoreLE(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

int64_t SignExtend(uint64_t v, int bits) {
  uint64_t sign = uint64_t{1} << (bits - 1);
  v &= bits == 64 ? ~uint64_t{0} : (sign << 1) - 1;
  return static_cast<int64_t>((v ^ sign) - sign);
}

// The encoding and data of one ziplist entry, without its prevlen.
std::string EncodeZiplistPayload(absl::string_view s) {
  std::string out;
  int64_t v;
  if (s.size() <= 20 && base::ParseStrictInt64(base::ToStd(s), &v)) {
    auto u = static_cast<uint64_t>(v);
    if (v >= 0 && v <= 12) {
      out.push_back(static_cast<char>(0xF1 + v));
    } else if (v >= INT8_MIN && v <= INT8_MAX) {
      out.push_back(static_cast<char>(0xFE));
      StoreLE(&out, u, 1);
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
      out.push_back(static_cast<char>(0xC0));
      StoreLE(&out, u, 2);
    } else if (v >= -8388608 && v <= 8388607) {
      out.push_back(static_cast<char>(0xF0));
      StoreLE(&out, u, 3);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      out.push_back(static_cast<char>(0xD0));
      StoreLE(&out, u, 4);
    } else {
      out.push_back(static_cast<char>(0xE0));
      StoreLE(&out, u, 8);
    }
    return out;
  }
  size_t len = s.size();
  if (len <= 0x3F) {
    out.push_back(static_cast<char>(len));
  } else if (len <= 0x3FFF) {
    out.push_back(static_cast<char>(0x40 | (len >> 8)));
    out.push_back(static_cast<char>(len & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80));
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  }
  out.append(s.data(), s.size());
  return out;
}

}  // namespace

absl::Status DecodeZiplist(absl::string_view blob, std::vector<std::string>* out) {
  constexpr absl::string_view kWhat = "Ziplist";
  const auto* zl = reinterpret_cast<const unsigned char*>(blob.data());
  const size_t size = blob.size();
  if (size < kHeaderSize + 1) return Corrupt(kWhat, "shorter than its header");
  if (LoadLE(zl, 4) != size) return Corrupt(kWhat, "total bytes do not match the string length");
  if (zl[size - 1] != kEnd) return Corrupt(kWhat, "no terminator");
  const size_t tail = LoadLE(zl + 4, 4);
  const size_t declared = LoadLE(zl + 8, 2);
  const size_t end = size - 1;
  size_t pos = kHeaderSize;
  size_t prev_size = 0;
  size_t last_entry = kHeaderSize;
  size_t count = 0;
  while (pos < end) {
    const unsigned char* p = zl + pos;
    size_t avail = end - pos;
    size_t prevlen_size = p[0] < kBigPrevlen ? 1 : 5;
    if (p[0] == kEnd) return Corrupt(kWhat, "entry starts with 0xFF");
    if (avail < prevlen_size + 1) return Corrupt(kWhat, "entry runs past the end");
    size_t prevlen = prevlen_size == 1 ? p[0] : LoadLE(p + 1, 4);
    if (prevlen != prev_size) return Corrupt(kWhat, "prevlen does not match the previous entry");
    const unsigned char* e = p + prevlen_size;
    unsigned char enc = e[0];
    size_t header = 1;
    size_t data = 0;
    bool is_int = true;
    int int_bytes = 0;
    int64_t value = 0;
    switch (enc >> 6) {
      case 0:
        is_int = false;
        data = enc & 0x3F;
        break;
      case 1:
        is_int = false;
        header = 2;
        if (avail < prevlen_size + 2) return Corrupt(kWhat, "entry runs past the end");
        data = static_cast<size_t>(enc & 0x3F) << 8 | e[1];
        break;
      case 2:
        if (enc != 0x80) return Corrupt(kWhat, "unknown string encoding");
        is_int = false;
        header = 5;
        if (avail < prevlen_size + 5) return Corrupt(kWhat, "entry runs past the end");
        data = static_cast<size_t>(e[1]) << 24 | static_cast<size_t>(e[2]) << 16 |
               static_cast<size_t>(e[3]) << 8 | e[4];
        break;
      default:
        if (enc == 0xC0) {
          int_bytes = 2;
        } else if (enc == 0xD0) {
          int_bytes = 4;
        } else if (enc == 0xE0) {
          int_bytes = 8;
        } else if (enc == 0xF0) {
          int_bytes = 3;
        } else if (enc == 0xFE) {
          int_bytes = 1;
        } else if (enc >= 0xF1 && enc <= 0xFD) {
          value = (enc & 0x0F) - 1;
        } else {
          return Corrupt(kWhat, absl::StrCat("unknown entry encoding ", enc));
        }
        data = static_cast<size_t>(int_bytes);
        break;
    }
    size_t entry = prevlen_size + header;
    if (data > avail || entry + data > avail) return Corrupt(kWhat, "entry runs past the end");
    if (is_int) {
      if (int_bytes > 0) value = SignExtend(LoadLE(e + 1, int_bytes), int_bytes * 8);
      out->push_back(Int64ToString(value));
    } else {
      out->emplace_back(reinterpret_cast<const char*>(e + header), data);
    }
    last_entry = pos;
    prev_size = entry + data;
    pos += prev_size;
    ++count;
  }
  if (tail != last_entry) return Corrupt(kWhat, "tail offset does not point at the last entry");
  if (declared != 0xFFFF && declared != count) {
    return Corrupt(kWhat, "element count does not match the header");
  }
  return absl::OkStatus();
}

std::string EncodeZiplist(const std::vector<std::string>& elements) {
  std::string body;
  size_t prev_size = 0;
  size_t tail = kHeaderSize;
  for (const auto& element : elements) {
    tail = kHeaderSize + body.size();
    size_t start = body.size();
    if (prev_size < kBigPrevlen) {
      body.push_back(static_cast<char>(prev_size));
    } else {
      body.push_back(static_cast<char>(kBigPrevlen));
      StoreLE(&body, prev_size, 4);
    }
    body += EncodeZiplistPayload(element);
    prev_size = body.size() - start;
  }
  std::string zl;
  StoreLE(&zl, kHeaderSize + body.size() + 1, 4);
  StoreLE(&zl, tail, 4);
  StoreLE(&zl, elements.size() < 0xFFFF ? elements.size() : 0xFFFF, 2);
  zl += body;
  zl.push_back(static_cast<char>(kEnd));
  return zl;
}

absl::Status DecodeZipmap(absl::string_view blob,
                          std::vector<std::pair<std::string, std::string>>* out) {
  constexpr absl::string_view kWhat = "Zipmap";
  const auto* zm = reinterpret_cast<const unsigned char*>(blob.data());
  const size_t size = blob.size();
  if (size < 2) return Corrupt(kWhat, "shorter than its header");
  const size_t declared = zm[0];
  size_t pos = 1;
  size_t count = 0;
  // Reads one length at `pos`; an error at the end marker or past the end.
  auto read_len = [&](size_t* len) -> absl::Status {
    if (pos >= size) return Corrupt(kWhat, "entry runs past the end");
    if (zm[pos] < 254) {
      *len = zm[pos++];
    } else if (zm[pos] == 254) {
      if (size - pos < 5) return Corrupt(kWhat, "entry runs past the end");
      *len = LoadLE(zm + pos + 1, 4);
      pos += 5;
    } else {
      return Corrupt(kWhat, "unexpected end marker");
    }
    return absl::OkStatus();
  };
  while (true) {
    if (pos >= size) return Corrupt(kWhat, "no terminator");
    if (zm[pos] == 0xFF) break;
    size_t klen = 0, vlen = 0;
    absl::Status s = read_len(&klen);
    if (!s.ok()) return s;
    if (klen > size - pos) return Corrupt(kWhat, "entry runs past the end");
    std::string key(reinterpret_cast<const char*>(zm + pos), klen);
    pos += klen;
    s = read_len(&vlen);
    if (!s.ok()) return s;
    if (pos >= size) return Corrupt(kWhat, "entry runs past the end");
    size_t free = zm[pos++];
    if (vlen > size - pos || free > size - pos - vlen) {
      return Corrupt(kWhat, "entry runs past the end");
    }
    out->emplace_back(std::move(key), std::string(reinterpret_cast<const char*>(zm + pos), vlen));
    pos += vlen + free;
    ++count;
  }
  if (pos != size - 1) return Corrupt(kWhat, "bytes after the terminator");
  if (count == 0) return Corrupt(kWhat, "no entries");  // as Redis's zipmapValidateIntegrity
  if (declared < 254 && declared != count) {
    return Corrupt(kWhat, "element count does not match the header");
  }
  return absl::OkStatus();
}

std::string EncodeZipmap(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string zm;
  zm.push_back(static_cast<char>(pairs.size() < 254 ? pairs.size() : 254));
  auto put_len = [&](size_t len) {
    if (len < 254) {
      zm.push_back(static_cast<char>(len));
    } else {
      zm.push_back(static_cast<char>(254));
      StoreLE(&zm, len, 4);
    }
  };
  for (const auto& [key, value] : pairs) {
    put_len(key.size());
    zm += key;
    put_len(value.size());
    zm.push_back(0);  // no free bytes
    zm += value;
  }
  zm.push_back(static_cast<char>(0xFF));
  return zm;
}

}  // namespace shardnode::replication::internal
