#include "node/keyspace/db.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/keyspace/keyspace.h"
#include "slots/hash_slot.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

TEST(ValueTest, EncodingsFollowRedis) {
  EXPECT_EQ(Value::FromStringTryInt("12345").EncodingName(), "int");
  EXPECT_EQ(Value::FromStringTryInt("-9223372036854775808").EncodingName(), "int");
  EXPECT_EQ(Value::FromStringTryInt("9223372036854775808").EncodingName(), "embstr");
  EXPECT_EQ(Value::FromStringTryInt("012").EncodingName(), "embstr");
  EXPECT_EQ(Value::FromStringTryInt("-0").EncodingName(), "embstr");
  EXPECT_EQ(Value::FromStringTryInt("+1").EncodingName(), "embstr");
  EXPECT_EQ(Value::FromString(std::string(44, 'x')).EncodingName(), "embstr");
  EXPECT_EQ(Value::FromString(std::string(45, 'x')).EncodingName(), "raw");
  EXPECT_EQ(Value::FromStringRaw("ab").EncodingName(), "raw");

  std::string scratch;
  Value v = Value::FromStringTryInt("-42");
  EXPECT_EQ(v.View(&scratch), "-42");
  EXPECT_EQ(v.StringLength(), 3u);
  EXPECT_EQ(v.int_value(), -42);
  Value big = Value::FromString(std::string(100, 'y'));
  EXPECT_EQ(big.ToString(), std::string(100, 'y'));
  Value moved = std::move(big);
  EXPECT_EQ(moved.StringLength(), 100u);
  moved.MutableRawString()->append("z");
  EXPECT_EQ(moved.StringLength(), 101u);
  Value small = Value::FromString("abc");
  small.MutableRawString()->append("d");
  EXPECT_EQ(small.ToString(), "abcd");
  EXPECT_EQ(small.EncodingName(), "raw");
}

// Issue 18 (memory per key): a string of up to 22 bytes lives inside its
// Value, so a key with a short value is one allocation.
TEST(ValueTest, ShortStringsNeedNoAllocationOfTheirOwn) {
  for (size_t len : {0, 1, 14, 15, 16, 22}) {
    Value v = Value::FromString(std::string(len, 'v'));
    EXPECT_EQ(v.HeapBytes(), 0u) << len;
    EXPECT_EQ(v.ToString(), std::string(len, 'v'));
    EXPECT_EQ(v.EncodingName(), "embstr");
    Value copy = v.Clone();
    EXPECT_EQ(copy.ToString(), std::string(len, 'v'));
  }
  Value longer = Value::FromString(std::string(23, 'w'));
  EXPECT_GT(longer.HeapBytes(), 23u);  // counted as malloc_usable_size says
  EXPECT_EQ(longer.ToString(), std::string(23, 'w'));
  EXPECT_EQ(longer.EncodingName(), "embstr");
}

TEST(DbTest, SixteenByteKeyAndValueFitOneSmallBlock) {
  Db db;
  Entry* e = db.Set("key:000000000001", Value::FromString("vvvvvvvvvvvvvvvv"), kNow);
  EXPECT_EQ(e->value().HeapBytes(), 0u);
  // Header and key in one block; glibc's 64-byte chunk holds 56 bytes.
  EXPECT_LE(sizeof(Entry) + e->key().size(), 56u);
  EXPECT_EQ(e->value().ToString(), "vvvvvvvvvvvvvvvv");
}

