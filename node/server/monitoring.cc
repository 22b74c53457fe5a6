#include "node/server/monitoring.h"

#include "absl/strings/str_format.h"
#include "base/strings.h"

namespace shardnode::node {
std::string MonitorLine(int64_t now_us, int db, std::string_view origin,
                        std::span<const std::string> args, const std::vector<int>& redacted) {
  std::string out = absl::StrFormat("+%d.%06d [%d %s] ", now_us / 1000000, now_us % 1000000, db,
                                    std::string(origin));
  for (size_t i = 0; i < args.size(); ++i) {
    bool hidden = false;
    for (int r : redacted) hidden = hidden || r == static_cast<int>(i);
    base::AppendRepr(out, hidden ? std::string_view("(redacted)") : std::string_view(args[i]));
    if (i + 1 != args.size()) out += ' ';
  }
  out += "\r\n";
  return out;
}

}  // namespace shardnode::node
