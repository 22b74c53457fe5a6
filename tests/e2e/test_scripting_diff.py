"""Differential test of Lua scripting (issue 12): the same EVAL / EVALSHA /
EVAL_RO / SCRIPT commands are sent to shardnode and to redis-server 7.0.15,
and the raw reply bytes are compared one by one (errors included), in RESP2
and RESP3, in standalone mode and in a one-node cluster owning every slot.

    python3 tests/e2e/test_scripting_diff.py
"""
import hashlib
import os
import time
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (REDIS_SERVER, Client, Node, RedisServerNode, start_diff_pair,  # noqa: E402
                     resp_command, wait_until)


class RawClient:
    """Sends commands and returns each reply's exact bytes (RESP2 and RESP3)."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _fill(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data

    def _line_end(self, pos):
        while True:
            i = self.buf.find(b"\r\n", pos)
            if i >= 0:
                return i
            self._fill(len(self.buf) + 1)

    def _skip(self, pos):
        """Position after the reply starting at `pos`."""
        self._fill(pos + 1)
        t = self.buf[pos:pos + 1]
        end = self._line_end(pos)
        head = self.buf[pos + 1:end]
        pos = end + 2
        if t in (b"$", b"=", b"!"):
            n = int(head)
            if n >= 0:
                self._fill(pos + n + 2)
                pos += n + 2
            return pos
        if t in (b"*", b"~", b">", b"%", b"|"):
            n = int(head)
            if t in (b"%", b"|"):
                n *= 2
            for _ in range(max(n, 0)):
                pos = self._skip(pos)
            if t == b"|":
                pos = self._skip(pos)
            return pos
        return pos

    def call(self, *args):
        self.sock.sendall(resp_command(*args))
        return self.read()

    def read(self):
        """The next reply (of a command sent before)."""
        end = self._skip(0)
        reply, self.buf = self.buf[:end], self.buf[end:]
        return reply


def E(body, *rest):
    return ["EVAL", body, *[str(r) for r in rest]]


# Each case: one command. Keys in cluster mode share the tag {t} (or hash to
# the same slot as "{t}") unless the case is about slots.
COMMON = [
    # Conversions Lua -> RESP.
    E("return 1", 0),
    E("return 100.5", 0),
    E("return -3.99", 0),
    E("return 'hello'", 0),
    E("return true", 0),
    E("return false", 0),
    E("return nil", 0),
    E("return {1,2,3,'ciao',{1,2}}", 0),
    E("return {1,2,nil,4}", 0),
    E("return {foo='bar'}", 0),
    E("return {err='My Error'}", 0),
    E("return {ok='fine'}", 0),
    E("return redis.status_reply('a\\r\\nb')", 0),
    E("return redis.error_reply('X')", 0),
    E("return redis.error_reply('-X y')", 0),
    E("return redis.error_reply('MY_ERR_CODE custom msg')", 0),
    E("return redis.error_reply(1)", 0),
    E("return redis.status_reply()", 0),
    E("return {double=3.5}", 0),
    E("return {big_number='1234567890123'}", 0),
    E("return {map={a=1}}", 0),
    E("return {set={a=true}}", 0),
    E("return {verbatim_string={format='txt',string='hi'}}", 0),
    E("redis.setresp(3) return true", 0),
    E("redis.setresp(3) return false", 0),
    E("return 1e300", 0),
    E("return -0.5", 0),
    # KEYS / ARGV.
    E("return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", 2, "{t}a", "{t}b", "x", "y"),
    E("return #ARGV", 0, "a", "b", "c"),
    E("table.insert(KEYS,'x') return KEYS", 1, "{t}k"),
    # redis.call and RESP -> Lua.
    E("return redis.call('set',KEYS[1],'v')", 1, "{t}k"),
    E("local r = redis.call('set',KEYS[1],'v') return r.ok", 1, "{t}k"),
    E("return redis.call('get',KEYS[1])", 1, "{t}k"),
    E("return redis.call('get',KEYS[1])", 1, "{t}missing"),
    E("return redis.call('get',KEYS[1]) == false", 1, "{t}missing"),
    E("redis.call('del',KEYS[1]) redis.call('rpush',KEYS[1],'a','b','c') "
      "return redis.call('lrange',KEYS[1],0,-1)", 1, "{t}l"),
    E("return redis.call('incr',KEYS[1])", 1, "{t}k"),
    E("return redis.pcall('incr',KEYS[1])", 1, "{t}k"),
    E("local r = redis.pcall('incr',KEYS[1]) return r['err']", 1, "{t}k"),
    E("return redis.call('nosuch')", 0),
    E("return redis.pcall('nosuch')", 0),
    E("local ok, e = pcall(redis.call, 'nosuch') return {tostring(ok), e}", 0),
    E("local ok, e = pcall(function() error('x') end) return e", 0),
    E("return redis.call('get')", 0),
    E("return redis.call()", 0),
    E("return redis.call('get', {})", 0),
    E("return redis.call('blpop', KEYS[1], 0)", 1, "{t}l"),
    E("return redis.call('eval', 'return 1', 0)", 0),
    E("return redis.call('multi')", 0),
    E("return redis.call('incrbyfloat', KEYS[1], 0.1)", 1, "{t}f"),
    E("return redis.call('set', KEYS[1], 3.0)", 1, "{t}n"),
    E("return redis.call('get', KEYS[1])", 1, "{t}n"),
    E("return redis.call('hset', KEYS[1], 'a', 1, 'b', 2)", 1, "{t}h"),
    E("return redis.call('hgetall', KEYS[1])", 1, "{t}h"),
    E("return redis.call('zadd', KEYS[1], 1.5, 'm')", 1, "{t}z"),
    E("return redis.call('zscore', KEYS[1], 'm')", 1, "{t}z"),
    E("redis.setresp(3) return redis.call('zscore', KEYS[1], 'm')", 1, "{t}z"),
    E("redis.setresp(3) return redis.call('hgetall', KEYS[1])", 1, "{t}h"),
    E("redis.setresp(3) local r = redis.call('hgetall', KEYS[1]) return r.map.a", 1, "{t}h"),
    E("redis.setresp(3) return redis.call('get', KEYS[1])", 1, "{t}missing"),
    E("redis.setresp(3) return redis.call('get', KEYS[1]) == nil", 1, "{t}missing"),
    E("return redis.call('type', KEYS[1])", 1, "{t}h"),
    E("return redis.call('exists', KEYS[1], KEYS[2])", 2, "{t}h", "{t}z"),
    E("return redis.call('ping')", 0),
    # Errors and their shapes.
    E("error('boom')", 0),
    E("error({err='CUSTOM boom'})", 0),
    E("error({err='CUSTOM'})", 0),
    E("local a = 1\nerror('line two')", 0),
    E("return (", 0),
    E("return a", 0),
    E("a = 1", 0),
    E("setmetatable(_G, {})", 0),
    E("rawset(string, 'x', 1)", 0),
    E("getmetatable(_G).__index = {}", 0),
    # _G's metatable as Redis's luaSetErrorMetatable builds it: its __index
    # raises for every name (it is reached only on misses), no __newindex.
    E("return type(getmetatable(_G).__index)", 0),
    E("return {pcall(getmetatable(_G).__index, _G, 'redis')}", 0),
    E("return getmetatable(_G).__newindex == nil", 0),
    E("redis = {}", 0),
    E("_G = {}", 0),
    E("redis.call = function() return 1 end", 0),
    E("cjson.encode = function() return 1 end", 0),
    E("bit.lshift = function() return 1 end", 0),
    E("print('x')", 0),
    E("dofile('/etc/passwd')", 0),
    E("loadfile('/etc/passwd')", 0),
    E("return os.time()", 0),
    E("return io.open('x')", 0),
    E("local f = loadstring(string.dump(function() return 1 end)) return f()", 0),
    E("return loadstring('return 1+1')()", 0),
    E("return redis.sha1hex('')", 0),
    E("return redis.sha1hex('Pizza & Mandolino')", 0),
    E("return redis.sha1hex()", 0),
    E("return redis.REDIS_VERSION", 0),
    E("return redis.REDIS_VERSION_NUM", 0),
    E("return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, "
      "redis.REPL_ALL}", 0),
    E("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", 0),
    E("redis.log(redis.LOG_WARNING, 'from a script')", 0),
    E("redis.log(9, 'x')", 0),
    E("redis.log('x', 'y')", 0),
    E("redis.log(1)", 0),
    E("redis.setresp(4)", 0),
    E("redis.setresp()", 0),
    E("redis.set_repl(9)", 0),
    E("redis.set_repl()", 0),
    E("return redis.replicate_commands()", 0),
    E("return redis.breakpoint()", 0),
    E("return redis.debug('x')", 0),
    E("return redis.acl_check_cmd('nosuch')", 0),
    E("return redis.acl_check_cmd('get', 'x')", 0),
    E("return cjson.encode({1,2,3})", 0),
    E("return cjson.encode({a=1})", 0),
    E("return cjson.decode('[1,2,\"a\"]')", 0),
    E("local t = cjson.decode('{\"a\":[0,-5000,-1,0.0003,1023.2,0]}') return t.a", 0),
    E("return cjson.decode('{')", 0),
    E("local encoded = cmsgpack.pack(0.1) local h = '' for i = 1, #encoded do h = h .. string.format('%02x', string.byte(encoded, i)) end return h", 0),
    E("local encoded = cmsgpack.pack(-1099511627776) local h = '' for i = 1, #encoded do h = h .. string.format('%02x', string.byte(encoded, i)) end return h", 0),
    E("local encoded = cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, 2^32, -32, -33, "
      "-128, -129, -32768, -32769, 2^31, -2^31, -2^31 - 1, 1.5, 1e300, true, false, nil, 'abc', "
      "string.rep('x', 40), string.rep('y', 300), {}, {1,2,3}, {a=1}, {[1]=1, [3]=3}) "
      "local h = '' for i = 1, #encoded do h = h .. string.format('%02x', string.byte(encoded, i)) end return h", 0),
    E("local a = {x=nil, y=5} local b = {x=a} a['x'] = b local encoded = cmsgpack.pack(a) "
      "local h = '' for i = 1, #encoded do h = h .. string.format('%02x', string.byte(encoded, i)) end local re = cmsgpack.unpack(encoded) "
      "return {h, re.x.x.x.x.x.x.x.x.y == re.y, re.y == 5}", 0),
    E("return {cmsgpack.unpack(cmsgpack.pack(1, 'two', {3}, {four=4}))}", 0),
    E("local s = cmsgpack.pack('a', 'bb', 'ccc') local o, v = cmsgpack.unpack_one(s) "
      "local o2, v2 = cmsgpack.unpack_one(s, o) local o3, v3 = cmsgpack.unpack_limit(s, 1, o2) "
      "return {o, v, o2, v2, o3, v3}", 0),
    E("return cmsgpack.unpack('\\217')", 0),
    E("return cmsgpack.unpack('\\193')", 0),
    E("return cmsgpack.unpack_one('a', 5)", 0),
    E("return cmsgpack.pack()", 0),
    E("cmsgpack.pack = function() return 1 end", 0),
    E("return struct.pack('>I2', 258)", 0),
    E("return {struct.unpack('<i4c3s', struct.pack('<i4c3s', -5, 'abc', 'zed'))}", 0),
    E("return {struct.unpack('>hHbBlLTfd', struct.pack('>hHbBlLTfd', -2, 65535, -1, 255, "
      "-70000, 70000, 12, 1.5, 0.1))}", 0),
    E("return struct.size('!4 b i d')", 0),
    E("return struct.pack('!4 b i', 1, 2)", 0),
    E("return {struct.unpack('B c0', struct.pack('B c0', 3, 'xyz'))}", 0),
    E("return struct.pack('q', 1)", 0),
    E("return struct.pack('i33', 1)", 0),
    E("return struct.size('s')", 0),
    E("return struct.unpack('i4', 'ab')", 0),
    E("return struct.pack('!3', 1)", 0),
    E("return struct.unpack('i', struct.pack('i', 7), 0)", 0),
    E("struct.pack = nil", 0),
    E("return bit.band(7, 12)", 0),
    E("return bit.tohex(65535)", 0),
    E("return {bit.bor(1,2,4,8,16,32,64,128), bit.bxor(5,3), bit.bnot(0), bit.lshift(1,4)}", 0),
    E("return math.random(0)", 0),
    E("math.randomseed(42) return {math.random(100), math.random(100), math.random(1,10)}", 0),
    E("math.randomseed(7) return tostring(math.random())", 0),
    E("return tostring(0.1 + 0.2)", 0),
    E("return string.format('%5.2f', 3.14159)", 0),
    E("return type(getmetatable(''))", 0),
    E("getmetatable('').__index = {}", 0),
    E("return #KEYS", -1),
    E("return 1", -12),
    E("return 1", 2, "a"),
    E("return 1", "x"),
    E("return 1", "1.5"),
    # Shebang and flags.
    E("#!lua\nreturn 1", 0),
    E("#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'x')", 1, "{t}k"),
    E("#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", 1, "{t}k"),
    E("#!lua flags=\nreturn 2", 0),
    E("#!lua flags=no-writes,allow-oom,allow-stale,allow-cross-slot-keys\nreturn 3", 0),
    E("#!lua flags=bogus\nreturn 1", 0),
    E("#!lua flags=no-writes,,allow-oom\nreturn 1", 0),
    E("#!lua name=x\nreturn 1", 0),
    E("#!LUA\nreturn 1", 0),
    E("#!lua", 0),
    E("#!\nreturn 1", 0),
    E("#!lua\nerror('on line two')", 0),
    ["EVAL_RO", "return redis.call('get', KEYS[1])", "1", "{t}k"],
    ["EVAL_RO", "return redis.call('set', KEYS[1], 'x')", "1", "{t}k"],
    ["EVAL_RO", "return redis.call('del', KEYS[1])", "1", "{t}k"],
    ["EVAL_RO", "#!lua\nreturn 1", "0"],
    ["EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"],
    # The cache.
    ["SCRIPT", "FLUSH"],
    ["SCRIPT", "LOAD", "return 'loaded'"],
    ["EVALSHA", "b534286061d4b9e4026607613b95c06c06015ae8", "0"],
    ["EVALSHA", "B534286061D4B9E4026607613B95C06C06015AE8", "0"],
    ["EVALSHA_RO", "b534286061d4b9e4026607613b95c06c06015ae8", "0"],
    ["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
    ["EVALSHA", "abc", "0"],
    ["SCRIPT", "EXISTS", "b534286061d4b9e4026607613b95c06c06015ae8",
     "B534286061D4B9E4026607613B95C06C06015AE8", "ffffffffffffffffffffffffffffffffffffffff"],
    ["SCRIPT", "LOAD", "return ("],
    ["SCRIPT", "LOAD", "#!lua flags=bogus\nreturn 1"],
    ["SCRIPT", "LOAD"],
    ["SCRIPT"],
    ["SCRIPT", "FLUSH", "ASYNC"],
    ["SCRIPT", "FLUSH", "SYNC"],
    ["SCRIPT", "FLUSH", "bogus"],
    ["SCRIPT", "FLUSH", "SYNC", "x"],
    ["SCRIPT", "EXISTS", "b534286061d4b9e4026607613b95c06c06015ae8"],
    ["EVALSHA", "b534286061d4b9e4026607613b95c06c06015ae8", "0"],
    ["SCRIPT", "KILL"],
    ["SCRIPT", "BOGUS"],
    ["SCRIPT", "HELP"],
    ["EVAL"],
    ["EVAL", "return 1"],
    # Functions.
    ["FUNCTION", "FLUSH"],
    ["FUNCTION", "LOAD", "#!lua name=lib1\nredis.register_function('f1', function(keys, args) "
     "return redis.call('get', keys[1]) end)"],
    ["FUNCTION", "LOAD", "#!lua name=lib1\nredis.register_function('f1', function() return 1 end)"],
    ["FUNCTION", "LOAD", "REPLACE", "#!lua name=lib1\nredis.register_function('f1', "
     "function(keys, args) return {keys, args} end)"],
    ["FCALL", "f1", "2", "{t}a", "{t}b", "c"],
    ["FCALL", "F1", "0"],
    ["FCALL", "nosuch", "0"],
    ["FCALL", "f1", "-1"],
    ["FCALL", "f1", "5"],
    ["FCALL", "f1", "x"],
    ["FCALL_RO", "f1", "0"],
    ["FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function{function_name='f2', "
     "callback=function(keys) return redis.call('set', keys[1], 'v') end, "
     "flags={'no-writes'}, description='desc'}"],
    ["FCALL", "f2", "1", "{t}k"],
    ["FCALL_RO", "f2", "1", "{t}k"],
    ["FUNCTION", "LOAD", "#!lua name=lib3\nredis.register_function{function_name='f3', "
     "callback=function() return redis.setresp end, flags={'No-Writes', 'allow-oom'}}"],
    ["FCALL_RO", "f3", "0"],
    ["FUNCTION", "LIST", "LIBRARYNAME", "lib2"],
    ["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "lib3"],
    ["FUNCTION", "LIST", "LIBRARYNAME"],
    ["FUNCTION", "LIST", "BOGUS"],
    ["FUNCTION", "LIST", "WITHCODE", "WITHCODE"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\nredis.register_function('f1', function() return 1 end)"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\nlocal x = string.len('a')"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\nredis.call('ping')"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\na = 1"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\nreturn 1"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\nredis.register_function('a-b', function() end)"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\nredis.register_function('x', 1)"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\nredis.register_function()"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\nredis.register_function{callback=function() end}"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\nredis.register_function{function_name='x', "
     "callback=function() end, flags={'bogus'}}"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\nredis.register_function{function_name='x', "
     "callback=function() end, foo=1}"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\nredis.register_function('y', function() end)\n"
     "redis.register_function('y', function() end)"],
    ["FUNCTION", "LOAD", "#!lua name=lib4\nredis.register_function('f5', function() "
     "return KEYS end)"],
    ["FCALL", "f5", "0"],
    ["FUNCTION", "LOAD", "#!lua name=lib5\nredis.register_function('f6', function() "
     "error('x') end)"],
    ["FCALL", "f6", "0"],
    ["FUNCTION", "LOAD", "#!lua name=lib6\nredis.register_function('f7', function(k) "
     "redis.call('set', 'foo', 'bar') redis.call('set', 'bar', 'foo') return 'OK' end)"],
    ["FUNCTION", "LOAD", "return 1"],
    # A library that does not compile, or registers a name another library
    # holds.
    ["FUNCTION", "LOAD", "#!lua name=lib8\nlocal = 1"],
    ["FUNCTION", "LOAD", "#!lua name=lib8\nredis.register_function('f7', function() end)"],
    ["FUNCTION", "LOAD", "#!lua"],
    ["FUNCTION", "LOAD", "#!lua\nreturn 1"],
    ["FUNCTION", "LOAD", "#!nosuch name=x\nreturn 1"],
    ["FUNCTION", "LOAD", "#!LUA name=lib7 foo=bar\nreturn 1"],
    ["FUNCTION", "LOAD", "#!lua name=a name=b\nreturn 1"],
    ["FUNCTION", "LOAD", "#!lua name=a-b\nreturn 1"],
    ["FUNCTION", "LOAD", "BOGUS", "#!lua name=x\nreturn 1"],
    ["FUNCTION", "LOAD", "REPLACE"],
    ["FUNCTION", "DELETE", "nosuch"],
    ["FUNCTION", "DELETE", "lib5"],
    ["FUNCTION", "FLUSH", "bogus"],
    ["FUNCTION", "FLUSH", "SYNC", "x"],
    ["FUNCTION", "KILL"],
    ["FUNCTION", "BOGUS"],
    ["FUNCTION", "HELP"],
    ["FUNCTION", "FLUSH", "ASYNC"],
    ["FUNCTION", "LIST"],
    ["FUNCTION", "STATS"],
    # Transactions.
    ["MULTI"],
    E("return redis.call('set', KEYS[1], 'in-multi')", 1, "{t}m"),
    E("return redis.call('get', KEYS[1])", 1, "{t}m"),
    ["EXEC"],
]

STANDALONE = [
    E("redis.call('select', 1) return redis.call('set', 'k', 'db1')", 0),
    E("return redis.call('get', 'k')", 0),
    E("redis.call('set','foo','bar') redis.call('set','bar','foo') return 'OK'", 0),
    E("#!lua\nredis.call('set','foo','bar') redis.call('set','bar','foo') return 'OK'", 0),
    E("#!lua flags=no-cluster\nreturn 1", 0),
]

CLUSTER = [
    ["FUNCTION", "LOAD", "#!lua name=cl\nredis.register_function('fcs', function(k) "
     "redis.call('set', 'foo', 'bar') redis.call('set', 'bar', 'foo') return 'OK' end)"],
    ["FCALL", "fcs", "0"],
    ["FUNCTION", "LOAD", "REPLACE", "#!lua name=cl\nredis.register_function{function_name="
     "'fcs', callback=function(k) redis.call('set', 'foo', 'bar') redis.call('set', 'bar', "
     "'foo') return 'OK' end, flags={'allow-cross-slot-keys'}}"],
    ["FCALL", "fcs", "0"],
    ["FUNCTION", "LOAD", "#!lua name=nc\nredis.register_function{function_name='fnc', "
     "callback=function() return 'hello' end, flags={'no-cluster'}}"],
    ["FCALL", "fnc", "0"],
    E("return redis.call('get', KEYS[1])", 2, "a", "b"),
    E("return redis.call('set', 'foo', 'bar')", 0),
    E("redis.call('set','foo','bar') redis.call('set','bar','foo') return 'OK'", 0),
    E("#!lua\nredis.call('set','foo','bar') redis.call('set','bar','foo') return 'OK'", 0),
    E("#!lua flags=allow-cross-slot-keys\nredis.call('set','foo','bar') "
      "redis.call('set','bar','foo') return 'OK'", 0),
    E("#!lua\nredis.call('set', 'foo', 'bar') return 'OK'", 1, "bar"),
    E("#!lua flags=no-cluster\nreturn 1", 0),
    E("return redis.call('mset', 'foo', 1, 'bar', 2)", 0),
    E("return redis.call('select', 1)", 0),
]


class ScriptingDiffTest(unittest.TestCase):
    CLUSTER_MODE = False

    def setUp(self):
        if REDIS_SERVER is None:
            self.skipTest("redis-server is not installed: no reference to compare with")
        self.node, self.redis = start_diff_pair(1, self.CLUSTER_MODE)

    def tearDown(self):
        self.node.cleanup()
        self.redis.cleanup()

    def run_cases(self, cases, protocol):
        a, b = RawClient(self.node.port), RawClient(self.redis.port)
        try:
            if protocol == 3:
                a.call("HELLO", "3")
                b.call("HELLO", "3")
            for c in (a, b):
                c.call("SCRIPT", "FLUSH")
                c.call("FUNCTION", "FLUSH")
                c.call("FLUSHALL")
            mismatches = []
            for cmd in cases:
                got, want = a.call(*cmd), b.call(*cmd)
                if got != want:
                    mismatches.append(f"{cmd!r}:\n   shardnode {got!r}\n   redis     {want!r}")
            if mismatches:
                self.fail(f"{len(mismatches)} of {len(cases)} replies differ:\n" +
                          "\n".join(mismatches))
        finally:
            a.close()
            b.close()

    def extra(self):
        return CLUSTER if self.CLUSTER_MODE else STANDALONE

    def test_resp2(self):
        self.run_cases(COMMON + self.extra(), 2)

    def test_resp3(self):
        self.run_cases(COMMON + self.extra(), 3)


    def test_function_dump_restore(self):
        """FUNCTION DUMP payloads cross between the servers both ways, and
        FUNCTION RESTORE's policies and errors reply alike."""
        a, b = RawClient(self.node.port), RawClient(self.redis.port)
        lib = ("#!lua name=dlib\nredis.register_function('df', function(keys, args) "
               "return 'restored ' .. #keys end)")
        lib2 = ("#!lua name=dlib2\nredis.register_function('df', function() return 2 end)")
        try:
            for c in (a, b):
                c.call("FUNCTION", "FLUSH")
                c.call("FUNCTION", "LOAD", lib)
            dumps = {}
            for name, c in (("node", a), ("redis", b)):
                reply = c.call("FUNCTION", "DUMP")
                head, _, rest = reply.partition(b"\r\n")
                self.assertTrue(head.startswith(b"$"), reply)
                dumps[name] = rest[:int(head[1:])]
            cases = []
            for payload in (dumps["redis"], dumps["node"]):
                cases += [
                    ["FUNCTION", "RESTORE", payload],
                    ["FUNCTION", "RESTORE", payload, "APPEND"],
                    ["FUNCTION", "RESTORE", payload, "REPLACE"],
                    ["FUNCTION", "RESTORE", payload, "BOGUS"],
                    ["FUNCTION", "RESTORE", payload, "FLUSH", "x"],
                    ["FUNCTION", "FLUSH"],
                    ["FUNCTION", "RESTORE", payload],
                    ["FCALL", "df", "1", "{t}k"],
                    ["FUNCTION", "LIST", "WITHCODE"],
                    ["FUNCTION", "DELETE", "dlib"],
                    ["FUNCTION", "LOAD", lib2],
                    ["FUNCTION", "RESTORE", payload, "REPLACE"],
                    ["FUNCTION", "RESTORE", payload, "FLUSH"],
                    ["FCALL", "df", "0"],
                    ["FUNCTION", "RESTORE", b"bogus payload"],
                    ["FUNCTION", "RESTORE", payload[:-1] + b"x"],
                ]
            mismatches = []
            for cmd in cases:
                got, want = a.call(*cmd), b.call(*cmd)
                if got != want:
                    mismatches.append(f"{cmd!r}:\n   shardnode {got!r}\n   redis     {want!r}")
            if mismatches:
                self.fail("\n".join(mismatches))
        finally:
            a.close()
            b.close()


    def test_error_statistics(self):
        """INFO errorstats and the calls/failed/rejected counts of eval and
        of the commands scripts ran, after errors raised, returned, caught
        and dropped, compared with redis-server 7.0.15."""
        cases = [
            E("return redis.call('set', KEYS[1], 'str')", 1, "{t}s"),
            E("return redis.call('incr', KEYS[1])", 1, "{t}s"),
            E("return redis.pcall('incr', KEYS[1])", 1, "{t}s"),
            E("redis.pcall('incr', KEYS[1]) return 1", 1, "{t}s"),
            E("return redis.call('nosuch')", 0),
            E("return redis.pcall('nosuch')", 0),
            E("return redis.error_reply('MY_ERR_CODE custom msg')", 0),
            E("error('x')", 0),
            E("return {err='My Error'}", 0),
            E("return redis.call('get')", 0),
        ]

        def stats(c):
            raw = c.call("INFO", "all").decode()
            out = {}
            for line in raw.split("\r\n"):
                if line.startswith("errorstat_") or line.startswith("total_error_replies"):
                    out[line.split(":")[0]] = line.split(":")[1]
                elif line.startswith(("cmdstat_eval:", "cmdstat_incr:", "cmdstat_get:")):
                    name, fields = line.split(":", 1)
                    kept = [f for f in fields.split(",") if not f.startswith(("usec", "usec_"))]
                    out[name] = ",".join(kept)
            return out

        got = {}
        for name, port in (("node", self.node.port), ("redis", self.redis.port)):
            c = RawClient(port)
            try:
                c.call("CONFIG", "RESETSTAT")
                for cmd in cases:
                    c.call(*cmd)
                got[name] = stats(c)
            finally:
                c.close()
        self.assertIn("errorstat_MY_ERR_CODE", got["redis"])
        self.assertEqual(got["node"], got["redis"])

    def test_client_pause_write_holds_scripts(self):
        """Under CLIENT PAUSE WRITE, EVAL and FCALL (may_replicate) wait
        until the pause ends, EVAL_RO and scripts or functions declaring
        no-writes run, as in redis-server 7.0.15."""
        library = ("#!lua name=pauselib\nredis.register_function{function_name='pause_ro', "
                   "callback=function() return 4 end, flags={'no-writes'}}")
        for port in (self.node.port, self.redis.port):
            admin, runner = RawClient(port), RawClient(port, timeout=0.5)
            try:
                self.assertEqual(admin.call("FUNCTION", "LOAD", "REPLACE", library),
                                 b"$8\r\npauselib\r\n")
                sha = admin.call("SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn 3")
                sha = sha.split(b"\r\n")[1].decode()
                self.assertEqual(admin.call("CLIENT", "PAUSE", "100000", "WRITE"), b"+OK\r\n")
                self.assertEqual(runner.call("EVAL_RO", "return 1", "0"), b":1\r\n")
                self.assertEqual(runner.call("EVAL", "#!lua flags=no-writes\nreturn 2", "0"),
                                 b":2\r\n")
                self.assertEqual(runner.call("EVALSHA", sha, "0"), b":3\r\n")
                self.assertEqual(runner.call("FCALL", "pause_ro", "0"), b":4\r\n")
                with self.assertRaises(socket.timeout):
                    runner.call("EVAL", "#!lua\nreturn 5", "0")
                admin.call("CLIENT", "UNPAUSE")
                runner.sock.settimeout(10)
                self.assertEqual(runner.read(), b":5\r\n")
                runner.sock.settimeout(0.5)
                self.assertEqual(admin.call("CLIENT", "PAUSE", "100000", "WRITE"), b"+OK\r\n")
                with self.assertRaises(socket.timeout):
                    runner.call("EVAL", "return redis.call('set', '{t}p', 'v')", "0")
                self.assertEqual(admin.call("CLIENT", "UNPAUSE"), b"+OK\r\n")
                runner.sock.settimeout(10)
                self.assertEqual(runner.call("GET", "{t}p"), b"+OK\r\n")
            finally:
                admin.close()
                runner.close()


    def test_stale_replica(self):
        """A replica whose link is down with replica-serve-stale-data no:
        scripts without allow-stale are refused with MASTERDOWN, and inside
        an allow-stale script only commands with the stale flag run (the
        rest fail with the stale replica error), as in redis-server 7.0.15."""
        if self.CLUSTER_MODE:
            self.skipTest("REPLICAOF is refused in cluster mode")
        cases = [
            E("return redis.call('get','x')", 1, "x"),
            E("#!lua flags=no-writes\nreturn 1", 0),
            E("#!lua flags=allow-stale,no-writes\nreturn 1", 0),
            E("#!lua flags=allow-stale,no-writes\nreturn redis.call('get','x')", 1, "x"),
            E("#!lua flags=allow-stale,no-writes\nreturn redis.pcall('get','x')", 1, "x"),
            E("#!lua flags=allow-stale,no-writes\nreturn redis.call('echo','foobar')", 0),
            ["EVAL_RO", "#!lua flags=allow-stale\nreturn redis.call('ping')", "0"],
        ]
        a, b = RawClient(self.node.port), RawClient(self.redis.port)
        try:
            for c in (a, b):
                c.call("CONFIG", "SET", "replica-serve-stale-data", "no")
                c.call("REPLICAOF", "127.0.0.1", "1")
            mismatches = []
            for cmd in cases:
                got, want = a.call(*cmd), b.call(*cmd)
                if got != want:
                    mismatches.append(f"{cmd!r}:\n   shardnode {got!r}\n   redis     {want!r}")
            self.assertIn(b"Can not execute the command on a stale replica",
                          b.call(*cases[3]))
            for c in (a, b):
                c.call("REPLICAOF", "NO", "ONE")
            if mismatches:
                self.fail("\n".join(mismatches))
        finally:
            a.close()
            b.close()


