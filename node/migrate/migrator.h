// Migrator: MIGRATE's shell. Redis runs MIGRATE with blocking socket calls,
// so the whole server waits for the transfer (a 300 MB key stalls the node
// until its replicas fail it over: redis#3396). Here only the calling
// client waits:
//
//   1. the handler parses the arguments (migrate_plan.h), looks the keys up
//      (+NOKEY when none is here), marks them in flight (KeysInFlight: every
//      other command on them waits and runs again afterwards) and suspends
//      the client (suspend.h's kMigrate);
//   2. a coroutine serializes each value a slice at a time (ValueDumper),
//      letting the loop serve other clients between slices; a big value's
//      payload stays a list of chunks, one per slice, written to the
//      socket with scatter/gather (no buffer copied as it grows);
//   3. it sends AUTH / SELECT / RESTORE(-ASKING) on a connection cached per
//      "host:port" (as Redis: at most 64, closed after 10 s idle, each
//      remembering its selected db) through RespClient, and reads the
//      replies, reconnecting once when the connection broke before anything
//      was confirmed. Small values to a target with an idle cached
//      connection are serialized and written by the handler itself, in
//      one write, and the replies are read without waiting for the write
//      to complete: a small MIGRATE costs the round trip and two turns of
//      the loop (Redis blocks on its socket for it);
//   4. back on the loop, the keys the target acknowledged are deleted
//      (unless COPY) and propagated as one DEL, the keys leave the in-flight
//      set, the commands that waited for them run again, and the client
//      gets Redis's reply (+OK, +NOKEY, the target's error or IOERR).
//
// Inside MULTI/EXEC (Session::deny_blocking) a command cannot wait: the
// reply belongs in EXEC's array and no other client may run in the middle
// of the transaction. There MIGRATE does what Redis does for every MIGRATE:
// steps 2-3 run to the end on a private io_context on this thread (the
// whole node waits, bounded by the MIGRATE's timeout; a fresh connection,
// not a cached one), then the keys are deleted and the DEL propagates
// inside the transaction's MULTI/EXEC.
//
// Loop: the keyspace's io_context (one thread). Not thread-safe.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>
// The others.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace shardnode::node {

class Server;
struct CommandContext;
class RespClient;

namespace migrate {

struct MigrateReply;
struct BatchHeader;

// The client's error text for a failed MIGRATE (node/commands/errors.h's
// wording). REQUIRES: reply.kind != kOk.
std::string MigrateErrorText(const MigrateReply& reply);

class Migrator {
 public:
  static constexpr size_t kMaxCachedConnections = 64;
  static constexpr int64_t kIdleCloseMs = 10'000;
  // Elements (or 16 KiB string chunks) serialized per turn of the loop.
  static constexpr size_t kSliceBudget = 2048;
  // A batch up to this size is read back without waiting for its write to
  // complete (it goes out in one write); a bigger one is drained first.
  static constexpr size_t kNoDrainBatch = 64 * 1024;

  // REQUIRES: `io` and `server` outlive the migrator.
  Migrator(boost::asio::io_context& io, Server& server);
  ~Migrator();
  Migrator(const Migrator&) = delete;

  // The TLS context of MIGRATE's connections (tls-cluster yes, as Redis),
  // read at each connect; unset or nullptr: plain TCP.
  std::function<std::shared_ptr<boost::asio::ssl::context>()> tls_client;

  Migrator& operator=(const Migrator&) = delete;

  // Installs the MIGRATE handler (Server::migrate) and run_off_loop (a big
  // RESTORE's decoding), and starts closing idle cached connections.
  void Start();
  // Closes every cached connection and stops the sweep; work still running
  // off the loop is not finished.
  void Stop();

  // The MIGRATE command.
  void Handle(CommandContext& ctx, std::span<std::string> args);
  // NodeServices::RunOffLoop: `work` on a thread of its own, `finish`
  // posted back to the loop.
  void RunOffLoop(CommandContext& ctx, std::string_view key, std::function<void()> work,
                  std::function<void(CommandContext&)> finish);

  // Connections cached now (tests, INFO).
  size_t cached_connections() const { return cache_.size(); }

 private:
  struct Job;
  struct OffLoop;
  // Open while the loop takes work finished off it (closed by Stop).
  struct Gate {
    std::mutex mu;
    bool open = true;
  };
  struct Cached {
    std::shared_ptr<RespClient> client;
    int64_t last_db = -1;
    int64_t last_use_ms = 0;
    bool busy = false;
  };

  // The asynchronous MIGRATE: Transfer, then Finish.
  boost::asio::awaitable<void> Run(std::shared_ptr<Job> job);
  // MIGRATE inside MULTI/EXEC: Transfer run to the end on a private loop
  // (every other client waits, as for any MIGRATE in Redis), the keys
  // deleted and propagated with the transaction, the reply into EXEC's.
  void RunNow(CommandContext& ctx, std::shared_ptr<Job> job);
  // Serializes the values and sends them; fills job.reply and job.acked.
  boost::asio::awaitable<void> Transfer(std::shared_ptr<Job> job);
  // Serializes the job's values, a slice per turn of the loop.
  boost::asio::awaitable<void> Serialize(Job& job);
  // Before item `index` is serialized: false (and the item skipped) when
  // its key changed or its TTL passed, else its remaining TTL is set.
  bool Prepare(Job& job, size_t index);
  // The common case at once, in the handler: when the target has an idle
  // cached connection and every value is small (one step of the dumper),
  // serializes them and writes the batch (Send then reads the replies).
  // False, with nothing changed, otherwise.
  bool StartAtOnce(Job& job);
  // Queues the batch (AUTH, SELECT, the RESTOREs) on `client`; *drain
  // tells whether to wait for the write before reading the replies.
  absl::Status WriteBatch(Job& job, RespClient& client, const BatchHeader& header, bool* drain);
  // Serializes the value of job.items[index] into its payload (or marks
  // it skipped when the key changed meanwhile).
  boost::asio::awaitable<void> Dump(Job& job, size_t index);
  // Sends the batch and reads the replies; fills job.reply and job.acked.
  boost::asio::awaitable<void> Send(Job& job);
  // Deletes the keys the target acknowledged (unless COPY); returns the
  // DEL that propagates it (just "DEL" when none was deleted).
  std::vector<std::string> DeleteAcked(Job& job);
  // The end of an asynchronous MIGRATE: DeleteAcked, its DEL to the write
  // stream, the keys out of flight, the waiting commands retried, the
  // client's reply.
  void Finish(Job& job);
  void SweepIdle();
  // The end of RunOffLoop's work, on the loop.
  void FinishOffLoop(OffLoop& job);

  boost::asio::io_context& io_;
  Server& server_;
  boost::asio::steady_timer sweep_;
  bool stopped_ = false;
  std::map<std::string, Cached> cache_;
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
};

}  // namespace migrate
}  // namespace shardnode::node
