// The RDB version 10 codec (Redis 7.0's snapshot format) and the DUMP/RESTORE
// payload built on it. It owns the byte format only: values come and go as a
// generic RdbValue, independent of any keyspace; replication/ never sees
// node/.
//
// File layout: "REDIS0010"; then opcodes: 0xFA aux (two strings), 0xF5
// function library (one string), 0xFE SELECTDB <len>, 0xFB RESIZEDB <len>
// <len>, 0xFC <u64 LE ms> before a key (0xFD <u32 LE s> in old files), 0xF8
// idle <len> / 0xF9 freq <byte> before a key, or an object type byte followed
// by <key string><value>; finally 0xFF and the CRC64 (crc64.h) of everything
// before it, u64 LE (0 = not computed). Strings are <len><bytes>, or 0xC0/
// 0xC1/0xC2 + int8/16/32 LE, or 0xC3 <compressed len><len><LZF data>.
// Lengths: 00xxxxxx, 01xxxxxx xxxxxxxx (BE), 0x80 + u32 BE, 0x81 + u64 BE.
//
// Reading covers every type Redis 7.0 loads except modules (rejected with
// Unimplemented): streams (15, 19), strings, lists (1, 10 ziplist, 14
// quicklist, 18 quicklist v2 with plain and LZF-compressed nodes), sets (2,
// 11 intset), sorted sets (3 text scores, 5 binary scores, 12 ziplist, 17
// listpack) and hashes (4, 9 zipmap, 13 ziplist, 16 listpack).
// Writing produces what Redis 7.0.15 itself writes for the same data.
//
// Everything here is pure: no I/O, no clock (ctime comes in the options),
// and no expiry decisions (expire times are handed over as read). Objects
// are not thread-safe; use each from one thread.
#ifndef SHARDNODE_REPLICATION_RDB_H_
#define SHARDNODE_REPLICATION_RDB_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace shardnode::replication {

inline constexpr int kRdbVersion = 10;

enum class RdbType { kString, kList, kSet, kZSet, kHash, kStream };

// A stream as RDB_TYPE_STREAM_LISTPACKS_2 (19) stores it: its listpack
// nodes (each with its master id and master fields, entries deleted or not),
// its metadata and its consumer groups.
struct RdbStreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;
  friend bool operator==(const RdbStreamId&, const RdbStreamId&) = default;
};
struct RdbStreamEntry {
  RdbStreamId id;
  bool deleted = false;
  std::vector<std::string> fields;  // field, value, field, value...
  friend bool operator==(const RdbStreamEntry&, const RdbStreamEntry&) = default;
};
struct RdbStreamNode {
  RdbStreamId master;
  std::vector<std::string> master_fields;
  std::vector<RdbStreamEntry> entries;
  friend bool operator==(const RdbStreamNode&, const RdbStreamNode&) = default;
};
struct RdbStreamNack {
  RdbStreamId id;
  int64_t delivery_time = 0;
  uint64_t delivery_count = 0;
  friend bool operator==(const RdbStreamNack&, const RdbStreamNack&) = default;
};
struct RdbStreamConsumer {
  std::string name;
  int64_t seen_time = 0;
  std::vector<RdbStreamId> pel;
  friend bool operator==(const RdbStreamConsumer&, const RdbStreamConsumer&) = default;
};
struct RdbStreamGroup {
  std::string name;
  RdbStreamId last_id;
  int64_t entries_read = -1;  // -1: unknown
  std::vector<RdbStreamNack> pel;
  std::vector<RdbStreamConsumer> consumers;
  friend bool operator==(const RdbStreamGroup&, const RdbStreamGroup&) = default;
};
struct RdbStream {
  std::vector<RdbStreamNode> nodes;
  uint64_t length = 0;
  RdbStreamId last_id;
  RdbStreamId first_id;
  RdbStreamId max_deleted_id;
  uint64_t entries_added = 0;
  std::vector<RdbStreamGroup> groups;
  friend bool operator==(const RdbStream&, const RdbStream&) = default;
};

// One value. Only the member matching `type` is used.
struct RdbValue {
  RdbType type = RdbType::kString;
  std::string str;                                          // kString
  std::vector<std::string> elements;                        // kList (in order), kSet
  std::vector<std::pair<std::string, std::string>> fields;  // kHash
  std::vector<std::pair<std::string, double>> zset;         // kZSet: member, score
  RdbStream stream;                                         // kStream

  static RdbValue String(std::string s);
  static RdbValue List(std::vector<std::string> elements);
  static RdbValue Set(std::vector<std::string> members);
  static RdbValue Hash(std::vector<std::pair<std::string, std::string>> fields);
  static RdbValue ZSet(std::vector<std::pair<std::string, double>> members);

  friend bool operator==(const RdbValue&, const RdbValue&) = default;
};

// One key as stored in an RDB file.
struct RdbEntry {
  uint64_t db = 0;
  std::string key;
  RdbValue value;
  int64_t expire_ms = -1;  // absolute Unix time in ms; -1 = no expiry

  friend bool operator==(const RdbEntry&, const RdbEntry&) = default;
};

