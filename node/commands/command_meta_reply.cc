#include "node/commands/command_meta_reply.h"

#include <bit>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/strings.h"

namespace shardnode::node::meta {
namespace {

void ReplyKeySpecs(resp::ReplyBuilder& r, const CommandMeta& m) {
  const auto specs = KeySpecs(m);
  r.SetHeader(specs.size());
  for (const KeySpecMeta& ks : specs) {
    r.MapHeader(ks.notes != nullptr ? 4 : 3);
    if (ks.notes != nullptr) {
      r.Bulk("notes");
      r.Bulk(ks.notes);
    }
    r.Bulk("flags");
    ReplyFlagSet(r, ks.flags, kKeyFlagNames);
    r.Bulk("begin_search");
    r.MapHeader(2);
    r.Bulk("type");
    switch (ks.bs_type) {
      case 1:
        r.Bulk("index");
        r.Bulk("spec");
        r.MapHeader(1);
        r.Bulk("index");
        r.Integer(ks.bs_num);
        break;
      case 2:
        r.Bulk("keyword");
        r.Bulk("spec");
        r.MapHeader(2);
        r.Bulk("keyword");
        r.Bulk(ks.keyword);
        r.Bulk("startfrom");
        r.Integer(ks.bs_num);
        break;
      default:
        r.Bulk("unknown");
        r.Bulk("spec");
        r.MapHeader(0);
    }
    r.Bulk("find_keys");
    r.MapHeader(2);
    r.Bulk("type");
    const char* names[3] = {nullptr, nullptr, nullptr};
    if (ks.fk_type == 1) {
      r.Bulk("range");
      names[0] = "lastkey", names[1] = "keystep", names[2] = "limit";
    } else if (ks.fk_type == 2) {
      r.Bulk("keynum");
      names[0] = "keynumidx", names[1] = "firstkey", names[2] = "keystep";
    } else {
      r.Bulk("unknown");
    }
    r.Bulk("spec");
    if (names[0] == nullptr) {
      r.MapHeader(0);
      continue;
    }
    r.MapHeader(3);
    const int16_t values[3] = {ks.a, ks.b, ks.c};
    for (int i = 0; i < 3; ++i) {
      r.Bulk(names[i]);
      r.Integer(values[i]);
    }
  }
}

void ReplyArgs(resp::ReplyBuilder& r, std::span<const ArgMeta> args) {
  r.ArrayHeader(args.size());
  for (const ArgMeta& a : args) {
    const bool nested = a.type == 7 || a.type == 8;  // oneof, block
    r.MapHeader(2 + (a.key_spec_index >= 0) + (a.token != nullptr) + (a.summary != nullptr) +
                (a.since != nullptr) + (a.deprecated_since != nullptr) + (a.flags != 0) + nested);
    r.Bulk("name");
    r.Bulk(a.name);
    r.Bulk("type");
    r.Bulk(kArgTypeNames[a.type]);
    if (a.key_spec_index >= 0) {
      r.Bulk("key_spec_index");
      r.Integer(a.key_spec_index);
    }
    const std::pair<std::string_view, const char*> texts[] = {
        {"token", a.token},
        {"summary", a.summary},
        {"since", a.since},
        {"deprecated_since", a.deprecated_since}};
    for (const auto& [field, value] : texts) {
      if (value == nullptr) continue;
      r.Bulk(field);
      r.Bulk(value);
    }
    if (a.flags != 0) {
      r.Bulk("flags");
      ReplyFlagSet(r, a.flags, kArgFlagNames);
    }
    if (nested) {
      r.Bulk("arguments");
      ReplyArgs(r, SubArgs(a));
    }
  }
}

}  // namespace

void ReplyFlagSet(resp::ReplyBuilder& r, uint32_t bits, std::span<const std::string_view> names,
                  std::string_view prefix) {
  const size_t n = names.size();
  r.SetHeader(std::popcount(bits & static_cast<uint32_t>((uint64_t{1} << n) - 1)));
  for (size_t i = 0; i < n; ++i) {
    if (!(bits & (1u << i))) continue;
    if (prefix.empty()) {
      r.SimpleString(names[i]);
    } else {
      r.SimpleString(std::string(prefix) + std::string(names[i]));
    }
  }
}

void ReplyInfoFields(resp::ReplyBuilder& r, const CommandMeta& m) {
  r.Integer(m.arity);
  ReplyFlagSet(r, m.flags, kFlagNames);
  r.Integer(m.first_key);
  r.Integer(m.last_key);
  r.Integer(m.key_step);
  ReplyFlagSet(r, m.acl_categories, kAclCategoryNames, "@");
  const auto tips = Tips(m);
  r.SetHeader(tips.size());
  for (std::string_view t : tips) r.Bulk(t);
  ReplyKeySpecs(r, m);
}

void ReplyInfo(resp::ReplyBuilder& r, const CommandMeta& m) {
  r.ArrayHeader(10);
  r.Bulk(m.name);
  ReplyInfoFields(r, m);
  const auto subs = Subcommands(m);
  if (subs.empty()) {
    r.SetHeader(0);
    return;
  }
  r.ArrayHeader(subs.size());
  for (const CommandMeta& sub : subs) ReplyInfo(r, sub);
}

int DocsFieldCount(const CommandMeta& m) {
  return 1 + (m.summary != nullptr) + (m.since != nullptr) + (m.complexity != nullptr) +
         (m.doc_flags != 0) + (m.deprecated_since != nullptr) + (m.replaced_by != nullptr) +
         m.has_history() + m.has_args();
}

void ReplyDocsFields(resp::ReplyBuilder& r, const CommandMeta& m) {
  if (m.summary != nullptr) {
    r.Bulk("summary");
    r.Bulk(m.summary);
  }
  if (m.since != nullptr) {
    r.Bulk("since");
    r.Bulk(m.since);
  }
  r.Bulk("group");
  r.Bulk(kGroupNames[m.group]);
  if (m.complexity != nullptr) {
    r.Bulk("complexity");
    r.Bulk(m.complexity);
  }
  if (m.doc_flags != 0) {
    r.Bulk("doc_flags");
    ReplyFlagSet(r, m.doc_flags, kDocFlagNames);
  }
  if (m.deprecated_since != nullptr) {
    r.Bulk("deprecated_since");
    r.Bulk(m.deprecated_since);
  }
  if (m.replaced_by != nullptr) {
    r.Bulk("replaced_by");
    r.Bulk(m.replaced_by);
  }
  if (m.has_history()) {
    r.Bulk("history");
    const auto history = History(m);
    r.SetHeader(history.size());
    for (const HistoryMeta& h : history) {
      r.ArrayHeader(2);
      r.Bulk(h.since);
      r.Bulk(h.changes);
    }
  }
  if (m.has_args()) {
    r.Bulk("arguments");
    ReplyArgs(r, Args(m));
  }
}

void ReplyDocs(resp::ReplyBuilder& r, const CommandMeta& m) {
  r.Bulk(m.name);
  const auto subs = Subcommands(m);
  r.MapHeader(DocsFieldCount(m) + !subs.empty());
  ReplyDocsFields(r, m);
  if (subs.empty()) return;
  r.Bulk("subcommands");
  r.MapHeader(subs.size());
  for (const CommandMeta& sub : subs) ReplyDocs(r, sub);
}

void ReplyHelpLines(resp::ReplyBuilder& r, std::string_view command,
                    std::span<const std::string_view> lines) {
  r.ArrayHeader(lines.size() + 3);
  r.SimpleString(absl::StrCat(base::ToAbsl(command),
                              " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
  for (std::string_view line : lines) r.SimpleString(line);
  r.SimpleString("HELP");
  r.SimpleString("    Prints this help.");
}

std::span<const std::string_view> CommandHelpLines() {
  static constexpr std::string_view kLines[] = {
      "(no subcommand)",
      "    Return details about all Redis commands.",
      "COUNT",
      "    Return the total number of commands in this Redis server.",
      "LIST",
      "    Return a list of all commands in this Redis server.",
      "INFO [<command-name> ...]",
      "    Return details about multiple Redis commands.",
      "    If no command names are given, documentation details for all",
      "    commands are returned.",
      "DOCS [<command-name> ...]",
      "    Return documentation details about multiple Redis commands.",
      "    If no command names are given, documentation details for all",
      "    commands are returned.",
      "GETKEYS <full-command>",
      "    Return the keys from a full Redis command.",
      "GETKEYSANDFLAGS <full-command>",
      "    Return the keys and the access flags from a full Redis command."};
  return kLines;
}

std::span<const std::string_view> AclHelpLines() {
  static constexpr std::string_view kLines[] = {
      "CAT [<category>]",
      "    List all commands that belong to <category>, or all command categories",
      "    when no category is specified.",
      "DELUSER <username> [<username> ...]",
      "    Delete a list of users.",
      "DRYRUN <username> <command> [<arg> ...]",
      "    Returns whether the user can execute the given command without executing the command.",
      "GETUSER <username>",
      "    Get the user's details.",
      "GENPASS [<bits>]",
      "    Generate a secure 256-bit user password. The optional `bits` argument can",
      "    be used to specify a different size.",
      "LIST",
      "    Show users details in config file format.",
      "LOAD",
      "    Reload users from the ACL file.",
      "LOG [<count> | RESET]",
      "    Show the ACL log entries.",
      "SAVE",
      "    Save the current config to the ACL file.",
      "SETUSER <username> <attribute> [<attribute> ...]",
      "    Create or modify a user with the specified attributes.",
      "USERS",
      "    List all the registered usernames.",
      "WHOAMI",
      "    Return the current connection username."};
  return kLines;
}

}  // namespace shardnode::node::meta