// Key lengths either side of the one-byte length field's limit, with the
// access clock (which shares that word) at its extremes.
TEST(DbTest, KeysOfEveryLengthKeepTheirBytesBesideTheAccessClock) {
  Db db;
  std::vector<std::string> keys;
  for (size_t len : {0, 1, 16, 254, 255, 256, 70000}) {
    std::string k(len, 'k');
    if (len > 0) k[len - 1] = 'z';
    keys.push_back(k);
    Entry* e = db.Set(k, Value::FromString("x"), kNow);
    e->set_lru(kLruClockMax);
    EXPECT_EQ(e->key(), k);
    EXPECT_EQ(e->lru(), kLruClockMax);
    e->set_lru(0);
    EXPECT_EQ(e->key(), k);
    EXPECT_EQ(e->lru(), 0u);
    db.SetExpire(e, kNow + 1000);
    EXPECT_EQ(db.ExpireOf(e), kNow + 1000);
  }
  for (const std::string& k : keys) {
    const Entry* e = db.Find(k, kNow, false);
    ASSERT_NE(e, nullptr) << k.size();
    EXPECT_EQ(e->key(), k);
  }
  std::set<std::string> seen;
  uint64_t cursor = 0;
  do {
    cursor = db.Scan(cursor, 10, kNow, [&](const Entry& e) { seen.emplace(e.key()); });
  } while (cursor != 0);
  EXPECT_EQ(seen, std::set<std::string>(keys.begin(), keys.end()));
  for (const std::string& k : keys) EXPECT_TRUE(db.Delete(k, kNow));
  EXPECT_EQ(db.Size(), 0u);
  EXPECT_EQ(db.expires_count(), 0u);
}

TEST(DbTest, SetFindDelete) {
  Db db;
  std::vector<std::string> modified;
  db.on_key_modified = [&](std::string_view k) { modified.emplace_back(k); };
  EXPECT_EQ(db.Find("a", kNow), nullptr);
  db.Set("a", Value::FromString("1"), kNow);
  db.Set("b", Value::FromString("2"), kNow);
  EXPECT_EQ(db.Size(), 2u);
  ASSERT_NE(db.Find("a", kNow), nullptr);
  EXPECT_EQ(db.Find("a", kNow)->value().ToString(), "1");
  EXPECT_EQ(db.Find("a", kNow)->key(), "a");
  EXPECT_EQ(db.Add("a", Value::FromString("x"), kNow), nullptr);
  EXPECT_NE(db.Add("c", Value::FromString("x"), kNow), nullptr);
  db.Set("a", Value::FromString("3"), kNow);
  EXPECT_EQ(db.Find("a", kNow)->value().ToString(), "3");
  EXPECT_TRUE(db.Delete("a", kNow));
  EXPECT_FALSE(db.Delete("a", kNow));
  EXPECT_EQ(db.Size(), 2u);
  EXPECT_EQ(modified, (std::vector<std::string>{"a", "b", "c", "a", "a"}));
  db.Clear();
  EXPECT_EQ(db.Size(), 0u);
  EXPECT_EQ(modified.back(), "");
  EXPECT_FALSE(db.Exists("b", kNow));
}

TEST(DbTest, SwapKeysExchangesKeysAndTtlsButNotHooks) {
  Db live, aside;
  std::vector<std::string> modified;
  live.on_key_modified = [&](std::string_view k) { modified.emplace_back(k); };
  live.Set("old", Value::FromString("1"), kNow);
  for (int i = 0; i < 100; ++i) {
    Entry* e = aside.Set("new" + std::to_string(i), Value::FromString("v"), kNow);
    if (i % 2 == 0) aside.SetExpire(e, kNow + 1000 + i);
  }
  modified.clear();
  live.SwapKeys(aside);
  EXPECT_EQ(modified, std::vector<std::string>{""});  // WATCHers of every key
  EXPECT_EQ(live.Size(), 100u);
  EXPECT_EQ(aside.Size(), 1u);
  EXPECT_EQ(live.expires_count(), 50u);
  EXPECT_EQ(aside.expires_count(), 0u);
  EXPECT_FALSE(live.Exists("old", kNow));
  ASSERT_NE(aside.Find("old", kNow), nullptr);
  ASSERT_NE(live.Find("new42", kNow), nullptr);
  EXPECT_EQ(live.ExpireOf(live.Find("new42", kNow)), kNow + 1042);
  // The TTLs moved with their keys: they expire in the live Db.
  EXPECT_EQ(live.SampleExpired(kNow + 5000, 1000), 50u);
  EXPECT_EQ(live.Size(), 50u);
  EXPECT_EQ(aside.on_key_modified, nullptr);
}

