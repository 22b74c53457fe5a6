// Config: the node's configuration, parsed from a redis.conf-style file and
// "--name value" command-line overrides, and served to CONFIG GET / SET /
// REWRITE. It owns the ServerOptions (typed fields the node reads) and, for
// every other Redis 7.0.15 directive, a name -> value store so that those
// directives are accepted, validated, shown by CONFIG GET and rewritten
// exactly as Redis does, even though the node does not act on them.
//
// The directive table (names, aliases, types, ranges, defaults, which are
// immutable) mirrors Redis 7.0.15's standardConfig table; see directives.cc.
// The code is split by concern: the table (directives.cc), value parsers
// (values.cc), loading from argv and files (load.cc), CONFIG GET / SET
// (config.cc) and CONFIG REWRITE (rewrite.cc), sharing internal/directive.h.
//
// Side effects: a Config made by FromArgs is "live": the `dir` directive
// changes the process working directory (as Redis does, so that relative
// logfile / nodes.conf / dump paths resolve against it), and the logfile is
// test-opened at the end of parsing. A Config made by FromText is inert
// (useful for tests): `dir` is only recorded. Nothing here logs.
//
// Loop: the control loop owns it; not thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/config/glob.h"
#include "node/config/options.h"

namespace shardnode::node {

class Config {
 public:
  // Parses a redis-server command line. argv[1], when it does not start
  // with '-', is the config file; "-" (first or last) reads stdin too; every
  // "--name [args...]" becomes the line "name args..." appended after the
  // file's text, exactly as redis-server 7.0.15 does (so a "--name" takes
  // every argument up to the next "--x"; a bare "--save" means save "").
  // On failure the status message is the complete text to print on stderr
  // before exiting with code 1, e.g.
  //   "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
  //   "Reading the configuration file, at line 2\n"
  //   ">>> 'port abc'\n"
  //   "argument couldn't be parsed into an integer\n"
  // except when the file cannot be read, where it is Redis's log line text
  // "Fatal error, can't open config file '<path>': <strerror>" (log it at
  // warning level, then exit 1).
  // The returned Config is live (see above): parsing may chdir.
  // With `sentinel_mode` (Redis Sentinel): port defaults to 26379 and
  // protected-mode to no, and `sentinel ...` lines are kept, unparsed, in
  // sentinel_lines() for the sentinel to apply (a bare `sentinel` is
  // ignored); otherwise they are the fatal "sentinel directive while not in
  // sentinel mode".
  static absl::StatusOr<std::unique_ptr<Config>> FromArgs(int argc, const char* const* argv,
                                                          bool sentinel_mode = false);
  // Parses config-file text with the same rules, without side effects.
  static absl::StatusOr<std::unique_ptr<Config>> FromText(std::string_view text);

  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;

  const ServerOptions& options() const { return options_; }
  // Changes with every directive set (file, command line, CONFIG SET, even
  // one rolled back) and is never the same for two Config objects once set:
  // a value derived from a directive's text (Value()) stays valid while
  // this does not change.
  uint64_t generation() const { return generation_; }
  // Direct writes are allowed (e.g. the port actually bound); CONFIG GET and
  // REWRITE read these fields, so they show the change. Follow them with
  // PublishOptions.
  ServerOptions& mutable_options() { return options_; }

  // An immutable copy of options(), for threads other than the control
  // loop (shard threads): a reader keeps the copy it loaded for as long as
  // it needs it; Set (CONFIG SET) and PublishOptions swap in a new one and
  // never change a published one. Published once the file and command line
  // are parsed (FromText, FromArgs); null before. Any thread.
  std::shared_ptr<const ServerOptions> options_snapshot() const {
    return snapshot_.load(std::memory_order_acquire);
  }
  // Publishes options() as the snapshot (after direct writes). Control loop.
  void PublishOptions() {
    snapshot_.store(std::make_shared<const ServerOptions>(options_), std::memory_order_release);
  }

  // Absolute path of the config file given on the command line, or "".
  const std::string& config_file() const { return config_file_; }

  // CONFIG SET of one or several (name, value) pairs, all or nothing. Names
  // are case-insensitive and may be aliases (slaveof, slave-read-only...).
  // Multi-argument directives (save, bind, client-output-buffer-limit...)
  // take their arguments in one value separated by single spaces. Errors,
  // as Redis 7.0.15 words them (messages without Redis's "ERR " code, which
  // CONFIG SET adds through node/commands/errors.h's Err):
  //   "Unknown option or number of arguments for CONFIG SET - 'name'"
  //   "CONFIG SET failed (possibly related to argument 'name') - reason"
  // where reason is e.g. "can't set immutable config", "can't set protected
  // config" (dir, dbfilename unless enable-protected-configs is yes, or
  // local and `local_client`), "duplicate parameter", or the value error.
  // On success calls on_change for each pair, in order.
  absl::Status Set(const std::vector<std::pair<std::string, std::string>>& pairs,
                   bool local_client = false);

