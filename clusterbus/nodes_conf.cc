#include "clusterbus/nodes_conf.h"

#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace shardnode::clusterbus {
namespace {

struct Line {
  int number;
  std::string_view text;
  std::vector<std::string_view> fields;
};

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Strict unsigned decimal; nullopt when empty, non-numeric or too large.
std::optional<uint64_t> ParseU64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// Strict signed decimal (an optional '-' then ParseU64's digits).
std::optional<int64_t> ParseI64(std::string_view s) {
  const bool negative = !s.empty() && s[0] == '-';
  std::optional<uint64_t> v = ParseU64(negative ? s.substr(1) : s);
  if (!v || *v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return negative ? -static_cast<int64_t>(*v) : static_cast<int64_t>(*v);
}

std::optional<int> ParsePort(std::string_view s) {
  std::optional<uint64_t> v = ParseU64(s);
  if (!v || *v > 65535) return std::nullopt;
  return static_cast<int>(*v);
}

absl::Status Corrupt(const Line& line, std::string_view reason) {
  return absl::InvalidArgumentError(
      absl::StrFormat("line %d: %s: %s", line.number, std::string(reason), std::string(line.text)));
}

ClusterNode& FindOrAdd(ClusterState& state, std::string_view id, int64_t now_ms) {
  if (ClusterNode* n = state.FindNode(id)) return *n;
  return state.AddNode(std::string(id), 0, now_ms);
}

// Flags field -> bits; nullopt on an unknown word.
std::optional<uint16_t> ParseFlags(std::string_view text) {
  static constexpr std::pair<const char*, uint16_t> kNames[] = {
      {"myself", kFlagMyself}, {"master", kFlagPrimary},
      {"slave", kFlagReplica}, {"fail?", kFlagPfail},
      {"fail", kFlagFail},     {"handshake", kFlagHandshake},
      {"noaddr", kFlagNoAddr}, {"nofailover", kFlagNoFailover},
      {"noflags", 0},
  };
  uint16_t flags = 0;
  size_t pos = 0;
  while (true) {
    size_t comma = text.find(',', pos);
    std::string_view word =
        text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
    bool known = false;
    for (const auto& [name, bit] : kNames) {
      if (EqualsNoCase(word, name)) {
        flags |= bit;
        known = true;
        break;
      }
    }
    if (!known) return std::nullopt;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return flags;
}

absl::Status ApplyVars(ClusterState& state, const Line& line) {
  if (line.fields.size() % 2 == 0) return Corrupt(line, "odd number of vars tokens expected");
  for (size_t j = 1; j + 1 < line.fields.size(); j += 2) {
    std::optional<uint64_t> v = ParseU64(line.fields[j + 1]);
    if (EqualsNoCase(line.fields[j], "currentEpoch")) {
      if (!v) return Corrupt(line, "bad currentEpoch");
      state.set_current_epoch(*v);
    } else if (EqualsNoCase(line.fields[j], "lastVoteEpoch")) {
      if (!v) return Corrupt(line, "bad lastVoteEpoch");
      state.set_last_vote_epoch(*v);
    }
    // Unknown variables are skipped, as Redis does.
  }
  return absl::OkStatus();
}

absl::Status ApplySlotToken(ClusterState& state, ClusterNode& node, const Line& line,
                            std::string_view tok, int64_t now_ms) {
  if (tok[0] == '[') {
    // "[<slot>->-<id>]" (migrating) or "[<slot>-<-<id>]" (importing).
    size_t dash = tok.find('-');
    if (dash == std::string_view::npos || dash + 2 >= tok.size() || tok.back() != ']') {
      return Corrupt(line, absl::StrCat("bad open slot '", std::string(tok), "'"));
    }
    int slot = slots::ParseSlot(tok.substr(1, dash - 1));
    char direction = tok[dash + 1];
    std::string_view rest = tok.substr(dash + 2);
    if (rest.empty() || rest[0] != '-' || (direction != '>' && direction != '<')) {
      return Corrupt(line, absl::StrCat("bad open slot '", std::string(tok), "'"));
    }
    std::string_view id = rest.substr(1, rest.size() - 2);
    if (slot < 0 || !IsValidNodeId(id)) {
      return Corrupt(line, absl::StrCat("bad open slot '", std::string(tok), "'"));
    }
    ClusterNode& peer = FindOrAdd(state, id, now_ms);
    if (direction == '>') {
      state.SetMigrating(slot, &peer);
    } else {
      state.SetImporting(slot, &peer);
    }
    return absl::OkStatus();
  }
  size_t dash = tok.find('-');
  int start, stop;
  if (dash == std::string_view::npos) {
    start = stop = slots::ParseSlot(tok);
  } else {
    start = slots::ParseSlot(tok.substr(0, dash));
    stop = slots::ParseSlot(tok.substr(dash + 1));
  }
  if (start < 0 || stop < 0) {
    return Corrupt(line, absl::StrCat("bad slot '", std::string(tok), "'"));
  }
  for (int s = start; s <= stop; ++s) {
    // Like Redis, a slot already claimed by an earlier line keeps its owner.
    if (!state.SlotOwner(s)) state.BindSlot(s, node);
  }
  return absl::OkStatus();
}

absl::Status ApplyNode(ClusterState& state, const Line& line, int64_t now_ms) {
  const auto& f = line.fields;
  ClusterNode& n = FindOrAdd(state, f[0], now_ms);

  std::string_view addr = f[1];
  size_t comma = addr.find(',');
  n.hostname = comma == std::string_view::npos ? "" : std::string(addr.substr(comma + 1));
  addr = addr.substr(0, comma);
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) return Corrupt(line, "bad address");
  n.ip = std::string(addr.substr(0, colon));
  std::string_view ports = addr.substr(colon + 1);
  size_t at = ports.find('@');
  std::optional<int> port = ParsePort(ports.substr(0, at));
  if (!port) return Corrupt(line, "bad port");
  n.port = *port;
  if (at == std::string_view::npos) {
    // A file from before Redis 4.0 (no @cport): the bus port is port+10000,
    // as Redis assumes, unless that is no port at all (port above 55535):
    // then unknown (0) until gossip tells, so that the file we write back
    // loads again (found by the nodes_conf fuzzer).
    n.cport = n.port + 10000 <= 65535 ? n.port + 10000 : 0;
  } else {
    std::optional<int> cport = ParsePort(ports.substr(at + 1));
    if (!cport) return Corrupt(line, "bad bus port");
    n.cport = *cport;
  }

  std::optional<uint16_t> flags = ParseFlags(f[2]);
  if (!flags) return Corrupt(line, "Unknown flag in redis cluster config file");
  n.flags = (n.flags & kFlagMyself) | *flags;
  if (n.flags & kFlagFail) n.fail_time_ms = now_ms;

  if (f[3][0] != '-') {
    if (!IsValidNodeId(f[3])) return Corrupt(line, "bad master id");
    ClusterNode& primary = FindOrAdd(state, f[3], now_ms);
    state.SetPrimary(n, &primary);
  }
  // Times as the writer's clock read them: only zero or not matters, and
  // like Redis (atoi) a negative one loads (a clock set before 1970;
  // found by the sweep, whose clock jumps can go below zero, seed 300206
  // of 3-12 nodes).
  std::optional<int64_t> ping = ParseI64(f[4]);
  std::optional<int64_t> pong = ParseI64(f[5]);
  std::optional<uint64_t> epoch = ParseU64(f[6]);
  if (!ping || !pong || !epoch) return Corrupt(line, "bad ping, pong or epoch field");
  n.ping_sent_ms = *ping ? now_ms : 0;
  n.pong_received_ms = *pong ? now_ms : 0;
  n.config_epoch = (n.is_replica() && n.primary) ? 0 : *epoch;

  for (size_t j = 8; j < f.size(); ++j) {
    absl::Status st = ApplySlotToken(state, n, line, f[j], now_ms);
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace

std::string SerializeNodesConf(const ClusterState& state) {
  return absl::StrCat(state.NodesText(/*include_handshake=*/false), "vars currentEpoch ",
                      state.current_epoch(), " lastVoteEpoch ", state.last_vote_epoch(), "\n");
}

absl::StatusOr<std::unique_ptr<ClusterState>> ParseNodesConf(std::string_view text,
                                                             const ClusterOptions& options,
                                                             int64_t now_ms) {
  std::vector<Line> lines;
  int number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    Line line{number, raw, SplitFields(raw)};
    if (line.fields.empty()) continue;  // blank or padding
    lines.push_back(std::move(line));
  }

  // First pass: structural checks, and find myself so the state can be built
  // around it.
  std::string_view my_id;
  for (const Line& line : lines) {
    if (EqualsNoCase(line.fields[0], "vars")) continue;
    if (line.fields.size() < 8) return Corrupt(line, "fewer than 8 fields");
    if (!IsValidNodeId(line.fields[0])) return Corrupt(line, "invalid node id");
    std::optional<uint16_t> flags = ParseFlags(line.fields[2]);
    if (!flags) return Corrupt(line, "Unknown flag in redis cluster config file");
    if (*flags & kFlagMyself) {
      if (!my_id.empty()) return Corrupt(line, "second myself node");
      my_id = line.fields[0];
    }
  }
  if (my_id.empty()) return absl::InvalidArgumentError("no myself line");

  auto state = std::make_unique<ClusterState>(std::string(my_id), options);
  for (const Line& line : lines) {
    absl::Status st = EqualsNoCase(line.fields[0], "vars") ? ApplyVars(*state, line)
                                                           : ApplyNode(*state, line, now_ms);
    if (!st.ok()) return st;
  }
  state->set_current_epoch(state->MaxEpoch());
  return state;
}

}  // namespace shardnode::clusterbus
