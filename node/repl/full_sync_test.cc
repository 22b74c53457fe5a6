#include "node/repl/full_sync.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/config/config.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/persist/dataset.h"
#include "node/persist/digest.h"
#include "node/persist/persistence.h"
#include "node/server/server.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

// A node with `keys` keys, a Persistence for copy-on-write, fake replica
// connections (their pushes collected in `out`) and the hooks' calls.
struct Fixture {
  explicit Fixture(const std::string& conf, int keys = 3000) {
    auto c = Config::FromText(conf);
    EXPECT_TRUE(c.ok()) << c.status();
    config = std::move(*c);
    server = std::make_unique<Server>(config.get(), nullptr);
    persistence = std::make_unique<persist::Persistence>(
        *server, [this](int64_t, std::function<void()> fn) { boost::asio::post(io, fn); });
    for (int i = 0; i < keys; ++i) {
      db().Set(absl::StrCat("key:", i), Value::FromString(std::string(50, 'a' + i % 26)), kNow);
    }
    FullSyncs::Hooks hooks;
    hooks.begin = [this](uint64_t id, uint64_t attach_to) {
      events.push_back(absl::StrCat("begin ", id, " ", attach_to));
    };
    hooks.delivered = [this](uint64_t id, bool socket) {
      events.push_back(absl::StrCat("delivered ", id, socket ? " socket" : " disk"));
    };
    hooks.drop = [this](uint64_t id) { events.push_back(absl::StrCat("drop ", id)); };
    hooks.name = [](uint64_t id) { return absl::StrCat("replica ", id); };
    syncs = std::make_unique<FullSyncs>(io, *server, std::move(hooks));
  }
  ~Fixture() {
    syncs.reset();
    for (auto& s : sessions) server->clients().erase(s->id);
  }

  Db& db() { return server->shard(0).db(0); }

  Session& Connect(uint64_t id) {
    auto s = std::make_unique<Session>();
    s->id = id;
    s->push = [this, id](std::string_view bytes) { out[id].append(bytes); };
    server->clients()[id] = s.get();
    sessions.push_back(std::move(s));
    return *sessions.back();
  }

  boost::asio::io_context io;
  std::unique_ptr<Config> config;
  std::unique_ptr<Server> server;
  std::unique_ptr<persist::Persistence> persistence;
  std::unique_ptr<FullSyncs> syncs;
  std::vector<std::unique_ptr<Session>> sessions;
  std::map<uint64_t, std::string> out;
  std::vector<std::string> events;
};

// The digest of the dataset an RDB payload holds.
std::string DigestOf(std::string_view rdb) {
  auto c = Config::FromText("");
  Server s(c->get(), nullptr);
  const absl::Status st = persist::LoadDataset(s, rdb, kNow, {.skip_expired = false});
  EXPECT_TRUE(st.ok()) << st;
  return persist::DatasetDigest(s);
}

// Splits "$EOF:<mark>\r\n<rdb><mark>" (socket) or "$<len>\r\n<rdb>" (disk).
std::string Payload(const std::string& bytes) {
  if (bytes.rfind("$EOF:", 0) == 0) {
    const std::string mark = bytes.substr(5, 40);
    EXPECT_EQ(bytes.substr(45, 2), "\r\n");
    EXPECT_EQ(bytes.substr(bytes.size() - 40), mark);
    return bytes.substr(47, bytes.size() - 47 - 40);
  }
  const size_t crlf = bytes.find("\r\n");
  size_t len = 0;
  EXPECT_TRUE(absl::SimpleAtoi(bytes.substr(1, crlf - 1), &len)) << bytes.substr(0, 20);
  EXPECT_EQ(bytes.size(), crlf + 2 + len);
  return bytes.substr(crlf + 2);
}

TEST(FullSyncsTest, SocketTargetStreamsTheImageBetweenEofMarks) {
  Fixture f("repl-diskless-sync-delay 0");
  const std::string digest = persist::DatasetDigest(*f.server);
  f.Connect(7);
  f.syncs->Request(7, /*capa_eof=*/true, kNow);
  EXPECT_EQ(f.events, (std::vector<std::string>{"begin 7 0"}));
  EXPECT_NE(f.server->before_write, nullptr);  // tracked for copy-on-write
  f.io.run();
  EXPECT_EQ(f.events.back(), "delivered 7 socket");
  EXPECT_EQ(DigestOf(Payload(f.out[7])), digest);
  EXPECT_EQ(f.server->before_write, nullptr);  // untracked once done
  EXPECT_EQ(f.syncs->StateOf(7), nullptr);
}

TEST(FullSyncsTest, DiskTargetSendsALengthPrefixedFileAndLeavesNoFile) {
  Fixture f("repl-diskless-sync no");
  const std::string digest = persist::DatasetDigest(*f.server);
  f.Connect(7);
  f.syncs->Request(7, /*capa_eof=*/true, kNow);
  f.io.run();
  EXPECT_EQ(f.events, (std::vector<std::string>{"begin 7 0", "delivered 7 disk"}));
  EXPECT_EQ(DigestOf(Payload(f.out[7])), digest);
  for (const auto& e : std::filesystem::directory_iterator(".")) {
    EXPECT_EQ(e.path().filename().string().rfind("temp-sync-", 0), std::string::npos);
  }
}

