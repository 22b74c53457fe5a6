// libFuzzer target for the AOF's two decoders. Byte 0 picks one:
//   even: the rest is a manifest; whatever parses serializes to text that
//         parses to the same file list and serializes to the same text;
//   odd:  the rest is an AOF file's RESP part, read record by record once
//         whole and once as it grows in chunks (byte 1 picks their size);
//         both reads must give the same records and the same end.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "node/persist/aof_manifest.h"
#include "node/persist/aof_reader.h"

namespace {

using shardnode::node::persist::AofManifest;
using shardnode::node::persist::AofManifestError;
using shardnode::node::persist::AofRecordStatus;
using shardnode::node::persist::ParseAofManifest;
using shardnode::node::persist::ReadAofRecord;

void Check(bool ok) {
  if (!ok) std::abort();
}

void FuzzManifest(std::string_view in) {
  AofManifestError error;
  std::optional<AofManifest> m = ParseAofManifest(in, &error);
  if (!m) {
    Check(!error.message.empty());
    return;
  }
  const std::string text = m->Serialize();
  // Comment lines only: an empty manifest, as Redis reads it too; its
  // serialized form (no line) is the "empty manifest" error, and no save
  // writes a manifest without files.
  if (text.empty()) return;
  // A name of more than about 240 unprintable bytes, quoted with \xHH
  // escapes, makes a line longer than the reader's 1024 bytes, in Redis's
  // format as in ours; appendfilename names (at most 255 bytes with the
  // suffix, the file system's limit) stay short of it unless unprintable.
  size_t line_start = 0;
  for (size_t nl; (nl = text.find('\n', line_start)) != std::string::npos; line_start = nl + 1) {
    if (nl - line_start >= 1024) return;
  }
  AofManifestError error2;
  std::optional<AofManifest> again = ParseAofManifest(text, &error2);
  if (!again || again->Serialize() != text) {
    std::fprintf(stderr, "manifest does not load back (%s, line %d):\n%s\n", error2.message.c_str(),
                 error2.line, text.c_str());
    std::abort();
  }
}

struct Records {
  std::string text;  // each record, length-prefixed
  AofRecordStatus end = AofRecordStatus::kEnd;
};

void Append(Records* r, AofRecordStatus st, const std::vector<std::string>& args,
            std::string_view annotation) {
  r->text += std::to_string(static_cast<int>(st));
  if (st == AofRecordStatus::kAnnotation) {
    r->text += ':' + std::string(annotation);
  } else {
    for (const std::string& a : args) r->text += std::to_string(a.size()) + ':' + a;
  }
  r->text += ';';
}

// Reads `in` as a loader would, seeing the first `visible` bytes at a time
// and `step` more each time it asks for more.
Records Read(std::string_view in, size_t step) {
  Records r;
  size_t pos = 0;
  size_t visible = step == 0 ? in.size() : std::min(step, in.size());
  std::vector<std::string> args;
  for (;;) {
    const bool at_eof = visible == in.size();
    std::string_view data = in.substr(pos, visible - pos);
    size_t consumed = 0;
    std::string_view annotation;
    args.clear();
    const AofRecordStatus st = ReadAofRecord(data, at_eof, &args, &consumed, &annotation);
    if (st == AofRecordStatus::kCommand || st == AofRecordStatus::kAnnotation) {
      Check(consumed > 0 && consumed <= data.size());
      if (st == AofRecordStatus::kCommand) Check(!args.empty());
      Append(&r, st, args, annotation);
      pos += consumed;
      continue;
    }
    if (st == AofRecordStatus::kNeedMore) {
      Check(!at_eof);
      visible = std::min(in.size(), visible + step);
      continue;
    }
    if (st == AofRecordStatus::kEnd) Check(at_eof && data.empty());
    r.end = st;
    return r;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  if ((data[0] & 1) == 0) {
    FuzzManifest(in);
    return 0;
  }
  const Records whole = Read(in, 0);
  const Records chunked = Read(in, 1 + data[1] % 64);
  Check(whole.end == chunked.end);
  Check(whole.text == chunked.text);
  return 0;
}
