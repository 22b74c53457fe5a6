// Commands whose keys live in different shards. The keyspace is split into
// shards by hash slot (`threads`); every test here runs with one shard and
// with four, where the keys a, b, c and d (slots 15495, 3300, 7365, 11298)
// land in four different shards, and must give the same replies, recorded
// from redis-server 7.0.15. After each test every key must sit in the shard
// that owns its slot (nowhere else), whichever commands moved it there.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "node/commands/dispatcher.h"
#include "node/commands/dispatcher_fixture.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/resp/reply.h"
#include "node/server/blocking.h"
#include "node/server/server.h"
#include "node/server/session.h"
#include "node/server/watch.h"
#include "node/server/write_stream.h"
#include "slots/hash_slot.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

enum Match { kExact, kUnordered };

struct Vector {
  std::vector<std::string> args;
  std::string_view reply;
  Match match;
};

// The elements of a flat RESP2 reply (an array of bulks and integers), one
// line each, sorted; "$-1" stays as it is.
std::vector<std::string> SortedElements(std::string_view reply) {
  std::vector<std::string> out;
  size_t pos = reply.find("\r\n") + 2;
  while (pos < reply.size()) {
    const size_t end = reply.find("\r\n", pos);
    std::string_view line = reply.substr(pos, end - pos);
    pos = end + 2;
    if (line[0] == '$' && line != "$-1") {
      const size_t len = std::stoul(std::string(line.substr(1)));
      out.emplace_back(reply.substr(pos, len));
      pos += len + 2;
    } else {
      out.emplace_back(line);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A session whose pushed replies (a blocked command served later) are kept.
struct Client {
  Session session;
  std::string pushed;
};

class ShardsTest : public DispatcherFixture, public ::testing::WithParamInterface<int> {
 protected:
  std::string ConfigText() const override { return absl::StrCat("threads ", GetParam(), "\n"); }

  void SetUp() override {
    DispatcherFixture::SetUp();
    ASSERT_EQ(server_->num_shards(), GetParam());
  }

  void TearDown() override { ExpectEveryKeyInItsShard(); }

  Client& NewClient() {
    auto c = std::make_unique<Client>();
    Client* raw = c.get();
    raw->session.id = server_->NextClientId();
    raw->session.push = [raw](std::string_view b) { raw->pushed.append(b); };
    raw->session.resume = [] {};
    server_->clients()[raw->session.id] = &raw->session;
    clients_.push_back(std::move(c));
    return *raw;
  }

  std::string Run(Client& c, std::vector<std::string> args) {
    std::string out;
    resp::ReplyBuilder reply(&out, c.session.protocol);
    dispatcher_->Execute(c.session, args, reply, kNow);
    return out;
  }

  void RunVectors(const std::vector<Vector>& vectors) {
    Client& c = NewClient();
    for (const Vector& v : vectors) {
      const std::string got = Run(c, v.args);
      const std::string cmd = absl::StrJoin(v.args, " ");
      if (v.match == kExact) {
        EXPECT_EQ(got, v.reply) << cmd;
      } else {
        EXPECT_EQ(got.substr(0, got.find("\r\n")), v.reply.substr(0, v.reply.find("\r\n"))) << cmd;
        EXPECT_EQ(SortedElements(got), SortedElements(v.reply)) << cmd;
      }
    }
  }

  // Every key of every database is held by the shard that owns its slot, so
  // no key is held twice.
  void ExpectEveryKeyInItsShard() {
    for (int i = 0; i < server_->num_shards(); ++i) {
      Keyspace& shard = server_->shard(i);
      for (int d = 0; d < shard.num_dbs(); ++d) {
        shard.db(d).ForEach([&](const Entry& e) {
          EXPECT_EQ(server_->ShardIndexForSlot(slots::KeyHashSlot(e.key())), i)
              << "db " << d << " key " << e.key() << " held by shard " << i;
        });
      }
    }
  }

  std::vector<std::unique_ptr<Client>> clients_;
};

INSTANTIATE_TEST_SUITE_P(Threads, ShardsTest, ::testing::Values(1, 4),
                         [](const auto& info) { return absl::StrCat("threads", info.param); });

TEST_P(ShardsTest, TheTestKeysSpanEveryShard) {
  std::set<int> shards;
  for (std::string_view k : {"a", "b", "c", "d"}) {
    shards.insert(server_->ShardIndexForSlot(slots::KeyHashSlot(k)));
  }
  EXPECT_EQ(static_cast<int>(shards.size()), GetParam());
}

TEST_P(ShardsTest, StringAndGenericMultiKeyCommands) {
  RunVectors({
      {{"mset", "a", "1", "b", "2", "c", "3", "d", "4"}, "+OK\r\n", kExact},
      {{"mget", "a", "b", "c", "d", "e"},
       "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$-1\r\n",
       kExact},
      {{"msetnx", "a", "x", "e", "5"}, ":0\r\n", kExact},
      {{"msetnx", "e", "5", "f", "6"}, ":1\r\n", kExact},
      {{"exists", "a", "b", "c", "d", "e", "f", "g"}, ":6\r\n", kExact},
      {{"touch", "a", "b", "g"}, ":2\r\n", kExact},
      {{"del", "a", "b", "g"}, ":2\r\n", kExact},
      {{"rename", "c", "a"}, "+OK\r\n", kExact},
      {{"mget", "a", "c"}, "*2\r\n$1\r\n3\r\n$-1\r\n", kExact},
      {{"renamenx", "a", "b"}, ":1\r\n", kExact},
      {{"renamenx", "b", "d"}, ":0\r\n", kExact},
      {{"dbsize"}, ":4\r\n", kExact},
      {{"keys", "*"}, "*4\r\n$1\r\ne\r\n$1\r\nb\r\n$1\r\nf\r\n$1\r\nd\r\n", kUnordered},
      {{"move", "b", "1"}, ":1\r\n", kExact},
      {{"select", "1"}, "+OK\r\n", kExact},
      {{"mget", "b", "d"}, "*2\r\n$1\r\n3\r\n$-1\r\n", kExact},
      {{"dbsize"}, ":1\r\n", kExact},
      {{"select", "0"}, "+OK\r\n", kExact},
      {{"dbsize"}, ":3\r\n", kExact},
      {{"flushdb"}, "+OK\r\n", kExact},
      {{"dbsize"}, ":0\r\n", kExact},
      {{"select", "1"}, "+OK\r\n", kExact},
      {{"dbsize"}, ":1\r\n", kExact},
      {{"flushall"}, "+OK\r\n", kExact},
      {{"dbsize"}, ":0\r\n", kExact},
      {{"select", "0"}, "+OK\r\n", kExact},
      {{"hset", "a", "f", "1"}, ":1\r\n", kExact},
      {{"hset", "b", "g", "2"}, ":1\r\n", kExact},
      {{"rename", "a", "c"}, "+OK\r\n", kExact},
      {{"hgetall", "c"}, "*2\r\n$1\r\nf\r\n$1\r\n1\r\n", kExact},
      {{"keys", "*"}, "*2\r\n$1\r\nc\r\n$1\r\nb\r\n", kUnordered},
  });
}

TEST_P(ShardsTest, ListMovesAndMultiKeyPops) {
  RunVectors({
      {{"rpush", "a", "1", "2", "3"}, ":3\r\n", kExact},
      {{"lmove", "a", "b", "left", "right"}, "$1\r\n1\r\n", kExact},
      {{"rpoplpush", "a", "c"}, "$1\r\n3\r\n", kExact},
      {{"lrange", "a", "0", "-1"}, "*1\r\n$1\r\n2\r\n", kExact},
      {{"lrange", "b", "0", "-1"}, "*1\r\n$1\r\n1\r\n", kExact},
      {{"lrange", "c", "0", "-1"}, "*1\r\n$1\r\n3\r\n", kExact},
      {{"lmpop", "3", "d", "b", "a", "left"}, "*2\r\n$1\r\nb\r\n*1\r\n$1\r\n1\r\n", kExact},
      {{"blpop", "d", "a", "0"}, "*2\r\n$1\r\na\r\n$1\r\n2\r\n", kExact},
      {{"exists", "a", "b"}, ":0\r\n", kExact},
      {{"blmove", "c", "d", "right", "left", "0"}, "$1\r\n3\r\n", kExact},
      {{"lrange", "d", "0", "-1"}, "*1\r\n$1\r\n3\r\n", kExact},
      {{"brpoplpush", "d", "a", "0"}, "$1\r\n3\r\n", kExact},
      {{"rpush", "a", "4"}, ":2\r\n", kExact},
      {{"blmpop", "0", "2", "b", "a", "right", "count", "5"},
       "*2\r\n$1\r\na\r\n*2\r\n$1\r\n4\r\n$1\r\n3\r\n",
       kExact},
      {{"rpush", "c", "5"}, ":1\r\n", kExact},
      {{"brpop", "b", "d", "c", "a", "0"}, "*2\r\n$1\r\nc\r\n$1\r\n5\r\n", kExact},
      {{"dbsize"}, ":0\r\n", kExact},
      {{"rpush", "b", "x"}, ":1\r\n", kExact},
      {{"lmove", "b", "b", "left", "right"}, "$1\r\nx\r\n", kExact},
      {{"lmove", "b", "a", "left", "left"}, "$1\r\nx\r\n", kExact},
      {{"keys", "*"}, "*1\r\n$1\r\na\r\n", kExact},
  });
}

// The reproduction: SMOVE a b x answered 1, then SMEMBERS b showed
// only y and KEYS * listed b twice.
TEST_P(ShardsTest, SetMovesAndStores) {
  RunVectors({
      {{"sadd", "a", "x"}, ":1\r\n", kExact},
      {{"sadd", "b", "y"}, ":1\r\n", kExact},
      {{"smove", "a", "b", "x"}, ":1\r\n", kExact},
      {{"smembers", "b"}, "*2\r\n$1\r\nx\r\n$1\r\ny\r\n", kUnordered},
      {{"keys", "*"}, "*1\r\n$1\r\nb\r\n", kExact},
      {{"exists", "a"}, ":0\r\n", kExact},
      {{"sadd", "c", "x", "z"}, ":2\r\n", kExact},
      {{"sinter", "b", "c"}, "*1\r\n$1\r\nx\r\n", kExact},
      {{"sinterstore", "d", "b", "c"}, ":1\r\n", kExact},
      {{"smembers", "d"}, "*1\r\n$1\r\nx\r\n", kExact},
      {{"sunionstore", "a", "b", "c"}, ":3\r\n", kExact},
      {{"scard", "a"}, ":3\r\n", kExact},
      {{"sdiffstore", "d", "a", "c"}, ":1\r\n", kExact},
      {{"smembers", "d"}, "*1\r\n$1\r\ny\r\n", kExact},
      {{"sdiff", "a", "b"}, "*1\r\n$1\r\nz\r\n", kExact},
      {{"sunion", "b", "c"}, "*3\r\n$1\r\nz\r\n$1\r\ny\r\n$1\r\nx\r\n", kUnordered},
      {{"sinterstore", "d", "b", "nosuch"}, ":0\r\n", kExact},
      {{"exists", "d"}, ":0\r\n", kExact},
      {{"smove", "b", "c", "y"}, ":1\r\n", kExact},
      {{"smembers", "c"}, "*3\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\nx\r\n", kUnordered},
      {{"smembers", "b"}, "*1\r\n$1\r\nx\r\n", kExact},
      {{"set", "s", "str"}, "+OK\r\n", kExact},
      {{"smove", "c", "s", "x"},
       "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
       kExact},
      {{"sunionstore", "s", "c"}, ":3\r\n", kExact},
      {{"smembers", "s"}, "*3\r\n$1\r\nx\r\n$1\r\nz\r\n$1\r\ny\r\n", kUnordered},
      {{"dbsize"}, ":4\r\n", kExact},
  });
}

TEST_P(ShardsTest, SortedSetStoresAndMultiKeyPops) {
  RunVectors({
      {{"zadd", "a", "1", "x", "2", "y"}, ":2\r\n", kExact},
      {{"zadd", "b", "3", "y", "4", "z"}, ":2\r\n", kExact},
      {{"zunionstore", "c", "2", "a", "b"}, ":3\r\n", kExact},
      {{"zrange", "c", "0", "-1", "withscores"},
       "*6\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\nz\r\n$1\r\n4\r\n$1\r\ny\r\n$1\r\n5\r\n",
       kExact},
      {{"zinterstore", "d", "2", "a", "b", "weights", "1", "10"}, ":1\r\n", kExact},
      {{"zrange", "d", "0", "-1", "withscores"}, "*2\r\n$1\r\ny\r\n$2\r\n32\r\n", kExact},
      {{"zdiffstore", "d", "2", "a", "b"}, ":1\r\n", kExact},
      {{"zrange", "d", "0", "-1"}, "*1\r\n$1\r\nx\r\n", kExact},
      {{"zunion", "2", "a", "b", "withscores"},
       "*6\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\nz\r\n$1\r\n4\r\n$1\r\ny\r\n$1\r\n5\r\n",
       kExact},
      {{"zinter", "2", "a", "b"}, "*1\r\n$1\r\ny\r\n", kExact},
      {{"zdiff", "2", "b", "a"}, "*1\r\n$1\r\nz\r\n", kExact},
      {{"zintercard", "2", "a", "b"}, ":1\r\n", kExact},
      {{"zrangestore", "d", "c", "0", "0"}, ":1\r\n", kExact},
      {{"zrange", "d", "0", "-1"}, "*1\r\n$1\r\nx\r\n", kExact},
      {{"zmpop", "2", "e", "a", "min"},
       "*2\r\n$1\r\na\r\n*1\r\n*2\r\n$1\r\nx\r\n$1\r\n1\r\n",
       kExact},
      {{"bzpopmin", "e", "a", "0"}, "*3\r\n$1\r\na\r\n$1\r\ny\r\n$1\r\n2\r\n", kExact},
      {{"exists", "a"}, ":0\r\n", kExact},
      {{"bzmpop", "0", "2", "e", "b", "max", "count", "1"},
       "*2\r\n$1\r\nb\r\n*1\r\n*2\r\n$1\r\nz\r\n$1\r\n4\r\n",
       kExact},
      {{"bzpopmax", "e", "c", "0"}, "*3\r\n$1\r\nc\r\n$1\r\ny\r\n$1\r\n5\r\n", kExact},
      {{"zunionstore", "b", "1", "nosuch"}, ":0\r\n", kExact},
      {{"exists", "b"}, ":0\r\n", kExact},
      {{"dbsize"}, ":2\r\n", kExact},
  });
}

// A client blocked on one shard's key is served into another shard's key.
TEST_P(ShardsTest, BlockedClientsAreServedAcrossShards) {
  Client& a = NewClient();
  Client& w = NewClient();
  EXPECT_EQ(Run(a, {"blmove", "a", "b", "left", "right", "0"}), "");
  EXPECT_EQ(Run(w, {"rpush", "a", "v"}), ":1\r\n");
  EXPECT_EQ(a.pushed, "$1\r\nv\r\n");
  EXPECT_EQ(Run(w, {"lrange", "b", "0", "-1"}), "*1\r\n$1\r\nv\r\n");
  EXPECT_EQ(Run(w, {"exists", "a"}), ":0\r\n");
  a.pushed.clear();
  EXPECT_EQ(Run(a, {"bzpopmin", "c", "d", "0"}), "");
  EXPECT_EQ(Run(w, {"zadd", "d", "1", "m"}), ":1\r\n");
  EXPECT_EQ(a.pushed, "*3\r\n$1\r\nd\r\n$1\r\nm\r\n$1\r\n1\r\n");
  EXPECT_EQ(Run(w, {"keys", "*"}), "*1\r\n$1\r\nb\r\n");
}

TEST_P(ShardsTest, WatchAndExecSeeEveryKeysShard) {
  Client& a = NewClient();
  Client& w = NewClient();
  EXPECT_EQ(Run(a, {"watch", "a", "b"}), "+OK\r\n");
  EXPECT_EQ(Run(w, {"set", "b", "1"}), "+OK\r\n");
  EXPECT_EQ(Run(a, {"multi"}), "+OK\r\n");
  EXPECT_EQ(Run(a, {"get", "a"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(a, {"exec"}), "*-1\r\n");

  EXPECT_EQ(Run(a, {"watch", "a", "c"}), "+OK\r\n");
  EXPECT_EQ(Run(a, {"multi"}), "+OK\r\n");
  EXPECT_EQ(Run(a, {"sadd", "c", "x"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(a, {"smove", "c", "d", "x"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(a, {"rename", "b", "a"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(a, {"exec"}), "*3\r\n:1\r\n:1\r\n+OK\r\n");
  EXPECT_EQ(Run(w, {"smembers", "d"}), "*1\r\n$1\r\nx\r\n");
  EXPECT_EQ(Run(w, {"mget", "a", "b"}), "*2\r\n$1\r\n1\r\n$-1\r\n");
  EXPECT_EQ(Run(w, {"dbsize"}), ":2\r\n");
}

// Blocking over keys of every shard: the client waits on each key's shard's
// index, is served from the shard whose key received data, and its wait is
// forgotten on every shard when it is served, times out or goes away.
TEST_P(ShardsTest, BlockedKeysArePerShard) {
  Client& a = NewClient();
  Client& w = NewClient();
  BlockingTable& table = server_->blocking();
  ASSERT_EQ(table.num_shards(), GetParam());
  auto all_empty = [&] {
    for (int i = 0; i < table.num_shards(); ++i) {
      if (!table.keys(i).empty()) return false;
    }
    return true;
  };
  EXPECT_EQ(Run(a, {"blpop", "a", "b", "c", "d", "0"}), "");
  for (const char* key : {"a", "b", "c", "d"}) {
    const int home = server_->ShardIndexForSlot(slots::KeyHashSlot(key));
    for (int i = 0; i < table.num_shards(); ++i) {
      EXPECT_EQ(table.keys(i).Waiters(0, key).size(), i == home ? 1u : 0u) << key << " " << i;
    }
  }
  EXPECT_EQ(Run(w, {"rpush", "c", "x"}), ":1\r\n");
  EXPECT_EQ(a.pushed, "*2\r\n$1\r\nc\r\n$1\r\nx\r\n");
  EXPECT_TRUE(all_empty());
  a.pushed.clear();
  EXPECT_EQ(Run(a, {"bzpopmin", "b", "d", "1"}), "");
  EXPECT_FALSE(all_empty());
  HandleBlockedTimeouts(*server_, kNow + 2000);
  EXPECT_EQ(a.pushed, "*-1\r\n");
  EXPECT_TRUE(all_empty());
  Client& gone = NewClient();
  EXPECT_EQ(Run(gone, {"brpop", "a", "b", "c", "d", "0"}), "");
  server_->DetachSession(gone.session);
  EXPECT_TRUE(all_empty());
  EXPECT_EQ(table.size(), 0u);
}

// Keys made ready on several shards by one step (EXEC) are served in the
// order the step changed them, not shard by shard (redis-server 7.0.15
// serves a first: d holds 2 then 1).
TEST_P(ShardsTest, ReadyKeysOfSeveralShardsAreServedInSignalOrder) {
  Client& x = NewClient();
  Client& y = NewClient();
  Client& w = NewClient();
  EXPECT_EQ(Run(x, {"blmove", "a", "d", "left", "right", "0"}), "");
  EXPECT_EQ(Run(y, {"blmove", "c", "d", "left", "right", "0"}), "");
  EXPECT_EQ(Run(w, {"multi"}), "+OK\r\n");
  EXPECT_EQ(Run(w, {"rpush", "a", "2"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(w, {"rpush", "c", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(Run(w, {"exec"}), "*2\r\n:1\r\n:1\r\n");
  EXPECT_EQ(x.pushed, "$1\r\n2\r\n");
  EXPECT_EQ(y.pushed, "$1\r\n1\r\n");
  EXPECT_EQ(Run(w, {"lrange", "d", "0", "-1"}), "*2\r\n$1\r\n2\r\n$1\r\n1\r\n");
}

// WATCH over keys of every shard: each key sits in its own shard's watch
// table (keyspace i's hooks touch table i), a change on any of those shards
// makes EXEC fail, and UNWATCH, EXEC, DISCARD and a client's detach clear
// every table.
TEST_P(ShardsTest, WatchTablesArePerShard) {
  Client& a = NewClient();
  Client& w = NewClient();
  WatchIndex& index = server_->watches();
  ASSERT_EQ(index.num_tables(), GetParam());
  auto tables_holding = [&](const std::string& key) {
    std::vector<int> out;
    for (int i = 0; i < index.num_tables(); ++i) {
      for (const std::string& k : index.table(i).KeysOf(0)) {
        if (k == key) out.push_back(i);
      }
    }
    return out;
  };
  auto all_empty = [&] {
    for (int i = 0; i < index.num_tables(); ++i) {
      if (!index.table(i).empty()) return false;
    }
    return true;
  };
  EXPECT_EQ(Run(a, {"watch", "a", "b", "c", "d"}), "+OK\r\n");
  for (const char* key : {"a", "b", "c", "d"}) {
    EXPECT_EQ(tables_holding(key),
              std::vector<int>{server_->ShardIndexForSlot(slots::KeyHashSlot(key))})
        << key;
  }
  for (const char* key : {"a", "b", "c", "d"}) {
    EXPECT_EQ(Run(a, {"watch", "a", "b", "c", "d"}), "+OK\r\n");
    EXPECT_EQ(Run(w, {"set", key, "1"}), "+OK\r\n");
    EXPECT_EQ(Run(a, {"multi"}), "+OK\r\n");
    EXPECT_EQ(Run(a, {"ping"}), "+QUEUED\r\n");
    EXPECT_EQ(Run(a, {"exec"}), "*-1\r\n") << "a change of " << key;
    EXPECT_TRUE(all_empty()) << "after EXEC, " << key;
  }
  EXPECT_EQ(Run(a, {"watch", "a", "d"}), "+OK\r\n");
  EXPECT_EQ(Run(a, {"unwatch"}), "+OK\r\n");
  EXPECT_TRUE(all_empty());
  EXPECT_EQ(Run(w, {"set", "d", "2"}), "+OK\r\n");
  EXPECT_EQ(Run(a, {"multi"}), "+OK\r\n");
  EXPECT_EQ(Run(a, {"exec"}), "*0\r\n");

  EXPECT_EQ(Run(a, {"watch", "b", "c"}), "+OK\r\n");
  EXPECT_EQ(Run(a, {"multi"}), "+OK\r\n");
  EXPECT_EQ(Run(a, {"discard"}), "+OK\r\n");
  EXPECT_TRUE(all_empty());

  Client& gone = NewClient();
  EXPECT_EQ(Run(gone, {"watch", "a", "b", "c", "d"}), "+OK\r\n");
  EXPECT_FALSE(all_empty());
  server_->DetachSession(gone.session);
  EXPECT_TRUE(all_empty());
  EXPECT_EQ(Run(w, {"flushall"}), "+OK\r\n");
}

// The global steps over the watch tables: a flush touches the watched keys
// that were live (on whichever shard), SWAPDB the watched keys that exist on
// either side.
TEST_P(ShardsTest, FlushAndSwapDbTouchEveryShardsWatchTable) {
  Client& live = NewClient();
  Client& absent = NewClient();
  Client& w = NewClient();
  EXPECT_EQ(Run(w, {"set", "a", "1"}), "+OK\r\n");
  EXPECT_EQ(Run(live, {"watch", "b", "a"}), "+OK\r\n");
  EXPECT_EQ(Run(absent, {"watch", "c", "d"}), "+OK\r\n");
  EXPECT_EQ(Run(w, {"flushdb"}), "+OK\r\n");
  for (Client* c : {&live, &absent}) EXPECT_EQ(Run(*c, {"multi"}), "+OK\r\n");
  EXPECT_EQ(Run(live, {"exec"}), "*-1\r\n");
  EXPECT_EQ(Run(absent, {"exec"}), "*0\r\n");

  EXPECT_EQ(Run(w, {"select", "1"}), "+OK\r\n");
  EXPECT_EQ(Run(w, {"set", "d", "1"}), "+OK\r\n");
  EXPECT_EQ(Run(live, {"watch", "a", "b"}), "+OK\r\n");
  EXPECT_EQ(Run(absent, {"watch", "c", "d"}), "+OK\r\n");
  EXPECT_EQ(Run(w, {"swapdb", "0", "1"}), "+OK\r\n");
  for (Client* c : {&live, &absent}) EXPECT_EQ(Run(*c, {"multi"}), "+OK\r\n");
  EXPECT_EQ(Run(live, {"exec"}), "*0\r\n");
  EXPECT_EQ(Run(absent, {"exec"}), "*-1\r\n");
  EXPECT_EQ(Run(w, {"flushall"}), "+OK\r\n");
}

TEST_P(ShardsTest, DumpAndRestoreIntoAnotherShard) {
  Client& c = NewClient();
  EXPECT_EQ(Run(c, {"rpush", "a", "x", "y"}), ":2\r\n");
  std::string dump = Run(c, {"dump", "a"});
  ASSERT_EQ(dump[0], '$');
  const size_t header = dump.find("\r\n") + 2;
  std::string payload = dump.substr(header, dump.size() - header - 2);
  EXPECT_EQ(Run(c, {"restore", "b", "0", payload}), "+OK\r\n");
  EXPECT_EQ(Run(c, {"lrange", "b", "0", "-1"}), "*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
  EXPECT_EQ(Run(c, {"restore", "b", "0", payload}), "-BUSYKEY Target key name already exists.\r\n");
}

// A full SCAN returns every key exactly once when nothing changes, whatever
// the number of shards and the COUNT.
TEST_P(ShardsTest, FullScanReturnsEveryKeyOnce) {
  Client& c = NewClient();
  std::vector<std::string> mset = {"mset"};
  for (int i = 0; i < 300; ++i) {
    mset.push_back(absl::StrCat("key:", i));
    mset.push_back("v");
  }
  EXPECT_EQ(Run(c, mset), "+OK\r\n");
  for (const char* count : {"1", "7", "1000"}) {
    std::map<std::string, int> seen;
    std::string cursor = "0";
    int calls = 0;
    do {
      const std::string reply = Run(c, {"scan", cursor, "count", count});
      // *2\r\n$<n>\r\n<cursor>\r\n*<k>\r\n then k bulks.
      ASSERT_TRUE(absl::StartsWith(reply, "*2\r\n$")) << reply;
      size_t pos = reply.find("\r\n", 4) + 2;
      const size_t end = pos + std::stoul(reply.substr(5, pos - 7));
      cursor = reply.substr(pos, end - pos);
      for (const std::string& k : SortedElements(reply.substr(end + 2))) ++seen[k];
      ASSERT_LT(++calls, 20000) << "SCAN does not end";
    } while (cursor != "0");
    EXPECT_EQ(seen.size(), 300u) << "count " << count;
    for (const auto& [k, n] : seen) EXPECT_EQ(n, 1) << k << " count " << count;
  }
  // MATCH filters after the walk, on every shard.
  std::set<std::string> matched;
  std::string cursor = "0";
  do {
    const std::string reply = Run(c, {"scan", cursor, "match", "key:1?", "count", "50"});
    size_t pos = reply.find("\r\n", 4) + 2;
    const size_t end = pos + std::stoul(reply.substr(5, pos - 7));
    cursor = reply.substr(pos, end - pos);
    for (const std::string& k : SortedElements(reply.substr(end + 2))) matched.insert(k);
  } while (cursor != "0");
  EXPECT_EQ(matched.size(), 10u);
}

TEST_P(ShardsTest, WholeKeyspaceCommandsFanOut) {
  Client& c = NewClient();
  EXPECT_EQ(Run(c, {"randomkey"}), "$-1\r\n");
  EXPECT_EQ(Run(c, {"mset", "a", "1", "b", "2", "c", "3", "d", "4"}), "+OK\r\n");
  EXPECT_EQ(Run(c, {"expire", "c", "100"}), ":1\r\n");
  EXPECT_EQ(Run(c, {"dbsize"}), ":4\r\n");
  EXPECT_EQ(SortedElements(Run(c, {"keys", "*"})), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(Run(c, {"keys", "[ab]"}).substr(0, 4), "*2\r\n");
  std::set<std::string> picked;
  for (int i = 0; i < 200; ++i) {
    const std::string r = Run(c, {"randomkey"});
    ASSERT_TRUE(absl::StartsWith(r, "$1\r\n")) << r;
    picked.insert(r.substr(4, 1));
  }
  EXPECT_EQ(picked, (std::set<std::string>{"a", "b", "c", "d"}));
  EXPECT_TRUE(absl::StrContains(Run(c, {"info", "keyspace"}), "db0:keys=4,expires=1,"));
  EXPECT_EQ(Run(c, {"get", "a"}), "$1\r\n1\r\n");
  EXPECT_EQ(Run(c, {"get", "zz"}), "$-1\r\n");
  const std::string stats = Run(c, {"info", "stats"});
  EXPECT_TRUE(absl::StrContains(stats, "keyspace_hits:1\r\n")) << stats;
  EXPECT_TRUE(absl::StrContains(stats, "keyspace_misses:1\r\n")) << stats;
  EXPECT_EQ(Run(c, {"flushdb"}), "+OK\r\n");
  EXPECT_EQ(Run(c, {"dbsize"}), ":0\r\n");
  EXPECT_EQ(Run(c, {"keys", "*"}), "*0\r\n");
}

// A command granted one shard counts on that shard's view (with shard
// threads: its thread), any other on the control loop's; INFO sums them all
// and CONFIG RESETSTAT clears them all (the save points' counter stays).
// INFO commandstats, latencystats and LATENCY HISTOGRAM: each command is
// counted on the view it ran on (a refusal on the control loop's), readers
// sum the views, and CONFIG RESETSTAT clears every view's.
TEST_P(ShardsTest, CommandStatisticsAreCountedPerShardViewAndSummed) {
  Client& c = NewClient();
  for (const char* key : {"a", "b", "c", "d"}) EXPECT_EQ(Run(c, {"SET", key, "1"}), "+OK\r\n");
  EXPECT_EQ(Run(c, {"INCR", "list"}), ":1\r\n");
  EXPECT_EQ(Run(c, {"LPUSH", "list", "x"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(Run(c, {"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  const CommandSpec* set = table_->Find("set");
  ASSERT_NE(set, nullptr);
  if (GetParam() == 4) {
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(StatsOf(server_->shard_view(i), *set).calls, 1u) << "view " << i;
    }
  }
  EXPECT_EQ(server_->TotalCommandStats(set->stats_index).calls, 4u);
  EXPECT_EQ(server_->TotalCommandStats(set->stats_index).histogram.total(), 4u);
  const std::string info = Run(c, {"INFO", "commandstats"});
  EXPECT_TRUE(absl::StrContains(info, "\r\ncmdstat_set:calls=4,")) << info;
  EXPECT_TRUE(absl::StrContains(info, "\r\ncmdstat_lpush:calls=1,")) << info;
  EXPECT_TRUE(absl::StrContains(info, ",rejected_calls=0,failed_calls=1\r\n")) << info;
  EXPECT_TRUE(absl::StrContains(info,
                                "cmdstat_get:calls=0,usec=0,usec_per_call=0.00,"
                                "rejected_calls=1,failed_calls=0\r\n"))
      << info;
  EXPECT_TRUE(absl::StrContains(Run(c, {"INFO", "latencystats"}), "latency_percentiles_usec_set:"));
  const std::string histogram = Run(c, {"LATENCY", "HISTOGRAM", "set"});
  EXPECT_TRUE(absl::StartsWith(histogram, "*2\r\n$3\r\nset\r\n*4\r\n$5\r\ncalls\r\n:4\r\n"))
      << histogram;
  EXPECT_EQ(Run(c, {"CONFIG", "RESETSTAT"}), "+OK\r\n");
  for (int i = 0; i < GetParam(); ++i) {
    EXPECT_EQ(StatsOf(server_->shard_view(i), *set).calls, 0u) << "view " << i;
  }
  EXPECT_FALSE(absl::StrContains(Run(c, {"INFO", "commandstats"}), "cmdstat_set:"));
  EXPECT_EQ(Run(c, {"LATENCY", "HISTOGRAM", "set"}), "*0\r\n");
}

// On a thread that runs with a Producer (a shard thread's), a command's unit,
// its writes and the DELs of the keys it finds expired go to that Producer:
// committed whole, delivered by the control loop's Drain. Without one (the
// control loop) they are delivered when the command ends, as before.
TEST_P(ShardsTest, ExpiredKeyDelsAndUnitsGoToTheRunningProducer) {
  RecordPropagation();
  int wakes = 0;
  server_->write_stream().set_wake([&wakes] { ++wakes; });
  Client& c = NewClient();
  auto run_at = [&](int64_t now, std::vector<std::string> args) {
    std::string out;
    resp::ReplyBuilder reply(&out, c.session.protocol);
    dispatcher_->Execute(c.session, args, reply, now);
    return out;
  };
  EXPECT_EQ(run_at(kNow, {"set", "x", "1", "px", "100"}), "+OK\r\n");
  EXPECT_EQ(run_at(kNow, {"set", "y", "1", "px", "100"}), "+OK\r\n");
  EXPECT_EQ(propagated_.size(), 2u);  // the control loop's: at once
  propagated_.clear();
  {
    WriteStream::Producer producer(server_->write_stream());
    RunningProducerScope running(&producer);
    EXPECT_EQ(run_at(kNow + 1000, {"get", "x"}), "$-1\r\n");
    EXPECT_EQ(run_at(kNow + 1000, {"incr", "y"}), ":1\r\n");
    EXPECT_TRUE(propagated_.empty());
    EXPECT_EQ(wakes, 1);  // the first commit found the queue empty
  }
  server_->write_stream().Drain();
  EXPECT_EQ(propagated_,
            (std::vector<std::string>{"0 DEL x", "0 MULTI", "0 DEL y", "0 incr y", "0 EXEC"}));
  propagated_.clear();
  EXPECT_EQ(run_at(kNow + 1000, {"set", "z", "1"}), "+OK\r\n");
  EXPECT_EQ(propagated_, (std::vector<std::string>{"0 set z 1"}));
  server_->write_stream().set_wake(nullptr);
}

TEST_P(ShardsTest, StatisticsAreCountedPerShardViewAndSummed) {
  Client& c = NewClient();
  for (const char* key : {"a", "b", "c", "d"}) EXPECT_EQ(Run(c, {"SET", key, "1"}), "+OK\r\n");
  EXPECT_EQ(Run(c, {"GET", "a"}), "$1\r\n1\r\n");
  EXPECT_EQ(Run(c, {"MSET", "a", "2", "b", "2"}), "+OK\r\n");  // two shards at threads 4
  if (GetParam() == 4) {
    // a, b, c and d live in four different shards: each view counted one.
    for (int i = 0; i < 4; ++i) {
      EXPECT_GE(server_->shard_view(i).stats().total_commands_processed, 1u) << "view " << i;
      EXPECT_GE(server_->shard_view(i).stats().dirty, 1u) << "view " << i;
    }
  }
  const std::string info = Run(c, {"INFO", "stats"});
  EXPECT_TRUE(absl::StrContains(info, "\r\ntotal_commands_processed:6\r\n")) << info;
  EXPECT_TRUE(absl::StrContains(info, "\r\nkeyspace_hits:1\r\n")) << info;
  const std::string persistence = Run(c, {"INFO", "persistence"});
  EXPECT_TRUE(absl::StrContains(persistence, "\r\nrdb_changes_since_last_save:6\r\n"))
      << persistence;
  EXPECT_EQ(Run(c, {"CONFIG", "RESETSTAT"}), "+OK\r\n");
  for (int i = 1; i < GetParam(); ++i) {
    EXPECT_EQ(server_->shard_view(i).stats().total_commands_processed, 0u) << "view " << i;
  }
  const std::string after = Run(c, {"INFO", "stats"});
  // CONFIG RESETSTAT itself is counted after it ran.
  EXPECT_TRUE(absl::StrContains(after, "\r\ntotal_commands_processed:1\r\n")) << after;
  EXPECT_TRUE(absl::StrContains(after, "\r\nkeyspace_hits:0\r\n")) << after;
  EXPECT_TRUE(
      absl::StrContains(Run(c, {"INFO", "persistence"}), "\r\nrdb_changes_since_last_save:6\r\n"));
}

}  // namespace
}  // namespace shardnode::node
