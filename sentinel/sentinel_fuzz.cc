// libFuzzer target for the sentinel's untrusted text: byte 0 picks
//   even: sentinel.conf `sentinel ...` lines, applied in Redis's three
//         passes; when all apply, the rewrite's lines must apply again to a
//         fresh sentinel and rewrite to the same lines;
//   odd:  a hello payload received on a monitored master's hello channel
//         and by PUBLISH (any bytes, and the same bytes with the master
//         name replaced by the monitored one so that decoding goes deep);
//         DecodeHello of any bytes that decode must round-trip through
//         EncodeHello.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/split_args.h"
#include "sentinel/sentinel.h"

namespace {

using shardnode::sentinel::DecodeHello;
using shardnode::sentinel::EncodeHello;
using shardnode::sentinel::Hello;
using shardnode::sentinel::Sentinel;

void Check(bool ok) {
  if (!ok) std::abort();
}

const std::string kMyId(40, 'a');

std::vector<std::string> Rewrite(const Sentinel& s) {
  std::vector<std::string> out;
  for (const auto& l : s.RewriteLines()) out.push_back(l.line);
  return out;
}

void FuzzConfig(std::string_view in) {
  std::vector<std::vector<std::string>> lines;
  while (!in.empty()) {
    const size_t nl = in.find('\n');
    auto args = shardnode::base::SplitArgs(in.substr(0, nl));
    if (args && !args->empty()) lines.push_back(std::move(*args));
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  if (lines.size() > 64) return;
  Sentinel s(kMyId, 26379, 1, 0);
  if (!s.ApplyConfig(lines, 0).empty()) return;
  const std::vector<std::string> rewritten = Rewrite(s);
  std::vector<std::vector<std::string>> again_lines;
  for (const std::string& line : rewritten) {
    auto args = shardnode::base::SplitArgs(line);
    Check(args.has_value() && args->size() >= 2);
    args->erase(args->begin());  // "sentinel"
    again_lines.push_back(std::move(*args));
  }
  Sentinel again(kMyId, 26379, 1, 0);
  const std::string err = again.ApplyConfig(again_lines, 0);
  const std::vector<std::string> twice = Rewrite(again);
  if (!err.empty() || twice != rewritten) {
    std::fprintf(stderr, "rewrite does not load back: %s\n", err.c_str());
    for (const std::string& l : rewritten) std::fprintf(stderr, "  first:  %s\n", l.c_str());
    for (const std::string& l : twice) std::fprintf(stderr, "  second: %s\n", l.c_str());
    std::abort();
  }
}

void FuzzHello(std::string_view in) {
  const std::string payload(in);
  if (std::optional<Hello> h = DecodeHello(payload)) {
    std::optional<Hello> back = DecodeHello(EncodeHello(*h));
    Check(back.has_value());
    Check(EncodeHello(*back) == EncodeHello(*h));
  }
  Sentinel s(std::string(40, 'b'), 26379, 1, 0);
  Check(s.ApplyConfigLine({"monitor", "mymaster", "127.0.0.1", "6379", "2"}, 0).empty());
  const auto* master = s.FindMaster("mymaster");
  Check(master != nullptr);
  const uint64_t id = master->id;
  s.OnPubsubMessage(id, "__sentinel__:hello", payload, 1000);
  // The same fields with the monitored master's name (field 5).
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    const size_t comma = payload.find(',', start);
    fields.push_back(payload.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (fields.size() == 8) {
    fields[4] = "mymaster";
    std::string named;
    for (size_t i = 0; i < fields.size(); ++i) named += (i ? "," : "") + fields[i];
    s.OnPubsubMessage(id, "__sentinel__:hello", named, 2000);
  }
  // A hello may also come as a client's PUBLISH to the sentinel itself.
  s.Command({"PUBLISH", "__sentinel__:hello", payload}, 2500);
  s.Tick(3000);
  s.TakeReady();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    FuzzHello(in);
  } else {
    FuzzConfig(in);
  }
  return 0;
}
