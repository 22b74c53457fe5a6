#include "node/lua/lua_env.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/resp/reply.h"

extern "C" {
#include <lua.h>
}

namespace shardnode::node::lua {
namespace {

// A host whose commands answer canned RESP: "ECHO x" answers x as a bulk,
// others look up `replies` by lower-case name; rejections by name too.
class FakeHost : public ScriptHost {
 public:
  void Call(std::vector<std::string>& args, int resp, std::string* reply,
            std::string* rejection) override {
    calls.push_back(args);
    last_resp = resp;
    if (args[0] == "echo" && args.size() == 2) {
      *reply = "$" + std::to_string(args[1].size()) + "\r\n" + args[1] + "\r\n";
      return;
    }
    auto r = rejections.find(args[0]);
    if (r != rejections.end()) {
      *rejection = r->second;
      return;
    }
    auto it = replies.find(args[0]);
    if (it == replies.end()) {
      *rejection = "Unknown Redis command called from script";
      return;
    }
    *reply = it->second;
  }
  void SetRepl(int flags) override { repl = flags; }
  bool AclCheck(std::vector<std::string>&, bool* allowed) override {
    *allowed = true;
    return true;
  }
  bool ShouldKill() override { return kill; }
  // Words failures as node/script does (from node/commands/errors.h, which
  // this module may not include).
  std::string WordFailure(const RunFailure& f) override {
    failures.push_back({f.kind, std::string(f.message.value_or("<none>")),
                        std::string(f.source.value_or("<none>")),
                        std::string(f.line.value_or("<none>"))});
    switch (f.kind) {
      case RunFailure::Kind::kStackLimit:
        return "ERR reached lua stack limit";
      case RunFailure::Kind::kRaisedValue:
        return "ERR Error running script " + std::string(f.run_name) + ", " +
               std::string(f.message.value_or("execution failure")) + " ";
      case RunFailure::Kind::kRaisedTable:
        break;
    }
    std::string text(f.message.value_or("ERR unknown error"));
    if (f.source && f.line) {
      text += " script: " + std::string(f.run_name) + ", on " + std::string(*f.source) + ":" +
              std::string(*f.line) + ".";
    }
    return text;
  }

  std::map<std::string, std::string> replies;
  std::map<std::string, std::string> rejections;
  std::vector<std::vector<std::string>> calls;
  struct Failure {
    RunFailure::Kind kind;
    std::string message, source, line;
  };
  std::vector<Failure> failures;  // what WordFailure was asked, in order
  int last_resp = 0;
  int repl = -1;
  bool kill = false;
};

class LuaEnvTest : public ::testing::Test {
 protected:
  // Compiles and runs `code`; returns the RESP reply (client in `protocol`).
  std::string Eval(const std::string& code, std::vector<std::string> keys = {},
                   std::vector<std::string> args = {}, int protocol = 2) {
    const std::string sha = Sha1Hex(code);
    const std::string name = "f_" + sha;
    if (!env.Has(name)) {
      CompileResult r = env.Compile(name, code);
      if (!r.ok) return "compile: " + r.error;
    }
    std::string out;
    resp::ReplyBuilder reply(&out, protocol);
    env.Run(name, sha, keys, args, host, false, reply);
    return out;
  }
  // The error suffix Redis adds to a raised error on line `line`.
  static std::string At(const std::string& code, int line = 1) {
    return " script: " + Sha1Hex(code) + ", on @user_script:" + std::to_string(line) + ".";
  }

