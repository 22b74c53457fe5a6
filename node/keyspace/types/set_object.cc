#include "node/keyspace/types/set_object.h"

#include <algorithm>

#include "node/keyspace/types/type_util.h"

namespace shardnode::node {

bool SetObject::Contains(std::string_view member) const {
  if (table_) return table_->Find(member) != nullptr;
  int64_t v;
  if (!types::ParseInt64(member, &v)) return false;
  return std::binary_search(ints_.begin(), ints_.end(), v);
}

bool SetObject::Add(std::string_view member) {
  if (!table_) {
    int64_t v;
    if (types::ParseInt64(member, &v)) {
      auto it = std::lower_bound(ints_.begin(), ints_.end(), v);
      if (it != ints_.end() && *it == v) return false;
      ints_.insert(it, v);
      if (ints_.size() > kMaxIntsetEntries) ConvertToTable();
      return true;
    }
    ConvertToTable();
  }
  return table_->Set(member, 0);
}

bool SetObject::Remove(std::string_view member) {
  if (table_) return table_->Erase(member);
  int64_t v;
  if (!types::ParseInt64(member, &v)) return false;
  auto it = std::lower_bound(ints_.begin(), ints_.end(), v);
  if (it == ints_.end() || *it != v) return false;
  ints_.erase(it);
  return true;
}

void SetObject::ConvertToTable() {
  table_ = std::make_unique<StringMap<char>>();
  for (int64_t v : ints_) table_->Set(std::to_string(v), 0);
  ints_.clear();
  ints_.shrink_to_fit();
}

void SetObject::ForEach(const Visitor& fn) const {
  if (table_) {
    table_->ForEach([&](std::string_view m, char&) { fn(m); });
    return;
  }
  for (int64_t v : ints_) fn(std::to_string(v));
}

std::vector<std::string> SetObject::Members() const {
  std::vector<std::string> out;
  out.reserve(Size());
  ForEach([&](std::string_view m) { out.emplace_back(m); });
  return out;
}

uint64_t SetObject::Scan(uint64_t cursor, size_t count, const Visitor& fn) const {
  if (!table_) {
    ForEach(fn);
    return 0;
  }
  size_t seen = 0;
  size_t budget = count * 10;
  do {
    cursor = table_->Scan(cursor, [&](std::string_view m, char&) {
      fn(m);
      ++seen;
    });
  } while (cursor != 0 && budget-- > 0 && seen < count);
  return cursor;
}

std::string SetObject::Random() const {
  if (table_) return std::string(table_->Random(types::Rng())->key());
  return std::to_string(ints_[types::RandomBelow(ints_.size())]);
}

}  // namespace shardnode::node