TEST(DbTest, HitsAndMissesCountOnReads) {
  Db db;
  db.Set("a", Value::FromString("1"), kNow);
  db.FindRead("a", kNow);
  db.FindRead("zz", kNow);
  db.FindRead("zz", kNow);
  db.Find("zz", kNow);  // not a read lookup
  EXPECT_EQ(db.stats().hits, 1u);
  EXPECT_EQ(db.stats().misses, 2u);
}

TEST(DbTest, LazyExpiry) {
  Db db;
  std::vector<std::string> expired;
  db.on_key_expired = [&](std::string_view k) { expired.emplace_back(k); };
  Entry* e = db.Set("k", Value::FromString("v"), kNow);
  db.SetExpire(e, kNow + 100);
  EXPECT_EQ(db.expires_count(), 1u);
  EXPECT_EQ(db.ExpireOf(db.Find("k", kNow)), kNow + 100);
  EXPECT_TRUE(db.Exists("k", kNow + 99));
  EXPECT_FALSE(db.Exists("k", kNow + 100));
  EXPECT_EQ(db.Size(), 0u);
  EXPECT_EQ(db.expires_count(), 0u);
  EXPECT_EQ(db.stats().expired, 1u);
  EXPECT_EQ(expired, std::vector<std::string>{"k"});

  // SET without keep_ttl drops the TTL; with keep_ttl keeps it.
  e = db.Set("k", Value::FromString("v"), kNow);
  db.SetExpire(e, kNow + 100);
  db.Set("k", Value::FromString("w"), kNow, /*keep_ttl=*/true);
  EXPECT_EQ(db.ExpireOf(db.Find("k", kNow)), kNow + 100);
  db.Set("k", Value::FromString("w"), kNow);
  EXPECT_EQ(db.ExpireOf(db.Find("k", kNow)), -1);
  EXPECT_EQ(db.expires_count(), 0u);
  // Persist.
  db.SetExpire(db.Find("k", kNow), kNow + 5);
  EXPECT_TRUE(db.Persist(db.Find("k", kNow)));
  EXPECT_FALSE(db.Persist(db.Find("k", kNow)));
  EXPECT_TRUE(db.Exists("k", kNow + 10));
}

TEST(DbTest, ReplicaHidesExpiredKeysUntilThePrimaryDeletesThem) {
  Db db;
  std::vector<std::string> expired;
  db.on_key_expired = [&](std::string_view k) { expired.emplace_back(k); };
  db.set_expiry_mode(ExpiryMode::kHide);
  db.SetExpire(db.Set("a", Value::FromString("1"), kNow), kNow + 100);
  db.SetExpire(db.Set("b", Value::FromString("2"), kNow), kNow + 100);
  const int64_t later = kNow + 200;
  // Reads: missing, but the keys stay.
  EXPECT_EQ(db.Find("a", later), nullptr);
  EXPECT_EQ(db.FindRead("a", later), nullptr);
  EXPECT_FALSE(db.Exists("b", later));
  std::string key;
  EXPECT_TRUE(db.RandomKey(later, &key));  // only expired keys: one is returned
  EXPECT_EQ(db.Size(), 2u);
  EXPECT_TRUE(expired.empty());
  // The primary's stream sees them live (its DEL removes them).
  db.set_expiry_mode(ExpiryMode::kKeep);
  ASSERT_NE(db.Find("a", later), nullptr);
  EXPECT_EQ(db.Find("a", later)->value().ToString(), "1");
  EXPECT_TRUE(db.Delete("a", later));
  EXPECT_EQ(db.Size(), 1u);
  // A write on a writable replica replaces the expired key.
  db.set_expiry_mode(ExpiryMode::kHide);
  EXPECT_NE(db.Add("b", Value::FromString("3"), later), nullptr);
  EXPECT_EQ(db.Find("b", later)->value().ToString(), "3");
  EXPECT_EQ(db.ExpireOf(db.Find("b", later)), -1);
  EXPECT_EQ(db.Size(), 1u);
  EXPECT_EQ(expired, std::vector<std::string>{"b"});
}

