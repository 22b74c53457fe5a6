// Command-call micro-benchmarks: what calling a command's handler costs.
// Plain handlers are a function pointer; entries with state (node/repl's
// commands) hold a bound std::function that CommandTable::Register reaches
// through the plain pointer CallBoundHandler, so the dispatcher's call is
// the same pointer call for both and plain handlers cost what they did.
// BM_DispatchGet puts the call in context: one GET through the whole
// dispatcher.
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "node/commands/command_table.h"
#include "node/commands/dispatcher.h"
#include "node/config/config.h"
#include "node/resp/reply.h"
#include "node/server/server.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

// A node with the default configuration and the full command table, "k"
// set to a short string.
struct Node {
  Node() {
    config = std::move(*Config::FromText(""));
    table = BuildCommandTable();
    server = std::make_unique<Server>(config.get(), table.get());
    dispatcher = std::make_unique<Dispatcher>(*server);
    session.authenticated = true;
    std::vector<std::string> set = {"SET", "k", "value-1234"};
    std::string out;
    resp::ReplyBuilder reply(&out);
    dispatcher->Execute(session, set, reply, kNow);
  }
  std::unique_ptr<Config> config;
  std::unique_ptr<CommandTable> table;
  std::unique_ptr<Server> server;
  std::unique_ptr<Dispatcher> dispatcher;
  Session session;
};

void BM_DispatchGet(benchmark::State& state) {
  Node node;
  std::vector<std::string> args = {"GET", "k"};
  std::string out;
  resp::ReplyBuilder reply(&out);
  for (auto _ : state) {
    out.clear();
    node.dispatcher->Execute(node.session, args, reply, kNow);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_DispatchGet);

// GET's handler called through its entry (0: the plain entry, 1: an entry
// holding the same handler bound, as Register leaves it).
void BM_HandlerCall(benchmark::State& state) {
  Node node;
  const CommandSpec& get = *node.table->Find("get");
  CommandSpec bound = get;
  bound.handler = CallBoundHandler;
  bound.bound_handler = [h = get.handler](CommandContext& ctx, Args args) { h(ctx, args); };
  std::vector<std::string> args = {"GET", "k"};
  std::string out;
  resp::ReplyBuilder reply(&out);
  const CommandSpec& spec = state.range(0) == 0 ? get : bound;
  CommandContext ctx(node.server->local_shard(), *node.server, node.session, reply, spec, kNow, 0);
  const Args a(args.data(), args.size());
  for (auto _ : state) {
    out.clear();
    spec.handler(ctx, a);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_HandlerCall)->ArgName("bound")->DenseRange(0, 1);

}  // namespace
}  // namespace shardnode::node
