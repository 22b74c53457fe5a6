#include "node/server/monitoring.h"

#include "absl/strings/str_format.h"

namespace shardnode::node {
namespace {

void AppendQuoted(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          absl::StrAppendFormat(&out, "\\x%02x", c);
        }
    }
  }
  out += '"';
}

}  // namespace

std::string MonitorLine(int64_t now_us, int db, std::string_view origin,
                        std::span<const std::string> args, const std::vector<int>& redacted) {
  std::string out = absl::StrFormat("+%d.%06d [%d %s] ", now_us / 1000000, now_us % 1000000, db,
                                    std::string(origin));
  for (size_t i = 0; i < args.size(); ++i) {
    bool hidden = false;
    for (int r : redacted) hidden = hidden || r == static_cast<int>(i);
    AppendQuoted(out, hidden ? std::string_view("(redacted)") : std::string_view(args[i]));
    if (i + 1 != args.size()) out += ' ';
  }
  out += "\r\n";
  return out;
}

}  // namespace shardnode::node