class ClusterScriptingDiffTest(ScriptingDiffTest):
    CLUSTER_MODE = True


class BusyScriptTest(unittest.TestCase):
    """A script running past busy-reply-threshold: other clients get -BUSY,
    SCRIPT KILL stops a script that has not written, UNKILLABLE once it
    wrote, FUNCTION KILL / FUNCTION STATS answer with the right flavour;
    the replies compared with redis-server 7.0.15."""

    def setUp(self):
        if REDIS_SERVER is None:
            self.skipTest("redis-server is not installed: no reference to compare with")
        self.node, self.redis = start_diff_pair(1, False)

    def tearDown(self):
        self.node.cleanup()
        self.redis.cleanup()

    def scenario(self, port):
        """The replies of one run against the server at `port`."""
        out = []
        admin = RawClient(port)
        runner = RawClient(port)
        try:
            admin.call("CONFIG", "SET", "busy-reply-threshold", "100")
            loop = "local i = 0 while true do i = i + 1 end"
            runner.sock.sendall(b"*3\r\n$4\r\nEVAL\r\n$%d\r\n%s\r\n$1\r\n0\r\n" %
                                (len(loop), loop.encode()))
            # Wait (bounded) until the node reports the script busy.
            deadline = time.time() + 10
            while True:
                reply = admin.call("PING")
                if reply.startswith(b"-BUSY") or time.time() > deadline:
                    break
                time.sleep(0.02)
            out.append(reply)
            out.append(admin.call("GET", "x"))
            out.append(admin.call("FUNCTION", "KILL"))
            out.append(admin.call("FUNCTION", "STATS"))
            out.append(admin.call("SCRIPT", "KILL"))
            end = runner._skip(0)
            out.append(runner.buf[:end])
            runner.buf = runner.buf[end:]
            out.append(admin.call("PING"))
            out.append(admin.call("SCRIPT", "KILL"))
            # A script that wrote cannot be killed.
            wrote = "redis.call('set','x','1') local i = 0 while true do i = i + 1 end"
            runner.sock.sendall(b"*3\r\n$4\r\nEVAL\r\n$%d\r\n%s\r\n$1\r\n0\r\n" %
                                (len(wrote), wrote.encode()))
            deadline = time.time() + 10
            while True:
                reply = admin.call("PING")
                if reply.startswith(b"-BUSY") or time.time() > deadline:
                    break
                time.sleep(0.02)
            out.append(reply)
            out.append(admin.call("SCRIPT", "KILL"))
            return out
        finally:
            admin.close()
            runner.close()

    def test_busy_replies_match_redis(self):
        got = self.scenario(self.node.port)
        want = self.scenario(self.redis.port)
        self.assertEqual(got, want)
        self.assertTrue(got[0].startswith(b"-BUSY"), got)
        # Both are stuck in an unkillable script: SHUTDOWN (saving) is
        # refused, SHUTDOWN NOSAVE ends them.
        for node in (self.node, self.redis):
            c = RawClient(node.port)
            self.assertTrue(c.call("SHUTDOWN").startswith(b"-BUSY"))
            try:
                c.call("SHUTDOWN", "NOSAVE")
            except ConnectionError:
                pass
            c.close()
            node.proc.wait(10)  # it exits by itself (no SIGKILL needed)