TEST(FullSyncsTest, ImageIsTheDatasetOfItsBeginning) {
  Fixture f("repl-diskless-sync-delay 0", 20000);
  const std::string digest = persist::DatasetDigest(*f.server);
  f.Connect(7);
  f.syncs->Request(7, true, kNow);
  // Writes between slices, through the hook as the dispatcher runs them.
  int i = 0;
  while (f.io.run_one() > 0) {
    for (int j = 0; j < 50; ++j, ++i) {
      const std::string key = absl::StrCat("key:", (i * 7919) % 20000);
      if (f.server->before_write) f.server->before_write(0, {key});
      f.db().Set(key, Value::FromString("changed"), kNow);
    }
  }
  EXPECT_GT(i, 100);
  EXPECT_EQ(DigestOf(Payload(f.out[7])), digest);
  EXPECT_NE(persist::DatasetDigest(*f.server), digest);
}

TEST(FullSyncsTest, SlowReplicaHoldsTheWalkBack) {
  Fixture f("repl-diskless-sync-delay 0", 20000);
  Session& s = f.Connect(7);
  f.syncs->Request(7, true, kNow);
  s.output_buffer_bytes = 4 << 20;  // the socket is full
  f.io.run();
  EXPECT_EQ(f.out[7].size(), 47u);  // "$EOF:<mark>\r\n" and nothing more
  EXPECT_STREQ(f.syncs->StateOf(7), "wait_bgsave");
  ASSERT_NE(s.on_output_drained, nullptr);
  s.output_buffer_bytes = 0;  // written out
  s.on_output_drained();
  f.io.restart();
  f.io.run();
  EXPECT_EQ(f.events.back(), "delivered 7 socket");
  EXPECT_EQ(s.on_output_drained, nullptr);
}

TEST(FullSyncsTest, ReplicaJoinsADiskImageInTheMaking) {
  Fixture f("repl-diskless-sync no");
  f.Connect(7);
  f.Connect(8);
  f.syncs->Request(7, false, kNow);
  f.syncs->Request(8, false, kNow);  // before the first slice ran
  EXPECT_EQ(f.events, (std::vector<std::string>{"begin 7 0", "begin 8 7"}));
  f.io.run();
  EXPECT_EQ(f.out[7], f.out[8]);
  EXPECT_EQ(f.events.size(), 4u);
}

TEST(FullSyncsTest, ReplicaAskingDuringASocketImageWaitsForTheNext) {
  Fixture f("repl-diskless-sync-delay 0");
  f.Connect(7);
  f.Connect(8);
  f.syncs->Request(7, true, kNow);
  f.syncs->Request(8, true, kNow);
  EXPECT_EQ(f.events, (std::vector<std::string>{"begin 7 0"}));
  EXPECT_STREQ(f.syncs->StateOf(8), "wait_bgsave");
  f.io.run();  // the end of the first image starts the next
  EXPECT_EQ(f.events, (std::vector<std::string>{"begin 7 0", "delivered 7 socket", "begin 8 0",
                                                "delivered 8 socket"}));
  EXPECT_NE(f.out[7].substr(5, 40), f.out[8].substr(5, 40));  // two images, two marks
}

TEST(FullSyncsTest, DisklessDelayGathersReplicasIntoOneImage) {
  Fixture f("repl-diskless-sync-delay 5");
  f.Connect(7);
  f.Connect(8);
  f.syncs->Request(7, true, kNow);
  f.syncs->Request(8, true, kNow + 1000);
  f.syncs->Tick(kNow + 4999);
  EXPECT_TRUE(f.events.empty());
  f.syncs->Cron(kNow + 4999);  // waiting replicas get a keepalive newline
  EXPECT_EQ(f.out[7], "\n");
  EXPECT_EQ(f.out[8], "\n");
  f.syncs->Tick(kNow + 5000);
  EXPECT_EQ(f.events, (std::vector<std::string>{"begin 7 0", "begin 8 0"}));
  f.io.run();
  EXPECT_EQ(f.out[7], f.out[8]);  // one image, one mark
}

TEST(FullSyncsTest, MaxReplicasStartsTheImageBeforeTheDelay) {
  Fixture f("repl-diskless-sync-delay 60\nrepl-diskless-sync-max-replicas 2");
  f.Connect(7);
  f.Connect(8);
  f.syncs->Request(7, true, kNow);
  f.syncs->Tick(kNow + 1);
  EXPECT_TRUE(f.events.empty());
  f.syncs->Request(8, true, kNow);
  f.syncs->Tick(kNow + 2);
  EXPECT_EQ(f.events.size(), 2u);
}

TEST(FullSyncsTest, ImageWithoutReplicasStops) {
  Fixture f("repl-diskless-sync-delay 0", 20000);
  f.Connect(7);
  f.syncs->Request(7, true, kNow);
  ASSERT_TRUE(f.io.run_one());
  f.syncs->Remove(7);
  EXPECT_EQ(f.server->before_write, nullptr);
  f.io.run();
  EXPECT_EQ(f.events, (std::vector<std::string>{"begin 7 0"}));
}

TEST(FullSyncsTest, SocketReplicaThatStopsReadingIsDroppedAfterReplTimeout) {
  Fixture f("repl-diskless-sync-delay 0\nrepl-timeout 5", 20000);
  Session& s = f.Connect(7);
  f.syncs->Request(7, true, kNow);
  s.output_buffer_bytes = 4 << 20;
  f.io.run();
  f.syncs->Cron(kNow + 5000);
  EXPECT_EQ(f.events, (std::vector<std::string>{"begin 7 0"}));
  f.syncs->Cron(kNow + 5001);
  EXPECT_EQ(f.events, (std::vector<std::string>{"begin 7 0", "drop 7"}));
}

}  // namespace
}  // namespace shardnode::node
