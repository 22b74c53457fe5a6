// Client error texts, in one place, exactly as Redis 7.0.15 sends them
// (without the leading '-'). node/ writes client error texts only here:
// handlers, the dispatcher and the shells use these constants and functions
// rather than spelling the strings again, and cores below node/commands
// return outcomes (codes, enums, absl::Status) that node/ turns into one of
// these. The one exception are absl::Status messages that a core already
// words as Redis does (ClusterState's admin errors): Err() prefixes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

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
inline constexpr std::string_view kCrossSlot =
    "CROSSSLOT Keys in request don't hash to the same slot";
inline constexpr std::string_view kClusterDownUnbound = "CLUSTERDOWN Hash slot not served";
inline constexpr std::string_view kClusterDown = "CLUSTERDOWN The cluster is down";
inline constexpr std::string_view kClusterDownReadOnly =
    "CLUSTERDOWN The cluster is down and only accepts read commands";
inline constexpr std::string_view kTryAgain =
    "TRYAGAIN Multiple keys request during rehashing of slot";
inline constexpr std::string_view kClusterDisabled =
    "ERR This instance has cluster support disabled";
inline constexpr std::string_view kExecAbort =
    "EXECABORT Transaction discarded because of previous errors.";
inline constexpr std::string_view kReadOnlyReplica =
    "READONLY You can't write against a read only replica.";
inline constexpr std::string_view kMaxClients = "ERR max number of clients reached";
inline constexpr std::string_view kLoading = "LOADING Redis is loading the dataset in memory";

// ---- Arguments shared by several families
inline constexpr std::string_view kNotPositive = "ERR value is out of range, must be positive";
inline constexpr std::string_view kOutOfRange = "ERR value is out of range";
// A count of LLONG_MIN (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER): its negation overflows.
inline constexpr std::string_view kCountOutOfRange =
    "ERR value is out of range, value must between -9223372036854775807 and "
    "9223372036854775807";
inline constexpr std::string_view kInvalidCursor = "ERR invalid cursor";
inline constexpr std::string_view kNumKeysNotPositive = "ERR numkeys should be greater than 0";
inline constexpr std::string_view kCountNotPositive = "ERR count should be greater than 0";
inline constexpr std::string_view kLimitNegative = "ERR LIMIT can't be negative";
inline constexpr std::string_view kIncrNaN = "ERR increment would produce NaN or Infinity";
inline constexpr std::string_view kTimeoutNotInteger =
    "ERR timeout is not an integer or out of range";
inline constexpr std::string_view kTimeoutNegative = "ERR timeout is negative";
inline constexpr std::string_view kTimeoutNotFloat = "ERR timeout is not a float or out of range";
inline constexpr std::string_view kDbIndexOutOfRange = "ERR DB index is out of range";
// A bare "ERR" (Redis's reply when SAVE/BGSAVE/DEBUG RELOAD fail without a reason).
inline constexpr std::string_view kErr = "ERR";

// ---- Connection and server (server_family.cc, client_family.cc, debug_family.cc)
inline constexpr std::string_view kAuthNoPassword =
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?";
inline constexpr std::string_view kProtocolVersion =
    "ERR Protocol version is not an integer or out of range";
inline constexpr std::string_view kNoProto = "NOPROTO unsupported protocol version";
inline constexpr std::string_view kHelloNoAuth =
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
    "<proto> AUTH <user> <pass> option can be used to authenticate the client and select "
    "the RESP protocol version at the same time";
inline constexpr std::string_view kClientName =
    "ERR Client names cannot contain spaces, newlines or special characters.";
inline constexpr std::string_view kNoShutdown = "ERR No shutdown in progress.";
inline constexpr std::string_view kShutdownFailed = "ERR Errors trying to SHUTDOWN. Check logs.";
inline constexpr std::string_view kShutdownDenyBlocking =
    "ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client";
inline constexpr std::string_view kInvalidClientId = "ERR Invalid client ID";
inline constexpr std::string_view kNoSuchClient = "ERR No such client";
inline constexpr std::string_view kClientIdNotPositive = "ERR client-id should be greater than 0";
inline constexpr std::string_view kUnblockReason =
    "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR";
