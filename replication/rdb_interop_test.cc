// Interop with a real redis-server 7.0.15: it loads the files and DUMP
// payloads we write, and we read what it writes back. Starts redis-server on
// 127.0.0.1 with a free port and stops it by pid; skipped when
// /usr/bin/redis-server or /usr/bin/redis-cli is missing.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "replication/rdb.h"
#include "replication/rdb_test_util.h"

namespace shardnode::replication {
namespace {

using ::shardnode::replication::testing::Normalized;
using ::shardnode::replication::testing::ReadFile;
using ::shardnode::replication::testing::SampleEntries;

constexpr char kServer[] = "/usr/bin/redis-server";
constexpr char kCli[] = "/usr/bin/redis-cli";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// One redis-server process in its own temporary directory.
class RedisServer {
 public:
  ~RedisServer() { Stop(); }

  // Starts a server that loads `dir`/dump.rdb if present.
  bool Start(const std::string& dir) {
    dir_ = dir;
    port_ = FreePort();
    pid_ = fork();
    if (pid_ == 0) {
      // Quiet: a refused file makes redis-server print a report to stdout.
      int null_fd = open("/dev/null", O_WRONLY);
      dup2(null_fd, STDOUT_FILENO);
      dup2(null_fd, STDERR_FILENO);
      std::string port = std::to_string(port_);
      execl(kServer, kServer, "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", dir.c_str(), "--dbfilename", "dump.rdb", "--logfile",
            "redis.log", "--daemonize", "no", static_cast<char*>(nullptr));
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;  // exited: most likely it refused the file
      }
      if (Cli("PING") == "PONG\n") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  // Runs redis-cli with `args` (already shell-quoted where needed) and
  // returns its raw output; `stdin_path` feeds -x.
  std::string Cli(const std::string& args, const std::string& stdin_path = "") const {
    std::string cmd = absl::StrCat(kCli, " -h 127.0.0.1 -p ", port_, " --raw ", args);
    if (!stdin_path.empty()) cmd += " < " + Quote(stdin_path);
    cmd += " 2>&1";
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    pclose(p);
    return out;
  }

  std::string Log() const { return ReadFile(dir_ + "/redis.log"); }

 private:
  std::string dir_;
  int port_ = -1;
  pid_t pid_ = -1;
};

class RdbInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kServer, X_OK) != 0 || access(kCli, X_OK) != 0) {
      GTEST_SKIP() << "redis-server/redis-cli not installed at /usr/bin; interop not checked";
    }
    char tmpl[] = "/tmp/rdb_interop_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    server_.Stop();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Has the server save its dataset and returns the file, decoded.
  RdbFile SaveAndRead() {
    EXPECT_EQ(server_.Cli("SAVE"), "OK\n");
    absl::StatusOr<RdbFile> file = ReadRdb(ReadFile(dir_ + "/dump.rdb"));
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? *file : RdbFile();
  }

  std::string dir_;
  RedisServer server_;
};

TEST_F(RdbInteropTest, RedisLoadsOurFileAndWritesBackTheSameData) {
  std::vector<RdbEntry> entries = SampleEntries();
  WriteFile(dir_ + "/dump.rdb", WriteRdb(entries));
  ASSERT_TRUE(server_.Start(dir_)) << server_.Log();
  size_t db0 = 0;
  for (const auto& e : entries) db0 += e.db == 0 ? 1 : 0;
  EXPECT_EQ(server_.Cli("DBSIZE"), absl::StrCat(db0, "\n"));
  EXPECT_EQ(server_.Cli("-n 1 DBSIZE"), "2\n");
  EXPECT_EQ(server_.Cli("GET s:raw"), "hello world\n");
  EXPECT_EQ(server_.Cli("LRANGE l:small 0 3"), "a\n1\n-5\n300\n");
  EXPECT_EQ(server_.Cli("LLEN l:big"), "3002\n");
  EXPECT_EQ(
      server_.Cli("ZRANGE z:small 0 -1 WITHSCORES"),
      "c\n-inf\nf\n-0.5\ng\n0.10000000000000001\na\n1\nb\n2.5\nh\n2.5\ne\n1.0000000000000001e+"
      "300\nd\ninf\n");
  EXPECT_EQ(server_.Cli("ZSCORE z:big m7"), "10.5\n");
  EXPECT_EQ(server_.Cli("HGET h:big f150"), "v150\n");
  EXPECT_EQ(server_.Cli("PEXPIRETIME s:exp"), "4102444800000\n");
  EXPECT_EQ(server_.Cli("-n 1 PEXPIRETIME db1:list"), "4102444800999\n");
  EXPECT_EQ(server_.Cli("OBJECT ENCODING h:small"), "listpack\n");
  EXPECT_EQ(server_.Cli("OBJECT ENCODING h:big"), "hashtable\n");
  EXPECT_EQ(server_.Cli("OBJECT ENCODING set:int"), "intset\n");
  EXPECT_EQ(server_.Cli("OBJECT ENCODING z:small"), "listpack\n");
  EXPECT_EQ(server_.Cli("OBJECT ENCODING z:big"), "skiplist\n");
  EXPECT_EQ(server_.Cli("OBJECT ENCODING l:big"), "quicklist\n");
  EXPECT_EQ(server_.Cli("OBJECT ENCODING s:int16"), "int\n");
  // Sorted-set listpacks must be in order for ZRANK to be right.
  EXPECT_EQ(server_.Cli("ZRANK z:small h"), "5\n");
  EXPECT_EQ(Normalized(SaveAndRead().entries), Normalized(entries));
}

