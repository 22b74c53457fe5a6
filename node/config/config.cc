// Config: the directive store behind CONFIG GET / SET (see config.h).
// Setting a directive parses and checks its value (values.cc) against its
// row of the directive table (directives.cc); loading is in load.cc and
// CONFIG REWRITE in rewrite.cc.
#include "node/config/config.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <variant>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/strings.h"
#include "node/config/internal/directive.h"

namespace shardnode::node {

using namespace config_internal;  // NOLINT: this file implements them
using O = ServerOptions;

Config::Config(bool live) : live_(live) {
  for (const Directive& d : GetTable().directives) {
    if (std::holds_alternative<std::monostate>(d.field) &&
        (d.type != Type::kSpecial || d.special == Special::kClientOutputBufferLimit ||
         d.special == Special::kOomScoreAdjValues || d.special == Special::kNotifyKeyspaceEvents ||
         d.special == Special::kLatencyPercentiles)) {
      generic_[std::string(d.name)] = std::string(d.default_text);
    }
  }
  if (live_) options_.dir = GetCwd();
}

Config::~Config() = default;

// Sets one directive from its arguments (already split). The error message
// is Redis's reason text alone.
absl::Status Config::SetDirective(const Directive& d, std::vector<std::string> args,
                                  bool from_file) {
  (void)from_file;
  // Unique across Config objects too: a cache keyed by it never takes a
  // new Config at a freed one's address for the old one.
  static std::atomic<uint64_t> next_generation{1};
  generation_ = next_generation.fetch_add(1, std::memory_order_relaxed);
  auto err = [](std::string_view msg) { return absl::InvalidArgumentError(base::ToAbsl(msg)); };
  auto store_generic = [&](std::string value) { generic_[std::string(d.name)] = std::move(value); };

  switch (d.type) {
    case Type::kBool: {
      const std::string& v = args[0];
      bool b;
      if (base::EqualsIgnoreCase(v, "yes")) {
        b = true;
      } else if (base::EqualsIgnoreCase(v, "no")) {
        b = false;
      } else {
        return err("argument must be 'yes' or 'no'");
      }
      if (d.validate) {
        if (const char* e = d.validate(b ? "yes" : "no")) return err(e);
      }
      if (auto* f = std::get_if<bool O::*>(&d.field)) {
        options_.*(*f) = b;
      } else {
        store_generic(b ? "yes" : "no");
      }
      return absl::OkStatus();
    }
    case Type::kString: {
      const std::string& v = args[0];
      if (d.validate) {
        if (const char* e = d.validate(v)) return err(e);
      }
      if (auto* f = std::get_if<std::string O::*>(&d.field)) {
        options_.*(*f) = v;
      } else {
        store_generic(v);
      }
      return absl::OkStatus();
    }
    case Type::kEnum: {
      std::optional<int> v = ParseEnum(d, args);
      if (!v) return err(EnumError(d));
      if (d.bitflags && (*v & 1) && (*v & 2)) {
        return err("shutdown options SAVE and NOSAVE can't be used simultaneously");
      }
      if (auto* f = std::get_if<LogLevel O::*>(&d.field)) {
        options_.*(*f) = static_cast<LogLevel>(*v);
      } else if (auto* f2 = std::get_if<AppendFsync O::*>(&d.field)) {
        options_.*(*f2) = static_cast<AppendFsync>(*v);
      } else if (auto* f3 = std::get_if<std::string O::*>(&d.field)) {
        options_.*(*f3) = EnumName(d, *v);
      } else if (auto* f4 = std::get_if<int O::*>(&d.field)) {
        options_.*(*f4) = *v;
      } else {
        store_generic(EnumName(d, *v));
      }
      return absl::OkStatus();
    }
    case Type::kNumeric: {
      absl::StatusOr<int64_t> v = ParseNumeric(d, args[0]);
      if (!v.ok()) return v.status();
      absl::Status bounds = CheckBounds(d, *v);
      if (!bounds.ok()) return bounds;
      int64_t n = *v;
      if (d.name == "hz") n = std::clamp<int64_t>(n, 1, 500);
      if (auto* f = std::get_if<int O::*>(&d.field)) {
        options_.*(*f) = static_cast<int>(n);
      } else if (auto* f2 = std::get_if<int64_t O::*>(&d.field)) {
        options_.*(*f2) = n;
      } else {
        store_generic(FormatNumeric(d, n));
      }
      return absl::OkStatus();
    }
    case Type::kSpecial:
      break;
  }

  switch (d.special) {
    case Special::kDir: {
      if (args.size() != 1) return err("wrong number of arguments");
      if (live_) {
        if (chdir(args[0].c_str()) == -1) return err(std::strerror(errno));
        options_.dir = GetCwd();
      } else {
        options_.dir = args[0];
      }
      return absl::OkStatus();
    }
    case Special::kSave: {
      if (args.size() == 1 && args[0].empty()) {
        options_.save.clear();
        args.clear();
      }
      if (args.size() % 2) return err("Invalid save parameters");
      std::vector<SavePoint> points;
      for (size_t j = 0; j < args.size(); j += 2) {
        auto secs = ParseStrtoll(args[j]);
        auto changes = ParseStrtoll(args[j + 1]);
        if (!secs || *secs < 1 || !changes || *changes < 0) return err("Invalid save parameters");
        points.push_back({*secs, static_cast<int64_t>(static_cast<int>(*changes))});
      }
      // In a file, the first save line replaces the defaults and later ones
      // add to it; CONFIG SET replaces.
      if (!reading_file_) {
        options_.save.clear();
      } else if (!save_loaded_) {
        save_loaded_ = true;
        options_.save.clear();
      }
      options_.save.insert(options_.save.end(), points.begin(), points.end());
      return absl::OkStatus();
    }
    case Special::kClientOutputBufferLimit: {
      if (args.size() % 4) {
        return err("Wrong number of arguments in buffer limit configuration.");
      }
      std::vector<ObufLimit> limits = ParseObufCanonical(generic_[std::string(d.name)]);
      std::vector<std::pair<int, ObufLimit>> updates;
      for (size_t j = 0; j < args.size(); j += 4) {
        int cls = -1;
        if (base::EqualsIgnoreCase(args[j], "normal")) cls = 0;
        if (base::EqualsIgnoreCase(args[j], "slave") ||
            base::EqualsIgnoreCase(args[j], "replica")) {
          cls = 1;
        }
        if (base::EqualsIgnoreCase(args[j], "pubsub")) cls = 2;
        if (cls < 0) return err("Invalid client class specified in buffer limit configuration.");
        auto hard = ParseMemory(args[j + 1]);
        auto soft = ParseMemory(args[j + 2]);
        auto secs = ParseStrtoll(args[j + 3]);
        if (!hard || !soft || !secs || static_cast<int>(*secs) < 0) {
          return err("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
        }
        updates.push_back({cls, ObufLimit{*hard, *soft, *secs}});
      }
      for (auto& [cls, limit] : updates) limits[cls] = limit;
      store_generic(ObufCanonical(limits));
      return absl::OkStatus();
    }
    case Special::kOomScoreAdjValues: {
      if (args.size() != 3) return err("wrong number of arguments");
      std::vector<int64_t> values;
      for (const std::string& a : args) {
        auto v = ParseStrtoll(a);
        if (!v || *v < -2000 || *v > 2000) {
          return err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.");
        }
        values.push_back(*v);
      }
      store_generic(absl::StrJoin(values, " "));
      return absl::OkStatus();
    }
    case Special::kNotifyKeyspaceEvents: {
      if (args.size() != 1) return err("wrong number of arguments");
      auto flags = ParseNotifyFlags(args[0]);
      if (!flags) return err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
      options_.notify_keyspace_events = *flags;
      store_generic(NotifyFlagsText(*flags));
      return absl::OkStatus();
    }
    case Special::kBind: {
      if (args.size() > 16) return err("Too many bind addresses specified.");
      if (args.size() == 1 && args[0].empty()) args.clear();
      options_.bind = std::move(args);
      return absl::OkStatus();
    }
    case Special::kReplicaOf: {
      if (args.size() != 2) return err("wrong number of arguments");
      options_.replicaof_host.clear();
      options_.replicaof_port = 0;
      if (base::EqualsIgnoreCase(args[0], "no") && base::EqualsIgnoreCase(args[1], "one")) {
        return absl::OkStatus();
      }
      auto port = ParseStrtoll(args[1]);
      if (!port || *port < 0 || *port > 65535) return err("Invalid master port");
      options_.replicaof_host = args[0];
      options_.replicaof_port = static_cast<int>(*port);
      return absl::OkStatus();
    }
    case Special::kLatencyPercentiles: {
      if (args.size() == 1 && args[0].empty()) args.clear();
      std::vector<std::string> out;
      for (const std::string& a : args) {
        auto v = ParseStrictDouble(a);
        if (!v) return err("Invalid latency-tracking-info-percentiles parameters");
        if (*v > 100.0 || *v < 0.0) {
          return err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]");
        }
        out.push_back(FormatPercentile(*v));
      }
      store_generic(absl::StrJoin(out, " "));
      return absl::OkStatus();
    }
    case Special::kNone:
      break;
  }
  return err("unknown directive type");
}

std::string Config::GetDirective(const Directive& d) const {
  switch (d.special) {
    case Special::kDir:
      return options_.dir.empty() && live_ ? GetCwd() : options_.dir;
    case Special::kSave: {
      std::vector<std::string> parts;
      for (const SavePoint& p : options_.save) {
        parts.push_back(absl::StrCat(p.seconds, " ", p.changes));
      }
      return absl::StrJoin(parts, " ");
    }
    case Special::kBind:
      return absl::StrJoin(options_.bind, " ");
    case Special::kReplicaOf:
      if (options_.replicaof_host.empty()) return "";
      return absl::StrCat(options_.replicaof_host, " ", options_.replicaof_port);
    default:
      break;
  }
  if (auto* f = std::get_if<bool O::*>(&d.field)) return options_.*(*f) ? "yes" : "no";
  if (auto* f = std::get_if<int O::*>(&d.field)) {
    if (d.type == Type::kEnum) return EnumName(d, options_.*(*f));
    return FormatNumeric(d, options_.*(*f));
  }
  if (auto* f = std::get_if<int64_t O::*>(&d.field)) return FormatNumeric(d, options_.*(*f));
  if (auto* f = std::get_if<std::string O::*>(&d.field)) return options_.*(*f);
  if (auto* f = std::get_if<LogLevel O::*>(&d.field)) {
    return EnumName(d, static_cast<int>(options_.*(*f)));
  }
  if (auto* f = std::get_if<AppendFsync O::*>(&d.field)) {
    return EnumName(d, static_cast<int>(options_.*(*f)));
  }
  auto it = generic_.find(std::string(d.name));
  return it == generic_.end() ? std::string(d.default_text) : it->second;
}

absl::Status Config::Set(const std::vector<std::pair<std::string, std::string>>& pairs,
                         bool local_client) {
  auto failed = [](std::string_view name, absl::string_view reason) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CONFIG SET failed (possibly related to argument '", base::ToAbsl(name), "') - ", reason));
  };
  // Validate names first: the first problem wins, as in Redis.
  std::vector<const Directive*> directives;
  for (const auto& [name, value] : pairs) {
    const Directive* d = Lookup(name);
    if (d == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("Unknown option or number of arguments for CONFIG SET - '", name, "'"));
    }
    if (d->flags & kImmutable) return failed(name, "can't set immutable config");
    if (d->flags & kProtected) {
      std::string allow = generic_["enable-protected-configs"];
      if (!(allow == "yes" || (allow == "local" && local_client))) {
        return failed(name, "can't set protected config");
      }
    }
    if (std::find(directives.begin(), directives.end(), d) != directives.end()) {
      return failed(name, "duplicate parameter");
    }
    directives.push_back(d);
  }

  ServerOptions saved_options = options_;
  auto saved_generic = generic_;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const Directive& d = *directives[i];
    std::vector<std::string> args;
    if (d.flags & kMultiArg) {
      if (!pairs[i].second.empty()) args = absl::StrSplit(pairs[i].second, ' ');
    } else {
      args.push_back(pairs[i].second);
    }
    absl::Status s = SetDirective(d, std::move(args), /*from_file=*/false);
    if (!s.ok()) {
      if (live_ && saved_options.dir != options_.dir) (void)chdir(saved_options.dir.c_str());
      options_ = std::move(saved_options);
      generic_ = std::move(saved_generic);
      // Redis names the directive as looked up (lower case) here.
      return failed(base::AsciiLower(pairs[i].first), s.message());
    }
  }
  PublishOptions();  // before on_change, whose handlers may read it
  if (on_change) {
    for (const Directive* d : directives) on_change(std::string(d->name));
  }
  return absl::OkStatus();
}

