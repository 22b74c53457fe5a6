// libFuzzer target for RequestParser. The first bytes of the input choose
// where the rest is split into reads; the rest is parsed once in one piece
// and once in those pieces, as a connection would (keeping unconsumed bytes),
// and both runs must give the same commands and the same error. Small limits
// make the limit paths reachable.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "node/resp/parser.h"

namespace {

using shardnode::resp::ParserLimits;
using shardnode::resp::ParseStatus;
using shardnode::resp::RequestParser;

struct Result {
  std::vector<std::vector<std::string>> commands;
  std::string error;
};

void Check(bool ok) {
  if (!ok) std::abort();
}

// Feeds `chunks` in order through one parser, like a connection's read loop.
Result Run(const std::vector<std::string_view>& chunks, const ParserLimits& limits) {
  RequestParser parser(limits);
  Result result;
  std::string buffer;
  std::vector<std::string> args;
  for (std::string_view chunk : chunks) {
    buffer.append(chunk);
    while (true) {
      size_t consumed = 0;
      const ParseStatus status = parser.Parse(buffer, &consumed, &args);
      Check(consumed <= buffer.size());
      buffer.erase(0, consumed);
      if (status == ParseStatus::kError) {
        Check(!parser.error().empty());
        result.error = parser.error();
        return result;
      }
      if (status == ParseStatus::kNeedMore) {
        Check(parser.reserved_bytes() >= parser.pending_bytes());
        break;
      }
      Check(parser.pending_bytes() == 0);
      result.commands.push_back(args);
    }
  }
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // Byte 0: limits; byte 1: split seed.
  ParserLimits limits;
  if (data[0] & 1) {
    limits.max_bulk_len = 64;
    limits.max_multibulk_len = 8;
    limits.max_inline_len = 32;
  }
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

  // The "too big" errors depend on how much was buffered when the parser
  // looked, as in Redis; every other outcome must not depend on the splits.
  const bool size_dependent = whole.error.find("too big") != std::string::npos ||
                              split.error.find("too big") != std::string::npos;
  if (!size_dependent) {
    Check(whole.error == split.error);
    Check(whole.commands == split.commands);
  } else {
    // Up to the first such error, both runs still agree.
    const size_t common = std::min(whole.commands.size(), split.commands.size());
    for (size_t i = 0; i < common; ++i) Check(whole.commands[i] == split.commands[i]);
  }
  return 0;
}
