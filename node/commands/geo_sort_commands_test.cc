// Handler tests for the geo family, SORT, COPY, LCS and SWAPDB: commands
// run through the real Dispatcher against an in-process Server with four
// shards (so that SORT's BY/GET keys, COPY ... DB and SWAPDB cross shards).
// The reply vectors were recorded from redis-server 7.0.15.
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "node/commands/dispatcher.h"
#include "node/commands/dispatcher_fixture.h"
#include "node/resp/reply.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

class GeoSortCommandsTest : public DispatcherFixture {
 protected:
  std::string ConfigText() const override { return "threads 4"; }

  std::string Run(std::vector<std::string> args) { return RunAs(session_, std::move(args)); }
  std::string RunAs(Session& s, std::vector<std::string> args) {
    std::string out;
    resp::ReplyBuilder reply(&out, s.protocol);
    dispatcher_->Execute(s, args, reply, kNow);
    return out;
  }

  Session session_;
};

struct Vector {
  std::vector<std::string> args;
  std::string_view reply;
};

TEST_F(GeoSortCommandsTest, RepliesMatchRedis) {
  const std::vector<Vector> vectors = {
      {{"GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669",
        "Catania"},
       ":2\r\n"},
      {{"GEOADD", "Sicily", "200", "10", "x"},
       "-ERR invalid longitude,latitude pair 200.000000,10.000000\r\n"},
      {{"GEOADD", "Sicily", "NX", "XX", "1", "1", "x"}, "-ERR syntax error\r\n"},
      {{"GEOPOS", "Sicily", "Palermo", "nope"},
       "*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n"},
      {{"GEOHASH", "Sicily", "Palermo", "nope"}, "*2\r\n$11\r\nsqc8b49rny0\r\n$-1\r\n"},
      {{"GEODIST", "Sicily", "Palermo", "Catania", "km"}, "$8\r\n166.2742\r\n"},
      {{"GEODIST", "Sicily", "Palermo", "Catania", "parsec"},
       "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC",
        "WITHCOORD", "WITHDIST", "WITHHASH"},
       "*2\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n$20\r\n15."
       "08726745843887329\r\n$20\r\n37.50266842333162032\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190."
       "4424\r\n:3479099956230698\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38."
       "11555639549629859\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "DESC",
        "COUNT", "1"},
       "*1\r\n$7\r\nPalermo\r\n"},
      {{"GEOSEARCH", "Sicily", "BYRADIUS", "200", "km"},
       "-ERR wrong number of arguments for 'geosearch' command\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMMEMBER", "nope", "BYRADIUS", "200", "km"},
       "-ERR could not decode requested zset member\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "STORE", "x"},
       "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD "
       "options\r\n"},
      {{"GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "x"}, "-ERR syntax error\r\n"},
      {{"GEORADIUSBYMEMBER", "Sicily", "Palermo", "100", "km"}, "*1\r\n$7\r\nPalermo\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "COUNT", "0"},
       "-ERR COUNT must be > 0\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ANY"},
       "-ERR the ANY argument requires COUNT argument\r\n"},
      {{"GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km",
        "STOREDIST"},
       ":2\r\n"},
      {{"ZRANGE", "dst", "0", "-1", "WITHSCORES"},
       "*4\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n$7\r\nPalermo\r\n$18\r\n190."
       "44242984775784\r\n"},
      {{"RPUSH", "l", "3", "1", "2", "10"}, ":4\r\n"},
      {{"SORT", "l"}, "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"},
      {{"SORT", "l", "DESC", "LIMIT", "1", "2"}, "*2\r\n$1\r\n3\r\n$1\r\n2\r\n"},
      {{"SORT", "l", "ALPHA"}, "*4\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n"},
      {{"RPUSH", "bad", "1", "x"}, ":2\r\n"},
      {{"SORT", "bad"}, "-ERR One or more scores can't be converted into double\r\n"},
      {{"SET", "w_1", "30"}, "+OK\r\n"},
      {{"SET", "w_2", "20"}, "+OK\r\n"},
      {{"SET", "w_3", "10"}, "+OK\r\n"},
      {{"SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*"},
       "*8\r\n$2\r\n10\r\n$-1\r\n$1\r\n3\r\n$2\r\n10\r\n$1\r\n2\r\n$2\r\n20\r\n$1\r\n1\r\n$"
       "2\r\n30\r\n"},
      {{"SORT", "l", "BY", "nosort", "STORE", "out"}, ":4\r\n"},
      {{"LRANGE", "out", "0", "-1"}, "*4\r\n$1\r\n3\r\n$1\r\n1\r\n$1\r\n2\r\n$2\r\n10\r\n"},
      {{"SET", "a", "ohmytext"}, "+OK\r\n"},
      {{"SET", "b", "mynewtext"}, "+OK\r\n"},
      {{"LCS", "a", "b"}, "$6\r\nmytext\r\n"},
      {{"LCS", "a", "b", "LEN"}, ":6\r\n"},
      {{"LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"},
       "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:"
       "6\r\n"},
      {{"LCS", "a", "b", "IDX", "LEN"},
       "-ERR If you want both the length and indexes, please just use IDX.\r\n"},
      {{"LCS", "a", "l"}, "-ERR The specified keys must contain string values\r\n"},
      {{"COPY", "a", "c"}, ":1\r\n"},
      {{"COPY", "a", "c"}, ":0\r\n"},
      {{"COPY", "a", "a"}, "-ERR source and destination objects are the same\r\n"},
      {{"COPY", "a", "c", "DB", "1", "REPLACE"}, ":1\r\n"},
      {{"SWAPDB", "0", "x"}, "-ERR invalid second DB index\r\n"},
      {{"SWAPDB", "0", "99"}, "-ERR DB index is out of range\r\n"},
  };
  for (const Vector& v : vectors) {
    std::string cmd;
    for (const auto& a : v.args) cmd += a + " ";
    EXPECT_EQ(Run(v.args), v.reply) << cmd;
  }
}