  // CONFIG GET: (name, value) for every directive matching any pattern.
  // A pattern without *?[ is an exact, case-insensitive lookup (hidden
  // directives such as key-load-delay included) and is reported under the
  // name as given; glob patterns match case-insensitively against every
  // non-hidden name and alias. Each directive appears once. Values are
  // formatted as Redis formats them.
  std::vector<std::pair<std::string, std::string>> Get(
      const std::vector<std::string>& patterns) const;

  // The CONFIG GET text of one directive (name or alias, any case), or
  // nullopt when there is no such directive. For the directives the node
  // does not model in ServerOptions (e.g. "notify-keyspace-events",
  // "maxmemory-policy", "key-load-delay"), this is how to read them.
  std::optional<std::string> Value(std::string_view name) const;
  // Value() of an integer directive, or `fallback` when unknown.
  int64_t IntValue(std::string_view name, int64_t fallback) const;

  // CONFIG REWRITE: rewrites config_file() in place as Redis does: lines of
  // known directives are updated where they are (extra lines of a directive
  // are blanked), comments and include/rename-command lines are kept,
  // unknown lines become "# ??? <line>", and non-default values not yet in
  // the file are appended after a "# Generated by CONFIG REWRITE" line. The
  // file is replaced atomically (temp file, fsync, rename, fsync dir).
  // Errors (without Redis's "ERR " code, as Set's): "The server is running
  // without a config file" when there is no file; "Rewriting config file:
  // <strerror>" on I/O failure.
  //
  // `extra`: lines of other owners (Sentinel's), after the directives, each
  // under its key ("sentinel myid"): it replaces the next old line of that
  // key in place, or is appended when `force`. Old lines of `extra_keys`
  // not reused are blanked. Old `sentinel <kw>` lines are indexed under
  // "sentinel <kw>".
  //
  // `force_all` (DEBUG CONFIG-REWRITE-FORCE-ALL): every directive is
  // written, those at their default too (but for the ones Redis leaves out
  // when unset: a null string, the default bind, replicaof on a primary).
  struct ExtraLine {
    std::string key;
    std::string line;
    bool force;
  };
  absl::Status Rewrite(const std::vector<ExtraLine>& extra = {},
                       const std::vector<std::string>& extra_keys = {}, bool force_all = false);
  // The text Rewrite() would write, given the current file content (empty
  // when the file does not exist). Pure; exposed for tests.
  std::string RewriteText(std::string_view old_content, const std::vector<ExtraLine>& extra = {},
                          const std::vector<std::string>& extra_keys = {},
                          bool force_all = false) const;

  // Sentinel mode: the `sentinel ...` lines read, in order, with their line
  // number and text for error messages.
  struct SentinelLine {
    int linenum;
    std::string line;
    std::vector<std::string> args;  // without the leading "sentinel"
  };
  const std::vector<SentinelLine>& sentinel_lines() const { return sentinel_lines_; }

  // `user` lines of the config file (ACL users), in order: args[0] is
  // "user". The node validates and applies them (node/acl).
  struct UserLine {
    int linenum;
    std::string line;
    std::vector<std::string> args;
  };
  const std::vector<UserLine>& user_lines() const { return user_lines_; }

  // rename-command lines of the config file, in order: (from, to); `to`
  // empty means the command is removed. The command table applies them.
  const std::vector<std::pair<std::string, std::string>>& renamed_commands() const {
    return renamed_commands_;
  }

  // Called after a successful Set, once per changed directive, with the
  // directive's canonical (primary) name, so the node can apply it live.
  std::function<void(const std::string& name)> on_change;

  ~Config();

  // One row of the directive table (defined in internal/directive.h).
  struct Directive;

 private:
  explicit Config(bool live);
  absl::Status LoadText(std::string_view text, int depth);
  absl::Status SetDirective(const Directive& d, std::vector<std::string> args, bool from_file);
  std::string GetDirective(const Directive& d) const;

  ServerOptions options_;
  std::atomic<std::shared_ptr<const ServerOptions>> snapshot_;
  uint64_t generation_ = 0;
  bool live_;
  bool reading_file_ = false;
  bool save_loaded_ = false;
  std::string config_file_;
  // Values of the directives without a ServerOptions field, by primary name.
  absl::flat_hash_map<std::string, std::string> generic_;
  std::vector<std::pair<std::string, std::string>> renamed_commands_;
  bool sentinel_mode_ = false;
  std::vector<SentinelLine> sentinel_lines_;
  std::vector<UserLine> user_lines_;
};

// Splits one config line into arguments as Redis's sdssplitargs does:
// blanks separate; "double quotes" with \n \r \t \b \a \\ \" \xHH escapes;
// 'single quotes' with \' only. A closing quote must be followed by a blank
// or the end. Returns nullopt on unbalanced quotes.
std::optional<std::vector<std::string>> SplitConfigArgs(std::string_view line);
// The quoted form Redis writes (sdscatrepr): "..." with \\ \" \n \r \t \a \b
// escaped and other non-printable bytes as \xHH.
std::string QuoteConfigArg(std::string_view s);
// Redis's memtoull: digits with an optional unit b, k, kb, m, mb, g, gb (any
// case; k = 1000, kb = 1024). nullopt on a bad value or a leading '-'.
std::optional<uint64_t> ParseMemory(std::string_view s);

}  // namespace shardnode::node
