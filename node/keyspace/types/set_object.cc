#include "node/keyspace/types/set_object.h"

#include "node/keyspace/types/type_util.h"

namespace shardnode::node {

bool SetObject::Contains(std::string_view member) const {
  if (table_) return table_->Find(member) != nullptr;
  int64_t v;
  if (!types::ParseInt64(member, &v)) return false;
  return ints_.Contains(v);
}

bool SetObject::Add(std::string_view member) {
  if (!table_) {
    int64_t v;
    if (types::ParseInt64(member, &v)) {
      if (!ints_.Insert(v)) return false;
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
  return ints_.Erase(v);
}

void SetObject::ConvertToTable() {
  table_ = std::make_unique<StringMap<char>>();
  for (size_t i = 0; i < ints_.size(); ++i) table_->Set(std::to_string(ints_.At(i)), 0);
  ints_.Clear();
}

void SetObject::ForEach(const Visitor& fn) const {
  if (table_) {
    table_->ForEach([&](std::string_view m, char&) { fn(m); });
    return;
  }
  for (size_t i = 0; i < ints_.size(); ++i) fn(std::to_string(ints_.At(i)));
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
  return std::to_string(ints_.At(types::RandomBelow(ints_.size())));
}

std::unique_ptr<TypedObject> SetObject::Clone() const {
  auto out = std::make_unique<SetObject>();
  if (!table_) {
    out->ints_ = ints_.Copy();
    return out;
  }
  out->table_ = std::make_unique<StringMap<char>>();
  table_->ForEach([&](std::string_view m, char c) { out->table_->Set(m, c); });
  return out;
}

size_t SetObject::MemoryUsage(size_t samples) const {
  size_t bytes = sizeof(*this) + ints_.HeapBytes();
  if (table_) bytes += sizeof(*table_) + table_->EstimateBytes(samples, [](char) { return 0; });
  return bytes;
}

}  // namespace shardnode::node
