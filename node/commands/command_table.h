// CommandTable: every command the node knows, looked up case-insensitively.
// Built once at start-up by the families' Register functions, then read-only
// (safe to read from any thread).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "node/commands/command.h"

namespace shardnode::node {

class CommandTable {
 public:
  CommandTable() = default;
  CommandTable(const CommandTable&) = delete;
  CommandTable& operator=(const CommandTable&) = delete;

  // Adds an entry; one with only a bound_handler gets CallBoundHandler as
  // its handler, one with only a fan_out FanOutHandler (subcommands too).
  // REQUIRES: no entry of that name yet; a handler, a bound_handler or a
  // fan_out.
  void Register(CommandSpec spec);

  // nullptr when unknown. `name` in any case.
  const CommandSpec* Find(std::string_view name) const;
  // The subcommand entry of `parent`, or nullptr.
  static const CommandSpec* FindSub(const CommandSpec& parent, std::string_view sub);

  // Every top-level command, in registration order (a removed one left out).
  const std::vector<std::unique_ptr<CommandSpec>>& all() const { return commands_; }

  // rename-command (config file): `from` is found as `to` from now on (its
  // spec keeps its name, as Redis's fullname: INFO commandstats and COMMAND
  // show the original); an empty `to` removes it (its spec stays allocated,
  // unlisted). Returns Redis's error text, or "" on success: "No such
  // command in rename-command", "Target command name already exists".
  // REQUIRES: before any command runs (the table is read-only after).
  std::string Rename(std::string_view from, std::string_view to);

  // How many CommandSpec::stats_index values Register gave out.
  int num_stats_indexes() const { return next_stats_index_; }

 private:
  // Gives `spec` and its subcommands their stats_index.
  void AssignStatsIndexes(CommandSpec& spec);

  std::vector<std::unique_ptr<CommandSpec>> commands_;
  std::vector<std::unique_ptr<CommandSpec>> removed_;  // rename-command X ""

  absl::flat_hash_map<std::string, CommandSpec*> by_name_;
  int next_stats_index_ = 0;
};

// One line per disagreement between the table's entries and what Redis
// 7.0.15 says of the same commands (command_meta.h): arity, flags
// (movablekeys: an entry with a key function), first/last/step, or a
// command Redis does not have. Empty when they agree; COMMAND replies with
// Redis's facts, so a disagreement means the dispatcher treats the command
// unlike Redis (data_node.cc logs them at start-up; command_meta_test).
std::vector<std::string> DisagreementsWithRedis(const CommandTable& table);

// Builds the table with every family of node/commands registered. The
// replication commands are added by node/repl once its manager exists
// (node/repl/repl_commands.h).
std::unique_ptr<CommandTable> BuildCommandTable();

}  // namespace shardnode::node
