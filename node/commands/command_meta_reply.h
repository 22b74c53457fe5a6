// COMMAND INFO and COMMAND DOCS replies built from the meta table
// (command_meta.h): the pieces the data node's COMMAND (command_family.cc)
// and the sentinel's (node/app/sentinel_node.cc) share.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "node/commands/command_meta.h"
#include "node/resp/reply.h"

namespace shardnode::node::meta {

// A set of the names in `names` whose bit is in `bits` (prefixed), as simple
// strings.
void ReplyFlagSet(resp::ReplyBuilder& r, uint32_t bits, std::span<const std::string_view> names,
                  std::string_view prefix = {});

// COMMAND INFO's fields after the name and before the subcommands: arity,
// flags, first/last key, step, ACL categories, tips, key specs (8 values).
void ReplyInfoFields(resp::ReplyBuilder& r, const CommandMeta& m);
// A whole COMMAND INFO entry with the table's subcommands.
void ReplyInfo(resp::ReplyBuilder& r, const CommandMeta& m);

// How many fields COMMAND DOCS's map of `m` has without "subcommands", and
// those fields (summary, since, group, complexity, ... arguments).
int DocsFieldCount(const CommandMeta& m);
void ReplyDocsFields(resp::ReplyBuilder& r, const CommandMeta& m);
// A whole COMMAND DOCS entry (the name, then the map) with the table's
// subcommands.
void ReplyDocs(resp::ReplyBuilder& r, const CommandMeta& m);

// Redis's addReplyHelp on a bare builder: "<COMMAND> <subcommand> ...
// Subcommands are:", `lines`, then the HELP entry every container ends with.
void ReplyHelpLines(resp::ReplyBuilder& r, std::string_view command,
                    std::span<const std::string_view> lines);
// The subcommand lines of COMMAND HELP and ACL HELP (between the header and
// HELP), which the data node and the sentinel both answer.
std::span<const std::string_view> CommandHelpLines();
std::span<const std::string_view> AclHelpLines();

}  // namespace shardnode::node::meta
