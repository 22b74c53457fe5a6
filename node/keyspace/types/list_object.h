// ListObject: the value of a list key (LPUSH and friends).
//
// A deque of strings. Redis 7.0.15 always reports lists as "quicklist" (the
// listpack list encoding arrived in 7.2), so there is a single encoding.
//
// Pure data; not thread-safe; owned by the Value of its key.
#pragma once

#include <deque>
#include <string>
#include <string_view>

#include "node/keyspace/value.h"

namespace shardnode::node {

class ListObject : public TypedObject {
 public:
  std::string_view EncodingName() const override { return "quicklist"; }

  size_t Size() const { return items_.size(); }
  std::deque<std::string>& items() { return items_; }
  const std::deque<std::string>& items() const { return items_; }

  void PushFront(std::string_view v) { items_.emplace_front(v); }
  void PushBack(std::string_view v) { items_.emplace_back(v); }
  // REQUIRES: Size() > 0.
  std::string PopFront();
  std::string PopBack();

 private:
  std::deque<std::string> items_;
};

}  // namespace shardnode::node
