// The glue between the ACL core (node/acl) and the command layer: the
// command catalog it is given (from the generated meta table), the check of
// one invocation for a session (used by the dispatcher's admission step, by
// EXEC and by scripts), the ACL LOG entry and NOPERM error of a refusal,
// and the fate of the clients of a user that was removed or changed.
// The ACL command itself is registered by RegisterAclFamily (families.h).
//
// Loop: the node's main loop.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "node/acl/acl.h"

namespace shardnode::node {

class NodeServices;
struct CommandSpec;
struct Session;

// Redis's command table as the ACL sees it: every command and subcommand of
// Redis 7.0.15 (meta), with its ACL categories.
std::vector<acl::CommandEntry> AclCatalog();

// Whether `user` may run `spec` (subcommand resolved) with `args`; kOk for
// the node's own clients (nullptr user).
acl::CheckResult AclCheck(const acl::Acl& acl, const acl::User* user, const CommandSpec& spec,
                          std::span<const std::string> args);

// Whether `session`'s user may run `spec` with `args` through a selector
// that also reads every key (%R~* or ~*): SORT's BY and GET.
bool AclFullReadAccess(NodeServices& node, const Session& session, const CommandSpec& spec,
                       std::span<const std::string> args);

// Adds the ACL LOG entry of a refusal (Redis's addACLLogEntry): `session`
// is the client reported (a script's caller), `user` the one refused.
void AclLogDenial(NodeServices& node, const Session& session, const acl::User& user,
                  acl::CheckResult r, acl::LogContext context, const CommandSpec& spec,
                  std::span<const std::string> args, int64_t now_ms);
// A failed AUTH / HELLO AUTH of `username` (reason "auth", object args[0]).
void AclLogAuthFailure(NodeServices& node, const Session& session, std::string_view username,
                       std::string_view command, int64_t now_ms);

// The NOPERM error of a refused command, as processCommand words it.
std::string NoPermError(acl::CheckResult r, const CommandSpec& spec);
// Redis's getAclErrorMessage (scripts: "The user executing the script ...").
std::string_view AclErrorMessage(acl::Verdict v);

// After `user` was dropped (ACL DELUSER, ACL LOAD): its clients go, as in
// Redis (the current one after its reply). REQUIRES: `user` still alive.
void DropClientsOfUser(NodeServices& node, Session* current, const acl::User* user);
// After `user`'s rules changed from `before`: its Pub/Sub clients that
// lost a channel go.
void DropRevokedSubscribers(NodeServices& node, Session* current, const acl::User& user,
                            const acl::User& before);

}  // namespace shardnode::node
