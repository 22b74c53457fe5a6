// String helpers shared by every module: the std <-> abseil string_view
// bridge, ASCII case folding, and Redis's strict integer parser. Pure
// functions, callable from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace shardnode::base {

// Debian's abseil has its own string_view type, distinct from std's: these
// convert at the call without copying. The result borrows `s`'s bytes.
inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

// ASCII-only, case-insensitive equality (Redis's strcasecmp on arguments).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// `s` with ASCII letters lowered.
std::string AsciiLower(std::string_view s);

// Redis's string2ll: true when `s` is the canonical decimal text of an int64
// -- an optional '-', no '+', no blanks, no leading zeros, "0" but not "-0",
// at most 20 characters -- and then *out receives it. On false *out is
// untouched.
bool ParseStrictInt64(std::string_view s, int64_t* out);

// Redis's sdscatrepr: `s` in double quotes, with \\ \" \n \r \t \a \b
// escaped and any other byte outside printable ASCII as \xHH (MONITOR lines,
// config files, the AOF manifest). AppendRepr appends it to `out`.
void AppendRepr(std::string& out, std::string_view s);
std::string Repr(std::string_view s);

}  // namespace shardnode::base