// Receives what an RdbReader decodes, in file order. A non-OK return stops
// the reader, which then returns that status (and keeps returning it).
class RdbHandler {
 public:
  virtual ~RdbHandler() = default;
  virtual absl::Status OnAux(absl::string_view key, absl::string_view value);
  virtual absl::Status OnFunction(absl::string_view library_code);
  virtual absl::Status OnSelectDb(uint64_t db);
  virtual absl::Status OnResizeDb(uint64_t keys, uint64_t expires);
  // A key with a non-empty value (Redis skips empty collections; so do we,
  // counting them in RdbReader::empty_keys_skipped()). Idle/frequency hints
  // are read and dropped.
  virtual absl::Status OnEntry(RdbEntry entry) = 0;
  // A key whose collection is empty, skipped (Redis logs the first ten).
  virtual void OnEmptyKey(absl::string_view key);
};

// Streaming RDB reader: feed the bytes in chunks of any size, as they come
// from a file or a socket (the `$<len>` form or the diskless `$EOF:<mark>`
// form; in the latter the caller strips the 40-byte mark, which arrives after
// kDone and shows up in Remaining()). Everything complete in the bytes fed so
// far is decoded at once; a value is handed over whole, but a partial one
// keeps its progress between calls (down to the element), so each byte is
// parsed once even when a huge value arrives in small chunks. Memory held is
// the partial value plus the current unparsed unit (one string at most).
//
// Errors are canonical codes with messages that name what and where:
// DataLoss for a corrupt or truncated file ("Wrong signature trying to load
// DB from file", "Can't handle RDB format version 11", "Unknown RDB type 21
// at offset 1234", "Wrong RDB checksum ... RDB CRC error", "Unexpected EOF reading RDB
// file", ...), Unimplemented for modules. Errors are sticky.
class RdbReader {
 public:
  enum class Progress { kNeedMore, kDone };

  RdbReader();
  ~RdbReader();
  RdbReader(const RdbReader&) = delete;
  RdbReader& operator=(const RdbReader&) = delete;

  // Appends `data` and decodes as far as it allows, calling `handler`.
  // Returns kDone once the EOF opcode and checksum have been read and
  // verified; bytes past that point are kept, undecoded, in Remaining().
  absl::StatusOr<Progress> Feed(absl::string_view data, RdbHandler& handler);

  // Declares the end of the input: OK after kDone, else the sticky error or
  // DataLoss "Unexpected EOF reading RDB file".
  absl::Status Finish() const;

  // Bytes fed after the end of the RDB (empty until kDone).
  absl::string_view Remaining() const;
  // Bytes of the RDB consumed so far (the whole file once kDone).
  uint64_t Consumed() const;
  // The format version from the header (0 until read).
  int Version() const;
  uint64_t EmptyKeysSkipped() const;

 private:
  friend absl::StatusOr<RdbValue> ParseDumpBody(absl::string_view body);
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// A whole RDB file, decoded.
struct RdbFile {
  int version = 0;
  std::vector<std::pair<std::string, std::string>> aux;
  std::vector<std::string> functions;
  std::vector<RdbEntry> entries;
};

// Decodes a complete file. Besides RdbReader's errors, bytes after the
// checksum are DataLoss ("Trailing bytes after the RDB checksum").
absl::StatusOr<RdbFile> ReadRdb(absl::string_view bytes);

struct RdbWriterOptions {
  bool compression = true;  // rdbcompression: LZF for strings over 20 bytes
  bool checksum = true;     // rdbchecksum: false writes a zero CRC
  int64_t ctime_s = 0;      // the "ctime" aux field (Unix seconds)
  int64_t used_mem = 0;     // the "used-mem" aux field
  // Written as repl-stream-db / repl-id / repl-offset when repl_id is set.
  std::string repl_id;
  int64_t repl_offset = 0;
  int repl_stream_db = 0;
  bool aof_base = false;
  // Encoding thresholds of the loading side (Redis 7.0 defaults); values
  // within them are written compact (listpack / intset). These are the
  // compiled-in defaults of 7.0.15 (redis.conf ships 128 for hashes).
  size_t hash_max_listpack_entries = 512;
  size_t hash_max_listpack_value = 64;
  size_t zset_max_listpack_entries = 128;
  size_t zset_max_listpack_value = 64;
  size_t set_max_intset_entries = 512;
  size_t list_max_listpack_bytes = 8192;  // list-max-listpack-size -2
};

// Streaming RDB writer. The constructor emits the header and the aux fields
// Redis 7.0.15 writes (redis-ver 7.0.15, redis-bits 64, ctime, used-mem,
// the repl-* fields when set, aof-base); then call, in file order, Aux /
// Function (before the first SelectDb), SelectDb, Entry..., and End once.
// Drain bytes with TakeOutput() whenever convenient (e.g. per socket write).
class RdbWriter {
 public:
  explicit RdbWriter(RdbWriterOptions options = {});

