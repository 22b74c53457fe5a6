// ReplyBuilder and the number formatting of replies: see reply.h. The byte
// layouts are those of Redis 7.0.15's addReply* family (networking.c).
#include "node/resp/reply.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

namespace shardnode::resp {
namespace {

// Appends <prefix><n>\r\n, the shape of integers and every length header.
void AppendPrefixed(std::string* out, char prefix, int64_t n) {
  char buf[24];
  buf[0] = prefix;
  char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out->append(buf, end - buf);
}

// Appends `text` as a RESP2 bulk string.
void AppendBulk(std::string* out, std::string_view text) {
  AppendPrefixed(out, '$', static_cast<int64_t>(text.size()));
  out->append(text);
  out->append("\r\n", 2);
}

}  // namespace

std::string FormatDouble(double d) {
  // Infinities are spelled out rather than left to printf, as Redis does.
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[32];
  const int n = std::snprintf(buf, sizeof(buf), "%.17g", d);
  return std::string(buf, n);
}

std::string FormatLongDouble(long double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // "%.17Lf" of the largest long double is under 5,000 characters.
  char buf[5200];
  const int written = std::snprintf(buf, sizeof(buf), "%.17Lf", v);
  size_t len = written < 0 ? 0 : static_cast<size_t>(written);
  if (len >= sizeof(buf)) len = sizeof(buf) - 1;
  std::string_view text(buf, len);
  // Fixed notation always has a '.' here (precision 17); drop the zeros that
  // end the fraction, then the '.' itself when nothing is left after it.
  if (text.find('.') != std::string_view::npos) {
    while (text.back() == '0') text.remove_suffix(1);
    if (text.back() == '.') text.remove_suffix(1);
  }
  if (text == "-0") return "0";
  return std::string(text);
}

void ReplyBuilder::SimpleString(std::string_view s) {
  out_->push_back('+');
  out_->append(s);
  out_->append("\r\n", 2);
  Grew();
}

void ReplyBuilder::Error(std::string_view message) {
  ++errors_;
  out_->push_back('-');
  const size_t start = out_->size();
  out_->append(message);
  // A CR or LF would end the error line early and desynchronize the client.
  for (size_t i = start; i < out_->size(); ++i) {
    char& c = (*out_)[i];
    if (c == '\r' || c == '\n') c = ' ';
  }
  out_->append("\r\n", 2);
  if (on_error) on_error(message);
  Grew();
}

void ReplyBuilder::Integer(int64_t n) {
  AppendPrefixed(out_, ':', n);
  Grew();
}

void ReplyBuilder::Bulk(std::string_view s) {
  AppendBulk(out_, s);
  Grew();
}

void ReplyBuilder::NullBulk() {
  if (protocol_ == 2) {
    out_->append("$-1\r\n", 5);
  } else {
    out_->append("_\r\n", 3);
  }
  Grew();
}

void ReplyBuilder::NullArray() {
  if (protocol_ == 2) {
    out_->append("*-1\r\n", 5);
  } else {
    out_->append("_\r\n", 3);
  }
  Grew();
}

void ReplyBuilder::ArrayHeader(size_t n) {
  AppendPrefixed(out_, '*', static_cast<int64_t>(n));
  Grew();
}

void ReplyBuilder::MapHeader(size_t pairs) {
  if (protocol_ == 2) {
    AppendPrefixed(out_, '*', static_cast<int64_t>(pairs * 2));
  } else {
    AppendPrefixed(out_, '%', static_cast<int64_t>(pairs));
  }
  Grew();
}

void ReplyBuilder::SetHeader(size_t n) {
  AppendPrefixed(out_, protocol_ == 2 ? '*' : '~', static_cast<int64_t>(n));
  Grew();
}

void ReplyBuilder::PushHeader(size_t n) {
  AppendPrefixed(out_, protocol_ == 2 ? '*' : '>', static_cast<int64_t>(n));
  Grew();
}

void ReplyBuilder::Double(double d) {
  const std::string text = FormatDouble(d);
  if (protocol_ == 2) {
    AppendBulk(out_, text);
  } else {
    out_->push_back(',');
    out_->append(text);
    out_->append("\r\n", 2);
  }
  Grew();
}

void ReplyBuilder::Bool(bool b) {
  if (protocol_ == 2) {
    out_->append(b ? ":1\r\n" : ":0\r\n", 4);
  } else {
    out_->append(b ? "#t\r\n" : "#f\r\n", 4);
  }
  Grew();
}

void ReplyBuilder::Verbatim(std::string_view text, std::string_view format) {
  if (protocol_ == 2) {
    AppendBulk(out_, text);
    Grew();
    return;
  }
  // The length counts the 3-letter format and its ':' too.
  AppendPrefixed(out_, '=', static_cast<int64_t>(text.size() + 4));
  for (size_t i = 0; i < 3; ++i) out_->push_back(i < format.size() ? format[i] : ' ');
  out_->push_back(':');
  out_->append(text);
  out_->append("\r\n", 2);
  Grew();
}

void ReplyBuilder::WatchGrowth(size_t every, std::function<void()> on_grow) {
  check_every_ = every;
  on_grow_ = std::move(on_grow);
  next_check_ = out_->size() + every;
}

void ReplyBuilder::Discard() {
  if (discarding_) return;
  discarding_ = true;
  std::string().swap(*client_);
  out_ = &scratch_;
  if (check_every_ == 0) check_every_ = 16 * 1024;
  next_check_ = check_every_;
}

void ReplyBuilder::Checkpoint() {
  if (discarding_) {
    // What a stopped command still replies goes nowhere.
    scratch_.clear();
  } else if (out_->size() >= next_check_ && on_grow_) {
    on_grow_();  // may Discard()
  }
  next_check_ = out_->size() + check_every_;
}

void ReplyBuilder::Raw(std::string_view bytes) {
  out_->append(bytes);
  Grew();
}

}  // namespace shardnode::resp
