// Redis's sdssplitargs: one line of a config file, an inline command or a
// multi-argument config value split into arguments. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"

namespace shardnode::base {

// Splits `line` as Redis 7.0.15's sdssplitargs does: blanks (space, \t, \n,
// \v, \f, \r) separate arguments; "double quotes" understand \n \r \t \b \a,
// \xHH and \<any byte>; 'single quotes' understand only \'; a closing quote
// must be followed by a blank or the end. The line ends at its first NUL
// byte, as Redis reads a C string. For each argument, `next_arg()` returns
// the empty string to fill (the caller may reuse storage).
// Returns false on unbalanced quotes or a closing quote followed by another
// byte; arguments filled so far are then incomplete.
bool SplitArgs(std::string_view line, absl::FunctionRef<std::string*()> next_arg);

// The same, into a new vector; nullopt where SplitArgs returns false.
std::optional<std::vector<std::string>> SplitArgs(std::string_view line);

}  // namespace shardnode::base
