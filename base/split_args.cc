#include "base/split_args.h"

namespace shardnode::base {
namespace {

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// The byte a backslash escape inside double quotes stands for.
char Unescape(char c) {
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'b':
      return '\b';
    case 'a':
      return '\a';
    default:
      return c;
  }
}

}  // namespace

bool SplitArgs(std::string_view line, absl::FunctionRef<std::string*()> next_arg) {
  line = line.substr(0, line.find('\0'));
  const size_t n = line.size();
  // The byte at `i`, or the terminating NUL past the end.
  auto at = [&](size_t i) { return i < n ? line[i] : '\0'; };
  size_t i = 0;
  while (true) {
    while (i < n && IsBlank(line[i])) ++i;
    if (i == n) return true;
    std::string* cur = next_arg();
    char quote = 0;  // '"' or '\'' while inside quotes
    bool done = false;
    while (!done) {
      const char c = at(i);
      if (quote != 0) {
        if (quote == '"' && c == '\\' && at(i + 1) == 'x' && IsHexDigit(at(i + 2)) &&
            IsHexDigit(at(i + 3))) {
          cur->push_back(static_cast<char>(HexValue(at(i + 2)) * 16 + HexValue(at(i + 3))));
          i += 3;
        } else if (quote == '"' && c == '\\' && at(i + 1) != '\0') {
          ++i;
          cur->push_back(Unescape(line[i]));
        } else if (quote == '\'' && c == '\\' && at(i + 1) == '\'') {
          ++i;
          cur->push_back('\'');
        } else if (c == quote) {
          // The closing quote must be followed by a blank or the end.
          if (at(i + 1) != '\0' && !IsBlank(at(i + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;  // unbalanced
        } else {
          cur->push_back(c);
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
          case '\'':
            quote = c;
            break;
          default:
            cur->push_back(c);
            break;
        }
      }
      if (i < n) ++i;
    }
  }
}

std::optional<std::vector<std::string>> SplitArgs(std::string_view line) {
  std::vector<std::string> out;
  if (!SplitArgs(line, [&out] { return &out.emplace_back(); })) return std::nullopt;
  return out;
}

}  // namespace shardnode::base