// A blocked client's wait ended (blocking.h's UnblockOutcome).
inline constexpr std::string_view kUnblockedByClient =
    "UNBLOCKED client unblocked via CLIENT UNBLOCK";
inline constexpr std::string_view kUnblockedRoleChanged =
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> "
    "replica?)";
inline constexpr std::string_view kPauseMode = "ERR CLIENT PAUSE mode must be WRITE or ALL";
inline constexpr std::string_view kUnexpectedHelp = "ERR unexpected HELP call";
inline constexpr std::string_view kInvalidCommand = "ERR Invalid command specified";
inline constexpr std::string_view kGetKeysArity =
    "ERR Invalid number of arguments specified for command";
inline constexpr std::string_view kNoKeyArguments = "ERR The command has no key arguments";
inline constexpr std::string_view kGetKeysInvalidArgs =
    "ERR Invalid arguments specified for command";
inline constexpr std::string_view kDebugClusterOnly =
    "ERR Debug option only available for cluster mode enabled setup!";

// ---- Transactions (dispatcher.cc)
inline constexpr std::string_view kWatchInMulti = "ERR WATCH inside MULTI is not allowed";
inline constexpr std::string_view kExecWithoutMulti = "ERR EXEC without MULTI";
inline constexpr std::string_view kNotInMulti = "ERR Command not allowed inside a transaction";
inline constexpr std::string_view kNestedMulti = "ERR MULTI calls can not be nested";
inline constexpr std::string_view kReplicaKeyspace = "ERR Replica can't interact with the keyspace";
inline constexpr std::string_view kMisconf =
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to "
    "disk. Commands that may modify the data set are disabled, because this instance is "
    "configured to report errors during writes if RDB snapshotting fails "
    "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB "
    "error.";
inline constexpr std::string_view kDiscardWithoutMulti = "ERR DISCARD without MULTI";
// maxmemory reached and nothing left to evict (node/server/evictor.h).
inline constexpr std::string_view kOom = "OOM command not allowed when used memory > 'maxmemory'.";

// ---- Keys and strings (generic_family.cc, string_family.cc)
inline constexpr std::string_view kMoveInCluster = "ERR MOVE is not allowed in cluster mode";
inline constexpr std::string_view kSelectInCluster = "ERR SELECT is not allowed in cluster mode";
inline constexpr std::string_view kSameObject = "ERR source and destination objects are the same";
inline constexpr std::string_view kExpireNxAndOthers =
    "ERR NX and XX, GT or LT options at the same time are not compatible";
inline constexpr std::string_view kGtAndLt =
    "ERR GT and LT options at the same time are not compatible";
inline constexpr std::string_view kIdleTimeUnderLfu =
    "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust.";
inline constexpr std::string_view kFreqWithoutLfu =
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
    "that when switching between policies at runtime LRU and LFU data will take some time to "
    "adjust.";
inline constexpr std::string_view kStringTooLong =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
inline constexpr std::string_view kOffsetOutOfRange = "ERR offset is out of range";
inline constexpr std::string_view kDecrOverflow = "ERR decrement would overflow";

// ---- Hashes, lists, sets, sorted sets
inline constexpr std::string_view kHashNotInteger = "ERR hash value is not an integer";
inline constexpr std::string_view kHashNotFloat = "ERR hash value is not a float";
inline constexpr std::string_view kNaNOrInfinity = "ERR value is NaN or Infinity";
inline constexpr std::string_view kIndexOutOfRange = "ERR index out of range";
inline constexpr std::string_view kRankZero =
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    "or use negative to start from the end of the list";
inline constexpr std::string_view kCountNegative = "ERR COUNT can't be negative";
inline constexpr std::string_view kMaxLenNegative = "ERR MAXLEN can't be negative";
inline constexpr std::string_view kNumKeysOverArgs =
    "ERR Number of keys can't be greater than number of args";
inline constexpr std::string_view kNotFloatRange = "ERR min or max is not a float";
inline constexpr std::string_view kNotLexRange = "ERR min or max not valid string range item";
inline constexpr std::string_view kZAddXxAndNx =
    "ERR XX and NX options at the same time are not compatible";
