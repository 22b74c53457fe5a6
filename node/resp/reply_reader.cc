// ReplyReader: see reply_reader.h. Stricter than the request parser: every
// line must end in CRLF and every bulk must be followed by CRLF (a reply
// stream that breaks this is not one we can resynchronise with), as hiredis
// checks.
#include "node/resp/reply_reader.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace shardnode::resp {
namespace {

// Reservation caps: memory follows the bytes that arrive, not what a header
// declares.
constexpr size_t kBulkInitialReserve = 16 * 1024;
constexpr size_t kElementsInitialReserve = 1024;
constexpr size_t kMaxIntegerText = 20;

// Strict decimal int64: optional '-', digits only.
bool ParseInteger(std::string_view s, int64_t* value) {
  if (s.empty() || s.size() > kMaxIntegerText) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (size_t j = i; j < s.size(); ++j) {
    if (s[j] < '0' || s[j] > '9') return false;
  }
  return absl::SimpleAtoi(absl::string_view(s.data(), s.size()), value);
}

}  // namespace

std::string ReplyValue::ToLine() const {
  switch (type) {
    case Type::kSimpleString:
      return absl::StrCat("+", str);
    case Type::kError:
      return absl::StrCat("-", str);
    case Type::kInteger:
      return absl::StrCat(":", integer);
    case Type::kBulk:
      return absl::StrCat("$", str.size());
    case Type::kNull:
      return "_";
    case Type::kArray:
      return absl::StrCat("*", elements.size());
    case Type::kDouble:
      return absl::StrCat(",", str);
    case Type::kBoolean:
      return integer ? "#t" : "#f";
    case Type::kBigNumber:
      return absl::StrCat("(", str);
    case Type::kVerbatim:
      return absl::StrCat("=", str.size());
    case Type::kMap:
      return absl::StrCat("%", elements.size() / 2);
    case Type::kSet:
      return absl::StrCat("~", elements.size());
    case Type::kPush:
      return absl::StrCat(">", elements.size());
  }
  return "?";
}

void ReplyReader::Reset() {
  error_.clear();
  stack_.clear();
  bulk_len_ = -1;
  bulk_received_ = 0;
  bulk_.clear();
}

ReplyStatus ReplyReader::Fail(std::string message) {
  error_ = std::move(message);
  return ReplyStatus::kError;
}

bool ReplyReader::Complete(ReplyValue value, ReplyValue* reply) {
  for (;;) {
    if (stack_.empty()) {
      *reply = std::move(value);
      return true;
    }
    Frame& top = stack_.back();
    top.value.elements.push_back(std::move(value));
    if (--top.remaining > 0) return false;
    Frame done = std::move(top);
    stack_.pop_back();
    // An attribute annotates the value that follows it; it is not one of
    // its parent's elements.
    if (done.attribute) return false;
    value = std::move(done.value);
  }
}

bool ReplyReader::OnLine(char type, std::string_view text, ReplyValue* reply, bool* done) {
  using Type = ReplyValue::Type;
  ReplyValue v;
  switch (type) {
    case '+':
    case '-':
      v.type = type == '+' ? Type::kSimpleString : Type::kError;
      v.str.assign(text);
      break;
    case ':':
      v.type = Type::kInteger;
      if (!ParseInteger(text, &v.integer)) {
        error_ = "Protocol error: bad integer value";
        return false;
      }
      break;
    case '_':
      if (!text.empty()) {
        error_ = "Protocol error: bad nil value";
        return false;
      }
      v.type = Type::kNull;
      break;
    case ',':
      if (text.empty()) {
        error_ = "Protocol error: bad double value";
        return false;
      }
      v.type = Type::kDouble;
      v.str.assign(text);
      break;
    case '#':
      if (text != "t" && text != "f") {
        error_ = "Protocol error: bad bool value";
        return false;
      }
      v.type = Type::kBoolean;
      v.integer = text == "t" ? 1 : 0;
      break;
    case '(': {
      size_t i = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
      if (i == text.size()) {
        error_ = "Protocol error: bad big number";
        return false;
      }
      for (; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') {
          error_ = "Protocol error: bad big number";
          return false;
        }
      }
      v.type = Type::kBigNumber;
      v.str.assign(text);
      break;
    }
    case '$':
    case '!':
    case '=': {
      int64_t len = 0;
      if (!ParseInteger(text, &len) || len < -1 || (len == -1 && type != '$') ||
          len > limits_.max_bulk_len) {
        error_ = "Protocol error: invalid bulk length";
        return false;
      }
      if (len == -1) {
        v.type = Type::kNull;
        break;
      }
      bulk_len_ = len;
      bulk_type_ = type == '$' ? Type::kBulk : type == '!' ? Type::kError : Type::kVerbatim;
      bulk_received_ = 0;
      bulk_.clear();
      bulk_.reserve(std::min<size_t>(static_cast<size_t>(len), kBulkInitialReserve));
      *done = false;
      return true;
    }
    case '*':
    case '%':
    case '~':
    case '>':
    case '|': {
      int64_t count = 0;
      if (!ParseInteger(text, &count) || count < -1 || (count == -1 && type != '*')) {
        error_ = "Protocol error: invalid multibulk length";
        return false;
      }
      if (count == -1) {
        v.type = Type::kNull;
        break;
      }
      const bool pairs = type == '%' || type == '|';
      if (count > (pairs ? limits_.max_elements / 2 : limits_.max_elements)) {
        error_ = "Protocol error: too many elements in aggregate";
        return false;
      }
      if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
        error_ = "Protocol error: aggregates nested too deep";
        return false;
      }
      v.type = type == '*'   ? Type::kArray
               : type == '~' ? Type::kSet
               : type == '>' ? Type::kPush
                             : Type::kMap;
      const int64_t elements = pairs ? count * 2 : count;
      if (elements == 0) {
        if (type == '|') {  // an empty attribute annotates nothing
          *done = false;
          return true;
        }
        break;
      }
      Frame frame;
      frame.value = std::move(v);
      frame.value.elements.reserve(
          std::min<size_t>(static_cast<size_t>(elements), kElementsInitialReserve));
      frame.remaining = elements;
      frame.attribute = type == '|';
      stack_.push_back(std::move(frame));
      *done = false;
      return true;
    }
    default:
      error_ = absl::StrCat("Protocol error: unexpected reply type byte ",
                            static_cast<int>(static_cast<unsigned char>(type)));
      return false;
  }
  *done = Complete(std::move(v), reply);
  return true;
}

