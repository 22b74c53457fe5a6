"""Seeded generators of command streams for the data-type differential test.

Each generator yields argument lists (valid and invalid commands, edge cases)
over a small pool of keys and members, so that commands collide often and the
encodings cross Redis's thresholds (listpack/intset -> hashtable/skiplist).
"""
import random

HASH_KEYS = ["h:%d" % i for i in range(3)]
SET_KEYS = ["s:%d" % i for i in range(4)]
ZSET_KEYS = ["z:%d" % i for i in range(4)]
LIST_KEYS = ["l:%d" % i for i in range(3)]
ALL_KEYS = HASH_KEYS + SET_KEYS + ZSET_KEYS + LIST_KEYS + ["missing"]

BAD_NUMBERS = ["abc", "1.5", "", " 1", "99999999999999999999", "-9223372036854775808", "0x10"]
BAD_FLOATS = ["abc", "nan", "", " 1", "1e400", "(x"]
SCORES = ["0", "1", "-1", "2.5", "1e17", "0.1", "-0", "inf", "-inf", "3", "10", "1.000001",
          "+5", "7e-3", "123456789.125"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    # --- pools ---
    def pick(self, seq):
        return self.r.choice(seq)

    def member(self):
        x = self.r.random()
        if x < 0.45:
            return str(self.r.randint(-3, 25))
        if x < 0.9:
            return self.pick("abcdefghij")
        if x < 0.95:
            return "m" * self.r.randint(60, 70)
        return self.pick(["", "0", "-0", "01", "9223372036854775807", "\xff", "a b"])

    def members(self, lo=1, hi=4):
        return [self.member() for _ in range(self.r.randint(lo, hi))]

    def many(self, n, prefix=""):
        base = self.r.randint(0, 1000)
        return [prefix + str(base + i) for i in range(n)]

    def int_arg(self, lo=-5, hi=8):
        if self.r.random() < 0.05:
            return self.pick(BAD_NUMBERS)
        return str(self.r.randint(lo, hi))

    def key(self, pool):
        # Mostly the right type, sometimes another type (WRONGTYPE) or missing.
        x = self.r.random()
        if x < 0.88:
            return self.pick(pool)
        if x < 0.94:
            return "missing"
        return self.pick(ALL_KEYS)

    def score(self):
        if self.r.random() < 0.04:
            return self.pick(BAD_FLOATS)
        if self.r.random() < 0.4:
            return self.pick(SCORES)
        return str(self.r.randint(-5, 20))

    def scan_tail(self):
        out = []
        if self.r.random() < 0.4:
            out += ["MATCH", self.pick(["*", "a*", "1*", "[a-c]", "?", "*m*"])]
        if self.r.random() < 0.05:
            out += ["COUNT", self.pick(["0", "-1", "x"])]
        else:
            out += ["COUNT", "100000"]
        if self.r.random() < 0.03:
            out += ["BOGUS"]
        return out

    # --- per type ---
    def hash_cmd(self):
        k = self.key(HASH_KEYS)
        f = self.member
        c = self.r.randint(0, 21)
        if c == 0:
            if self.r.random() < 0.05:
                return ["HSET", k] + [f() for _ in range(131 * 2)]
            args = []
            for _ in range(self.r.randint(1, 3)):
                args += [f(), f()]
            if self.r.random() < 0.05:
                args.append("odd")
            return ["HSET", k] + args
        if c == 1:
            return ["HSETNX", k, f(), f()]
        if c == 2:
            return ["HMSET", k, f(), f()]
        if c == 3:
            return ["HGET", k, f()]
        if c == 4:
            return ["HMGET", k] + self.members()
        if c == 5:
            return ["HDEL", k] + self.members()
        if c == 6:
            return ["HLEN", k]
        if c == 7:
            return ["HSTRLEN", k, f()]
        if c == 8:
            return ["HEXISTS", k, f()]
        if c == 9:
            return ["HKEYS", k]
        if c == 10:
            return ["HVALS", k]
        if c == 11:
            return ["HGETALL", k]
        if c == 12:
            return ["HINCRBY", k, f(), self.int_arg(-100, 100)]
        if c == 13:
            inc = self.pick(["1.5", "-0.25", "3", "1e3", "abc", "inf", "0.1", "5.0e3"])
            return ["HINCRBYFLOAT", k, f(), inc]
        if c == 14:
            args = ["HRANDFIELD", k]
            if self.r.random() < 0.8:
                args.append(self.int_arg(-6, 8))
                if self.r.random() < 0.5:
                    args.append(self.pick(["WITHVALUES", "withvalues", "bad"]))
            return args
        if c == 15:
            return ["HSCAN", k, self.pick(["0", "0", "x"])] + self.scan_tail()
        if c == 16:
            return ["HINCRBY", k, self.pick(["a", "b", "1"]), "9223372036854775807"]
        if c == 17:
            return ["HSET", k]
        if c == 18:
            return ["HSET", k, "n", self.pick(["12", "1.5", "x", "9223372036854775807"])]
        return self.meta(k)

    def set_cmd(self):
        k = self.key(SET_KEYS)
        c = self.r.randint(0, 24)
        if c == 0:
            x = self.r.random()
            if x < 0.04:
                return ["SADD", k] + self.many(self.r.randint(505, 520))
            if x < 0.08:
                return ["SADD", k] + self.many(20, "x")
            return ["SADD", k] + self.members()
        if c == 1:
            return ["SREM", k] + self.members()
        if c == 2:
            return ["SISMEMBER", k, self.member()]
        if c == 3:
            return ["SMISMEMBER", k] + self.members()
        if c == 4:
            return ["SMEMBERS", k]
        if c == 5:
            return ["SCARD", k]
        if c == 6:
            args = ["SPOP", k]
            if self.r.random() < 0.6:
                args.append(self.int_arg(-1, 12))
            return args
        if c == 7:
            args = ["SRANDMEMBER", k]
            if self.r.random() < 0.8:
                args.append(self.int_arg(-8, 12))
            return args
        if c == 8:
            return ["SMOVE", k, self.key(SET_KEYS), self.member()]
        if c in (9, 10, 11):
            op = self.pick(["SINTER", "SUNION", "SDIFF"])
            keys = [self.key(SET_KEYS) for _ in range(self.r.randint(1, 3))]
            if self.r.random() < 0.5:
                return [op + "STORE", self.pick(SET_KEYS)] + keys
            return [op] + keys
        if c == 12:
            keys = [self.key(SET_KEYS) for _ in range(self.r.randint(1, 3))]
            n = str(len(keys)) if self.r.random() < 0.9 else self.pick(["0", "5", "x"])
            args = ["SINTERCARD", n] + keys
            if self.r.random() < 0.4:
                args += ["LIMIT", self.int_arg(-1, 4)]
            return args
        if c == 13:
            return ["SSCAN", k, self.pick(["0", "0", "x"])] + self.scan_tail()
        return self.meta(k)

    def zset_cmd(self):
        k = self.key(ZSET_KEYS)
        c = self.r.randint(0, 33)
        if c in (0, 1):
            flags = [f for f in ["NX", "XX", "GT", "LT", "CH", "INCR"] if self.r.random() < 0.12]
            if self.r.random() < 0.03:
                pairs = []
                for m in self.many(135, "w"):
                    pairs += [str(self.r.randint(0, 50)), m]
                return ["ZADD", k] + pairs
            pairs = []
            for _ in range(self.r.randint(1, 3)):
                pairs += [self.score(), self.member()]
            if self.r.random() < 0.04:
                pairs.append("dangling")
            return ["ZADD", k] + flags + pairs
        if c == 2:
            return ["ZINCRBY", k, self.score(), self.member()]
        if c == 3:
            return ["ZSCORE", k, self.member()]
        if c == 4:
            return ["ZMSCORE", k] + self.members()
        if c == 5:
            return ["ZCARD", k]
        if c == 6:
            return ["ZCOUNT", k, self.range_score(), self.range_score()]
        if c == 7:
            return ["ZLEXCOUNT", self.lex_key(), self.range_lex(), self.range_lex()]
        if c in (8, 9, 10):
            return self.zrange(k)
        if c == 11:
            return ["ZRANGEBYSCORE", k, self.range_score(), self.range_score()] + self.opt_ws_limit()
        if c == 12:
            return ["ZREVRANGEBYSCORE", k, self.range_score(), self.range_score()] + \
                self.opt_ws_limit()
        if c == 13:
            return ["ZRANGEBYLEX", self.lex_key(), self.range_lex(), self.range_lex()] + \
                self.opt_limit()
        if c == 14:
            return ["ZREVRANGEBYLEX", self.lex_key(), self.range_lex(), self.range_lex()] + \
                self.opt_limit()
        if c == 15:
            args = ["ZREVRANGE", k, self.int_arg(), self.int_arg()]
            if self.r.random() < 0.5:
                args.append("WITHSCORES")
            return args
        if c == 16:
            return [self.pick(["ZRANK", "ZREVRANK"]), k, self.member()]
        if c == 17:
            return ["ZREM", k] + self.members()
        if c == 18:
            return ["ZREMRANGEBYRANK", k, self.int_arg(), self.int_arg()]
        if c == 19:
            return ["ZREMRANGEBYSCORE", k, self.range_score(), self.range_score()]
        if c == 20:
            return ["ZREMRANGEBYLEX", self.lex_key(), self.range_lex(), self.range_lex()]
        if c == 21:
            args = [self.pick(["ZPOPMIN", "ZPOPMAX"]), k]
            if self.r.random() < 0.6:
                args.append(self.int_arg(-1, 5))
            return args
        if c == 22:
            keys = [self.key(ZSET_KEYS) for _ in range(self.r.randint(1, 3))]
            args = ["ZMPOP", str(len(keys)) if self.r.random() < 0.9 else "0"] + keys + \
                [self.pick(["MIN", "MAX", "max", "mid"])]
            if self.r.random() < 0.5:
                args += ["COUNT", self.int_arg(0, 5)]
            return args
        if c in (23, 24, 25):
            return self.zsetop()
        if c == 26:
            args = ["ZRANDMEMBER", k]
            if self.r.random() < 0.8:
                args.append(self.int_arg(-6, 8))
                if self.r.random() < 0.5:
                    args.append(self.pick(["WITHSCORES", "bad"]))
            return args
        if c == 27:
            return ["ZSCAN", k, self.pick(["0", "0", "x"])] + self.scan_tail()
        if c == 28:
            # Lexicographic playground: every score 0.
            pairs = []
            ms = self.many(140, "q") if self.r.random() < 0.03 else self.members(1, 5)
            for m in ms:
                pairs += ["0", m]
            return ["ZADD", "z:lex"] + pairs
        if c == 29:
            return [self.pick(["ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX"]),
                    "z:lex", self.range_lex(), self.range_lex()]
        return self.meta(k)

    def range_score(self):
        x = self.r.random()
        if x < 0.05:
            return self.pick(["abc", "(", "((1", "nan", "1 "])
        v = self.pick(SCORES + [str(self.r.randint(-3, 20)) for _ in range(4)])
        if v.startswith("+"):
            v = v[1:]
        return ("(" + v) if self.r.random() < 0.3 else v

    def lex_key(self):
        return "z:lex" if self.r.random() < 0.95 else "missing"

    def range_lex(self):
        x = self.r.random()
        if x < 0.05:
            return self.pick(["a", "", "++", "-x"])
        if x < 0.25:
            return self.pick(["-", "+"])
        return self.pick("([") + self.pick(list("abcdefghij") + ["", "1", "5", "c1"])

    def opt_limit(self):
        if self.r.random() < 0.4:
            return ["LIMIT", self.int_arg(-1, 4), self.int_arg(-2, 4)]
        return []

    def opt_ws_limit(self):
        out = []
        if self.r.random() < 0.5:
            out.append("WITHSCORES")
        return out + self.opt_limit()

    def zrange(self, k):
        by = self.pick(["", "", "BYSCORE", "BYLEX"])
        if by == "BYLEX":
            # Lexicographic ranges are defined only when all scores are equal.
            k = self.lex_key()
        if by == "BYSCORE":
            lo, hi = self.range_score(), self.range_score()
        elif by == "BYLEX":
            lo, hi = self.range_lex(), self.range_lex()
        else:
            lo, hi = self.int_arg(), self.int_arg()
        opts = ([by] if by else [])
        if self.r.random() < 0.3:
            opts.append("REV")
        if self.r.random() < 0.4:
            opts.append("WITHSCORES")
        opts += self.opt_limit()
        self.r.shuffle(opts)
        if self.r.random() < 0.3:
            return ["ZRANGESTORE", self.pick(ZSET_KEYS), k, lo, hi] + opts
        return ["ZRANGE", k, lo, hi] + opts

    def zsetop(self):
        op = self.pick(["ZUNION", "ZINTER", "ZDIFF", "ZINTERCARD"])
        pool = ZSET_KEYS + SET_KEYS[:1]
        keys = [self.pick(pool) if self.r.random() < 0.9 else self.pick(ALL_KEYS)
                for _ in range(self.r.randint(1, 3))]
        n = str(len(keys)) if self.r.random() < 0.92 else self.pick(["0", "9", "x"])
        tail = []
        if op in ("ZUNION", "ZINTER"):
            if self.r.random() < 0.3:
                tail += ["WEIGHTS"] + [self.pick(["1", "2", "-1", "0.5", "x"]) for _ in keys]
            if self.r.random() < 0.3:
                tail += ["AGGREGATE", self.pick(["SUM", "MIN", "MAX", "avg"])]
        if op == "ZINTERCARD" and self.r.random() < 0.4:
            tail += ["LIMIT", self.int_arg(-1, 3)]
        store = op != "ZINTERCARD" and self.r.random() < 0.4
        if store:
            return [op + "STORE", self.pick(ZSET_KEYS), n] + keys + tail
        if op != "ZINTERCARD" and self.r.random() < 0.5:
            tail.append("WITHSCORES")
        return [op, n] + keys + tail

    def list_cmd(self):
        k = self.key(LIST_KEYS)
        c = self.r.randint(0, 22)
        if c in (0, 1):
            return [self.pick(["LPUSH", "RPUSH"]), k] + self.members(1, 5)
        if c == 2:
            return [self.pick(["LPUSHX", "RPUSHX"]), k] + self.members(1, 2)
        if c == 3:
            args = [self.pick(["LPOP", "RPOP"]), k]
            if self.r.random() < 0.5:
                args.append(self.int_arg(-1, 4))
            return args
        if c == 4:
            return ["LLEN", k]
        if c in (5, 6):
            return ["LRANGE", k, self.int_arg(-8, 8), self.int_arg(-8, 8)]
        if c == 7:
            return ["LINDEX", k, self.int_arg(-6, 6)]
        if c == 8:
            return ["LSET", k, self.int_arg(-6, 6), self.member()]
        if c == 9:
            return ["LINSERT", k, self.pick(["BEFORE", "AFTER", "after", "middle"]),
                    self.member(), self.member()]
        if c == 10:
            return ["LREM", k, self.int_arg(-3, 3), self.member()]
        if c == 11:
            return ["LTRIM", k, self.int_arg(-6, 6), self.int_arg(-6, 8)]
        if c == 12:
            args = ["LPOS", k, self.member()]
            for opt in ("RANK", "COUNT", "MAXLEN"):
                if self.r.random() < 0.3:
                    args += [opt, self.int_arg(-3, 4)]
            return args
        if c == 13:
            return ["LMOVE", k, self.key(LIST_KEYS), self.pick(["LEFT", "RIGHT", "up"]),
                    self.pick(["LEFT", "RIGHT", "right"])]
        if c == 14:
            return ["RPOPLPUSH", k, self.key(LIST_KEYS)]
        if c == 15:
            keys = [self.key(LIST_KEYS) for _ in range(self.r.randint(1, 3))]
            args = ["LMPOP", str(len(keys)) if self.r.random() < 0.9 else "0"] + keys + \
                [self.pick(["LEFT", "RIGHT", "middle"])]
            if self.r.random() < 0.5:
                args += ["COUNT", self.int_arg(0, 4)]
            return args
        if c == 16:
            return ["RPUSH", k] + self.many(self.r.randint(1, 30))
        return self.meta(k)

    def meta(self, k):
        # Filled in by the test when the node supports them (TYPE, OBJECT).
        return ["__meta__", k]

    def next(self):
        return self.pick([self.hash_cmd, self.set_cmd, self.zset_cmd, self.list_cmd])()


# --- Bitmaps, bit fields and HyperLogLogs (BitsGen) ---
BIT_KEYS = ["b:0", "b:1", "{t}b2", "{t}b3"]
HLL_KEYS = ["p:0", "p:1", "{t}p2", "{t}p3"]
# Set up by the test: an int-encoded string, a short string, a list.
BITS_OTHER_KEYS = ["n:int", "s:str", "l:list"]
BITS_ALL_KEYS = BIT_KEYS + HLL_KEYS + BITS_OTHER_KEYS + ["missing"]
BITS_SETUP = [["SET", "n:int", "12345"], ["SET", "s:str", "foobar"], ["RPUSH", "l:list", "x"]]


class BitsGen(Gen):
    """Streams of SETBIT/GETBIT/BITCOUNT/BITPOS/BITOP/BITFIELD/BITFIELD_RO
    and PFADD/PFCOUNT/PFMERGE/PFDEBUG, with GET of the raw bytes."""

    def bkey(self, pool, right=0.85):
        x = self.r.random()
        if x < right:
            return self.pick(pool)
        if x < 0.98:
            return self.pick(BITS_OTHER_KEYS + ["missing"])
        return self.pick(BITS_ALL_KEYS)

    def offset(self, hi=300):
        x = self.r.random()
        if x < 0.05:
            return self.pick(["-1", "abc", "", "4294967296", "4294967304", "#3", "1.5",
                              "9223372036854775807"])
        if x < 0.1:
            return str(self.r.randint(0, 20000))
        return str(self.r.randint(0, hi))

    def index(self):
        if self.r.random() < 0.05:
            return self.pick(BAD_NUMBERS)
        return str(self.r.randint(-40, 40))

    def field_type(self):
        x = self.r.random()
        if x < 0.05:
            return self.pick(["i65", "u64", "i0", "u0", "x8", "i", "", "I8", "u-1"])
        return self.pick("iu") + str(self.r.randint(1, 63 if x < 0.5 else 64) if x >= 0.5 else
                                     self.pick([1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 32, 63]))

    def field_offset(self):
        x = self.r.random()
        if x < 0.2:
            return "#" + str(self.r.randint(0, 12))
        if x < 0.23:
            return self.pick(["-1", "x", "#", "#-1", "#x"])
        return str(self.r.randint(0, 120))

    def field_value(self):
        x = self.r.random()
        if x < 0.04:
            return self.pick(BAD_NUMBERS)
        if x < 0.2:
            return self.pick(["9223372036854775807", "-9223372036854775808", "255", "256", "-129",
                              "128", "-1", "4294967296", "18446744073709551615"])
        return str(self.r.randint(-300, 300))

    def bitfield(self, ro=False):
        k = self.bkey(BIT_KEYS)
        args = ["BITFIELD_RO" if ro else "BITFIELD", k]
        for _ in range(self.r.randint(0, 4)):
            c = self.r.random()
            if c < 0.35:
                args += ["GET", self.field_type(), self.field_offset()]
            elif c < 0.6 and not (ro and self.r.random() < 0.8):
                args += ["SET", self.field_type(), self.field_offset(), self.field_value()]
            elif c < 0.85 and not (ro and self.r.random() < 0.8):
                args += ["INCRBY", self.field_type(), self.field_offset(), self.field_value()]
            elif c < 0.97:
                args += ["OVERFLOW", self.pick(["WRAP", "SAT", "FAIL", "fail", "sat", "bogus"])]
            else:
                args += self.pick([["GET", "i8"], ["BOGUS"], ["SET", "u8", "0"], ["OVERFLOW"]])
        return args

    def bit_cmd(self):
        k = self.bkey(BIT_KEYS)
        c = self.r.randint(0, 15)
        if c in (0, 1, 2):
            v = self.pick(["0", "1"]) if self.r.random() < 0.95 else \
                self.pick(["2", "-1", "x", "", "01"])
            return ["SETBIT", k, self.offset(), v]
        if c == 3:
            return ["GETBIT", k, self.offset()]
        if c == 4:
            args = ["BITCOUNT", k]
            n = self.r.random()
            if n < 0.6:
                args += [self.index(), self.index()]
                if self.r.random() < 0.5:
                    args.append(self.pick(["BIT", "BYTE", "bit", "byte", "bits"]))
            elif n < 0.65:
                args += [self.index()]
            return args
        if c == 5:
            args = ["BITPOS", k, self.pick(["0", "1"]) if self.r.random() < 0.95 else
                    self.pick(["2", "-1", "x"])]
            n = self.r.randint(0, 3)
            if n >= 1:
                args.append(self.index())
            if n >= 2:
                args.append(self.index())
            if n >= 3:
                args.append(self.pick(["BIT", "BYTE", "bit", "nope"]))
            return args
        if c == 6:
            op = self.pick(["AND", "OR", "XOR", "NOT", "and", "not", "nand"])
            n = 1 if op.upper() == "NOT" and self.r.random() < 0.85 else self.r.randint(1, 3)
            srcs = [self.bkey(BIT_KEYS) for _ in range(n)]
            return ["BITOP", op, self.bkey(BIT_KEYS)] + srcs
        if c in (7, 8):
            return self.bitfield()
        if c == 9:
            return self.bitfield(ro=True)
        if c == 10:
            return ["GET", k]
        if c == 11:
            return ["STRLEN", k]
        if c == 12:
            return ["OBJECT", "ENCODING", k]
        if c == 13:
            return ["SET", k, self.pick(["", "12", "foobar", "\xff\xf0\x00", "a" * 50, "-7"])]
        if c == 14:
            return ["APPEND", k, self.pick(["x", "\x00", "\xff\xff"])]
        return ["DEL", k]

    def element(self):
        x = self.r.random()
        if x < 0.7:
            return str(self.r.randint(0, 400))
        if x < 0.9:
            return self.pick("abcdefghijklmnopqrstuvwxyz")
        return self.pick(["", "a b", "\xff", "x" * 100, "0", "-1"])

    def hll_cmd(self):
        k = self.bkey(HLL_KEYS, 0.97)
        c = self.r.randint(0, 16)
        if c in (0, 1, 2):
            return ["PFADD", k] + [self.element() for _ in range(self.r.randint(0, 6))]
        if c == 3:
            base = self.r.randint(0, 100000)
            return ["PFADD", k] + [str(base + i) for i in range(self.r.randint(20, 400))]
        if c in (4, 5):
            return ["PFCOUNT"] + [self.bkey(HLL_KEYS, 0.97) for _ in range(self.r.randint(1, 3))]
        if c == 6:
            return ["PFMERGE", self.bkey(HLL_KEYS, 0.97)] + \
                [self.bkey(HLL_KEYS, 0.97) for _ in range(self.r.randint(0, 3))]
        if c == 7:
            sub = self.pick(["ENCODING", "DECODE", "TODENSE", "encoding", "GETREG", "bogus"])
            if sub == "GETREG" and self.r.random() < 0.7:
                sub = "ENCODING"
            return ["PFDEBUG", sub, k]
        if c in (8, 9, 10):
            return ["GET", k]
        if c == 11:
            return ["OBJECT", "ENCODING", k]
        if c == 12:
            if self.r.random() < 0.6:
                return ["DEL", k]
            # Damage: a bad encoding byte, a stale-looking cache, an extra
            # opcode past the registers, a non-HLL string.
            return self.pick([["SETRANGE", k, "4", "\x02"], ["SETRANGE", k, "15", "\x00"],
                              ["SETRANGE", k, "0", "HYLX"], ["APPEND", k, "\x00"],
                              ["SET", k, "123"], ["SETRANGE", k, "4", "\x00"]])
        if c == 13:
            return ["STRLEN", k]
        if c == 14:
            return ["DEL", k]
        if c == 15:
            return ["PFADD", self.bkey(BITS_ALL_KEYS), self.element()]
        return ["PFCOUNT", k]

    def next(self):
        return self.bit_cmd() if self.r.random() < 0.5 else self.hll_cmd()
# --- geo, SORT, COPY, LCS (issue 15) ---
# Keys share a hash tag per family so that the STORE forms and COPY stay in
# one slot in cluster mode.
GEO_KEYS = ["{g}%d" % i for i in range(3)]
GEO_ALL = GEO_KEYS + ["{g}str", "{g}missing"]
GEO_MEMBERS = ["p%d" % i for i in range(40)]
UNITS = ["m", "km", "ft", "mi", "M", "KM"]
SORT_LISTS = ["{s}l%d" % i for i in range(2)]
SORT_SETS = ["{s}s%d" % i for i in range(2)]
SORT_ZSETS = ["{s}z%d" % i for i in range(2)]
SORT_ALL = SORT_LISTS + SORT_SETS + SORT_ZSETS + ["{s}str", "{s}h", "{s}missing"]
LCS_KEYS = ["{s}a", "{s}b", "{s}c"]
COPY_KEYS = ["{s}copy", "{s}copy2", "{s}str"]


class GeoSortGen:
    """Commands of the geo, SORT, COPY and LCS families over small pools."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        # Fixed places, distinct, around a few centres (so that searches see
        # several cells and the poles/antimeridian appear).
        centres = [(13.36, 38.11), (-122.4, 37.7), (179.9, 0.5), (0.0, 84.9), (-58.4, -34.6)]
        self.place = {}
        for i, m in enumerate(GEO_MEMBERS):
            cx, cy = centres[i % len(centres)]
            self.place[m] = (max(-180.0, min(180.0, cx + self.r.uniform(-2, 2))),
                             max(-85.05, min(85.05, cy + self.r.uniform(-1.5, 1.5))))

    def pick(self, seq):
        return self.r.choice(seq)

    def coord(self, member=None):
        if self.r.random() < 0.03:
            return self.pick([["200", "10"], ["10", "86"], ["abc", "1"], ["1", ""], ["-180", "-85.05112878"]])
        if member is None or self.r.random() < 0.3:
            m = self.pick(GEO_MEMBERS)
        else:
            m = member
        lon, lat = self.place[m]
        if self.r.random() < 0.3:
            lon += self.r.uniform(-0.5, 0.5)
            lat += self.r.uniform(-0.5, 0.5)
            lon, lat = max(-180, min(180, lon)), max(-85.05, min(85.05, lat))
        return ["%.6f" % lon, "%.6f" % lat]

    def gkey(self):
        return self.pick(GEO_KEYS) if self.r.random() < 0.9 else self.pick(GEO_ALL)

    def unit(self):
        return self.pick(UNITS) if self.r.random() < 0.97 else "parsec"

    def radius(self):
        x = self.r.random()
        if x < 0.03:
            return self.pick(["-1", "abc", "0"])
        if x < 0.2:
            return str(self.r.randint(1, 5000))
        return "%.3f" % self.r.uniform(1, 400)

    def search_opts(self, storing=False):
        out = []
        if self.r.random() < 0.5:
            out.append(self.pick(["ASC", "DESC"]))
        if self.r.random() < 0.4:
            out += ["COUNT", self.pick(["1", "2", "3", "5", "10", "0", "-1", "x"])]
            if self.r.random() < 0.3:
                out.append("ANY")
        elif self.r.random() < 0.03:
            out.append("ANY")
        if not storing or self.r.random() < 0.05:
            for w in ("WITHCOORD", "WITHDIST", "WITHHASH"):
                if self.r.random() < 0.35:
                    out.append(w)
        self.r.shuffle(out) if self.r.random() < 0.2 else None
        return out

    def geo_cmd(self):
        c = self.r.randint(0, 12)
        k = self.gkey()
        if c <= 2:
            opts = [o for o in ("NX", "XX", "CH") if self.r.random() < 0.12]
            args = ["GEOADD", k] + opts
            for _ in range(self.r.randint(1, 6)):
                m = self.pick(GEO_MEMBERS)
                args += self.coord(m) + [m]
            if self.r.random() < 0.03:
                args.pop()
            return args
        if c == 3:
            args = ["GEODIST", k, self.pick(GEO_MEMBERS), self.pick(GEO_MEMBERS)]
            if self.r.random() < 0.6:
                args.append(self.unit())
            return args
        if c == 4:
            return [self.pick(["GEOHASH", "GEOPOS"]), k] + [self.pick(GEO_MEMBERS + ["nope"])
                                                             for _ in range(self.r.randint(1, 4))]
        if c in (5, 6, 7):
            name = self.pick(["GEOSEARCH", "GEOSEARCHSTORE"])
            args = [name] + ([self.pick(GEO_KEYS + ["{g}dst"]), k] if name == "GEOSEARCHSTORE" else [k])
            parts = []
            if self.r.random() < 0.5:
                parts.append(["FROMMEMBER", self.pick(GEO_MEMBERS)])
            else:
                parts.append(["FROMLONLAT"] + self.coord())
            if self.r.random() < 0.5:
                parts.append(["BYRADIUS", self.radius(), self.unit()])
            else:
                parts.append(["BYBOX", self.radius(), self.radius(), self.unit()])
            if self.r.random() < 0.04:
                parts.pop(self.r.randint(0, 1))
            self.r.shuffle(parts)
            for p in parts:
                args += p
            args += self.search_opts(storing=name == "GEOSEARCHSTORE")
            if name == "GEOSEARCHSTORE" and self.r.random() < 0.4:
                args.append("STOREDIST")
            return args
        if c in (8, 9, 10):
            bymember = self.r.random() < 0.5
            ro = self.r.random() < 0.3
            name = ("GEORADIUSBYMEMBER" if bymember else "GEORADIUS") + ("_RO" if ro else "")
            args = [name, k] + ([self.pick(GEO_MEMBERS)] if bymember else self.coord())
            args += [self.radius(), self.unit()]
            storing = not ro and self.r.random() < 0.3
            args += self.search_opts(storing)
            if storing:
                args += [self.pick(["STORE", "STOREDIST"]), self.pick(GEO_KEYS + ["{g}dst"])]
            return args
        if c == 11:
            return ["ZRANGE", k, "0", "-1", "WITHSCORES"]
        return ["ZREM", k] + [self.pick(GEO_MEMBERS) for _ in range(2)]

    def value(self):
        x = self.r.random()
        if x < 0.6:
            return str(self.r.randint(-20, 60))
        if x < 0.8:
            return self.pick(["1.5", "-2.25", "1e3", "0", "-0", "3.0", "inf"])
        if x < 0.97:
            return self.pick("abcdefgh") + self.pick("xyz")
        # No out-of-range numbers: Redis's SORT reads a stale errno, so one
        # ERANGE anywhere would make its later numeric sorts fail.
        return self.pick(["", " 7", "nan", "1x"])

    def sort_cmd(self, cluster):
        c = self.r.randint(0, 13)
        if c <= 1:
            k = self.pick(SORT_LISTS)
            return ["RPUSH", k] + [self.value() if self.r.random() < 0.1 else str(self.r.randint(-20, 60))
                                   for _ in range(self.r.randint(1, 8))]
        if c == 2:
            k = self.pick(SORT_SETS)
            return ["SADD", k] + [str(self.r.randint(-20, 60)) if self.r.random() < 0.85 else self.value()
                                  for _ in range(self.r.randint(1, 8))]
        if c == 3:
            k = self.pick(SORT_ZSETS)
            args = ["ZADD", k]
            for _ in range(self.r.randint(1, 6)):
                args += [str(self.r.randint(0, 9)), str(self.r.randint(-20, 60))]
            return args
        if c == 4:
            # weights and hash fields for BY / GET
            if self.r.random() < 0.5:
                return ["SET", "{s}w_%d" % self.r.randint(-20, 60), self.value()]
            return ["HSET", "{s}h_%d" % self.r.randint(-20, 60), "f", self.value(), "g", self.value()]
        if c == 5:
            return ["DEL", self.pick(SORT_ALL)]
        if c in (6, 7, 8, 9):
            return self.sort(cluster)
        if c == 10:
            # Destinations outside the sorted pools: a set copied over a list
            # would make BY nosort show hash order.
            args = ["COPY", self.pick(SORT_ALL + COPY_KEYS), self.pick(COPY_KEYS)]
            if self.r.random() < 0.4:
                args.append("REPLACE")
            if self.r.random() < 0.1:
                args += ["DB", self.pick(["0", "1", "99", "x"])]
            if self.r.random() < 0.03:
                args.append("BOGUS")
            return args
        if c == 11:
            k = self.pick(LCS_KEYS)
            return ["SET", k, "".join(self.pick("abc") for _ in range(self.r.randint(0, 14)))]
        if c == 12:
            args = ["LCS", self.pick(LCS_KEYS + ["{s}l0"]), self.pick(LCS_KEYS + ["{s}missing"])]
            x = self.r.random()
            if x < 0.3:
                args.append("LEN")
            elif x < 0.8:
                args.append("IDX")
                if self.r.random() < 0.5:
                    args += ["MINMATCHLEN", self.pick(["0", "1", "2", "3", "-1", "x"])]
                if self.r.random() < 0.5:
                    args.append("WITHMATCHLEN")
            if self.r.random() < 0.03:
                args.append(self.pick(["LEN", "BOGUS"]))
            return args
        k = self.pick(SORT_ALL + COPY_KEYS)
        return ["EXPIRE", k, "1000"] if self.r.random() < 0.5 else ["TTL", k]

    def sort(self, cluster):
        name = self.pick(["SORT", "SORT_RO"])
        k = self.pick(SORT_LISTS + SORT_SETS + SORT_ZSETS)
        if self.r.random() < 0.1:
            k = self.pick(["{s}h", "{s}missing"])  # never a COPY destination
        # Redis fills the vector of a set or sorted set in hash order, which
        # shows through ties (ALPHA with BY: missing or equal weights).
        is_set = k in SORT_SETS or k in SORT_ZSETS
        args = [name, k]
        alpha = self.r.random() < 0.3
        x = self.r.random()
        if x < 0.2 and k not in SORT_SETS:
            args += ["BY", "nosort"]
        elif x < 0.4 and not (is_set and alpha):
            args += ["BY", self.pick(["{s}w_*", "{s}h_*->f"])]
        if self.r.random() < 0.3:
            args += ["LIMIT", self.pick(["0", "1", "2", "-1", "5", "x"]), self.pick(["1", "2", "3", "-1", "0", "10"])]
        for _ in range(self.pick([0, 0, 0, 1, 2])):
            args += ["GET", self.pick(["#", "{s}w_*", "{s}h_*->g", "{s}h_*->", "const"])]
        if self.r.random() < 0.4:
            args.append(self.pick(["ASC", "DESC"]))
        if alpha:
            args.append("ALPHA")
        if name == "SORT" and self.r.random() < 0.25:
            args += ["STORE", self.pick(["{s}dst", "{s}l1"])]
        if self.r.random() < 0.02:
            args.append("BOGUS")
        return args