inline constexpr std::string_view kZAddGtLtNx =
    "ERR GT, LT, and/or NX options at the same time are not compatible";
inline constexpr std::string_view kZAddIncrPairs =
    "ERR INCR option supports a single increment-element pair";
inline constexpr std::string_view kScoreNaN = "ERR resulting score is not a number (NaN)";
inline constexpr std::string_view kLimitNeedsScoreOrLex =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
inline constexpr std::string_view kWithScoresByLex =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
inline constexpr std::string_view kWeightNotFloat = "ERR weight value is not a float";

// ---- Persistence (persist_family.cc)
inline constexpr std::string_view kInvalidIdleTime = "ERR Invalid IDLETIME value, must be >= 0";
inline constexpr std::string_view kInvalidFreq = "ERR Invalid FREQ value, must be >= 0 and <= 255";
inline constexpr std::string_view kBusyKey = "BUSYKEY Target key name already exists.";
inline constexpr std::string_view kInvalidTtl = "ERR Invalid TTL value, must be >= 0";
inline constexpr std::string_view kBadDumpPayload =
    "ERR DUMP payload version or checksum are wrong";
inline constexpr std::string_view kBadDataFormat = "ERR Bad data format";
inline constexpr std::string_view kDebugReloadOptions =
    "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.";
inline constexpr std::string_view kDebugReloadLoad = "ERR Error trying to load the RDB dump";

// ---- MIGRATE (node/migrate's shell words its core's outcomes with these)
inline constexpr std::string_view kMigrateKeysWithKeyArg =
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string";
inline constexpr std::string_view kMigrateIoWriting =
    "IOERR error or timeout writing to target instance";
inline constexpr std::string_view kMigrateIoReading =
    "IOERR error or timeout reading to target instance";
// Redis's text says "client" for the target it failed to connect to.
inline constexpr std::string_view kMigrateConnectTimeout =
    "IOERR error or timeout connecting to the client";

// ---- Cluster (cluster_family.cc)
inline constexpr std::string_view kInvalidSlot = "ERR Invalid or out of range slot";
inline constexpr std::string_view kInvalidSlotShort = "ERR Invalid slot";
inline constexpr std::string_view kInvalidSlotOrCount = "ERR Invalid slot or number of keys";
inline constexpr std::string_view kSetSlotOnReplica = "ERR Please use SETSLOT only with masters.";
inline constexpr std::string_view kSetSlotSyntax =
    "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP";
inline constexpr std::string_view kNoClusterBus = "ERR the cluster bus is not running";
// MIGRATE in a process without its shell (tests).
inline constexpr std::string_view kMigrateUnavailable =
    "ERR MIGRATE is not available in this process";

// ---- Replication (node/repl, replication_family.cc)
inline constexpr std::string_view kFailoverInCluster =
    "ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.";
inline constexpr std::string_view kNoFailover = "ERR No failover in progress.";
inline constexpr std::string_view kFailoverTimeout = "ERR FAILOVER timeout must be greater than 0";
inline constexpr std::string_view kFailoverInProgress = "ERR FAILOVER already in progress.";
inline constexpr std::string_view kFailoverOnReplica =
    "ERR FAILOVER is not valid when server is a replica.";
inline constexpr std::string_view kFailoverNoReplicas = "ERR FAILOVER requires connected replicas.";
inline constexpr std::string_view kFailoverForce =
    "ERR FAILOVER with force option requires both a timeout and target HOST and IP.";
inline constexpr std::string_view kFailoverNotReplica =
    "ERR FAILOVER target HOST and PORT is not a replica.";
inline constexpr std::string_view kFailoverNotOnline = "ERR FAILOVER target replica is not online.";
inline constexpr std::string_view kReplicaOfWhileFailover =
    "ERR REPLICAOF not allowed while failing over.";
inline constexpr std::string_view kSyncWhileFailover = "NOMASTERLINK Can't SYNC while failing over";
inline constexpr std::string_view kPsyncFailoverToPrimary =
    "ERR PSYNC FAILOVER can't be sent to a master.";
