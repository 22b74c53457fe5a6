#include "node/commands/errors.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace shardnode::node::errors {
namespace {
// Debian's abseil has its own string_view type: convert at the call.
absl::string_view AV(std::string_view s) { return {s.data(), s.size()}; }
}  // namespace

std::string Moved(int slot, std::string_view endpoint, int port) {
  return absl::StrCat("MOVED ", slot, " ", AV(endpoint), ":", port);
}

std::string Ask(int slot, std::string_view endpoint, int port) {
  return absl::StrCat("ASK ", slot, " ", AV(endpoint), ":", port);
}

std::string UnknownCommand(std::string_view name, const std::string* args, size_t nargs) {
  // Redis quotes arguments until the list reaches 128 characters, each cut
  // so the list stays within that bound.
  std::string quoted;
  for (size_t i = 0; i < nargs && quoted.size() < 128; ++i) {
    const size_t room = 128 - quoted.size();
    absl::StrAppend(&quoted, "'", AV(std::string_view(args[i]).substr(0, room)), "' ");
  }
  return absl::StrCat("ERR unknown command '", AV(name.substr(0, 128)),
                      "', with args beginning with: ", quoted);
}

std::string UnknownSubcommand(std::string_view parent, std::string_view sub) {
  return absl::StrCat("ERR unknown subcommand '", AV(sub.substr(0, 128)), "'. Try ",
                      absl::AsciiStrToUpper(AV(parent)), " HELP.");
}

}  // namespace shardnode::node::errors
