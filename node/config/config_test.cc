#include "node/config/config.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

std::unique_ptr<Config> Parse(std::string_view text) {
  auto c = Config::FromText(text);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? *std::move(c) : nullptr;
}

std::string Value(const Config& c, std::string_view name) { return c.Value(name).value_or("?"); }

std::string ParseError(std::string_view text) {
  auto c = Config::FromText(text);
  EXPECT_FALSE(c.ok());
  return c.ok() ? "" : std::string(c.status().message());
}

// Shard threads read a snapshot of the options: CONFIG SET swaps in a new
// one and leaves the one a reader holds unchanged; a failed SET publishes
// nothing new.
TEST(ConfigTest, ConfigSetSwapsTheOptionsSnapshot) {
  auto c = Parse("maxmemory 100mb\n");
  std::shared_ptr<const ServerOptions> before = c->options_snapshot();
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(before->maxmemory, 100 * 1024 * 1024);
  ASSERT_TRUE(c->Set({{"maxmemory", "200mb"}}).ok());
  std::shared_ptr<const ServerOptions> after = c->options_snapshot();
  EXPECT_NE(after, before);
  EXPECT_EQ(after->maxmemory, 200 * 1024 * 1024);
  EXPECT_EQ(before->maxmemory, 100 * 1024 * 1024);
  EXPECT_FALSE(c->Set({{"maxmemory", "300mb"}, {"maxmemory-policy", "nope"}}).ok());
  EXPECT_EQ(c->options_snapshot(), after);
  // Direct writes show after PublishOptions.
  c->mutable_options().replicaof_port = 7000;
  EXPECT_EQ(c->options_snapshot()->replicaof_port, 0);
  c->PublishOptions();
  EXPECT_EQ(c->options_snapshot()->replicaof_port, 7000);
}

