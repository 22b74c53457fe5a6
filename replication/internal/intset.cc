#include "replication/internal/intset.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "replication/internal/numbers.h"

namespace shardnode::replication::internal {
namespace {

absl::Status Corrupt(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("Intset integrity check failed: ", why));
}

uint64_t LoadLE(const unsigned char* p, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

void StoreLE(std::string* out, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

int64_t Load(const unsigned char* p, size_t width) {
  uint64_t v = LoadLE(p, width);
  switch (width) {
    case 2:
      return static_cast<int16_t>(v);
    case 4:
      return static_cast<int32_t>(v);
    default:
      return static_cast<int64_t>(v);
  }
}

}  // namespace

absl::Status DecodeIntset(absl::string_view blob, std::vector<std::string>* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(blob.data());
  if (blob.size() < 8) return Corrupt("shorter than its header");
  uint64_t width = LoadLE(p, 4);
  uint64_t count = LoadLE(p + 4, 4);
  if (width != 2 && width != 4 && width != 8) return Corrupt("bad integer width");
  if ((blob.size() - 8) / width != count || (blob.size() - 8) % width != 0) {
    return Corrupt("size does not match the count");
  }
  if (count == 0) return Corrupt("empty intset");
  int64_t previous = 0;
  for (uint64_t i = 0; i < count; ++i) {
    int64_t v = Load(p + 8 + i * width, width);
    if (i > 0 && v <= previous) return Corrupt("members not in ascending order");
    out->push_back(Int64ToString(v));
    previous = v;
  }
  return absl::OkStatus();
}

std::string EncodeIntset(std::vector<int64_t> members) {
  std::sort(members.begin(), members.end());
  size_t width = 2;
  for (int64_t v : members) {
    if (v < INT32_MIN || v > INT32_MAX) {
      width = 8;
      break;
    }
    if (v < INT16_MIN || v > INT16_MAX) width = 4;
  }
  std::string out;
  out.reserve(8 + members.size() * width);
  StoreLE(&out, width, 4);
  StoreLE(&out, members.size(), 4);
  for (int64_t v : members) StoreLE(&out, static_cast<uint64_t>(v), width);
  return out;
}

}  // namespace shardnode::replication::internal