TEST(DbTest, WritableReplicaExpiresOnlyItsOwnKeys) {
  Db db;
  std::vector<std::string> expired;
  db.on_key_expired = [&](std::string_view k) { expired.emplace_back(k); };
  // The primary's stream (kKeep) gives "p" a TTL; a client of the replica
  // (kHide) gives one to "own", "later" and "persisted".
  db.set_expiry_mode(ExpiryMode::kKeep);
  db.SetExpire(db.Set("p", Value::FromString("1"), kNow), kNow + 10);
  db.set_expiry_mode(ExpiryMode::kHide);
  db.SetExpire(db.Set("own", Value::FromString("1"), kNow), kNow + 10);
  db.SetExpire(db.Set("own", Value::FromString("1"), kNow), kNow + 10);  // counted once
  db.SetExpire(db.Set("later", Value::FromString("1"), kNow), kNow + 100000);
  db.SetExpire(db.Set("persisted", Value::FromString("1"), kNow), kNow + 10);
  db.Persist(db.Find("persisted", kNow));
  EXPECT_EQ(db.own_expires_count(), 3u);
  // Each call stops after a few live picks: a few calls see every key.
  size_t removed = 0;
  for (int i = 0; i < 20; ++i) removed += db.ExpireOwnKeys(kNow + 20);
  EXPECT_EQ(removed, 1u);
  EXPECT_EQ(expired, std::vector<std::string>{"own"});
  EXPECT_EQ(db.stats().expired, 1u);
  EXPECT_EQ(db.Size(), 3u);               // p waits for its primary's DEL
  EXPECT_EQ(db.own_expires_count(), 1u);  // "later"
  // Promoted: regular active expiry takes over.
  db.set_expiry_mode(ExpiryMode::kDelete);
  EXPECT_EQ(db.own_expires_count(), 0u);
}

TEST(DbTest, ActiveExpiryRemovesExpiredKeysOnly) {
  Keyspace ks(2);
  Db& db = ks.db(1);
  for (int i = 0; i < 1000; ++i) {
    Entry* e = db.Set("v" + std::to_string(i), Value::FromString("x"), kNow);
    db.SetExpire(e, kNow + (i < 600 ? 10 : 100000));
  }
  for (int i = 0; i < 500; ++i) db.Set("p" + std::to_string(i), Value::FromString("x"), kNow);
  EXPECT_EQ(ks.ActiveExpireCycle(kNow, 1000), 0u);
  size_t removed = 0;
  for (int round = 0; round < 200 && db.Size() > 900; ++round) {
    removed += ks.ActiveExpireCycle(kNow + 20, 100);
  }
  EXPECT_EQ(removed, 600u);
  EXPECT_EQ(db.Size(), 900u);
  EXPECT_EQ(db.expires_count(), 400u);
  EXPECT_EQ(ks.TotalStats().expired, 600u);
  EXPECT_TRUE(db.Exists("v999", kNow + 20));
  EXPECT_FALSE(db.Exists("v0", kNow + 20));
}

