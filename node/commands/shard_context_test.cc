// Handlers run on a Shard and a NodeServices, not on a Server: here both are
// built by hand (two keyspace shards, a test double for the node), and the
// table's handlers run on them through a CommandContext.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/commands/command.h"
#include "node/commands/command_table.h"
#include "node/config/config.h"
#include "node/keyspace/keyspace.h"
#include "node/resp/reply.h"
#include "node/server/blocking.h"
#include "node/server/keys_in_flight.h"
#include "node/server/monitoring.h"
#include "node/server/node_services.h"
#include "node/server/pubsub.h"
#include "node/server/session.h"
#include "node/server/shard.h"
#include "node/server/tracking.h"
#include "node/server/watch.h"
#include "slots/hash_slot.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

// Node-wide services without a server: only what the tested commands use.
class TestNode final : public NodeServices {
 public:
  TestNode(Config* config, const CommandTable* commands) : config_(config), commands_(commands) {}
  Config& config() override { return *config_; }
  const ServerOptions& options() const override { return config_->options(); }
  const CommandTable& commands() const override { return *commands_; }
  bool cluster_enabled() const override { return false; }
  clusterbus::ClusterState* cluster() override { return nullptr; }
  void ApplyClusterEffects(int64_t) override {}
  void RefreshClusterOptions() override {}
  std::map<uint64_t, Session*>& clients() override { return clients_; }
  bool UnblockClient(uint64_t, bool) override { return false; }
  PubSub& pubsub() override { return pubsub_; }
  Tracking& tracking() override { return tracking_; }
  Monitoring& monitoring() override { return monitoring_; }
  // The one shard view's statistics (set by the fixture).
  Stats TotalStats() const override { return *shard_stats; }
  void ResetStats() override {
    shard_stats->Reset();
    if (shard != nullptr) shard->ResetCommandStats();
  }
  CommandStats TotalCommandStats(int index) const override {
    const CommandStats* st = shard != nullptr ? shard->FindCommandStats(index) : nullptr;
    return st != nullptr ? *st : CommandStats();
  }
  Shard* shard = nullptr;
  void SetDirty(uint64_t dirty) override { shard_stats->dirty = dirty; }
  Stats* shard_stats = nullptr;
  const std::string& run_id() const override { return run_id_; }
  int64_t start_ms() const override { return 1'000'000; }
  void PauseClients(PausePurpose, int64_t, bool) override {}
  void UnpauseClients(PausePurpose) override {}
  int64_t last_save_ms() const override { return last_save_ms_; }
  void set_last_save_ms(int64_t ms) { last_save_ms_ = ms; }
  void set_active_expire_enabled(bool) override {}
  const LoadingState& loading() const override { return loading_; }
  persist::Persistence* persistence() override { return nullptr; }
  ReplicationControl* replication() override { return nullptr; }
  ClusterBus* cluster_bus() override { return nullptr; }
  int tcp_port() const override { return 0; }
  const std::string& executable() const override { return empty_; }
  const std::string& config_file() const override { return empty_; }
  ShutdownOutcome RequestShutdown(int, int64_t) override { return ShutdownOutcome::kFailed; }
  bool SaveClusterConfig(bool, std::string*) override { return false; }
  void ClusterPublish(std::string_view, std::string_view, bool) override {}
  void Sleep(int64_t) override {}
  bool Migrate(CommandContext&, std::span<std::string>) override { return false; }
  const std::string& busy_script_error() const override { return busy_; }
  std::string ScriptMemoryInfo() override { return {}; }
  bool CanRunOffLoop() const override { return false; }
  void RunOffLoop(CommandContext&, std::string_view, std::function<void()>,
                  std::function<void(CommandContext&)>) override {}

 private:
  std::string busy_;
  int64_t last_save_ms_ = 0;
  LoadingState loading_;
  std::string empty_;
  Config* config_;
  const CommandTable* commands_;
  std::map<uint64_t, Session*> clients_;
  PubSub pubsub_;
  Tracking tracking_{&clients_};
  Monitoring monitoring_;
  std::string run_id_ = std::string(40, 'a');
};

class ShardContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = Config::FromText("");
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = std::move(*config);
    table_ = BuildCommandTable();
    for (int i = 0; i < 2; ++i) {
      keyspaces_.push_back(std::make_unique<Keyspace>(16, SlotShare{i, 2}));
    }
    shard_ = std::make_unique<Shard>(&keyspaces_, &watches_, &blocking_, &stats_, &in_flight_);
    node_ = std::make_unique<TestNode>(config_.get(), table_.get());
    node_->shard_stats = &stats_;
    node_->shard = shard_.get();
  }

  // Runs one command's handler on the shard and the test node.
  std::string Run(std::vector<std::string> args) {
    const CommandSpec* spec = table_->Find(args[0]);
    EXPECT_NE(spec, nullptr) << args[0];
    std::string out;
    resp::ReplyBuilder reply(&out);
    CommandContext ctx(*shard_, *node_, session_, reply, *spec, kNow, 0);
    spec->handler(ctx, Args(args.data(), args.size()));
    return out;
  }

  // The keyspace shard that owns `key` (two shards: by slot parity).
  Keyspace& Owner(const std::string& key) { return *keyspaces_[slots::KeyHashSlot(key) % 2]; }
  Keyspace& Other(const std::string& key) { return *keyspaces_[1 - slots::KeyHashSlot(key) % 2]; }

  std::unique_ptr<Config> config_;
  std::unique_ptr<CommandTable> table_;
  std::vector<std::unique_ptr<Keyspace>> keyspaces_;
  WatchIndex watches_{2};
  BlockingTable blocking_{2};
  Stats stats_;
  KeysInFlight in_flight_;
  std::unique_ptr<Shard> shard_;
  std::unique_ptr<TestNode> node_;
  Session session_;
};

TEST_F(ShardContextTest, KeysLiveInTheirOwnKeyspaceShard) {
  // Two keys whose slots fall in different shards.
  const std::string a = "a", b = "b";
  ASSERT_NE(slots::KeyHashSlot(a) % 2, slots::KeyHashSlot(b) % 2);
  EXPECT_EQ(Run({"sadd", a, "x"}), ":1\r\n");
  EXPECT_EQ(Run({"sadd", b, "y"}), ":1\r\n");
  EXPECT_EQ(Run({"smove", a, b, "x"}), ":1\r\n");
  EXPECT_EQ(Owner(b).db(0).Size(), 1u);
  EXPECT_EQ(Other(b).db(0).Size(), 0u);
  EXPECT_EQ(Run({"scard", b}), ":2\r\n");
  EXPECT_EQ(Run({"dbsize"}), ":1\r\n");
  // The writes were counted in the shard's statistics.
  EXPECT_EQ(stats_.dirty, 4u);
}

TEST_F(ShardContextTest, NodeWideStateComesFromNodeServices) {
  EXPECT_EQ(Run({"lastsave"}), ":1000\r\n");
  node_->set_last_save_ms(5'000'000);
  EXPECT_EQ(Run({"lastsave"}), ":5000\r\n");
}

}  // namespace
}  // namespace shardnode::node
