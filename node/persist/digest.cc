#include "node/persist/digest.h"

#include <array>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/persist/dataset.h"
#include "node/server/server.h"
#include "replication/crc64.h"

namespace shardnode::node::persist {
namespace {

// 192 bits: three CRC-64s of the same bytes with different prefixes.
using Sum = std::array<uint64_t, 3>;

Sum Hash(std::string_view bytes) {
  Sum s;
  for (size_t i = 0; i < s.size(); ++i) {
    const char seed[2] = {'#', static_cast<char>('0' + i)};
    const uint64_t c = replication::Crc64(0, absl::string_view(seed, 2));
    s[i] = replication::Crc64(c, absl::string_view(bytes.data(), bytes.size()));
  }
  return s;
}

void Xor(Sum& acc, const Sum& x) {
  for (size_t i = 0; i < acc.size(); ++i) acc[i] ^= x[i];
}

// Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
void Put(std::string& out, std::string_view s) {
  absl::StrAppend(&out, s.size(), ":");
  out.append(s.data(), s.size());
}

// Order-independent digest of a value: ordered parts (strings, lists, score
// order of sorted sets) are hashed in sequence, unordered ones (sets, hash
// fields) are hashed one by one and xored.
Sum ValueSum(const Value& value, int64_t expire_ms) {
  const replication::RdbValue v = ToRdbValue(value);
  std::string ordered = absl::StrCat("t", static_cast<int>(v.type), "e", expire_ms, "|");
  Sum unordered{};
  switch (v.type) {
    case replication::RdbType::kString:
      Put(ordered, v.str);
      break;
    case replication::RdbType::kList:
      for (const auto& e : v.elements) Put(ordered, e);
      break;
    case replication::RdbType::kSet:
      for (const auto& e : v.elements) Xor(unordered, Hash(e));
      break;
    case replication::RdbType::kHash:
      for (const auto& [f, x] : v.fields) {
        std::string pair;
        Put(pair, f);
        Put(pair, x);
        Xor(unordered, Hash(pair));
      }
      break;
    case replication::RdbType::kZSet:
      for (const auto& [m, score] : v.zset) {
        Put(ordered, m);
        absl::StrAppend(&ordered, absl::StrFormat("%.17g", score), ";");
      }
      break;
    case replication::RdbType::kStream: {
      // Live entries in id order, the counters, and the groups with their
      // pending entries (delivery time and count included, as Redis's
      // digest has them) and consumers.
      const replication::RdbStream& st = v.stream;
      auto id = [&ordered](const replication::RdbStreamId& i) {
        absl::StrAppend(&ordered, i.ms, "-", i.seq, ";");
      };
      for (const auto& node : st.nodes) {
        for (const auto& e : node.entries) {
          if (e.deleted) continue;
          id(e.id);
          for (const auto& f : e.fields) Put(ordered, f);
        }
      }
      id(st.last_id);
      id(st.max_deleted_id);
      absl::StrAppend(&ordered, st.entries_added, ";");
      for (const auto& g : st.groups) {
        Put(ordered, g.name);
        id(g.last_id);
        absl::StrAppend(&ordered, g.entries_read, ";");
        for (const auto& n : g.pel) {
          id(n.id);
          absl::StrAppend(&ordered, n.delivery_time, ",", n.delivery_count, ";");
        }
        for (const auto& c : g.consumers) {
          Put(ordered, c.name);
          for (const auto& i : c.pel) id(i);
        }
      }
      break;
    }
  }
  for (uint64_t u : unordered) absl::StrAppend(&ordered, u, ",");
  return Hash(ordered);
}

std::string Hex(const Sum& s) {
  const std::string full = absl::StrFormat("%016x%016x%016x", s[0], s[1], s[2]);
  return full.substr(0, 40);
}

}  // namespace

std::string DatasetDigest(Server& server) { return DatasetDigest(server.local_shard()); }

std::string DatasetDigest(Shard& shard) {
  Sum total{};
  bool any = false;
  for (int sh = 0; sh < shard.num_keyspaces(); ++sh) {
    Keyspace& ks = shard.keyspace(sh);
    for (int d = 0; d < ks.num_dbs(); ++d) {
      const Db& db = ks.db(d);
      db.ForEach([&](const Entry& e) {
        any = true;
        const Sum v = ValueSum(e.value(), db.ExpireOf(&e));
        std::string rec = absl::StrCat("db", d, "|");
        Put(rec, e.key());
        absl::StrAppend(&rec, v[0], ",", v[1], ",", v[2]);
        Xor(total, Hash(rec));
      });
    }
  }
  return any ? Hex(total) : std::string(40, '0');
}

std::string ValueDigest(const Value& value, int64_t expire_ms) {
  return Hex(ValueSum(value, expire_ms));
}

}  // namespace shardnode::node::persist