TEST(DbTest, PerSlotCountsAndKeys) {
  Db db;
  const int slot = slots::KeyHashSlot("tag");
  for (int i = 0; i < 50; ++i) db.Set("{tag}" + std::to_string(i), Value::FromString("x"), kNow);
  db.Set("other", Value::FromString("x"), kNow);
  EXPECT_EQ(db.CountKeysInSlot(slot), 50u);
  EXPECT_EQ(db.CountKeysInSlot(slots::KeyHashSlot("other")), 1u);
  std::vector<std::string> keys = db.KeysInSlot(slot, 10);
  EXPECT_EQ(keys.size(), 10u);
  for (const auto& k : keys) EXPECT_EQ(k.rfind("{tag}", 0), 0u);
  EXPECT_EQ(db.KeysInSlot(slot, 1000).size(), 50u);
  db.SetExpire(db.Find("{tag}1", kNow), kNow + 1000);
  EXPECT_EQ(db.DeleteSlot(slot), 50u);
  EXPECT_EQ(db.CountKeysInSlot(slot), 0u);
  EXPECT_EQ(db.Size(), 1u);
  EXPECT_EQ(db.expires_count(), 0u);
  EXPECT_TRUE(db.Exists("other", kNow));
}

TEST(DbTest, RandomKeyIsRoughlyUniformAndReapsExpired) {
  Db db;
  std::string key;
  EXPECT_FALSE(db.RandomKey(kNow, &key));
  for (int i = 0; i < 8; ++i) db.Set("r" + std::to_string(i), Value::FromString("x"), kNow);
  std::map<std::string, int> hits;
  for (int i = 0; i < 8000; ++i) {
    ASSERT_TRUE(db.RandomKey(kNow, &key));
    ++hits[key];
  }
  EXPECT_EQ(hits.size(), 8u);
  for (const auto& [k, n] : hits) {
    EXPECT_GT(n, 700) << k;
    EXPECT_LT(n, 1300) << k;
  }
  for (int i = 0; i < 8; ++i) db.SetExpire(db.Find("r" + std::to_string(i), kNow), kNow + 1);
  EXPECT_FALSE(db.RandomKey(kNow + 1, &key));
  EXPECT_EQ(db.Size(), 0u);
}

TEST(DbTest, ScanReturnsEveryKeyAndSkipsExpired) {
  Db db;
  EXPECT_EQ(db.Scan(0, 10, kNow, [](const Entry&) {}), 0u);
  for (int i = 0; i < 3000; ++i) db.Set("s" + std::to_string(i), Value::FromString("x"), kNow);
  db.SetExpire(db.Find("s7", kNow), kNow + 1);
  std::multiset<std::string> seen;
  uint64_t cursor = 0;
  int calls = 0;
  do {
    cursor = db.Scan(cursor, 10, kNow + 5, [&](const Entry& e) { seen.emplace(e.key()); });
    ++calls;
  } while (cursor != 0);
  EXPECT_EQ(seen.size(), 2999u);
  EXPECT_EQ(seen.count("s7"), 0u);
  EXPECT_GT(calls, 100);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 2999u);
}

TEST(SlotShareTest, SharesSplitTheSlotsAsKeyspaceShardOfSlotDoes) {
  for (int n = 1; n <= 7; ++n) {
    int total = 0;
    for (int i = 0; i < n; ++i) {
      const SlotShare share{i, n};
      int position = 0;
      for (int slot = 0; slot < slots::kNumSlots; ++slot) {
        ASSERT_EQ(share.Holds(slot), KeyspaceShardOfSlot(slot, n) == i) << slot;
        const int next = share.NextHeld(slot);
        ASSERT_TRUE(next == slots::kNumSlots || share.Holds(next)) << slot;
        for (int s = slot; s < next; ++s) ASSERT_FALSE(share.Holds(s));
        if (!share.Holds(slot)) continue;
        ASSERT_EQ(next, slot);
        ASSERT_EQ(share.Position(slot), position);
        ASSERT_EQ(share.SlotAt(position), slot);
        ++position;
      }
      EXPECT_EQ(share.SlotsHeld(), position);
      total += position;
    }
    EXPECT_EQ(total, slots::kNumSlots);
  }
}

