#include "node/keyspace/types/hash_object.h"

#include "node/keyspace/types/type_util.h"

namespace shardnode::node {

size_t HashObject::FindPacked(std::string_view field) const {
  int64_t as_int = 0;
  const bool is_int = field.size() <= 20 && types::ParseInt64(field, &as_int);
  const size_t end = pairs_.bytes();
  for (size_t pos = 0; pos < end;) {
    const types::PackedItem f = pairs_.At(pos);
    if (f.Matches(field, is_int, as_int)) return pos;
    pos = pairs_.Next(f.next);  // skips the value
  }
  return end;
}

std::optional<std::string_view> HashObject::Get(std::string_view field,
                                                std::string* scratch) const {
  if (table_) {
    const std::string* v = table_->Find(field);
    if (v == nullptr) return std::nullopt;
    return std::string_view(*v);
  }
  const size_t pos = FindPacked(field);
  if (pos == pairs_.bytes()) return std::nullopt;
  return pairs_.At(pairs_.Next(pos)).Text(scratch);
}

bool HashObject::Contains(std::string_view field) const {
  if (table_) return table_->Find(field) != nullptr;
  return FindPacked(field) != pairs_.bytes();
}

bool HashObject::Set(std::string_view field, std::string_view value) {
  if (!table_ && (field.size() > max_listpack_value() || value.size() > max_listpack_value())) {
    ConvertToTable();
  }
  if (!table_) {
    const size_t pos = FindPacked(field);
    if (pos != pairs_.bytes()) {
      pairs_.ReplaceText(pairs_.Next(pos), value);
      return false;
    }
    pairs_.InsertText(pairs_.bytes(), field);
    pairs_.InsertText(pairs_.bytes(), value);
    if (Size() > max_listpack_entries()) ConvertToTable();
    return true;
  }
  return table_->Set(field, value);
}

bool HashObject::Delete(std::string_view field) {
  if (table_) return table_->Erase(field);
  const size_t pos = FindPacked(field);
  if (pos == pairs_.bytes()) return false;
  pairs_.Erase(pos, 2);
  return true;
}

void HashObject::ConvertIfLong(size_t len) {
  if (!table_ && len > max_listpack_value()) ConvertToTable();
}

void HashObject::ConvertToTable() {
  auto table = std::make_unique<StringMap<std::string>>();
  ForEach([&](std::string_view f, std::string_view v) { table->Set(f, v); });
  table_ = std::move(table);
  pairs_.Clear();
}

void HashObject::ForEach(const Visitor& fn) const {
  if (table_) {
    table_->ForEach([&](std::string_view f, std::string& v) { fn(f, v); });
    return;
  }
  std::string fs, vs;
  const size_t end = pairs_.bytes();
  for (size_t pos = 0; pos < end;) {
    const size_t vpos = pairs_.Next(pos);
    fn(pairs_.At(pos).Text(&fs), pairs_.At(vpos).Text(&vs));
    pos = pairs_.Next(vpos);
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
    cursor = table_->Scan(cursor, [&](std::string_view f, std::string& v) {
      fn(f, v);
      ++seen;
    });
  } while (cursor != 0 && budget-- > 0 && seen < count);
  return cursor;
}

std::pair<std::string_view, std::string_view> HashObject::Random(std::string* field_scratch,
                                                                 std::string* value_scratch) const {
  if (table_) {
    const auto* n = table_->Random(types::Rng());
    return {n->key(), n->value};
  }
  const size_t pos = pairs_.PosOf(2 * types::RandomBelow(Size()));
  return {pairs_.At(pos).Text(field_scratch), pairs_.At(pairs_.Next(pos)).Text(value_scratch)};
}

std::unique_ptr<TypedObject> HashObject::Clone() const {
  auto out = std::make_unique<HashObject>();
  if (!table_) {
    out->pairs_ = pairs_.Copy();
    return out;
  }
  out->table_ = std::make_unique<StringMap<std::string>>();
  table_->ForEach([&](std::string_view f, const std::string& v) { out->table_->Set(f, v); });
  return out;
}

size_t HashObject::MemoryUsage(size_t samples) const {
  size_t bytes = sizeof(*this) + pairs_.HeapBytes();
  if (table_) {
    bytes += sizeof(*table_) + table_->EstimateBytes(samples, [](const std::string& v) {
      return v.capacity() > 15 ? v.capacity() + 1 : 0;  // beyond the inline buffer
    });
  }
  return bytes;
}

}  // namespace shardnode::node
