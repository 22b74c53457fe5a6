// Acl: Redis 7.0.15's access control lists as a pure core. It owns the users
// (passwords as SHA-256 hex, on/off, selectors of commands, key patterns and
// channel patterns), parses ACL rules ("+@read", "~k*", "%W~w*", "&ch",
// "(...)" selectors, "reset"...), describes users back as ACL LIST and ACL
// GETUSER do, decides whether a user may run one command invocation, keeps
// the ACL LOG, and reads and writes the ACL file's text.
//
// It knows commands only through the catalog the node hands it
// (SetCommands: names, ACL categories, subcommands), and keys through what
// the caller found in the arguments (Check's `keys`): no sockets, no clock
// (times come in as arguments), no files (text in, text out).
//
// Users live at stable addresses until DelUser / LoadFile hand them back:
// sessions may keep a `const User*`; the caller must move sessions off a
// user it gets back before dropping it (Redis kills those clients).
//
// Loop: the node's main loop owns it; not thread-safe.
#pragma once

#include <bitset>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace shardnode::node::acl {

// Command bits per selector; the last one means "+@all was given" (future
// commands), as in Redis.
inline constexpr int kCommandBits = 1024;

// Redis's ACL_DENIED_* codes, in its order (the worst verdict of the
// selectors is reported: key and channel after command).
enum class Verdict { kOk = 0, kDeniedCmd = 1, kDeniedKey = 2, kDeniedAuth = 3, kDeniedChannel = 4 };

// Key pattern permissions (%R~, %W~, ~ is both).
inline constexpr int kRead = 1;
inline constexpr int kWrite = 2;

// One command of the catalog (a subcommand is "parent|sub").
struct CommandEntry {
  std::string name;
  uint32_t categories = 0;  // bits in kCategoryNames order
  bool no_auth = false;     // AUTH, HELLO: every user may run them
  int parent = -1;          // id of the container command
  std::vector<int> subs;    // ids of the subcommands
};

// The category names, bit i = 1 << i.
std::span<const std::string_view> CategoryNames();
// The category bit of `name` (any case), 0 when unknown.
uint32_t CategoryByName(std::string_view name);

struct KeyPattern {
  int flags = kRead | kWrite;
  std::string pattern;
};

struct Selector {
  bool root = false;
  bool allkeys = false;
  bool allchannels = false;
  bool allcommands = false;
  std::bitset<kCommandBits> allowed;
  // Allowed first arguments of otherwise denied commands (+select|0).
  std::map<int, std::vector<std::string>> firstargs;
  std::vector<KeyPattern> keys;
  std::vector<std::string> channels;
};

struct User {
  std::string name;
  bool enabled = false;  // on / off
  bool nopass = false;
  // skip-sanitize-payload / sanitize-payload (neither for a new user).
  bool sanitize_skip = false;
  bool sanitize = false;
  std::vector<std::string> passwords;  // SHA-256 hex, in the order added
  std::vector<Selector> selectors;     // [0] is the root selector

  // Every command, key and channel (the default user, as created).
  bool Unrestricted() const;
};

// One key argument of a command invocation: its index in the arguments and
// the permissions its key spec needs (kRead, kWrite or both).
struct KeyRef {
  int pos;
  int perms;
};

struct CheckResult {
  Verdict verdict = Verdict::kOk;
  int pos = 0;  // the denied key or channel's argument index
};

// One ACL LOG entry.
enum class LogContext { kToplevel, kMulti, kLua, kModule };
struct LogEntry {
  uint64_t count = 1;
  Verdict reason = Verdict::kDeniedCmd;
  LogContext context = LogContext::kToplevel;
  std::string object;
  std::string username;
  int64_t ctime_ms = 0;
  std::string client_info;
};
std::string_view ReasonName(Verdict v);
std::string_view ContextName(LogContext c);

// SHA-256 of `text` as 64 lower-case hex digits (Redis's ACLHashPassword).
std::string HashPassword(std::string_view text);

class Acl {
 public:
  // Creates the "default" user: on, nopass, every command, key and channel.
  Acl();

  // Installs the command catalog (ids are indexes). REQUIRES: called once,
  // before rules naming commands or categories are applied.
  void SetCommands(std::vector<CommandEntry> commands);
  int FindCommand(std::string_view name) const;  // any case; -1 if none
  const std::vector<CommandEntry>& commands() const { return commands_; }

  // acl-pubsub-default: whether new selectors (and "reset") get allchannels.
  void set_pubsub_default_all(bool all) { pubsub_all_ = all; }

  User* Find(std::string_view name);
  const User* Find(std::string_view name) const;
  User& default_user() { return *default_; }
  const User& default_user() const { return *default_; }
  // All users, in name order (ACL USERS / LIST / SAVE).
  const std::map<std::string, std::unique_ptr<User>>& users() const { return users_; }

  // ACL SETUSER name rules...: all rules applied or none. Returns the error
  // text ("Error in ACL SETUSER modifier '...': ..." or the unmatched
  // parenthesis one), or nullopt. `old` (may be null) receives a copy of the
  // user's state before the change when it existed (for ChannelsRevoked).
  std::optional<std::string> SetUser(std::string_view name, std::span<const std::string> rules,
                                     std::optional<User>* old = nullptr);
  // Removes `name`; nullptr when there is none. REQUIRES: not "default".
  std::unique_ptr<User> DelUser(std::string_view name);

