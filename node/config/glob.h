// GlobMatch: Redis's glob-style pattern matching (stringmatchlen), used by
// CONFIG GET, KEYS, SCAN MATCH, PSUBSCRIBE and CLIENT KILL filters.
//
// Pure and thread-safe: no state.
#pragma once

#include <string_view>

namespace shardnode::node {

// True when `str` matches `pattern`. Supported syntax, as in Redis 7.0:
//   *        any run of bytes (also empty)
//   ?        exactly one byte
//   [abc]    one byte of the set; [^abc] one byte not in it; [a-z] a range
//            (reversed ranges like [z-a] are accepted); \x inside a set is
//            the literal x; an unterminated set runs to the end of the pattern
//   \x       the literal byte x
// The lone pattern "*" matches everything, the empty string included (Redis's
// KEYS and SCAN shortcut it the same way); otherwise '*' after the last byte
// of `str` matches nothing, as in stringmatchlen.
// Bytes are compared as they are, or ASCII case-insensitively with `nocase`.
// Cost is bounded: a failed '*' expansion stops the search early, so
// patterns such as "a*a*a*a*b" do not take exponential time.
bool GlobMatch(std::string_view pattern, std::string_view str, bool nocase = false);

}  // namespace shardnode::node
