#include "node/persist/aof_reader.h"

#include <cctype>
#include <climits>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace shardnode::node::persist {
namespace {

// fgets(buf, 1024, fp) reads at most this many bytes.
constexpr size_t kLineMax = 1023;

enum class LineResult { kLine, kNeedMore, kEof };

// One fgets at `pos`: the bytes up to and including '\n', at most kLineMax;
// at the end of the file, whatever is left (none: kEof).
LineResult ReadLine(std::string_view data, size_t pos, bool at_eof, std::string_view* line) {
  const std::string_view rest = data.substr(pos);
  const size_t window = std::min(rest.size(), kLineMax);
  const size_t nl = rest.substr(0, window).find('\n');
  if (nl != std::string_view::npos) {
    *line = rest.substr(0, nl + 1);
    return LineResult::kLine;
  }
  if (rest.size() >= kLineMax) {
    *line = rest.substr(0, kLineMax);
    return LineResult::kLine;
  }
  if (!at_eof) return LineResult::kNeedMore;
  if (rest.empty()) return LineResult::kEof;
  *line = rest;
  return LineResult::kLine;
}

// strtol / atoi on the digits after the prefix byte: leading blanks, a sign,
// digits; saturated instead of undefined on overflow.
int64_t LeadingNumber(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  int64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (v > (INT64_MAX - 9) / 10) return neg ? INT64_MIN : INT64_MAX;
    v = v * 10 + (s[i] - '0');
  }
  return neg ? -v : v;
}

}  // namespace

AofRecordStatus ReadAofRecord(std::string_view data, bool at_eof, std::vector<std::string>* args,
                              size_t* consumed, std::string_view* annotation) {
  args->clear();
  std::string_view line;
  switch (ReadLine(data, 0, at_eof, &line)) {
    case LineResult::kNeedMore:
      return AofRecordStatus::kNeedMore;
    case LineResult::kEof:
      return AofRecordStatus::kEnd;
    case LineResult::kLine:
      break;
  }
  if (line[0] == '#') {
    *consumed = line.size();
    if (annotation != nullptr) {
      *annotation = line.back() == '\n' ? line.substr(0, line.size() - 1) : line;
    }
    return AofRecordStatus::kAnnotation;
  }
  if (line[0] != '*') return AofRecordStatus::kFormatError;
  // "*" and nothing else: Redis treats it as a read error, at EOF a short read.
  if (line.size() == 1) return at_eof ? AofRecordStatus::kTruncated : AofRecordStatus::kNeedMore;
  const int64_t argc = LeadingNumber(line.substr(1));
  if (argc < 1 || argc > INT_MAX) return AofRecordStatus::kFormatError;
  size_t pos = line.size();
  for (int64_t j = 0; j < argc; ++j) {
    switch (ReadLine(data, pos, at_eof, &line)) {
      case LineResult::kNeedMore:
        return AofRecordStatus::kNeedMore;
      case LineResult::kEof:
        return AofRecordStatus::kTruncated;
      case LineResult::kLine:
        break;
    }
    if (line[0] != '$') return AofRecordStatus::kFormatError;
    const int64_t len = LeadingNumber(line.substr(1));
    if (len < 0) return AofRecordStatus::kFormatError;
    pos += line.size();
    // The argument, then two bytes Redis skips without looking.
    const uint64_t need = static_cast<uint64_t>(len) + 2;
    if (data.size() - pos < need) {
      return at_eof ? AofRecordStatus::kTruncated : AofRecordStatus::kNeedMore;
    }
    args->emplace_back(data.substr(pos, static_cast<size_t>(len)));
    pos += static_cast<size_t>(need);
  }
  *consumed = pos;
  return AofRecordStatus::kCommand;
}

std::string AofTimestampAnnotation(int64_t unix_seconds) {
  return absl::StrCat("#TS:", unix_seconds, "\r\n");
}

}  // namespace shardnode::node::persist
