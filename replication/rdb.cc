#include "replication/rdb.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <map>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/strings.h"
#include "replication/crc64.h"
#include "replication/internal/intset.h"
#include "replication/internal/listpack.h"
#include "replication/internal/numbers.h"
#include "replication/internal/ziplist.h"
#include "replication/lzf.h"

namespace shardnode::replication {
namespace {

static_assert(std::endian::native == std::endian::little ||
              std::endian::native == std::endian::big);

// Opcodes.
constexpr uint8_t kOpFunction2 = 245;
constexpr uint8_t kOpFunctionPreGa = 246;
constexpr uint8_t kOpModuleAux = 247;
constexpr uint8_t kOpIdle = 248;
constexpr uint8_t kOpFreq = 249;
constexpr uint8_t kOpAux = 250;
constexpr uint8_t kOpResizeDb = 251;
constexpr uint8_t kOpExpireMs = 252;
constexpr uint8_t kOpExpireSeconds = 253;
constexpr uint8_t kOpSelectDb = 254;
constexpr uint8_t kOpEof = 255;

// Object types.
constexpr uint8_t kTypeString = 0;
constexpr uint8_t kTypeList = 1;
constexpr uint8_t kTypeSet = 2;
constexpr uint8_t kTypeZSet = 3;
constexpr uint8_t kTypeHash = 4;
constexpr uint8_t kTypeZSet2 = 5;
constexpr uint8_t kTypeModule = 6;
constexpr uint8_t kTypeModule2 = 7;
constexpr uint8_t kTypeHashZipmap = 9;
constexpr uint8_t kTypeListZiplist = 10;
constexpr uint8_t kTypeSetIntset = 11;
constexpr uint8_t kTypeZSetZiplist = 12;
constexpr uint8_t kTypeHashZiplist = 13;
constexpr uint8_t kTypeListQuicklist = 14;
constexpr uint8_t kTypeStreamListpacks = 15;
constexpr uint8_t kTypeHashListpack = 16;
constexpr uint8_t kTypeZSetListpack = 17;
constexpr uint8_t kTypeListQuicklist2 = 18;
constexpr uint8_t kTypeStreamListpacks2 = 19;

// Special string encodings (after a 11xxxxxx length byte).
constexpr uint8_t kEncInt8 = 0;
constexpr uint8_t kEncInt16 = 1;
constexpr uint8_t kEncInt32 = 2;
constexpr uint8_t kEncLzf = 3;

// Quicklist v2 node containers.
constexpr uint64_t kContainerPlain = 1;
constexpr uint64_t kContainerPacked = 2;
// Redis puts a list element this large in a node of its own, stored raw.
constexpr size_t kPlainNodeThreshold = size_t{1} << 30;

constexpr absl::string_view kUnexpectedEof = "Unexpected EOF reading RDB file";

uint64_t SaturatingAdd(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

uint64_t LoadLE(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

void StoreLE(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// Reads from the buffered bytes at `pos`. Each read either succeeds, runs
// short (the buffer must grow to need() bytes, counted from the start of
// the stream, before a retry can get further) or fails with error().
class Cursor {
 public:
  Cursor(absl::string_view buf, size_t pos, uint64_t base) : buf_(buf), pos_(pos), base_(base) {}

  size_t pos() const { return pos_; }
  uint64_t offset() const { return base_ + pos_; }
  bool is_short() const { return short_; }
  uint64_t need() const { return need_; }
  // OK when the last failed read merely ran short.
  const absl::Status& error() const { return error_; }

  bool Fail(absl::Status status) {
    error_ = std::move(status);
    return false;
  }

  bool Bytes(uint64_t n, absl::string_view* out) {
    if (buf_.size() - pos_ < n) {
      short_ = true;
      need_ = SaturatingAdd(offset(), n);
      return false;
    }
    *out = buf_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  bool Byte(uint8_t* b) {
    absl::string_view s;
    if (!Bytes(1, &s)) return false;
    *b = static_cast<uint8_t>(s[0]);
    return true;
  }

  bool FixedLE(int bytes, uint64_t* v) {
    absl::string_view s;
    if (!Bytes(bytes, &s)) return false;
    *v = LoadLE(s.data(), bytes);
    return true;
  }

  // An RDB length, or (when `encoded` is set on return) a special string
  // encoding number.
  bool Len(uint64_t* len, bool* encoded) {
    uint64_t at = offset();
    uint8_t b;
    if (!Byte(&b)) return false;
    *encoded = false;
    switch (b >> 6) {
      case 0:
        *len = b & 0x3F;
        return true;
      case 1: {
        uint8_t b2;
        if (!Byte(&b2)) return false;
        *len = static_cast<uint64_t>(b & 0x3F) << 8 | b2;
        return true;
      }
      case 3:
        *encoded = true;
        *len = b & 0x3F;
        return true;
      default:
        break;
    }
    if (b != 0x80 && b != 0x81) {
      return Fail(absl::DataLossError(
          absl::StrCat("Unknown length encoding ", static_cast<int>(b), " at offset ", at)));
    }
    int bytes = b == 0x80 ? 4 : 8;
    absl::string_view s;
    if (!Bytes(bytes, &s)) return false;
    uint64_t v = 0;
    for (char c : s) v = v << 8 | static_cast<uint8_t>(c);
    *len = v;
    return true;
  }

  // A length where a string encoding is not allowed (counts, db numbers).
  bool Length(uint64_t* len) {
    uint64_t at = offset();
    bool encoded;
    if (!Len(len, &encoded)) return false;
    if (encoded) {
      return Fail(
          absl::DataLossError(absl::StrCat("Unexpected string encoding where a length "
                                           "belongs at offset ",
                                           at)));
    }
    return true;
  }

  bool String(std::string* out) {
    uint64_t at = offset();
    uint64_t len;
    bool encoded;
    if (!Len(&len, &encoded)) return false;
    absl::string_view s;
    if (!encoded) {
      if (!Bytes(len, &s)) return false;
      out->assign(s.data(), s.size());
      return true;
    }
    switch (len) {
      case kEncInt8:
      case kEncInt16:
      case kEncInt32: {
        int bytes = len == kEncInt8 ? 1 : len == kEncInt16 ? 2 : 4;
        uint64_t raw;
        if (!FixedLE(bytes, &raw)) return false;
        int64_t v = bytes == 1   ? static_cast<int8_t>(raw)
                    : bytes == 2 ? static_cast<int16_t>(raw)
                                 : static_cast<int32_t>(raw);
        *out = internal::Int64ToString(v);
        return true;
      }
      case kEncLzf: {
        uint64_t clen, ulen;
        if (!Length(&clen) || !Length(&ulen) || !Bytes(clen, &s)) return false;
        if (!LzfDecompress(s, ulen, out).ok()) {
          return Fail(
              absl::DataLossError(absl::StrCat("Invalid LZF compressed string at offset ", at)));
        }
        return true;
      }
      default:
        return Fail(absl::DataLossError(
            absl::StrCat("Unknown RDB string encoding type ", len, " at offset ", at)));
    }
  }

  bool BinaryDouble(double* d) {
    uint64_t raw;
    if (!FixedLE(8, &raw)) return false;
    *d = std::bit_cast<double>(raw);
    return true;
  }

  // The text form of RDB_TYPE_ZSET: a length byte (253 nan, 254 +inf,
  // 255 -inf) and that many characters.
  bool TextDouble(double* d) {
    uint64_t at = offset();
    uint8_t len;
    if (!Byte(&len)) return false;
    switch (len) {
      case 253:
        *d = std::nan("");
        return true;
      case 254:
        *d = HUGE_VAL;
        return true;
      case 255:
        *d = -HUGE_VAL;
        return true;
      default:
        break;
    }
    absl::string_view s;
    if (!Bytes(len, &s)) return false;
    if (!internal::ParseScore(s, d)) {
      return Fail(absl::DataLossError(absl::StrCat("Invalid double value at offset ", at)));
    }
    return true;
  }

 private:
  absl::string_view buf_;
  size_t pos_;
  uint64_t base_;
  bool short_ = false;
  uint64_t need_ = 0;
  absl::Status error_;
};

std::string ValueTypeName(uint8_t type) {
  switch (type) {
    case kTypeModule:
    case kTypeModule2:
      return "module";
    case kTypeStreamListpacks:
    case kTypeStreamListpacks2:
      return "stream";
    default:
      return "unknown";
  }
}

bool IsSupportedType(uint8_t t) {
  return t <= kTypeZSet2 || (t >= kTypeHashZipmap && t <= kTypeHashZiplist) ||
         (t >= kTypeListQuicklist && t <= kTypeStreamListpacks2);
}

bool IsUnsupportedType(uint8_t t) { return t == kTypeModule || t == kTypeModule2; }

// A stream id as Redis encodes it in radix tree keys and PEL records: ms
// then seq, each u64 big endian.
RdbStreamId DecodeStreamId(absl::string_view raw) {
  RdbStreamId id;
  for (int i = 0; i < 8; ++i) id.ms = (id.ms << 8) | static_cast<uint8_t>(raw[i]);
  for (int i = 8; i < 16; ++i) id.seq = (id.seq << 8) | static_cast<uint8_t>(raw[i]);
  return id;
}

void EncodeStreamId(std::string* out, const RdbStreamId& id) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((id.ms >> (8 * i)) & 0xFF));
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((id.seq >> (8 * i)) & 0xFF));
}

absl::Status StreamLpError(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("Stream listpack integrity check failed: ", what));
}

// `s` (an encoding's check, "Ziplist integrity check failed: why") reworded
// with the name Redis's rdbLoadObject gives the check for the type being
// loaded ("Hash ziplist integrity check failed: why"): Redis's tests and
// operators grep for those names.
absl::Status Reword(absl::string_view check, const absl::Status& s) {
  if (s.ok()) return s;
  constexpr absl::string_view kFailed = " integrity check failed: ";
  absl::string_view why = s.message();
  if (const size_t at = why.find(kFailed); at != absl::string_view::npos) {
    why.remove_prefix(at + kFailed.size());
  }
  return absl::Status(s.code(), absl::StrCat(check, kFailed, why));
}

// Decodes one stream node: the listpack `lp` under master id `master`
// (t_stream.c's layout: count, deleted, master field count, master fields,
// 0; then per entry flags, ms delta, seq delta, [field count], [fields]
// values, lp-count).
absl::Status DecodeStreamNode(const RdbStreamId& master, absl::string_view lp,
                              RdbStreamNode* node) {
  std::vector<std::string> el;
  absl::Status s = internal::DecodeListpack(lp, &el);
  if (!s.ok()) return Reword("Stream listpack", s);
  size_t i = 0;
  auto next_int = [&](int64_t* v) {
    if (i >= el.size()) return false;
    return base::ParseStrictInt64(el[i++], v);
  };
  int64_t count, deleted, nmaster, zero;
  if (!next_int(&count) || !next_int(&deleted) || !next_int(&nmaster) || nmaster < 0 ||
      el.size() - i < static_cast<uint64_t>(nmaster)) {
    return StreamLpError("master entry");
  }
  if (count + deleted == 0) return absl::DataLossError("Empty listpack inside stream");
  node->master = master;
  node->master_fields.assign(el.begin() + static_cast<ptrdiff_t>(i),
                             el.begin() + static_cast<ptrdiff_t>(i + nmaster));
  i += static_cast<size_t>(nmaster);
  if (!next_int(&zero) || zero != 0) return StreamLpError("master terminator");
  int64_t live = 0, dead = 0;
  while (i < el.size()) {
    int64_t flags, ms_delta, seq_delta, nf = 0, lp_count;
    if (!next_int(&flags) || !next_int(&ms_delta) || !next_int(&seq_delta)) {
      return StreamLpError("entry id");
    }
    RdbStreamEntry e;
    e.id.ms = master.ms + static_cast<uint64_t>(ms_delta);
    e.id.seq = master.seq + static_cast<uint64_t>(seq_delta);
    e.deleted = flags & 1;
    if (flags & 2) {
      if (el.size() - i < static_cast<uint64_t>(nmaster)) return StreamLpError("entry values");
      for (int64_t f = 0; f < nmaster; ++f) {
        e.fields.push_back(node->master_fields[static_cast<size_t>(f)]);
        e.fields.push_back(el[i++]);
      }
    } else {
      if (!next_int(&nf) || nf < 0 || (el.size() - i) / 2 < static_cast<uint64_t>(nf)) {
        return StreamLpError("entry fields");
      }
      for (int64_t f = 0; f < nf * 2; ++f) e.fields.push_back(el[i++]);
    }
    // lp-count: the entry's own element count (flags, two id deltas, the
    // fields' count, names and values when it has its own fields).
    const int64_t expected = (flags & 2) ? nmaster + 3 : 2 * nf + 4;
    if (!next_int(&lp_count) || lp_count != expected) return StreamLpError("entry lp-count");
    (e.deleted ? dead : live) += 1;
    node->entries.push_back(std::move(e));
  }
  if (live != count || dead != deleted) return StreamLpError("entry counts");
  return absl::OkStatus();
}

// Fills `pairs` from a flat field/value (or member/score) sequence.
absl::Status Pair(std::vector<std::string>&& flat,
                  std::vector<std::pair<std::string, std::string>>* pairs) {
  if (flat.size() % 2 != 0) return absl::DataLossError("odd number of elements in a pair list");
  pairs->reserve(pairs->size() + flat.size() / 2);
  for (size_t i = 0; i < flat.size(); i += 2) {
    pairs->emplace_back(std::move(flat[i]), std::move(flat[i + 1]));
  }
  return absl::OkStatus();
}

absl::Status ScoresFromText(std::vector<std::pair<std::string, std::string>>&& pairs,
                            std::vector<std::pair<std::string, double>>* zset) {
  zset->reserve(pairs.size());
  for (auto& [member, text] : pairs) {
    double score;
    if (!internal::ParseScore(text, &score)) {
      return absl::DataLossError(absl::StrCat("Invalid zset score '", absl::CHexEscape(text), "'"));
    }
    zset->emplace_back(std::move(member), score);
  }
  return absl::OkStatus();
}

template <typename Range, typename KeyOf>
bool HasDuplicates(const Range& range, KeyOf key_of);

// Field/value (member/score) pairs of a ziplist or listpack: an even count
// and no field twice, as Redis's ziplistPairsConvertAndValidateIntegrity and
// lpPairsValidateIntegrityAndDups check.
absl::Status DecodePairs(bool ziplist, absl::string_view blob,
                         std::vector<std::pair<std::string, std::string>>* pairs) {
  std::vector<std::string> flat;
  absl::Status s =
      ziplist ? internal::DecodeZiplist(blob, &flat) : internal::DecodeListpack(blob, &flat);
  if (!s.ok()) return s;
  s = Pair(std::move(flat), pairs);
  if (!s.ok()) return s;
  if (HasDuplicates(*pairs, [](const auto& p) { return absl::string_view(p.first); })) {
    return absl::DataLossError(ziplist ? "ziplist with dup elements"
                                       : "listpack with dup elements");
  }
  return absl::OkStatus();
}

// Decodes the string-wrapped encodings (types 9..13, 16, 17) into `value`.
// Errors carry the name of Redis's check for the type.
absl::Status DecodeBlob(uint8_t type, absl::string_view blob, RdbValue* value) {
  std::vector<std::pair<std::string, std::string>> pairs;
  absl::Status s;
  switch (type) {
    case kTypeHashZipmap:
      value->type = RdbType::kHash;
      s = Reword("Zipmap", internal::DecodeZipmap(blob, &value->fields));
      if (s.ok() &&
          HasDuplicates(value->fields, [](const auto& p) { return absl::string_view(p.first); })) {
        return absl::DataLossError("Hash zipmap with dup elements");
      }
      return s;
    case kTypeListZiplist:
      value->type = RdbType::kList;
      return Reword("List ziplist", internal::DecodeZiplist(blob, &value->elements));
    case kTypeSetIntset:
      value->type = RdbType::kSet;
      return internal::DecodeIntset(blob, &value->elements);
    case kTypeHashZiplist:
    case kTypeHashListpack:
      value->type = RdbType::kHash;
      return Reword(type == kTypeHashZiplist ? "Hash ziplist" : "Hash listpack",
                    DecodePairs(type == kTypeHashZiplist, blob, &value->fields));
    case kTypeZSetZiplist:
    case kTypeZSetListpack: {
      value->type = RdbType::kZSet;
      const absl::string_view check = type == kTypeZSetZiplist ? "Zset ziplist" : "Zset listpack";
      s = Reword(check, DecodePairs(type == kTypeZSetZiplist, blob, &pairs));
      if (!s.ok()) return s;
      return Reword(check, ScoresFromText(std::move(pairs), &value->zset));
    }
    default:
      return absl::InternalError("not a blob type");
  }
}

// True when two items of `range` have equal keys. An open-addressing table
// of indices: no allocation per item, which matters for million-member sets.
template <typename Range, typename KeyOf>
bool HasDuplicates(const Range& range, KeyOf key_of) {
  const size_t n = range.size();
  if (n < 2) return false;
  size_t slots = 4;
  while (slots < 2 * n) slots <<= 1;
  std::vector<size_t> table(slots, 0);  // item index + 1; 0 = empty
  const std::hash<std::string_view> hasher;
  for (size_t i = 0; i < n; ++i) {
    absl::string_view k = key_of(range[i]);
    std::string_view key(k.data(), k.size());
    for (size_t slot = hasher(key) & (slots - 1);; slot = (slot + 1) & (slots - 1)) {
      if (table[slot] == 0) {
        table[slot] = i + 1;
        break;
      }
      absl::string_view other = key_of(range[table[slot] - 1]);
      if (std::string_view(other.data(), other.size()) == key) return true;
    }
  }
  return false;
}

// Checks a decoded value the way Redis does on load; sets *empty for an
// empty collection (skipped, not an error).
absl::Status Validate(const RdbValue& v, bool* empty) {
  *empty = false;
  switch (v.type) {
    case RdbType::kString:
      return absl::OkStatus();
    case RdbType::kList:
      *empty = v.elements.empty();
      return absl::OkStatus();
    case RdbType::kSet:
      *empty = v.elements.empty();
      if (HasDuplicates(v.elements, [](const std::string& s) { return absl::string_view(s); })) {
        return absl::DataLossError("Duplicate set members detected");
      }
      return absl::OkStatus();
    case RdbType::kHash:
      *empty = v.fields.empty();
      if (HasDuplicates(v.fields, [](const auto& p) { return absl::string_view(p.first); })) {
        return absl::DataLossError("Duplicate hash fields detected");
      }
      return absl::OkStatus();
    case RdbType::kStream: {
      uint64_t live = 0;
      for (const RdbStreamNode& n : v.stream.nodes) {
        for (const RdbStreamEntry& e : n.entries) live += !e.deleted;
      }
      if (live != v.stream.length) {
        return absl::DataLossError("Stream length does not match its entries");
      }
      using Id = std::pair<uint64_t, uint64_t>;
      auto has_dup_ids = [](std::vector<Id>& ids) {
        std::sort(ids.begin(), ids.end());
        return std::adjacent_find(ids.begin(), ids.end()) != ids.end();
      };
      // One node per master id (Redis's radix tree key).
      std::vector<Id> masters;
      for (const RdbStreamNode& n : v.stream.nodes) masters.emplace_back(n.master.ms, n.master.seq);
      if (has_dup_ids(masters)) return absl::DataLossError("Listpack re-added with existing key");
      // The consumer groups as Redis's rdbLoadObject checks them.
      if (HasDuplicates(v.stream.groups,
                        [](const RdbStreamGroup& g) { return absl::string_view(g.name); })) {
        return absl::DataLossError("Duplicated consumer group name");
      }
      for (const RdbStreamGroup& g : v.stream.groups) {
        std::vector<Id> pel;
        for (const RdbStreamNack& n : g.pel) pel.emplace_back(n.id.ms, n.id.seq);
        if (has_dup_ids(pel)) return absl::DataLossError("Duplicated global PEL entry");
        if (HasDuplicates(g.consumers,
                          [](const RdbStreamConsumer& c) { return absl::string_view(c.name); })) {
          return absl::DataLossError("Duplicate stream consumer detected.");
        }
        std::vector<Id> owned;
        for (const RdbStreamConsumer& c : g.consumers) {
          for (const RdbStreamId& id : c.pel) {
            if (!std::binary_search(pel.begin(), pel.end(), std::make_pair(id.ms, id.seq))) {
              return absl::DataLossError("Consumer PEL NACK not found in group PEL");
            }
            owned.emplace_back(id.ms, id.seq);
          }
        }
        // Each entry of the group's PEL belongs to exactly one consumer.
        if (has_dup_ids(owned)) return absl::DataLossError("Duplicated consumer PEL entry");
        if (owned.size() != pel.size()) {
          return absl::DataLossError("Stream CG PEL entry without consumer");
        }
      }
      return absl::OkStatus();
    }
    case RdbType::kZSet:
      *empty = v.zset.empty();
      for (const auto& [member, score] : v.zset) {
        if (std::isnan(score)) return absl::DataLossError("Zset with NAN score detected");
      }
      if (HasDuplicates(v.zset, [](const auto& p) { return absl::string_view(p.first); })) {
        return absl::DataLossError("Duplicate zset fields detected");
      }
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------
// Reader

class RdbReader::Impl {
 public:
  // In dump mode the input is one <type><value>, without header, key or EOF.
  explicit Impl(bool dump_mode) : phase_(dump_mode ? Phase::kDumpType : Phase::kHeader) {
    dump_mode_ = dump_mode;
  }

  absl::StatusOr<Progress> Feed(absl::string_view data, RdbHandler* handler);

  absl::Status Finish() const {
    if (!error_.ok()) return error_;
    if (phase_ != Phase::kDone) return absl::DataLossError(kUnexpectedEof);
    return absl::OkStatus();
  }

  absl::string_view Remaining() const {
    if (phase_ != Phase::kDone) return {};
    return absl::string_view(buf_).substr(pos_);
  }
  uint64_t Consumed() const { return base_ + pos_; }
  int version() const { return version_; }
  uint64_t empty_keys_skipped() const { return empty_keys_skipped_; }
  RdbValue TakeDumpValue() { return std::move(entry_.value); }

 private:
  enum class Phase { kHeader, kTop, kValue, kChecksum, kDone, kDumpType };

  // Parses one unit (an opcode with its operands, or one step of a value)
  // from `cur`. Returns an error, or OK with `cur` either advanced past the
  // unit or short.
  absl::Status Step(Cursor& cur, RdbHandler* handler);
  absl::Status StepTop(Cursor& cur, RdbHandler* handler);
  absl::Status StepValue(Cursor& cur, RdbHandler* handler);
  // A stream: its node count, then one node per step, then the metadata
  // and consumer groups in one step.
  absl::Status StepStream(Cursor& cur, RdbHandler* handler);
  absl::Status CompleteValue(RdbHandler* handler);
  absl::Status KeyError(const absl::Status& s) const;

  Phase phase_;
  bool dump_mode_ = false;
  std::string buf_;
  size_t pos_ = 0;     // first unconsumed byte of buf_
  uint64_t base_ = 0;  // stream offset of buf_[0]
  uint64_t need_ = 0;  // stream offset the buffer must reach before retrying
  absl::Status error_;
  uint64_t crc_ = 0;
  int version_ = 0;
  uint64_t db_ = 0;
  int64_t pending_expire_ms_ = -1;
  uint64_t empty_keys_skipped_ = 0;

  // The value in progress.
  uint8_t type_ = 0;
  uint64_t value_offset_ = 0;
  bool have_count_ = false;
  uint64_t remaining_ = 0;
  RdbEntry entry_;
};

absl::StatusOr<RdbReader::Progress> RdbReader::Impl::Feed(absl::string_view data,
                                                          RdbHandler* handler) {
  if (!error_.ok()) return error_;
  // Drop consumed bytes before growing the buffer; what stays is at most
  // one partial unit.
  if (pos_ == buf_.size() || pos_ >= (size_t{64} << 10)) {
    buf_.erase(0, pos_);
    base_ += pos_;
    pos_ = 0;
  }
  buf_.append(data.data(), data.size());
  while (phase_ != Phase::kDone) {
    if (base_ + buf_.size() < need_) return Progress::kNeedMore;
    Cursor cur(buf_, pos_, base_);
    absl::Status s = Step(cur, handler);
    if (!s.ok()) {
      error_ = s;
      return error_;
    }
    if (cur.is_short()) {
      need_ = cur.need();
      return Progress::kNeedMore;
    }
    pos_ = cur.pos();
  }
  return Progress::kDone;
}

absl::Status RdbReader::Impl::Step(Cursor& cur, RdbHandler* handler) {
  const size_t start = cur.pos();
  absl::Status s;
  switch (phase_) {
    case Phase::kHeader: {
      absl::string_view magic;
      if (!cur.Bytes(9, &magic)) return cur.error();
      if (magic.substr(0, 5) != "REDIS") {
        return absl::DataLossError("Wrong signature trying to load DB from file");
      }
      int version = 0;
      for (char c : magic.substr(5)) {
        if (c < '0' || c > '9') {
          return absl::DataLossError(absl::StrCat("Can't handle RDB format version '",
                                                  absl::CHexEscape(magic.substr(5)), "'"));
        }
        version = version * 10 + (c - '0');
      }
      if (version < 1 || version > kRdbVersion) {
        return absl::DataLossError(absl::StrCat("Can't handle RDB format version ", version));
      }
      version_ = version;
      phase_ = Phase::kTop;
      break;
    }
    case Phase::kTop:
      s = StepTop(cur, handler);
      break;
    case Phase::kDumpType: {
      uint8_t type;
      if (!cur.Byte(&type)) return cur.error();
      if (IsUnsupportedType(type)) {
        return absl::UnimplementedError(
            absl::StrCat("Unsupported RDB type ", type, " (", ValueTypeName(type), ")"));
      }
      if (!IsSupportedType(type))
        return absl::DataLossError(absl::StrCat("Unknown RDB type ", type));
      type_ = type;
      value_offset_ = 0;
      have_count_ = false;
      entry_ = RdbEntry();
      phase_ = Phase::kValue;
      break;
    }
    case Phase::kValue:
      s = StepValue(cur, handler);
      break;
    case Phase::kChecksum: {
      uint64_t stored;
      if (!cur.FixedLE(8, &stored)) return cur.error();
      if (stored != 0 && stored != crc_) {
        return absl::DataLossError(
            // Redis's words (its log and redis-check-rdb's), which tools look for.
            absl::StrFormat("Wrong RDB checksum expected: (%x) but got (%x). RDB CRC error", crc_,
                            stored));
      }
      phase_ = Phase::kDone;
      return absl::OkStatus();  // the checksum does not cover itself
    }
    case Phase::kDone:
      return absl::OkStatus();
  }
  if (!s.ok() || cur.is_short()) return s;
  if (!dump_mode_) crc_ = Crc64(crc_, absl::string_view(buf_).substr(start, cur.pos() - start));
  return absl::OkStatus();
}

absl::Status RdbReader::Impl::StepTop(Cursor& cur, RdbHandler* handler) {
  const uint64_t at = cur.offset();
  uint8_t op;
  if (!cur.Byte(&op)) return cur.error();
  uint64_t a, b;
  std::string key, value;
  switch (op) {
    case kOpExpireMs:
      if (!cur.FixedLE(8, &a)) return cur.error();
      pending_expire_ms_ = static_cast<int64_t>(a);
      return absl::OkStatus();
    case kOpExpireSeconds:
      if (!cur.FixedLE(4, &a)) return cur.error();
      pending_expire_ms_ = static_cast<int64_t>(static_cast<int32_t>(a)) * 1000;
      return absl::OkStatus();
    case kOpFreq:
      if (!cur.FixedLE(1, &a)) return cur.error();
      return absl::OkStatus();
    case kOpIdle:
      if (!cur.Length(&a)) return cur.error();
      return absl::OkStatus();
    case kOpEof:
      phase_ = version_ >= 5 ? Phase::kChecksum : Phase::kDone;
      return absl::OkStatus();
    case kOpSelectDb:
      if (!cur.Length(&a)) return cur.error();
      db_ = a;
      return handler->OnSelectDb(a);
    case kOpResizeDb:
      if (!cur.Length(&a) || !cur.Length(&b)) return cur.error();
      return handler->OnResizeDb(a, b);
    case kOpAux:
      if (!cur.String(&key) || !cur.String(&value)) return cur.error();
      return handler->OnAux(key, value);
    case kOpFunction2:
      if (!cur.String(&value)) return cur.error();
      return handler->OnFunction(value);
    case kOpFunctionPreGa:
      return absl::UnimplementedError(absl::StrCat(
          "Unsupported RDB opcode 246 (Redis 7.0 release-candidate functions) at offset ", at));
    case kOpModuleAux:
      return absl::UnimplementedError(
          absl::StrCat("Unsupported RDB opcode 247 (module aux data) at offset ", at));
    default:
      break;
  }
  if (IsUnsupportedType(op)) {
    if (!cur.String(&key)) return cur.error();
    return absl::UnimplementedError(absl::StrCat("Unsupported RDB type ", op, " (",
                                                 ValueTypeName(op), ") for key '",
                                                 absl::CHexEscape(key), "' at offset ", at));
  }
  if (!IsSupportedType(op)) {
    return absl::DataLossError(absl::StrCat("Unknown RDB type ", op, " at offset ", at));
  }
  if (!cur.String(&key)) return cur.error();
  entry_ = RdbEntry();
  entry_.db = db_;
  entry_.key = std::move(key);
  entry_.expire_ms = pending_expire_ms_;
  pending_expire_ms_ = -1;
  type_ = op;
  value_offset_ = at;
  have_count_ = false;
  remaining_ = 0;
  phase_ = Phase::kValue;
  return absl::OkStatus();
}

absl::Status RdbReader::Impl::KeyError(const absl::Status& s) const {
  if (dump_mode_) return s;
  return absl::Status(s.code(), absl::StrCat(s.message(), " in key '", absl::CHexEscape(entry_.key),
                                             "' at offset ", value_offset_));
}

absl::Status RdbReader::Impl::StepValue(Cursor& cur, RdbHandler* handler) {
  RdbValue& v = entry_.value;
  std::string a, b;
  switch (type_) {
    case kTypeString:
      v.type = RdbType::kString;
      if (!cur.String(&v.str)) return cur.error();
      return CompleteValue(handler);
    case kTypeHashZipmap:
    case kTypeListZiplist:
    case kTypeSetIntset:
    case kTypeZSetZiplist:
    case kTypeHashZiplist:
    case kTypeHashListpack:
    case kTypeZSetListpack: {
      if (!cur.String(&a)) return cur.error();
      absl::Status s = DecodeBlob(type_, a, &v);
      if (!s.ok()) return KeyError(s);
      return CompleteValue(handler);
    }
    case kTypeStreamListpacks:
    case kTypeStreamListpacks2:
      return StepStream(cur, handler);
    default:
      break;
  }
  if (!have_count_) {
    if (!cur.Length(&remaining_)) return cur.error();
    have_count_ = true;
    switch (type_) {
      case kTypeSet:
        v.type = RdbType::kSet;
        break;
      case kTypeZSet:
      case kTypeZSet2:
        v.type = RdbType::kZSet;
        break;
      case kTypeHash:
        v.type = RdbType::kHash;
        break;
      default:
        v.type = RdbType::kList;
        break;
    }
    return absl::OkStatus();
  }
  if (remaining_ == 0) return CompleteValue(handler);
  // One element (or one list node) per step.
  switch (type_) {
    case kTypeList:
    case kTypeSet:
      if (!cur.String(&a)) return cur.error();
      v.elements.push_back(std::move(a));
      break;
    case kTypeZSet:
    case kTypeZSet2: {
      double score;
      if (!cur.String(&a)) return cur.error();
      if (!(type_ == kTypeZSet2 ? cur.BinaryDouble(&score) : cur.TextDouble(&score))) {
        return cur.error();
      }
      v.zset.emplace_back(std::move(a), score);
      break;
    }
    case kTypeHash:
      if (!cur.String(&a) || !cur.String(&b)) return cur.error();
      v.fields.emplace_back(std::move(a), std::move(b));
      break;
    case kTypeListQuicklist: {
      if (!cur.String(&a)) return cur.error();
      absl::Status s = internal::DecodeZiplist(a, &v.elements);
      if (!s.ok()) return KeyError(s);
      break;
    }
    case kTypeListQuicklist2: {
      uint64_t container;
      if (!cur.Length(&container) || !cur.String(&a)) return cur.error();
      if (container != kContainerPlain && container != kContainerPacked) {
        return KeyError(absl::DataLossError(
            absl::StrCat("Quicklist integrity check failed: node container ", container)));
      }
      if (a.empty()) {
        return KeyError(absl::DataLossError("Quicklist integrity check failed: empty node"));
      }
      if (container == kContainerPlain) {
        v.elements.push_back(std::move(a));
      } else {
        absl::Status s = internal::DecodeListpack(a, &v.elements);
        if (!s.ok()) return KeyError(s);
      }
      break;
    }
    default:
      return absl::InternalError("unhandled RDB type");
  }
  --remaining_;
  return absl::OkStatus();
}

absl::Status RdbReader::Impl::StepStream(Cursor& cur, RdbHandler* handler) {
  RdbValue& v = entry_.value;
  RdbStream& st = v.stream;
  v.type = RdbType::kStream;
  if (!have_count_) {
    if (!cur.Length(&remaining_)) return cur.error();
    have_count_ = true;
    return absl::OkStatus();
  }
  std::string a, b;
  if (remaining_ > 0) {
    if (!cur.String(&a) || !cur.String(&b)) return cur.error();
    if (a.size() != 16) {
      return KeyError(absl::DataLossError("Stream node key entry is not the size of a stream ID"));
    }
    RdbStreamNode node;
    absl::Status s = DecodeStreamNode(DecodeStreamId(a), b, &node);
    if (!s.ok()) return KeyError(s);
    st.nodes.push_back(std::move(node));
    --remaining_;
    return absl::OkStatus();
  }
  const bool v2 = type_ == kTypeStreamListpacks2;
  auto id = [&cur](RdbStreamId* out) { return cur.Length(&out->ms) && cur.Length(&out->seq); };
  if (!cur.Length(&st.length) || !id(&st.last_id)) return cur.error();
  if (v2) {
    if (!id(&st.first_id) || !id(&st.max_deleted_id) || !cur.Length(&st.entries_added)) {
      return cur.error();
    }
  } else {
    // Version 1 has no counters: Redis takes the length and the first live
    // entry.
    st.entries_added = st.length;
    bool found = false;
    for (const RdbStreamNode& n : st.nodes) {
      for (const RdbStreamEntry& e : n.entries) {
        if (!found && !e.deleted) {
          st.first_id = e.id;
          found = true;
        }
      }
    }
  }
  uint64_t ngroups;
  if (!cur.Length(&ngroups)) return cur.error();
  // The groups are read into a vector of this step's own: a step that runs
  // out of input is run again from its start once more bytes came, so
  // nothing it read may be kept from the try that stopped (those groups
  // would be read twice).
  std::vector<RdbStreamGroup> groups;
  for (uint64_t g = 0; g < ngroups; ++g) {
    RdbStreamGroup group;
    uint64_t entries_read, npel, nconsumers;
    if (!cur.String(&group.name) || !id(&group.last_id)) return cur.error();
    if (v2) {
      if (!cur.Length(&entries_read)) return cur.error();
      group.entries_read = static_cast<int64_t>(entries_read);
    }
    if (!cur.Length(&npel)) return cur.error();
    for (uint64_t p = 0; p < npel; ++p) {
      absl::string_view raw;
      uint64_t time, count;
      if (!cur.Bytes(16, &raw) || !cur.FixedLE(8, &time) || !cur.Length(&count)) {
        return cur.error();
      }
      group.pel.push_back(RdbStreamNack{DecodeStreamId(raw), static_cast<int64_t>(time), count});
    }
    if (!cur.Length(&nconsumers)) return cur.error();
    for (uint64_t c = 0; c < nconsumers; ++c) {
      RdbStreamConsumer consumer;
      uint64_t seen, ncpel;
      if (!cur.String(&consumer.name) || !cur.FixedLE(8, &seen) || !cur.Length(&ncpel)) {
        return cur.error();
      }
      consumer.seen_time = static_cast<int64_t>(seen);
      for (uint64_t p = 0; p < ncpel; ++p) {
        absl::string_view raw;
        if (!cur.Bytes(16, &raw)) return cur.error();
        consumer.pel.push_back(DecodeStreamId(raw));
      }
      group.consumers.push_back(std::move(consumer));
    }
    groups.push_back(std::move(group));
  }
  st.groups = std::move(groups);
  if (!v2) {
    // Version 1 has no read counters: Redis estimates each group's from
    // its last id (streamEstimateDistanceFromFirstEverEntry, with no
    // tombstones known and entries_added = length).
    auto less = [](const RdbStreamId& a, const RdbStreamId& b) {
      return a.ms != b.ms ? a.ms < b.ms : a.seq < b.seq;
    };
    for (RdbStreamGroup& g : st.groups) {
      const auto n = static_cast<int64_t>(st.length);
      if (st.entries_added == 0 || g.last_id == st.last_id ||
          (st.length == 0 && !less(st.last_id, g.last_id))) {
        g.entries_read = static_cast<int64_t>(st.entries_added);
      } else if (less(st.last_id, g.last_id)) {
        g.entries_read = -1;
      } else if (less(g.last_id, st.first_id)) {
        g.entries_read = static_cast<int64_t>(st.entries_added) - n;
      } else if (g.last_id == st.first_id) {
        g.entries_read = static_cast<int64_t>(st.entries_added) - n + 1;
      } else {
        g.entries_read = -1;
      }
    }
  }
  return CompleteValue(handler);
}

absl::Status RdbReader::Impl::CompleteValue(RdbHandler* handler) {
  bool empty;
  absl::Status s = Validate(entry_.value, &empty);
  if (!s.ok()) return KeyError(s);
  if (dump_mode_) {
    if (empty) return absl::DataLossError("Empty value");
    phase_ = Phase::kDone;
    return absl::OkStatus();
  }
  phase_ = Phase::kTop;
  if (empty) {
    ++empty_keys_skipped_;
    handler->OnEmptyKey(entry_.key);
    return absl::OkStatus();
  }
  return handler->OnEntry(std::move(entry_));
}

absl::Status RdbHandler::OnAux(absl::string_view, absl::string_view) { return absl::OkStatus(); }
void RdbHandler::OnEmptyKey(absl::string_view) {}
absl::Status RdbHandler::OnFunction(absl::string_view) { return absl::OkStatus(); }
absl::Status RdbHandler::OnSelectDb(uint64_t) { return absl::OkStatus(); }
absl::Status RdbHandler::OnResizeDb(uint64_t, uint64_t) { return absl::OkStatus(); }

RdbReader::RdbReader() : impl_(std::make_unique<Impl>(false)) {}
RdbReader::~RdbReader() = default;

absl::StatusOr<RdbReader::Progress> RdbReader::Feed(absl::string_view data, RdbHandler& handler) {
  return impl_->Feed(data, &handler);
}
absl::Status RdbReader::Finish() const { return impl_->Finish(); }
absl::string_view RdbReader::Remaining() const { return impl_->Remaining(); }
uint64_t RdbReader::Consumed() const { return impl_->Consumed(); }
int RdbReader::Version() const { return impl_->version(); }
uint64_t RdbReader::EmptyKeysSkipped() const { return impl_->empty_keys_skipped(); }

namespace {

class CollectingHandler : public RdbHandler {
 public:
  explicit CollectingHandler(RdbFile* file) : file_(file) {}
  absl::Status OnAux(absl::string_view key, absl::string_view value) override {
    file_->aux.emplace_back(std::string(key), std::string(value));
    return absl::OkStatus();
  }
  absl::Status OnFunction(absl::string_view code) override {
    file_->functions.emplace_back(code);
    return absl::OkStatus();
  }
  absl::Status OnEntry(RdbEntry entry) override {
    file_->entries.push_back(std::move(entry));
    return absl::OkStatus();
  }

 private:
  RdbFile* file_;
};

}  // namespace

absl::StatusOr<RdbFile> ReadRdb(absl::string_view bytes) {
  RdbFile file;
  CollectingHandler handler(&file);
  RdbReader reader;
  absl::StatusOr<RdbReader::Progress> progress = reader.Feed(bytes, handler);
  if (!progress.ok()) return progress.status();
  absl::Status s = reader.Finish();
  if (!s.ok()) return s;
  if (!reader.Remaining().empty()) {
    return absl::DataLossError("Trailing bytes after the RDB checksum");
  }
  file.version = reader.Version();
  return file;
}

// ---------------------------------------------------------------------------
// Writer

namespace {

void SaveLen(std::string* out, uint64_t len) {
  if (len < (1 << 6)) {
    out->push_back(static_cast<char>(len));
  } else if (len < (1 << 14)) {
    out->push_back(static_cast<char>(0x40 | (len >> 8)));
    out->push_back(static_cast<char>(len & 0xFF));
  } else {
    bool wide = len > UINT32_MAX;
    out->push_back(static_cast<char>(wide ? 0x81 : 0x80));
    for (int i = wide ? 7 : 3; i >= 0; --i)
      out->push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  }
}

// A string as Redis's rdbSaveRawString stores it: int-encoded when it is a
// canonical integer in the int32 range, LZF when enabled, over 20 bytes and
// at least 4 bytes shorter that way, raw otherwise.
void SaveString(std::string* out, absl::string_view s, bool compress) {
  int64_t v;
  if (s.size() <= 11 && base::ParseStrictInt64(base::ToStd(s), &v) && v >= INT32_MIN &&
      v <= INT32_MAX) {
    auto u = static_cast<uint64_t>(v);
    if (v >= INT8_MIN && v <= INT8_MAX) {
      out->push_back(static_cast<char>(0xC0 | kEncInt8));
      StoreLE(out, u, 1);
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
      out->push_back(static_cast<char>(0xC0 | kEncInt16));
      StoreLE(out, u, 2);
    } else {
      out->push_back(static_cast<char>(0xC0 | kEncInt32));
      StoreLE(out, u, 4);
    }
    return;
  }
  if (compress && s.size() > 20) {
    std::string packed;
    if (LzfCompress(s, s.size() - 4, &packed)) {
      out->push_back(static_cast<char>(0xC0 | kEncLzf));
      SaveLen(out, packed.size());
      SaveLen(out, s.size());
      *out += packed;
      return;
    }
  }
  SaveLen(out, s.size());
  out->append(s.data(), s.size());
}

void SaveList(std::string* out, const RdbValue& v, const RdbWriterOptions& o) {
  std::vector<std::pair<uint64_t, std::string>> nodes;
  internal::ListpackBuilder lp;
  auto flush = [&] {
    if (lp.Count() > 0) nodes.emplace_back(kContainerPacked, lp.Finish());
  };
  for (const auto& e : v.elements) {
    if (e.size() >= kPlainNodeThreshold) {
      flush();
      nodes.emplace_back(kContainerPlain, e);
      continue;
    }
    if (lp.Count() > 0 &&
        lp.Bytes() + internal::ListpackBuilder::EntrySize(e) > o.list_max_listpack_bytes) {
      flush();
    }
    lp.Append(e);
  }
  flush();
  out->push_back(static_cast<char>(kTypeListQuicklist2));
  SaveLen(out, nodes.size());
  for (const auto& [container, data] : nodes) {
    SaveLen(out, container);
    SaveString(out, data, o.compression);
  }
}

void SaveSet(std::string* out, const RdbValue& v, const RdbWriterOptions& o) {
  std::vector<int64_t> ints;
  bool intset = !v.elements.empty() && v.elements.size() <= o.set_max_intset_entries;
  for (size_t i = 0; intset && i < v.elements.size(); ++i) {
    int64_t x;
    intset = base::ParseStrictInt64(v.elements[i], &x);
    ints.push_back(x);
  }
  if (intset) {
    out->push_back(static_cast<char>(kTypeSetIntset));
    SaveString(out, internal::EncodeIntset(std::move(ints)), o.compression);
    return;
  }
  out->push_back(static_cast<char>(kTypeSet));
  SaveLen(out, v.elements.size());
  for (const auto& e : v.elements) SaveString(out, e, o.compression);
}

void SaveHash(std::string* out, const RdbValue& v, const RdbWriterOptions& o) {
  bool listpack = v.fields.size() <= o.hash_max_listpack_entries;
  for (size_t i = 0; listpack && i < v.fields.size(); ++i) {
    listpack = v.fields[i].first.size() <= o.hash_max_listpack_value &&
               v.fields[i].second.size() <= o.hash_max_listpack_value;
  }
  if (listpack) {
    internal::ListpackBuilder lp;
    for (const auto& [field, value] : v.fields) {
      lp.Append(field);
      lp.Append(value);
    }
    out->push_back(static_cast<char>(kTypeHashListpack));
    SaveString(out, lp.Finish(), o.compression);
    return;
  }
  out->push_back(static_cast<char>(kTypeHash));
  SaveLen(out, v.fields.size());
  for (const auto& [field, value] : v.fields) {
    SaveString(out, field, o.compression);
    SaveString(out, value, o.compression);
  }
}

void SaveZSet(std::string* out, const RdbValue& v, const RdbWriterOptions& o) {
  std::vector<const std::pair<std::string, double>*> sorted;
  sorted.reserve(v.zset.size());
  bool listpack = v.zset.size() <= o.zset_max_listpack_entries;
  for (const auto& m : v.zset) {
    sorted.push_back(&m);
    listpack = listpack && m.first.size() <= o.zset_max_listpack_value;
  }
  // A listpack sorted set is ordered by score, then member bytes; Redis
  // relies on that order. The skiplist form goes out highest first, as
  // Redis writes it (its loader then inserts at the head each time).
  std::sort(sorted.begin(), sorted.end(), [](const auto* x, const auto* y) {
    return x->second != y->second ? x->second < y->second : x->first < y->first;
  });
  if (listpack) {
    internal::ListpackBuilder lp;
    for (const auto* m : sorted) {
      lp.Append(m->first);
      lp.Append(internal::ScoreToString(m->second));
    }
    out->push_back(static_cast<char>(kTypeZSetListpack));
    SaveString(out, lp.Finish(), o.compression);
    return;
  }
  out->push_back(static_cast<char>(kTypeZSet2));
  SaveLen(out, sorted.size());
  for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) {
    SaveString(out, (*it)->first, o.compression);
    StoreLE(out, std::bit_cast<uint64_t>((*it)->second), 8);
  }
}

void SaveStreamId(std::string* out, const RdbStreamId& id) {
  SaveLen(out, id.ms);
  SaveLen(out, id.seq);
}

// RDB_TYPE_STREAM_LISTPACKS_2, as rdbSaveObject writes it: one listpack
// per node under its big-endian master id.
void SaveStream(std::string* out, const RdbValue& v, const RdbWriterOptions& o) {
  const RdbStream& st = v.stream;
  out->push_back(static_cast<char>(kTypeStreamListpacks2));
  SaveLen(out, st.nodes.size());
  for (const RdbStreamNode& n : st.nodes) {
    std::string key;
    EncodeStreamId(&key, n.master);
    SaveString(out, key, o.compression);
    int64_t live = 0, dead = 0;
    for (const RdbStreamEntry& e : n.entries) (e.deleted ? dead : live) += 1;
    internal::ListpackBuilder lp;
    lp.AppendInt(live);
    lp.AppendInt(dead);
    lp.AppendInt(static_cast<int64_t>(n.master_fields.size()));
    for (const std::string& f : n.master_fields) lp.Append(f);
    lp.AppendInt(0);
    for (const RdbStreamEntry& e : n.entries) {
      const size_t nf = e.fields.size() / 2;
      bool same = nf == n.master_fields.size();
      for (size_t i = 0; same && i < nf; ++i) same = e.fields[i * 2] == n.master_fields[i];
      lp.AppendInt((e.deleted ? 1 : 0) | (same ? 2 : 0));
      lp.AppendInt(static_cast<int64_t>(e.id.ms - n.master.ms));
      lp.AppendInt(static_cast<int64_t>(e.id.seq - n.master.seq));
      if (!same) lp.AppendInt(static_cast<int64_t>(nf));
      for (size_t i = 0; i < nf; ++i) {
        if (!same) lp.Append(e.fields[i * 2]);
        lp.Append(e.fields[i * 2 + 1]);
      }
      lp.AppendInt(static_cast<int64_t>(nf + 3 + (same ? 0 : nf + 1)));
    }
    SaveString(out, lp.Finish(), o.compression);
  }
  SaveLen(out, st.length);
  SaveStreamId(out, st.last_id);
  SaveStreamId(out, st.first_id);
  SaveStreamId(out, st.max_deleted_id);
  SaveLen(out, st.entries_added);
  SaveLen(out, st.groups.size());
  for (const RdbStreamGroup& g : st.groups) {
    SaveString(out, g.name, o.compression);
    SaveStreamId(out, g.last_id);
    SaveLen(out, static_cast<uint64_t>(g.entries_read));
    SaveLen(out, g.pel.size());
    for (const RdbStreamNack& n : g.pel) {
      EncodeStreamId(out, n.id);
      StoreLE(out, static_cast<uint64_t>(n.delivery_time), 8);
      SaveLen(out, n.delivery_count);
    }
    SaveLen(out, g.consumers.size());
    for (const RdbStreamConsumer& c : g.consumers) {
      SaveString(out, c.name, o.compression);
      StoreLE(out, static_cast<uint64_t>(c.seen_time), 8);
      SaveLen(out, c.pel.size());
      for (const RdbStreamId& id : c.pel) EncodeStreamId(out, id);
    }
  }
}

// <type byte><value>.
void SaveObject(std::string* out, const RdbValue& v, const RdbWriterOptions& o) {
  switch (v.type) {
    case RdbType::kString:
      out->push_back(static_cast<char>(kTypeString));
      SaveString(out, v.str, o.compression);
      return;
    case RdbType::kList:
      return SaveList(out, v, o);
    case RdbType::kSet:
      return SaveSet(out, v, o);
    case RdbType::kHash:
      return SaveHash(out, v, o);
    case RdbType::kZSet:
      return SaveZSet(out, v, o);
    case RdbType::kStream:
      return SaveStream(out, v, o);
  }
}

}  // namespace

RdbWriter::RdbWriter(RdbWriterOptions options) : options_(std::move(options)) {
  out_ = absl::StrFormat("REDIS%04d", kRdbVersion);
  Aux("redis-ver", "7.0.15");
  Aux("redis-bits", "64");
  Aux("ctime", absl::StrCat(options_.ctime_s));
  Aux("used-mem", absl::StrCat(options_.used_mem));
  if (!options_.repl_id.empty()) {
    Aux("repl-stream-db", absl::StrCat(options_.repl_stream_db));
    Aux("repl-id", options_.repl_id);
    Aux("repl-offset", absl::StrCat(options_.repl_offset));
  }
  Aux("aof-base", options_.aof_base ? "1" : "0");
}

void RdbWriter::Aux(absl::string_view key, absl::string_view value) {
  out_.push_back(static_cast<char>(kOpAux));
  SaveString(&out_, key, options_.compression);
  SaveString(&out_, value, options_.compression);
}

void RdbWriter::Function(absl::string_view library_code) {
  out_.push_back(static_cast<char>(kOpFunction2));
  SaveString(&out_, library_code, options_.compression);
}

void RdbWriter::SelectDb(uint64_t db, uint64_t keys, uint64_t expires) {
  out_.push_back(static_cast<char>(kOpSelectDb));
  SaveLen(&out_, db);
  out_.push_back(static_cast<char>(kOpResizeDb));
  SaveLen(&out_, keys);
  SaveLen(&out_, expires);
}

void RdbWriter::Entry(absl::string_view key, const RdbValue& value, int64_t expire_ms) {
  if (expire_ms != -1) {
    out_.push_back(static_cast<char>(kOpExpireMs));
    StoreLE(&out_, static_cast<uint64_t>(expire_ms), 8);
  }
  // The type byte leads the value but precedes the key in the file.
  std::string object;
  SaveObject(&object, value, options_);
  out_.push_back(object[0]);
  SaveString(&out_, key, options_.compression);
  out_.append(object, 1, std::string::npos);
}

void RdbWriter::End() {
  out_.push_back(static_cast<char>(kOpEof));
  Flush();
  StoreLE(&out_, options_.checksum ? crc_ : 0, 8);
  crc_done_ = out_.size();  // the checksum does not cover itself
}

void RdbWriter::Flush() {
  crc_ = Crc64(crc_, absl::string_view(out_).substr(crc_done_));
  crc_done_ = out_.size();
}

std::string RdbWriter::TakeOutput() {
  Flush();
  written_ += out_.size();
  crc_done_ = 0;
  return std::exchange(out_, std::string());
}

std::string WriteRdb(const std::vector<RdbEntry>& entries, const RdbWriterOptions& options) {
  std::map<uint64_t, std::vector<const RdbEntry*>> by_db;
  for (const auto& e : entries) by_db[e.db].push_back(&e);
  RdbWriter writer(options);
  for (const auto& [db, group] : by_db) {
    uint64_t expires = 0;
    for (const auto* e : group) expires += e->expire_ms != -1 ? 1 : 0;
    writer.SelectDb(db, group.size(), expires);
    for (const auto* e : group) writer.Entry(e->key, e->value, e->expire_ms);
  }
  writer.End();
  return writer.TakeOutput();
}

// ---------------------------------------------------------------------------
// DUMP payloads

std::string DumpPayload(const RdbValue& value, const RdbWriterOptions& options) {
  std::string out;
  SaveObject(&out, value, options);
  StoreLE(&out, kRdbVersion, 2);
  StoreLE(&out, Crc64(0, out), 8);
  return out;
}

void DumpBuilder::BeginString(uint64_t length) {
  out_.push_back(static_cast<char>(kTypeString));
  SaveLen(&out_, length);
}

void DumpBuilder::StringChunk(std::string_view bytes) { out_.append(bytes); }

void DumpBuilder::BeginList(uint64_t count) {
  out_.push_back(static_cast<char>(kTypeList));
  SaveLen(&out_, count);
}

void DumpBuilder::ListElement(std::string_view element) {
  SaveString(&out_, {element.data(), element.size()}, options_.compression);
}

void DumpBuilder::BeginSet(uint64_t count) {
  out_.push_back(static_cast<char>(kTypeSet));
  SaveLen(&out_, count);
}

void DumpBuilder::SetMember(std::string_view member) {
  SaveString(&out_, {member.data(), member.size()}, options_.compression);
}

void DumpBuilder::BeginHash(uint64_t count) {
  out_.push_back(static_cast<char>(kTypeHash));
  SaveLen(&out_, count);
}

void DumpBuilder::HashField(std::string_view field, std::string_view value) {
  SaveString(&out_, {field.data(), field.size()}, options_.compression);
  SaveString(&out_, {value.data(), value.size()}, options_.compression);
}

void DumpBuilder::BeginZSet(uint64_t count) {
  out_.push_back(static_cast<char>(kTypeZSet2));
  SaveLen(&out_, count);
}

void DumpBuilder::ZSetMember(std::string_view member, double score) {
  SaveString(&out_, {member.data(), member.size()}, options_.compression);
  StoreLE(&out_, std::bit_cast<uint64_t>(score), 8);
}

void DumpBuilder::Fold() {
  crc_ = Crc64(crc_, absl::string_view(out_).substr(crc_done_));
  crc_done_ = out_.size();
}

std::string DumpBuilder::TakeChunk() {
  Fold();
  crc_done_ = 0;
  return std::exchange(out_, std::string());
}

std::string DumpBuilder::Finish() {
  StoreLE(&out_, kRdbVersion, 2);
  Fold();
  StoreLE(&out_, crc_, 8);
  crc_done_ = 0;
  crc_ = 0;
  return std::exchange(out_, std::string());
}

absl::StatusOr<RdbValue> ParseDumpPayload(absl::string_view payload, bool verify_checksum) {
  const absl::Status wrong =
      absl::InvalidArgumentError("DUMP payload version or checksum are wrong");
  if (payload.size() < 10) return wrong;
  const char* footer = payload.data() + payload.size() - 10;
  if (LoadLE(footer, 2) > static_cast<uint64_t>(kRdbVersion)) return wrong;
  if (verify_checksum && Crc64(0, payload.substr(0, payload.size() - 8)) != LoadLE(footer + 2, 8)) {
    return wrong;
  }
  return ParseDumpBody(payload.substr(0, payload.size() - 10));
}

absl::StatusOr<RdbValue> ParseDumpBody(absl::string_view body) {
  RdbReader::Impl parser(/*dump_mode=*/true);
  class NoHandler : public RdbHandler {
    absl::Status OnEntry(RdbEntry) override { return absl::OkStatus(); }
  } no_handler;
  absl::StatusOr<RdbReader::Progress> progress = parser.Feed(body, &no_handler);
  if (!progress.ok()) return progress.status();
  if (*progress != RdbReader::Progress::kDone) {
    return absl::DataLossError("Bad data format: the value is truncated");
  }
  if (!parser.Remaining().empty()) {
    return absl::DataLossError("Bad data format: bytes left after the value");
  }
  return parser.TakeDumpValue();
}

std::string FunctionsPayload(const std::vector<std::string>& library_codes, bool compress) {
  std::string out;
  for (const std::string& code : library_codes) {
    out.push_back(static_cast<char>(kOpFunction2));
    SaveString(&out, code, compress);
  }
  StoreLE(&out, static_cast<uint64_t>(kRdbVersion), 2);
  StoreLE(&out, Crc64(0, out), 8);
  return out;
}

absl::StatusOr<std::vector<std::string>> ParseFunctionsPayload(absl::string_view payload) {
  if (payload.size() < 10) {
    return absl::InvalidArgumentError("DUMP payload version or checksum are wrong");
  }
  const char* footer = payload.data() + payload.size() - 10;
  if (LoadLE(footer, 2) > static_cast<uint64_t>(kRdbVersion) ||
      Crc64(0, payload.substr(0, payload.size() - 8)) != LoadLE(footer + 2, 8)) {
    return absl::InvalidArgumentError("DUMP payload version or checksum are wrong");
  }
  const absl::string_view body = payload.substr(0, payload.size() - 10);
  Cursor cur(body, 0, 0);
  std::vector<std::string> codes;
  while (cur.pos() < body.size()) {
    uint8_t op;
    if (!cur.Byte(&op)) return absl::DataLossError("can not read data type");
    if (op != kOpFunction2 && op != kOpFunctionPreGa) {
      return absl::DataLossError("given type is not a function");
    }
    std::string code;
    if (op != kOpFunction2 || !cur.String(&code)) {
      return absl::DataLossError("failed loading the given functions payload");
    }
    codes.push_back(std::move(code));
  }
  return codes;
}

// ---------------------------------------------------------------------------
// RdbValue

RdbValue RdbValue::String(std::string s) {
  RdbValue v;
  v.type = RdbType::kString;
  v.str = std::move(s);
  return v;
}

RdbValue RdbValue::List(std::vector<std::string> elements) {
  RdbValue v;
  v.type = RdbType::kList;
  v.elements = std::move(elements);
  return v;
}

RdbValue RdbValue::Set(std::vector<std::string> members) {
  RdbValue v;
  v.type = RdbType::kSet;
  v.elements = std::move(members);
  return v;
}

RdbValue RdbValue::Hash(std::vector<std::pair<std::string, std::string>> fields) {
  RdbValue v;
  v.type = RdbType::kHash;
  v.fields = std::move(fields);
  return v;
}

RdbValue RdbValue::ZSet(std::vector<std::pair<std::string, double>> members) {
  RdbValue v;
  v.type = RdbType::kZSet;
  v.zset = std::move(members);
  return v;
}

}  // namespace shardnode::replication
