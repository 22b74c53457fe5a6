#include "node/commands/command_table.h"

#include <cassert>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/commands/command_meta.h"
#include "node/commands/dispatcher.h"
#include "node/commands/families.h"
#include "node/commands/fan_out.h"
#include "node/commands/persist_family.h"

namespace shardnode::node {

namespace {

// Gives an entry (and its subcommands) without a plain handler the one that
// calls what it has instead.
void CompleteHandlers(CommandSpec& spec) {
  // An entry with state is called through the same pointer as the others.
  if (spec.handler == nullptr && spec.bound_handler) spec.handler = CallBoundHandler;
  // The dispatcher runs a fan-out itself; the handler is there for callers
  // that only know handlers.
  if (spec.handler == nullptr && spec.fan_out != nullptr) spec.handler = FanOutHandler;
  for (CommandSpec& sub : spec.subcommands) CompleteHandlers(sub);
}

// The CommandSpec flags that COMMAND INFO shows, by meta bit.
uint32_t SpecFlagsAsMeta(const CommandSpec& spec) {
  static const std::pair<uint32_t, uint32_t> kMap[] = {
      {kCmdWrite, meta::kWrite},
      {kCmdReadonly, meta::kReadonly},
      {kCmdDenyOom, meta::kDenyOom},
      {kCmdAdmin, meta::kAdmin},
      {kCmdPubSub, meta::kPubSub},
      {kCmdNoScript, meta::kNoScript},
      {kCmdBlocking, meta::kBlocking},
      {kCmdLoading, meta::kLoading},
      {kCmdStale, meta::kStale},
      {kCmdSkipMonitor, meta::kSkipMonitor},
      {kCmdSkipSlowlog, meta::kSkipSlowlog},
      {kCmdAsking, meta::kAsking},
      {kCmdFast, meta::kFast},
      {kCmdNoAuth, meta::kNoAuth},
      {kCmdNoMandatoryKeys, meta::kNoMandatoryKeys},
      {kCmdNoAsyncLoading, meta::kNoAsyncLoading},
      {kCmdNoMulti, meta::kNoMulti},
      {kCmdAllowBusy, meta::kAllowBusy}};
  uint32_t out = 0;
  for (const auto& [ours, theirs] : kMap) {
    if (spec.flags & ours) out |= theirs;
  }
  if (spec.keys != nullptr) out |= meta::kMovableKeys;
  return out;
}

std::string FlagList(uint32_t bits) {
  std::vector<std::string> names;
  for (size_t i = 0; i < std::size(meta::kFlagNames); ++i) {
    if (bits & (1u << i)) names.emplace_back(meta::kFlagNames[i]);
  }
  return absl::StrJoin(names, ",");
}

// Commands beyond Redis 7.0.15, on purpose: atomic slot migration under
// Valkey 9.0's names (node/migrate/atomic_migrator.h).
bool BeyondRedis(std::string_view name) {
  return name == "cluster|migrateslots" || name == "cluster|getslotmigrations" ||
         name == "cluster|cancelslotmigrations" || name == "cluster|syncslots";
}

// Adds a line per disagreement between `spec` (and its subcommands) and
// Redis's facts.
void CheckAgainstMeta(const CommandSpec& spec, std::vector<std::string>* out) {
  const meta::CommandMeta* m = meta::Find(spec.name);
  if (m == nullptr && BeyondRedis(spec.name)) return;
  if (m == nullptr) {
    out->push_back(absl::StrCat(spec.name, ": not a Redis 7.0.15 command"));
    return;
  }
  if (spec.arity != m->arity) {
    out->push_back(absl::StrCat(spec.name, ": arity ", spec.arity, ", Redis ", m->arity));
  }
  const uint32_t ours = SpecFlagsAsMeta(spec);
  const uint32_t theirs = m->flags & ~meta::kModule;
  if (ours != theirs) {
    out->push_back(absl::StrCat(spec.name, ": flags only here [", FlagList(ours & ~theirs),
                                "], only in Redis [", FlagList(theirs & ~ours), "]"));
  }
  // Movable-key entries find their keys by function; their triple is not
  // used for routing.
  if (spec.keys == nullptr && (spec.first_key != m->first_key || spec.last_key != m->last_key ||
                               spec.key_step != m->key_step)) {
    out->push_back(absl::StrCat(spec.name, ": first/last/step ", spec.first_key, "/", spec.last_key,
                                "/", spec.key_step, ", Redis ", m->first_key, "/", m->last_key, "/",
                                m->key_step));
  }
  for (const CommandSpec& sub : spec.subcommands) CheckAgainstMeta(sub, out);
}

}  // namespace

void CommandTable::AssignStatsIndexes(CommandSpec& spec) {
  spec.stats_index = next_stats_index_++;
  for (CommandSpec& sub : spec.subcommands) AssignStatsIndexes(sub);
}

void CommandTable::Register(CommandSpec spec) {
  CompleteHandlers(spec);
  AssignStatsIndexes(spec);
  auto owned = std::make_unique<CommandSpec>(std::move(spec));
  CommandSpec* raw = owned.get();
  const bool inserted = by_name_.emplace(raw->name, raw).second;
  assert(inserted && "command registered twice");
  (void)inserted;
  commands_.push_back(std::move(owned));
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  // Command names are short; lower-casing into a small buffer avoids an
  // allocation on the hot path for the common case.
  char buf[32];
  if (name.size() <= sizeof(buf)) {
    for (size_t i = 0; i < name.size(); ++i) buf[i] = absl::ascii_tolower(name[i]);
    auto it = by_name_.find(absl::string_view(buf, name.size()));
    return it == by_name_.end() ? nullptr : it->second;
  }
  return nullptr;  // no command name is that long
}

std::string CommandTable::Rename(std::string_view from, std::string_view to) {
  auto it = by_name_.find(absl::AsciiStrToLower(std::string(from)));
  if (it == by_name_.end()) return "No such command in rename-command";
  CommandSpec* spec = it->second;
  by_name_.erase(it);
  if (to.empty()) {
    for (auto c = commands_.begin(); c != commands_.end(); ++c) {
      if (c->get() == spec) {
        removed_.push_back(std::move(*c));
        commands_.erase(c);
        break;
      }
    }
    return "";
  }
  if (!by_name_.emplace(absl::AsciiStrToLower(std::string(to)), spec).second) {
    return "Target command name already exists";
  }
  return "";
}

const CommandSpec* CommandTable::FindSub(const CommandSpec& parent, std::string_view sub) {
  std::string full = parent.name + "|";
  for (char c : sub) full += absl::ascii_tolower(c);
  for (const CommandSpec& s : parent.subcommands) {
    if (s.name == full) return &s;
  }
  return nullptr;
}

std::vector<std::string> DisagreementsWithRedis(const CommandTable& table) {
  std::vector<std::string> out;
  for (const auto& spec : table.all()) CheckAgainstMeta(*spec, &out);
  return out;
}

std::unique_ptr<CommandTable> BuildCommandTable() {
  auto table = std::make_unique<CommandTable>();
  Dispatcher::RegisterTransactionCommands(*table);
  RegisterServerFamily(*table);
  RegisterInfoFamily(*table);
  RegisterMonitoringFamily(*table);
  RegisterMemoryFamily(*table);
  RegisterLolwutFamily(*table);
  RegisterClientFamily(*table);
  RegisterCommandFamily(*table);
  RegisterDebugFamily(*table);
  RegisterPersistFamily(*table);
  RegisterStringFamily(*table);
  RegisterGenericFamily(*table);
  RegisterConfigFamily(*table);
  RegisterClusterFamily(*table);
  RegisterPubSubFamily(*table);
  RegisterHashFamily(*table);
  RegisterSetFamily(*table);
  RegisterZSetFamily(*table);
  RegisterListFamily(*table);
  RegisterBitopsFamily(*table);
  RegisterHllFamily(*table);
  RegisterGeoFamily(*table);
  RegisterSortFamily(*table);
  RegisterCopyFamily(*table);
  RegisterStreamFamily(*table);
  RegisterAclFamily(*table);
  return table;
}

}  // namespace shardnode::node