  LuaEnv env;
  FakeHost host;
};

TEST(Sha1Test, KnownDigests) {
  EXPECT_EQ(Sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Sha1Hex(std::string(1000, 'a')), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
}

TEST_F(LuaEnvTest, LuaValuesBecomeResp) {
  EXPECT_EQ(Eval("return 100.5"), ":100\r\n");
  EXPECT_EQ(Eval("return -3.99"), ":-3\r\n");
  EXPECT_EQ(Eval("return 'x'"), "$1\r\nx\r\n");
  EXPECT_EQ(Eval("return true"), ":1\r\n");
  EXPECT_EQ(Eval("return false"), "$-1\r\n");
  EXPECT_EQ(Eval("return nil"), "$-1\r\n");
  EXPECT_EQ(Eval("return {1,2,nil,4}"), "*2\r\n:1\r\n:2\r\n");
  EXPECT_EQ(Eval("return {foo='bar'}"), "*0\r\n");
  EXPECT_EQ(Eval("return {err='My Error'}"), "-My Error\r\n");
  EXPECT_EQ(Eval("return {ok='fine'}"), "+fine\r\n");
  EXPECT_EQ(Eval("return redis.status_reply('a\\r\\nb')"), "+a  b\r\n");
  EXPECT_EQ(Eval("return {1,{2,'x'},true}"), "*3\r\n:1\r\n*2\r\n:2\r\n$1\r\nx\r\n:1\r\n");
  EXPECT_EQ(Eval("return KEYS[1]..ARGV[2]", {"k"}, {"a", "b"}), "$2\r\nkb\r\n");
  // False to a RESP3 client is its null.
  EXPECT_EQ(Eval("return false", {}, {}, 3), "_\r\n");
}

TEST_F(LuaEnvTest, Resp3ShapesFromLua) {
  EXPECT_EQ(Eval("redis.setresp(3) return true", {}, {}, 3), "#t\r\n");
  EXPECT_EQ(Eval("redis.setresp(3) return false", {}, {}, 2), ":0\r\n");
  EXPECT_EQ(Eval("return {double=3.5}", {}, {}, 3), ",3.5\r\n");
  EXPECT_EQ(Eval("return {double=3.5}", {}, {}, 2), "$3\r\n3.5\r\n");
  EXPECT_EQ(Eval("return {big_number='123\\r\\n123'}", {}, {}, 3), "(123  123\r\n");
  EXPECT_EQ(Eval("return {map={a=1}}", {}, {}, 3), "%1\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(Eval("return {map={a=1}}", {}, {}, 2), "*2\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(Eval("return {set={a=true}}", {}, {}, 3), "~1\r\n$1\r\na\r\n");
  EXPECT_EQ(Eval("return {verbatim_string={format='txt',string='hi'}}", {}, {}, 3),
            "=6\r\ntxt:hi\r\n");
}

TEST_F(LuaEnvTest, RespRepliesBecomeLua) {
  host.replies["set"] = "+OK\r\n";
  host.replies["get"] = "$-1\r\n";
  host.replies["incr"] = "-ERR value is not an integer or out of range\r\n";
  host.replies["lrange"] = "*3\r\n$1\r\na\r\n$-1\r\n:7\r\n";
  host.replies["hello"] = "%1\r\n$1\r\nk\r\n,1.5\r\n";
  EXPECT_EQ(Eval("local r = redis.call('set','k','v') return r.ok"), "$2\r\nOK\r\n");
  EXPECT_EQ(Eval("return redis.call('get','k') == false"), ":1\r\n");
  EXPECT_EQ(Eval("return redis.pcall('incr','k')"),
            "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(Eval("return redis.call('lrange','l',0,-1)"), "*3\r\n$1\r\na\r\n$-1\r\n:7\r\n");
  EXPECT_EQ(Eval("local r = redis.call('hello') return r.map.k.double"), ":1\r\n");
  const std::string raise = "return redis.call('incr','k')";
  EXPECT_EQ(Eval(raise), "-ERR value is not an integer or out of range" + At(raise) + "\r\n");
  // Numbers are sent as %.17g.
  Eval("return redis.call('echo', 0.1)");
  EXPECT_EQ(host.calls.back()[1], "0.10000000000000001");
  Eval("return redis.call('echo', 3)");
  EXPECT_EQ(host.calls.back()[1], "3");
}

TEST_F(LuaEnvTest, ErrorShapes) {
  const std::string boom = "error('boom')";
  EXPECT_EQ(Eval(boom), "-ERR user_script:1: boom" + At(boom) + "\r\n");
  const std::string custom = "error({err='CUSTOM boom'})";
  EXPECT_EQ(Eval(custom), "-CUSTOM boom" + At(custom) + "\r\n");
  const std::string unknown = "return redis.call('nosuch')";
  EXPECT_EQ(Eval(unknown), "-ERR Unknown Redis command called from script" + At(unknown) + "\r\n");
  EXPECT_EQ(Eval("return redis.pcall('nosuch')"),
            "-ERR Unknown Redis command called from script\r\n");
  EXPECT_EQ(Eval("local ok, e = pcall(redis.call, 'nosuch') return e"),
            "$44\r\nERR Unknown Redis command called from script\r\n");
  const std::string args = "return redis.call()";
  EXPECT_EQ(Eval(args), "-ERR Please specify at least one argument for this redis lib call" +
                            At(args) + "\r\n");
  const std::string bad = "return redis.call('get', {})";
  EXPECT_EQ(Eval(bad),
            "-ERR Lua redis lib command arguments must be strings or integers" + At(bad) + "\r\n");
  EXPECT_EQ(Eval("return redis.error_reply('X')"), "-ERR X\r\n");
  EXPECT_EQ(Eval("return redis.error_reply('-X y')"), "-X y\r\n");
  EXPECT_EQ(Eval("return redis.error_reply('MY_ERR_CODE custom msg')"),
            "-MY_ERR_CODE custom msg\r\n");
  EXPECT_EQ(env.Compile("f_x", "return (").error, "user_script:1: unexpected symbol near '<eof>'");
  const std::string line2 = "local a = 1\nerror('two')";
  EXPECT_EQ(Eval(line2), "-ERR user_script:2: two" + At(line2, 2) + "\r\n");
}

TEST_F(LuaEnvTest, SandboxRefusesGlobalsAndReadonlyTables) {
  const std::string get = "return a";
  EXPECT_EQ(Eval(get),
            "-ERR user_script:1: Script attempted to access nonexistent global variable 'a'" +
                At(get) + "\r\n");
  const std::string set = "a=1";
  EXPECT_EQ(Eval(set), "-ERR user_script:1: Attempt to modify a readonly table" + At(set) + "\r\n");
  const std::string meta = "setmetatable(_G, {})";
  EXPECT_EQ(Eval(meta), "-ERR Attempt to modify a readonly table" + At(meta) + "\r\n");
  const std::string raw = "rawset(string,'x',1)";
  EXPECT_EQ(Eval(raw), "-ERR Attempt to modify a readonly table" + At(raw) + "\r\n");
  for (const char* code :
       {"getmetatable(_G).__index = {}", "redis = {}", "_G = {}", "redis.call = function() end",
        "cjson.encode = 1", "bit.lshift = 1", "table.insert(redis, 1)",
        "getmetatable('').__index = {}", "string.upper = nil"}) {
    EXPECT_NE(Eval(code).find("Attempt to modify a readonly table"), std::string::npos) << code;
  }
  for (const char* name : {"print", "dofile", "loadfile", "os", "io", "require", "getfenv"}) {
    EXPECT_NE(Eval(std::string("return ") + name + "('x')")
                  .find(std::string("nonexistent global variable '") + name + "'"),
              std::string::npos)
        << name;
  }
  // _G's metatable (a readonly view) is Redis's: an __index that raises for
  // every name, which never hands out the real globals, and no __newindex.
  EXPECT_EQ(Eval("local ok, e = pcall(getmetatable(_G).__index, _G, 'redis') return e"),
            "$62\r\nScript attempted to access nonexistent global variable 'redis'\r\n");
  EXPECT_EQ(Eval("return getmetatable(_G).__newindex == nil"), ":1\r\n");
  // A missing global is refused however it is reached.
  EXPECT_NE(Eval("local function f() return missing end return f()").find("'missing'"),
            std::string::npos);
  // Reading through the proxies still works.
  EXPECT_EQ(Eval("return string.upper('a') .. ('b'):upper()"), "$2\r\nAB\r\n");
  EXPECT_EQ(Eval("return rawget(_G, 'redis') == redis"), ":1\r\n");
  EXPECT_EQ(Eval("local n = 0 for k, v in pairs(redis) do n = n + 1 end return n > 10"), ":1\r\n");
  // KEYS and ARGV are plain tables.
  EXPECT_EQ(Eval("table.insert(KEYS, 'x') return #KEYS", {"a"}), ":2\r\n");
}

// Blocks move between the allocator's size classes and malloc as strings
// and tables grow and shrink across them; the contents survive and the VM's
// count of bytes returns to where it was once the garbage is collected.
TEST_F(LuaEnvTest, AllocatorKeepsContentsAcrossSizeClasses) {
  const std::string code =
      "local s, t, sum = '', {}, 0\n"
      "for i = 1, 300 do\n"
      "  s = s .. string.char(65 + i % 26)\n"
      "  t[i] = s\n"
      "  sum = sum + #t[i] + t[i]:byte(#t[i])\n"
      "end\n"
      "for i = 300, 1, -1 do t[i] = nil end\n"
      "return {sum, s:sub(1, 3), s:sub(-3)}";
  const std::string expected = "*3\r\n:68330\r\n$3\r\nBCD\r\n$3\r\nMNO\r\n";
  EXPECT_EQ(Eval(code), expected);
  lua_gc(env.state(), LUA_GCCOLLECT, 0);
  const size_t settled = env.memory();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Eval(code), expected);
  lua_gc(env.state(), LUA_GCCOLLECT, 0);
  EXPECT_EQ(env.memory(), settled);
}

TEST_F(LuaEnvTest, BinaryChunksAreNeverLoaded) {
  EXPECT_NE(Eval("local f = loadstring(string.dump(function() return 1 end)) return f()")
                .find("(a nil value)"),
            std::string::npos);
  EXPECT_EQ(Eval("return loadstring('return 1+1')()"), ":2\r\n");
  EXPECT_FALSE(env.Compile("f_bin", "\033Lua").ok);
}

TEST_F(LuaEnvTest, RedisTableHelpers) {
  EXPECT_EQ(Eval("return redis.sha1hex('')"),
            "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n");
  EXPECT_EQ(Eval("return redis.REDIS_VERSION .. ' ' .. redis.REDIS_VERSION_NUM"),
            "$13\r\n7.0.15 458767\r\n");
  EXPECT_EQ(Eval("return redis.replicate_commands()"), ":1\r\n");
  EXPECT_EQ(Eval("return redis.breakpoint()"), "$-1\r\n");
  Eval("redis.set_repl(redis.REPL_AOF)");
  EXPECT_EQ(host.repl, kReplAof);
  EXPECT_NE(Eval("redis.set_repl(7)").find("Invalid replication flags"), std::string::npos);
  EXPECT_NE(Eval("redis.setresp(4)").find("RESP version must be 2 or 3."), std::string::npos);
  EXPECT_NE(Eval("redis.log(9, 'x')").find("Invalid debug level."), std::string::npos);
  std::vector<std::string> logged;
  env.log = [&](int level, std::string_view m) {
    logged.push_back(std::to_string(level) + ":" + std::string(m));
  };
  Eval("redis.log(redis.LOG_WARNING, 'a', 1, {}, 'b')");
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0], "3:a 1 b");
}

TEST_F(LuaEnvTest, LibrariesAreLoaded) {
  EXPECT_EQ(Eval("return cjson.encode({1,2})"), "$5\r\n[1,2]\r\n");
  EXPECT_EQ(Eval("return cjson.decode('[1,\"a\"]')[2]"), "$1\r\na\r\n");
  EXPECT_EQ(Eval("return bit.band(7, 12)"), ":4\r\n");
  EXPECT_EQ(Eval("return bit.tohex(255)"), "$8\r\n000000ff\r\n");
}

TEST_F(LuaEnvTest, CmsgpackBytesAsRedisTestsPinThem) {
  const std::string hex =
      "local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end "
      "return h";
  EXPECT_EQ(Eval("local e = cmsgpack.pack(0.1) " + hex), "$18\r\ncb3fb999999999999a\r\n");
  EXPECT_EQ(Eval("local e = cmsgpack.pack(-1099511627776) " + hex),
            "$18\r\nd3ffffff0000000000\r\n");
  EXPECT_EQ(Eval("local e = cmsgpack.pack(1, -1, 300, 'ab', {1}, {a=true}, 1.5) " + hex),
            "$38\r\n01ffcd012ca26162910181a161c3ca3fc00000\r\n");
  // A table holding itself is cut at depth 16.
  EXPECT_EQ(Eval("local a = {} a[1] = a local e = cmsgpack.pack(a) " + hex),
            "$34\r\n" +
                std::string(32, '9').replace(0, 32,
                                             [] {
                                               std::string s;
                                               for (int i = 0; i < 16; ++i) s += "91";
                                               return s;
                                             }()) +
                "c0\r\n");
  EXPECT_EQ(Eval("local o, v = cmsgpack.unpack_one(cmsgpack.pack('a', 'b')) return {o, v}"),
            "*2\r\n:2\r\n$1\r\na\r\n");
  EXPECT_EQ(Eval("return {cmsgpack.unpack(cmsgpack.pack(1, 'x', {2}))}"),
            "*3\r\n:1\r\n$1\r\nx\r\n*1\r\n:2\r\n");
}

TEST_F(LuaEnvTest, StructPacksAndUnpacks) {
  EXPECT_EQ(Eval("return struct.pack('>I2', 258)"), "$2\r\n\x01\x02\r\n");
  EXPECT_EQ(Eval("return struct.pack('<i2', -2)"), "$2\r\n\xfe\xff\r\n");
  EXPECT_EQ(Eval("return struct.size('!4 b i d')"), ":16\r\n");
  EXPECT_EQ(Eval("return {struct.unpack('<i4c3s', struct.pack('<i4c3s', -5, 'abc', 'zed'))}"),
            "*4\r\n:-5\r\n$3\r\nabc\r\n$3\r\nzed\r\n:12\r\n");
  EXPECT_NE(Eval("return struct.pack('i33', 1)").find("integral size 33 is larger than limit"),
            std::string::npos);
}

// The env words no failure itself: it hands the host an outcome with what
// Redis's texts need.
TEST_F(LuaEnvTest, FailuresAreOutcomesTheHostWords) {
  Eval("error('boom')");
  ASSERT_EQ(host.failures.size(), 1u);
  EXPECT_EQ(host.failures[0].kind, RunFailure::Kind::kRaisedTable);
  EXPECT_EQ(host.failures[0].message, "ERR user_script:1: boom");
  EXPECT_EQ(host.failures[0].source, "@user_script");
  EXPECT_EQ(host.failures[0].line, "1");
  // A returned error table is a reply, not a failure.
  EXPECT_EQ(Eval("return {err='My Error'}"), "-My Error\r\n");
  EXPECT_EQ(host.failures.size(), 1u);
  // A reply nested past the Lua stack's limit.
  const std::string deep = Eval("local t = {} for i = 1, 100000 do t = {t} end return t");
  ASSERT_EQ(host.failures.size(), 2u);
  EXPECT_EQ(host.failures[1].kind, RunFailure::Kind::kStackLimit);
  EXPECT_NE(deep.find("-ERR reached lua stack limit\r\n"), std::string::npos);
}

TEST_F(LuaEnvTest, RandomIsDeterministicAfterSeeding) {
  const std::string a = Eval("math.randomseed(42) return {math.random(100), math.random(100)}");
  const std::string b = Eval("math.randomseed(42) return {math.random(100), math.random(100)} ");
  EXPECT_EQ(a, b);
  EXPECT_NE(Eval("return math.random(0)").find("interval is empty"), std::string::npos);
}

TEST_F(LuaEnvTest, KillRaisesFromTheHook) {
  host.kill = true;
  const std::string code = "local i = 0 while true do i = i + 1 end";
  const std::string sha = Sha1Hex(code);
  ASSERT_TRUE(env.Compile("f_" + sha, code).ok);
  std::string out;
  resp::ReplyBuilder reply(&out, 2);
  env.Run("f_" + sha, sha, {}, {}, host, true, reply);
  EXPECT_EQ(out.rfind("-ERR Script killed by user with SCRIPT KILL...", 0), 0u) << out;
}

}  // namespace
}  // namespace shardnode::node::lua