TEST(ConfigTest, DefaultsAreRedis7Defaults) {
  auto c = Parse("");
  const ServerOptions& o = c->options();
  EXPECT_EQ(o.port, 6379);
  EXPECT_EQ(o.databases, 16);
  EXPECT_FALSE(o.cluster_enabled);
  EXPECT_EQ(o.cluster_node_timeout, 15000);
  EXPECT_EQ(Value(*c, "save"), "3600 1 300 100 60 10000");
  EXPECT_EQ(Value(*c, "bind"), "* -::*");
  EXPECT_EQ(Value(*c, "loglevel"), "notice");
  EXPECT_EQ(Value(*c, "appendfsync"), "everysec");
  EXPECT_EQ(Value(*c, "proto-max-bulk-len"), "536870912");
  EXPECT_EQ(Value(*c, "client-output-buffer-limit"),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
  EXPECT_EQ(Value(*c, "latency-tracking-info-percentiles"), "50 99 99.9");
  EXPECT_EQ(Value(*c, "maxmemory-policy"), "noeviction");
  EXPECT_EQ(Value(*c, "unixsocketperm"), "0");
  EXPECT_EQ(Value(*c, "pidfile"), "");
  EXPECT_EQ(Value(*c, "threads"), "1");
  EXPECT_FALSE(c->Value("no-such-thing").has_value());
}

TEST(ConfigTest, GetStarListsEveryNameAndAliasButNotHidden) {
  auto c = Parse("");
  auto all = c->Get({"*"});
  std::map<std::string, std::string> m(all.begin(), all.end());
  EXPECT_EQ(all.size(), m.size());  // no duplicates
  // Redis 7.0.15 (TLS build) lists 192 entries; our `threads` is hidden.
  EXPECT_EQ(all.size(), 192u);
  EXPECT_FALSE(m.contains("threads"));
  EXPECT_EQ(m["slave-read-only"], "yes");
  EXPECT_EQ(m["replica-read-only"], "yes");
  EXPECT_EQ(m["lua-time-limit"], "5000");
  EXPECT_FALSE(m.contains("key-load-delay"));
  EXPECT_FALSE(m.contains("loading-process-events-interval-bytes"));
}

TEST(ConfigTest, GetExactNameKeepsCallerSpellingAndFindsHidden) {
  auto c = Parse("port 7000");
  EXPECT_THAT(c->Get({"PORT"}), ElementsAre(Pair("PORT", "7000")));
  // Duplicates by name (any case) are reported once.
  EXPECT_THAT(c->Get({"PORT", "port", "p?rt"}), ElementsAre(Pair("PORT", "7000")));
  EXPECT_THAT(c->Get({"key-load-delay"}), ElementsAre(Pair("key-load-delay", "0")));
  EXPECT_TRUE(c->Get({"key-load-*"}).empty());
  EXPECT_TRUE(c->Get({"nope"}).empty());
  EXPECT_THAT(c->Get({"SLAVE-READ*"}), ElementsAre(Pair("slave-read-only", "yes")));
  EXPECT_THAT(c->Get({"cluster-*-timeout"}), ElementsAre(Pair("cluster-node-timeout", "15000")));
}

TEST(ConfigTest, ParsesTypicalClusterConfig) {
  auto c = Parse(
      "# comment\n"
      "  port 30001  \r\n"
      "\n"
      "cluster-enabled yes\n"
      "cluster-config-file \"nodes-30001.conf\"\n"
      "cluster-node-timeout 500\n"
      "appendonly yes\n"
      "enable-protected-configs yes\n"
      "enable-debug-command yes\n"
      "logfile ''\n"
      "loglevel verbose\n"
      "bind 127.0.0.1 ::1\n"
      "save 900 1\n"
      "save 300 10\n"
      "maxmemory 1gb\n"
      "proto-max-bulk-len 100mb\n"
      "client-query-buffer-limit 2G\n"
      "repl-backlog-size 64k\n"
      "slave-serve-stale-data no\n"
      "cluster-slave-validity-factor 0\n"
      "notify-keyspace-events KEA\n"
      "list-max-ziplist-entries 512\n"
      "threads 4\n");
  const ServerOptions& o = c->options();
  EXPECT_EQ(o.port, 30001);
  EXPECT_TRUE(o.cluster_enabled);
  EXPECT_EQ(o.cluster_config_file, "nodes-30001.conf");
  EXPECT_EQ(o.cluster_node_timeout, 500);
  EXPECT_TRUE(o.appendonly);
  EXPECT_EQ(o.logfile, "");
  EXPECT_EQ(o.loglevel, LogLevel::kVerbose);
  EXPECT_THAT(o.bind, ElementsAre("127.0.0.1", "::1"));
  ASSERT_EQ(o.save.size(), 2u);
  EXPECT_EQ(o.save[1].seconds, 300);
  EXPECT_EQ(o.save[1].changes, 10);
  EXPECT_EQ(o.maxmemory, 1024LL * 1024 * 1024);
  EXPECT_EQ(o.proto_max_bulk_len, 100LL * 1024 * 1024);
  EXPECT_EQ(o.client_query_buffer_limit, 2000000000LL);
  EXPECT_EQ(o.repl_backlog_size, 64000);
  EXPECT_FALSE(o.replica_serve_stale_data);
  EXPECT_EQ(o.cluster_replica_validity_factor, 0);
  EXPECT_EQ(o.threads, 4);
  EXPECT_EQ(Value(*c, "notify-keyspace-events"), "AKE");
  EXPECT_EQ(Value(*c, "enable-debug-command"), "yes");
  EXPECT_EQ(Value(*c, "maxmemory"), "1073741824");
}

TEST(ConfigTest, SaveLinesReplaceDefaultsThenAccumulate) {
  EXPECT_EQ(Value(*Parse("save \"\"\n"), "save"), "");
  EXPECT_EQ(Value(*Parse("save \"\"\nsave 10 1\n"), "save"), "10 1");
  EXPECT_EQ(Value(*Parse("save 10 1\nsave \"\"\n"), "save"), "");
  EXPECT_EQ(Value(*Parse("save 10 1 20 2\nsave 30 3\n"), "save"), "10 1 20 2 30 3");
  // One quoted argument holding several values (as from --save "10 1").
  EXPECT_EQ(Value(*Parse("save \"10 1 20 2\"\n"), "save"), "10 1 20 2");
  EXPECT_THAT(ParseError("save 0 1\n"), HasSubstr("\nInvalid save parameters\n"));
  EXPECT_THAT(ParseError("save 10\n"), HasSubstr("Invalid save parameters"));
}

TEST(ConfigTest, ReplicaofAndAliases) {
  auto c = Parse("slaveof 10.0.0.1 6380\n");
  EXPECT_EQ(c->options().replicaof_host, "10.0.0.1");
  EXPECT_EQ(c->options().replicaof_port, 6380);
  EXPECT_EQ(Value(*c, "replicaof"), "10.0.0.1 6380");
  EXPECT_EQ(Value(*c, "slaveof"), "10.0.0.1 6380");
  EXPECT_EQ(Value(*Parse("replicaof 10.0.0.1 6380\nreplicaof no one\n"), "replicaof"), "");
  EXPECT_THAT(ParseError("replicaof h 70000\n"), HasSubstr("Invalid master port"));
  EXPECT_THAT(ParseError("cluster-enabled yes\nreplicaof h 1\n"),
              HasSubstr("\nreplicaof directive not allowed in cluster mode\n"));
}

TEST(ConfigTest, ErrorsNameTheLineAndReason) {
  EXPECT_EQ(ParseError("port 7000\nport abc\n"),
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
            "Reading the configuration file, at line 2\n"
            ">>> 'port abc'\n"
            "argument couldn't be parsed into an integer\n");
  EXPECT_THAT(ParseError("foo bar\n"), HasSubstr(">>> 'foo bar'\nBad directive or wrong number"));
  EXPECT_THAT(ParseError("port 1 2\n"), HasSubstr("\nwrong number of arguments\n"));
  EXPECT_THAT(ParseError("port 70000\n"),
              HasSubstr("argument must be between 0 and 65535 inclusive"));
  EXPECT_THAT(ParseError("daemonize maybe\n"), HasSubstr("argument must be 'yes' or 'no'"));
  EXPECT_THAT(ParseError("loglevel loud\n"),
              HasSubstr("argument(s) must be one of the following: debug, verbose, notice, "
                        "warning"));
  EXPECT_THAT(ParseError("maxmemory -1\n"), HasSubstr("argument must be a memory value"));
  EXPECT_THAT(ParseError("maxclients 0\n"),
              HasSubstr("argument must be between 1 and 4294967295 inclusive"));
  EXPECT_THAT(ParseError("dbfilename a/b.rdb\n"),
              HasSubstr("dbfilename can't be a path, just a filename"));
  EXPECT_THAT(ParseError("port \"7000\n"), HasSubstr("Unbalanced quotes in configuration line"));
  EXPECT_THAT(ParseError("port 01\n"), HasSubstr("couldn't be parsed into an integer"));
  EXPECT_THAT(ParseError("bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n"),
              HasSubstr("Too many bind addresses specified."));
  EXPECT_THAT(ParseError("cluster-announce-hostname bad_host\n"),
              HasSubstr("Hostnames may only contain alphanumeric characters, hyphens or dots"));
  EXPECT_THAT(ParseError("proc-title-template \"{title} {nope}\"\n"),
              HasSubstr("template format is invalid or contains unknown variables"));
  EXPECT_THAT(ParseError("proc-title-template {title}\n"), HasSubstr("template format"));
  EXPECT_EQ(Value(*Parse("proc-title-template \"{{x} {port}\"\n"), "proc-title-template"),
            "{{x} {port}");
  EXPECT_THAT(ParseError("maxmemory-clients 200%\n"),
              HasSubstr("percentage argument must be less or equal to 100"));
}

TEST(ConfigTest, HzIsClampedNotRejected) {
  EXPECT_EQ(Parse("hz 1000\n")->options().hz, 500);
  EXPECT_EQ(Parse("hz 0\n")->options().hz, 1);
}

TEST(ConfigTest, ValueFormats) {
  auto c = Parse(
      "unixsocketperm 700\n"
      "maxmemory-clients 10%\n"
      "oom-score-adj relative\n"
      "shutdown-on-sigterm \"save now\"\n"
      "latency-tracking-info-percentiles 50.0 99.5\n"
      "client-output-buffer-limit replica 1mb 2mb 10 pubsub 0 0 0\n");
  EXPECT_EQ(Value(*c, "unixsocketperm"), "700");
  EXPECT_EQ(Value(*c, "maxmemory-clients"), "10%");
  EXPECT_EQ(Value(*c, "oom-score-adj"), "yes");  // relative is an alias of yes
  EXPECT_EQ(Value(*c, "shutdown-on-sigterm"), "save now");
  EXPECT_EQ(Value(*c, "latency-tracking-info-percentiles"), "50 99.5");
  EXPECT_EQ(Value(*c, "client-output-buffer-limit"),
            "normal 0 0 0 slave 1048576 2097152 10 pubsub 0 0 0");
}

TEST(ConfigSetTest, SetsSeveralAtomically) {
  auto c = Parse("");
  std::vector<std::string> changed;
  c->on_change = [&](const std::string& name) { changed.push_back(name); };
  ASSERT_TRUE(c->Set({{"cluster-node-timeout", "3000"},
                      {"cluster-slave-validity-factor", "10"},
                      {"loading-process-events-interval-bytes", "2097152"},
                      {"key-load-delay", "0"},
                      {"repl-diskless-load", "disabled"},
                      {"cluster-announce-hostname", ""}})
                  .ok());
  EXPECT_EQ(c->options().cluster_node_timeout, 3000);
  EXPECT_THAT(changed, ElementsAre("cluster-node-timeout", "cluster-replica-validity-factor",
                                   "loading-process-events-interval-bytes", "key-load-delay",
                                   "repl-diskless-load", "cluster-announce-hostname"));

  // A bad value anywhere leaves everything as it was.
  absl::Status s = c->Set({{"cluster-node-timeout", "5000"}, {"maxmemory", "lots"}});
  EXPECT_EQ(s.message(),
            "CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be "
            "a memory value");
  EXPECT_EQ(c->options().cluster_node_timeout, 3000);
}

TEST(ConfigSetTest, ErrorStringsMatchRedis) {
  auto c = Parse("");
  EXPECT_EQ(c->Set({{"foo", "1"}, {"daemonize", "yes"}}).message(),
            "Unknown option or number of arguments for CONFIG SET - 'foo'");
  EXPECT_EQ(c->Set({{"daemonize", "yes"}, {"foo", "1"}}).message(),
            "CONFIG SET failed (possibly related to argument 'daemonize') - can't set "
            "immutable config");
  EXPECT_EQ(c->Set({{"dir", "/tmp"}}).message(),
            "CONFIG SET failed (possibly related to argument 'dir') - can't set protected "
            "config");
  EXPECT_EQ(c->Set({{"port", "1"}, {"PORT", "2"}}).message(),
            "CONFIG SET failed (possibly related to argument 'PORT') - duplicate parameter");
  EXPECT_EQ(c->Set({{"SLAVE-priority", "x"}}).message(),
            "CONFIG SET failed (possibly related to argument 'slave-priority') - argument "
            "couldn't be parsed into an integer");
  EXPECT_EQ(c->Set({{"save", "1 2 3"}}).message(),
            "CONFIG SET failed (possibly related to argument 'save') - Invalid save "
            "parameters");
  EXPECT_EQ(c->Set({{"replicaof", "h 1"}}).message(),
            "CONFIG SET failed (possibly related to argument 'replicaof') - can't set "
            "immutable config");
}

TEST(ConfigSetTest, ProtectedConfigsFollowEnableProtectedConfigs) {
  EXPECT_TRUE(Parse("enable-protected-configs yes")->Set({{"dbfilename", "x.rdb"}}).ok());
  auto local = Parse("enable-protected-configs local");
  EXPECT_FALSE(local->Set({{"dbfilename", "x.rdb"}}, /*local_client=*/false).ok());
  EXPECT_TRUE(local->Set({{"dbfilename", "x.rdb"}}, /*local_client=*/true).ok());
  EXPECT_EQ(local->options().dbfilename, "x.rdb");
}

TEST(ConfigSetTest, MultiArgValuesSplitOnSpaces) {
  auto c = Parse("");
  ASSERT_TRUE(c->Set({{"save", ""}}).ok());
  EXPECT_TRUE(c->options().save.empty());
  ASSERT_TRUE(c->Set({{"save", "900 1 300 10"}}).ok());
  EXPECT_EQ(Value(*c, "save"), "900 1 300 10");
  ASSERT_TRUE(c->Set({{"bind", "127.0.0.1 -::1"}}).ok());
  EXPECT_THAT(c->options().bind, ElementsAre("127.0.0.1", "-::1"));
  ASSERT_TRUE(c->Set({{"client-output-buffer-limit", "normal 33554432 16777216 60"}}).ok());
  EXPECT_EQ(Value(*c, "client-output-buffer-limit"),
            "normal 33554432 16777216 60 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
  ASSERT_TRUE(c->Set({{"appendonly", "yes"}, {"appendfsync", "no"}}).ok());
  EXPECT_TRUE(c->options().appendonly);
  EXPECT_EQ(c->options().appendfsync, AppendFsync::kNo);
  ASSERT_TRUE(c->Set({{"loglevel", "WARNING"}}).ok());
  EXPECT_EQ(c->options().loglevel, LogLevel::kWarning);
  EXPECT_EQ(Value(*c, "loglevel"), "warning");
  ASSERT_TRUE(c->Set({{"hz", "1000"}}).ok());
  EXPECT_EQ(Value(*c, "hz"), "500");
}

TEST(ConfigRewriteTest, UpdatesInPlaceBlanksExtrasAndAppends) {
  const std::string old_file =
      "# my comment\n"
      "port 16398\n"
      "save 900 1\n"
      "save 300 10\n"
      "slave-read-only yes\n"
      "\n"
      "\n"
      "logfile \"\"\n"
      "appendonly no\n"
      "rename-command FOO \"\"\n"
      "unknownthing 1\n";
  auto c = Parse(old_file.substr(0, old_file.find("unknownthing")));
  ASSERT_TRUE(c->Set({{"cluster-node-timeout", "3000"},
                      {"save", "60 5"},
                      {"maxmemory", "1gb"},
                      {"notify-keyspace-events", "KEA"},
                      {"slave-read-only", "no"},
                      {"client-output-buffer-limit", "normal 1mb 2000 5"},
                      {"bind", "127.0.0.1"}})
                  .ok());
  c->mutable_options().dir = "/data/node 1";
  EXPECT_EQ(c->RewriteText(old_file),
            "# my comment\n"
            "port 16398\n"
            "save 60 5\n"
            "\n"
            "replica-read-only no\n"
            "\n"
            "logfile \"\"\n"
            "appendonly no\n"
            "rename-command FOO \"\"\n"
            "# ??? unknownthing 1\n"
            "\n"
            "# Generated by CONFIG REWRITE\n"
            "cluster-node-timeout 3000\n"
            "maxmemory 1gb\n"
            "dir \"/data/node 1\"\n"
            "client-output-buffer-limit normal 1mb 2000 5\n"
            "notify-keyspace-events \"AKE\"\n"
            "bind 127.0.0.1\n"
            "latency-tracking-info-percentiles 50 99 99.9\n");
}

TEST(ConfigRewriteTest, RewrittenFileParsesBackToTheSameValues) {
  auto c = Parse("port 7001\ncluster-enabled yes\n");
  ASSERT_TRUE(c->Set({{"save", ""},
                      {"masterauth", "pa ss\"word"},
                      {"maxmemory-clients", "5%"},
                      {"requirepass", ""},
                      {"cluster-announce-hostname", "host-1.example"}})
                  .ok());
  std::string text = c->RewriteText("port 7001\ncluster-enabled yes\n");
  auto again = Parse(text);
  ASSERT_NE(again, nullptr);
  for (const char* name : {"port", "cluster-enabled", "save", "masterauth", "maxmemory-clients",
                           "requirepass", "cluster-announce-hostname", "bind"}) {
    EXPECT_EQ(Value(*again, name), Value(*c, name)) << name;
  }
  // As in Redis, the file's final newline yields one blank line at the end
  // on the next rewrite; from then on rewriting changes nothing.
  std::string second = again->RewriteText(text);
  EXPECT_EQ(second, text + "\n");
  EXPECT_EQ(again->RewriteText(second), second);
}

// DEBUG CONFIG-REWRITE-FORCE-ALL (the unit/introspection "CONFIG REWRITE
// sanity" test): every directive is written, defaults included, and the
// file parses back to the same CONFIG GET * as before.
TEST(ConfigRewriteTest, ForceAllWritesDefaultsAndParsesBack) {
  auto c = Parse("port 7001\n");
  const std::string plain = c->RewriteText("port 7001\n");
  EXPECT_THAT(plain, Not(HasSubstr("\nhz ")));
  const std::string text = c->RewriteText("port 7001\n", {}, {}, /*force_all=*/true);
  EXPECT_THAT(text, HasSubstr("\nhz 10\n"));
  EXPECT_THAT(text, HasSubstr("\nappendonly no\n"));
  EXPECT_THAT(text, HasSubstr("\nmaxmemory-policy noeviction\n"));
  auto again = Parse(text);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->Get({"*"}), c->Get({"*"}));
}

TEST(ConfigRewriteTest, NoFileIsAnError) {
  EXPECT_EQ(Parse("")->Rewrite().message(), "The server is running without a config file");
}

// FromArgs is live (it may chdir), so these tests restore the cwd.
class ConfigArgsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_cwd_ = std::filesystem::current_path();
    dir_ = std::filesystem::temp_directory_path() /
           ("shardnode_config_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_ / "sub");
  }
  void TearDown() override {
    std::filesystem::current_path(old_cwd_);
    std::filesystem::remove_all(dir_);
  }
  void Write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }
  absl::StatusOr<std::unique_ptr<Config>> Run(std::vector<std::string> args) {
    std::vector<const char*> argv = {"shardnode"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    return Config::FromArgs(static_cast<int>(argv.size()), argv.data());
  }
  std::filesystem::path old_cwd_;
  std::filesystem::path dir_;
};

