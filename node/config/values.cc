// Value parsing and formatting for config directives, as Redis 7.0.15's
// config.c and util.c do it, and the public line splitting and quoting
// helpers (config.h). Pure.
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/split_args.h"
#include "base/strings.h"
#include "node/config/config.h"
#include "node/config/internal/directive.h"

namespace shardnode::node::config_internal {

using base::EqualsIgnoreCase;

std::vector<std::string_view> SplitBy(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string JoinViews(const std::vector<std::string_view>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out.append(sep);
    out.append(parts[i]);
  }
  return out;
}

std::optional<int64_t> ParseStrictInt(std::string_view s) {
  int64_t v;
  if (!base::ParseStrictInt64(s, &v)) return std::nullopt;
  return v;
}

// strtoll(s, &end, 10) with *end == '\0' required (Redis's save/oom checks).
std::optional<int64_t> ParseStrtoll(const std::string& s, int base) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, base);
  if (*end != '\0') return std::nullopt;
  if (errno == ERANGE) return std::nullopt;
  return v;
}

std::string FormatNumeric(const Directive& d, int64_t v) {
  if ((d.num_flags & kNumPercent) && v < 0) return absl::StrCat(-v, "%");
  if (d.num_flags & kNumMemory) return absl::StrCat(static_cast<uint64_t>(v));
  if (d.num_flags & kNumOctal) return absl::StrFormat("%o", static_cast<uint64_t>(v));
  return absl::StrCat(v);
}

// Redis's rewriteConfigFormatMemory: the largest exact unit.
std::string FormatMemoryForFile(int64_t bytes) {
  const int64_t gb = 1024LL * 1024 * 1024;
  const int64_t mb = 1024LL * 1024;
  const int64_t kb = 1024;
  if (bytes && bytes % gb == 0) return absl::StrCat(bytes / gb, "gb");
  if (bytes && bytes % mb == 0) return absl::StrCat(bytes / mb, "mb");
  if (bytes && bytes % kb == 0) return absl::StrCat(bytes / kb, "kb");
  return absl::StrCat(bytes);
}

absl::StatusOr<int64_t> ParseNumeric(const Directive& d, const std::string& value) {
  if (d.num_flags & kNumMemory) {
    if (auto m = ParseMemory(value)) return static_cast<int64_t>(*m);
  }
  if ((d.num_flags & kNumPercent) && value.size() > 1 && value.back() == '%') {
    auto n = ParseStrictInt(std::string_view(value).substr(0, value.size() - 1));
    if (n && *n >= 0) return -*n;
  }
  if (d.num_flags & kNumOctal) {
    if (auto n = ParseStrtoll(value, 8)) return *n;
  }
  if (d.num_flags == 0) {
    if (auto n = ParseStrictInt(value)) return *n;
  }
  if ((d.num_flags & kNumMemory) && (d.num_flags & kNumPercent)) {
    return absl::InvalidArgumentError("argument must be a memory or percent value");
  }
  if (d.num_flags & kNumMemory)
    return absl::InvalidArgumentError("argument must be a memory value");
  if (d.num_flags & kNumOctal) {
    return absl::InvalidArgumentError("argument couldn't be parsed as an octal number");
  }
  return absl::InvalidArgumentError("argument couldn't be parsed into an integer");
}

absl::Status CheckBounds(const Directive& d, int64_t v) {
  if (d.unsigned_range) {
    uint64_t u = static_cast<uint64_t>(v);
    uint64_t lo = static_cast<uint64_t>(d.min);
    uint64_t hi = static_cast<uint64_t>(d.max);
    if (u > hi || u < lo) {
      if (d.num_flags & kNumOctal) {
        return absl::InvalidArgumentError(
            absl::StrFormat("argument must be between %o and %o inclusive", lo, hi));
      }
      return absl::InvalidArgumentError(
          absl::StrFormat("argument must be between %u and %u inclusive", lo, hi));
    }
    return absl::OkStatus();
  }
  if ((d.num_flags & kNumPercent) && v < 0) {
    if (v < d.min) {
      return absl::InvalidArgumentError(
          absl::StrFormat("percentage argument must be less or equal to %d", -d.min));
    }
    return absl::OkStatus();
  }
  if (v > d.max || v < d.min) {
    return absl::InvalidArgumentError(
        absl::StrFormat("argument must be between %d and %d inclusive", d.min, d.max));
  }
  return absl::OkStatus();
}

