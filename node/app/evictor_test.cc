// The Evictor's memory left out of maxmemory (node/server/evictor.h),
// tested here because it needs a whole Server (command table included).
#include "node/server/evictor.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/commands/command_table.h"
#include "node/config/config.h"
#include "node/server/server.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

class EvictorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = Config::FromText("maxmemory 100mb\n");
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = std::move(*config);
    table_ = BuildCommandTable();
    server_ = std::make_unique<Server>(config_.get(), table_.get());
  }

  Session& Connect(uint64_t id, size_t output_bytes) {
    auto s = std::make_unique<Session>();
    s->id = id;
    s->output_buffer_allocated = output_bytes;
    server_->clients()[id] = s.get();
    sessions_.push_back(std::move(s));
    return *sessions_.back();
  }

  std::unique_ptr<Config> config_;
  std::unique_ptr<CommandTable> table_;
  std::unique_ptr<Server> server_;
  std::vector<std::unique_ptr<Session>> sessions_;
};

TEST_F(EvictorTest, OnlyReplicaOutputBuffersAreLeftOut) {
  Session& client = Connect(1, 1000);
  Session& first = Connect(2, 20000);
  Session& second = Connect(3, 300000);
  EXPECT_EQ(server_->evictor().NotCountedMemory(), 0u);

  server_->MarkReplica(first);
  server_->MarkReplica(first);  // PSYNC again on the same link
  server_->MarkReplica(second);
  EXPECT_TRUE(first.replica);
  EXPECT_EQ(server_->replica_sessions(), 2);
  EXPECT_EQ(server_->evictor().NotCountedMemory(), 320000u);

  server_->DetachSession(first);
  server_->DetachSession(first);  // idempotent
  server_->DetachSession(client);
  EXPECT_EQ(server_->replica_sessions(), 1);
  EXPECT_EQ(server_->evictor().NotCountedMemory(), 300000u);

  server_->DetachSession(second);
  EXPECT_EQ(server_->replica_sessions(), 0);
  EXPECT_EQ(server_->evictor().NotCountedMemory(), 0u);
}

}  // namespace
}  // namespace shardnode::node