TEST_F(ConfigArgsTest, FileThenOptionsOverride) {
  std::filesystem::path conf = dir_ / "node.conf";
  Write(conf, "port 7000\ndir " + (dir_ / "sub").string() + "\nlogfile log.txt\n");
  auto c = Run({conf.string(), "--port", "7001", "--save", "--bind", "127.0.0.1", "::1",
                "--cluster-enabled", "yes"});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ((*c)->config_file(), conf.string());
  EXPECT_EQ((*c)->options().port, 7001);
  EXPECT_TRUE((*c)->options().save.empty());
  EXPECT_THAT((*c)->options().bind, ElementsAre("127.0.0.1", "::1"));
  EXPECT_TRUE((*c)->options().cluster_enabled);
  // dir took effect before the log file was opened, as in Redis.
  EXPECT_EQ(std::filesystem::current_path(), dir_ / "sub");
  EXPECT_EQ((*c)->options().dir, (dir_ / "sub").string());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "sub" / "log.txt"));
}

TEST_F(ConfigArgsTest, OptionErrorsCountLinesAfterTheFile) {
  std::filesystem::path conf = dir_ / "node.conf";
  Write(conf, "port 7000\n");
  auto c = Run({conf.string(), "--port", "x"});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("at line 3\n>>> 'port \"x\"'\n"));
}

