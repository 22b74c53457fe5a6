// nodes.conf text: parse it into a ClusterState and serialize one back.
// Pure functions on strings; the file handling (locking, crash-safe writes)
// lives in node/server/nodes_conf_file.h.
//
// Format (spec 11.1): one CLUSTER NODES line per node, handshake nodes
// excluded, then "vars currentEpoch <N> lastVoteEpoch <M>".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "clusterbus/cluster_state.h"

namespace shardnode::clusterbus {

// Serializes `state` as nodes.conf content (LF-terminated lines).
std::string SerializeNodesConf(const ClusterState& state);

// Parses nodes.conf content. REQUIRES: `text` is not empty (an empty file
// means "no configuration" and is the caller's case). Loaded nodes get
// ping-sent / pong-received = now_ms when the stored value is non-zero, and
// FAIL nodes fail_time = now_ms, as Redis does; currentEpoch is raised to the
// largest configEpoch. Fails with InvalidArgument "line <n>: <reason>:
// <line text>" on any corruption (too few fields, bad node id, bad address,
// unknown flag, bad slot or open-slot token, odd vars line, two myself lines)
// and "no myself line" when no line has the myself flag.
absl::StatusOr<std::unique_ptr<ClusterState>> ParseNodesConf(std::string_view text,
                                                             const ClusterOptions& options,
                                                             int64_t now_ms);

}  // namespace shardnode::clusterbus
