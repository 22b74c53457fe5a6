#include "node/persist/dataset.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/config/config.h"
#include "node/keyspace/keyspace.h"
#include "node/keyspace/types/hash_object.h"
#include "node/keyspace/types/list_object.h"
#include "node/keyspace/types/set_object.h"
#include "node/keyspace/types/zset_object.h"
#include "node/server/server.h"

namespace shardnode::node::persist {
namespace {

using replication::RdbType;
using replication::RdbValue;

constexpr int64_t kNow = 1'700'000'000'000;

struct TestServer {
  TestServer(std::string conf = "") {
    auto c = Config::FromText(conf);
    EXPECT_TRUE(c.ok()) << c.status();
    config = std::move(*c);
    server = std::make_unique<Server>(config.get(), nullptr);
  }
  Db& db(int d = 0) { return server->shard(0).db(d); }
  std::unique_ptr<Config> config;
  std::unique_ptr<Server> server;
};

// Fills `db` with one key of every type (and encoding), some with TTLs.
void Populate(Db& db) {
  db.Set("int", Value::FromStringTryInt("12345"), kNow);
  db.Set("str", Value::FromString("hello"), kNow);
  db.Set("long", Value::FromString(std::string(300, 'x')), kNow);
  auto list = std::make_unique<ListObject>();
  for (int i = 0; i < 5; ++i) list->PushBack(absl::StrCat("e", i));
  db.Set("list", Value::FromObject(ValueType::kList, std::move(list)), kNow);
  auto intset = std::make_unique<SetObject>();
  for (int i = 0; i < 10; ++i) intset->Add(absl::StrCat(i * 7));
  db.Set("intset", Value::FromObject(ValueType::kSet, std::move(intset)), kNow);
  auto set = std::make_unique<SetObject>();
  for (int i = 0; i < 600; ++i) set->Add(absl::StrCat("m", i));
  db.Set("set", Value::FromObject(ValueType::kSet, std::move(set)), kNow);
  auto hash = std::make_unique<HashObject>();
  hash->Set("f1", "v1");
  hash->Set("f2", "2");
  db.Set("hash", Value::FromObject(ValueType::kHash, std::move(hash)), kNow);
  auto big_hash = std::make_unique<HashObject>();
  for (int i = 0; i < 1000; ++i) big_hash->Set(absl::StrCat("f", i), absl::StrCat("v", i));
  db.Set("bighash", Value::FromObject(ValueType::kHash, std::move(big_hash)), kNow);
  auto zset = std::make_unique<ZSetObject>();
  zset->Insert("a", 1.5);
  zset->Insert("b", -3);
  db.Set("zset", Value::FromObject(ValueType::kZSet, std::move(zset)), kNow);
  auto big_zset = std::make_unique<ZSetObject>();
  for (int i = 0; i < 200; ++i) big_zset->Insert(absl::StrCat("m", i), i * 0.5);
  Entry* e = db.Set("bigzset", Value::FromObject(ValueType::kZSet, std::move(big_zset)), kNow);
  db.SetExpire(e, kNow + 100'000);
  Entry* t = db.Set("ttl", Value::FromString("soon"), kNow);
  db.SetExpire(t, kNow + 5'000);
}

// `v` with set members and hash fields sorted (hashtable order is arbitrary).
RdbValue Normalized(RdbValue v) {
  if (v.type == RdbType::kList) return v;
  std::sort(v.elements.begin(), v.elements.end());
  std::sort(v.fields.begin(), v.fields.end());
  return v;
}

// Every key of `db` as (key, value, expire), sorted, for comparisons.
std::vector<replication::RdbEntry> Dump(Db& db) {
  std::vector<replication::RdbEntry> out;
  db.ForEach([&](const Entry& e) {
    replication::RdbEntry r;
    r.key = std::string(e.key());
    r.value = ToRdbValue(e.value());
    if (r.value.type != RdbType::kList) r.value = Normalized(std::move(r.value));
    r.expire_ms = db.ExpireOf(&e);
    out.push_back(std::move(r));
  });
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

std::string Encoding(Db& db, std::string_view key) {
  Entry* e = db.Find(key, kNow, false);
  return e ? std::string(e->value().EncodingName()) : "(missing)";
}

TEST(DatasetTest, ValueRoundTripKeepsEveryType) {
  TestServer a;
  Populate(a.db());
  a.db().ForEach([](const Entry& e) {
    const RdbValue v = ToRdbValue(e.value());
    const Value back = FromRdbValue(v);
    EXPECT_EQ(back.type(), e.value().type()) << e.key();
    EXPECT_EQ(Normalized(ToRdbValue(back)), Normalized(v)) << e.key();
  });
}

TEST(DatasetTest, ZSetComesOutInScoreOrder) {
  auto zset = std::make_unique<ZSetObject>();
  zset->Insert("z", 3);
  zset->Insert("a", 1);
  zset->Insert("m", 2);
  const Value v = Value::FromObject(ValueType::kZSet, std::move(zset));
  const RdbValue r = ToRdbValue(v);
  ASSERT_EQ(r.zset.size(), 3u);
  EXPECT_EQ(r.zset[0].first, "a");
  EXPECT_EQ(r.zset[2].first, "z");
}

TEST(DatasetTest, SerializeThenLoadGivesTheSameDataset) {
  TestServer a;
  Populate(a.db());
  a.db(3).Set("other-db", Value::FromString("x"), kNow);
  replication::RdbWriter writer;
  SerializeDataset(*a.server, kNow, writer);
  writer.End();
  const std::string bytes = writer.TakeOutput();

  TestServer b;
  b.db().Set("stale", Value::FromString("flushed by the load"), kNow);
  ASSERT_TRUE(LoadDataset(*b.server, bytes, kNow).ok());
  EXPECT_EQ(Dump(b.db()), Dump(a.db()));
  EXPECT_EQ(Dump(b.db(3)), Dump(a.db(3)));
  EXPECT_EQ(b.db().Size(), a.db().Size());
  // Loaded values are encoded as Redis encodes them after a load.
  EXPECT_EQ(Encoding(b.db(), "int"), "int");
  EXPECT_EQ(Encoding(b.db(), "str"), "embstr");
  EXPECT_EQ(Encoding(b.db(), "long"), "raw");
  EXPECT_EQ(Encoding(b.db(), "intset"), "intset");
  EXPECT_EQ(Encoding(b.db(), "set"), "hashtable");
  EXPECT_EQ(Encoding(b.db(), "hash"), "listpack");
  EXPECT_EQ(Encoding(b.db(), "bighash"), "hashtable");
  EXPECT_EQ(Encoding(b.db(), "zset"), "listpack");
  EXPECT_EQ(Encoding(b.db(), "bigzset"), "skiplist");
  EXPECT_EQ(Encoding(b.db(), "list"), "quicklist");
}

TEST(DatasetTest, LoadSkipsExpiredKeysOnAPrimaryOnly) {
  TestServer a;
  Populate(a.db());
  replication::RdbWriter writer;
  SerializeDataset(*a.server, kNow, writer);
  writer.End();
  const std::string bytes = writer.TakeOutput();

  TestServer primary;
  ASSERT_TRUE(LoadDataset(*primary.server, bytes, kNow + 10'000).ok());
  EXPECT_EQ(primary.db().Find("ttl", kNow, false), nullptr);
  EXPECT_NE(primary.db().Find("bigzset", kNow, false), nullptr);

  TestServer replica;
  ASSERT_TRUE(LoadDataset(*replica.server, bytes, kNow + 10'000, {.skip_expired = false}).ok());
  EXPECT_NE(replica.db().Find("ttl", kNow, false), nullptr);
}

TEST(DatasetTest, ExpiredKeysSkippedAtLoadAreHandedOverWithTheirDb) {
  // A restarted primary sends their DELs to its replicas (psync2-master-restart).
  const std::string bytes = replication::WriteRdb(
      {{.db = 0, .key = "live", .value = RdbValue::String("1")},
       {.db = 0, .key = "old0", .value = RdbValue::String("1"), .expire_ms = kNow - 1},
       {.db = 3, .key = "old3", .value = RdbValue::String("1"), .expire_ms = kNow - 1}});
  TestServer b;
  DatasetLoader loader(*b.server, kNow);
  replication::RdbReader reader;
  ASSERT_TRUE(reader.Feed(bytes, loader).ok());
  EXPECT_EQ(loader.expired_skipped(), 2u);
  const std::vector<std::pair<int, std::string>> want = {{0, "old0"}, {3, "old3"}};
  EXPECT_EQ(loader.TakeExpiredKeys(), want);
}

TEST(DatasetTest, DuplicateKeyIsDataLoss) {
  const std::string bytes =
      replication::WriteRdb({{.db = 0, .key = "k", .value = RdbValue::String("1")},
                             {.db = 0, .key = "k", .value = RdbValue::String("2")}});
  TestServer b;
  const absl::Status st = LoadDataset(*b.server, bytes, kNow);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
}

TEST(DatasetTest, DatabaseBeyondTheConfiguredCountIsRefused) {
  TestServer b("databases 4");
  const std::string bytes =
      replication::WriteRdb({{.db = 20, .key = "k", .value = RdbValue::String("1")}});
  const absl::Status st = LoadDataset(*b.server, bytes, kNow);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
}

TEST(DatasetTest, CorruptBytesAreRefused) {
  TestServer a;
  Populate(a.db());
  replication::RdbWriter writer;
  SerializeDataset(*a.server, kNow, writer);
  writer.End();
  std::string bytes = writer.TakeOutput();
  bytes[bytes.size() / 2] ^= 0x55;
  TestServer b;
  EXPECT_FALSE(LoadDataset(*b.server, bytes, kNow).ok());
  EXPECT_FALSE(LoadDataset(*b.server, bytes.substr(0, bytes.size() - 3), kNow).ok());
}

}  // namespace
}  // namespace shardnode::node::persist