std::vector<std::pair<std::string, std::string>> Config::Get(
    const std::vector<std::string>& patterns) const {
  std::vector<std::pair<std::string, std::string>> out;
  absl::flat_hash_set<std::string> seen;  // lower-case names already in `out`
  for (const std::string& pattern : patterns) {
    if (pattern.find_first_of("[*?") == std::string::npos) {
      std::string lower = base::AsciiLower(pattern);
      if (seen.contains(lower)) continue;
      if (const Directive* d = Lookup(lower)) {
        seen.insert(lower);
        out.emplace_back(pattern, GetDirective(*d));
      }
      continue;
    }
    for (const auto& [name, d] : GetTable().names) {
      if (d->flags & kHidden) continue;
      std::string key(name);
      if (seen.contains(key)) continue;
      if (GlobMatch(pattern, name, /*nocase=*/true)) {
        seen.insert(key);
        out.emplace_back(key, GetDirective(*d));
      }
    }
  }
  return out;
}

std::optional<std::string> Config::Value(std::string_view name) const {
  const Directive* d = Lookup(name);
  if (d == nullptr) return std::nullopt;
  return GetDirective(*d);
}

int64_t Config::IntValue(std::string_view name, int64_t fallback) const {
  const std::optional<std::string> text = Value(name);
  int64_t v = 0;
  if (!text || !absl::SimpleAtoi(base::ToAbsl(*text), &v)) {
    return fallback;
  }
  return v;
}

}  // namespace shardnode::node
