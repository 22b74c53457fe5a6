// The pure part of MIGRATE (Redis 7.0.15's migrateCommand, spec section
// 14.1): parsing its arguments, encoding the pipeline sent to the target,
// and folding the target's replies into the outcome (which keys the target
// acknowledged, the reply for the client, whether to retry on a fresh
// connection). No sockets, clock or keyspace: the shell (node/migrate's
// MigrateRunner) looks the keys up, makes the DUMP payloads, moves the bytes
// and carries the outcome out.
//
// Loop: none (pure values).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace shardnode::node::migrate {

// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
//         [AUTH password] [AUTH2 username password] [KEYS key ...]
struct MigrateArgs {
  std::string host;
  std::string port;  // as given: the connection cache is keyed by "host:port"
  int64_t db = 0;
  int64_t timeout_ms = 1000;  // a timeout <= 0 becomes 1000 ms, as in Redis
  bool copy = false;
  bool replace = false;
  std::optional<std::string> username;  // AUTH2
  std::optional<std::string> password;  // AUTH or AUTH2
  // Indexes of the key arguments: {3}, or those after KEYS.
  std::vector<int> key_indexes;

  // "host:port", the connection cache's key.
  std::string Target() const { return host + ":" + port; }
};

enum class ArgsError {
  kNone,
  kSyntax,          // ERR syntax error
  kKeysWithKeyArg,  // KEYS given while argument 3 is not empty
  kNotInteger,      // timeout or db is not an integer
};

// Parses args (args[0] = "MIGRATE"; REQUIRES: at least 6 arguments, the
// command's arity). Options are checked before the integers, as in Redis.
// The shell words the error (node/commands/errors.h).
ArgsError ParseMigrateArgs(std::span<const std::string> args, MigrateArgs* out);

// One key to send: its name, the remaining TTL in ms (0: no expiry; at
// least 1 otherwise) and its DUMP payload.
struct KeyToSend {
  std::string key;
  int64_t ttl_ms = 0;
  std::string payload;
};

// What one batch sends before the RESTOREs.
struct BatchHeader {
  bool auth = false;    // AUTH [user] password first
  bool select = false;  // SELECT db (the cached connection is on another db)
};

// Encodes the AUTH / SELECT prefix of a batch (RESP, as Redis writes it).
std::string EncodeBatchPrefix(const MigrateArgs& args, const BatchHeader& header);
// Encodes one RESTORE-ASKING (cluster mode) or RESTORE command for a key,
// with REPLACE when the MIGRATE asked for it.
std::string EncodeRestore(const MigrateArgs& args, const KeyToSend& key, bool cluster_mode);
// The same command in three parts, so that a big payload is not copied
// into the command: the head (up to the payload's bulk header), the
// payload itself, then the tail.
std::string EncodeRestoreHead(const MigrateArgs& args, std::string_view key, int64_t ttl_ms,
                              size_t payload_size, bool cluster_mode);
std::string EncodeRestoreTail(const MigrateArgs& args);

// One reply line from the target: the first byte says whether it is an
// error ('-'); only the text matters for errors.
struct TargetReply {
  bool error = false;
  std::string text;  // without the leading type byte
};

// How a batch ended.
struct BatchOutcome {
  // Indexes (into the batch's keys) the target acknowledged, in order: they
  // are deleted locally unless COPY.
  std::vector<size_t> acked;
  // The first error the target replied with (AUTH's, SELECT's or a
  // RESTORE's), for "ERR Target instance replied with error: <text>".
  std::optional<std::string> target_error;
  // The connection failed before all replies arrived.
  bool io_error = false;
  bool io_error_writing = false;  // the failure was while writing
  bool timed_out = false;
  // Retry once on a fresh connection (Redis's may_retry): the failure came
  // before any reply was read, was not a timeout, and this was the first
  // attempt.
  bool retry = false;
  // The cached connection's db after the batch: `db` on full success, -1
  // (unknown: SELECT next time) after an error of any kind.
  int64_t cached_db = -1;
};

// Folds the replies of one batch. `replies` holds the replies read, in
// order: AUTH's (if header.auth), SELECT's (if header.select), then one per
// key; fewer than expected when `io_failure` (the connection broke or timed
// out while writing or reading).
struct IoFailure {
  bool happened = false;
  bool writing = false;
  bool timeout = false;
};
BatchOutcome FoldReplies(const MigrateArgs& args, const BatchHeader& header, size_t num_keys,
                         std::span<const TargetReply> replies, IoFailure io_failure,
                         bool first_attempt);

// What the client is told: +OK or one of Redis's MIGRATE errors. The shell
// words it (node/commands/errors.h): cores below node/commands return
// outcomes, never client error texts.
struct MigrateReply {
  enum class Kind {
    kOk,
    kTargetError,     // ERR Target instance replied with error: <target_error>
    kIoErrorWriting,  // IOERR error or timeout writing to target instance
    kIoErrorReading,  // IOERR error or timeout reading to target instance
    kConnectTimeout,  // IOERR error or timeout connecting to the client
  };
  Kind kind = Kind::kOk;
  std::string target_error;  // kTargetError: the target's error, without '-'
};
MigrateReply ReplyFor(const BatchOutcome& outcome);

}  // namespace shardnode::node::migrate
