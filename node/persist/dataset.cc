#include "node/persist/dataset.h"

#include <limits>
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/keyspace/types/hash_object.h"
#include "node/keyspace/types/list_object.h"
#include "node/keyspace/types/set_object.h"
#include "node/keyspace/types/stream_object.h"
#include "node/keyspace/types/zset_object.h"
#include "node/persist/persistence.h"
#include "node/server/log.h"
#include "node/server/server.h"
#include "slots/hash_slot.h"

namespace shardnode::node::persist {

using replication::RdbEntry;
using replication::RdbStreamId;
using replication::RdbType;
using replication::RdbValue;

namespace {

RdbStreamId ToRdbId(const StreamId& id) { return RdbStreamId{id.ms, id.seq}; }
StreamId FromRdbId(const RdbStreamId& id) { return StreamId{id.ms, id.seq}; }

void StreamToRdb(const StreamObject& s, replication::RdbStream* out) {
  s.ForEachNode([out](const StreamId& master, const StreamFields& master_fields,
                      const std::vector<StreamObject::Item>& items) {
    replication::RdbStreamNode& node = out->nodes.emplace_back();
    node.master = ToRdbId(master);
    node.master_fields = master_fields;
    node.entries.reserve(items.size());
    for (const StreamObject::Item& item : items) {
      node.entries.push_back(
          replication::RdbStreamEntry{ToRdbId(item.id), item.deleted, item.fields});
    }
  });
  out->length = s.Length();
  out->last_id = ToRdbId(s.last_id());
  out->first_id = ToRdbId(s.first_id());
  out->max_deleted_id = ToRdbId(s.max_deleted_id());
  out->entries_added = s.entries_added();
  for (const auto& [name, g] : s.groups()) {
    replication::RdbStreamGroup& rg = out->groups.emplace_back();
    rg.name = name;
    rg.last_id = ToRdbId(g.last_id);
    rg.entries_read = g.entries_read;
    for (const auto& [id, nack] : g.pel) {
      rg.pel.push_back(
          replication::RdbStreamNack{ToRdbId(id), nack.delivery_time, nack.delivery_count});
    }
    for (const auto& [cname, c] : g.consumers) {
      replication::RdbStreamConsumer& rc = rg.consumers.emplace_back();
      rc.name = cname;
      rc.seen_time = c.seen_time;
      for (const StreamId& id : c.pel) rc.pel.push_back(ToRdbId(id));
    }
  }
}

std::unique_ptr<StreamObject> StreamFromRdb(const replication::RdbStream& in) {
  auto s = std::make_unique<StreamObject>();
  for (const replication::RdbStreamNode& node : in.nodes) {
    std::vector<StreamObject::Item> items;
    items.reserve(node.entries.size());
    for (const replication::RdbStreamEntry& e : node.entries) {
      StreamObject::Item item;
      item.id = FromRdbId(e.id);
      item.deleted = e.deleted;
      item.fields = e.fields;
      items.push_back(std::move(item));
    }
    s->LoadNode(FromRdbId(node.master), node.master_fields, std::move(items));
  }
  s->SetLoaded(in.length, FromRdbId(in.last_id), FromRdbId(in.first_id),
               FromRdbId(in.max_deleted_id), in.entries_added);
  for (const replication::RdbStreamGroup& rg : in.groups) {
    StreamGroup* g = s->CreateGroup(rg.name, FromRdbId(rg.last_id), rg.entries_read);
    if (g == nullptr) continue;  // a duplicate name: the first one stays
    for (const replication::RdbStreamNack& n : rg.pel) {
      StreamNack& nack = g->pel[FromRdbId(n.id)];
      nack.delivery_time = n.delivery_time;
      nack.delivery_count = n.delivery_count;
    }
    for (const replication::RdbStreamConsumer& rc : rg.consumers) {
      StreamConsumer& c = g->consumers[rc.name];
      c.seen_time = rc.seen_time;
      for (const RdbStreamId& id : rc.pel) {
        c.pel.insert(FromRdbId(id));
        g->pel[FromRdbId(id)].consumer = rc.name;
      }
    }
  }
  return s;
}

}  // namespace

RdbValue ToRdbValue(const Value& value) {
  RdbValue out;
  switch (value.type()) {
    case ValueType::kString:
      out.type = RdbType::kString;
      out.str = value.ToString();
      break;
    case ValueType::kList: {
      out.type = RdbType::kList;
      const auto* list = static_cast<const ListObject*>(value.object());
      out.elements.reserve(list->Size());
      list->Walk(0, false, [&out](size_t, std::string_view e) {
        out.elements.emplace_back(e);
        return true;
      });
      break;
    }
    case ValueType::kSet: {
      out.type = RdbType::kSet;
      const auto* set = static_cast<const SetObject*>(value.object());
      out.elements.reserve(set->Size());
      set->ForEach([&out](std::string_view m) { out.elements.emplace_back(m); });
      break;
    }
    case ValueType::kHash: {
      out.type = RdbType::kHash;
      const auto* hash = static_cast<const HashObject*>(value.object());
      out.fields.reserve(hash->Size());
      hash->ForEach([&out](std::string_view f, std::string_view v) {
        out.fields.emplace_back(std::string(f), std::string(v));
      });
      break;
    }
    case ValueType::kZSet: {
      out.type = RdbType::kZSet;
      const auto* zset = static_cast<const ZSetObject*>(value.object());
      out.zset.reserve(zset->Size());
      if (zset->Size() > 0) {
        zset->Range(0, zset->Size() - 1, false, [&out](std::string_view m, double score) {
          out.zset.emplace_back(std::string(m), score);
        });
      }
      break;
    }
    case ValueType::kStream:
      out.type = RdbType::kStream;
      StreamToRdb(*static_cast<const StreamObject*>(value.object()), &out.stream);
      break;
  }
  return out;
}

Value FromRdbValue(const RdbValue& value) {
  switch (value.type) {
    case RdbType::kString:
      // Loaded strings get the same encoding choice as SET's.
      return Value::FromStringTryInt(value.str);
    case RdbType::kList: {
      auto list = std::make_unique<ListObject>();
      for (const std::string& e : value.elements) list->PushBack(e);
      return Value::FromObject(ValueType::kList, std::move(list));
    }
    case RdbType::kSet: {
      auto set = std::make_unique<SetObject>();
      for (const std::string& m : value.elements) set->Add(m);
      return Value::FromObject(ValueType::kSet, std::move(set));
    }
    case RdbType::kHash: {
      auto hash = std::make_unique<HashObject>();
      // Too many fields for a listpack: go to the table at once rather than
      // filling a listpack that converts anyway.
      if (value.fields.size() > HashObject::max_listpack_entries()) {
        hash->ConvertIfLong(HashObject::max_listpack_value() + 1);
      }
      for (const auto& [f, v] : value.fields) hash->Set(f, v);
      return Value::FromObject(ValueType::kHash, std::move(hash));
    }
    case RdbType::kZSet: {
      auto zset = std::make_unique<ZSetObject>();
      for (const auto& [m, score] : value.zset) {
        if (!zset->Score(m)) zset->Insert(m, score);
      }
      return Value::FromObject(ValueType::kZSet, std::move(zset));
    }
    case RdbType::kStream:
      return Value::FromObject(ValueType::kStream, StreamFromRdb(value.stream));
  }
  return Value();
}

void SerializeDataset(Server& server, int64_t /*now_ms*/, replication::RdbWriter& writer) {
  if (server.function_library_codes) {
    for (const std::string& code : server.function_library_codes()) writer.Function(code);
  }
  const int dbs = server.shard(0).num_dbs();
  for (int d = 0; d < dbs; ++d) {
    uint64_t keys = 0, expires = 0;
    for (int s = 0; s < server.num_shards(); ++s) {
      keys += server.shard(s).db(d).Size();
      expires += server.shard(s).db(d).expires_count();
    }
    if (keys == 0) continue;
    writer.SelectDb(static_cast<uint64_t>(d), keys, expires);
    for (int slot = 0; slot < slots::kNumSlots; ++slot) {
      Db& db = server.ShardForSlot(slot).db(d);
      if (db.CountKeysInSlot(slot) == 0) continue;
      db.Scan(
          static_cast<uint64_t>(slot), std::numeric_limits<size_t>::max(),
          std::numeric_limits<int64_t>::min(),
          [&](const Entry& e) {
            const std::string_view key = e.key();
            writer.Entry(absl::string_view(key.data(), key.size()), ToRdbValue(e.value()),
                         db.ExpireOf(&e));
          },
          slot + 1);
    }
  }
}

DatasetLoader::DatasetLoader(Server& server, int64_t now_ms, LoadOptions options)
    : server_(server), now_ms_(now_ms), options_(options) {}

absl::Status DatasetLoader::OnSelectDb(uint64_t db) {
  if (server_.cluster_enabled() && db != 0) {
    return absl::FailedPreconditionError(
        "You can't have keys in a DB different than DB 0 when in Cluster mode. Exiting.");
  }
  if (db >= static_cast<uint64_t>(server_.shard(0).num_dbs())) {
    return absl::FailedPreconditionError(
        absl::StrCat("FATAL: Data file was created with a Redis server configured to handle "
                     "more than ",
                     server_.shard(0).num_dbs(), " databases. Exiting\n"));
  }
  db_ = db;
  return absl::OkStatus();
}

absl::Status DatasetLoader::OnFunction(absl::string_view library_code) {
  if (options_.into != nullptr) {
    options_.into->functions.emplace_back(library_code);
    return absl::OkStatus();
  }
  if (!server_.load_function_library) return absl::OkStatus();
  std::string error;
  if (!server_.load_function_library(std::string_view(library_code.data(), library_code.size()),
                                     options_.merge, &error)) {
    return absl::DataLossError(absl::StrCat("Failed loading library: ", error));
  }
  return absl::OkStatus();
}

void DatasetLoader::OnEmptyKey(absl::string_view key) {
  if (empty_skipped_++ < 10) {
    Logf(LogLevel::kWarning, "rdbLoadObject skipping empty key: %s", std::string(key));
  }
}

absl::Status DatasetLoader::OnEntry(RdbEntry entry) {
  if (options_.skip_expired && entry.expire_ms != -1 && entry.expire_ms < now_ms_) {
    ++expired_skipped_;
    expired_keys_.emplace_back(static_cast<int>(db_), std::move(entry.key));
    return absl::OkStatus();
  }
  const int shard = server_.ShardIndexForSlot(slots::KeyHashSlot(entry.key));
  Keyspace& ks = options_.into != nullptr ? *options_.into->shards[shard] : server_.shard(shard);
  Db& db = ks.db(static_cast<int>(db_));
  // Look the key up without the clock: an expired duplicate is still a
  // duplicate.
  if (db.Find(entry.key, std::numeric_limits<int64_t>::min(), false) != nullptr) {
    if (options_.merge) {
      db.Delete(entry.key, std::numeric_limits<int64_t>::min());
    } else {
      return absl::DataLossError(
          absl::StrCat("Duplicate key '", absl::CHexEscape(entry.key), "' found in RDB file"));
    }
  }
  // A loaded key raises no "new" event (Redis's dbAddRDBLoad).
  const int* classes = std::exchange(db.notify_classes, nullptr);
  Entry* e = db.Set(entry.key, FromRdbValue(entry.value), now_ms_);
  db.notify_classes = classes;
  if (entry.expire_ms != -1) {
    // A loaded TTL is not a writable replica's own (Db::ExpireOwnKeys):
    // the primary that sent the RDB deletes the key.
    const ExpiryMode mode = db.expiry_mode();
    db.set_expiry_mode(ExpiryMode::kKeep);
    db.SetExpire(e, entry.expire_ms);
    db.set_expiry_mode(mode);
  }
  ++loaded_;
  return absl::OkStatus();
}

absl::Status LoadDataset(Server& server, std::string_view rdb_bytes, int64_t now_ms,
                         LoadOptions options) {
  if (options.flush_first) FlushDataset(server);
  DatasetLoader loader(server, now_ms, options);
  replication::RdbReader reader;
  auto progress = reader.Feed(absl::string_view(rdb_bytes.data(), rdb_bytes.size()), loader);
  if (!progress.ok()) return progress.status();
  absl::Status st = reader.Finish();
  if (!st.ok()) return st;
  if (!reader.Remaining().empty()) {
    return absl::DataLossError("Trailing bytes after the RDB checksum");
  }
  return absl::OkStatus();
}

TempDataset::TempDataset(Server& server) {
  shards.reserve(static_cast<size_t>(server.num_shards()));
  for (int i = 0; i < server.num_shards(); ++i) {
    shards.push_back(
        std::make_unique<Keyspace>(server.shard(i).num_dbs(), server.shard(i).db(0).share()));
  }
}

TempDataset::~TempDataset() = default;

void SwapInDataset(Server& server, TempDataset& temp) {
  // A snapshot in progress still needs the old keys.
  if (server.persistence() != nullptr) server.persistence()->BeforeBulkChange();
  for (int s = 0; s < server.num_shards(); ++s) {
    Keyspace& live = server.shard(s);
    for (int d = 0; d < live.num_dbs(); ++d) live.db(d).SwapKeys(temp.shards[s]->db(d));
  }
  server.tracking().Flushed();  // every key may have changed, as a flush
  if (server.flush_functions) server.flush_functions();
  if (!server.load_function_library) return;
  for (const std::string& code : temp.functions) {
    std::string error;
    if (!server.load_function_library(code, /*replace=*/false, &error)) {
      Logf(LogLevel::kWarning, "Failed loading library: %s", error);
    }
  }
}

void FlushDataset(Server& server) {
  // A snapshot in progress still needs the old keys.
  if (server.persistence() != nullptr) server.persistence()->BeforeBulkChange();
  for (int s = 0; s < server.num_shards(); ++s) server.shard(s).Clear();
  server.tracking().Flushed();  // as Redis's emptyData
  if (server.flush_functions) server.flush_functions();
}

}  // namespace shardnode::node::persist