  // requirepass: resetpass, then >password (or nopass when empty).
  void SetDefaultPassword(std::string_view password);

  // AUTH: whether `name` / `password` authenticate (on, nopass or a
  // matching password).
  bool CheckCredentials(std::string_view name, std::string_view password) const;

  // Whether `u` may run command `cmd_id` with `args` (args[0] the command
  // name; for a subcommand args[1] its name). `keys` is called at most once,
  // only when a selector restricts keys. Channels are found from the
  // command's name (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, PUBLISH, SPUBLISH).
  CheckResult Check(const User& u, int cmd_id, std::span<const std::string> args,
                    const std::function<std::vector<KeyRef>()>& keys) const;
  // Whether one selector of `u` allows the command and also `perms` on every
  // key (allkeys, or a "*" pattern with those permissions).
  bool CheckWithAllKeys(const User& u, int cmd_id, std::span<const std::string> args, int perms,
                        const std::function<std::vector<KeyRef>()>& keys) const;
  // Whether `u` may use `channel` (a pattern when `is_pattern`, matched
  // literally against its channel rules).
  bool CheckChannel(const User& u, std::string_view channel, bool is_pattern) const;
  // For a user whose rules changed from `old` to `now`: whether some of
  // its Pub/Sub clients may have lost a channel (else nothing to check).
  static bool ChannelsRevoked(const User& old, const User& now);
  // Whether a client of `u` subscribed to these may stay (after a change).
  static bool SubscriptionsAllowed(const User& u, std::span<const std::string> channels,
                                   std::span<const std::string> patterns);

  // ACL LIST's rules of one user (after "user <name> ").
  std::string Describe(const User& u) const;
  // ACL GETUSER's "commands" text of one selector.
  std::string DescribeCommands(const Selector& s) const;
  // ACL GETUSER's flag names of a user.
  static std::vector<std::string_view> Flags(const User& u);
  // ACL GETUSER's "keys" / "channels" texts of one selector.
  static std::string DescribeKeys(const Selector& s);
  static std::string DescribeChannels(const Selector& s);
  // ACL CAT category: the commands with that category bit.
  std::vector<std::string> CommandsInCategory(uint32_t bit) const;

  // ACL log.
  void AddLog(LogEntry entry, size_t max_len);
  const std::deque<LogEntry>& log() const { return log_; }
  void ResetLog() { log_.clear(); }

  // `user` lines of the config file: validated now (the error text Redis's
  // config loader prints after "Error in user declaration"), applied by
  // LoadConfigUsers. `args` is the whole line ("user", name, rules...).
  std::optional<std::string> AppendConfigUser(std::span<const std::string> args);
  bool has_config_users() const { return !config_users_.empty(); }
  // Applies them; returns the log line of the first failure.
  std::optional<std::string> LoadConfigUsers();
  // ACL LOAD / aclfile at startup: replaces every user with the file's
  // (the default user keeps its address, its rules are replaced). Returns
  // the error text (nothing changed) or nullopt; `replaced` receives the
  // users that were dropped (their clients must go).
  std::optional<std::string> LoadFile(std::string_view text, std::string_view filename,
                                      std::vector<std::unique_ptr<User>>* replaced);
  // ACL SAVE's file text.
  std::string SaveText() const;

  // The error text of a failed rule (Redis's ACLSetUserStringError).
  static const char* RuleError(int code);

 private:
  User* Create(std::string_view name);
  User NewUser(std::string_view name) const;
  Selector NewSelector(bool root) const;
  // ACLSetUser / ACLSetSelector: 0 or an error code (errno-like).
  int ApplyUserRule(User& u, std::string_view op) const;
  int ApplySelectorRule(Selector& s, std::string_view op) const;
  void ChangePerm(Selector& s, int id, bool allow) const;
  void SetBit(Selector& s, int id, bool allow) const;
  void SetCategory(Selector& s, uint32_t bit, bool allow) const;
  CheckResult CheckSelector(const Selector& s, int cmd_id, std::span<const std::string> args,
                            const std::function<std::vector<KeyRef>()>& keys,
                            std::optional<std::vector<KeyRef>>* cache) const;
  std::string DescribeSelector(const Selector& s) const;

  std::vector<CommandEntry> commands_;
  absl::flat_hash_map<std::string, int> by_name_;
  bool pubsub_all_ = false;
  std::map<std::string, std::unique_ptr<User>> users_;
  User* default_ = nullptr;
  std::deque<LogEntry> log_;
  // Config `user` lines: (name, merged rules).
  std::vector<std::vector<std::string>> config_users_;
};

// Redis's ACLMergeSelectorArguments: "(" ... ")" spread over several
// arguments joined by spaces. nullopt on an unmatched "(", with its index.
std::optional<std::vector<std::string>> MergeSelectorArgs(std::span<const std::string> args,
                                                          int* invalid_idx);

}  // namespace shardnode::node::acl
