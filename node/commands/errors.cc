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

namespace {
std::string Cat(std::string_view a, std::string_view b, std::string_view c = {}) {
  return absl::StrCat(base::ToAbsl(a), base::ToAbsl(b), base::ToAbsl(c));
}
}  // namespace

std::string Err(std::string_view message) { return Cat("ERR ", message); }

std::string Err(const absl::Status& status) { return absl::StrCat("ERR ", status.message()); }

std::string WrongArity(std::string_view name) {
  return Cat("ERR wrong number of arguments for '", name, "' command");
}

std::string SubcommandSyntax(std::string_view parent, std::string_view sub) {
  return absl::StrCat("ERR unknown subcommand or wrong number of arguments for '",
                      base::ToAbsl(sub.substr(0, 128)), "'. Try ",
                      absl::AsciiStrToUpper(base::ToAbsl(parent)), " HELP.");
}

std::string HelloOption(std::string_view option) {
  return Cat("ERR Syntax error in HELLO option '", option, "'");
}

std::string UnknownClientType(std::string_view type) {
  return Cat("ERR Unknown client type '", type, "'");
}

std::string NoSuchUser(std::string_view user) { return Cat("ERR No such user '", user, "'"); }

std::string UnknownNode(std::string_view id) { return Cat("ERR Unknown node ", id); }

std::string UnknownDirection(std::string_view dir) { return Cat("ERR Unknown direction ", dir); }

std::string NotAllowedWhileSubscribed(std::string_view name) {
  return Cat("ERR Can't execute '", name,
             "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed "
             "in this context");
}

std::string InvalidExpireTime(std::string_view name) {
  return Cat("ERR invalid expire time in '", name, "' command");
}

std::string UnsupportedOption(std::string_view option) {
  return Cat("ERR Unsupported option ", option);
}

std::string NoInputKeys(std::string_view name) {
  return Cat("ERR at least 1 input key is needed for '", name, "' command");
}

std::string InvalidBasePort(std::string_view port) {
  return Cat("ERR Invalid TCP base port specified: ", port);
}

std::string InvalidBusPort(std::string_view port) {
  return Cat("ERR Invalid TCP bus port specified: ", port);
}

std::string InvalidNodeAddress(std::string_view ip, std::string_view port) {
  return absl::StrCat("ERR Invalid node address specified: ", base::ToAbsl(ip), ":",
                      base::ToAbsl(port));
}

std::string ClusterConfigSaveFailed(std::string_view reason) {
  return Cat("ERR error saving the cluster node config: ", reason);
}

std::string ReplconfIpTooLong(size_t bytes) {
  return absl::StrCat("ERR REPLCONF ip-address provided by replica instance is too long: ", bytes,
                      " bytes");
}

std::string UnrecognizedReplconfOption(std::string_view option) {
  return Cat("ERR Unrecognized REPLCONF option: ", option);
}

std::string MigrateTargetError(std::string_view error) {
  return Cat("ERR Target instance replied with error: ", error);
}

std::string UnknownArgument(std::string_view arg) { return Cat("ERR Unknown argument ", arg); }

std::string UnknownOptionGiven(std::string_view option) {
  return Cat("ERR Unknown option given: ", option);
}

std::string ScriptCompileError(std::string_view message) {
  return Cat("ERR Error compiling script (new function): ", message);
}

std::string ScriptRunError(std::string_view name, std::string_view message) {
  return absl::StrCat("ERR Error running script ", base::ToAbsl(name), ", ", base::ToAbsl(message),
                      " ");
}

std::string ScriptExecutionFailure(std::string_view name) {
  return ScriptRunError(name, "execution failure");
}

std::string ScriptErrorAt(std::string_view error, std::string_view name, std::string_view source,
                          std::string_view line) {
  return absl::StrCat(base::ToAbsl(error), " script: ", base::ToAbsl(name), ", on ",
                      base::ToAbsl(source), ":", base::ToAbsl(line), ".");
}

std::string UnexpectedShebangEngine(std::string_view engine) {
  return Cat("Unexpected engine in script shebang: ", engine);
}

std::string UnknownShebangOption(std::string_view option) {
  return Cat("Unknown lua shebang option: ", option);
}

std::string UnexpectedShebangFlag(std::string_view flag) {
  return Cat("Unexpected flag in script shebang: ", flag);
}

std::string InvalidMetadataValue(std::string_view part) {
  return Cat("Invalid metadata value given: ", part);
}

std::string EngineNotFound(std::string_view engine) {
  return Cat("Engine '", engine, "' not found");
}

std::string LibraryExists(std::string_view name) {
  return Cat("Library '", name, "' already exists");
}

std::string LibraryExistsOnRestore(std::string_view name) {
  return Cat("Library ", name, " already exists");
}

std::string FunctionExists(std::string_view name) {
  return Cat("Function ", name, " already exists");
}

std::string FunctionCompileError(std::string_view message) {
  return Cat("Error compiling function: ", message);
}

std::string FunctionRegisterError(std::string_view error) {
  return Cat("Error registering functions: ", error);
}

std::string RespError(std::string_view error) { return Cat("-", error, "\r\n"); }

}  // namespace shardnode::node::errors
