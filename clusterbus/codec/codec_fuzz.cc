// libFuzzer target for the cluster bus codec: decodes arbitrary bytes as a
// stream, and checks that every accepted message re-encodes to bytes that
// decode to the same message and encode to the same bytes again.
//
// Build (not wired into CMake):
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -I/work/main \
//     clusterbus/codec/codec_fuzz.cc clusterbus/codec/codec.cc \
//     clusterbus/codec/message.cc slots/slot_set.cc slots/hash_slot.cc \
//     -labsl_strings -o codec_fuzz
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "clusterbus/codec/codec.h"

namespace {

using shardnode::clusterbus::Decode;
using shardnode::clusterbus::DecodeStatus;
using shardnode::clusterbus::Encode;
using shardnode::clusterbus::Message;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  // A small limit so that the fuzzer explores the over-limit path too.
  const size_t limit = (size % 2) ? 1 << 20 : 8192;
  while (!rest.empty()) {
    size_t consumed = 0;
    Message m;
    std::string why;
    DecodeStatus st = Decode(rest, &consumed, &m, &why, limit);
    if (st == DecodeStatus::kNeedMore || st == DecodeStatus::kBadFrame) {
      Check(consumed == 0);
      break;
    }
    Check(consumed >= 2256 && consumed <= rest.size());
    if (st == DecodeStatus::kMessage) {
      Check(m.header.totlen == consumed);
      std::string again = Encode(m);
      Message m2;
      size_t consumed2 = 0;
      Check(Decode(again, &consumed2, &m2, nullptr, again.size()) == DecodeStatus::kMessage);
      Check(consumed2 == again.size());
      m.header.totlen = m2.header.totlen;
      Check(m2 == m);
      Check(Encode(m2) == again);
    }
    rest.remove_prefix(consumed);
  }
  return 0;
}
