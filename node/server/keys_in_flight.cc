#include "node/server/keys_in_flight.h"

#include "absl/strings/str_cat.h"

namespace shardnode::node {

std::string KeysInFlight::Id(int db, std::string_view key) {
  return absl::StrCat(db, ":", absl::string_view(key.data(), key.size()));
}

void KeysInFlight::Add(int db, std::string_view key) { ++keys_[Id(db, key)]; }

void KeysInFlight::Remove(int db, std::string_view key) {
  auto it = keys_.find(Id(db, key));
  if (it == keys_.end()) return;
  if (--it->second == 0) keys_.erase(it);
}

bool KeysInFlight::Contains(int db, std::string_view key) const {
  return keys_.contains(Id(db, key));
}

}  // namespace shardnode::node
