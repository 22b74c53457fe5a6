// Encoding of outgoing RESP requests: an array of bulk strings, the form
// every command takes on the wire (the write stream's records, the
// replication handshake, the outbound client, MIGRATE's pipeline). One
// encoder so the bytes are made the same way everywhere.
#pragma once

#include <iterator>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace shardnode::base {

// "*<n>\r\n".
inline void AppendRespArrayHeader(std::string* out, size_t n) {
  absl::StrAppend(out, "*", n, "\r\n");
}

// "$<len>\r\n<bytes>\r\n".
inline void AppendRespBulk(std::string* out, std::string_view s) {
  absl::StrAppend(out, "$", s.size(), "\r\n");
  out->append(s);
  out->append("\r\n");
}

// A whole command: the array header, then each argument as a bulk string.
// `args` is any range of things convertible to std::string_view.
template <typename Range>
void AppendRespCommand(std::string* out, const Range& args) {
  AppendRespArrayHeader(out, std::size(args));
  for (const auto& a : args) AppendRespBulk(out, std::string_view(a));
}

}  // namespace shardnode::base