TEST_F(RdbInteropTest, RedisLoadsLegacyEncodingsWeWrite) {
  WriteFile(dir_ + "/dump.rdb", testing::LegacyFile().Finish());
  ASSERT_TRUE(server_.Start(dir_)) << server_.Log();
  EXPECT_EQ(server_.Cli("DBSIZE"), "8\n");
  EXPECT_EQ(Normalized(SaveAndRead().entries), Normalized(testing::LegacyEntries()));
}

// Redis RESTOREs each sample value from `make_payload`'s bytes, and its
// DUMP of the restored key parses back to the same value here.
void ExpectRedisRestores(RedisServer& server, const std::string& dir, const std::string& prefix,
                         std::string (*make_payload)(const RdbValue&)) {
  for (const RdbEntry& e : SampleEntries()) {
    std::string path = dir + "/payload";
    WriteFile(path, make_payload(e.value));
    std::string key = prefix + e.key;
    ASSERT_EQ(server.Cli("-x RESTORE " + Quote(key) + " 0", path), "OK\n") << e.key;
    // --raw prints the bulk string as is, plus a newline.
    std::string dump = server.Cli("DUMP " + Quote(key));
    ASSERT_FALSE(dump.empty());
    dump.pop_back();
    absl::StatusOr<RdbValue> v = ParseDumpPayload(dump);
    ASSERT_TRUE(v.ok()) << e.key << ": " << v.status();
    EXPECT_EQ(Normalized(*v), Normalized(e.value)) << e.key;
  }
}

TEST_F(RdbInteropTest, RestoreAcceptsOurPayloadsAndWeParseRedisDumps) {
  ASSERT_TRUE(server_.Start(dir_)) << server_.Log();
  ExpectRedisRestores(server_, dir_, "restored:", [](const RdbValue& v) { return DumpPayload(v); });
}

TEST_F(RdbInteropTest, RestoreAcceptsPayloadsBuiltInPieces) {
  ASSERT_TRUE(server_.Start(dir_)) << server_.Log();
  ExpectRedisRestores(server_, dir_,
                      "pieces:", [](const RdbValue& v) { return testing::BuildDumpInPieces(v); });
}

// A stream with two nodes (one with a deleted entry and an entry whose
// fields differ from the master's), a group with pending entries owned by
// two consumers, and an empty group.
RdbValue SampleStream() {
  RdbValue v;
  v.type = RdbType::kStream;
  RdbStream& s = v.stream;
  RdbStreamNode n1;
  n1.master = {1000, 0};
  n1.master_fields = {"name", "qty"};
  n1.entries = {{{1000, 0}, false, {"name", "apple", "qty", "3"}},
                {{1000, 1}, true, {"name", "pear", "qty", "100000"}},
                {{1001, 5}, false, {"other", std::string(300, 'x')}}};
  RdbStreamNode n2;
  n2.master = {2000, 7};
  n2.master_fields = {"f"};
  n2.entries = {{{2000, 7}, false, {"f", "-12"}}, {{5000, 0}, false, {"f", ""}}};
  s.nodes = {n1, n2};
  s.length = 4;
  s.last_id = {6000, 1};
  s.first_id = {1000, 0};
  s.max_deleted_id = {1000, 1};
  s.entries_added = 9;
  RdbStreamGroup g;
  g.name = "workers";
  g.last_id = {2000, 7};
  g.entries_read = 5;
  g.pel = {{{1000, 0}, 1700000000123, 2}, {{1001, 5}, 1700000000456, 1}, {{2000, 7}, 12, 7}};
  g.consumers = {{"alice", 1700000000999, {{1000, 0}, {2000, 7}}},
                 {"bob", 1700000000000, {{1001, 5}}},
                 {"idle", 5, {}}};
  RdbStreamGroup empty;
  empty.name = "empty";
  empty.entries_read = -1;
  s.groups = {empty, g};  // names in byte order, as Redis's radix tree keeps them
  return v;
}

