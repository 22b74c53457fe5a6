// ReplicaHandshake: the replica's side of the replication handshake as a pure
// state machine, from the TCP connection being up to the PSYNC answer, and
// the parsing of the full-sync payload header that follows +FULLRESYNC.
//
// Sequence (Redis 7.0.15): send PING; on its reply send, pipelined, AUTH
// (when masterauth is set), REPLCONF listening-port, REPLCONF ip-address
// (when announced), REPLCONF capa eof capa psync2 (plus our capa
// shardnode-setslot, which redis-server ignores); read their replies in that
// order (an AUTH error aborts, REPLCONF errors are tolerated); then send
// PSYNC <cached id> <cached offset + 1>, or PSYNC ? -1, and read the answer.
// Empty lines (the master's keepalive newlines) are skipped everywhere.
//
// The shell feeds each reply line (without CRLF) to OnLine() and writes what
// the returned step says. Pure: no I/O, no clock. Loop: the replica link's.
#ifndef SHARDNODE_REPLICATION_HANDSHAKE_H_
#define SHARDNODE_REPLICATION_HANDSHAKE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"

namespace shardnode::replication {

// The capability a shardnode replica announces: it applies CLUSTER SETSLOT
// arriving in its primary's stream (node/server/replication_control.h).
inline constexpr std::string_view kCapaSetSlot = "shardnode-setslot";

struct HandshakeConfig {
  std::string masteruser;   // AUTH <user> <pass> when set with masterauth
  std::string masterauth;   // empty: no AUTH
  int listening_port = 0;   // REPLCONF listening-port
  std::string announce_ip;  // REPLCONF ip-address when non-empty
  // The history to continue: PSYNC <cached_replid> <cached_offset + 1>.
  // Empty id: PSYNC ? -1 (full sync).
  std::string cached_replid;
  int64_t cached_offset = -1;
  // FAILOVER (a primary handing over to this replica target): PSYNC ends
  // with FAILOVER, which makes the target a primary first.
  bool failover = false;
};

class ReplicaHandshake {
 public:
  enum class State {
    kReceivePong,
    kReceiveAuth,
    kReceivePort,
    kReceiveIp,
    kReceiveCapa,
    kReceivePsync,
    kDone,
  };
  enum class Result {
    kPending,     // keep reading lines (after sending `send`)
    kFullResync,  // +FULLRESYNC: replid/offset set; the payload follows
    kContinue,    // +CONTINUE [id]: new_replid set when the id changed
    kRetryLater,  // -NOMASTERLINK / -LOADING: drop the link and retry
    kError,       // anything else: drop the link and retry; error says why
  };
  struct Step {
    Result result = Result::kPending;
    std::string send;        // RESP bytes to write to the master now
    std::string replid;      // kFullResync: the master's id
    int64_t offset = 0;      // kFullResync: the master's offset
    std::string new_replid;  // kContinue: the id given by a PSYNC2 master
    std::string error;       // kError / kRetryLater: the reason, for the log
  };

  explicit ReplicaHandshake(HandshakeConfig config);

  // The bytes to send once connected (the PING).
  std::string Start();
  // One reply line from the master. REQUIRES: state() != kDone.
  Step OnLine(absl::string_view line);
  State state() const { return state_; }

 private:
  Step AfterPong();
  Step SendPsync();

  HandshakeConfig config_;
  State state_ = State::kReceivePong;
};

// RESP encoding of a command (array of bulk strings).
std::string EncodeCommand(const std::vector<std::string>& args);

// The first line of a full-sync payload, after +FULLRESYNC.
struct PayloadHeader {
  enum class Kind { kSkip, kDisk, kEof, kError };
  Kind kind = Kind::kSkip;  // kSkip: an empty keepalive line
  int64_t length = 0;       // kDisk: "$<length>"
  std::string eof_mark;     // kEof: "$EOF:<40 bytes>"
  std::string error;        // kError: the line, or why it is malformed
};
PayloadHeader ParsePayloadHeader(absl::string_view line);

inline constexpr size_t kEofMarkLength = 40;

}  // namespace shardnode::replication

#endif  // SHARDNODE_REPLICATION_HANDSHAKE_H_
