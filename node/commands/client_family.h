// The pieces of CLIENT that the data node (client_family.cc) and the
// sentinel (node/app/sentinel_node.cc) share: argument parsing and the
// replies that depend only on the client's own Session.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "node/resp/reply.h"
#include "node/server/session.h"
#include "node/server/tracking.h"

namespace shardnode::node {

// CLIENT PAUSE timeout [WRITE|ALL]: the pause's end (`now_ms` + timeout) and
// whether it holds every command. Replies Redis's error and returns false
// when an argument is bad.
bool ParseClientPause(resp::ReplyBuilder& r, std::span<const std::string> args, int64_t now_ms,
                      int64_t* end_ms, bool* all);

// CLIENT REPLY ON|OFF|SKIP on `s`: ON takes effect for its own reply, OFF at
// once (the builder is silenced).
void ClientReplyMode(Session& s, resp::ReplyBuilder& r, std::span<const std::string> args);

// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN]
// [OPTOUT] [NOLOOP] for `s`; a REDIRECT target must be in `clients`.
void ClientTrackingCommand(Tracking& tracking, const std::map<uint64_t, Session*>& clients,
                           Session& s, resp::ReplyBuilder& r, std::span<const std::string> args);

// CLIENT CACHING YES|NO, CLIENT GETREDIR, CLIENT TRACKINGINFO.
void ClientCachingCommand(Session& s, resp::ReplyBuilder& r, std::span<const std::string> args);
void ReplyTrackingRedirect(const Session& s, resp::ReplyBuilder& r);
void ReplyTrackingInfo(const Session& s, resp::ReplyBuilder& r);

// CLIENT HELP's subcommand lines (between the header and HELP).
std::span<const std::string_view> ClientHelpLines();

}  // namespace shardnode::node
