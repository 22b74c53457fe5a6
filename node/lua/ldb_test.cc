#include "node/lua/ldb.h"

#include <deque>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/lua/lua_env.h"
#include "node/resp/reply.h"

extern "C" {
#include <lua.h>
}

namespace shardnode::node::lua {
namespace {

// Commands answer canned replies: GET -> "bar", SET -> OK, others unknown.
class Host : public ScriptHost {
 public:
  void Call(std::vector<std::string>& args, int, std::string* reply,
            std::string* rejection) override {
    if (args[0] == "get") {
      *reply = "$3\r\nbar\r\n";
    } else if (args[0] == "set") {
      *reply = "+OK\r\n";
    } else if (args[0] == "lrange") {
      *reply = "*2\r\n$1\r\na\r\n:7\r\n";
    } else {
      *rejection = "Unknown Redis command called from script";
    }
  }
  void SetRepl(int) override {}
  bool AclCheck(std::vector<std::string>&, bool* allowed) override {
    *allowed = true;
    return true;
  }
  bool ShouldKill() override { return false; }
  std::string WordFailure(const RunFailure& f) override {
    return std::string(f.message.value_or("ERR unknown error"));
  }
};

// The client's side: each Read hands the next queued command; then the
// client is gone.
class ScriptedChannel : public DebugChannel {
 public:
  long Read(char* buf, size_t len) override {
    if (input.empty()) return 0;
    std::string& next = input.front();
    const size_t n = std::min(len, next.size());
    next.copy(buf, n);
    next.erase(0, n);
    if (next.empty()) input.pop_front();
    return static_cast<long>(n);
  }
  void Write(std::string_view bytes) override { output.append(bytes); }

