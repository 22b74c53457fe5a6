#include "node/keyspace/types/hash_object.h"

#include "node/keyspace/types/type_util.h"

namespace shardnode::node {

const std::string* HashObject::Get(std::string_view field) const {
  if (table_) return table_->Find(field);
  for (const auto& [f, v] : pairs_) {
    if (f == field) return &v;
  }
  return nullptr;
}

bool HashObject::Set(std::string_view field, std::string_view value) {
  if (!table_ && (field.size() > kMaxListpackValue || value.size() > kMaxListpackValue)) {
    ConvertToTable();
  }
  if (!table_) {
    for (auto& [f, v] : pairs_) {
      if (f == field) {
        v.assign(value);
        return false;
      }
    }
    pairs_.emplace_back(std::string(field), std::string(value));
    if (pairs_.size() > kMaxListpackEntries) ConvertToTable();
    return true;
  }
  return table_->Set(field, std::string(value));
}

bool HashObject::Delete(std::string_view field) {
  if (table_) return table_->Erase(field);
  for (auto it = pairs_.begin(); it != pairs_.end(); ++it) {
    if (it->first == field) {
      pairs_.erase(it);
      return true;
    }
  }
  return false;
}

void HashObject::ConvertIfLong(size_t len) {
  if (!table_ && len > kMaxListpackValue) ConvertToTable();
}

void HashObject::ConvertToTable() {
  table_ = std::make_unique<StringMap<std::string>>();
  for (auto& [f, v] : pairs_) table_->Set(f, std::move(v));
  pairs_.clear();
  pairs_.shrink_to_fit();
}

void HashObject::ForEach(const Visitor& fn) const {
  if (table_) {
    table_->ForEach([&](const std::string& f, std::string& v) { fn(f, v); });
  } else {
    for (const auto& [f, v] : pairs_) fn(f, v);
  }
}

uint64_t HashObject::Scan(uint64_t cursor, size_t count, const Visitor& fn) const {
  if (!table_) {
    ForEach(fn);
    return 0;
  }
  // As Redis: visit buckets until `count` elements or 10*count buckets.
  size_t seen = 0;
  size_t budget = count * 10;
  do {
    cursor = table_->Scan(cursor, [&](const std::string& f, std::string& v) {
      fn(f, v);
      ++seen;
    });
  } while (cursor != 0 && budget-- > 0 && seen < count);
  return cursor;
}

std::pair<std::string_view, std::string_view> HashObject::Random() const {
  if (table_) {
    const auto* n = table_->Random(types::Rng());
    return {n->key, n->value};
  }
  const auto& p = pairs_[types::RandomBelow(pairs_.size())];
  return {p.first, p.second};
}

}  // namespace shardnode::node
