#include "node/server/suspend.h"

namespace shardnode::node {

void Suspend(Session& session, WaitReason reason) { session.waiting = reason; }

void Complete(Session& session, std::string_view reply) {
  if (!session.suspended()) return;
  session.waiting = WaitReason::kNone;
  if (session.push) session.push(reply);
  if (session.resume) session.resume();
}

void Retry(Session& session) {
  if (!session.suspended()) return;
  session.waiting = WaitReason::kNone;
  if (session.resume) session.resume();
}

}  // namespace shardnode::node