// Enum names -> value; nullopt when a name is unknown (or several names for
// a non-bitflags enum).
std::optional<int> ParseEnum(const Directive& d, const std::vector<std::string>& args) {
  if (args.empty() || (!d.bitflags && args.size() != 1)) return std::nullopt;
  int value = 0;
  for (const std::string& a : args) {
    bool found = false;
    for (const EnumValue& ev : d.enum_values) {
      if (EqualsIgnoreCase(a, ev.name)) {
        value |= ev.value;
        found = true;
      }
    }
    if (!found) return std::nullopt;
  }
  return value;
}

std::string EnumName(const Directive& d, int value) {
  for (const EnumValue& ev : d.enum_values) {
    if (ev.value == value) return std::string(ev.name);
  }
  if (!d.bitflags) return "unknown";
  std::vector<std::string_view> names;
  int left = value;
  for (const EnumValue& ev : d.enum_values) {
    if (ev.value && (left & ev.value) == ev.value) {
      names.push_back(ev.name);
      left &= ~ev.value;
    }
  }
  if (names.empty() || left) return "unknown";
  return JoinViews(names, " ");
}

std::string EnumError(const Directive& d) {
  std::vector<std::string_view> names;
  for (const EnumValue& ev : d.enum_values) names.push_back(ev.name);
  return "argument(s) must be one of the following: " + JoinViews(names, ", ");
}

namespace {

// notify-keyspace-events classes.
constexpr int kNotifyKeyspace = 1 << 0, kNotifyKeyevent = 1 << 1, kNotifyGeneric = 1 << 2,
              kNotifyString = 1 << 3, kNotifyList = 1 << 4, kNotifySet = 1 << 5,
              kNotifyHash = 1 << 6, kNotifyZset = 1 << 7, kNotifyExpired = 1 << 8,
              kNotifyEvicted = 1 << 9, kNotifyStream = 1 << 10, kNotifyKeyMiss = 1 << 11,
              kNotifyModule = 1 << 13, kNotifyNew = 1 << 14;
constexpr int kNotifyAll = kNotifyGeneric | kNotifyString | kNotifyList | kNotifySet | kNotifyHash |
                           kNotifyZset | kNotifyExpired | kNotifyEvicted | kNotifyStream |
                           kNotifyModule;

}  // namespace

std::optional<int> ParseNotifyFlags(std::string_view s) {
  int flags = 0;
  for (char c : s) {
    switch (c) {
      case 'A':
        flags |= kNotifyAll;
        break;
      case 'g':
        flags |= kNotifyGeneric;
        break;
      case '$':
        flags |= kNotifyString;
        break;
      case 'l':
        flags |= kNotifyList;
        break;
      case 's':
        flags |= kNotifySet;
        break;
      case 'h':
        flags |= kNotifyHash;
        break;
      case 'z':
        flags |= kNotifyZset;
        break;
      case 'x':
        flags |= kNotifyExpired;
        break;
      case 'e':
        flags |= kNotifyEvicted;
        break;
      case 'K':
        flags |= kNotifyKeyspace;
        break;
      case 'E':
        flags |= kNotifyKeyevent;
        break;
      case 't':
        flags |= kNotifyStream;
        break;
      case 'm':
        flags |= kNotifyKeyMiss;
        break;
      case 'd':
        flags |= kNotifyModule;
        break;
      case 'n':
        flags |= kNotifyNew;
        break;
      default:
        return std::nullopt;
    }
  }
  return flags;
}