ReplyStatus ReplyReader::Read(std::string_view input, size_t* consumed, ReplyValue* reply) {
  size_t pos = 0;
  *consumed = 0;
  while (pos < input.size()) {
    if (bulk_len_ >= 0) {
      // The bulk's data, then its CRLF.
      const int64_t want = bulk_len_ + 2 - bulk_received_;
      const size_t take = std::min<size_t>(static_cast<size_t>(want), input.size() - pos);
      const int64_t data_left = std::max<int64_t>(0, bulk_len_ - bulk_received_);
      const size_t data = std::min<size_t>(take, static_cast<size_t>(data_left));
      bulk_.append(input.data() + pos, data);
      for (size_t i = data; i < take; ++i) {
        const int64_t index = bulk_received_ + static_cast<int64_t>(i) - bulk_len_;
        if (input[pos + i] != (index == 0 ? '\r' : '\n')) {
          *consumed = pos + i;
          return Fail("Protocol error: bulk not followed by CRLF");
        }
      }
      pos += take;
      bulk_received_ += static_cast<int64_t>(take);
      if (bulk_received_ < bulk_len_ + 2) break;
      ReplyValue v;
      v.type = bulk_type_;
      if (bulk_type_ == ReplyValue::Type::kVerbatim) {
        if (bulk_.size() < 4 || bulk_[3] != ':') {
          *consumed = pos;
          return Fail("Protocol error: bad verbatim string");
        }
        v.str.assign(bulk_, 4);
        bulk_.clear();
      } else {
        v.str = std::move(bulk_);
        bulk_ = std::string();
      }
      bulk_len_ = -1;
      bulk_received_ = 0;
      if (Complete(std::move(v), reply)) {
        *consumed = pos;
        return ReplyStatus::kReply;
      }
      continue;
    }
    if (limits_.skip_empty_lines && stack_.empty()) {
      if (input[pos] == '\n') {
        ++pos;
        continue;
      }
      if (input[pos] == '\r') {
        if (pos + 1 == input.size()) break;
        if (input[pos + 1] == '\n') {
          pos += 2;
          continue;
        }
      }
    }
    const void* hit = std::memchr(input.data() + pos, '\n', input.size() - pos);
    if (hit == nullptr) {
      // A line's text may be max_line_len bytes; its type byte and CR come
      // on top (the same bound whether or not its LF has arrived).
      if (input.size() - pos > limits_.max_line_len + 2) {
        *consumed = pos;
        return Fail("Protocol error: too big reply line");
      }
      break;
    }
    const size_t lf = static_cast<const char*>(hit) - input.data();
    if (lf - pos > limits_.max_line_len + 2) {
      *consumed = pos;
      return Fail("Protocol error: too big reply line");
    }
    if (lf - pos < 2 || input[lf - 1] != '\r') {
      *consumed = pos;
      return Fail(lf - pos < 2 ? "Protocol error: empty reply line"
                               : "Protocol error: reply line not ended by CRLF");
    }
    const char type = input[pos];
    const std::string_view text = input.substr(pos + 1, lf - 1 - (pos + 1));
    pos = lf + 1;
    bool done = false;
    if (!OnLine(type, text, reply, &done)) {
      *consumed = pos;
      return ReplyStatus::kError;
    }
    if (done) {
      *consumed = pos;
      return ReplyStatus::kReply;
    }
  }
  *consumed = pos;
  return ReplyStatus::kNeedMore;
}

}  // namespace shardnode::resp
