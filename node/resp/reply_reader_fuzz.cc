// libFuzzer target for ReplyReader. The first bytes of the input choose the
// limits and where the rest is split into reads; the rest is read once in
// one piece and once in those pieces, as a client connection would (keeping
// unconsumed bytes), and both runs must give the same replies and the same
// error. Small limits make the limit paths reachable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "node/resp/reply_reader.h"

namespace {

using shardnode::resp::ReplyReader;
using shardnode::resp::ReplyReaderLimits;
using shardnode::resp::ReplyStatus;
using shardnode::resp::ReplyValue;

void Check(bool ok) {
  if (!ok) std::abort();
}

// A text form of a reply tree, to compare runs.
void Show(const ReplyValue& v, std::string& out) {
  out += v.ToLine();
  out += '[';
  out += v.str;
  out += ']';
  for (const ReplyValue& e : v.elements) Show(e, out);
  out += ';';
}

struct Result {
  std::string replies;
  std::string error;
};

Result Run(const std::vector<std::string_view>& chunks, const ReplyReaderLimits& limits) {
  ReplyReader reader(limits);
  Result result;
  std::string buffer;
  for (std::string_view chunk : chunks) {
    buffer.append(chunk);
    for (;;) {
      size_t consumed = 0;
      ReplyValue v;
      const ReplyStatus st = reader.Read(buffer, &consumed, &v);
      Check(consumed <= buffer.size());
      buffer.erase(0, consumed);
      if (st == ReplyStatus::kError) {
        Check(!reader.error().empty());
        result.error = reader.error();
        return result;
      }
      if (st == ReplyStatus::kNeedMore) break;
      Check(!reader.in_reply());
      Show(v, result.replies);
    }
  }
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // Byte 0: limits; byte 1: split seed.
  ReplyReaderLimits limits;
  if (data[0] & 1) {
    limits.max_bulk_len = 64;
    limits.max_elements = 8;
    limits.max_line_len = 32;
    limits.max_depth = 4;
  }
  limits.skip_empty_lines = (data[0] & 2) != 0;
  uint32_t seed = data[1] * 2654435761u + 1;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  const Result whole = Run({input}, limits);
  std::vector<std::string_view> pieces;
  size_t pos = 0;
  while (pos < input.size()) {
    seed = seed * 1103515245u + 12345u;
    size_t len = 1 + (seed >> 16) % 17;
    if (len > input.size() - pos) len = input.size() - pos;
    pieces.push_back(input.substr(pos, len));
    pos += len;
  }
  const Result split = Run(pieces, limits);
  // Unlike the request parser, no outcome depends on how the bytes came.
  Check(whole.error == split.error);
  Check(whole.replies == split.replies);
  return 0;
}
