// libFuzzer target for nodes.conf: whatever ParseNodesConf accepts
// serializes to text that parses again and serializes to the same text (a
// node that loaded a file can always save and reload it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "clusterbus/nodes_conf.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using shardnode::clusterbus::ClusterOptions;
  using shardnode::clusterbus::ParseNodesConf;
  using shardnode::clusterbus::SerializeNodesConf;
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const ClusterOptions options;
  auto state = ParseNodesConf(text, options, 1000);
  if (!state.ok()) return 0;
  const std::string saved = SerializeNodesConf(**state);
  auto again = ParseNodesConf(saved, options, 1000);
  Check(again.ok());
  Check(SerializeNodesConf(**again) == saved);
  return 0;
}