TEST_F(GeoSortCommandsTest, GeoAddPropagatesAsZadd) {
  RecordPropagation();
  Run({"GEOADD", "g", "CH", "13.361389", "38.115556", "Palermo"});
  Run({"GEOADD", "g", "NX", "13.361389", "38.115556", "Palermo"});  // no change
  ASSERT_EQ(propagated_.size(), 1u);
  EXPECT_EQ(propagated_[0], "0 zadd g CH 3479099956230698 Palermo");
}

TEST_F(GeoSortCommandsTest, CopyKeepsTtlAndEncodingAcrossDbs) {
  Run({"ZADD", "z", "1", "a", "2", "b"});
  Run({"PEXPIRE", "z", "100000"});
  EXPECT_EQ(Run({"COPY", "z", "z2", "DB", "3"}), ":1\r\n");
  Run({"SELECT", "3"});
  EXPECT_EQ(Run({"OBJECT", "ENCODING", "z2"}), "$8\r\nlistpack\r\n");
  EXPECT_EQ(Run({"PTTL", "z2"}), ":100000\r\n");
  EXPECT_EQ(Run({"ZADD", "z2", "5", "c"}), ":1\r\n");
  Run({"SELECT", "0"});
  EXPECT_EQ(Run({"ZCARD", "z"}), ":2\r\n");
}

TEST_F(GeoSortCommandsTest, SwapDbSwapsEveryShardAndDirtiesWatches) {
  for (int i = 0; i < 20; ++i) Run({"SET", "k" + std::to_string(i), "v0"});
  Run({"SELECT", "1"});
  Run({"SET", "k3", "v1"});
  Run({"SELECT", "0"});
  Session watcher;
  RunAs(watcher, {"WATCH", "k3"});
  EXPECT_EQ(Run({"SWAPDB", "0", "1"}), "+OK\r\n");
  EXPECT_EQ(Run({"DBSIZE"}), ":1\r\n");
  EXPECT_EQ(Run({"GET", "k3"}), "$2\r\nv1\r\n");
  Run({"SELECT", "1"});
  EXPECT_EQ(Run({"DBSIZE"}), ":20\r\n");
  RunAs(watcher, {"MULTI"});
  RunAs(watcher, {"PING"});
  EXPECT_EQ(RunAs(watcher, {"EXEC"}), "*-1\r\n");
}

}  // namespace
}  // namespace shardnode::node
