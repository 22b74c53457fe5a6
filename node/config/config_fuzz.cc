// libFuzzer target for redis.conf text (Config::FromText, which has no side
// effects). `include` lines are dropped first so that the fuzzer never reads
// files; everything else goes through the real line splitting and directive
// parsers. An error must carry Redis's fatal config error text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/split_args.h"
#include "node/config/config.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

bool IsInclude(std::string_view line) {
  auto args = shardnode::base::SplitArgs(line);
  if (!args || args->empty()) return false;
  std::string name = (*args)[0];
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name == "include";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string text;
  while (!in.empty()) {
    const size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    if (!IsInclude(line)) {
      text.append(line);
      text.push_back('\n');
    }
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  auto config = shardnode::node::Config::FromText(text);
  if (!config.ok()) Check(!config.status().message().empty());
  return 0;
}
