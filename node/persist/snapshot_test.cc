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
