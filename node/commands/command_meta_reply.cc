#include "node/commands/command_meta_reply.h"

#include <bit>
#include <string>
#include <utility>

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

}  // namespace shardnode::node::meta
