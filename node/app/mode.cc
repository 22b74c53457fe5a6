#include "node/app/mode.h"

#include <string_view>

namespace shardnode::node {

Mode ChooseMode(int argc, const char* const* argv) {
  std::string_view program = argv[0];
  if (const size_t slash = program.rfind('/'); slash != std::string_view::npos) {
    program.remove_prefix(slash);
  }
  if (program.find("redis-sentinel") != std::string_view::npos) return Mode::kSentinel;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--sentinel") return Mode::kSentinel;
  }
  return Mode::kDataNode;
}

}  // namespace shardnode::node
