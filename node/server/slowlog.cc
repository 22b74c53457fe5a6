#include "node/server/slowlog.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/strings.h"

namespace shardnode::node {

using base::EqualsIgnoreCase;

void SlowLog::MaybeAdd(std::span<const std::string> args, const std::vector<int>& redacted,
                       int64_t duration_us, int64_t slower_than_us, int64_t max_len,
                       int64_t now_sec, std::string_view client_addr,
                       std::string_view client_name) {
  if (slower_than_us < 0) return;  // disabled: not even trimmed, as Redis
  if (duration_us >= slower_than_us) {
    SlowLogEntry e;
    e.id = next_id_++;
    e.time_sec = now_sec;
    e.duration_us = duration_us;
    const size_t kept = std::min(args.size(), kMaxArgs);
    e.args.reserve(kept);
    for (size_t i = 0; i < kept; ++i) {
      if (kept != args.size() && i == kept - 1) {
        // The last slot says how many were left out (itself included).
        e.args.push_back(absl::StrCat("... (", args.size() - kept + 1, " more arguments)"));
        break;
      }
      bool hidden = false;
      for (int r : redacted) hidden = hidden || r == static_cast<int>(i);
      const std::string& a = args[i];
      if (hidden) {
        e.args.emplace_back("(redacted)");
      } else if (a.size() > kMaxArgBytes) {
        e.args.push_back(absl::StrCat(a.substr(0, kMaxArgBytes), "... (", a.size() - kMaxArgBytes,
                                      " more bytes)"));
      } else {
        e.args.push_back(a);
      }
    }
    e.client_addr = client_addr;
    e.client_name = client_name;
    entries_.push_front(std::move(e));
  }
  while (static_cast<int64_t>(entries_.size()) > max_len) entries_.pop_back();
}

std::vector<const SlowLogEntry*> SlowLog::Newest(size_t count) const {
  std::vector<const SlowLogEntry*> out;
  for (size_t i = 0; i < entries_.size() && i < count; ++i) out.push_back(&entries_[i]);
  return out;
}

std::vector<int> RedactedArgs(std::span<const std::string> args) {
  std::vector<int> out;
  const int argc = static_cast<int>(args.size());
  if (argc == 0) return out;
  const std::string& name = args[0];
  if (EqualsIgnoreCase(name, "auth")) {
    if (argc == 2) out = {1};
    if (argc == 3) out = {1, 2};
  } else if (EqualsIgnoreCase(name, "hello")) {
    int64_t ver;
    if (argc < 2 || !absl::SimpleAtoi(args[1], &ver)) return out;
    for (int j = 2; j < argc; ++j) {
      const int more = argc - 1 - j;
      if (EqualsIgnoreCase(args[j], "auth") && more >= 2) {
        out.push_back(j + 1);
        out.push_back(j + 2);
        j += 2;
      } else if (EqualsIgnoreCase(args[j], "setname") && more >= 1) {
        ++j;
      } else {
        break;  // a syntax error: HELLO stops there
      }
    }
  } else if (EqualsIgnoreCase(name, "migrate")) {
    for (int j = 6; j < argc; ++j) {
      const int more = argc - 1 - j;
      if (EqualsIgnoreCase(args[j], "copy") || EqualsIgnoreCase(args[j], "replace")) continue;
      if (EqualsIgnoreCase(args[j], "auth") && more >= 1) {
        out.push_back(++j);
      } else if (EqualsIgnoreCase(args[j], "auth2") && more >= 2) {
        out.push_back(++j);
        out.push_back(++j);
      } else {
        break;  // KEYS (the rest are key names) or a syntax error
      }
    }
  } else if (EqualsIgnoreCase(name, "acl") && argc >= 3 && EqualsIgnoreCase(args[1], "setuser")) {
    for (int j = 2; j < argc; ++j) out.push_back(j);  // the user and every rule
  } else if (EqualsIgnoreCase(name, "config") && argc >= 4 && argc % 2 == 0 &&
             EqualsIgnoreCase(args[1], "set")) {
    for (int j = 2; j + 1 < argc; j += 2) {
      if (EqualsIgnoreCase(args[j], "masterauth") || EqualsIgnoreCase(args[j], "masteruser") ||
          EqualsIgnoreCase(args[j], "requirepass")) {
        out.push_back(j + 1);
      }
    }
  }
  return out;
}

}  // namespace shardnode::node
