// The command families. Each Register function adds its commands to the
// table; BuildCommandTable (command_table.cc) calls them all.
#pragma once

namespace shardnode::node {

class CommandTable;

void RegisterServerFamily(CommandTable& table);   // server_family.cc
void RegisterStringFamily(CommandTable& table);   // string_family.cc
void RegisterGenericFamily(CommandTable& table);  // generic_family.cc (keys, expiry, scan)
void RegisterConfigFamily(CommandTable& table);   // config_family.cc
void RegisterClusterFamily(CommandTable& table);  // cluster_family.cc
void RegisterPubSubFamily(CommandTable& table);   // pubsub_family.cc
void RegisterHashFamily(CommandTable& table);     // hash_family.cc
void RegisterSetFamily(CommandTable& table);      // set_family.cc
void RegisterZSetFamily(CommandTable& table);     // zset_family.cc
void RegisterListFamily(CommandTable& table);     // list_family.cc

}  // namespace shardnode::node