TEST_F(RdbInteropTest, StreamsWithGroupsRoundTripThroughRedis) {
  std::vector<RdbEntry> entries = {RdbEntry{0, "st", SampleStream(), -1}};
  WriteFile(dir_ + "/dump.rdb", WriteRdb(entries));
  ASSERT_TRUE(server_.Start(dir_)) << server_.Log();
  EXPECT_EQ(server_.Cli("XLEN st"), "4\n");
  EXPECT_EQ(server_.Cli("XRANGE st - +"),
            absl::StrCat("1000-0\nname\napple\nqty\n3\n1001-5\nother\n", std::string(300, 'x'),
                         "\n2000-7\nf\n-12\n5000-0\nf\n\n"));
  EXPECT_EQ(server_.Cli("XPENDING st workers"), "3\n1000-0\n2000-7\nalice\n2\nbob\n1\n");
  EXPECT_EQ(server_.Cli("XINFO GROUPS st"),
            "name\nempty\nconsumers\n0\npending\n0\nlast-delivered-id\n0-0\nentries-read\n\n"
            "lag\n\nname\nworkers\nconsumers\n3\npending\n3\nlast-delivered-id\n2000-7\n"
            "entries-read\n5\nlag\n4\n");
  const std::string info = server_.Cli("XINFO STREAM st");
  EXPECT_NE(info.find("radix-tree-keys\n2\n"), std::string::npos) << info;
  EXPECT_NE(info.find("max-deleted-entry-id\n1000-1\nentries-added\n9\n"), std::string::npos)
      << info;
  // Redis writes back what it loaded, byte for byte the same value.
  EXPECT_EQ(SaveAndRead().entries, entries);
  // DUMP / RESTORE both ways.
  WriteFile(dir_ + "/payload", DumpPayload(SampleStream()));
  ASSERT_EQ(server_.Cli("-x RESTORE st2 0", dir_ + "/payload"), "OK\n");
  std::string dump = server_.Cli("DUMP st2");
  ASSERT_FALSE(dump.empty());
  dump.pop_back();
  absl::StatusOr<RdbValue> v = ParseDumpPayload(dump);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, SampleStream());
}

TEST_F(RdbInteropTest, WeReadStreamsRedisBuiltAndRedisReloadsThem) {
  ASSERT_TRUE(server_.Start(dir_)) << server_.Log();
  server_.Cli("CONFIG SET stream-node-max-entries 3");
  for (int i = 1; i <= 10; ++i) {
    server_.Cli(absl::StrCat("XADD s ", i, "-1 k v", i, i % 4 == 0 ? " extra 1" : ""));
  }
  server_.Cli("XDEL s 2-1 5-1");
  server_.Cli("XGROUP CREATE s g 0");
  server_.Cli("XREADGROUP GROUP g c1 COUNT 3 STREAMS s '>'");
  server_.Cli("XREADGROUP GROUP g c2 COUNT 2 STREAMS s '>'");
  server_.Cli("XACK s g 3-1");
  server_.Cli("XGROUP CREATECONSUMER s g c3");
  const std::string before = server_.Cli("XINFO STREAM s FULL");
  RdbFile file = SaveAndRead();
  ASSERT_EQ(file.entries.size(), 1u);
  const RdbStream& st = file.entries[0].value.stream;
  ASSERT_EQ(file.entries[0].value.type, RdbType::kStream);
  EXPECT_EQ(st.length, 8u);
  EXPECT_EQ(st.nodes.size(), 4u);
  EXPECT_EQ(st.entries_added, 10u);
  ASSERT_EQ(st.groups.size(), 1u);
  EXPECT_EQ(st.groups[0].pel.size(), 4u);
  EXPECT_EQ(st.groups[0].consumers.size(), 3u);
  // Our file of what we read loads into a fresh server with the same state.
  server_.Stop();
  WriteFile(dir_ + "/dump.rdb", WriteRdb(file.entries));
  ASSERT_TRUE(server_.Start(dir_)) << server_.Log();
  EXPECT_EQ(server_.Cli("XINFO STREAM s FULL"), before);
}

TEST_F(RdbInteropTest, RedisRefusesACorruptedFileAsWeDo) {
  std::string bytes = WriteRdb(SampleEntries());
  bytes[bytes.size() / 2] ^= 0x10;
  EXPECT_FALSE(ReadRdb(bytes).ok());
  WriteFile(dir_ + "/dump.rdb", bytes);
  EXPECT_FALSE(server_.Start(dir_));
}

}  // namespace
}  // namespace shardnode::replication
