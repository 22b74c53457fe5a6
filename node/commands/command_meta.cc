#include "node/commands/command_meta.h"

#include "absl/container/flat_hash_map.h"
#include "base/strings.h"

namespace shardnode::node::meta {
namespace {

#include "node/commands/command_meta_table.inc"

// Children ranges must stay inside their arrays (checked once, at compile
// time, so that a bad generator run does not build).
constexpr bool RangesValid() {
  constexpr size_t n_cmds = sizeof(kCommands) / sizeof(kCommands[0]);
  constexpr size_t n_args = sizeof(kArgs) / sizeof(kArgs[0]);
  constexpr size_t n_specs = sizeof(kKeySpecs) / sizeof(kKeySpecs[0]);
  constexpr size_t n_hist = sizeof(kHistory) / sizeof(kHistory[0]);
  for (const CommandMeta& c : kCommands) {
    if (c.first_sub + c.num_subs > n_cmds || c.first_arg + c.num_args > n_args ||
        c.first_key_spec + c.num_key_specs > n_specs || c.first_history + c.num_history > n_hist) {
      return false;
    }
  }
  for (const ArgMeta& a : kArgs) {
    if (a.first_sub + a.num_subs > n_args) return false;
  }
  return true;
}
static_assert(RangesValid());

const absl::flat_hash_map<std::string, const CommandMeta*>& ByName() {
  static const auto* map = [] {
    auto* m = new absl::flat_hash_map<std::string, const CommandMeta*>();
    for (int i = 0; i < kNumServerRows; ++i) m->emplace(kCommands[i].name, &kCommands[i]);
    return m;
  }();
  return *map;
}

}  // namespace

const CommandMeta* Find(std::string_view name) {
  const auto& map = ByName();
  auto it = map.find(base::AsciiLower(name));
  return it == map.end() ? nullptr : it->second;
}

std::span<const CommandMeta> Commands() {
  return std::span<const CommandMeta>(kCommands).first(kNumServerRows);
}
const CommandMeta& SentinelCommand() { return kCommands[kNumServerRows]; }
int NumTopLevel() { return kNumTopLevel; }

std::span<const KeySpecMeta> KeySpecs(const CommandMeta& cmd) {
  return std::span<const KeySpecMeta>(kKeySpecs).subspan(cmd.first_key_spec, cmd.num_key_specs);
}
std::span<const ArgMeta> Args(const CommandMeta& cmd) {
  return std::span<const ArgMeta>(kArgs).subspan(cmd.first_arg, cmd.num_args);
}
std::span<const ArgMeta> SubArgs(const ArgMeta& arg) {
  return std::span<const ArgMeta>(kArgs).subspan(arg.first_sub, arg.num_subs);
}
std::span<const HistoryMeta> History(const CommandMeta& cmd) {
  return std::span<const HistoryMeta>(kHistory).subspan(cmd.first_history, cmd.num_history);
}
std::span<const CommandMeta> Subcommands(const CommandMeta& cmd) {
  return std::span<const CommandMeta>(kCommands).subspan(cmd.first_sub, cmd.num_subs);
}

std::vector<std::string_view> Tips(const CommandMeta& cmd) {
  std::vector<std::string_view> out;
  std::string_view rest = cmd.tips;
  while (!rest.empty()) {
    const size_t space = rest.find(' ');
    out.push_back(rest.substr(0, space));
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  return out;
}

uint32_t AclCategoryByName(std::string_view name) {
  for (size_t i = 0; i < std::size(kAclCategoryNames); ++i) {
    if (base::EqualsIgnoreCase(name, kAclCategoryNames[i])) return 1u << i;
  }
  return 0;
}

bool KeysFromSpecs(const CommandMeta& cmd, std::span<const std::string> args,
                   std::vector<FoundKey>* out) {
  out->clear();
  const int argc = static_cast<int>(args.size());
  for (const KeySpecMeta& spec : KeySpecs(cmd)) {
    if (spec.flags & kKeyNotKey) continue;  // channels and the like
    int first = 0;
    if (spec.bs_type == 1) {
      first = spec.bs_num;
    } else if (spec.bs_type == 2) {
      // The keyword, searched forwards from startfrom (or backwards from
      // the end when startfrom is negative); absent: this spec finds none.
      const bool forward = spec.bs_num > 0;
      const int start = forward ? spec.bs_num : argc + spec.bs_num;
      const int end = forward ? argc - 1 : 1;
      for (int i = start; i != end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1) break;
        if (base::EqualsIgnoreCase(args[i], spec.keyword)) {
          first = i + 1;
          break;
        }
      }
      if (first == 0) continue;
    } else {
      out->clear();
      return false;
    }
    int last = 0;
    int step = 1;
    if (spec.fk_type == 1) {  // range
      step = spec.b;
      if (spec.a >= 0) {
        last = first + spec.a;
      } else if (spec.c == 0) {
        last = argc + spec.a;
      } else {
        last = first + ((argc - first) / spec.c + spec.a);
      }
    } else if (spec.fk_type == 2) {  // keynum
      step = spec.c;
      if (spec.a >= argc || first + spec.a >= argc) {
        out->clear();
        return false;
      }
      int64_t numkeys = 0;
      if (!base::ParseStrictInt64(args[first + spec.a], &numkeys) || numkeys < 0 ||
          numkeys > argc) {
        out->clear();
        return false;
      }
      first += spec.b;
      last = first + static_cast<int>(numkeys) - 1;
    } else {
      out->clear();
      return false;
    }
    if (last >= argc || last < first || first >= argc) {
      out->clear();
      return false;
    }
    for (int i = first; i <= last; i += step) out->push_back(FoundKey{i, spec.flags});
    if (spec.flags & kKeyIncomplete) {
      out->clear();
      return false;
    }
  }
  return true;
}

}  // namespace shardnode::node::meta