TEST_F(ConfigArgsTest, MissingFile) {
  auto c = Run({(dir_ / "nope.conf").string()});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("Fatal error, can't open config file '"));
  EXPECT_THAT(c.status().message(), HasSubstr("No such file or directory"));
}

// Sentinel mode (Redis's rewriteConfigSaveOption): no save lines are
// written and the file's own are dropped.
TEST_F(ConfigArgsTest, SentinelRewriteHasNoSaveLines) {
  std::filesystem::path conf = dir_ / "sentinel.conf";
  const std::string old = "port 26390\nsave 60 1\n";
  Write(conf, old);
  const std::string path = conf.string();
  const char* argv[] = {"shardnode", path.c_str()};
  auto c = Config::FromArgs(2, argv, /*sentinel_mode=*/true);
  ASSERT_TRUE(c.ok()) << c.status().message();
  const std::string text = (*c)->RewriteText(old);
  EXPECT_THAT(text, HasSubstr("port 26390\n"));
  EXPECT_THAT(text, HasSubstr("protected-mode no\n"));
  EXPECT_THAT(text, Not(HasSubstr("save")));
}

TEST_F(ConfigArgsTest, RewriteWritesTheFile) {
  std::filesystem::path conf = dir_ / "node.conf";
  Write(conf, "port 7000\n# keep me\n");
  auto c = Run({conf.string()});
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE((*c)->Set({{"cluster-node-timeout", "3000"}}).ok());
  ASSERT_TRUE((*c)->Rewrite().ok());
  std::ifstream in(conf);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_THAT(ss.str(), HasSubstr("port 7000\n# keep me\n"));
  EXPECT_THAT(ss.str(), HasSubstr("# Generated by CONFIG REWRITE\ncluster-node-timeout 3000\n"));
  auto again = Run({conf.string()});
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ((*again)->options().cluster_node_timeout, 3000);
}

