#include "node/commands/errors.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/redirect.h"
#include "base/strings.h"

namespace shardnode::node::errors {
std::string Moved(int slot, std::string_view endpoint, int port) {
  return base::MovedError(slot, endpoint, port);
}

std::string Ask(int slot, std::string_view endpoint, int port) {
  return base::AskError(slot, endpoint, port);
}

std::string UnknownCommand(std::string_view name, const std::string* args, size_t nargs) {
  // Redis quotes arguments until the list reaches 128 characters, each cut
  // so the list stays within that bound.
  std::string quoted;
  for (size_t i = 0; i < nargs && quoted.size() < 128; ++i) {
    const size_t room = 128 - quoted.size();
    absl::StrAppend(&quoted, "'", base::ToAbsl(std::string_view(args[i]).substr(0, room)), "' ");
  }
  return absl::StrCat("ERR unknown command '", base::ToAbsl(name.substr(0, 128)),
                      "', with args beginning with: ", quoted);
}

std::string UnknownSubcommand(std::string_view parent, std::string_view sub) {
  return absl::StrCat("ERR unknown subcommand '", base::ToAbsl(sub.substr(0, 128)), "'. Try ",
                      absl::AsciiStrToUpper(base::ToAbsl(parent)), " HELP.");
}

}  // namespace shardnode::node::errors
