// Reply: one RESP value as the sentinel core sees it, both ways: the replies
// instances send back to the sentinel's links, and the replies the core
// builds for its own clients (SENTINEL MASTERS...). The shell converts from
// the outbound client's decoded replies and encodes with the node's reply
// builder (maps degrade to flat arrays in RESP2). Pure value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shardnode::sentinel {

struct Reply {
  enum class Type {
    kStatus,     // +text
    kError,      // -text (str holds the text without '-')
    kInteger,    // :n
    kBulk,       // $len
    kNullBulk,   // $-1 (RESP3 _)
    kNullArray,  // *-1 (RESP3 _)
    kArray,      // *n
    kMap,        // %n: elements hold 2n values, name then value
    kOther,      // any other type received from an instance
  };
  Type type = Type::kNullBulk;
  std::string str;
  int64_t integer = 0;
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::kError; }

  static Reply Status(std::string s) { return {Type::kStatus, std::move(s), 0, {}}; }
  static Reply Ok() { return Status("OK"); }
  static Reply Error(std::string s) { return {Type::kError, std::move(s), 0, {}}; }
  static Reply Integer(int64_t n) { return {Type::kInteger, {}, n, {}}; }
  static Reply Bulk(std::string s) { return {Type::kBulk, std::move(s), 0, {}}; }
  static Reply NullBulk() { return {Type::kNullBulk, {}, 0, {}}; }
  static Reply NullArray() { return {Type::kNullArray, {}, 0, {}}; }
  static Reply Array(std::vector<Reply> e = {}) { return {Type::kArray, {}, 0, std::move(e)}; }
  static Reply Map() { return {Type::kMap, {}, 0, {}}; }

  // For maps under construction: appends name and value (a bulk string).
  void Add(std::string_view name, std::string value) {
    elements.push_back(Bulk(std::string(name)));
    elements.push_back(Bulk(std::move(value)));
  }
  void Add(std::string_view name, int64_t value) { Add(name, std::to_string(value)); }
  void AddReply(std::string_view name, Reply value) {
    elements.push_back(Bulk(std::string(name)));
    elements.push_back(std::move(value));
  }
};

}  // namespace shardnode::sentinel
