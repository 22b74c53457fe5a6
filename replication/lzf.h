// LZF compression in the format of liblzf, which Redis uses for compressed
// RDB strings (encoding 0xC3) and compressed quicklist nodes. The encoder is
// our own (a single-slot hash of 3-byte prefixes); any conforming decoder,
// Redis's included, reads its output.
//
// Stream format: a sequence of items.
//   ctrl < 32:   literal run; ctrl + 1 bytes follow verbatim.
//   ctrl >= 32:  back reference. len = ctrl >> 5; if len == 7 one more byte
//                is added to len. Then one byte low; the match starts
//                ((ctrl & 31) << 8 | low) + 1 bytes before the output end and
//                is len + 2 bytes long (3..264). Matches may overlap.
//
// Pure functions, thread-safe.
#ifndef SHARDNODE_REPLICATION_LZF_H_
#define SHARDNODE_REPLICATION_LZF_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace shardnode::replication {

// Compresses `in` into `*out` (replacing its contents). Returns false, with
// `*out` unspecified, when the result would be longer than `max_out` bytes
// (Redis stores a string compressed only when that saves 4 bytes or more).
bool LzfCompress(absl::string_view in, size_t max_out, std::string* out);

// Decompresses `in`, which must expand to exactly `out_len` bytes, into
// `*out`. Returns InvalidArgument ("Invalid LZF compressed string") for
// anything malformed: a reference before the start, a run past the input's
// end, output longer or shorter than `out_len`, or an `out_len` no LZF input
// of this size can produce (checked before allocating).
absl::Status LzfDecompress(absl::string_view in, size_t out_len, std::string* out);

}  // namespace shardnode::replication

#endif  // SHARDNODE_REPLICATION_LZF_H_
