// RequestParser: bytes from a client in, commands out (RESP multibulk and
// inline commands, as Redis 7.0.15 accepts them). Pure and incremental: the
// caller owns the input buffer, feeds whatever arrived, and drops the bytes
// the parser reports as consumed. A partially received command keeps its
// progress inside the parser, so a large bulk is never rescanned.
//
// Limits follow Redis 7.0.15: proto-max-bulk-len bounds a bulk, INT_MAX bounds
// a multibulk count (7.0 dropped the old 1024*1024 cap), and 64 KiB bounds an
// inline line or a count line that has not ended yet (PROTO_INLINE_MAX_SIZE).
// While authentication is required, counts above 10 and bulks above 16384
// bytes are refused, as Redis does. A declared length is never allocated up
// front beyond a small cap; memory grows only with the bytes that arrive
// (doubling, then the whole bulk once an eighth of it is here).
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
  int64_t max_bulk_len = 512LL * 1024 * 1024;  // proto-max-bulk-len
  int64_t max_multibulk_len = 2147483647;      // arguments per command (INT_MAX)
  size_t max_inline_len = 64 * 1024;           // inline line and count strings
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
  // While true (a password is set and the client has not authenticated), a
  // multibulk count above 10 or a bulk above 16384 bytes is a protocol error.
  void set_auth_required(bool required) { auth_required_ = required; }
  // While true, a bulk of kBigBulk bytes or more is not consumed until it
  // is whole (its "$N" line is): it waits in the caller's buffer and is
  // copied once, as Redis reads a big argument into its query buffer. The
  // caller then reads its rest into that buffer (resp::QueryBuffer).
  static constexpr int64_t kBigBulk = 32 * 1024;  // PROTO_MBULK_BIG_ARG
  void set_keep_big_bulks(bool keep) { keep_big_bulks_ = keep; }
  // Bytes held for a partially parsed command (client-query-buffer-limit).
  size_t pending_bytes() const { return pending_bytes_; }
  // Memory reserved for the arguments of the command in progress (at least
  // pending_bytes(); bounded by about eight times what arrived, never by a
  // declared length alone).
  size_t reserved_bytes() const;
  // The declared length of the bulk being read, or -1 between bulks.
  int64_t current_bulk_len() const { return bulk_len_; }

 private:
  ParseStatus ParseInline(std::string_view input, size_t* consumed, std::vector<std::string>* args);
  // Reads the current bulk's bytes from input[*pos...]; true when the bulk
  // and its trailing two bytes are complete.
  bool ReadBulk(std::string_view input, size_t* pos);
  ParseStatus Fail(std::string message);

  ParserLimits limits_;
  bool auth_required_ = false;
  bool keep_big_bulks_ = false;
  std::string error_;
  // Multibulk progress: arguments still expected, the current bulk's length
  // (-1 when its "$N" header is not yet read), how many of its bytes (data
  // plus the trailing CRLF) arrived, and the arguments so far: partial_[0,
  // argc_) are complete, partial_[argc_] is being filled. Strings beyond
  // argc_ are kept only to reuse their capacity.
  int64_t multibulk_remaining_ = 0;
  int64_t bulk_len_ = -1;
  int64_t bulk_received_ = 0;
  bool in_multibulk_ = false;
  size_t argc_ = 0;
  std::vector<std::string> partial_;
  size_t pending_bytes_ = 0;
};

}  // namespace shardnode::resp
