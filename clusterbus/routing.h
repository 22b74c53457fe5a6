// Key routing in cluster mode (spec 12.3): decides, before a keyed command
// runs, whether this node serves it or which redirection/error the client
// gets, as an outcome (node/commands/errors words it). Pure: reads a published SlotTable
// (slot_table.h), never the ClusterState, and asks the caller whether keys exist.
//
// Loop: any thread holding a SlotTable (tables are immutable).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "clusterbus/slot_table.h"

namespace shardnode::clusterbus {

struct RouteInput {
  // Every key of the command (for EXEC: of all queued commands). Inline
  // storage: routing runs before every keyed command and should not allocate.
  absl::InlinedVector<std::string_view, 4> keys;
  bool is_write = false;
  bool asking = false;        // client sent ASKING, or the command has the asking flag
  bool readonly = false;      // client sent READONLY
  bool shard_pubsub = false;  // SPUBLISH/SSUBSCRIBE/SUNSUBSCRIBE (keys are channels)
  bool is_migrate = false;
  bool allow_reads_when_down = false;
  bool allow_pubsubshard_when_down = true;
};

enum class RouteOutcome {
  kLocal,
  kMoved,
  kAsk,
  kCrossSlot,
  kUnbound,
  kDown,
  kDownReadOnly,
  kTryAgain
};

struct RouteResult {
  RouteOutcome outcome = RouteOutcome::kLocal;
  int slot = -1;         // the slot of the keys (when there are keys)
  std::string endpoint;  // kMoved/kAsk: where to redirect
  int port = 0;
  int pport = 0;  // the target's plain port under tls-cluster (0: none)
};

// `key_exists` is asked (DB 0, no expiry side effects) only while the slot
// is migrating or importing, and never for shard-pubsub channels.
RouteResult Route(const SlotTable& table, const RouteInput& in,
                  const std::function<bool(std::string_view key)>& key_exists);

}  // namespace shardnode::clusterbus
