// AOF record reader: one command of an AOF file's RESP part, read the way
// Redis 7.0.15's loadSingleAppendOnlyFile reads it (line reads of at most
// 1023 bytes, as fgets with its 1024-byte buffer does).
//
//   "#..." line             an annotation (#TS:<unix seconds> and others);
//                           skipped by the loader
//   "*<argc>" line, then argc times "$<len>" line, <len> bytes and two
//   more bytes (not checked, as Redis does not)
//
// Anything else at the start of a record, argc < 1, or an argument header
// not starting with '$' is a format error. Running out of bytes inside a
// record is "need more" while more may come, and a truncated record once
// the caller says the file ended.
//
// Pure: the caller owns the bytes and feeds them again from the record's
// start when more arrived.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace shardnode::node::persist {

enum class AofRecordStatus {
  kCommand,     // *args holds the command; *consumed its bytes
  kAnnotation,  // a '#' line; *consumed its bytes (annotation: without "\n")
  kNeedMore,    // the record is incomplete and more bytes may come
  kTruncated,   // the record is incomplete and the file ended (at_eof)
  kEnd,         // no bytes left and at_eof
  kFormatError,
};

// Reads the record at the start of `data`. `at_eof`: `data` runs to the end
// of the file. On kCommand/kAnnotation `*consumed` is the record's length.
// On kAnnotation, `*annotation` views the line without its '\n'.
AofRecordStatus ReadAofRecord(std::string_view data, bool at_eof, std::vector<std::string>* args,
                              size_t* consumed, std::string_view* annotation = nullptr);

// "#TS:<seconds>\r\n", the annotation aof-timestamp-enabled writes.
std::string AofTimestampAnnotation(int64_t unix_seconds);

}  // namespace shardnode::node::persist