// The first `wanted` keys "k<i>" whose slots `share` holds.
std::vector<std::string> KeysOfShare(const SlotShare& share, size_t wanted) {
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < wanted; ++i) {
    std::string key = "k" + std::to_string(i);
    if (share.Holds(slots::KeyHashSlot(key))) keys.push_back(std::move(key));
  }
  return keys;
}

TEST(DbTest, ADbOfOneShardIndexesItsOwnSlotsOnly) {
  // Three Dbs split the slots as keyspace shards 0..2 of 3 do; each works
  // as a whole Db over the keys of its slots.
  constexpr int kShards = 3;
  std::vector<std::unique_ptr<Db>> dbs;
  std::set<std::string> all;
  for (int i = 0; i < kShards; ++i) {
    dbs.push_back(std::make_unique<Db>(SlotShare{i, kShards}));
    for (const std::string& k : KeysOfShare(SlotShare{i, kShards}, 700)) {
      dbs[i]->Set(k, Value::FromString("v"), kNow);
      all.insert(k);
    }
  }
  Db& db = *dbs[2];
  const std::string probe = KeysOfShare(SlotShare{2, kShards}, 1)[0];
  const int slot = slots::KeyHashSlot(probe);
  EXPECT_TRUE(db.Exists(probe, kNow));
  EXPECT_FALSE(db.Exists(KeysOfShare(SlotShare{1, kShards}, 1)[0], kNow));
  EXPECT_GE(db.CountKeysInSlot(slot), 1u);
  EXPECT_EQ(db.CountKeysInSlot(slot + 1), 0u);  // a slot of shard 0
  EXPECT_EQ(db.KeysInSlot(slot, 100).size(), db.CountKeysInSlot(slot));

  // RandomKey and SampleEntries find keys through the positions.
  std::set<std::string> picked;
  std::string key;
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(db.RandomKey(kNow, &key));
    ASSERT_TRUE(db.Exists(key, kNow)) << key;
    picked.insert(key);
  }
  EXPECT_GT(picked.size(), 600u);
  std::vector<Entry*> sample;
  db.SampleEntries(false, 500, &sample);
  EXPECT_EQ(sample.size(), 500u);
  for (const Entry* e : sample) EXPECT_TRUE(db.share().Holds(slots::KeyHashSlot(e->key())));

  // A scan that interleaves the shards slot by slot (SCAN at threads N)
  // sees every key once.
  std::multiset<std::string> seen;
  uint64_t cursor = 0;
  do {
    const int at = static_cast<int>(cursor & (slots::kNumSlots - 1));
    cursor = dbs[KeyspaceShardOfSlot(at, kShards)]->Scan(
        cursor, 7, kNow, [&](const Entry& e) { seen.emplace(e.key()); }, at + 1);
  } while (cursor != 0);
  EXPECT_EQ(seen.size(), all.size());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), all);
  // A whole-range scan of one Db, and ForEach, see that Db's keys.
  size_t scanned = 0, visited = 0;
  cursor = 0;
  do {
    cursor = db.Scan(cursor, 50, kNow, [&](const Entry&) { ++scanned; });
  } while (cursor != 0);
  db.ForEach([&](const Entry&) { ++visited; });
  EXPECT_EQ(scanned, 700u);
  EXPECT_EQ(visited, 700u);

  const size_t in_slot = db.CountKeysInSlot(slot);
  EXPECT_EQ(db.DeleteSlot(slot), in_slot);
  EXPECT_EQ(db.Size(), 700u - in_slot);
  db.Clear();
  EXPECT_EQ(db.Size(), 0u);
  EXPECT_FALSE(db.RandomKey(kNow, &key));
  db.Set(probe, Value::FromString("again"), kNow);
  ASSERT_TRUE(db.RandomKey(kNow, &key));
  EXPECT_EQ(key, probe);
}

}  // namespace
}  // namespace shardnode::node