  void Aux(absl::string_view key, absl::string_view value);
  void Function(absl::string_view library_code);
  // Starts database `db`; `keys` and `expires` are the sizing hints.
  void SelectDb(uint64_t db, uint64_t keys, uint64_t expires);
  // REQUIRES: a SelectDb first; `expire_ms` is absolute Unix ms or -1.
  void Entry(absl::string_view key, const RdbValue& value, int64_t expire_ms = -1);
  // Writes the EOF opcode and the checksum. REQUIRES: called once, last.
  void End();

  // Returns the bytes produced since the previous call.
  std::string TakeOutput();
  uint64_t BytesWritten() const { return written_ + out_.size(); }

 private:
  // Folds the output not yet covered into crc_.
  void Flush();

  RdbWriterOptions options_;
  std::string out_;
  size_t crc_done_ = 0;  // bytes of out_ already folded into crc_
  uint64_t crc_ = 0;
  uint64_t written_ = 0;
};

// A whole file holding `entries` (grouped by db in ascending order, each
// group in the given order).
std::string WriteRdb(const std::vector<RdbEntry>& entries, const RdbWriterOptions& options = {});

// DUMP payload: <type byte><value><version u16 LE = 10><CRC64 u64 LE>.
std::string DumpPayload(const RdbValue& value, const RdbWriterOptions& options = {});

// Builds a DUMP payload piece by piece, for a value too big to copy into an
// RdbValue and encode in one step (MIGRATE of a big key, a slice at a time
// while the node keeps serving). It writes the plain forms Redis 7.0.15
// loads for large collections: STRING (0, never compressed, given in
// chunks), LIST (1: the loader builds its quicklist), SET (2), HASH (4) and
// ZSET_2 (5; members in any order). The count given to Begin* must match the
// elements added. Fold() folds the bytes added so far into the checksum, so
// that Finish() costs a slice's work, not the whole payload's.
//
// The payload may be taken in chunks: TakeChunk() hands over the bytes added
// since the previous chunk (the checksum keeps running over them), Finish()
// the last ones with the footer; the chunks joined are the payload, byte for
// byte. A big payload then never sits in one buffer that is copied as it
// grows.
//
// Usage: one Begin*, its elements (Fold() or TakeChunk() between slices),
// then Finish().
class DumpBuilder {
 public:
  explicit DumpBuilder(RdbWriterOptions options = {}) : options_(std::move(options)) {}

  void BeginString(uint64_t length);
  void StringChunk(std::string_view bytes);
  void BeginList(uint64_t count);
  void ListElement(std::string_view element);
  void BeginSet(uint64_t count);
  void SetMember(std::string_view member);
  void BeginHash(uint64_t count);
  void HashField(std::string_view field, std::string_view value);
  void BeginZSet(uint64_t count);
  void ZSetMember(std::string_view member, double score);

  // Folds the bytes added since the last call into the checksum.
  void Fold();
  // Folds and returns the bytes added since the previous chunk.
  std::string TakeChunk();
  // Appends the version and the CRC64 and returns the payload (what is
  // left of it after the chunks taken).
  std::string Finish();
  // Bytes not yet taken.
  size_t size() const { return out_.size(); }

 private:
  RdbWriterOptions options_;
  std::string out_;
  size_t crc_done_ = 0;
  uint64_t crc_ = 0;
};

// FUNCTION DUMP payload: per library, the FUNCTION2 opcode (245) and its
// code as an RDB string (LZF-compressed when `compress` and it saves
// space, as Redis's rdbSaveRawString); then the version (u16 LE = 10) and a
// CRC64 (u64 LE) of everything before.
std::string FunctionsPayload(const std::vector<std::string>& library_codes, bool compress = true);

// Decodes a FUNCTION RESTORE payload into the libraries' code, in order.
// Errors, as FUNCTION RESTORE words them: InvalidArgument "DUMP payload
// version or checksum are wrong"; DataLoss "can not read data type", "given
// type is not a function" (another opcode), "failed loading the given
// functions payload" (a string that does not decode, or opcode 246).
absl::StatusOr<std::vector<std::string>> ParseFunctionsPayload(absl::string_view payload);

// Decodes a DUMP/RESTORE payload. InvalidArgument "DUMP payload version or
// checksum are wrong" when shorter than 10 bytes, of a version above 10 or
// with a CRC mismatch (RESTORE answers "ERR DUMP payload version or checksum
// are wrong"); DataLoss or Unimplemented with details when the value does not
// decode, is empty or leaves bytes over (RESTORE answers "ERR Bad data
// format"). `verify_checksum` false skips the CRC check (Redis's DEBUG
// SET-SKIP-CHECKSUM-VALIDATION), not the version check.
absl::StatusOr<RdbValue> ParseDumpPayload(absl::string_view payload, bool verify_checksum = true);

// Decodes the body of a DUMP payload (<type byte><value>, without the
// version and CRC64 footer: a channel that checks its own framing, such as
// atomic slot migration's LOAD batches). DataLoss or Unimplemented as
// ParseDumpPayload's "Bad data format" cases.
absl::StatusOr<RdbValue> ParseDumpBody(absl::string_view body);

}  // namespace shardnode::replication

#endif  // SHARDNODE_REPLICATION_RDB_H_
