// Suspended commands: the one way a client's command waits and is resumed
// later, its reply written where it belongs in the client's reply stream.
//
// A command that cannot answer now suspends its session with a WaitReason
// (session.h) and sends no reply: blocking pops (kKeys, BlockingTable
// holds what they wait for), WAIT (kReplicas), MIGRATE (kMigrate), a
// command held by CLIENT PAUSE or a manual failover (kPause), a command
// whose keys a MIGRATE has in flight (kKeysBusy), a SHUTDOWN waiting for
// lagging replicas (kShutdown, node/app/shutdown_sequence.h) and, at
// `threads N` > 1, a command reporting on other clients waiting for the
// shard threads to deliver their input (kInputFence). While the session waits,
// the net shell executes none of its later pipelined commands, so replies
// stay in request order. The wait ends one of two ways:
//   - Complete(session, reply): the command's reply (encoded RESP) is
//     written now, then the client's pending input runs (blocking pops,
//     WAIT, MIGRATE);
//   - Retry(session): the command runs again from the start, as if it had
//     just arrived (the net shell kept it): after a pause, once the keys
//     are no longer in flight, or once the input fence passed.
// Either way the session's input resumes on a later turn of its loop
// (Session::resume posts), never inside the caller.
//
// Loop: the loop that owns the session.
#pragma once

#include <string_view>

#include "node/server/session.h"

namespace shardnode::node {

// Marks the session's current command as waiting for `reason`.
// REQUIRES: !session.suspended(), reason != kNone.
void Suspend(Session& session, WaitReason reason);

// Ends the wait with `reply` (encoded RESP bytes, written in request order)
// and resumes the session's input. No-op when the session is not
// suspended.
void Complete(Session& session, std::string_view reply);

// Ends the wait by running the suspended command again (RetriedOnResume).
// No-op when the session is not suspended.
void Retry(Session& session);

// Whether the reason's command is run again when the wait ends (the net
// shell keeps such a command; the others already consumed theirs).
constexpr bool RetriedOnResume(WaitReason reason) {
  return reason == WaitReason::kPause || reason == WaitReason::kKeysBusy ||
         reason == WaitReason::kInputFence;
}

}  // namespace shardnode::node
