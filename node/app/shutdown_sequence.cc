#include "node/app/shutdown_sequence.h"

#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "node/config/config.h"
#include "node/persist/persistence.h"
#include "node/server/log.h"
#include "node/server/replication_control.h"
#include "node/server/server.h"
#include "node/server/session.h"
#include "node/server/suspend.h"

namespace shardnode::node {

ShutdownSequence::ShutdownSequence(Server& server, std::function<void(int flags)> stop,
                                   std::function<void()> cancelled)
    : server_(server), stop_(std::move(stop)), cancelled_(std::move(cancelled)) {}

void ShutdownSequence::OnSignal(int signo) { pending_signal_ = signo; }

int ShutdownSequence::SignalFlags(int signo) const {
  const std::string value =
      server_.config()
          .Value(signo == SIGINT ? "shutdown-on-sigint" : "shutdown-on-sigterm")
          .value_or("default");
  int flags = 0;
  for (absl::string_view word : absl::StrSplit(value, ' ', absl::SkipEmpty())) {
    if (word == "save") flags |= kShutdownSave;
    if (word == "nosave") flags |= kShutdownNoSave;
    if (word == "now") flags |= kShutdownNow;
    if (word == "force") flags |= kShutdownForce;
  }
  return flags;
}

bool ShutdownSequence::ReplicasCaughtUp(int64_t now_ms) const {
  const ReplicationControl* repl = server_.replication();
  if (repl == nullptr) return true;
  for (const ReplicationControl::ReplicaProgress& r : repl->Replicas(now_ms)) {
    if (r.behind != 0) return false;
  }
  return true;
}

ShutdownOutcome ShutdownSequence::Request(int flags, int64_t now_ms) {
  if (stopping_) return ShutdownOutcome::kStopping;
  if (deadline_ms_ != 0) return ShutdownOutcome::kWaiting;  // the first one goes on
  // A half-loaded dataset is never saved.
  if (server_.loading().active) flags = (flags & ~kShutdownSave) | kShutdownNoSave;
  flags_ = flags;
  Log(LogLevel::kWarning, "User requested shutdown...");
  int64_t timeout_s = 10;
  (void)absl::SimpleAtoi(server_.config().Value("shutdown-timeout").value_or("10"), &timeout_s);
  if ((flags & kShutdownNow) == 0 && timeout_s > 0 && !ReplicasCaughtUp(now_ms)) {
    deadline_ms_ = now_ms + timeout_s * 1000;
    // A pause already holding the stream (CLIENT PAUSE, a failover) keeps
    // the offset where it is: the replicas' own ACKs tell then.
    if (!server_.WritesPaused(now_ms) && server_.replication() != nullptr) {
      server_.replication()->RequestAcks();
    }
    server_.PauseClients(NodeServices::PausePurpose::kShutdown, INT64_MAX, false);
    Log(LogLevel::kNotice, "Waiting for replicas before shutting down.");
    return ShutdownOutcome::kWaiting;
  }
  return Finish(now_ms);
}

ShutdownOutcome ShutdownSequence::Finish(int64_t now_ms) {
  std::vector<ReplicationControl::ReplicaProgress> replicas;
  if (server_.replication() != nullptr) replicas = server_.replication()->Replicas(now_ms);
  int lagging = 0;
  for (const ReplicationControl::ReplicaProgress& r : replicas) {
    if (r.behind == 0) continue;
    ++lagging;
    Logf(LogLevel::kWarning,
         "Lagging replica %s reported offset %d behind master, lag=%d, state=%s.", r.name, r.behind,
         r.lag_s, r.state);
  }
  if (!replicas.empty()) {
    Logf(LogLevel::kNotice, "%d of %d replicas are in sync when shutting down.",
         static_cast<int>(replicas.size()) - lagging, static_cast<int>(replicas.size()));
  }
  const ShutdownMode mode = (flags_ & kShutdownSave)     ? ShutdownMode::kSave
                            : (flags_ & kShutdownNoSave) ? ShutdownMode::kNoSave
                                                         : ShutdownMode::kDefault;
  persist::Persistence* persistence = server_.persistence();
  if (persistence != nullptr &&
      !persistence->PrepareShutdown(mode, (flags_ & kShutdownForce) != 0, now_ms)) {
    Log(LogLevel::kWarning,
        "Errors trying to shut down the server. Check the logs for more information.");
    Cancel();
    return ShutdownOutcome::kFailed;
  }
  stopping_ = true;
  deadline_ms_ = 0;
  stop_(flags_);
  return ShutdownOutcome::kStopping;
}

void ShutdownSequence::Cancel() {
  pending_signal_ = 0;
  flags_ = 0;
  deadline_ms_ = 0;
  std::vector<Session*> blocked;
  for (const auto& [id, session] : server_.clients()) {
    if (session->waiting == WaitReason::kShutdown) blocked.push_back(session);
  }
  for (Session* session : blocked) {
    Complete(*session, "-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
  }
  server_.UnpauseClients(NodeServices::PausePurpose::kShutdown);
  if (cancelled_) cancelled_();
}

bool ShutdownSequence::Abort() {
  if (stopping_) return false;
  if (deadline_ms_ != 0) {
    Cancel();
  } else if (pending_signal_ != 0) {
    // A signal's shutdown not begun yet: forgetting it is enough.
    pending_signal_ = 0;
    if (cancelled_) cancelled_();
  } else {
    return false;
  }
  Log(LogLevel::kNotice, "Shutdown manually aborted.");
  return true;
}

void ShutdownSequence::Tick(int64_t now_ms) {
  if (stopping_) return;
  if (deadline_ms_ != 0) {
    if (now_ms >= deadline_ms_ || ReplicasCaughtUp(now_ms)) (void)Finish(now_ms);
  } else if (pending_signal_ != 0) {
    // Kept while the replicas are waited for; a failure forgets it (Cancel).
    (void)Request(SignalFlags(pending_signal_), now_ms);
  }
}

}  // namespace shardnode::node
