// Geo commands: GEOADD GEODIST GEOHASH GEOPOS GEOSEARCH GEOSEARCHSTORE
// GEORADIUS GEORADIUSBYMEMBER and their _RO forms, with Redis 7.0.15's
// replies and errors. A geo key is a sorted set whose scores are 52-bit
// geohashes (keyspace/types/geohash.h); GEOADD propagates as the ZADD it
// amounts to, as Redis rewrites it.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/type_family.h"
#include "node/keyspace/db.h"
#include "node/keyspace/types/geohash.h"
#include "node/keyspace/types/lookup.h"
#include "node/keyspace/types/partial_sort.h"
#include "node/keyspace/types/type_util.h"
#include "node/keyspace/types/zset_object.h"
#include "node/resp/reply.h"

namespace shardnode::node {
namespace {

using types::Found;

constexpr std::string_view kBadMember = "ERR could not decode requested zset member";

// Reads "lon lat" at args[i], args[i+1]; replies Redis's error when they are
// not numbers or lie outside the geo limits.
bool ParseLonLat(CommandContext& ctx, Args args, size_t i, double* lon, double* lat) {
  if (!types::ParseDouble(args[i], lon) || !types::ParseDouble(args[i + 1], lat)) {
    ctx.reply.Error(errors::kNotFloat);
    return false;
  }
  if (*lon < geo::kLonMin || *lon > geo::kLonMax || *lat < geo::kLatMin || *lat > geo::kLatMax) {
    char buf[160];
    std::snprintf(buf, sizeof(buf), "ERR invalid longitude,latitude pair %f,%f", *lon, *lat);
    ctx.reply.Error(buf);
    return false;
  }
  return true;
}

// A unit's size in metres, or -1 after replying the error.
double ParseUnit(CommandContext& ctx, const std::string& u) {
  if (absl::EqualsIgnoreCase(u, "m")) return 1;
  if (absl::EqualsIgnoreCase(u, "km")) return 1000;
  if (absl::EqualsIgnoreCase(u, "ft")) return 0.3048;
  if (absl::EqualsIgnoreCase(u, "mi")) return 1609.34;
  ctx.reply.Error("ERR unsupported unit provided. please use M, KM, FT, MI");
  return -1;
}

// "radius unit" at args[i].
bool ParseRadius(CommandContext& ctx, Args args, size_t i, geo::Shape* s) {
  double r;
  if (!types::ParseDouble(args[i], &r)) {
    ctx.reply.Error("ERR need numeric radius");
    return false;
  }
  if (r < 0) {
    ctx.reply.Error("ERR radius cannot be negative");
    return false;
  }
  s->radius = r;
  const double unit = ParseUnit(ctx, args[i + 1]);
  if (unit < 0) return false;
  s->to_meters = unit;
  return true;
}

// "width height unit" at args[i].
bool ParseBox(CommandContext& ctx, Args args, size_t i, geo::Shape* s) {
  double w, h;
  if (!types::ParseDouble(args[i], &w)) {
    ctx.reply.Error("ERR need numeric width");
    return false;
  }
  if (!types::ParseDouble(args[i + 1], &h)) {
    ctx.reply.Error("ERR need numeric height");
    return false;
  }
  if (h < 0 || w < 0) {
    ctx.reply.Error("ERR height or width cannot be negative");
    return false;
  }
  s->width = w;
  s->height = h;
  const double unit = ParseUnit(ctx, args[i + 2]);
  if (unit < 0) return false;
  s->to_meters = unit;
  return true;
}

bool MemberLonLat(const ZSetObject& z, std::string_view member, double* lon, double* lat) {
  const auto score = z.Score(member);
  return score && geo::Decode(*score, lon, lat);
}

// A coordinate as Redis prints it (addReplyHumanLongDouble): a bulk string in
// RESP2, a double in RESP3.
void ReplyCoord(CommandContext& ctx, double v) {
  const std::string text = resp::FormatLongDouble(v);
  if (ctx.reply.protocol() > 2) {
    ctx.reply.Raw(absl::StrCat(",", text, "\r\n"));
  } else {
    ctx.reply.Bulk(text);
  }
}

// --- GEOADD ---

void GeoAdd(CommandContext& ctx, Args args) {
  bool nx = false, xx = false, ch = false;
  size_t first = 2;
  for (; first < args.size(); ++first) {
    const std::string& o = args[first];
    if (absl::EqualsIgnoreCase(o, "nx")) {
      nx = true;
    } else if (absl::EqualsIgnoreCase(o, "xx")) {
      xx = true;
    } else if (absl::EqualsIgnoreCase(o, "ch")) {
      ch = true;
    } else {
      break;
    }
  }
  const size_t rest = args.size() - first;
  // Zero triplets passes this test and fails as the ZADD it becomes would.
  if (rest % 3 != 0 || (xx && nx) || rest == 0) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const size_t n = rest / 3;
  // Redis runs GEOADD as ZADD key [options] score member...; so is it
  // propagated.
  std::vector<std::string> zadd;
  zadd.reserve(first + n * 2);
  zadd.emplace_back("zadd");
  for (size_t i = 1; i < first; ++i) zadd.push_back(args[i]);
  std::vector<uint64_t> scores(n);
  for (size_t j = 0; j < n; ++j) {
    double lon, lat;
    if (!ParseLonLat(ctx, args, first + j * 3, &lon, &lat)) return;
    scores[j] = geo::ScoreOf(lon, lat);
    zadd.push_back(absl::StrCat(scores[j]));
    zadd.push_back(args[first + j * 3 + 2]);
  }
  const std::string& key = args[1];
  ZSetObject* z = nullptr;
  const Found f = FindTypedOrReply(ctx, key, ValueType::kZSet, false, &z);
  if (f == Found::kWrongType) return;
  int64_t added = 0, updated = 0;
  if (f == Found::kMissing && !xx) {
    z = types::CreateTyped<ZSetObject>(ctx.DbFor(key), key, ctx.now_ms, ValueType::kZSet);
  }
  if (z != nullptr) {
    for (size_t j = 0; j < n; ++j) {
      const std::string& m = args[first + j * 3 + 2];
      const double s = static_cast<double>(scores[j]);
      if (const auto cur = z->Score(m)) {
        if (nx || *cur == s) continue;
        z->Update(m, s);
        ++updated;
      } else if (!xx) {
        z->Insert(m, s);
        ++added;
      }
    }
    if (z->Size() == 0) ctx.DbFor(key).Delete(key, ctx.now_ms);
  }
  if (added || updated) {
    Wrote(ctx, key, added + updated);
    // Redis runs GEOADD as a ZADD: its event is ZADD's.
    ctx.Notify(kNotifyZset, "zadd", key);
    ctx.propagate_as = std::move(zadd);
  }
  ctx.reply.Integer(ch ? added + updated : added);
}

// --- GEODIST GEOHASH GEOPOS ---

void GeoDist(CommandContext& ctx, Args args) {
  double to_meters = 1;
  if (args.size() == 5) {
    to_meters = ParseUnit(ctx, args[4]);
    if (to_meters < 0) return;
  } else if (args.size() > 5) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  ZSetObject* z = nullptr;
  const Found f = FindTypedOrReply(ctx, args[1], ValueType::kZSet, true, &z);
  if (f == Found::kWrongType) return;
  double lon1, lat1, lon2, lat2;
  if (f == Found::kMissing || !MemberLonLat(*z, args[2], &lon1, &lat1) ||
      !MemberLonLat(*z, args[3], &lon2, &lat2)) {
    ctx.reply.NullBulk();
    return;
  }
  ctx.reply.Bulk(geo::FormatDistance(geo::Distance(lon1, lat1, lon2, lat2) / to_meters));
}

void GeoHash(CommandContext& ctx, Args args) {
  ZSetObject* z = nullptr;
  const Found f = FindTypedOrReply(ctx, args[1], ValueType::kZSet, true, &z);
  if (f == Found::kWrongType) return;
  ctx.reply.ArrayHeader(args.size() - 2);
  std::string hash;
  for (size_t i = 2; i < args.size(); ++i) {
    const auto score = f == Found::kOk ? z->Score(args[i]) : std::nullopt;
    if (score && geo::StandardHash(*score, &hash)) {
      ctx.reply.Bulk(hash);
    } else {
      ctx.reply.NullBulk();
    }
  }
}

void GeoPos(CommandContext& ctx, Args args) {
  ZSetObject* z = nullptr;
  const Found f = FindTypedOrReply(ctx, args[1], ValueType::kZSet, true, &z);
  if (f == Found::kWrongType) return;
  ctx.reply.ArrayHeader(args.size() - 2);
  for (size_t i = 2; i < args.size(); ++i) {
    double lon, lat;
    if (f == Found::kOk && MemberLonLat(*z, args[i], &lon, &lat)) {
      ctx.reply.ArrayHeader(2);
      ReplyCoord(ctx, lon);
      ReplyCoord(ctx, lat);
    } else {
      ctx.reply.NullArray();
    }
  }
}

// --- Searches ---

enum SearchFlags : unsigned {
  kByCoords = 1,     // GEORADIUS: lon lat radius unit
  kByMember = 2,     // GEORADIUSBYMEMBER: member radius unit
  kNoStore = 4,      // the _RO forms
  kSearch = 8,       // GEOSEARCH's FROM*/BY* syntax
  kSearchStore = 16  // GEOSEARCHSTORE dst src ...
};

struct Point {
  std::string member;
  double score, lon, lat, dist;
};

// The members of `z` with scores in [min, max) that lie inside the shape,
// appended to *out until it holds `limit` (0: no limit).
void PointsInRange(const ZSetObject& z, double min, double max, const geo::Shape& shape,
                   size_t limit, std::vector<Point>* out) {
  const size_t lo = z.CountBelow(min, false);
  const size_t hi = z.CountBelow(max, false);
  if (lo >= hi) return;
  bool full = false;  // the limit was reached: the rest is skipped
  z.Range(lo, hi - 1, false, [&](std::string_view member, double score) {
    if (full) return;
    Point p;
    if (geo::Within(shape, score, &p.lon, &p.lat, &p.dist)) {
      p.member = std::string(member);
      p.score = score;
      out->push_back(std::move(p));
    }
    if (limit && out->size() >= limit) full = true;
  });
}

// Redis's walk of the 3x3 cells: empty cells and a cell equal to the one
// just scanned (huge radii make neighbours coincide) are skipped.
std::vector<Point> Search(const ZSetObject& z, const geo::Shape& shape, size_t limit) {
  std::vector<Point> out;
  const auto cells = geo::SearchCells(shape);
  int last = 0;
  for (int i = 0; i < 9; ++i) {
    if (cells[i].empty()) continue;
    if (last && cells[i] == cells[last]) continue;
    if (!out.empty() && limit && out.size() >= limit) break;
    uint64_t min, max;
    geo::ScoreRange(cells[i], &min, &max);
    PointsInRange(z, static_cast<double>(min), static_cast<double>(max), shape, limit, &out);
    last = i;
  }
  return out;
}

void GeoSearchGeneric(CommandContext& ctx, Args args, size_t src_idx, unsigned flags) {
  const std::string& src = args[src_idx];
  ZSetObject* z = nullptr;
  const Found f = FindTypedOrReply(ctx, src, ValueType::kZSet, true, &z);
  if (f == Found::kWrongType) return;
  const std::string* store = nullptr;
  bool storedist = false;
  geo::Shape shape;
  size_t base = 0;
  if (flags & kByCoords) {
    base = 6;
    if (!ParseLonLat(ctx, args, 2, &shape.lon, &shape.lat)) return;
    if (!ParseRadius(ctx, args, 4, &shape)) return;
  } else if (flags & kByMember) {
    base = 5;
    // Without the key Redis only parses the options (and replies empty).
    if (z != nullptr) {
      if (!MemberLonLat(*z, args[2], &shape.lon, &shape.lat)) {
        ctx.reply.Error(kBadMember);
        return;
      }
      if (!ParseRadius(ctx, args, 3, &shape)) return;
    }
  } else {
    base = 2;
    if (flags & kSearchStore) {
      base = 3;
      store = &args[1];
    }
  }

  bool withdist = false, withhash = false, withcoord = false, any = false;
  bool frommember = false, fromloc = false, byradius = false, bybox = false;
  int sort = 0;  // 0 none, 1 asc, 2 desc
  int64_t count = 0;
  const bool search = flags & kSearch;
  const bool can_store = !(flags & kNoStore) && !search;
  for (size_t i = base; i < args.size(); ++i) {
    const std::string& a = args[i];
    const size_t left = args.size() - i - 1;  // arguments after this one
    if (absl::EqualsIgnoreCase(a, "withdist")) {
      withdist = true;
    } else if (absl::EqualsIgnoreCase(a, "withhash")) {
      withhash = true;
    } else if (absl::EqualsIgnoreCase(a, "withcoord")) {
      withcoord = true;
    } else if (absl::EqualsIgnoreCase(a, "any")) {
      any = true;
    } else if (absl::EqualsIgnoreCase(a, "asc")) {
      sort = 1;
    } else if (absl::EqualsIgnoreCase(a, "desc")) {
      sort = 2;
    } else if (absl::EqualsIgnoreCase(a, "count") && left >= 1) {
      if (!ParseLong(args[i + 1], &count, ctx)) return;
      if (count <= 0) {
        ctx.reply.Error("ERR COUNT must be > 0");
        return;
      }
      ++i;
    } else if (absl::EqualsIgnoreCase(a, "store") && left >= 1 && can_store) {
      store = &args[++i];
      storedist = false;
    } else if (absl::EqualsIgnoreCase(a, "storedist") && left >= 1 && can_store) {
      store = &args[++i];
      storedist = true;
    } else if (absl::EqualsIgnoreCase(a, "storedist") && search && (flags & kSearchStore)) {
      storedist = true;
    } else if (absl::EqualsIgnoreCase(a, "frommember") && left >= 1 && search && !fromloc) {
      if (z != nullptr && !MemberLonLat(*z, args[i + 1], &shape.lon, &shape.lat)) {
        ctx.reply.Error(kBadMember);
        return;
      }
      frommember = true;
      ++i;
    } else if (absl::EqualsIgnoreCase(a, "fromlonlat") && left >= 2 && search && !frommember) {
      if (!ParseLonLat(ctx, args, i + 1, &shape.lon, &shape.lat)) return;
      fromloc = true;
      i += 2;
    } else if (absl::EqualsIgnoreCase(a, "byradius") && left >= 2 && search && !bybox) {
      if (!ParseRadius(ctx, args, i + 1, &shape)) return;
      shape.box = false;
      byradius = true;
      i += 2;
    } else if (absl::EqualsIgnoreCase(a, "bybox") && left >= 3 && search && !byradius) {
      if (!ParseBox(ctx, args, i + 1, &shape)) return;
      shape.box = true;
      bybox = true;
      i += 3;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  if (store && (withdist || withhash || withcoord)) {
    ctx.reply.Error(absl::StrCat(
        "ERR ", (flags & kSearchStore) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS",
        " is not compatible with WITHDIST, WITHHASH and WITHCOORD options"));
    return;
  }
  if (search && !(frommember || fromloc)) {
    ctx.reply.Error(
        absl::StrCat("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ", args[0]));
    return;
  }
  if (search && !(byradius || bybox)) {
    ctx.reply.Error(
        absl::StrCat("ERR exactly one of BYRADIUS and BYBOX can be specified for ", args[0]));
    return;
  }
  if (any && !count) {
    ctx.reply.Error("ERR the ANY argument requires COUNT argument");
    return;
  }
  if (z == nullptr) {
    if (store) {
      if (ctx.DbFor(*store).Delete(*store, ctx.now_ms)) {
        Wrote(ctx, *store, 1);
        ctx.Notify(kNotifyGeneric, "del", *store);
      }
      ctx.reply.Integer(0);
    } else {
      ctx.reply.ArrayHeader(0);
    }
    return;
  }
  // COUNT keeps the nearest ones, unless ANY.
  if (count != 0 && sort == 0 && !any) sort = 1;

  std::vector<Point> found = Search(*z, shape, any ? static_cast<size_t>(count) : 0);
  if (found.empty() && store == nullptr) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  const size_t returned = (count == 0 || found.size() < static_cast<uint64_t>(count))
                              ? found.size()
                              : static_cast<size_t>(count);
  if (sort != 0) {
    // Redis sorts everything with qsort (glibc's is a stable merge sort)
    // or, when COUNT cuts the result, only the first ones with its partial
    // quicksort, whose order of equal distances is its own.
    const int sign = sort == 1 ? 1 : -1;
    auto cmp = [sign](const Point& a, const Point& b) {
      return sign * (a.dist > b.dist ? 1 : (a.dist == b.dist ? 0 : -1));
    };
    if (returned == found.size()) {
      std::stable_sort(found.begin(), found.end(),
                       [&](const Point& a, const Point& b) { return cmp(a, b) < 0; });
    } else if (returned > 0) {
      types::PartialQuickSort(found, cmp, 0, returned - 1);
    }
  }

  if (store == nullptr) {
    const size_t extras = (withdist ? 1 : 0) + (withhash ? 1 : 0) + (withcoord ? 1 : 0);
    ctx.reply.ArrayHeader(returned);
    for (size_t i = 0; i < returned; ++i) {
      const Point& p = found[i];
      if (extras) ctx.reply.ArrayHeader(extras + 1);
      ctx.reply.Bulk(p.member);
      if (withdist) ctx.reply.Bulk(geo::FormatDistance(p.dist / shape.to_meters));
      if (withhash) ctx.reply.Integer(static_cast<int64_t>(p.score));
      if (withcoord) {
        ctx.reply.ArrayHeader(2);
        ReplyCoord(ctx, p.lon);
        ReplyCoord(ctx, p.lat);
      }
    }
    return;
  }
  Db& db = ctx.DbFor(*store);
  if (returned > 0) {
    auto out = std::make_unique<ZSetObject>();
    for (size_t i = 0; i < returned; ++i) {
      const Point& p = found[i];
      const double score = storedist ? p.dist / shape.to_meters : p.score;
      if (const auto cur = out->Score(p.member)) {
        if (*cur != score) out->Update(p.member, score);
      } else {
        out->Insert(p.member, score);
      }
    }
    db.Set(*store, Value::FromObject(ValueType::kZSet, std::move(out)), ctx.now_ms);
    Wrote(ctx, *store, returned);
    ctx.Notify(kNotifyZset, search ? "geosearchstore" : "georadiusstore", *store);
  } else if (db.Delete(*store, ctx.now_ms)) {
    Wrote(ctx, *store, 1);
    ctx.Notify(kNotifyGeneric, "del", *store);
  }
  ctx.reply.Integer(static_cast<int64_t>(returned));
}

void GeoRadius(CommandContext& ctx, Args args) { GeoSearchGeneric(ctx, args, 1, kByCoords); }
void GeoRadiusRo(CommandContext& ctx, Args args) {
  GeoSearchGeneric(ctx, args, 1, kByCoords | kNoStore);
}
void GeoRadiusByMember(CommandContext& ctx, Args args) {
  GeoSearchGeneric(ctx, args, 1, kByMember);
}
void GeoRadiusByMemberRo(CommandContext& ctx, Args args) {
  GeoSearchGeneric(ctx, args, 1, kByMember | kNoStore);
}
void GeoSearch(CommandContext& ctx, Args args) { GeoSearchGeneric(ctx, args, 1, kSearch); }
void GeoSearchStore(CommandContext& ctx, Args args) {
  GeoSearchGeneric(ctx, args, 2, kSearch | kSearchStore);
}

// GEORADIUS[BYMEMBER]'s keys: the source, and the key after each STORE or
// STOREDIST from the first option on (the last one wins, as in Redis).
std::vector<int> RadiusKeys(std::span<const std::string> args, size_t first_option) {
  std::vector<int> keys = {1};
  for (size_t i = first_option; i + 1 < args.size(); ++i) {
    if (absl::EqualsIgnoreCase(args[i], "store") || absl::EqualsIgnoreCase(args[i], "storedist")) {
      keys.push_back(static_cast<int>(i + 1));
      break;
    }
  }
  return keys;
}
std::vector<int> GeoRadiusKeys(std::span<const std::string> args) { return RadiusKeys(args, 6); }
std::vector<int> GeoRadiusByMemberKeys(std::span<const std::string> args) {
  return RadiusKeys(args, 5);
}

CommandSpec Spec(std::string name, int arity, uint32_t flags, Handler h, int first, int last,
                 std::string_view since, KeysFn keys = nullptr) {
  CommandSpec spec = KeyedCommand(std::move(name), arity, flags, h, first, last, "geo", since);
  // Movable keys that still print their fixed part (1 1 1), as Redis does.
  spec.keys = keys;
  return spec;
}

}  // namespace

void RegisterGeoFamily(CommandTable& t) {
  constexpr uint32_t kW = kCmdWrite | kCmdDenyOom;
  constexpr uint32_t kR = kCmdReadonly;
  t.Register(Spec("geoadd", -5, kW, GeoAdd, 1, 1, "3.2.0"));
  t.Register(Spec("geodist", -4, kR, GeoDist, 1, 1, "3.2.0"));
  t.Register(Spec("geohash", -2, kR, GeoHash, 1, 1, "3.2.0"));
  t.Register(Spec("geopos", -2, kR, GeoPos, 1, 1, "3.2.0"));
  t.Register(Spec("geosearch", -7, kR, GeoSearch, 1, 1, "6.2.0"));
  t.Register(Spec("geosearchstore", -8, kW, GeoSearchStore, 1, 2, "6.2.0"));
  t.Register(Spec("georadius", -6, kW, GeoRadius, 1, 1, "3.2.0", GeoRadiusKeys));
  t.Register(Spec("georadius_ro", -6, kR, GeoRadiusRo, 1, 1, "3.2.10"));
  t.Register(
      Spec("georadiusbymember", -5, kW, GeoRadiusByMember, 1, 1, "3.2.0", GeoRadiusByMemberKeys));
  t.Register(Spec("georadiusbymember_ro", -5, kR, GeoRadiusByMemberRo, 1, 1, "3.2.10"));
}

}  // namespace shardnode::node