  std::deque<std::string> input;
  std::string output;
};

std::string Command(std::vector<std::string> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// One status-line array, as the debugger sends each answer.
std::string Lines(std::vector<std::string> lines) {
  std::string out = "*" + std::to_string(lines.size()) + "\r\n";
  for (const std::string& l : lines) out += "+" + l + "\r\n";
  return out;
}

class LdbTest : public ::testing::Test {
 protected:
  // Runs `code` under the debugger with the client's `commands`; returns
  // the script's reply. The debugger's output is in channel_.output.
  std::string Debug(const std::string& code, std::vector<std::vector<std::string>> commands,
                    std::vector<std::string> keys = {}) {
    for (auto& c : commands) channel_.input.push_back(Command(c));
    const std::string sha = Sha1Hex(code);
    EXPECT_TRUE(env_.Compile("f_" + sha, code).ok);
    ldb_.Enable();
    ldb_.Start(
        code, &channel_, [this]() { return now_; }, 5000);
    env_.set_ldb(&ldb_);
    std::string reply;
    resp::ReplyBuilder out(&reply, 2);
    env_.Run("f_" + sha, sha, keys, {}, host_, true, out);
    env_.set_ldb(nullptr);
    ldb_.End();
    return reply;
  }

  LuaEnv env_;
  Ldb ldb_;
  Host host_;
  ScriptedChannel channel_;
  int64_t now_ = 0;
};

TEST_F(LdbTest, StopsAtTheFirstLineAndContinues) {
  EXPECT_EQ(Debug("local a = 1\nreturn a", {{"c"}}), ":1\r\n");
  EXPECT_EQ(channel_.output,
            Lines({"* Stopped at 1, stop reason = step over", "-> 1   local a = 1"}) +
                Lines({"<endsession>"}));
}

TEST_F(LdbTest, StepsPrintsAndListsAsRedis) {
  const std::string code = "local a = 'x'\nlocal t = {1,2,{k='v'}}\nreturn a";
  EXPECT_EQ(
      Debug(
          code,
          {{"s"}, {"s"}, {"p"}, {"print", "t"}, {"p", "nope"}, {"l", "1", "1"}, {"whole"}, {"c"}}),
      "$1\r\nx\r\n");
  EXPECT_EQ(
      channel_.output,
      Lines({"* Stopped at 1, stop reason = step over", "-> 1   local a = 'x'"}) +
          Lines({"* Stopped at 2, stop reason = step over", "-> 2   local t = {1,2,{k='v'}}"}) +
          Lines({"* Stopped at 3, stop reason = step over", "-> 3   return a"}) +
          Lines({"<value> a = \"x\"", "<value> t = {1; 2; {[\"k\"]=\"v\"}}"}) +
          Lines({"<value> {1; 2; {[\"k\"]=\"v\"}}"}) + Lines({"No such variable."}) +
          Lines({"   1   local a = 'x'", "   2   local t = {1,2,{k='v'}}"}) +
          Lines({"   1   local a = 'x'", "   2   local t = {1,2,{k='v'}}", "-> 3   return a"}) +
          Lines({"<endsession>"}));
}

TEST_F(LdbTest, BreakpointsAndRedisBreakpoint) {
  const std::string code = "local a = 1\nlocal b = 2\nredis.breakpoint()\nlocal c = 3\nreturn 4";
  Debug(code, {{"b"}, {"b", "2", "x", "9"}, {"c"}, {"b"}, {"c"}, {"b", "-2"}, {"c"}});
  EXPECT_EQ(
      channel_.output,
      Lines({"* Stopped at 1, stop reason = step over", "-> 1   local a = 1"}) +
          Lines({"No breakpoints set. Use 'b <line>' to add one."}) +
          Lines({"-> 1   local a = 1", "  #2   local b = 2", "   3   redis.breakpoint()",
                 "Invalid argument:'x'", "Wrong line number."}) +
          Lines({"* Stopped at 2, stop reason = break point", "->#2   local b = 2"}) +
          Lines({"1 breakpoints set:", "->#2   local b = 2"}) +
          Lines({"* Stopped at 4, stop reason = redis.breakpoint() called", "-> 4   local c = 3"}) +
          Lines({"Breakpoint removed."}) + Lines({"<endsession>"}));
}

TEST_F(LdbTest, RedisCommandsAreLoggedWhileStepping) {
  const std::string code = "redis.call('set','k','v')\nlocal x = redis.call('get','k')\nreturn x";
  Debug(code, {{"s"}, {"r", "lrange", "l", "0", "-1"}, {"redis", "nosuch"}, {"c"}});
  EXPECT_EQ(
      channel_.output,
      Lines({"* Stopped at 1, stop reason = step over", "-> 1   redis.call('set','k','v')"}) +
          Lines({"<redis> set k v", "<reply> \"+OK\"", "* Stopped at 2, stop reason = step over",
                 "-> 2   local x = redis.call('get','k')"}) +
          Lines({"<redis> lrange l 0 -1", "<reply> [\"a\",7]"}) +
          Lines({"<redis> nosuch", "<error> Unknown Redis command called from script"}) +
          Lines({"<endsession>"}));
}

TEST_F(LdbTest, EvalMaxlenHelpAndUnknownCommands) {
  Debug("return 1", {{"e", "1", "+", "1"},
                     {"eval", "return 'hello'", "0"},
                     {"maxlen"},
                     {"maxlen", "10"},
                     {"e", "string.rep('a', 100)"},
                     {"e", "string.rep('a', 100)"},
                     {"x"},
                     {"'hello\0world'"},
                     {"c"}});
  EXPECT_EQ(
      channel_.output,
      Lines({"* Stopped at 1, stop reason = step over", "-> 1   return 1"}) +
          Lines({"<retval> 2"}) + Lines({"<error> ldb_eval:1: '<eof>' expected near '0'"}) +
          Lines({"<value> replies are truncated at 256 bytes."}) +
          Lines({"<value> replies are truncated at 60 bytes."}) +
          Lines({"<retval> \"" + std::string(50, 'a') + " ..."}) +
          Lines({"<retval> \"" + std::string(50, 'a') + " ..."}) +
          Lines({"<error> Unknown Redis Lua debugger command or wrong number of arguments."}) +
          Lines({"<error> Unknown Redis Lua debugger command or wrong number of arguments."}) +
          Lines({"<endsession>"}));
}

TEST_F(LdbTest, AbortRaisesIntoTheScript) {
  EXPECT_EQ(Debug("local a = 1\nreturn a", {{"abort"}}),
            "-ERR script aborted for user request\r\n");
}

TEST_F(LdbTest, ClientGoneLetsTheScriptFinish) {
  EXPECT_EQ(Debug("local a = 1\nreturn a + 1", {}), ":2\r\n");
}

TEST_F(LdbTest, RedisDebugLogsItsArguments) {
  Debug("redis.debug('x', 1, {2})\nreturn 1", {{"s"}, {"c"}});
  EXPECT_EQ(channel_.output,
            Lines({"* Stopped at 1, stop reason = step over", "-> 1   redis.debug('x', 1, {2})"}) +
                Lines({"<debug> line 1: \"x\", 1, {2}", "* Stopped at 2, stop reason = step over",
                       "-> 2   return 1"}) +
                Lines({"<endsession>"}));
}

TEST(LdbParseTest, LenientAsRedis) {
  std::vector<std::string> argv;
  std::string error;
  EXPECT_FALSE(ParseLdbCommand("", &argv, &error));
  EXPECT_TRUE(error.empty());
  EXPECT_FALSE(ParseLdbCommand("*1\r\n$4\r\nst", &argv, &error));
  EXPECT_TRUE(error.empty());
  EXPECT_FALSE(ParseLdbCommand("step\r\n", &argv, &error));
  EXPECT_EQ(error, "protocol error");
  EXPECT_FALSE(ParseLdbCommand("*1\r\n$0\r\n\r\n", &argv, &error));
  EXPECT_EQ(error, "protocol error");
  EXPECT_FALSE(ParseLdbCommand("*0\r\n", &argv, &error));
  EXPECT_EQ(error, "protocol error");
  ASSERT_TRUE(ParseLdbCommand("junk*2\r\n$1\r\nb\r\n$1\r\n3\r\nmore", &argv, &error));
  EXPECT_EQ(argv, (std::vector<std::string>{"b", "3"}));
  const std::string with_nul("*1\r\n$3\r\na\0b\r\n", 14);
  ASSERT_TRUE(ParseLdbCommand(with_nul, &argv, &error));
  EXPECT_EQ(argv[0], std::string("a\0b", 3));
}

TEST(LdbRenderTest, RepliesAsRedisShowsThem) {
  EXPECT_EQ(Ldb::DescribeReply(":5\r\n"), "5");
  EXPECT_EQ(Ldb::DescribeReply("$-1\r\n"), "NULL");
  EXPECT_EQ(Ldb::DescribeReply("$2\r\na\n\r\n"), "\"a\\n\"");
  EXPECT_EQ(Ldb::DescribeReply("-ERR x\r\n"), "\"-ERR x\"");
  EXPECT_EQ(Ldb::DescribeReply("*-1\r\n"), "NULL");
  EXPECT_EQ(Ldb::DescribeReply("*2\r\n:1\r\n*0\r\n"), "[1,[]]");
  EXPECT_EQ(Ldb::DescribeReply("~1\r\n+a\r\n"), "~(\"+a\")");
  EXPECT_EQ(Ldb::DescribeReply("%1\r\n$1\r\nk\r\n#t\r\n"), "{\"k\" => #true}");
  EXPECT_EQ(Ldb::DescribeReply("_\r\n"), "(null)");
  EXPECT_EQ(Ldb::DescribeReply(",1.5\r\n"), "(double) 1.5");
  EXPECT_EQ(QuoteRepr(std::string("\x01\"\\\t", 4)), "\"\\x01\\\"\\\\\\t\"");
}

}  // namespace
}  // namespace shardnode::node::lua
