// Client error texts, in one place, exactly as Redis 7.0.15 sends them
// (without the leading '-'). Handlers use these constants rather than
// spelling the strings again.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace shardnode::node::errors {

inline constexpr std::string_view kSyntax = "ERR syntax error";
inline constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kNoSuchKey = "ERR no such key";
inline constexpr std::string_view kOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kNoAuth = "NOAUTH Authentication required.";
inline constexpr std::string_view kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";
inline constexpr std::string_view kCrossSlot = "CROSSSLOT Keys in request don't hash to the same slot";
inline constexpr std::string_view kClusterDownUnbound = "CLUSTERDOWN Hash slot not served";
inline constexpr std::string_view kClusterDown = "CLUSTERDOWN The cluster is down";
inline constexpr std::string_view kClusterDownReadOnly =
    "CLUSTERDOWN The cluster is down and only accepts read commands";
inline constexpr std::string_view kTryAgain = "TRYAGAIN Multiple keys request during rehashing of slot";
inline constexpr std::string_view kClusterDisabled = "ERR This instance has cluster support disabled";
inline constexpr std::string_view kExecAbort =
    "EXECABORT Transaction discarded because of previous errors.";
inline constexpr std::string_view kReadOnlyReplica =
    "READONLY You can't write against a read only replica.";
inline constexpr std::string_view kMaxClients = "ERR max number of clients reached";
inline constexpr std::string_view kLoading = "LOADING Redis is loading the dataset in memory";

// "MOVED <slot> <endpoint>:<port>" / "ASK ...".
std::string Moved(int slot, std::string_view endpoint, int port);
std::string Ask(int slot, std::string_view endpoint, int port);
// "ERR unknown command '<name>', with args beginning with: '<a>' '<b>' "
std::string UnknownCommand(std::string_view name, const std::string* args, size_t nargs);
// "ERR unknown subcommand '<sub>'. Try <PARENT> HELP."
std::string UnknownSubcommand(std::string_view parent, std::string_view sub);

}  // namespace shardnode::node::errors
