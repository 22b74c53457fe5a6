#include "node/commands/command.h"

#include "node/keyspace/types/type_util.h"

namespace shardnode::node {

std::vector<int> KeyIndexes(const CommandSpec& spec, std::span<const std::string> args) {
  if (spec.keys != nullptr) return spec.keys(args);
  std::vector<int> out;
  ForEachKeyIndex(spec, args, [&out](int i) { out.push_back(i); });
  return out;
}

CommandSpec KeyedCommand(std::string name, int arity, uint32_t flags, Handler handler, int first,
                         int last, std::string_view group, std::string_view since, KeysFn keys) {
  return CommandSpec{.name = std::move(name),
                     .arity = arity,
                     .flags = flags,
                     .first_key = first,
                     .last_key = last,
                     .key_step = first > 0 ? 1 : 0,
                     .handler = handler,
                     .keys = keys,
                     .group = group,
                     .since = since};
}

std::vector<int> NumKeysIndexes(std::span<const std::string> args, size_t index) {
  std::vector<int> out;
  int64_t n;
  if (args.size() <= index || !types::ParseInt64(args[index], &n) || n < 1 ||
      n > static_cast<int64_t>(args.size() - index - 1)) {
    return out;
  }
  for (int64_t i = 0; i < n; ++i) out.push_back(static_cast<int>(index + 1 + i));
  return out;
}

std::string ArityError(const CommandSpec& spec) {
  return "ERR wrong number of arguments for '" + spec.name + "' command";
}

}  // namespace shardnode::node
