// Micro-benchmarks of the RESP codec's hot paths: parsing a pipelined batch
// of small commands, and encoding the common replies.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "node/resp/parser.h"
#include "node/resp/reply.h"

namespace shardnode::resp {
namespace {

// 16 pipelined "SET key:N value" commands in RESP, as redis-benchmark -P 16
// sends them.
std::string PipelinedSets() {
  std::string batch;
  for (int i = 0; i < 16; ++i) {
    const std::string key = "key:" + std::to_string(i);
    batch +=
        "*3\r\n$3\r\nSET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n$5\r\nvalue\r\n";
  }
  return batch;
}

void BM_ParsePipelinedSets(benchmark::State& state) {
  const std::string batch = PipelinedSets();
  RequestParser parser;
  std::vector<std::string> args;
  for (auto _ : state) {
    std::string_view rest = batch;
    size_t consumed = 0;
    while (parser.Parse(rest, &consumed, &args) == ParseStatus::kCommand) {
      benchmark::DoNotOptimize(args.data());
      rest.remove_prefix(consumed);
    }
  }
  state.SetItemsProcessed(state.iterations() * 16);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
}
BENCHMARK(BM_ParsePipelinedSets);

// The same batch arriving in 7-byte reads: every command crosses reads.
void BM_ParseSetsInSmallReads(benchmark::State& state) {
  const std::string batch = PipelinedSets();
  RequestParser parser;
  std::vector<std::string> args;
  std::string buffer;
  for (auto _ : state) {
    for (size_t pos = 0; pos < batch.size(); pos += 7) {
      buffer.append(batch, pos, 7);
      size_t consumed = 0;
      ParseStatus status;
      do {
        status = parser.Parse(buffer, &consumed, &args);
        buffer.erase(0, consumed);
      } while (status == ParseStatus::kCommand);
    }
  }
  state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(BM_ParseSetsInSmallReads);

void BM_ParseInlinePing(benchmark::State& state) {
  const std::string line = "PING\r\n";
  RequestParser parser;
  std::vector<std::string> args;
  size_t consumed = 0;
  for (auto _ : state) {
    parser.Parse(line, &consumed, &args);
    benchmark::DoNotOptimize(args.data());
  }
}
BENCHMARK(BM_ParseInlinePing);

// Replies to 16 pipelined commands: OK, bulk, integer, null.
void BM_EncodeReplies(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    out.clear();
    ReplyBuilder builder(&out, static_cast<int>(state.range(0)));
    for (int i = 0; i < 4; ++i) {
      builder.Ok();
      builder.Bulk("value");
      builder.Integer(12345);
      builder.NullBulk();
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(BM_EncodeReplies)->Arg(2)->Arg(3);

void BM_EncodeArrayOfBulks(benchmark::State& state) {
  std::string out;
  const std::string member = "member:000000";
  for (auto _ : state) {
    out.clear();
    ReplyBuilder builder(&out);
    builder.ArrayHeader(100);
    for (int i = 0; i < 100; ++i) builder.Bulk(member);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_EncodeArrayOfBulks);

void BM_EncodeDouble(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    out.clear();
    ReplyBuilder builder(&out);
    builder.Double(1.1);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_EncodeDouble);

}  // namespace
}  // namespace shardnode::resp
