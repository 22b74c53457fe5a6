// The command table's entry type and the context a handler runs in.
//
// A command is data: name, arity, flags and key positions (Redis's legacy
// first/last/step triple, plus an optional function for commands whose keys
// move, such as ZUNIONSTORE's numkeys). The dispatcher checks arity, auth,
// MULTI queuing and cluster routing from these fields before any handler runs,
// so handlers only implement semantics.
//
// Handlers come in families (string_family.cc, cluster_family.cc...), each with
// a Register function that adds its entries to a CommandTable.
#pragma once

#include <bit>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "node/keyspace/db.h"
#include "node/keyspace/notify.h"
#include "node/server/latency.h"
#include "node/server/shard.h"

namespace shardnode::resp {
class ReplyBuilder;
}

namespace shardnode::node {

namespace types {
struct ScanOptions;
}

class Shard;
class FanOut;
class NodeServices;
class CommandTable;
struct Session;
struct CommandSpec;

// args[0] is the command name as the client sent it. Handlers must not change
// the arguments: after a write, replication propagates them as they are.
using Args = std::span<std::string>;

// Flags, named as COMMAND INFO prints them.
enum CommandFlag : uint32_t {
  kCmdWrite = 1u << 0,
  kCmdReadonly = 1u << 1,
  kCmdDenyOom = 1u << 2,
  kCmdAdmin = 1u << 3,
  kCmdPubSub = 1u << 4,
  kCmdNoScript = 1u << 5,
  kCmdBlocking = 1u << 6,
  kCmdLoading = 1u << 7,
  kCmdStale = 1u << 8,
  kCmdSkipMonitor = 1u << 9,
  kCmdSkipSlowlog = 1u << 10,
  kCmdAsking = 1u << 11,
  kCmdFast = 1u << 12,
  kCmdNoAuth = 1u << 13,
  kCmdMayReplicate = 1u << 14,
  kCmdNoMulti = 1u << 15,
  kCmdAllowBusy = 1u << 16,
  kCmdNoMandatoryKeys = 1u << 17,
  kCmdNoAsyncLoading = 1u << 18,
  // Redis's PROTECTED (not shown by COMMAND INFO's flags): DEBUG and
  // MODULE LOAD/LOADEX/UNLOAD, refused unless enable-debug-command /
  // enable-module-command allows the connection (yes, or local for one
  // from the loopback address).
  kCmdProtected = 1u << 19,
  // Redis's TOUCHES_ARBITRARY_KEYS (hidden from COMMAND INFO there too):
  // SCAN and RANDOMKEY, which may reap expired keys anywhere. Run directly
  // by a client, the DELs they propagate are not wrapped in MULTI/EXEC.
  kCmdTouchesArbitraryKeys = 1u << 20,
  // Not a Redis flag: the command touches every shard. With a fan-out
  // (KEYS, SCAN, DBSIZE, FLUSHALL...: fan_out.h) it reaches them through its
  // steps; without one (DEBUG, whose POPULATE and DIGEST-VALUE name keys
  // that its key spec does not) its context is granted every shard. A write
  // with this flag touches every key (FLUSHALL waits for MIGRATEs in flight).
  kCmdAllShards = 1u << 30,
};

// The keyspace shards a command may reach through its context
// (CommandContext::DbFor). The dispatcher grants a command the shards of its
// key arguments (GrantFor), so that a handler that reached any other shard
// (a key its table entry does not declare) is a bug found at once, and so
// that with shard threads the command can run where its keys are.
class ShardGrant {
 public:
  // Every shard (contexts built outside the dispatcher, kCmdAllShards).
  static ShardGrant All() {
    ShardGrant g;
    g.all_ = true;
    return g;
  }
  // No shard (keyless commands, fan-out merges).
  static ShardGrant None() { return ShardGrant(); }

  void Add(int shard) {
    if (shard < 64) {
      mask_ |= uint64_t{1} << shard;
    } else if (!Allows(shard)) {
      more_.push_back(shard);
    }
  }
  bool Allows(int shard) const {
    if (all_) return true;
    if (shard < 64) return (mask_ >> shard) & 1;
    for (int s : more_) {
      if (s == shard) return true;
    }
    return false;
  }
  bool all() const { return all_; }
  // The one shard granted, or -1 when none, several or all are.
  int single() const {
    if (all_ || !more_.empty() || mask_ == 0 || (mask_ & (mask_ - 1)) != 0) {
      return more_.size() == 1 && mask_ == 0 && !all_ ? more_[0] : -1;
    }
    return std::countr_zero(mask_);
  }
  // The granted shards below `num_shards`, in order (tests, diagnostics).
  std::vector<int> List(int num_shards) const {
    std::vector<int> out;
    for (int i = 0; i < num_shards; ++i) {
      if (Allows(i)) out.push_back(i);
    }
    return out;
  }

