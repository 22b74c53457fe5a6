#include "node/persist/snapshot.h"

#include <map>
#include <memory>
#include <random>
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
#include "node/persist/dataset.h"
#include "node/server/server.h"

namespace shardnode::node::persist {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

struct TestServer {
  explicit TestServer(std::string conf = "") {
    auto c = Config::FromText(conf);
    EXPECT_TRUE(c.ok()) << c.status();
    config = std::move(*c);
    server = std::make_unique<Server>(config.get(), nullptr);
  }
  Db& db(int d = 0) { return server->shard(0).db(d); }
  std::unique_ptr<Config> config;
  std::unique_ptr<Server> server;
};

// (db, key) -> (value as text, expire): a comparable image of a dataset.
using Image = std::map<std::pair<int, std::string>, std::pair<std::string, int64_t>>;

std::string Describe(const Value& v) {
  const replication::RdbValue r = ToRdbValue(v);
  std::string out = absl::StrCat(static_cast<int>(r.type), ":", r.str);
  std::vector<std::string> parts = r.elements;
  for (const auto& [f, x] : r.fields) parts.push_back(f + "=" + x);
  for (const auto& [m, score] : r.zset) parts.push_back(absl::StrCat(m, "@", score));
  std::sort(parts.begin(), parts.end());
  for (const auto& p : parts) absl::StrAppend(&out, ",", p);
  return out;
}

Image Capture(Server& server) {
  Image img;
  Keyspace& ks = server.shard(0);
  for (int d = 0; d < ks.num_dbs(); ++d) {
    Db& db = ks.db(d);
    db.ForEach([&](const Entry& e) {
      img[{d, std::string(e.key())}] = {Describe(e.value()), db.ExpireOf(&e)};
    });
  }
  return img;
}

Image LoadImage(const std::string& bytes) {
  TestServer t;
  const absl::Status st = LoadDataset(*t.server, bytes, kNow, {.skip_expired = false});
  EXPECT_TRUE(st.ok()) << st;
  return Capture(*t.server);
}

// A write as the dispatcher would run it: the hook first, then the change.
void SetKey(Snapshot& snap, Db& db, int d, const std::string& key, const std::string& v) {
  snap.BeforeWrite(d, {key});
  db.Set(key, Value::FromString(v), kNow);
}

void DelKey(Snapshot& snap, Db& db, int d, const std::string& key) {
  snap.BeforeWrite(d, {key});
  db.Delete(key, kNow);
}

TEST(SnapshotTest, EmptyDatasetIsAValidFile) {
  TestServer a;
  Snapshot snap(*a.server, {});
  EXPECT_TRUE(snap.done());
  EXPECT_TRUE(LoadImage(snap.TakeOutput()).empty());
}

TEST(SnapshotTest, UntouchedWalkEqualsDataset) {
  TestServer a;
  for (int i = 0; i < 5000; ++i) a.db().Set(absl::StrCat("k", i), Value::FromInt(i), kNow);
  a.db(2).Set("db2", Value::FromString("x"), kNow);
  const Image before = Capture(*a.server);
  Snapshot snap(*a.server, {});
  std::string bytes;
  int steps = 0;
  while (!snap.Step(100)) {
    bytes += snap.TakeOutput();
    ++steps;
  }
  bytes += snap.TakeOutput();
  EXPECT_GT(steps, 10);  // it was incremental
  EXPECT_EQ(snap.keys_processed(), 5001u);
  EXPECT_EQ(LoadImage(bytes), before);
}

TEST(SnapshotTest, ChangesAfterTheInstantAreInvisible) {
  TestServer a;
  for (int i = 0; i < 2000; ++i) a.db().Set(absl::StrCat("k", i), Value::FromInt(i), kNow);
  const Image before = Capture(*a.server);
  Snapshot snap(*a.server, {});
  std::string bytes;
  std::mt19937 rng(7);
  int step = 0;
  while (!snap.done()) {
    snap.Step(50);
    bytes += snap.TakeOutput();
    // Between slices, clients overwrite, delete and create keys, both in
    // slots already walked and in slots still ahead.
    for (int j = 0; j < 30; ++j) {
      const int i = static_cast<int>(rng() % 2500);
      const std::string key = absl::StrCat("k", i);
      switch (rng() % 3) {
        case 0:
          SetKey(snap, a.db(), 0, key, absl::StrCat("new", step));
          break;
        case 1:
          DelKey(snap, a.db(), 0, key);
          break;
        case 2:
          SetKey(snap, a.db(), 0, absl::StrCat("fresh", step, "-", j), "x");
          break;
      }
    }
    ++step;
  }
  bytes += snap.TakeOutput();
  EXPECT_GT(snap.keys_saved_early(), 0u);
  EXPECT_EQ(LoadImage(bytes), before);
  EXPECT_NE(Capture(*a.server), before);
}

// rdb-key-save-delay paces a slice per key; keys that writes saved ahead
// of the walk cost their delay too (a slice of their own), so that an image
// whose keys are all overwritten does not end early (Redis's child sleeps
// after every key whatever the parent does).
TEST(SnapshotTest, PacedSlicesChargeKeysSavedEarly) {
  TestServer a;
  for (int i = 0; i < 50; ++i) a.db().Set(absl::StrCat("k", i), Value::FromInt(i), kNow);
  const Image before = Capture(*a.server);
  Snapshot snap(*a.server, {});
  int64_t delay = 0;
  EXPECT_FALSE(snap.StepSlice(1000, &delay));
  const uint64_t walked = snap.keys_processed();
  ASSERT_GE(walked, 1u);
  EXPECT_EQ(delay, 1000 * static_cast<int64_t>(walked));
  std::string bytes = snap.TakeOutput();
  uint64_t early = 0;
  for (int i = 0; i < 50; ++i) {
    const uint64_t n = snap.keys_processed();
    SetKey(snap, a.db(), 0, absl::StrCat("k", i), "overwritten");
    early += snap.keys_processed() - n;
  }
  EXPECT_EQ(early, 50 - walked);
  EXPECT_FALSE(snap.StepSlice(1000, &delay));
  EXPECT_EQ(delay, 1000 * static_cast<int64_t>(early));
  bytes += snap.TakeOutput();
  while (!snap.StepSlice(1000, &delay)) bytes += snap.TakeOutput();
  bytes += snap.TakeOutput();
  EXPECT_EQ(LoadImage(bytes), before);
}

TEST(SnapshotTest, InPlaceChangeOfACollectionIsCopiedFirst) {
  TestServer a;
  auto h = std::make_unique<HashObject>();
  h->Set("f", "old");
  a.db().Set("h", Value::FromObject(ValueType::kHash, std::move(h)), kNow);
  for (int i = 0; i < 100; ++i) a.db().Set(absl::StrCat("k", i), Value::FromInt(i), kNow);
  const Image before = Capture(*a.server);
  Snapshot snap(*a.server, {});
  snap.BeforeWrite(0, {"h"});
  static_cast<HashObject*>(a.db().Find("h", kNow)->value().object())->Set("f", "new");
  // Expiry set after the instant must not leak in either.
  snap.BeforeWrite(0, {"k1"});
  a.db().SetExpire(a.db().Find("k1", kNow), kNow + 1000);
  snap.Finish();
  EXPECT_EQ(LoadImage(snap.TakeOutput()), before);
}

// Writes after the instant that change a collection's representation
// (packed -> table, intset -> hashtable, list nodes split and dropped) still
// leave the image with the values of the instant.
TEST(SnapshotTest, RepresentationChangesAfterTheInstantAreInvisible) {
  TestServer a;
  Db& db = a.db();
  auto h = std::make_unique<HashObject>();
  for (int i = 0; i < 5; ++i) h->Set(absl::StrCat("f", i), absl::StrCat(i * 10));
  db.Set("h", Value::FromObject(ValueType::kHash, std::move(h)), kNow);
  auto z = std::make_unique<ZSetObject>();
  for (int i = 0; i < 128; ++i) z->Insert(absl::StrCat("m", i), i * 0.5);
  db.Set("z", Value::FromObject(ValueType::kZSet, std::move(z)), kNow);
  auto l = std::make_unique<ListObject>();
  for (int i = 0; i < 3000; ++i) l->PushBack(absl::StrCat(i % 7 ? "e" : "", i));
  db.Set("l", Value::FromObject(ValueType::kList, std::move(l)), kNow);
  auto st = std::make_unique<SetObject>();
  for (int i = -3; i < 40; ++i) st->Add(absl::StrCat(i * 1000));
  db.Set("s", Value::FromObject(ValueType::kSet, std::move(st)), kNow);
  const Image before = Capture(*a.server);

  Snapshot snap(*a.server, {});
  auto object = [&](const char* k) { return db.Find(k, kNow)->value().object(); };
  snap.BeforeWrite(0, {"h"});
  static_cast<HashObject*>(object("h"))->Set("f1", std::string(100, 'x'));  // -> hashtable
  snap.BeforeWrite(0, {"z"});
  static_cast<ZSetObject*>(object("z"))->Insert("m128", -1);  // -> skiplist
  snap.BeforeWrite(0, {"l"});
  auto* list = static_cast<ListObject*>(object("l"));
  list->Insert(1500, std::string(9000, 'y'));
  list->TrimFront(1000);
  snap.BeforeWrite(0, {"s"});
  static_cast<SetObject*>(object("s"))->Add("not-an-integer");  // -> hashtable
  snap.Finish();
  EXPECT_EQ(static_cast<HashObject*>(object("h"))->EncodingName(), "hashtable");
  EXPECT_EQ(static_cast<ZSetObject*>(object("z"))->EncodingName(), "skiplist");
  EXPECT_EQ(LoadImage(snap.TakeOutput()), before);
}

TEST(SnapshotTest, KeylessWriteFinishesTheSnapshotFirst) {
  TestServer a;
  for (int i = 0; i < 1000; ++i) a.db().Set(absl::StrCat("k", i), Value::FromInt(i), kNow);
  const Image before = Capture(*a.server);
  Snapshot snap(*a.server, {});
  snap.Step(10);
  EXPECT_FALSE(snap.done());
  snap.BeforeWrite(0, {});  // FLUSHALL
  EXPECT_TRUE(snap.done());
  a.server->shard(0).Clear();
  EXPECT_EQ(LoadImage(snap.TakeOutput()), before);
}

TEST(SnapshotTest, WritesToOtherDatabasesAreCovered) {
  TestServer a;
  for (int d = 0; d < 3; ++d) {
    for (int i = 0; i < 300; ++i) {
      a.db(d).Set(absl::StrCat("k", i), Value::FromString(absl::StrCat(d, ":", i)), kNow);
    }
  }
  const Image before = Capture(*a.server);
  Snapshot snap(*a.server, {});
  std::string bytes;
  snap.Step(100);
  bytes += snap.TakeOutput();
  // MOVE-like: a command of db 0 replacing the same name in db 2, and
  // changes in db 1 and 2 while the walk is still in db 0.
  snap.BeforeWrite(0, {"k5"});
  a.db(2).Set("k5", Value::FromString("moved"), kNow);
  SetKey(snap, a.db(1), 1, "k7", "changed");
  DelKey(snap, a.db(2), 2, "k9");
  SetKey(snap, a.db(2), 2, "brand-new", "x");
  snap.Finish();
  bytes += snap.TakeOutput();
  EXPECT_EQ(LoadImage(bytes), before);
}

}  // namespace
}  // namespace shardnode::node::persist
