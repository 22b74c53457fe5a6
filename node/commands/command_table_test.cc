#include "node/commands/command_table.h"

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

void Noop(CommandContext&, Args) {}

TEST(CommandTableTest, RenameCommandMovesTheLookupNameOnly) {
  CommandTable t;
  t.Register({.name = "get", .arity = 2, .handler = Noop});
  t.Register({.name = "set", .arity = -3, .handler = Noop});
  const CommandSpec* get = t.Find("get");
  EXPECT_EQ(t.Rename("GET", "MyGet"), "");
  EXPECT_EQ(t.Find("get"), nullptr);
  EXPECT_EQ(t.Find("MYGET"), get);
  EXPECT_EQ(get->name, "get");  // INFO commandstats and COMMAND keep the original
  EXPECT_EQ(t.all().size(), 2u);
  EXPECT_EQ(t.Rename("nosuch", "x"), "No such command in rename-command");
  EXPECT_EQ(t.Rename("myget", "set"), "Target command name already exists");
}

TEST(CommandTableTest, RenameToEmptyRemovesTheCommand) {
  CommandTable t;
  t.Register({.name = "flushall", .arity = -1, .handler = Noop});
  t.Register({.name = "ping", .arity = -1, .handler = Noop});
  EXPECT_EQ(t.Rename("flushall", ""), "");
  EXPECT_EQ(t.Find("flushall"), nullptr);
  ASSERT_EQ(t.all().size(), 1u);  // COMMAND COUNT and INFO leave it out
  EXPECT_EQ(t.all()[0]->name, "ping");
}

}  // namespace
}  // namespace shardnode::node
