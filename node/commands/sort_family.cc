// SORT and SORT_RO with Redis 7.0.15's options, replies and errors: BY
// (a pattern, or a constant for no sorting), LIMIT, GET (`#`, `key*`,
// `hash*->field`), ASC/DESC, ALPHA, STORE. BY and GET patterns name keys
// that only the element values reveal, so the commands are granted every
// shard (kCmdAllShards) and cluster mode refuses the patterns, as Redis does.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "node/commands/acl_family.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/type_family.h"
#include "node/keyspace/db.h"
#include "node/keyspace/types/hash_object.h"
#include "node/keyspace/types/list_object.h"
#include "node/keyspace/types/partial_sort.h"
#include "node/keyspace/types/set_object.h"
#include "node/keyspace/types/zset_object.h"
#include "node/resp/reply.h"
#include "node/server/node_services.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

// The string value a BY or GET pattern names for `element`: `#` is the
// element itself; otherwise the first `*` is replaced by the element and
// a "->field" suffix reads that field of a hash. Nothing for a pattern
// without `*`, a missing key or one of the wrong type.
std::optional<std::string> LookupByPattern(CommandContext& ctx, const std::string& pattern,
                                           const std::string& element) {
  if (pattern == "#") return element;
  const size_t star = pattern.find('*');
  if (star == std::string::npos) return std::nullopt;
  std::string_view field;
  size_t key_end = pattern.size();
  const size_t arrow = pattern.find("->", star + 1);
  if (arrow != std::string::npos && arrow + 2 < pattern.size()) {
    field = std::string_view(pattern).substr(arrow + 2);
    key_end = arrow;
  }
  std::string key = pattern.substr(0, star);
  key += element;
  key.append(pattern, star + 1, key_end - star - 1);
  Entry* e = ctx.DbFor(key).FindRead(key, ctx.now_ms);
  if (e == nullptr) return std::nullopt;
  if (!field.empty()) {
    if (e->value().type() != ValueType::kHash) return std::nullopt;
    std::string scratch;
    const auto v = static_cast<HashObject*>(e->value().object())->Get(field, &scratch);
    if (!v) return std::nullopt;
    return std::string(*v);
  }
  if (!e->value().is_string()) return std::nullopt;
  return e->value().ToString();
}

// The weight of a BY value: an int-encoded string as it is, other text
// through strtod (up to a NUL, as C does); false when that fails.
bool ScoreOf(CommandContext& ctx, const std::string& pattern, const std::string& element,
             double* score, std::optional<std::string>* by_value) {
  if (!pattern.empty() && pattern != "#") {
    // Int-encoded keys are read as their integer (the same number).
    *by_value = LookupByPattern(ctx, pattern, element);
    if (!*by_value) return true;  // missing: weight 0
  }
  const std::string& text = pattern.empty() || pattern == "#" ? element : **by_value;
  errno = 0;
  char* end = nullptr;
  *score = std::strtod(text.c_str(), &end);
  return end[0] == '\0' && errno != ERANGE && !std::isnan(*score);
}