inline constexpr std::string_view kPsyncFailoverReplid =
    "ERR PSYNC FAILOVER replid must match my replid.";
inline constexpr std::string_view kNoMasterLink =
    "NOMASTERLINK Can't SYNC while not connected with my master";
inline constexpr std::string_view kWaitOnReplica =
    "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 "
    "if a replica is configured to be writable (which is not the default) writes to "
    "replicas are just local and are not propagated.";
inline constexpr std::string_view kNoReplicas = "NOREPLICAS Not enough good replicas to write.";
inline constexpr std::string_view kMasterDown =
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
inline constexpr std::string_view kReplicaOfInCluster =
    "ERR REPLICAOF not allowed in cluster mode.";
inline constexpr std::string_view kReplicaOfFromReplica =
    "ERR Command is not valid when client is a replica.";
inline constexpr std::string_view kInvalidMasterPort = "ERR Invalid master port";
inline constexpr std::string_view kBgsaveForReplicaFailed =
    "ERR BGSAVE failed, replication can't continue";

// ---- Scripting (node/script; node/lua's outcomes, worded by node/script)
inline constexpr std::string_view kNoScript = "NOSCRIPT No matching script. Please use EVAL.";
inline constexpr std::string_view kNotBusy = "NOTBUSY No scripts in execution right now.";
inline constexpr std::string_view kUnkillableWrote =
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can "
    "either wait the script termination or kill the server in a hard way using the SHUTDOWN "
    "NOSAVE command.";
inline constexpr std::string_view kUnkillableMaster =
    "UNKILLABLE The busy script was sent by a master instance in the context of replication and "
    "cannot be killed.";
// What other clients get while a script (or a function) runs past
// busy-reply-threshold.
inline constexpr std::string_view kBusyScript =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
inline constexpr std::string_view kBusyFunction =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
inline constexpr std::string_view kScriptNoCluster =
    "ERR Can not run script on cluster, 'no-cluster' flag is set.";
inline constexpr std::string_view kScriptWriteFlagReadOnly =
    "ERR Can not execute a script with write flag using *_ro command.";
inline constexpr std::string_view kNumKeysNegative = "ERR Number of keys can't be negative";
inline constexpr std::string_view kBadNumKeys = "ERR Bad number of keys provided";
inline constexpr std::string_view kFunctionNotFound = "ERR Function not found";
inline constexpr std::string_view kScriptFlushMode =
    "ERR SCRIPT FLUSH only support SYNC|ASYNC option";
inline constexpr std::string_view kFunctionFlushMode =
    "ERR FUNCTION FLUSH only supports SYNC|ASYNC option";
inline constexpr std::string_view kRestorePolicy =
    "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.";
inline constexpr std::string_view kLibraryNameArgMissing =
    "ERR library name argument was not given";
inline constexpr std::string_view kFunctionCodeMissing = "ERR Function code is missing";
inline constexpr std::string_view kLibraryNotFound = "ERR Library not found";
// SCRIPT DEBUG (Redis's wording, then shardnode's own limits).
inline constexpr std::string_view kDebugMode = "ERR Use SCRIPT DEBUG YES/SYNC/NO";
inline constexpr std::string_view kDebugInPipeline =
    "ERR SCRIPT DEBUG must be called outside a pipeline";
inline constexpr std::string_view kDebugEvalSha =
    "ERR Please use EVAL instead of EVALSHA for debugging";
inline constexpr std::string_view kDebugNeedsPlainSocket =
    "ERR SCRIPT DEBUG needs a client connection (a socket) in shardnode";
// A write refused inside a SCRIPT DEBUG YES session (its changes are rolled
// back at the end; shardnode saves keys, so keyless and cross-db writes
// cannot be).
inline constexpr std::string_view kDebugCannotRollBack =
    "This command can not be rolled back at the end of a SCRIPT DEBUG YES session (use SCRIPT "
    "DEBUG SYNC)";
