// The process title (Redis's setproctitle, proc-title-template): what ps
// and /proc/<pid>/cmdline show instead of the command line. The title is
// written over the argv strings and the environment strings that follow
// them (the kernel lays them out together), after the environment has
// been copied elsewhere; it is cut at that room's size.
//
// Thread: the control loop; InitProcTitle before anything else reads the
// environment from another thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shardnode::node {

// What the template's variables expand to.
struct ProcTitleVars {
  std::string title;        // {title}: argv[0]
  std::string listen_addr;  // {listen-addr}: "bind0:port", or "unixsocket:path"
  std::string server_mode;  // {server-mode}: "[cluster]", "[sentinel]" or ""
  std::string config_file;  // {config-file}: the path, or "-"
  int port = 0;             // {port}
  int tls_port = 0;         // {tls-port}
  std::string unixsocket;   // {unixsocket}
};

// Redis's expandProcTitleTemplate: "{name}" replaced by its variable, "{{"
// by one '{' (a '}' is itself), spaces trimmed at both ends. nullopt for
// an unknown variable or a '{' left open.
std::optional<std::string> ExpandProcTitle(std::string_view tmpl, const ProcTitleVars& vars);

// Takes the room of argv[0..argc) and the environment after it, and moves
// the environment strings to the heap (environ points there afterwards).
void InitProcTitle(int argc, char** argv);

// Shows `title` as the command line. No-op before InitProcTitle.
void SetProcTitle(std::string_view title);

}  // namespace shardnode::node
