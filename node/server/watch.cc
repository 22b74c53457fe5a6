#include "node/server/watch.h"

#include "node/server/session.h"

namespace shardnode::node {

void WatchTable::Watch(Session& s, int db, std::string_view key, bool existed) {
  for (const WatchedKey& w : s.watched) {
    if (w.db == db && w.key == key) return;  // already watched
  }
  s.watched.push_back({db, std::string(key), existed});
  watchers_[Key(db, std::string(key))].insert(&s);
}

void WatchTable::Unwatch(Session& s) {
  for (const WatchedKey& w : s.watched) {
    auto it = watchers_.find(Key(w.db, w.key));
    if (it == watchers_.end()) continue;
    it->second.erase(&s);
    if (it->second.empty()) watchers_.erase(it);
  }
  s.watched.clear();
  s.watch_dirty = false;
}

void WatchTable::Touch(int db, std::string_view key) {
  auto it = watchers_.find(Key(db, std::string(key)));
  if (it == watchers_.end()) return;
  for (Session* s : it->second) s->watch_dirty = true;
}

std::vector<std::string> WatchTable::KeysOf(int db) const {
  std::vector<std::string> out;
  for (const auto& entry : watchers_) {
    if (entry.first.first == db) out.push_back(entry.first.second);
  }
  return out;
}

void WatchTable::TouchFlushed(int db) {
  for (auto& [k, sessions] : watchers_) {
    if (k.first != db) continue;
    for (Session* s : sessions) {
      for (const WatchedKey& w : s->watched) {
        if (w.db == db && w.key == k.second && w.existed) s->watch_dirty = true;
      }
    }
  }
}

}  // namespace shardnode::node