// A script's reply nests deeper than the Lua stack allows.
inline constexpr std::string_view kLuaStackLimit = "ERR reached lua stack limit";
// A script raised an error table without an `err` string.
inline constexpr std::string_view kLuaUnknownError = "ERR unknown error";
// Why a script may not run a command (redis.call / redis.pcall): messages
// without a code, which the script gets as ERR errors (luaPushError).
inline constexpr std::string_view kScriptUnknownCommand =
    "Unknown Redis command called from script";
inline constexpr std::string_view kScriptWrongArity =
    "Wrong number of args calling Redis command from script";
inline constexpr std::string_view kScriptNoScriptCommand =
    "This Redis command is not allowed from script";
inline constexpr std::string_view kScriptStaleReplica =
    "Can not execute the command on a stale replica";
inline constexpr std::string_view kScriptWriteFromReadOnly =
    "Write commands are not allowed from read-only scripts.";
inline constexpr std::string_view kScriptClusterDownReadOnly =
    "Script attempted to execute a write command while the cluster is down and readonly";
inline constexpr std::string_view kScriptClusterDown =
    "Script attempted to execute a command while the cluster is down";
inline constexpr std::string_view kScriptNonLocalKey =
    "Script attempted to access a non local key in a cluster node";
inline constexpr std::string_view kScriptCrossSlot =
    "Script attempted to access keys that do not hash to the same slot";
// EVAL's shebang line, without the ERR code (script/shebang.h).
inline constexpr std::string_view kShebangInvalid = "Invalid script shebang";
inline constexpr std::string_view kShebangInvalidEngine = "Invalid engine in script shebang";
// Loading a library (FUNCTION LOAD / RESTORE, and the RDB loader), without
// the ERR code: FUNCTION replies them through Err().
inline constexpr std::string_view kLibraryMetadataMissing = "Missing library metadata";
inline constexpr std::string_view kLibraryMetadataInvalid = "Invalid library metadata";
inline constexpr std::string_view kLibraryNameRepeated =
    "Invalid metadata value, name argument was given multiple times";
inline constexpr std::string_view kLibraryNameNotGiven = "Library name was not given";
inline constexpr std::string_view kLibraryNameInvalid =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one "
    "character long";
inline constexpr std::string_view kNoFunctionsRegistered = "No functions registered";

// ---- Connections (node/net)
inline constexpr std::string_view kProtectedMode =
    "DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from the "
    "loopback interface. If you want to connect from external computers to Redis you may adopt "
    "one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG "
    "SET protected-mode no' from the loopback interface by connecting to Redis from the same "
    "host the server is running, however MAKE SURE Redis is not publicly accessible from "
    "internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    "you can just disable the protected mode by editing the Redis configuration file, and "
    "setting the protected mode option to 'no', and then restarting the server. 3) If you "
    "started the server manually just for testing, restart it with the '--protected-mode no' "
    "option. 4) Setup a an authentication password for the default user. NOTE: You only need to "
    "do one of the above things in order for the server to start accepting connections from "
    "the outside.";

// "MOVED <slot> <endpoint>:<port>" / "ASK ...".
std::string Moved(int slot, std::string_view endpoint, int port);
std::string Ask(int slot, std::string_view endpoint, int port);
// "ERR unknown command '<name>', with args beginning with: '<a>' '<b>' "
std::string UnknownCommand(std::string_view name, const std::string* args, size_t nargs);
// "ERR unknown subcommand '<sub>'. Try <PARENT> HELP."
std::string UnknownSubcommand(std::string_view parent, std::string_view sub);