 private:
  bool all_ = false;
  uint64_t mask_ = 0;      // shards 0..63
  std::vector<int> more_;  // shards from 64 on (threads > 64)
};

// What a handler sees. The dispatcher builds one per executed command.
//
// Keys and shards: the keyspace is split into shards by hash slot. A handler
// never holds "the" database: it reaches every key it reads or writes through
// DbFor(key), which finds the shard that owns that key's slot, so that a
// command whose keys live in different shards (standalone mode with threads
// > 1: SMOVE a b, SUNIONSTORE, RENAME...) touches each one where it is. The
// context is bound to the shards the dispatcher granted (the shards of the
// command's key arguments, ShardGrant): DbFor on any other shard aborts the
// node with a bug report. Commands that span shards (KEYS, SCAN, DBSIZE,
// FLUSHALL...) have no handler that walks them: their table entry declares a
// fan-out that the dispatcher runs (fan_out.h).
//
// A handler sees the shard it runs on (`shard`: keyspace, watch and blocking
// indexes, statistics) and the node-wide services (`node`), never the whole
// Server.
struct CommandContext {
  // `db_index`: the database the command runs on (the session's, checked).
  // `grant`: the shards DbFor may reach (the dispatcher passes GrantFor's).
  CommandContext(Shard& shard, NodeServices& node, Session& session, resp::ReplyBuilder& reply,
                 const CommandSpec& spec, int64_t now_ms, int db_index,
                 ShardGrant grant = ShardGrant::All());

  Shard& shard;
  NodeServices& node;
  Session& session;
  resp::ReplyBuilder& reply;
  const CommandSpec& spec;
  int64_t now_ms;  // wall clock, milliseconds since the epoch

  // The command's database index (SELECT), the same on every shard.
  int db_index() const { return db_index_; }
  // The number of databases (`databases`), the same on every shard.
  int num_dbs() const;
  // The command's database on the shard that owns `key`'s hash slot. With
  // one shard this costs a branch (no hashing); the reference stays valid
  // for the whole command. REQUIRES: the grant allows that shard (else the
  // node aborts: a bug).
  Db& DbFor(std::string_view key) {
    if (only_db_ != nullptr) [[likely]]
      return *only_db_;
    return DbOfKeyShard(key);
  }
  // Database `db_index` (not the command's: MOVE) on the shard that owns
  // `key`. REQUIRES: 0 <= db_index < num_dbs(); the grant allows the shard.
  Db& DbFor(std::string_view key, int db_index);
  // The command's database on the shard that owns `slot` (CLUSTER
  // COUNTKEYSINSLOT: an entry with a slot_arg). REQUIRES: the grant allows
  // that shard.
  Db& DbForSlot(int slot);
  // The shards this context may reach.
  const ShardGrant& grant() const { return grant_; }

  // When a handler sets it, replication and AOF receive these arguments
  // instead of the command as received (Redis's rewriteClientCommandVector:
  // BLPOP served at once propagates as LPOP, SET k v EX 10 as SET k v PXAT
  // <ms>). Only used when the command changed the dataset.
  std::vector<std::string> propagate_as;
  // A lighter propagate_as for a write that differs from its arguments as
  // received in one argument that is not a key (XADD's generated id): when
  // `index` >= 0, argument `index` is replaced by text[0, size) as the
  // write is propagated, with no copy of the others (ForEachPropagatedWrite).
  // A blocked command's or a migration's completion, with no received
  // arguments to edit, sets propagate_as instead.
  struct EditedArg {
    int index = -1;
    size_t size = 0;
    char text[48];
  };
  EditedArg propagate_edit;
  // When a handler fills it, these writes are propagated instead of the
  // command (Redis's alsoPropagate with preventCommandPropagation: SPOP
  // with a count propagates one SREM per member).
  std::vector<std::vector<std::string>> propagate_many;
  // Changes this command made to the dataset (Redis's server.dirty delta).
  // A command propagates only when it counted some; see AddDirty.
  uint64_t dirty = 0;

  // Counts `changes` made by this command, here and in the node's changes
  // since the last save (save points, INFO rdb_changes_since_last_save).
  void AddDirty(uint64_t changes);

