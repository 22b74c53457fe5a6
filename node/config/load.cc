// Loading a configuration: the redis-server command line (config file,
// stdin, "--name value" overrides) and config-file text, line by line, with
// includes. Reads files and the working directory; `dir` may chdir (a live
// Config, see config.h).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "node/config/config.h"
#include "node/config/internal/directive.h"

namespace shardnode::node::config_internal {

std::string GetCwd() {
  char buf[4096];
  if (getcwd(buf, sizeof(buf)) == nullptr) return "";
  return buf;
}

std::string FatalConfigError(absl::string_view err) {
  return absl::StrCat("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n", err, "\n");
}

std::string FatalConfigError(int linenum, std::string_view line, absl::string_view err) {
  return absl::StrCat("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n",
                      "Reading the configuration file, at line ", linenum, "\n>>> '",
                      base::ToAbsl(line), "'\n", err, "\n");
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int e = errno;
    return absl::NotFoundError(
        absl::StrCat("Fatal error, can't open config file '", path, "': ", std::strerror(e)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
bool IsTrimChar(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
}  // namespace

std::string_view TrimLine(std::string_view s) {
  while (!s.empty() && IsTrimChar(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsTrimChar(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace shardnode::node::config_internal

namespace shardnode::node {

using namespace config_internal;  // NOLINT: this file implements them

absl::StatusOr<std::unique_ptr<Config>> Config::FromText(std::string_view text) {
  std::unique_ptr<Config> config(new Config(/*live=*/false));
  absl::Status s = config->LoadText(text, 0);
  if (!s.ok()) return s;
  config->PublishOptions();
  return config;
}

absl::StatusOr<std::unique_ptr<Config>> Config::FromArgs(int argc, const char* const* argv,
                                                         bool sentinel_mode) {
  std::unique_ptr<Config> config(new Config(/*live=*/true));
  if (sentinel_mode) {
    // Redis's initSentinelConfig: "Sentinel must be exposed".
    config->sentinel_mode_ = true;
    config->options_.port = 26379;
    config->options_.protected_mode = false;
  }
  int j = 1;
  std::string file;
  if (argc >= 2 && argv[1][0] != '-') {
    file = argv[1];
    config->config_file_ = std::filesystem::absolute(file).lexically_normal().string();
    j = 2;
  }
  bool from_stdin = false;
  std::string options;
  bool handled_last_arg = true;
  for (; j < argc; ++j) {
    std::string_view arg = argv[j];
    if (arg == "-" && (j == 1 || j == argc - 1)) {
      from_stdin = true;
    } else if (handled_last_arg && arg.starts_with("--")) {
      if (!options.empty()) options += "\n";
      options.append(arg.substr(2));
      options += " ";
      auto split = SplitConfigArgs(arg);
      if (split && split->size() == 1) {
        // A bare "--name": its arguments follow. A bare "--save" followed by
        // another option (or last) means save "".
        handled_last_arg = false;
        bool is_save = base::EqualsIgnoreCase(arg, "--save");
        if (is_save && j != argc - 1 && std::string_view(argv[j + 1]).starts_with("--")) {
          options += "\"\"";
          handled_last_arg = true;
        } else if (is_save && j == argc - 1) {
          options += "\"\"";
        }
      } else {
        handled_last_arg = true;
      }
    } else {
      absl::StrAppend(&options, QuoteConfigArg(arg), " ");
      handled_last_arg = true;
    }
  }

  std::string text;
  if (!file.empty()) {
    auto content = ReadWholeFile(file);
    if (!content.ok()) return content.status();
    text = *std::move(content);
  }
  if (from_stdin) {
    text.append(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  if (!file.empty() || from_stdin || !options.empty()) {
    text += "\n";
    text += options;
  }
  absl::Status s = config->LoadText(text, 0);
  if (!s.ok()) return s;
  config->PublishOptions();
  return config;
}

absl::Status Config::LoadText(std::string_view text, int depth) {
  if (depth > 16) return absl::InvalidArgumentError(FatalConfigError("Too many nested includes"));
  reading_file_ = true;
  std::vector<std::string_view> lines = SplitBy(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    const int linenum = static_cast<int>(i) + 1;
    std::string_view line = TrimLine(lines[i]);
    if (line.empty() || line[0] == '#') continue;
    auto fail = [&](absl::string_view err) {
      reading_file_ = false;
      return absl::InvalidArgumentError(FatalConfigError(linenum, line, err));
    };
    auto args = SplitConfigArgs(line);
    if (!args) return fail("Unbalanced quotes in configuration line");
    if (args->empty()) continue;
    std::string name = base::AsciiLower((*args)[0]);
    size_t argc = args->size();

    if (const Directive* d = Lookup(name)) {
      const bool multi = d->flags & kMultiArg;
      if (!multi && argc != 2) return fail("wrong number of arguments");
      std::vector<std::string> values;
      if (multi && argc == 2 && !(*args)[1].empty()) {
        // "--save '900 1'" style: one argument holding several.
        auto sub = SplitConfigArgs((*args)[1]);
        if (!sub) return fail("Unbalanced quotes in configuration line");
        values = *std::move(sub);
      } else {
        values.assign(args->begin() + 1, args->end());
      }
      absl::Status s = SetDirective(*d, std::move(values), /*from_file=*/true);
      if (!s.ok()) return fail(s.message());
      continue;
    }
    // Directives Redis 7.0 still accepts and ignores.
    if ((name == "list-max-ziplist-entries" || name == "list-max-ziplist-value" ||
         name == "lua-replicate-commands") &&
        argc == 2) {
      continue;
    }
    if (name == "include" && argc == 2) {
      auto content = ReadWholeFile((*args)[1]);
      if (!content.ok()) {
        reading_file_ = false;
        return content.status();
      }
      absl::Status s = LoadText(*content, depth + 1);
      if (!s.ok()) return s;
      reading_file_ = true;
      continue;
    }
    if (name == "user" && argc >= 2) {
      // ACL users: validated and applied by the node (node/acl), which
      // reports a bad one with this line.
      user_lines_.push_back({linenum, std::string(line), *std::move(args)});
      continue;
    }
    if (name == "rename-command" && argc == 3) {
      renamed_commands_.emplace_back((*args)[1], (*args)[2]);
      continue;
    }
    if (name == "sentinel" && sentinel_mode_) {
      if (argc > 1) {
        sentinel_lines_.push_back(
            {linenum, std::string(line), std::vector<std::string>(args->begin() + 1, args->end())});
      }
      continue;
    }
    if (name == "sentinel" && argc != 1) {
      return fail("sentinel directive while not in sentinel mode");
    }
    if (name.find('.') != std::string::npos && argc < 2) {
      return fail("Module config specified without value");
    }
    return fail("Bad directive or wrong number of arguments");
  }
  reading_file_ = false;
  if (depth > 0) return absl::OkStatus();

  if (live_ && !options_.logfile.empty()) {
    FILE* fp = std::fopen(options_.logfile.c_str(), "a");
    if (fp == nullptr) {
      return absl::InvalidArgumentError(
          FatalConfigError(absl::StrCat("Can't open the log file: ", std::strerror(errno))));
    }
    std::fclose(fp);
  }
  if (options_.cluster_enabled && !options_.replicaof_host.empty()) {
    return absl::InvalidArgumentError(
        FatalConfigError("replicaof directive not allowed in cluster mode"));
  }
  options_.hz = std::clamp(options_.hz, 1, 500);
  return absl::OkStatus();
}

}  // namespace shardnode::node
