// Listpack: the compact element sequence Redis 7.0 keeps small hashes, sorted
// sets and list nodes in, and stores verbatim inside RDB strings (types 16,
// 17 and the nodes of 18). Internal to replication/. Pure.
//
// Layout: u32 LE total bytes, u16 LE element count (65535 = "count it"),
// entries, 0xFF. An entry is <encoding+data><backlen>, where backlen holds
// the size of <encoding+data> in 1..5 bytes of 7 bits, most significant
// first, every byte but the first with the high bit set, so it can be read
// backwards. Encodings: 0xxxxxxx uint7; 10LLLLLL str6; 110xxxxx +1 byte
// int13; 1110LLLL +1 byte str12; F0 +u32 LE str32; F1/F2/F3/F4 int16/24/32/64
// LE.
#ifndef SHARDNODE_REPLICATION_INTERNAL_LISTPACK_H_
#define SHARDNODE_REPLICATION_INTERNAL_LISTPACK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace shardnode::replication::internal {

// Builds one listpack. Strings that are canonical integers are stored in the
// smallest integer encoding, as Redis does, and read back as the same text.
class ListpackBuilder {
 public:
  ListpackBuilder();

  void Append(absl::string_view element);
  void AppendInt(int64_t value);

  // Bytes `element` takes as an entry (encoding, data and backlen).
  static size_t EntrySize(absl::string_view element);

  // Size in bytes of the listpack Finish() would return now.
  size_t Bytes() const { return body_.size() + 7; }
  size_t Count() const { return count_; }

  // Returns the listpack and leaves the builder empty.
  std::string Finish();

 private:
  void AppendBacklen(size_t entry_size);

  std::string body_;  // the entries, without header and terminator
  size_t count_ = 0;
};

// Appends the elements of the listpack `blob` to `*out`, integers in their
// decimal form. Returns DataLoss ("Listpack integrity check failed: ...")
// when the header, any entry, a backlen or the terminator does not check out.
absl::Status DecodeListpack(absl::string_view blob, std::vector<std::string>* out);

}  // namespace shardnode::replication::internal

#endif  // SHARDNODE_REPLICATION_INTERNAL_LISTPACK_H_