// "ERR <message>": a core's absl::Status message that is already Redis's
// wording (ClusterState's admin errors, a load failure), or the RESP
// parser's "Protocol error: ..." text.
std::string Err(std::string_view message);
// Err(status.message()).
std::string Err(const absl::Status& status);
// "ERR wrong number of arguments for '<name>' command".
std::string WrongArity(std::string_view name);
// "ERR unknown subcommand or wrong number of arguments for '<sub>'. Try
// <PARENT> HELP." (Redis's addReplySubcommandSyntaxError).
std::string SubcommandSyntax(std::string_view parent, std::string_view sub);
// "ERR Syntax error in HELLO option '<option>'".
std::string HelloOption(std::string_view option);
// "ERR Unknown client type '<type>'" (CLIENT LIST / KILL TYPE).
std::string UnknownClientType(std::string_view type);
// "ERR No such user '<user>'" (CLIENT KILL USER).
std::string NoSuchUser(std::string_view user);
// DEBUG CLUSTERLINK KILL: "ERR Unknown node <id>", "ERR Unknown direction <dir>".
std::string UnknownNode(std::string_view id);
std::string UnknownDirection(std::string_view dir);
// "ERR Can't execute '<name>': only (P|S)SUBSCRIBE / ... are allowed in this context".
std::string NotAllowedWhileSubscribed(std::string_view name);
// "ERR invalid expire time in '<name>' command".
std::string InvalidExpireTime(std::string_view name);
// "ERR Unsupported option <option>" (EXPIRE family).
std::string UnsupportedOption(std::string_view option);
// "ERR at least 1 input key is needed for '<name>' command" (ZUNION...).
std::string NoInputKeys(std::string_view name);
// CLUSTER MEET: "ERR Invalid TCP base port specified: <port>", "ERR Invalid
// TCP bus port specified: <port>", "ERR Invalid node address specified: <ip>:<port>".
std::string InvalidBasePort(std::string_view port);
std::string InvalidBusPort(std::string_view port);
std::string InvalidNodeAddress(std::string_view ip, std::string_view port);
// "ERR error saving the cluster node config: <reason>".
std::string ClusterConfigSaveFailed(std::string_view reason);
// REPLCONF: "ERR REPLCONF ip-address provided by replica instance is too
// long: <n> bytes", "ERR Unrecognized REPLCONF option: <option>".
std::string ReplconfIpTooLong(size_t bytes);
std::string UnrecognizedReplconfOption(std::string_view option);
// "ERR Target instance replied with error: <error>" (MIGRATE passing on
// the target's error, without its '-').
std::string MigrateTargetError(std::string_view error);
// Scripting: "ERR Unknown argument <arg>" (FUNCTION LIST), "ERR Unknown
// option given: <option>" (FUNCTION LOAD).
std::string UnknownArgument(std::string_view arg);
std::string UnknownOptionGiven(std::string_view option);
// "ERR Error compiling script (new function): <Lua's message>".
std::string ScriptCompileError(std::string_view message);
// "ERR Error running script <name>, <message> ": a run that raised a value
// that is not an error table (`message`: Lua's text, at most 100 bytes).
std::string ScriptRunError(std::string_view name, std::string_view message);
// "ERR Error running script <name>, execution failure ": the same, when the
// raised value is not even a string.
std::string ScriptExecutionFailure(std::string_view name);
// "<error> script: <name>, on <source>:<line>.": a raised error table's
// text with where it was raised.
std::string ScriptErrorAt(std::string_view error, std::string_view name, std::string_view source,
                          std::string_view line);
// The shebang's failures without the ERR code: "Unexpected engine in script
// shebang: <engine>", "Unknown lua shebang option: <option>", "Unexpected
// flag in script shebang: <flag>".
std::string UnexpectedShebangEngine(std::string_view engine);
std::string UnknownShebangOption(std::string_view option);
std::string UnexpectedShebangFlag(std::string_view flag);
// A library's load failures without the ERR code: "Invalid metadata value
// given: <part>", "Engine '<engine>' not found", "Library '<name>' already
// exists", "Library <name> already exists" (FUNCTION RESTORE APPEND),
// "Function <name> already exists", "Error compiling function: <Lua's
// message>", "Error registering functions: <error>".
std::string InvalidMetadataValue(std::string_view part);
std::string EngineNotFound(std::string_view engine);
std::string LibraryExists(std::string_view name);
std::string LibraryExistsOnRestore(std::string_view name);
std::string FunctionExists(std::string_view name);
std::string FunctionCompileError(std::string_view message);
std::string FunctionRegisterError(std::string_view error);
// "-<error>\r\n": an error reply's RESP bytes, for writers that bypass the
// ReplyBuilder (a connection refused before it has a session, a full sync
// that failed).
std::string RespError(std::string_view error);

}  // namespace shardnode::node::errors