  // Raises keyspace event `event` of class `type` (node/keyspace/notify.h)
  // on `key` of the command's database (or of `db`): Redis's
  // notifyKeyspaceEvent, published at once when notify-keyspace-events
  // enables it, so a command's events come in the order it raises them.
  void Notify(int type, std::string_view event, std::string_view key) {
    Notify(type, event, key, db_index_);
  }
  void Notify(int type, std::string_view event, std::string_view key, int db);

 private:
  // DbFor with several shards (or without a grant), kept out of the
  // one-shard path (the common one).
  [[gnu::cold]] Db& DbOfKeyShard(std::string_view key);
  // `shard` (the shard of `what`: a key or a slot), checked against the grant.
  int Granted(int shard, std::string_view what) const;

  int db_index_;
  ShardGrant grant_;
  // The command's database when the node has a single shard and the grant
  // allows it.
  Db* only_db_;
};

using Handler = void (*)(CommandContext& ctx, Args args);
// A handler that carries state (node/repl's commands hold their replication
// manager). CommandTable::Register gives an entry that has one the plain
// handler CallBoundHandler, which calls it through ctx.spec, so the
// dispatcher always makes one function-pointer call and plain handlers cost
// what they did (bench/micro/command_call_bench.cc).
using BoundHandler = std::function<void(CommandContext& ctx, Args args)>;
// Calls ctx.spec.bound_handler. REQUIRES: ctx.spec has one.
void CallBoundHandler(CommandContext& ctx, Args args);
// Returns the indexes in `args` of the key arguments; used when keys are not
// at fixed positions. May return an empty list when the arguments are
// malformed: the handler then reports the error itself.
using KeysFn = std::vector<int> (*)(std::span<const std::string> args);
// Begins a fan-out (fan_out.h) for one invocation of a command that spans
// shards. Returns nullptr after replying an error (malformed arguments) or
// a reply that needs no shard.
using FanOutFn = std::unique_ptr<FanOut> (*)(CommandContext& ctx, Args args);

struct CommandSpec {
  std::string name;  // lower case; subcommands are "parent|sub"
  int arity = 0;     // >0: exact argument count; <0: at least -arity
  uint32_t flags = 0;
  int first_key = 0;  // 0: no keys
  int last_key = 0;   // negative: counted from the end (-1 = last argument)
  int key_step = 0;
  Handler handler = nullptr;
  BoundHandler bound_handler;  // with handler == CallBoundHandler (Register sets it)
  KeysFn keys = nullptr;       // set for movable-key commands
  // Set for commands that span shards: the dispatcher runs the fan-out
  // instead of calling a handler (Register sets handler to FanOutHandler).
  FanOutFn fan_out = nullptr;
  // For commands that name a hash slot instead of keys (CLUSTER
  // COUNTKEYSINSLOT slot): the argument index of that slot, whose shard the
  // dispatcher grants; 0: none.
  int slot_arg = 0;
  std::string_view group;    // COMMAND DOCS group: "string", "generic", "server"...
  std::string_view summary;  // COMMAND DOCS summary
  std::string_view since;    // COMMAND DOCS since
  std::vector<CommandSpec> subcommands;
  // When not empty, what COMMAND INFO prints as key specs (else one spec
  // made from first_key/last_key/key_step).
  // Where each shard view keeps this command's statistics
  // (Shard::command_stats; StatsOf): set by CommandTable::Register, unique
  // within the table, subcommands included.
  int stats_index = -1;

