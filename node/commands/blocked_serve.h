// Serving blocked clients: after a command changed keys that clients wait
// for (BlockingTable's ready keys), each such client is served from the key,
// first blocked first, through the ServeFn its command registered (the pop
// side of BLPOP, BLMOVE, BZPOPMIN...), and its reply is pushed to it. What a
// served client writes (BLMOVE's push) may make more keys ready; serving goes
// on until none is left, as Redis's handleClientsBlockedOnKeys.
//
// Loop: the loop that owns the sessions and the keyspace.
#pragma once

#include <cstdint>

#include "node/server/blocking.h"

namespace shardnode::node {

class Server;

// Serves every client waiting on a ready key. Called by the dispatcher after
// each top-level command (a whole EXEC counts as one). `now_ms` is the wall
// clock.
void ServeBlockedClients(Server& server, int64_t now_ms);

// The blocking pops' UnblockReplyFn: a null array when they time out, and
// Redis's error text (errors.h) for every other outcome ("UNBLOCKED ...",
// "CLUSTERDOWN ...", "MOVED ..."). Their commands set it on their
// BlockedClient.
void ReplyUnblockedPop(resp::ReplyBuilder& reply, const UnblockOutcome& outcome);

}  // namespace shardnode::node
