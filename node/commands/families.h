// The command families. Each Register function adds its commands to the
// table; BuildCommandTable (command_table.cc) calls them all.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "node/commands/command_meta.h"

namespace shardnode::node {

class CommandTable;
struct CommandSpec;

void RegisterServerFamily(CommandTable& table);      // server_family.cc (connection, SHUTDOWN...)
void RegisterInfoFamily(CommandTable& table);        // info_family.cc
void RegisterMonitoringFamily(CommandTable& table);  // monitoring_family.cc (SLOWLOG, LATENCY)
void RegisterMemoryFamily(CommandTable& table);      // memory_family.cc (MEMORY)
void RegisterClientFamily(CommandTable& table);      // client_family.cc
void RegisterCommandFamily(CommandTable& table);     // command_family.cc (COMMAND)
void RegisterDebugFamily(CommandTable& table);       // debug_family.cc
void RegisterStringFamily(CommandTable& table);      // string_family.cc
void RegisterGenericFamily(CommandTable& table);     // generic_family.cc (keys, expiry, scan)
void RegisterConfigFamily(CommandTable& table);      // config_family.cc
void RegisterClusterFamily(CommandTable& table);     // cluster_family.cc
void RegisterPubSubFamily(CommandTable& table);      // pubsub_family.cc
void RegisterHashFamily(CommandTable& table);        // hash_family.cc
void RegisterSetFamily(CommandTable& table);         // set_family.cc
void RegisterZSetFamily(CommandTable& table);        // zset_family.cc
void RegisterListFamily(CommandTable& table);        // list_family.cc
void RegisterBitopsFamily(CommandTable& table);      // bitops_family.cc (SETBIT, BITFIELD...)
void RegisterHllFamily(CommandTable& table);         // hll_family.cc (PFADD, PFCOUNT...)
void RegisterGeoFamily(CommandTable& table);         // geo_family.cc
void RegisterSortFamily(CommandTable& table);        // sort_family.cc (SORT SORT_RO)
void RegisterCopyFamily(CommandTable& table);        // copy_family.cc (COPY SWAPDB LCS)
void RegisterStreamFamily(CommandTable& table);      // stream_family.cc
void RegisterAclFamily(CommandTable& table);         // acl_family.cc (ACL)
void RegisterLolwutFamily(CommandTable& table);      // lolwut_family.cc

// The key arguments of one invocation of `spec` (subcommand resolved) with
// their key-spec flags, as Redis's getKeysFromCommandWithSpecs finds them
// (COMMAND GETKEYSANDFLAGS, ACL key checks). command_family.cc.
std::vector<meta::FoundKey> KeysAndFlags(const CommandSpec& spec,
                                         std::span<const std::string> args);

// The Redis version this node reports (HELLO, INFO): the one it behaves as.
inline constexpr char kRedisVersion[] = "7.0.15";

// Whether `name` may name a connection (CLIENT SETNAME, HELLO SETNAME):
// printable ASCII without spaces. client_family.cc.
bool IsValidClientName(std::string_view name);

}  // namespace shardnode::node