class FunctionPersistenceTest(unittest.TestCase):
    """Function libraries live in RDB files (opcode 245, before the first
    db): shardnode reloads its own file, redis-server 7.0.15 loads
    shardnode's, and a replica's full sync replaces its libraries."""

    LIB = ("#!lua name=plib\nredis.register_function{function_name='pf', "
           "callback=function() return 'persisted' end, flags={'no-writes'}}")

    def test_libraries_survive_a_restart_and_load_in_redis(self):
        node = Node()
        self.addCleanup(node.cleanup)
        node.start()
        c = Client(node.port)
        self.assertEqual(c.call("FUNCTION", "LOAD", self.LIB), b"plib")
        self.assertEqual(c.call("SET", "k", "v"), "OK")
        self.assertEqual(c.call("SAVE"), "OK")
        c.close()
        node.stop()
        node.start()
        c = Client(node.port)
        self.assertEqual(c.call("FCALL", "pf", "0"), b"persisted")
        self.assertEqual(c.call("GET", "k"), b"v")
        c.close()
        if REDIS_SERVER is None:
            return
        redis = RedisServerNode(dir=node.dir, args=["--dbfilename", "dump.rdb"])
        self.addCleanup(redis.stop)
        node.stop()
        redis.start()
        r = Client(redis.port)
        self.assertEqual(r.call("FCALL", "pf", "0"), b"persisted")
        r.close()

    def test_debug_reload_options(self):
        """DEBUG RELOAD keeps the libraries; NOFLUSH fails on the library
        already there; NOFLUSH MERGE replaces it (keys too), as Redis."""
        node = Node()
        self.addCleanup(node.cleanup)
        node.start()
        c = Client(node.port)
        try:
            self.assertEqual(c.call("FUNCTION", "LOAD", self.LIB), b"plib")
            self.assertEqual(c.call("SET", "k", "v"), "OK")
            self.assertEqual(c.call("DEBUG", "RELOAD"), "OK")
            self.assertEqual(c.call("FCALL", "pf", "0"), b"persisted")
            self.assertEqual(c.call("DEBUG", "RELOAD", "NOFLUSH"),
                             "ERR Error trying to load the RDB dump")
            self.assertEqual(c.call("DEBUG", "RELOAD", "NOFLUSH", "MERGE"), "OK")
            self.assertEqual(c.call("FCALL", "pf", "0"), b"persisted")
            self.assertEqual(c.call("GET", "k"), b"v")
        finally:
            c.close()

    def test_full_sync_replaces_the_replicas_libraries(self):
        primary = Node()
        replica = Node()
        self.addCleanup(primary.cleanup)
        self.addCleanup(replica.cleanup)
        primary.start()
        replica.start()
        p, r = Client(primary.port), Client(replica.port)
        self.assertEqual(p.call("FUNCTION", "LOAD", self.LIB), b"plib")
        self.assertEqual(r.call("FUNCTION", "LOAD", "#!lua name=other\n"
                                "redis.register_function('of', function() return 1 end)"),
                         b"other")
        self.assertEqual(r.call("REPLICAOF", "127.0.0.1", str(primary.port)), "OK")
        wait_until(lambda: r.call("FCALL", "pf", "0") == b"persisted", timeout=20,
                   what="the primary's library on the replica")
        self.assertEqual(r.call("FCALL", "of", "0"), "ERR Function not found")
        # FUNCTION LOAD is propagated; a replica runs a no-writes function.
        self.assertEqual(p.call("FUNCTION", "LOAD", "#!lua name=ro\nredis.register_function{"
                                "function_name='rf', callback=function() return 'ro' end, "
                                "flags={'no-writes'}}"), b"ro")
        wait_until(lambda: r.call("FCALL_RO", "rf", "0") == b"ro", timeout=20,
                   what="the propagated FUNCTION LOAD on the replica")
        # Script flags on a read-only replica (replies as redis-server 7.0.15's).
        ro = "READONLY You can't write against a read only replica."
        self.assertEqual(r.call("EVAL", "#!lua\nreturn 1", "0"), ro)
        self.assertEqual(r.call("EVAL_RO", "#!lua\nreturn 1", "0"), ro)
        self.assertEqual(r.call("EVAL", "#!lua flags=no-writes\nreturn 1", "0"), 1)
        self.assertEqual(r.call("EVAL", "return redis.call('get', 'x')", "0"), None)
        body = "return redis.call('set','x','y')"
        sha = hashlib.sha1(body.encode()).hexdigest()
        self.assertEqual(r.call("EVAL", body, "0"),
                         f"{ro} script: {sha}, on @user_script:1.")
        self.assertEqual(r.call("FUNCTION", "LOAD", "#!lua name=zz\n"
                                "redis.register_function('zz1', function() return 1 end)"), ro)
        p.close()
        r.close()


if __name__ == "__main__":
    unittest.main()
