// The persistence commands (persist_family.cc): SAVE, BGSAVE, DUMP, RESTORE,
// RESTORE-ASKING, and the DEBUG subcommands that work on the dataset as a
// whole (RELOAD, POPULATE, DIGEST, DIGEST-VALUE, SET-ACTIVE-EXPIRE). The
// files themselves are node/persist's.
//
// Loop: the control loop, like every handler.
#pragma once

#include "node/commands/command.h"

namespace shardnode::node {

class CommandTable;

void RegisterPersistFamily(CommandTable& table);

// Runs `DEBUG <sub> ...` when <sub> is one of this family's; returns false
// (without replying) otherwise.
bool PersistDebug(CommandContext& ctx, Args args);

}  // namespace shardnode::node
