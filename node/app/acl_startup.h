// The ACL users a node starts with (data node and sentinel alike), loaded
// from its config as Redis 7.0.15 does at startup.
#pragma once

#include <vector>

#include "node/acl/acl.h"

namespace shardnode::node {

class Config;

// Installs `catalog` (the node's command table as the ACL sees it), then
// applies, in Redis's order, requirepass (the default user's password), the
// config file's `user` lines, then the aclfile (the two are exclusive).
// Returns 0, or the exit code after printing or logging Redis's message.
int LoadAclUsers(acl::Acl& a, std::vector<acl::CommandEntry> catalog, const Config& config);

}  // namespace shardnode::node
