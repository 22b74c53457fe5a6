// Internal to node/config: the directive table's row type and the helpers
// that the directive table (directives.cc), the value parsers (values.cc),
// loading (load.cc), CONFIG GET/SET (config.cc) and CONFIG REWRITE
// (rewrite.cc) share. Not for use outside node/config. Pure except where
// noted; the table is built once and immutable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/config/config.h"
#include "node/config/options.h"

namespace shardnode::node::config_internal {

enum DirectiveFlag : uint32_t {
  kImmutable = 1u << 0,
  kProtected = 1u << 1,  // CONFIG SET only with enable-protected-configs
  kHidden = 1u << 2,     // CONFIG GET shows it only when asked by exact name
  kMultiArg = 1u << 3,   // takes several arguments (save, bind...)
};

enum NumFlag : uint32_t {
  kNumMemory = 1u << 0,   // accepts units (1gb); shown as plain bytes
  kNumPercent = 1u << 1,  // also accepts "N%", stored as -N
  kNumOctal = 1u << 2,
};

enum class Type { kBool, kString, kEnum, kNumeric, kSpecial };

enum class Special {
  kNone,
  kDir,
  kSave,
  kClientOutputBufferLimit,
  kOomScoreAdjValues,
  kNotifyKeyspaceEvents,
  kBind,
  kReplicaOf,
  kLatencyPercentiles,
};

using Field = std::variant<std::monostate, bool ServerOptions::*, int ServerOptions::*,
                           int64_t ServerOptions::*, std::string ServerOptions::*,
                           LogLevel ServerOptions::*, AppendFsync ServerOptions::*>;

using Validator = const char* (*)(std::string_view value);

struct EnumValue {
  std::string_view name;
  int value;
};

}  // namespace shardnode::node::config_internal

namespace shardnode::node {

// One row of the directive table: a Redis 7.0.15 directive, its type, range,
// default and where its value lives.
struct Config::Directive {
  std::string_view name;
  std::string_view alias;  // empty: none
  config_internal::Type type = config_internal::Type::kBool;
  uint32_t flags = 0;
  // Canonical (CONFIG GET) text of the default. For strings whose empty
  // value means "unset", `default_null` marks a NULL default instead.
  std::string_view default_text;
  bool default_null = false;
  bool empty_is_null = false;
  config_internal::Field field;
  // Numeric.
  int64_t min = 0;
  int64_t max = 0;
  bool unsigned_range = false;
  uint32_t num_flags = 0;
  // Enum; `bitflags` enums take several names that are OR-ed.
  std::vector<config_internal::EnumValue> enum_values;
  bool bitflags = false;
  config_internal::Validator validate = nullptr;
  config_internal::Special special = config_internal::Special::kNone;
};

}  // namespace shardnode::node

namespace shardnode::node::config_internal {

using Directive = Config::Directive;

// The directive table (directives.cc), built on first use.
struct Table {
  std::vector<Directive> directives;
  // Lower-case name or alias -> directive.
  absl::flat_hash_map<std::string, const Directive*> by_name;
  // Every name then alias in table order, with its directive (CONFIG GET *).
  std::vector<std::pair<std::string_view, const Directive*>> names;
};
const Table& GetTable();
// The directive named `name` or its alias, any case; nullptr when unknown.
const Directive* Lookup(std::string_view name);

// Small string helpers (values.cc).
std::vector<std::string_view> SplitBy(std::string_view s, char sep);
std::string JoinViews(const std::vector<std::string_view>& parts, std::string_view sep);

// Value parsing and formatting, as Redis's config.c / util.c do it
// (values.cc). Errors carry Redis's reason text alone.

// Redis's string2ll, as an optional.
std::optional<int64_t> ParseStrictInt(std::string_view s);
// strtoll(s, &end, base) with *end == '\0' required (Redis's save/oom checks).
std::optional<int64_t> ParseStrtoll(const std::string& s, int base = 10);
// The CONFIG GET text of a numeric value.
std::string FormatNumeric(const Directive& d, int64_t v);
// Redis's rewriteConfigFormatMemory: the largest exact unit.
std::string FormatMemoryForFile(int64_t bytes);
absl::StatusOr<int64_t> ParseNumeric(const Directive& d, const std::string& value);
absl::Status CheckBounds(const Directive& d, int64_t v);
// Enum names -> value; nullopt when a name is unknown (or several names for
// a non-bitflags enum).
std::optional<int> ParseEnum(const Directive& d, const std::vector<std::string>& args);
std::string EnumName(const Directive& d, int value);
std::string EnumError(const Directive& d);
// notify-keyspace-events: class letters <-> flags.
std::optional<int> ParseNotifyFlags(std::string_view s);
std::string NotifyFlagsText(int flags);

// client-output-buffer-limit, one class.
struct ObufLimit {
  uint64_t hard = 0;
  uint64_t soft = 0;
  int64_t soft_seconds = 0;
};
inline constexpr const char* kObufClasses[] = {"normal", "slave", "pubsub"};
// The three classes of a canonical "normal h s t slave h s t pubsub h s t".
std::vector<ObufLimit> ParseObufCanonical(std::string_view text);
std::string ObufCanonical(const std::vector<ObufLimit>& limits);

// Redis's "%f" then trimDoubleString.
std::string FormatPercentile(double d);
// Redis's string2d: strtod over the whole string, no leading blank, no NaN.
std::optional<double> ParseStrictDouble(const std::string& s);

// Loading (load.cc).

// The process working directory, or "" (reads the process state).
std::string GetCwd();
// The "*** FATAL CONFIG FILE ERROR ***" texts redis-server prints.
std::string FatalConfigError(absl::string_view err);
std::string FatalConfigError(int linenum, std::string_view line, absl::string_view err);
// A config file's content (reads the file system).
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);
// `s` without leading and trailing blanks, CR and LF.
std::string_view TrimLine(std::string_view s);

}  // namespace shardnode::node::config_internal
