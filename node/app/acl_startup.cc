#include "node/app/acl_startup.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "node/config/config.h"
#include "node/server/log.h"

namespace shardnode::node {

int LoadAclUsers(acl::Acl& a, std::vector<acl::CommandEntry> catalog, const Config& config) {
  a.SetCommands(std::move(catalog));
  a.set_pubsub_default_all(config.Value("acl-pubsub-default") == "allchannels");
  a.SetDefaultPassword(config.options().requirepass);
  for (const Config::UserLine& l : config.user_lines()) {
    if (auto err = a.AppendConfigUser(l.args)) {
      std::cerr << "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
                << "Reading the configuration file, at line " << l.linenum << "\n>>> '" << l.line
                << "'\n"
                << *err << std::endl;
      return 1;
    }
  }
  const std::string aclfile = config.Value("aclfile").value_or("");
  if (!aclfile.empty() && a.has_config_users()) {
    Log(LogLevel::kWarning,
        "Configuring Redis with users defined in redis.conf and at the same setting an ACL file "
        "path is invalid. This setup is very likely to lead to configuration errors and security "
        "holes, please define either an ACL file or declare users directly in your redis.conf, "
        "but not both.");
    return 1;
  }
  if (auto err = a.LoadConfigUsers()) {
    Log(LogLevel::kWarning, *err);
    Log(LogLevel::kWarning, "Critical error while loading ACLs. Exiting.");
    return 1;
  }
  if (!aclfile.empty()) {
    std::string text;
    std::string err;
    FILE* f = std::fopen(aclfile.c_str(), "r");
    if (f == nullptr) {
      err =
          absl::StrCat("Error loading ACLs, opening file '", aclfile, "': ", std::strerror(errno));
    } else {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
      std::fclose(f);
      std::vector<std::unique_ptr<acl::User>> replaced;
      if (auto e = a.LoadFile(text, aclfile, &replaced)) err = *e;
    }
    if (!err.empty()) {
      Logf(LogLevel::kWarning, "Aborting Redis startup because of ACL errors: %s", err);
      return 1;
    }
  }
  return 0;
}

}  // namespace shardnode::node
