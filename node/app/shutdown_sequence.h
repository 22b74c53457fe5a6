// ShutdownSequence: how a data node stops, as Redis 7.0's prepareForShutdown,
// finishShutdown and abortShutdown do it.
//
// A shutdown comes from SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] or from a stop
// signal (SIGTERM, SIGINT), whose options are shutdown-on-sigterm /
// shutdown-on-sigint's, carried out by the cron's next tick. Unless NOW is
// given or shutdown-timeout is 0, a primary whose replicas have not all
// acknowledged its whole stream first waits for them: writes are paused
// (NodeServices::PausePurpose::kShutdown), the replicas are asked for their
// offsets (REPLCONF GETACK), and each tick checks whether they caught up or
// the timeout passed; the SHUTDOWN clients stay blocked meanwhile. Then the
// final step logs the replicas still behind, flushes the AOF and saves the
// RDB (node/persist's Persistence::PrepareShutdown) and stops the node.
// When that step fails (a save error without FORCE, the first AOF rewrite
// still running) or SHUTDOWN ABORT cancels the wait, every blocked SHUTDOWN
// client gets "Errors trying to SHUTDOWN. Check logs." and writes resume.
//
// Loop: the control loop (the cron, the command handlers). Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>

#include "node/server/node_services.h"

namespace shardnode::node {

class Server;

class ShutdownSequence {
 public:
  // `stop` stops the node once the current command is answered (the final
  // step succeeded); `cancelled` runs when a requested shutdown is dropped
  // (aborted or failed), so that a later SIGINT is a first one again.
  // REQUIRES: `server` outlives the sequence.
  ShutdownSequence(Server& server, std::function<void(int flags)> stop,
                   std::function<void()> cancelled);

  // A stop signal arrived (from the signal handler's posted callback): the
  // next Tick begins the shutdown with the signal's configured options.
  void OnSignal(int signo);

  // SHUTDOWN and the signals' shutdown (NodeServices::RequestShutdown).
  ShutdownOutcome Request(int flags, int64_t now_ms);

  // SHUTDOWN ABORT: false when no shutdown was requested or waiting.
  bool Abort();

  // The cron, every tick that is not paused (DEBUG PAUSE-CRON): begins a
  // signal's shutdown, or ends the wait for the replicas.
  void Tick(int64_t now_ms);

  // When the wait for the replicas ends (ms); 0 when not waiting.
  int64_t deadline_ms() const { return deadline_ms_; }
  // Whether the node is stopping (the final step succeeded).
  bool stopping() const { return stopping_; }

 private:
  // Every replica acknowledged the whole stream (Redis's isReadyToShutdown).
  bool ReplicasCaughtUp(int64_t now_ms) const;
  // The final step (Redis's finishShutdown).
  ShutdownOutcome Finish(int64_t now_ms);
  // Drops the requested shutdown: blocked SHUTDOWN clients get an error and
  // writes resume (Redis's cancelShutdown).
  void Cancel();
  // The flags of shutdown-on-sigterm / shutdown-on-sigint's value.
  int SignalFlags(int signo) const;

  Server& server_;
  std::function<void(int flags)> stop_;
  std::function<void()> cancelled_;
  int pending_signal_ = 0;   // a signal's shutdown, not yet begun (Redis's shutdown_asap)
  int flags_ = 0;            // the options of the shutdown waiting
  int64_t deadline_ms_ = 0;  // 0: no shutdown waiting
  bool stopping_ = false;
};

}  // namespace shardnode::node
