// Helpers shared by the replication/ RDB tests (test-only; no .cc).
#ifndef SHARDNODE_REPLICATION_RDB_TEST_UTIL_H_
#define SHARDNODE_REPLICATION_RDB_TEST_UTIL_H_

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "replication/rdb.h"

namespace shardnode::replication::testing {

// tests/fixtures/rdb/<name>, found from this header's own path.
inline std::string FixturePath(const std::string& name) {
  std::string here = __FILE__;  // .../replication/rdb_test_util.h
  std::string root = here.substr(0, here.rfind('/'));
  root = root.substr(0, root.rfind('/'));
  return root + "/tests/fixtures/rdb/" + name;
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

// Entries covering every path of the writer: each type in its compact and
// its plain form, integer and compressible strings, binary data, expiry
// times and two databases.
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
  for (int i = 1; i <= 200; ++i)
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
