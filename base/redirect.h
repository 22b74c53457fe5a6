// The texts of the cluster redirections a client follows, as Redis 7.0.15
// sends them (without the leading '-'). Built here once; node/commands/errors
// and the blocked-client check use them. Pure.
#pragma once

#include <string>
#include <string_view>

namespace shardnode::base {

// "MOVED <slot> <endpoint>:<port>", e.g. "MOVED 12182 127.0.0.1:7003".
std::string MovedError(int slot, std::string_view endpoint, int port);
// "ASK <slot> <endpoint>:<port>".
std::string AskError(int slot, std::string_view endpoint, int port);

}  // namespace shardnode::base
