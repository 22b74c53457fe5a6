// libFuzzer target for the RDB reader and the DUMP payload parser. Build and
// run (from the repository root):
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
//     replication/rdb_fuzz.cc replication/rdb.cc replication/crc64.cc \
//     replication/lzf.cc replication/internal/{intset,listpack,numbers,ziplist}.cc \
//     -labsl_statusor -labsl_status -labsl_str_format_internal -labsl_strings \
//     -labsl_strings_internal -labsl_int128 -labsl_cord -labsl_cordz_info \
//     -labsl_cord_internal -labsl_raw_logging_internal -labsl_throw_delegate \
//     -o /tmp/rdb_fuzz
//   /tmp/rdb_fuzz -max_total_time=120 CORPUS_DIR tests/fixtures/rdb
//
// Checks: no crash or sanitizer report on any input; the result does not
// depend on how the input is chunked; whatever decodes re-encodes and
// decodes to the same data.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "replication/crc64.h"
#include "replication/rdb.h"

namespace {

using shardnode::replication::Crc64;
using shardnode::replication::DumpPayload;
using shardnode::replication::ParseDumpPayload;
using shardnode::replication::RdbEntry;
using shardnode::replication::RdbFile;
using shardnode::replication::RdbHandler;
using shardnode::replication::RdbReader;
using shardnode::replication::ReadRdb;
using shardnode::replication::WriteRdb;

class Collect : public RdbHandler {
 public:
  absl::Status OnEntry(RdbEntry entry) override {
    entries.push_back(std::move(entry));
    return absl::OkStatus();
  }
  std::vector<RdbEntry> entries;
};

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);

  // Whole-file read, then the same bytes in chunks whose size the first
  // byte picks; both must agree.
  absl::StatusOr<RdbFile> whole = ReadRdb(in);
  Collect chunked;
  RdbReader reader;
  size_t chunk = size > 0 ? (data[0] % 17) + 1 : 1;
  absl::Status status;
  for (size_t i = 0; i < size && status.ok(); i += chunk) {
    status = reader.Feed(in.substr(i, chunk), chunked).status();
  }
  if (status.ok()) status = reader.Finish();
  if (status.ok() && !reader.Remaining().empty()) status = absl::DataLossError("trailing");
  Check(whole.ok() == status.ok());
  if (whole.ok()) {
    Check(whole->entries == chunked.entries);
    // What decodes re-encodes to something that decodes the same.
    absl::StatusOr<RdbFile> again = ReadRdb(WriteRdb(whole->entries));
    Check(again.ok());
    Check(again->entries.size() == whole->entries.size());
  }

  // The input as a DUMP value body, with a valid footer so decoding runs.
  std::string payload(in);
  payload.append("\x0a\x00", 2);
  uint64_t crc = Crc64(0, payload);
  for (int i = 0; i < 8; ++i) payload.push_back(static_cast<char>(crc >> (8 * i)));
  absl::StatusOr<shardnode::replication::RdbValue> value = ParseDumpPayload(payload);
  if (value.ok()) {
    absl::StatusOr<shardnode::replication::RdbValue> back = ParseDumpPayload(DumpPayload(*value));
    Check(back.ok());
  }
  ParseDumpPayload(in).IgnoreError();
  return 0;
}
