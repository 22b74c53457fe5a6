#include "node/server/proc_title.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace shardnode::node {
namespace {

char* g_base = nullptr;  // the first byte of argv[0]
size_t g_room = 0;       // bytes from g_base to the end of the last string

}  // namespace

std::optional<std::string> ExpandProcTitle(std::string_view tmpl, const ProcTitleVars& vars) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    const char c = tmpl[i];
    if (c != '{') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 == tmpl.size()) return std::nullopt;
    if (tmpl[i + 1] == '{') {
      out.push_back('{');
      i += 2;
      continue;
    }
    const size_t close = tmpl.find('}', i + 1);
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view name = tmpl.substr(i + 1, close - i - 1);
    if (name == "title") {
      out += vars.title;
    } else if (name == "listen-addr") {
      out += vars.listen_addr;
    } else if (name == "server-mode") {
      out += vars.server_mode;
    } else if (name == "config-file") {
      out += vars.config_file;
    } else if (name == "port") {
      absl::StrAppend(&out, vars.port);
    } else if (name == "tls-port") {
      absl::StrAppend(&out, vars.tls_port);
    } else if (name == "unixsocket") {
      out += vars.unixsocket;
    } else {
      return std::nullopt;
    }
    i = close + 1;
  }
  const size_t first = out.find_first_not_of(' ');
  if (first == std::string::npos) return std::string();
  const size_t last = out.find_last_not_of(' ');
  return out.substr(first, last - first + 1);
}

void InitProcTitle(int argc, char** argv) {
  if (argc <= 0 || argv == nullptr || argv[0] == nullptr || g_base != nullptr) return;
  char* end = argv[0] + std::strlen(argv[0]) + 1;
  // Only strings that follow each other with no gap belong to the room.
  for (int i = 1; i < argc; ++i) {
    if (argv[i] != end) break;
    end = argv[i] + std::strlen(argv[i]) + 1;
  }
  if (environ != nullptr) {
    size_t n = 0;
    while (environ[n] != nullptr) ++n;
    char** copy = new char*[n + 1];  // kept for the process's lifetime
    for (size_t i = 0; i < n; ++i) {
      if (environ[i] == end) end = environ[i] + std::strlen(environ[i]) + 1;
      copy[i] = strdup(environ[i]);
    }
    copy[n] = nullptr;
    environ = copy;
  }
  g_base = argv[0];
  g_room = static_cast<size_t>(end - argv[0]);
}

void SetProcTitle(std::string_view title) {
  if (g_base == nullptr || g_room < 2) return;
  const size_t n = std::min(title.size(), g_room - 1);
  std::memcpy(g_base, title.data(), n);
  std::memset(g_base + n, '\0', g_room - n);
}

}  // namespace shardnode::node