  bool is_write() const { return flags & kCmdWrite; }
};

// `view`'s statistics of `spec` (INFO commandstats): a command counts on
// the view it runs on; a refusal before it ran, on the control loop's.
inline CommandStats& StatsOf(Shard& view, const CommandSpec& spec) {
  return view.command_stats(spec.stats_index);
}

// The shards the dispatcher grants one invocation of `spec` (CommandContext
// binds the handler to them): those of its key arguments, in `shard`'s
// numbering (and the shard of its slot_arg); every shard for a
// kCmdAllShards command without a fan-out; none
// for a keyless command or a fan-out (whose steps see their shards). With
// one shard, a command with a key spec gets shard 0 without its movable keys
// being evaluated (the hot path).
ShardGrant GrantFor(const CommandSpec& spec, std::span<const std::string> args, const Shard& shard);

// Key argument indexes of one invocation, from the spec (subcommand already
// resolved). Empty for keyless commands.
std::vector<int> KeyIndexes(const CommandSpec& spec, std::span<const std::string> args);

// Calls fn(index) for each key argument, in order, without allocating for
// commands whose keys sit at fixed positions (the hot path).
template <typename Fn>
void ForEachKeyIndex(const CommandSpec& spec, std::span<const std::string> args, Fn&& fn) {
  if (spec.keys != nullptr) {
    for (int i : spec.keys(args)) fn(i);
    return;
  }
  if (spec.first_key <= 0) return;
  const int argc = static_cast<int>(args.size());
  int last = spec.last_key < 0 ? argc + spec.last_key : spec.last_key;
  if (last >= argc) last = argc - 1;
  const int step = spec.key_step > 0 ? spec.key_step : 1;
  for (int i = spec.first_key; i <= last; i += step) fn(i);
}

// The hash slot that the key arguments of a write share; kNoSlot
// (write_stream.h) when it has no key or its keys span several slots
// (standalone mode). The write stream carries it with the write.
int WriteSlot(const CommandSpec& spec, std::span<const std::string> args);
// The same for a write as a handler rewrote it (propagate_as,
// propagate_many: SPOP as SREM, BLMOVE as LMOVE), whose command is looked up
// in `table`; kNoSlot when the table does not know it.
int RewrittenWriteSlot(const CommandTable& table, std::span<const std::string> args);

// The writes a command's context says to propagate, each passed to
// write(args, slot): propagate_many's, else propagate_as, else the
// arguments as received (`received`, with propagate_edit applied; none
// when `received` is null: a blocked command's or a migration's completion
// propagates only what its handler set). `spec` is the received command's;
// `table` finds a rewritten command's keys.
void ForEachPropagatedWrite(
    const CommandTable& table, const CommandSpec& spec, CommandContext& ctx,
    std::vector<std::string>* received,
    absl::FunctionRef<void(std::span<const std::string> args, int slot)> write);

// A family's table entry for a command whose keys are args[first..last]
// (step 1), or, when `keys` is given, wherever that function says (with
// first = last = 0, so COMMAND INFO prints 0 0 0 as Redis does for movable
// keys).
CommandSpec KeyedCommand(std::string name, int arity, uint32_t flags, Handler handler, int first,
                         int last, std::string_view group, std::string_view since,
                         KeysFn keys = nullptr);

// A container's table entry for subcommand `sub` of `parent`, named
// "parent|sub", in COMMAND DOCS group `group`.
CommandSpec SubcommandSpec(std::string_view parent, std::string_view sub, int arity, uint32_t flags,
                           Handler handler, std::string_view group);

// Key indexes of a "numkeys key [key ...]" command whose numkeys argument is
// args[index]; empty when numkeys is not a positive count that fits.
std::vector<int> NumKeysIndexes(std::span<const std::string> args, size_t index);

// The arguments of LMPOP / ZMPOP and their blocking forms, from numkeys on:
// numkeys key... <first_word|second_word> [COUNT n].
struct MPopArgs {
  Args keys;
  bool second = false;  // the direction named by second_word (RIGHT, MAX)
  int64_t count = 1;
};
// Fills *out; replies Redis's error and returns false when malformed.
bool ParseMPopArgs(CommandContext& ctx, Args args, size_t numkeys_idx, std::string_view first_word,
                   std::string_view second_word, MPopArgs* out);

// HSCAN/SSCAN/ZSCAN's [MATCH pattern] [COUNT n] from args[first...] into
// *opts; replies Redis's error and returns false when malformed.
bool ParseScanOptionsOrReply(CommandContext& ctx, Args args, size_t first,
                             types::ScanOptions* opts);

// A blocking command's timeout argument (seconds, a float) as an absolute
// deadline in ms (0: forever), by ParseBlockTimeout; replies Redis's error
// and returns false when malformed or negative.
bool ParseBlockTimeoutOrReply(CommandContext& ctx, std::string_view arg, int64_t* deadline_ms);

// Redis's checkAlreadyExpired: whether an absolute expiry `when_ms` means
// deleting the key now. Never on a replica (it keeps the key, already
// expired, and waits for its primary's DEL) nor while loading.
bool AlreadyExpired(const CommandContext& ctx, int64_t when_ms);

// Redis's "wrong number of arguments for 'get' command" text (with "ERR ").
std::string ArityError(const CommandSpec& spec);
// Whether `argc` arguments (the name included) fit the spec's arity (a
// negative arity: at least that many).
inline bool ArityOk(const CommandSpec& spec, int argc) {
  return spec.arity > 0 ? spec.arity == argc : argc >= -spec.arity;
}

// Redis's addReplyHelp: "<COMMAND> <subcommand> ... Subcommands are:", the
// command's own `lines`, then the HELP entry every container ends with.
void ReplyHelp(CommandContext& ctx, std::string_view command,
               std::initializer_list<std::string_view> lines);

}  // namespace shardnode::node
