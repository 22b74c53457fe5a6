#include "node/commands/command.h"


namespace shardnode::node {

std::vector<int> KeyIndexes(const CommandSpec& spec, std::span<const std::string> args) {
  if (spec.keys != nullptr) return spec.keys(args);
  std::vector<int> out;
  if (spec.first_key <= 0) return out;
  const int argc = static_cast<int>(args.size());
  int last = spec.last_key < 0 ? argc + spec.last_key : spec.last_key;
  if (last >= argc) last = argc - 1;
  const int step = spec.key_step > 0 ? spec.key_step : 1;
  for (int i = spec.first_key; i <= last; i += step) out.push_back(i);
  return out;
}

std::string ArityError(const CommandSpec& spec) {
  return "ERR wrong number of arguments for '" + spec.name + "' command";
}

}  // namespace shardnode::node
