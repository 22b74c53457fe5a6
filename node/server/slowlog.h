// SlowLog: the commands that ran longer than slowlog-log-slower-than, newest
// first, at most slowlog-max-len of them (SLOWLOG GET / LEN / RESET), as
// Redis 7.0.15 keeps them: each entry has an id that only grows (RESET does
// not rewind it), the wall-clock second it was logged, its duration in
// microseconds, its arguments (at most 32, the last then saying how many
// more there were; each at most 128 bytes, then how many more bytes), the
// client's address and name.
//
// Pure: times come in as arguments. Loop: the control loop.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

namespace shardnode::node {

struct SlowLogEntry {
  uint64_t id = 0;
  int64_t time_sec = 0;     // unix time when logged
  int64_t duration_us = 0;  // how long the command ran
  std::vector<std::string> args;
  std::string client_addr;  // "ip:port"
  std::string client_name;  // CLIENT SETNAME, or empty
};

class SlowLog {
 public:
  static constexpr size_t kMaxArgs = 32;
  static constexpr size_t kMaxArgBytes = 128;

  // Logs the command when `slower_than_us` >= 0 and it ran that long or
  // longer; then drops the oldest entries beyond `max_len` (also when
  // nothing was logged, as Redis does). `redacted`: argument indexes shown
  // as "(redacted)" (passwords of AUTH, HELLO, MIGRATE, CONFIG SET).
  void MaybeAdd(std::span<const std::string> args, const std::vector<int>& redacted,
                int64_t duration_us, int64_t slower_than_us, int64_t max_len, int64_t now_sec,
                std::string_view client_addr, std::string_view client_name);

  // The newest `count` entries, newest first (all when count exceeds the
  // length).
  std::vector<const SlowLogEntry*> Newest(size_t count) const;
  size_t size() const { return entries_.size(); }
  // Drops the oldest entries beyond `max_len`.
  void Trim(int64_t max_len) {
    while (static_cast<int64_t>(entries_.size()) > max_len) entries_.pop_back();
  }
  // SLOWLOG RESET: drops every entry; ids keep growing.
  void Reset() { entries_.clear(); }

 private:
  std::deque<SlowLogEntry> entries_;  // newest at the front
  uint64_t next_id_ = 0;
};

// The argument indexes of `args` (a command as received) that Redis 7.0.15
// hides from SLOWLOG and MONITOR as "(redacted)": the password of AUTH (and
// the user name of AUTH user pass), HELLO's AUTH user and password,
// MIGRATE's AUTH password and AUTH2 user and password, ACL SETUSER's user
// and rules, and CONFIG SET's values of masterauth, masteruser and
// requirepass.
std::vector<int> RedactedArgs(std::span<const std::string> args);

}  // namespace shardnode::node
