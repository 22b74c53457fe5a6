// ReplyReader: bytes from a server in, reply values out: the client side of
// RESP, for the node's own outbound connections (node/net/resp_client.h: the
// replica's link to its primary, and next MIGRATE, Sentinel, atomic slot
// migration). RESP2 (+ - : $ *) and RESP3 (_ , # ( = % ~ > |) replies are
// read. Pure and incremental, like RequestParser: the caller owns the input
// buffer, feeds whatever arrived and drops the bytes reported as consumed. A
// reply whose bytes are split anywhere keeps its progress inside the reader,
// so a large bulk is never rescanned; only an unfinished header line is
// left in the caller's buffer (and bounded by max_line_len).
//
// Limits: a bulk above max_bulk_len, an aggregate above max_elements, a
// header line above max_line_len and nesting deeper than max_depth are
// protocol errors. A declared length is never reserved up front beyond a
// small cap: memory grows with the bytes that arrive.
//
// Loop: owned by one connection; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shardnode::resp {

// One reply. Aggregates hold their elements; a map holds its keys and values
// interleaved (k0 v0 k1 v1 ...), as RESP2 flattens it.
struct ReplyValue {
  enum class Type {
    kSimpleString,  // +text                    -> str
    kError,         // -text, !len (blob error) -> str (without the '-')
    kInteger,       // :n                       -> integer
    kBulk,          // $len                     -> str
    kNull,          // $-1, *-1, _
    kArray,         // *n                       -> elements
    kDouble,        // ,text                    -> str (as sent: "1.5", "inf")
    kBoolean,       // #t / #f                  -> integer (1 / 0)
    kBigNumber,     // (digits                  -> str
    kVerbatim,      // =len  "txt:..."          -> str (the text after "fmt:")
    kMap,           // %n                       -> elements (2n)
    kSet,           // ~n                       -> elements
    kPush,          // >n                       -> elements (out-of-band)
  };

  Type type = Type::kNull;
  std::string str;
  int64_t integer = 0;
  std::vector<ReplyValue> elements;

  bool is_error() const { return type == Type::kError; }
  bool is_null() const { return type == Type::kNull; }
  // For the common checks: a +OK reply.
  bool IsOk() const { return type == Type::kSimpleString && str == "OK"; }
  // The reply as one line of text, for logs and line-oriented cores
  // ("+OK", "-ERR ...", ":1", "$3", "*2"...): simple strings and errors
  // keep their prefix and text, others show their type byte and size.
  std::string ToLine() const;
};

struct ReplyReaderLimits {
  int64_t max_bulk_len = 512LL * 1024 * 1024;  // bytes of one bulk / verbatim / blob error
  int64_t max_elements = 1LL << 24;            // elements of one aggregate (pairs x2 for maps)
  size_t max_line_len = 64 * 1024;             // the text of a line (simple string, header)
  int max_depth = 32;                          // nested aggregates
  // Bare "\n" or "\r\n" between replies are skipped: a Redis primary sends
  // newlines as keepalives to a replica waiting for its sync to begin.
  bool skip_empty_lines = false;
};

enum class ReplyStatus {
  kNeedMore,  // everything given was consumed or kept; call again with more
  kReply,     // *reply holds one complete top-level reply
  kError,     // protocol error; error() says which; the connection must close
};

class ReplyReader {
 public:
  explicit ReplyReader(ReplyReaderLimits limits = {}) : limits_(limits) {}

  // Reads from `input`. Sets *consumed to the number of leading bytes of
  // `input` the caller may drop (also on kNeedMore and kError). On kReply,
  // *reply is replaced by the reply; RESP3 attributes (|) are read and
  // dropped. On kError, error() holds the reason, e.g. "Protocol error:
  // invalid bulk length". REQUIRES: after kError, Read is not called again
  // (until Reset).
  ReplyStatus Read(std::string_view input, size_t* consumed, ReplyValue* reply);

  const std::string& error() const { return error_; }
  // True while a reply is partly read (a caller switching the connection
  // to raw bytes must do it between replies).
  bool in_reply() const { return !stack_.empty() || bulk_len_ >= 0; }
  // Forgets any partial reply and error.
  void Reset();

 private:
  struct Frame {
    ReplyValue value;
    int64_t remaining = 0;   // elements still expected
    bool attribute = false;  // a RESP3 attribute: dropped when complete
  };

  // Places a complete value in its parent (or as the result); returns true
  // when a top-level reply is complete.
  bool Complete(ReplyValue value, ReplyValue* reply);
  // Handles one header line (without CRLF); returns false on error.
  bool OnLine(char type, std::string_view text, ReplyValue* reply, bool* done);
  ReplyStatus Fail(std::string message);

  ReplyReaderLimits limits_;
  std::string error_;
  std::vector<Frame> stack_;  // open aggregates, innermost last
  // The bulk in progress: its length (-1 when none), type, and bytes so far
  // (data plus up to two trailing bytes).
  int64_t bulk_len_ = -1;
  ReplyValue::Type bulk_type_ = ReplyValue::Type::kBulk;
  int64_t bulk_received_ = 0;
  std::string bulk_;
};

}  // namespace shardnode::resp
