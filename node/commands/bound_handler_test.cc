// Entries whose handler carries state (CommandSpec::bound_handler): how
// node/repl registers its commands without node/commands knowing them.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/commands/command_table.h"
#include "node/commands/dispatcher.h"
#include "node/commands/dispatcher_fixture.h"
#include "node/resp/reply.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

class BoundHandlerTest : public DispatcherFixture {
 protected:
  std::string Run(std::vector<std::string> args) {
    std::string out;
    resp::ReplyBuilder reply(&out);
    dispatcher_->Execute(session_, args, reply, kNow);
    return out;
  }
  Session session_;
};

TEST_F(BoundHandlerTest, BoundHandlerRunsWithItsStateThroughTheDispatcher) {
  int calls = 0;
  std::string last;
  table_->Register({.name = "boundtest",
                    .arity = 2,
                    .flags = kCmdFast,
                    .bound_handler =
                        [&calls, &last](CommandContext& ctx, Args args) {
                          ++calls;
                          last = args[1];
                          ctx.reply.Integer(calls);
                        },
                    .group = "server",
                    .summary = "test",
                    .since = "0"});
  const CommandSpec* spec = table_->Find("boundtest");
  ASSERT_NE(spec, nullptr);
  // Register gave it the plain trampoline: the dispatcher's call is the
  // same pointer call as for every other command.
  EXPECT_EQ(spec->handler, &CallBoundHandler);
  EXPECT_EQ(Run({"BOUNDTEST", "a"}), ":1\r\n");
  EXPECT_EQ(Run({"boundtest", "b"}), ":2\r\n");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(last, "b");
  // Arity is still the table's.
  EXPECT_EQ(Run({"boundtest"}), "-ERR wrong number of arguments for 'boundtest' command\r\n");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(server_->TotalCommandStats(spec->stats_index).calls, 2u);
}

TEST_F(BoundHandlerTest, ReplicationCommandsAreNotNodeCommandsOwn) {
  // node/repl registers them (repl_commands.h); the families here do not.
  for (const char* name : {"replicaof", "slaveof", "replconf", "psync", "sync", "wait", "role"}) {
    EXPECT_EQ(table_->Find(name), nullptr) << name;
  }
}

}  // namespace
}  // namespace shardnode::node
