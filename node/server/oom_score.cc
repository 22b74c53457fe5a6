#include "node/server/oom_score.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/server/log.h"

namespace shardnode::node {
namespace {

constexpr const char* kPath = "/proc/self/oom_score_adj";

// Whether the node changed the score, and the score from before that.
bool g_adjusted = false;
int g_base = 0;

// The integer at the start of `text` (after spaces), 0 when there is none
// (atoi's way).
int ParseInt(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  int v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

absl::Status ReadScore(int* out) {
  const int fd = open(kPath, O_RDONLY | O_CLOEXEC);
  char buf[64] = {};
  const ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
  const int err = errno;
  if (fd >= 0) close(fd);
  if (n < 0) {
    Logf(LogLevel::kWarning, "Unable to read oom_score_adj: %s", std::strerror(err));
    return absl::InternalError("unable to read oom_score_adj");
  }
  *out = ParseInt(std::string_view(buf, static_cast<size_t>(n)));
  return absl::OkStatus();
}

absl::Status WriteScore(int score) {
  const std::string text = absl::StrCat(score, "\n");
  const int fd = open(kPath, O_WRONLY | O_CLOEXEC);
  const ssize_t n = fd < 0 ? -1 : write(fd, text.data(), text.size());
  const int err = errno;
  if (fd >= 0) close(fd);
  if (n < 0) {
    Logf(LogLevel::kWarning, "Unable to write oom_score_adj: %s", std::strerror(err));
    return absl::InternalError("unable to write oom_score_adj");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyOomScoreAdj(std::string_view mode, std::string_view values, OomClass cls) {
  int score = 0;
  if (mode != "no") {
    std::vector<int> per_class;
    size_t pos = 0;
    while (pos < values.size()) {
      const size_t end = std::min(values.find(' ', pos), values.size());
      if (end > pos) per_class.push_back(ParseInt(values.substr(pos, end - pos)));
      pos = end + 1;
    }
    const size_t i = static_cast<size_t>(cls);
    score = i < per_class.size() ? per_class[i] : 0;
    if (!g_adjusted) {
      int base = 0;
      if (absl::Status st = ReadScore(&base); !st.ok()) return st;
      g_base = base;
      g_adjusted = true;
    }
    if (mode != "absolute") score += g_base;
    score = std::clamp(score, -1000, 1000);
  } else if (g_adjusted) {
    g_adjusted = false;
    score = g_base;
  } else {
    return absl::OkStatus();
  }
  return WriteScore(score);
}

}  // namespace shardnode::node