TEST(ConfigHelpersTest, SplitArgsLikeRedis) {
  EXPECT_THAT(*SplitConfigArgs("  a  b\tc "), ElementsAre("a", "b", "c"));
  EXPECT_THAT(*SplitConfigArgs("save \"\""), ElementsAre("save", ""));
  EXPECT_THAT(*SplitConfigArgs("x \"a\\x41\\n\\\"\" 'it\\'s'"), ElementsAre("x", "aA\n\"", "it's"));
  EXPECT_FALSE(SplitConfigArgs("x \"abc").has_value());
  EXPECT_FALSE(SplitConfigArgs("x \"abc\"d").has_value());
  EXPECT_FALSE(SplitConfigArgs("x 'abc").has_value());
  EXPECT_TRUE(SplitConfigArgs("   ")->empty());
}

TEST(ConfigHelpersTest, QuoteRoundTrips) {
  std::string raw("a \"b\"\\\n\x01", 8);
  EXPECT_EQ(QuoteConfigArg(raw), "\"a \\\"b\\\"\\\\\\n\\x01\"");
  EXPECT_THAT(*SplitConfigArgs(QuoteConfigArg(raw)), ElementsAre(raw));
}

TEST(ConfigHelpersTest, MemoryUnits) {
  EXPECT_EQ(ParseMemory("100"), 100u);
  EXPECT_EQ(ParseMemory("1k"), 1000u);
  EXPECT_EQ(ParseMemory("1KB"), 1024u);
  EXPECT_EQ(ParseMemory("3mb"), 3u * 1024 * 1024);
  EXPECT_EQ(ParseMemory("2g"), 2000000000u);
  EXPECT_EQ(ParseMemory("1gb"), 1024u * 1024 * 1024);
  EXPECT_EQ(ParseMemory("5b"), 5u);
  EXPECT_FALSE(ParseMemory("-1").has_value());
  EXPECT_FALSE(ParseMemory("1tb").has_value());
  EXPECT_FALSE(ParseMemory("1.5mb").has_value());
}

}  // namespace
}  // namespace shardnode::node

