// Helpers shared by the replication/ RDB tests (test-only; no .cc).
#ifndef SHARDNODE_REPLICATION_RDB_TEST_UTIL_H_
#define SHARDNODE_REPLICATION_RDB_TEST_UTIL_H_

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "replication/crc64.h"
#include "replication/internal/intset.h"
#include "replication/internal/ziplist.h"
#include "replication/rdb.h"

namespace shardnode::replication::testing {

// tests/fixtures/rdb/<name>, found from this header's own path.
inline std::string FixturePath(const std::string& name) {
  return std::string(SHARDNODE_SOURCE_DIR) + "/tests/fixtures/rdb/" + name;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sets, hashes and sorted sets compare regardless of order.
inline RdbValue Normalized(RdbValue v) {
  if (v.type == RdbType::kSet) std::sort(v.elements.begin(), v.elements.end());
  std::sort(v.fields.begin(), v.fields.end());
  std::sort(v.zset.begin(), v.zset.end());
  return v;
}

inline std::vector<RdbEntry> Normalized(std::vector<RdbEntry> entries) {
  for (auto& e : entries) e.value = Normalized(std::move(e.value));
  std::sort(entries.begin(), entries.end(), [](const RdbEntry& a, const RdbEntry& b) {
    return a.db != b.db ? a.db < b.db : a.key < b.key;
  });
  return entries;
}

inline std::vector<std::string> Range(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

// Builds RDB bytes by hand, for inputs our writer never produces.
class Bytes {
 public:
  explicit Bytes(absl::string_view magic = "REDIS0010") : s_(magic) {}
  Bytes& Op(int op) {
    s_.push_back(static_cast<char>(op));
    return *this;
  }
  Bytes& Len(uint64_t len) {
    if (len < 64) {
      s_.push_back(static_cast<char>(len));
    } else if (len < 16384) {
      s_.push_back(static_cast<char>(0x40 | (len >> 8)));
      s_.push_back(static_cast<char>(len & 0xFF));
    } else {
      s_.push_back(static_cast<char>(0x80));
      for (int i = 3; i >= 0; --i) s_.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
    }
    return *this;
  }
  Bytes& Str(absl::string_view s) {
    Len(s.size());
    return Raw(s);
  }
  Bytes& Raw(absl::string_view s) {
    s_.append(s.data(), s.size());
    return *this;
  }
  Bytes& LE(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) s_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return *this;
  }
  // Appends EOF and the checksum.
  std::string Finish(bool checksum = true) {
    Op(0xFF);
    uint64_t crc = checksum ? Crc64(0, s_) : 0;
    LE(crc, 8);
    return s_;
  }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

inline std::vector<std::string> LegacyList() {
  return {"a", "12", "-7000", std::string(300, 'p'), "5000000000"};
}

// A version-9 file holding every encoding Redis before 7.0 wrote, with the
// old seconds expiry opcode and LRU/LFU hints (without EOF and checksum).
inline Bytes LegacyFile() {
  std::vector<std::string> list = LegacyList();
  Bytes b("REDIS0009");
  b.Op(0xFA).Str("redis-ver").Str("6.2.14");
  b.Op(0xFE).Len(0).Op(0xFB).Len(9).Len(1);
  b.Op(0xFD).LE(2000000000, 4).Op(1).Str("plain-list").Len(2).Str("x").Raw("\xc1\x39\x30");
  b.Op(0xF8).Len(77).Op(10).Str("zl-list").Str(internal::EncodeZiplist(list));
  b.Op(0xF9)
      .Raw("\x05")
      .Op(14)
      .Str("ql-list")
      .Len(2)
      .Str(internal::EncodeZiplist({"a", "b"}))
      .Str(internal::EncodeZiplist({"c"}));
  b.Op(3)
      .Str("zset-v1")
      .Len(4)
      .Str("a")
      .Raw(
          "\x03"
          "1.5")
      .Str("b")
      .Raw("\xfe")
      .Str("c")
      .Raw("\xff")
      .Str("d")
      .Raw(
          "\x01"
          "7");
  b.Op(12).Str("zl-zset").Str(internal::EncodeZiplist({"m", "2", "n", "3.25"}));
  b.Op(13).Str("zl-hash").Str(internal::EncodeZiplist({"f", "v", "g", "100"}));
  b.Op(9).Str("zipmap").Str(internal::EncodeZipmap({{"foo", "bar"}, {"hello", "world"}}));
  b.Op(11).Str("intset").Str(internal::EncodeIntset({7, -3}));
  b.Op(3).Str("zset-v1-nan").Len(0);  // empty: skipped
  return b;
}

// What LegacyFile() holds.
inline std::vector<RdbEntry> LegacyEntries() {
  std::vector<std::string> list = LegacyList();
  return {
      {0, "plain-list", RdbValue::List({"x", "12345"}), 2000000000000},
      {0, "zl-list", RdbValue::List(list), -1},
      {0, "ql-list", RdbValue::List({"a", "b", "c"}), -1},
      {0, "zset-v1", RdbValue::ZSet({{"a", 1.5}, {"b", HUGE_VAL}, {"c", -HUGE_VAL}, {"d", 7}}), -1},
      {0, "zl-zset", RdbValue::ZSet({{"m", 2}, {"n", 3.25}}), -1},
      {0, "zl-hash", RdbValue::Hash({{"f", "v"}, {"g", "100"}}), -1},
      {0, "zipmap", RdbValue::Hash({{"foo", "bar"}, {"hello", "world"}}), -1},
      {0, "intset", RdbValue::Set({"-3", "7"}), -1},
  };
}

// Entries covering every path of the writer: each type in its compact and
// its plain form, integer and compressible strings, binary data, expiry
// times and two databases.
// The DUMP payload of `v` made piece by piece with DumpBuilder, folding
// the checksum every `fold_every` elements (as a sliced MIGRATE does).
inline std::string BuildDumpInPieces(const RdbValue& v, size_t fold_every = 3) {
  DumpBuilder b;
  size_t n = 0;
  auto maybe_fold = [&] {
    if (++n % fold_every == 0) b.Fold();
  };
  switch (v.type) {
    case RdbType::kString:
      b.BeginString(v.str.size());
      for (size_t i = 0; i < v.str.size(); i += 4) {
        b.StringChunk(std::string_view(v.str).substr(i, 4));
        maybe_fold();
      }
      break;
    case RdbType::kList:
      b.BeginList(v.elements.size());
      for (const auto& e : v.elements) {
        b.ListElement(e);
        maybe_fold();
      }
      break;
    case RdbType::kSet:
      b.BeginSet(v.elements.size());
      for (const auto& e : v.elements) {
        b.SetMember(e);
        maybe_fold();
      }
      break;
    case RdbType::kHash:
      b.BeginHash(v.fields.size());
      for (const auto& [f, val] : v.fields) {
        b.HashField(f, val);
        maybe_fold();
      }
      break;
    case RdbType::kZSet:
      b.BeginZSet(v.zset.size());
      for (const auto& [m, score] : v.zset) {
        b.ZSetMember(m, score);
        maybe_fold();
      }
      break;
    case RdbType::kStream:
      return DumpPayload(v);  // streams are dumped in one piece
  }
  return b.Finish();
}

inline std::vector<RdbEntry> SampleEntries() {
  std::vector<RdbEntry> e;
  auto add = [&](std::string key, RdbValue v, int64_t expire = -1, uint64_t db = 0) {
    e.push_back(RdbEntry{db, std::move(key), std::move(v), expire});
  };
  add("s:raw", RdbValue::String("hello world"));
  add("s:int8", RdbValue::String("-100"));
  add("s:int16", RdbValue::String("30000"));
  add("s:int32", RdbValue::String("-2000000000"));
  add("s:int64", RdbValue::String("9223372036854775807"));
  add("s:lead0", RdbValue::String("0012"));
  add("s:empty", RdbValue::String(""));
  add("s:bin", RdbValue::String(std::string("\x00\x01\xff\r\n", 5)));
  std::string compressible;
  for (int i = 0; i < 200; ++i) compressible += "chunk" + std::to_string(i % 7);
  add("s:lzf", RdbValue::String(compressible));
  add("s:exp", RdbValue::String("v"), 4102444800000);
  add("l:small", RdbValue::List({"a", "1", "-5", "300", "70000", "", std::string(70, 'x')}));
  std::vector<std::string> big = Range("item:", 1, 3000);
  big.push_back(std::string(10000, 'z'));
  big.push_back("tail");
  add("l:big", RdbValue::List(big));
  add("set:int", RdbValue::Set({"3", "1", "-4", "100000"}));
  add("set:int64", RdbValue::Set({"1", "5000000000"}));
  add("set:str", RdbValue::Set({"a", "b", "c"}));
  add("set:bigint", RdbValue::Set(Range("", 1, 600)));
  add("set:mixed", RdbValue::Set({"1", "two", "3"}));
  add("h:small", RdbValue::Hash({{"f1", "v1"}, {"n", "123"}, {"e", ""}}), 4102444800123);
  std::vector<std::pair<std::string, std::string>> hbig;
  for (int i = 1; i <= 600; ++i)
    hbig.emplace_back("f" + std::to_string(i), "v" + std::to_string(i));
  add("h:big", RdbValue::Hash(hbig));
  add("h:longval", RdbValue::Hash({{"k", std::string(100, 'w')}}));
  add("z:small", RdbValue::ZSet({{"a", 1},
                                 {"b", 2.5},
                                 {"c", -HUGE_VAL},
                                 {"d", HUGE_VAL},
                                 {"e", 1e300},
                                 {"f", -0.5},
                                 {"g", 0.1},
                                 {"h", 2.5}}));
  std::vector<std::pair<std::string, double>> zbig;
  for (int i = 1; i <= 200; ++i) zbig.emplace_back("m" + std::to_string(i), i * 1.5);
  add("z:big", RdbValue::ZSet(zbig));
  add("z:longmember", RdbValue::ZSet({{std::string(100, 'q'), 3}, {"short", 3}}));
  add("db1:key", RdbValue::String("in db1"), -1, 1);
  add("db1:list", RdbValue::List({"x", "y"}), 4102444800999, 1);
  return e;
}

}  // namespace shardnode::replication::testing

#endif  // SHARDNODE_REPLICATION_RDB_TEST_UTIL_H_
