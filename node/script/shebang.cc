#include "node/script/shebang.h"

#include "base/split_args.h"
#include "node/commands/errors.h"

namespace shardnode::node::script {

uint32_t ScriptFlagByName(std::string_view name) {
  for (size_t i = 0; i < std::size(kScriptFlagNames); ++i) {
    if (kScriptFlagNames[i] == name) return 1u << i;
  }
  return 0;
}

bool ParseShebang(std::string_view body, Shebang* out, std::string* error) {
  *out = Shebang();
  if (body.substr(0, 2) != "#!") return true;
  const size_t end = body.find('\n');
  if (end == std::string_view::npos) {
    *error = errors::kShebangInvalid;
    return false;
  }
  std::optional<std::vector<std::string>> parts = base::SplitArgs(body.substr(0, end));
  if (!parts || parts->empty()) {
    *error = errors::kShebangInvalidEngine;
    return false;
  }
  if ((*parts)[0] != "#!lua") {
    *error = errors::UnexpectedShebangEngine((*parts)[0]);
    return false;
  }
  uint32_t flags = 0;
  for (size_t j = 1; j < parts->size(); ++j) {
    const std::string& part = (*parts)[j];
    if (part.compare(0, 6, "flags=") != 0) {
      *error = errors::UnknownShebangOption(part);
      return false;
    }
    std::string_view list = std::string_view(part).substr(6);
    // Split at ',' as sdssplitlen does: "" gives no element, "a,,b" an
    // empty one (an unknown flag).
    if (list.empty()) continue;
    size_t start = 0;
    for (;;) {
      const size_t comma = list.find(',', start);
      const std::string_view flag = list.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      const uint32_t f = ScriptFlagByName(flag);
      if (f == 0) {
        *error = errors::UnexpectedShebangFlag(flag);
        return false;
      }
      flags |= f;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  out->flags = flags;
  out->length = end;
  return true;
}

}  // namespace shardnode::node::script