std::string NotifyFlagsText(int flags) {
  std::string out;
  if ((flags & kNotifyAll) == kNotifyAll) {
    out += 'A';
  } else {
    const std::pair<int, char> kOrder[] = {
        {kNotifyGeneric, 'g'}, {kNotifyString, '$'}, {kNotifyList, 'l'},    {kNotifySet, 's'},
        {kNotifyHash, 'h'},    {kNotifyZset, 'z'},   {kNotifyExpired, 'x'}, {kNotifyEvicted, 'e'},
        {kNotifyStream, 't'},  {kNotifyModule, 'd'}, {kNotifyNew, 'n'}};
    for (auto [bit, c] : kOrder) {
      if (flags & bit) out += c;
    }
  }
  if (flags & kNotifyKeyspace) out += 'K';
  if (flags & kNotifyKeyevent) out += 'E';
  if (flags & kNotifyKeyMiss) out += 'm';
  return out;
}

std::vector<ObufLimit> ParseObufCanonical(std::string_view text) {
  std::vector<ObufLimit> out(3);
  std::vector<std::string> parts = absl::StrSplit(base::ToAbsl(text), ' ', absl::SkipEmpty());
  for (size_t i = 0; i + 3 < parts.size(); i += 4) {
    for (int c = 0; c < 3; ++c) {
      if (parts[i] != kObufClasses[c]) continue;
      (void)absl::SimpleAtoi(parts[i + 1], &out[c].hard);
      (void)absl::SimpleAtoi(parts[i + 2], &out[c].soft);
      (void)absl::SimpleAtoi(parts[i + 3], &out[c].soft_seconds);
    }
  }
  return out;
}

std::string ObufCanonical(const std::vector<ObufLimit>& limits) {
  std::vector<std::string> parts;
  for (int c = 0; c < 3; ++c) {
    parts.push_back(absl::StrCat(kObufClasses[c], " ", limits[c].hard, " ", limits[c].soft, " ",
                                 limits[c].soft_seconds));
  }
  return absl::StrJoin(parts, " ");
}

// Redis's "%f" then trimDoubleString.
std::string FormatPercentile(double d) {
  std::string s = absl::StrFormat("%f", d);
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  return s;
}

// Redis's string2d: strtod over the whole string, no leading blank, no NaN.
std::optional<double> ParseStrictDouble(const std::string& s) {
  if (s.empty() || absl::ascii_isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(s.c_str(), &end);
  if (static_cast<size_t>(end - s.c_str()) != s.size()) return std::nullopt;
  if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL || d == 0)) return std::nullopt;
  if (std::isnan(d)) return std::nullopt;
  return d;
}

}  // namespace shardnode::node::config_internal

namespace shardnode::node {

using base::EqualsIgnoreCase;

std::optional<uint64_t> ParseMemory(std::string_view s) {
  if (!s.empty() && s[0] == '-') return std::nullopt;
  size_t digits = 0;
  while (digits < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[digits]))) {
    ++digits;
  }
  std::string_view unit = s.substr(digits);
  uint64_t mul;
  if (unit.empty() || EqualsIgnoreCase(unit, "b")) {
    mul = 1;
  } else if (EqualsIgnoreCase(unit, "k")) {
    mul = 1000;
  } else if (EqualsIgnoreCase(unit, "kb")) {
    mul = 1024;
  } else if (EqualsIgnoreCase(unit, "m")) {
    mul = 1000 * 1000;
  } else if (EqualsIgnoreCase(unit, "mb")) {
    mul = 1024 * 1024;
  } else if (EqualsIgnoreCase(unit, "g")) {
    mul = 1000ULL * 1000 * 1000;
  } else if (EqualsIgnoreCase(unit, "gb")) {
    mul = 1024ULL * 1024 * 1024;
  } else {
    return std::nullopt;
  }
  if (digits >= 128) return std::nullopt;
  // As Redis: no digits reads as 0 ("" and "kb" are 0); overflow saturates
  // through strtoull and the multiplication wraps.
  uint64_t val = 0;
  if (digits > 0) {
    std::string buf(s.substr(0, digits));
    val = std::strtoull(buf.c_str(), nullptr, 10);
  }
  return val * mul;
}

std::optional<std::vector<std::string>> SplitConfigArgs(std::string_view line) {
  return base::SplitArgs(line);
}

std::string QuoteConfigArg(std::string_view s) { return base::Repr(s); }

}  // namespace shardnode::node
