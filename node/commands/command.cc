#include "node/commands/command.h"

namespace shardnode::node {

std::vector<int> KeyIndexes(const CommandSpec& spec, std::span<const std::string> args) {
  if (spec.keys != nullptr) return spec.keys(args);
  std::vector<int> out;
  ForEachKeyIndex(spec, args, [&out](int i) { out.push_back(i); });
  return out;
}

std::string ArityError(const CommandSpec& spec) {
  return "ERR wrong number of arguments for '" + spec.name + "' command";
}

}  // namespace shardnode::node
