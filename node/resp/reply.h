// ReplyBuilder: encodes replies in RESP2 or RESP3 into a byte string that the
// caller owns. Pure: no I/O. One builder serves one connection; the protocol
// version can change mid-stream (HELLO 3).
//
// Every method appends exactly one RESP element (or an aggregate header whose
// elements the caller then appends). Under RESP2 the RESP3-only types degrade
// as Redis 7.0.15 degrades them: maps become flat arrays of 2n elements, sets
// become arrays, doubles become bulk strings, booleans become 0/1 integers,
// verbatim strings become bulk strings, null is $-1 (or *-1 for NullArray).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace shardnode::resp {

class ReplyBuilder {
 public:
  // REQUIRES: `out` outlives the builder.
  explicit ReplyBuilder(std::string* out, int protocol = 2)
      : out_(out), client_(out), protocol_(protocol) {}

  int protocol() const { return protocol_; }
  void set_protocol(int protocol) { protocol_ = protocol; }
  std::string* buffer() { return out_; }

  // CLIENT REPLY OFF / SKIP (Redis's prepareClientToWrite): while silenced,
  // the elements are dropped, except those written inside a PushScope (a
  // Pub/Sub confirmation: Redis's CLIENT_PUSHING), which reach the buffer.
  void set_silenced(bool on) {
    silenced_ = on;
    Retarget();
  }
  bool silenced() const { return silenced_; }
  class PushScope {
   public:
    explicit PushScope(ReplyBuilder& r) : r_(r) {
      ++r_.pushing_;
      r_.Retarget();
    }
    ~PushScope() {
      --r_.pushing_;
      r_.Retarget();
    }
    PushScope(const PushScope&) = delete;
    PushScope& operator=(const PushScope&) = delete;

   private:
    ReplyBuilder& r_;
  };

  void SimpleString(std::string_view s);  // +s
  void Ok() { SimpleString("OK"); }
  // `message` is the whole error text without the leading '-', e.g.
  // "ERR syntax error" or "MOVED 12182 127.0.0.1:7003". CR/LF inside it are
  // replaced by spaces, as Redis does.
  void Error(std::string_view message);
  void Integer(int64_t n);
  void Bulk(std::string_view s);
  void NullBulk();   // RESP2 "$-1", RESP3 "_"
  void NullArray();  // RESP2 "*-1", RESP3 "_"
  void ArrayHeader(size_t n);
  void MapHeader(size_t pairs);  // RESP2: array of 2*pairs
  void SetHeader(size_t n);      // RESP2: array
  void PushHeader(size_t n);     // RESP2: array
  // The text of FormatDouble(d); RESP2 sends it as a bulk string, RESP3 as ",".
  void Double(double d);
  void Bool(bool b);
  // RESP3 verbatim string with a 3-letter format ("txt"; a shorter one is
  // padded with spaces, a longer one cut to 3); RESP2 bulk string.
  void Verbatim(std::string_view text, std::string_view format = "txt");
  // Bytes appended as they are (already encoded RESP).
  void Raw(std::string_view bytes);

  // Output limits (client-output-buffer-limit): once the buffer has grown
  // by `every` bytes since the last look, `on_grow` is called (after the
  // element that crossed the mark), so a reply is checked as it is built,
  // not only when the command ends. A buffer that shrank (written out) is
  // looked at again `every` bytes above its new size.
  void WatchGrowth(size_t every, std::function<void()> on_grow);
  // The client is to be closed: the buffer is emptied (its memory freed),
  // and every later element is dropped. A command producing a huge reply
  // checks discarding() in its loop and stops, as Redis's do on
  // CLIENT_CLOSE_ASAP.
  void Discard();
  bool discarding() const { return discarding_; }

  // Number of Error() calls since construction (INFO's total_error_replies).
  uint64_t errors() const { return errors_; }

  // Called with each error's text (without '-') after it is appended, so
  // the node can keep Redis's per-error-code statistics (INFO errorstats).
  std::function<void(std::string_view message)> on_error;

 private:
  // After each element: looks at the buffer's growth (WatchGrowth). A
  // silenced element is forgotten at once.
  void Grew() {
    if (out_ == &muted_) {
      muted_.clear();
      return;
    }
    if (check_every_ == 0) return;
    const size_t size = out_->size();
    if (size >= next_check_ || size + check_every_ < next_check_) Checkpoint();
  }
  void Checkpoint();
  // Points out_ at where the next element goes: the client's buffer, the
  // scratch of a discarding builder, or the muted sink.
  void Retarget() {
    if (discarding_) return;
    out_ = silenced_ && pushing_ == 0 ? &muted_ : client_;
  }

  std::string* out_;     // where elements go now
  std::string* client_;  // the caller's buffer
  int protocol_;
  bool silenced_ = false;
  int pushing_ = 0;    // open PushScopes
  std::string muted_;  // where a silenced element goes
  size_t check_every_ = 0;
  size_t next_check_ = SIZE_MAX;  // no watch: never
  std::function<void()> on_grow_;
  bool discarding_ = false;
  std::string scratch_;  // where a discarding builder writes
  uint64_t errors_ = 0;
};

// Formats a double as Redis 7.0.15's addReplyDouble does (ZSCORE, ZINCRBY,
// ZADD INCR, GEODIST...): "inf" / "-inf" for infinities, otherwise printf's
// "%.17g" ("1.1000000000000001", "1e+17", "-0"; NaN prints as "nan"/"-nan").
std::string FormatDouble(double d);

// Formats a long double as Redis 7.0.15 stores and returns INCRBYFLOAT and
// HINCRBYFLOAT results (ld2string in human mode): "inf" / "-inf", otherwise
// "%.17Lf" with trailing zeros and a trailing '.' removed, and "-0" turned
// into "0" ("1.1", "5200", "0.000025", "123456789.12345678899873747").
// REQUIRES: !isnan(v) (Redis refuses NaN results before formatting).
std::string FormatLongDouble(long double v);

}  // namespace shardnode::resp