int BinaryCompare(const std::string& a, const std::string& b) {
  const int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  if (c != 0) return c;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

// strcoll in the C locale: the text up to the first NUL.
int CollateCompare(const std::string& a, const std::string& b) {
  return std::strcmp(a.c_str(), b.c_str());
}

struct Item {
  std::string element;
  double score = 0;
  std::optional<std::string> by;  // ALPHA with BY: the value compared
};

void SortGeneric(CommandContext& ctx, Args args, bool readonly) {
  bool desc = false, alpha = false, dontsort = false;
  int64_t limit_start = 0, limit_count = -1;
  const std::string* sortby = nullptr;
  const std::string* store = nullptr;
  std::vector<const std::string*> gets;
  // BY and GET patterns read keys no key spec names: they need read access
  // to every key (Redis's ACLUserCheckCmdWithUnrestrictedKeyAccess).
  auto full_key_access = [&] { return AclFullReadAccess(ctx.node, ctx.session, ctx.spec, args); };
  for (size_t j = 2; j < args.size(); ++j) {
    const std::string& a = args[j];
    const size_t left = args.size() - j - 1;
    if (absl::EqualsIgnoreCase(a, "asc")) {
      desc = false;
    } else if (absl::EqualsIgnoreCase(a, "desc")) {
      desc = true;
    } else if (absl::EqualsIgnoreCase(a, "alpha")) {
      alpha = true;
    } else if (absl::EqualsIgnoreCase(a, "limit") && left >= 2) {
      if (!ParseLong(args[j + 1], &limit_start, ctx) ||
          !ParseLong(args[j + 2], &limit_count, ctx)) {
        return;
      }
      j += 2;
    } else if (!readonly && absl::EqualsIgnoreCase(a, "store") && left >= 1) {
      store = &args[++j];
    } else if (absl::EqualsIgnoreCase(a, "by") && left >= 1) {
      sortby = &args[++j];
      // A constant BY means "do not sort".
      if (sortby->find('*') == std::string::npos) {
        dontsort = true;
      } else if (ctx.node.cluster_enabled()) {
        ctx.reply.Error("ERR BY option of SORT denied in Cluster mode.");
        return;
      } else if (!full_key_access()) {
        ctx.reply.Error("ERR BY option of SORT denied due to insufficient ACL permissions.");
        return;
      }
    } else if (absl::EqualsIgnoreCase(a, "get") && left >= 1) {
      if (ctx.node.cluster_enabled()) {
        ctx.reply.Error("ERR GET option of SORT denied in Cluster mode.");
        return;
      }
      if (!full_key_access()) {
        ctx.reply.Error("ERR GET option of SORT denied due to insufficient ACL permissions.");
        return;
      }
      gets.push_back(&args[++j]);
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }

  const std::string& key = args[1];
  Entry* e = ctx.DbFor(key).FindRead(key, ctx.now_ms);
  ValueType type = ValueType::kList;
  if (e != nullptr) {
    type = e->value().type();
    if (type != ValueType::kSet && type != ValueType::kList && type != ValueType::kZSet) {
      ReplyWrongType(ctx);
      return;
    }
  }
  TypedObject* obj = e ? e->value().object() : nullptr;
  // An unsorted set would come out in hash order: STORE and scripts sort
  // it (ALPHA) so that replicas see the same result.
  if (dontsort && type == ValueType::kSet && (store != nullptr || ctx.session.script)) {
    dontsort = false;
    alpha = true;
    sortby = nullptr;
  }
  // Redis turns a listpack sorted set into a skiplist for SORT.
  if (obj && type == ValueType::kZSet) static_cast<ZSetObject*>(obj)->set_listpack(false);

  int64_t len = 0;
  if (obj) {
    if (type == ValueType::kList) len = static_cast<ListObject*>(obj)->Size();
    if (type == ValueType::kSet) len = static_cast<SetObject*>(obj)->Size();
    if (type == ValueType::kZSet) len = static_cast<ZSetObject*>(obj)->Size();
  }
  int64_t start = std::min(std::max<int64_t>(limit_start, 0), len);
  limit_count = std::min(std::max<int64_t>(limit_count, -1), len);
  int64_t end = limit_count < 0 ? len - 1 : start + limit_count - 1;
  if (start >= len) {
    start = len - 1;
    end = len - 2;
  }
  if (end >= len) end = len - 1;

  std::vector<Item> items;
  if (obj && dontsort && type != ValueType::kSet) {
    // Native order, only the LIMIT range (reversed for DESC).
    if (end >= start) {
      const size_t n = static_cast<size_t>(end - start + 1);
      items.reserve(n);
      if (type == ValueType::kList) {
        const auto* l = static_cast<ListObject*>(obj);
        const size_t from = desc ? static_cast<size_t>(len - start - 1) : start;
        l->Walk(from, desc, [&](size_t, std::string_view v) {
          items.push_back(Item{std::string(v)});
          return items.size() < n;
        });
      } else {
        const auto* z = static_cast<ZSetObject*>(obj);
        for (size_t i = 0; i < n; ++i) {
          const size_t rank = desc ? static_cast<size_t>(len - 1 - start) - i : start + i;
          items.push_back(Item{std::string(z->At(rank).second)});
        }
      }
      end -= start;
      start = 0;
    }
  } else if (obj) {
    items.reserve(len);
    if (type == ValueType::kList) {
      static_cast<ListObject*>(obj)->Walk(0, false, [&](size_t, std::string_view v) {
        items.push_back(Item{std::string(v)});
        return true;
      });
    } else if (type == ValueType::kSet) {
      static_cast<SetObject*>(obj)->ForEach(
          [&](std::string_view m) { items.push_back(Item{std::string(m)}); });
    } else {
      static_cast<ZSetObject*>(obj)->Range(0, len - 1, false, [&](std::string_view m, double) {
        items.push_back(Item{std::string(m)});
      });
    }
  }

  bool conversion_error = false;
  if (!dontsort) {
    for (Item& it : items) {
      if (alpha) {
        if (sortby) it.by = LookupByPattern(ctx, *sortby, it.element);
        continue;
      }
      std::optional<std::string> by_value;
      if (!ScoreOf(ctx, sortby ? *sortby : std::string(), it.element, &it.score, &by_value)) {
        conversion_error = true;
      }
    }
    const bool by = sortby != nullptr;
    const bool storing = store != nullptr;
    auto cmp3 = [&](const Item& a, const Item& b) {
      int c;
      if (!alpha) {
        c = a.score > b.score ? 1 : (a.score < b.score ? -1 : BinaryCompare(a.element, b.element));
      } else if (by) {
        if (!a.by || !b.by) {
          c = a.by.has_value() == b.by.has_value() ? 0 : (a.by ? 1 : -1);
        } else {
          c = storing ? BinaryCompare(*a.by, *b.by) : CollateCompare(*a.by, *b.by);
        }
      } else {
        c = storing ? BinaryCompare(a.element, b.element) : CollateCompare(a.element, b.element);
      }
      return desc ? -c : c;
    };
    // As Redis: a partial quicksort when BY and LIMIT select a range (its
    // order of ties is its own), else qsort (glibc's is a stable merge sort).
    const int64_t n = static_cast<int64_t>(items.size());
    if (by && (start != 0 || end != n - 1)) {
      if (end >= start) {
        types::PartialQuickSort(items, cmp3, static_cast<size_t>(start), static_cast<size_t>(end));
      }
    } else {
      std::stable_sort(items.begin(), items.end(),
                       [&](const Item& a, const Item& b) { return cmp3(a, b) < 0; });
    }
  }

  const size_t range = end >= start ? static_cast<size_t>(end - start + 1) : 0;
  const size_t outputlen = gets.empty() ? range : gets.size() * range;
  if (conversion_error) {
    ctx.reply.Error("ERR One or more scores can't be converted into double");
    return;
  }
  if (store == nullptr) {
    ctx.reply.ArrayHeader(outputlen);
    for (size_t j = 0; j < range; ++j) {
      const std::string& el = items[start + j].element;
      if (gets.empty()) ctx.reply.Bulk(el);
      for (const std::string* g : gets) {
        const auto v = LookupByPattern(ctx, *g, el);
        if (v) {
          ctx.reply.Bulk(*v);
        } else {
          ctx.reply.NullBulk();
        }
      }
    }
    return;
  }
  auto list = std::make_unique<ListObject>();
  for (size_t j = 0; j < range; ++j) {
    const std::string& el = items[start + j].element;
    if (gets.empty()) list->PushBack(el);
    for (const std::string* g : gets) list->PushBack(LookupByPattern(ctx, *g, el).value_or(""));
  }
  Db& db = ctx.DbFor(*store);
  if (outputlen > 0) {
    db.Set(*store, Value::FromObject(ValueType::kList, std::move(list)), ctx.now_ms);
    Wrote(ctx, *store, outputlen);
    ctx.Notify(kNotifyList, "sortstore", *store);
  } else if (db.Delete(*store, ctx.now_ms)) {
    Wrote(ctx, *store, 1);
    ctx.Notify(kNotifyGeneric, "del", *store);
  }
  ctx.reply.Integer(static_cast<int64_t>(outputlen));
}

void Sort(CommandContext& ctx, Args args) { SortGeneric(ctx, args, false); }
void SortRo(CommandContext& ctx, Args args) { SortGeneric(ctx, args, true); }

// SORT's keys: the sorted key, and the STORE destination (the last one, as
// the command uses it), skipping the arguments of LIMIT, GET and BY.
std::vector<int> SortKeys(std::span<const std::string> args) {
  std::vector<int> keys = {1};
  int store = 0;
  for (size_t i = 2; i < args.size(); ++i) {
    if (absl::EqualsIgnoreCase(args[i], "limit")) {
      i += 2;
    } else if (absl::EqualsIgnoreCase(args[i], "get") || absl::EqualsIgnoreCase(args[i], "by")) {
      i += 1;
    } else if (absl::EqualsIgnoreCase(args[i], "store") && i + 1 < args.size()) {
      store = static_cast<int>(++i);
    }
  }
  if (store) keys.push_back(store);
  return keys;
}

}  // namespace

void RegisterSortFamily(CommandTable& t) {
  CommandSpec sort = KeyedCommand("sort", -2, kCmdWrite | kCmdDenyOom | kCmdAllShards, Sort, 1, 1,
                                  "generic", "1.0.0");
  sort.keys = SortKeys;
  t.Register(std::move(sort));
  CommandSpec sort_ro =
      KeyedCommand("sort_ro", -2, kCmdReadonly | kCmdAllShards, SortRo, 1, 1, "generic", "7.0.0");
  // Its keys sit at fixed places, yet Redis reports it as movablekeys.
  sort_ro.keys = [](std::span<const std::string>) { return std::vector<int>{1}; };
  t.Register(std::move(sort_ro));
}

}  // namespace shardnode::node
