// RequestParser: bytes from a client in, commands out (RESP multibulk and
// inline commands, as Redis 7.0.15 accepts them). Pure and incremental: the
// caller owns the input buffer, feeds whatever arrived, and drops the bytes
// the parser reports as consumed. A partially received command keeps its
// progress inside the parser, so a large bulk is never rescanned.
//
// Limits follow Redis: proto-max-bulk-len bounds a bulk, 1024*1024 bounds a
// multibulk count, 64 KiB bounds an inline line (PROTO_INLINE_MAX_SIZE). A
// declared length is never allocated up front beyond a small cap; memory
// grows only with the bytes that actually arrive.
//
// Loop: owned by one connection; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shardnode::resp {

struct ParserLimits {
  int64_t max_bulk_len = 512LL * 1024 * 1024;     // proto-max-bulk-len
  int64_t max_multibulk_len = 1024 * 1024;        // arguments per command
  size_t max_inline_len = 64 * 1024;              // inline line and count strings
};

enum class ParseStatus {
  kNeedMore,  // everything given was consumed or kept; call again with more
  kCommand,   // *args holds one command (possibly empty: see Parse)
  kError,     // protocol error; error() says which; the connection must close
};

class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits = {}) : limits_(limits) {}

  // Parses from `input`. Sets *consumed to the number of leading bytes of
  // `input` the caller may drop (also on kNeedMore). On kCommand, *args is
  // replaced by the command's arguments; an empty inline line or a
  // multibulk of count <= 0 yields kCommand with empty args, which the
  // caller skips. On kError, error() holds Redis's text, e.g.
  // "Protocol error: invalid multibulk length" (without "ERR ").
  // REQUIRES: after kError, Parse is not called again.
  ParseStatus Parse(std::string_view input, size_t* consumed, std::vector<std::string>* args);

  const std::string& error() const { return error_; }
  void set_limits(ParserLimits limits) { limits_ = limits; }
  // Bytes held for a partially parsed command (client-query-buffer-limit).
  size_t pending_bytes() const { return pending_bytes_; }

 private:
  ParserLimits limits_;
  std::string error_;
  // Multibulk progress: arguments still expected, the current bulk's length
  // (-1 when its "$N" header is not yet read) and the arguments so far.
  int64_t multibulk_remaining_ = 0;
  int64_t bulk_len_ = -1;
  bool in_multibulk_ = false;
  std::vector<std::string> partial_;
  size_t pending_bytes_ = 0;
};

}  // namespace shardnode::resp
