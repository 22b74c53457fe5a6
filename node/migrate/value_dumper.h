// ValueDumper: the DUMP payload of one keyspace value, made a slice at a
// time, so that MIGRATE of a 100 MB hash does not stall the node while it
// serializes (Redis serializes it in one go, blocking every client).
//
// Small values (strings up to kSliceStringBytes, collections up to
// kSliceElements elements) are encoded at once exactly as DUMP encodes them.
// Bigger ones go through replication::DumpBuilder in the plain forms Redis
// writes for large collections (HASH, SET, ZSET_2 highest score first, LIST,
// STRING), `budget` elements (or 16 KiB string chunks) per Step.
//
// The payload comes out as a list of chunks, one per Step (bounded by the
// budget), whose concatenation is the DUMP payload byte for byte: it is
// never gathered into one buffer, which would be copied as it grows (tens
// of milliseconds per doubling at 100 MB), and the socket writes the chunks
// with scatter/gather (RespClient::SendChunks).
//
// REQUIRES: the value does not change and outlives the dumper until the
// payload is taken: the caller keeps the key frozen (MIGRATE holds back every
// command on a key in flight). Loop: the keyspace's; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "node/keyspace/value.h"
#include "replication/rdb.h"

namespace shardnode::node::migrate {

class ValueDumper {
 public:
  static constexpr size_t kSliceElements = 1024;
  static constexpr size_t kSliceStringBytes = size_t{1} << 20;
  static constexpr size_t kStringChunk = 16 * 1024;

  ValueDumper(const Value& value, replication::RdbWriterOptions options);

  // Serializes about `budget` elements more; true once the payload is
  // complete (then TakeChunks() or TakePayload()).
  bool Step(size_t budget);
  bool done() const { return done_; }
  // The payload's chunks, in order (one for a small value). REQUIRES: done().
  std::vector<std::string> TakeChunks() { return std::move(chunks_); }
  // The payload in one buffer (small values, tests). REQUIRES: done().
  std::string TakePayload();
  // The payload's size so far (all of it once done()).
  size_t payload_size() const { return payload_size_; }
  // Whether the value is big enough to be serialized in slices.
  bool sliced() const { return sliced_; }

 private:
  // Appends a non-empty chunk to the payload.
  void AddChunk(std::string chunk);

  const Value& value_;
  replication::RdbWriterOptions options_;
  replication::DumpBuilder builder_;
  bool sliced_ = false;
  bool started_ = false;
  bool done_ = false;
  uint64_t cursor_ = 0;  // Scan cursor, rank, list index or string offset
  std::vector<std::string> chunks_;
  size_t payload_size_ = 0;
};

}  // namespace shardnode::node::migrate
