// RequestParser: see parser.h. The rules below follow what Redis 7.0.15 does
// in processInlineBuffer / processMultibulkBuffer, including its quirks: the
// byte after a '\r' that ends a count line and the two bytes after a bulk are
// skipped without being checked, and a line search stops at a NUL byte (Redis
// searches with strchr), so a NUL before the line end means "need more".
#include "node/resp/parser.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/split_args.h"
#include "base/strings.h"

namespace shardnode::resp {
namespace {

// First reservation for a bulk whose bytes arrive in pieces (never more than
// its declared length); later growth doubles from what actually arrived,
// until an eighth of the bulk is here: then the rest of its declared length
// is reserved at once. A 100 MB bulk (a MIGRATE's RESTORE payload) is then
// copied in steps of at most an eighth of its size, not of half of it, and
// the reservation stays within eight times what arrived (pages not yet
// written are not resident).
constexpr size_t kBulkInitialReserve = 16 * 1024;
constexpr int64_t kBulkReserveAllFraction = 8;
// A reused argument string keeping more capacity than this is released
// rather than kept for the next command.
constexpr size_t kMaxRetainedArgCapacity = 64 * 1024;
// Argument slots kept between commands for reuse.
constexpr size_t kMaxRetainedArgs = 1024;
// Redis refuses larger counts and bulks from clients that must authenticate.
constexpr int64_t kUnauthMaxMultibulk = 10;
constexpr int64_t kUnauthMaxBulk = 16384;

// Offset of the first `target` in data[from, size), or npos when there is none
// or a NUL byte comes first (strchr semantics on a NUL-terminated buffer).
size_t FindLineEnd(std::string_view data, size_t from, char target) {
  const char* begin = data.data() + from;
  const size_t n = data.size() - from;
  const void* hit = std::memchr(begin, target, n);
  if (hit == nullptr) return std::string_view::npos;
  const char* end = static_cast<const char*>(hit);
  if (std::memchr(begin, '\0', end - begin) != nullptr) return std::string_view::npos;
  return end - data.data();
}

// Returns the string at index `i` of `v`, cleared, reusing its capacity when
// that capacity is modest.
std::string* Slot(std::vector<std::string>* v, size_t i) {
  if (i == v->size()) return &v->emplace_back();
  std::string* s = &(*v)[i];
  if (s->capacity() > kMaxRetainedArgCapacity) {
    std::string().swap(*s);
  } else {
    s->clear();
  }
  return s;
}

// Splits an inline line into arguments with Redis's sdssplitargs rules
// (base/split_args.h), reusing the strings of `out`; *argc receives their
// count. Returns false on unbalanced quotes.
bool SplitInline(std::string_view line, std::vector<std::string>* out, size_t* argc) {
  *argc = 0;
  return base::SplitArgs(line, [&] { return Slot(out, (*argc)++); });
}

}  // namespace

size_t RequestParser::reserved_bytes() const {
  if (!in_multibulk_) return 0;
  size_t total = 0;
  for (size_t i = 0; i <= argc_ && i < partial_.size(); ++i) total += partial_[i].capacity();
  return total;
}

ParseStatus RequestParser::Fail(std::string message) {
  error_ = std::move(message);
  return ParseStatus::kError;
}

ParseStatus RequestParser::ParseInline(std::string_view input, size_t* consumed,
                                       std::vector<std::string>* args) {
  const size_t newline = FindLineEnd(input, 0, '\n');
  if (newline == std::string_view::npos) {
    if (input.size() > limits_.max_inline_len) {
      return Fail("Protocol error: too big inline request");
    }
    return ParseStatus::kNeedMore;
  }
  size_t line_len = newline;
  if (line_len > 0 && input[line_len - 1] == '\r') --line_len;
  size_t argc = 0;
  if (!SplitInline(input.substr(0, line_len), args, &argc)) {
    return Fail("Protocol error: unbalanced quotes in request");
  }
  args->resize(argc);
  *consumed = newline + 1;
  return ParseStatus::kCommand;
}

bool RequestParser::ReadBulk(std::string_view input, size_t* pos) {
  std::string& cur = partial_[argc_];
  const int64_t wanted = bulk_len_ + 2 - bulk_received_;  // data still due, plus CRLF
  const size_t avail = input.size() - *pos;
  if (keep_big_bulks_ && bulk_len_ >= kBigBulk && bulk_received_ == 0 &&
      avail < static_cast<size_t>(wanted)) {
    return false;  // waits whole in the caller's buffer
  }
  if (bulk_received_ == 0 && avail >= static_cast<size_t>(wanted)) {
    // Common case: the whole bulk is here; one copy, no growth steps.
    cur.assign(input.data() + *pos, static_cast<size_t>(bulk_len_));
    *pos += static_cast<size_t>(wanted);
    pending_bytes_ += cur.size();
    return true;
  }
  // Data bytes first (appended with a bounded reservation), then the two
  // bytes that end the bulk, which are dropped unchecked as Redis does.
  const int64_t data_due = std::max<int64_t>(bulk_len_ - bulk_received_, 0);
  const size_t take_data = std::min(avail, static_cast<size_t>(data_due));
  if (take_data > 0) {
    const size_t needed = cur.size() + take_data;
    if (needed > cur.capacity()) {
      // Doubling keeps appends linear; the declared length caps it, so the
      // capacity stays within twice what actually arrived, and once an
      // eighth has arrived the whole bulk is reserved.
      size_t grown = std::max({needed, cur.capacity() * 2, kBulkInitialReserve});
      if (static_cast<int64_t>(needed) * kBulkReserveAllFraction >= bulk_len_) {
        grown = static_cast<size_t>(bulk_len_);
      }
      cur.reserve(std::min(grown, static_cast<size_t>(bulk_len_)));
    }
    cur.append(input.data() + *pos, take_data);
    pending_bytes_ += take_data;
  }
  const size_t take = std::min(avail, static_cast<size_t>(wanted));
  bulk_received_ += static_cast<int64_t>(take);
  *pos += take;
  return bulk_received_ == bulk_len_ + 2;
}

ParseStatus RequestParser::Parse(std::string_view input, size_t* consumed,
                                 std::vector<std::string>* args) {
  *consumed = 0;
  size_t pos = 0;
  if (!in_multibulk_) {
    if (input.empty()) return ParseStatus::kNeedMore;
    if (input[0] != '*') return ParseInline(input, consumed, args);

    const size_t cr = FindLineEnd(input, 0, '\r');
    if (cr == std::string_view::npos) {
      if (input.size() > limits_.max_inline_len) {
        return Fail("Protocol error: too big mbulk count string");
      }
      return ParseStatus::kNeedMore;
    }
    if (cr + 2 > input.size()) return ParseStatus::kNeedMore;  // the '\n' has not arrived
    int64_t count = 0;
    if (!base::ParseStrictInt64(input.substr(1, cr - 1), &count) ||
        count > limits_.max_multibulk_len) {
      return Fail("Protocol error: invalid multibulk length");
    }
    if (count > kUnauthMaxMultibulk && auth_required_) {
      return Fail("Protocol error: unauthenticated multibulk length");
    }
    pos = cr + 2;
    if (count <= 0) {
      args->clear();
      *consumed = pos;
      return ParseStatus::kCommand;
    }
    in_multibulk_ = true;
    multibulk_remaining_ = count;
    bulk_len_ = -1;
    bulk_received_ = 0;
    argc_ = 0;
    pending_bytes_ = 0;
    partial_.reserve(static_cast<size_t>(std::min<int64_t>(count, 1024)));
  }

  while (multibulk_remaining_ > 0) {
    if (bulk_len_ == -1) {
      const size_t cr = FindLineEnd(input, pos, '\r');
      if (cr == std::string_view::npos) {
        if (input.size() - pos > limits_.max_inline_len) {
          return Fail("Protocol error: too big bulk count string");
        }
        break;
      }
      if (cr + 2 > input.size()) break;
      if (input[pos] != '$') {
        // The byte cannot be NUL (the line search stops there); a CR or LF
        // goes out as a space, as Redis's error replies do.
        const char got = input[pos] == '\r' || input[pos] == '\n' ? ' ' : input[pos];
        return Fail(std::string("Protocol error: expected '$', got '") + got + "'");
      }
      int64_t len = 0;
      if (!base::ParseStrictInt64(input.substr(pos + 1, cr - pos - 1), &len) || len < 0 ||
          len > limits_.max_bulk_len) {
        return Fail("Protocol error: invalid bulk length");
      }
      if (len > kUnauthMaxBulk && auth_required_) {
        return Fail("Protocol error: unauthenticated bulk length");
      }
      pos = cr + 2;
      bulk_len_ = len;
      bulk_received_ = 0;
      Slot(&partial_, argc_);
    }
    if (!ReadBulk(input, &pos)) break;
    ++argc_;
    --multibulk_remaining_;
    bulk_len_ = -1;
  }

  *consumed = pos;
  if (multibulk_remaining_ > 0) return ParseStatus::kNeedMore;
  in_multibulk_ = false;
  pending_bytes_ = 0;
  partial_.resize(argc_);
  args->swap(partial_);
  // partial_ now holds the caller's previous vector: a huge one (a command
  // of a million arguments) is not kept for reuse.
  if (partial_.capacity() > kMaxRetainedArgs) std::vector<std::string>().swap(partial_);
  return ParseStatus::kCommand;
}

}  // namespace shardnode::resp