namespace shardnode::node {
namespace {

// Sentinel's lines go through the same rewrite (issue 14): each replaces the
// next old line of its "sentinel <kw>" key in place, new ones are appended
// after the signature, and stale lines of a processed key are blanked.
TEST(ConfigTest, RewriteSentinelLinesInPlace) {
  auto c = Parse("port 26001\n");
  c->mutable_options().dir = "/s";
  const std::string old_file =
      "port 26001\n"
      "sentinel down-after-milliseconds mymaster 3000\n"
      "# keep me\n"
      "sentinel monitor mymaster 127.0.0.1 16001 2\n"
      "sentinel known-replica mymaster 127.0.0.1 16009\n"
      "sentinel monitor gone 127.0.0.1 16100 2\n";
  std::vector<Config::ExtraLine> extra = {
      {"sentinel myid", "sentinel myid " + std::string(40, 'a'), true},
      {"sentinel monitor", "sentinel monitor mymaster 127.0.0.1 16003 2", true},
      {"sentinel down-after-milliseconds", "sentinel down-after-milliseconds mymaster 3000", true},
      {"sentinel known-replica", "sentinel known-replica mymaster 127.0.0.1 16001", true},
      {"sentinel current-epoch", "sentinel current-epoch 1", true},
  };
  std::string text =
      c->RewriteText(old_file, extra, {"sentinel monitor", "sentinel known-replica"});
  EXPECT_EQ(text.substr(0, text.find("# Generated")),
            "port 26001\n"
            "sentinel down-after-milliseconds mymaster 3000\n"
            "# keep me\n"
            "sentinel monitor mymaster 127.0.0.1 16003 2\n"
            "sentinel known-replica mymaster 127.0.0.1 16001\n"
            "\n");
  const std::string tail = text.substr(text.find("# Generated by CONFIG REWRITE\n"));
  EXPECT_NE(tail.find("\nsentinel myid " + std::string(40, 'a') + "\n"), std::string::npos);
  EXPECT_LT(tail.find("sentinel myid"), tail.find("sentinel current-epoch 1\n"));
  EXPECT_EQ(text.find("gone"), std::string::npos);
}

// Sentinel mode keeps the sentinel lines for the sentinel; a data node
// refuses them.
TEST(ConfigTest, SentinelLinesOnlyInSentinelMode) {
  auto c = Config::FromText("sentinel monitor m 127.0.0.1 6379 2\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("sentinel directive while not in sentinel mode"),
            std::string::npos);
}

}  // namespace
}  // namespace shardnode::node
