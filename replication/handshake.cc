#include "replication/handshake.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/resp_command.h"
#include "replication/psync.h"

namespace shardnode::replication {

std::string EncodeCommand(const std::vector<std::string>& args) {
  std::string out;
  base::AppendRespCommand(&out, args);
  return out;
}

ReplicaHandshake::ReplicaHandshake(HandshakeConfig config) : config_(std::move(config)) {}

std::string ReplicaHandshake::Start() {
  state_ = State::kReceivePong;
  return EncodeCommand({"PING"});
}

ReplicaHandshake::Step ReplicaHandshake::AfterPong() {
  Step step;
  if (!config_.masterauth.empty()) {
    if (config_.masteruser.empty()) {
      step.send += EncodeCommand({"AUTH", config_.masterauth});
    } else {
      step.send += EncodeCommand({"AUTH", config_.masteruser, config_.masterauth});
    }
    state_ = State::kReceiveAuth;
  } else {
    state_ = State::kReceivePort;
  }
  step.send += EncodeCommand({"REPLCONF", "listening-port", absl::StrCat(config_.listening_port)});
  if (!config_.announce_ip.empty()) {
    step.send += EncodeCommand({"REPLCONF", "ip-address", config_.announce_ip});
  }
  // shardnode-setslot: we apply CLUSTER SETSLOT in the stream
  // (ReplicationControl::PropagateSetSlot); Redis 7.0 ignores unknown capas.
  step.send += EncodeCommand(
      {"REPLCONF", "capa", "eof", "capa", "psync2", "capa", std::string(kCapaSetSlot)});
  return step;
}

ReplicaHandshake::Step ReplicaHandshake::SendPsync() {
  Step step;
  state_ = State::kReceivePsync;
  if (config_.cached_replid.empty()) {
    step.send = EncodeCommand({"PSYNC", "?", "-1"});
  } else {
    std::vector<std::string> psync = {"PSYNC", config_.cached_replid,
                                      absl::StrCat(config_.cached_offset + 1)};
    if (config_.failover) psync.emplace_back("FAILOVER");
    step.send = EncodeCommand(psync);
  }
  return step;
}

ReplicaHandshake::Step ReplicaHandshake::OnLine(absl::string_view line) {
  Step step;
  if (line.empty()) return step;  // keepalive newline
  const bool is_error = line[0] == '-';
  switch (state_) {
    case State::kReceivePong:
      // A master that requires AUTH answers the PING with an auth error;
      // the AUTH sent next settles it.
      if (is_error && !absl::StartsWith(line, "-NOAUTH") && !absl::StartsWith(line, "-NOPERM") &&
          !absl::StartsWith(line, "-ERR operation not permitted")) {
        step.result = Result::kError;
        step.error = absl::StrCat("Error reply to PING from master: '", line, "'");
        return step;
      }
      return AfterPong();
    case State::kReceiveAuth:
      if (is_error) {
        step.result = Result::kError;
        step.error = absl::StrCat("Unable to AUTH to MASTER: ", line);
        return step;
      }
      state_ = State::kReceivePort;
      return step;
    case State::kReceivePort:
      // Errors are tolerated: an old master does not know the option.
      state_ = config_.announce_ip.empty() ? State::kReceiveCapa : State::kReceiveIp;
      return step;
    case State::kReceiveIp:
      state_ = State::kReceiveCapa;
      return step;
    case State::kReceiveCapa:
      return SendPsync();
    case State::kReceivePsync: {
      state_ = State::kDone;
      if (absl::StartsWith(line, "+FULLRESYNC")) {
        std::vector<absl::string_view> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
        if (parts.size() != 3 || parts[1].size() != kReplIdLength ||
            !absl::SimpleAtoi(parts[2], &step.offset)) {
          step.result = Result::kError;
          step.error = absl::StrCat("Master replied with wrong +FULLRESYNC syntax: ", line);
          return step;
        }
        step.result = Result::kFullResync;
        step.replid = std::string(parts[1]);
        return step;
      }
      if (absl::StartsWith(line, "+CONTINUE")) {
        absl::string_view rest = line.substr(9);
        while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
        while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\r')) rest.remove_suffix(1);
        step.result = Result::kContinue;
        if (rest.size() == kReplIdLength) step.new_replid = std::string(rest);
        return step;
      }
      if (absl::StartsWith(line, "-NOMASTERLINK") || absl::StartsWith(line, "-LOADING")) {
        step.result = Result::kRetryLater;
        step.error = absl::StrCat(
            "Master is currently unable to PSYNC but should be in the "
            "future: ",
            line);
        return step;
      }
      step.result = Result::kError;
      step.error = absl::StrCat("Unexpected reply to PSYNC from master: ", line);
      return step;
    }
    case State::kDone:
      break;
  }
  step.result = Result::kError;
  step.error = "handshake already finished";
  return step;
}

PayloadHeader ParsePayloadHeader(absl::string_view line) {
  PayloadHeader h;
  if (line.empty()) return h;
  if (line[0] == '-') {
    h.kind = PayloadHeader::Kind::kError;
    h.error = std::string(line);
    return h;
  }
  if (line[0] != '$') {
    h.kind = PayloadHeader::Kind::kError;
    h.error = absl::StrCat("Bad protocol from MASTER, the first byte is not '$' (we received '",
                           line, "'), are you sure the host and port are right?");
    return h;
  }
  if (absl::StartsWith(line, "$EOF:")) {
    absl::string_view mark = line.substr(5);
    if (mark.size() != kEofMarkLength) {
      h.kind = PayloadHeader::Kind::kError;
      h.error = absl::StrCat("Malformed EOF mark from MASTER: ", line);
      return h;
    }
    h.kind = PayloadHeader::Kind::kEof;
    h.eof_mark = std::string(mark);
    return h;
  }
  if (!absl::SimpleAtoi(line.substr(1), &h.length) || h.length < 0) {
    h.kind = PayloadHeader::Kind::kError;
    h.error = absl::StrCat("Malformed payload length from MASTER: ", line);
    return h;
  }
  h.kind = PayloadHeader::Kind::kDisk;
  return h;
}

}  // namespace shardnode::replication
