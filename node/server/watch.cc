#include "node/server/watch.h"

#include "node/server/session.h"

namespace shardnode::node {

bool WatchTable::Add(Session& s, int db, std::string_view key, bool existed) {
  return watchers_[Key(db, std::string(key))].emplace(&s, existed).second;
}

void WatchTable::Remove(Session& s, int db, std::string_view key) {
  auto it = watchers_.find(Key(db, std::string(key)));
  if (it == watchers_.end()) return;
  it->second.erase(&s);
  if (it->second.empty()) watchers_.erase(it);
}

void WatchTable::Touch(int db, std::string_view key) {
  auto it = watchers_.find(Key(db, std::string(key)));
  if (it == watchers_.end()) return;
  for (const auto& [s, existed] : it->second) {
    s->watch_dirty.set(true);
  }
}

void WatchTable::TouchFlushed(int db) {
  // The map is ordered by (db, key): the keys of `db` are one run.
  for (auto it = watchers_.lower_bound(Key(db, std::string())); it != watchers_.end(); ++it) {
    if (it->first.first != db) break;
    for (const auto& [s, existed] : it->second) {
      if (existed) s->watch_dirty.set(true);
    }
  }
}

std::vector<std::string> WatchTable::KeysOf(int db) const {
  std::vector<std::string> out;
  for (auto it = watchers_.lower_bound(Key(db, std::string())); it != watchers_.end(); ++it) {
    if (it->first.first != db) break;
    out.push_back(it->first.second);
  }
  return out;
}

WatchIndex::WatchIndex(int shards) {
  for (int i = 0; i < shards; ++i) tables_.push_back(std::make_unique<WatchTable>());
}

void WatchIndex::Watch(Session& s, int shard, int db, std::string_view key, bool existed) {
  if (!tables_[shard]->Add(s, db, key, existed)) return;  // already watched
  s.watched.push_back({db, shard, std::string(key), existed});
}

void WatchIndex::Unwatch(Session& s) {
  for (const WatchedKey& w : s.watched) tables_[w.shard]->Remove(s, w.db, w.key);
  s.watched.clear();
  s.watch_dirty.set(false);
}

}  // namespace shardnode::node
