#include "base/redirect.h"

#include "absl/strings/str_cat.h"
#include "base/strings.h"

namespace shardnode::base {

std::string MovedError(int slot, std::string_view endpoint, int port) {
  return absl::StrCat("MOVED ", slot, " ", ToAbsl(endpoint), ":", port);
}

std::string AskError(int slot, std::string_view endpoint, int port) {
  return absl::StrCat("ASK ", slot, " ", ToAbsl(endpoint), ":", port);
}

}  // namespace shardnode::base
