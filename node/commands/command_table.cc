#include "node/commands/command_table.h"

#include <cassert>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
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

}  // namespace

void CommandTable::Register(CommandSpec spec) {
  CompleteHandlers(spec);
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

const CommandSpec* CommandTable::FindSub(const CommandSpec& parent, std::string_view sub) {
  std::string full = parent.name + "|";
  for (char c : sub) full += absl::ascii_tolower(c);
  for (const CommandSpec& s : parent.subcommands) {
    if (s.name == full) return &s;
  }
  return nullptr;
}

std::unique_ptr<CommandTable> BuildCommandTable() {
  auto table = std::make_unique<CommandTable>();
  Dispatcher::RegisterTransactionCommands(*table);
  RegisterServerFamily(*table);
  RegisterInfoFamily(*table);
  RegisterMemoryFamily(*table);
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
  return table;
}

}  // namespace shardnode::node
