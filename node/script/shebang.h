// Script flags and the EVAL shebang line (`#!lua flags=no-writes,...`), as
// Redis 7.0.15's evalExtractShebangFlags reads them. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace shardnode::node::script {

enum ScriptFlag : uint32_t {
  kScriptNoWrites = 1u << 0,
  kScriptAllowOom = 1u << 1,
  kScriptAllowStale = 1u << 2,
  kScriptNoCluster = 1u << 3,
  kScriptAllowCrossSlot = 1u << 4,
  // No shebang: EVAL's historical behaviour (no flag applies; cross-slot
  // access allowed).
  kScriptCompatMode = 1u << 5,
};

// The flag named `name` exactly ("no-writes"...), or 0.
uint32_t ScriptFlagByName(std::string_view name);
// The flags' names in Redis's fixed order (no-writes allow-oom allow-stale
// no-cluster allow-cross-slot-keys).
inline constexpr std::string_view kScriptFlagNames[] = {"no-writes", "allow-oom", "allow-stale",
                                                        "no-cluster", "allow-cross-slot-keys"};

struct Shebang {
  uint32_t flags = kScriptCompatMode;
  // Bytes of the shebang line (without its '\n', which is kept in the code
  // so that line numbers stay right); 0 when none.
  size_t length = 0;
};

// Reads the shebang of `body`. On failure returns false and sets *error to
// Redis's message without the ERR code ("Invalid script shebang",
// "Unexpected engine in script shebang: #!LUA", "Unknown lua shebang option:
// x", "Unexpected flag in script shebang: x").
bool ParseShebang(std::string_view body, Shebang* out, std::string* error);

}  // namespace shardnode::node::script
