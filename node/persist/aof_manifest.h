// AofManifest: the list of files that make up a Redis 7.0 multi-part AOF
// (appenddirname/<appendfilename>.manifest), its text codec and the file
// names Redis 7.0.15 gives each part.
//
// The manifest holds at most one base file (a snapshot, RDB or commands),
// history files (parts a rewrite made obsolete, waiting to be deleted,
// newest first) and incr files (commands appended after the base, in
// ascending sequence). One line per file:
//     file <name> seq <n> type <b|h|i>
// with the name quoted (sdscatrepr style) when it holds blanks, quotes,
// backslashes or non-printable bytes.
//
// Parsing follows aofLoadManifestFromFile: lines read fgets-style with a
// 1024-byte limit, '#' lines skipped, every other malformed line rejected
// with Redis's message and the line it was found on (see ParseAofManifest).
//
// Pure: no I/O. Writing the manifest crash-safely is the shell's (aof.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardnode::node::persist {

enum class AofFileType : char { kBase = 'b', kHistory = 'h', kIncr = 'i' };

struct AofFileInfo {
  std::string name;
  int64_t seq = 0;
  AofFileType type = AofFileType::kIncr;
  bool operator==(const AofFileInfo&) const = default;
};

struct AofManifest {
  std::optional<AofFileInfo> base;
  std::vector<AofFileInfo> history;  // newest first
  std::vector<AofFileInfo> incr;     // ascending seq
  // The sequence of the current base, and of the last incr file (0: none);
  // the next new file of each kind takes one more.
  int64_t base_seq = 0;
  int64_t incr_seq = 0;

  bool operator==(const AofManifest&) const = default;

  // Neither a base nor an incr file: the AOF "does not exist".
  bool NoData() const { return !base.has_value() && incr.empty(); }

  // The manifest's text: the base line, then history, then incr lines,
  // each ending with "\n".
  std::string Serialize() const;

  // A rewrite's new base: the current base (if any) moves to the front of
  // the history list and a base named BaseFileName(filename, base_seq + 1,
  // rdb) takes its place. Returns the new name.
  const std::string& NewBase(std::string_view filename, bool rdb);
  // A new incr file, appended with seq incr_seq + 1. Returns its name.
  const std::string& NewIncr(std::string_view filename);
  // The last incr file, or a new one when there is none.
  const std::string& LastOrNewIncr(std::string_view filename);
  // After a successful rewrite: every incr file becomes history (put at the
  // front, the newest first in list order as Redis does), except the last
  // one when `keep_last` (the file being written while the AOF is on).
  void MarkIncrAsHistory(bool keep_last);
};

// Why a manifest was refused: Redis's message, and the 1-based line number
// and trimmed text of the offending line (line 0 and empty text when the
// error is not about one line: "Found an empty AOF manifest", a too long
// line).
struct AofManifestError {
  std::string message;
  int line = 0;
  std::string text;
};

// Parses a manifest file's whole content. Returns nullopt and fills *error
// with one of Redis 7.0.15's messages:
//   "Found an empty AOF manifest" (no line at all),
//   "The AOF manifest file contains too long line" (no '\n' within 1024
//     bytes, the last line included),
//   "Invalid AOF manifest file format" (blank line, unbalanced quotes, fewer
//     than 6 or an odd number of tokens, missing name, seq 0, missing type),
//   "File can't be a path, just a filename",
//   "Found duplicate base file information",
//   "Found a non-monotonic sequence number" (incr seqs must increase),
//   "Unknown AOF file type".
// Keys match case-insensitively; unknown key/value pairs are ignored; seq
// is read as atoll reads it.
std::optional<AofManifest> ParseAofManifest(std::string_view content, AofManifestError* error);

// Redis 7.0.15's names, from appendfilename `f`:
//   f.<seq>.base.rdb / f.<seq>.base.aof, f.<seq>.incr.aof, f.manifest,
//   temp-f.manifest, and temp-f.incr (the incr file of an AOF being
//   switched on, before its first rewrite completes).
std::string AofBaseFileName(std::string_view f, int64_t seq, bool rdb);
std::string AofIncrFileName(std::string_view f, int64_t seq);
std::string AofManifestFileName(std::string_view f);
std::string AofTempManifestFileName(std::string_view f);
std::string AofTempIncrFileName(std::string_view f);

}  // namespace shardnode::node::persist
