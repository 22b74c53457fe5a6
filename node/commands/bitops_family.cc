// Bitmap commands: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO,
// on string values, with Redis 7.0.15's replies, errors and encodings (a
// string a bit command writes is "raw"). The bit arithmetic is in
// node/keyspace/types/bitmap.h.
#include <algorithm>
#include <bit>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/config/options.h"
#include "node/keyspace/db.h"
#include "node/keyspace/types/bitmap.h"
#include "node/keyspace/types/type_util.h"
#include "node/resp/reply.h"
#include "node/server/node_services.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

constexpr std::string_view kBitOffsetError = "ERR bit offset is not an integer or out of range";
constexpr std::string_view kBitValueError = "ERR bit is not an integer or out of range";
constexpr std::string_view kBitfieldTypeError =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 "
    "is.";
constexpr std::string_view kBitArgError = "ERR The bit argument must be 1 or 0.";
constexpr std::string_view kBitopNotError =
    "ERR BITOP NOT must be called with a single source key.";
constexpr std::string_view kOverflowTypeError = "ERR Invalid OVERFLOW type specified";
constexpr std::string_view kBitfieldRoError = "ERR BITFIELD_RO only supports the GET subcommand";

// A bit offset argument; with `bits` > 0 the "#n" form means n * bits (BITFIELD).
// Offsets whose byte reaches proto-max-bulk-len are refused, except from our
// primary (Redis's mustObeyClient).
bool ParseBitOffset(CommandContext& ctx, std::string_view arg, int bits, uint64_t* out) {
  const bool hash = bits > 0 && !arg.empty() && arg[0] == '#';
  int64_t v;
  if (!types::ParseInt64(arg.substr(hash ? 1 : 0), &v)) {
    ctx.reply.Error(kBitOffsetError);
    return false;
  }
  if (hash) v = static_cast<int64_t>(static_cast<uint64_t>(v) * static_cast<uint64_t>(bits));
  if (v < 0 || (!ctx.session.from_primary && (v >> 3) >= ctx.node.options().proto_max_bulk_len)) {
    ctx.reply.Error(kBitOffsetError);
    return false;
  }
  *out = static_cast<uint64_t>(v);
  return true;
}

// Looks `key` up for reading; replies WRONGTYPE (and returns false) when it
// holds a non-string. *e is the entry or nullptr.
bool FindStringRead(CommandContext& ctx, std::string_view key, Entry** e) {
  *e = ctx.DbFor(key).FindRead(key, ctx.now_ms);
  if (*e && !(*e)->value().is_string()) {
    ctx.reply.Error(errors::kWrongType);
    return false;
  }
  return true;
}

// Redis's lookupStringForBitCommand: the string at args[1] as a raw heap
// string at least (maxbit / 8 + 1) bytes long, created or zero-padded.
// *grown tells whether the key was created or lengthened. nullptr after
// replying WRONGTYPE.
std::string* StringForBitWrite(CommandContext& ctx, std::string_view key, uint64_t maxbit,
                               bool* grown) {
  const size_t need = static_cast<size_t>(maxbit >> 3) + 1;
  Db& db = ctx.DbFor(key);
  Entry* e = db.Find(key, ctx.now_ms);
  if (e && !e->value().is_string()) {
    ctx.reply.Error(errors::kWrongType);
    return nullptr;
  }
  if (!e) {
    e = db.Set(key, Value::FromStringRaw(std::string(need, '\0')), ctx.now_ms);
    *grown = true;
    return e->value().MutableRawString();
  }
  std::string* s = e->value().MutableRawString();
  *grown = s->size() < need;
  if (*grown) s->resize(need, '\0');
  return s;
}

void SetBit(CommandContext& ctx, Args args) {
  uint64_t offset;
  if (!ParseBitOffset(ctx, args[2], 0, &offset)) return;
  int64_t on;
  if (!types::ParseInt64(args[3], &on) || (on & ~int64_t{1})) {
    ctx.reply.Error(kBitValueError);
    return;
  }
  bool grown;
  std::string* s = StringForBitWrite(ctx, args[1], offset, &grown);
  if (!s) return;
  auto& byte = reinterpret_cast<unsigned char&>((*s)[offset >> 3]);
  const unsigned shift = 7 - static_cast<unsigned>(offset & 7);
  const bool old = (byte >> shift) & 1u;
  if (grown || old != (on == 1)) {
    byte =
        static_cast<unsigned char>((byte & ~(1u << shift)) | (static_cast<unsigned>(on) << shift));
    ctx.DbFor(args[1]).NotifyModified(args[1]);
    ctx.Notify(kNotifyString, "setbit", args[1]);
    ctx.AddDirty(1);
  }
  ctx.reply.Integer(old ? 1 : 0);
}

void GetBit(CommandContext& ctx, Args args) {
  uint64_t offset;
  if (!ParseBitOffset(ctx, args[2], 0, &offset)) return;
  Entry* e;
  if (!FindStringRead(ctx, args[1], &e)) return;
  int bit = 0;
  if (e) {
    std::string scratch;
    const std::string_view s = e->value().View(&scratch);
    const uint64_t byte = offset >> 3;
    if (byte < s.size()) bit = (static_cast<unsigned char>(s[byte]) >> (7 - (offset & 7))) & 1;
  }
  ctx.reply.Integer(bit);
}

// BITCOUNT/BITPOS's optional BYTE|BIT argument; false after a syntax error.
bool ParseBitUnit(CommandContext& ctx, const std::string& arg, bool* is_bit) {
  if (absl::EqualsIgnoreCase(arg, "bit")) {
    *is_bit = true;
  } else if (absl::EqualsIgnoreCase(arg, "byte")) {
    *is_bit = false;
  } else {
    ctx.reply.Error(errors::kSyntax);
    return false;
  }
  return true;
}

// A [start, end] range resolved as Redis does for BITCOUNT/BITPOS: negative
// indexes from the end, clamped to [0, total - 1]; in BIT units the edges
// become byte indexes and masks of the bits outside the range.
struct ByteRange {
  int64_t start = 0;
  int64_t end = -1;
  unsigned char first_mask = 0;  // bits of the first byte before the range
  unsigned char last_mask = 0;   // bits of the last byte after the range
};

ByteRange ResolveRange(int64_t start, int64_t end, int64_t len, bool is_bit) {
  const int64_t total = is_bit ? len * 8 : len;
  if (start < 0) start += total;
  if (end < 0) end += total;
  start = std::max<int64_t>(start, 0);
  end = std::max<int64_t>(end, 0);
  end = std::min(end, total - 1);
  ByteRange r{start, end, 0, 0};
  if (is_bit && start <= end) {
    r.first_mask = static_cast<unsigned char>(~((1u << (8 - (start & 7))) - 1) & 0xff);
    r.last_mask = static_cast<unsigned char>((1u << (7 - (end & 7))) - 1);
    r.start = start >> 3;
    r.end = end >> 3;
  }
  return r;
}

void BitCount(CommandContext& ctx, Args args) {
  Entry* e;
  if (!FindStringRead(ctx, args[1], &e)) return;
  if (!e) {
    ctx.reply.Integer(0);
    return;
  }
  std::string scratch;
  const std::string_view s = e->value().View(&scratch);
  const auto len = static_cast<int64_t>(s.size());
  ByteRange r{0, len - 1, 0, 0};
  if (args.size() == 4 || args.size() == 5) {
    int64_t start, end;
    if (!types::ParseInt64(args[2], &start) || !types::ParseInt64(args[3], &end)) {
      ctx.reply.Error(errors::kNotInteger);
      return;
    }
    if (start < 0 && end < 0 && start > end) {
      ctx.reply.Integer(0);
      return;
    }
    bool is_bit = false;
    if (args.size() == 5 && !ParseBitUnit(ctx, args[4], &is_bit)) return;
    r = ResolveRange(start, end, len, is_bit);
  } else if (args.size() != 2) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  if (r.start > r.end) {
    ctx.reply.Integer(0);
    return;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  uint64_t count = types::PopCount(
      s.substr(static_cast<size_t>(r.start), static_cast<size_t>(r.end - r.start + 1)));
  // Take back the bits of the edge bytes that lie outside the range.
  count -= static_cast<uint64_t>(std::popcount(static_cast<unsigned>(p[r.start] & r.first_mask)));
  count -= static_cast<uint64_t>(std::popcount(static_cast<unsigned>(p[r.end] & r.last_mask)));
  ctx.reply.Integer(static_cast<int64_t>(count));
}

void BitPos(CommandContext& ctx, Args args) {
  int64_t bit;
  if (!types::ParseInt64(args[2], &bit)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  if (bit != 0 && bit != 1) {
    ctx.reply.Error(kBitArgError);
    return;
  }
  Entry* e;
  if (!FindStringRead(ctx, args[1], &e)) return;
  if (!e) {
    ctx.reply.Integer(bit ? -1 : 0);
    return;
  }
  std::string scratch;
  const std::string_view s = e->value().View(&scratch);
  const auto len = static_cast<int64_t>(s.size());
  ByteRange r{0, len - 1, 0, 0};
  bool end_given = false;
  if (args.size() >= 4 && args.size() <= 6) {
    int64_t start, end = 0;
    if (!types::ParseInt64(args[3], &start)) {
      ctx.reply.Error(errors::kNotInteger);
      return;
    }
    bool is_bit = false;
    if (args.size() == 6 && !ParseBitUnit(ctx, args[5], &is_bit)) return;
    if (args.size() >= 5) {
      if (!types::ParseInt64(args[4], &end)) {
        ctx.reply.Error(errors::kNotInteger);
        return;
      }
      end_given = true;
    } else {
      end = is_bit ? len * 8 + 7 : len - 1;
    }
    r = ResolveRange(start, end, len, is_bit);
  } else if (args.size() != 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  if (r.start > r.end) {
    ctx.reply.Integer(-1);
    return;
  }
  // Search a copy of the range whose edge bits outside it are set to what
  // we do not look for.
  std::string range(
      s.substr(static_cast<size_t>(r.start), static_cast<size_t>(r.end - r.start + 1)));
  auto& first = reinterpret_cast<unsigned char&>(range.front());
  auto& last = reinterpret_cast<unsigned char&>(range.back());
  if (bit) {
    first &= static_cast<unsigned char>(~r.first_mask);
    last &= static_cast<unsigned char>(~r.last_mask);
  } else {
    first |= r.first_mask;
    last |= r.last_mask;
  }
  int64_t pos = types::BitPos(range, static_cast<int>(bit));
  // Looking for a clear bit in an explicit range: the zero padding on the
  // right is not part of it.
  if (end_given && bit == 0 && pos == static_cast<int64_t>(range.size()) * 8) {
    ctx.reply.Integer(-1);
    return;
  }
  if (pos != -1) pos += r.start * 8;
  ctx.reply.Integer(pos);
}

void BitOp(CommandContext& ctx, Args args) {
  const std::string& name = args[1];
  types::BitOpKind op;
  if (absl::EqualsIgnoreCase(name, "and")) {
    op = types::BitOpKind::kAnd;
  } else if (absl::EqualsIgnoreCase(name, "or")) {
    op = types::BitOpKind::kOr;
  } else if (absl::EqualsIgnoreCase(name, "xor")) {
    op = types::BitOpKind::kXor;
  } else if (absl::EqualsIgnoreCase(name, "not")) {
    op = types::BitOpKind::kNot;
  } else {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  if (op == types::BitOpKind::kNot && args.size() != 4) {
    ctx.reply.Error(kBitopNotError);
    return;
  }
  const size_t n = args.size() - 3;
  std::vector<std::string> scratch(n);
  std::vector<std::string_view> sources(n);
  for (size_t j = 0; j < n; ++j) {
    Entry* e;
    if (!FindStringRead(ctx, args[j + 3], &e)) return;
    if (e) sources[j] = e->value().View(&scratch[j]);
  }
  std::string result = types::BitOp(op, sources);
  const std::string& target = args[2];
  const auto len = static_cast<int64_t>(result.size());
  if (len > 0) {
    ctx.DbFor(target).Set(target, Value::FromStringRaw(result), ctx.now_ms);
    ctx.AddDirty(1);
    ctx.Notify(kNotifyString, "set", target);
  } else if (ctx.DbFor(target).Delete(target, ctx.now_ms)) {
    ctx.AddDirty(1);
    ctx.Notify(kNotifyGeneric, "del", target);
  }
  ctx.reply.Integer(len);
}

enum class FieldOp { kGet, kSet, kIncrBy };

struct FieldOpArgs {
  uint64_t offset;
  int64_t value;  // SET's value or INCRBY's increment
  FieldOp op;
  types::Overflow overflow;
  int bits;
  bool is_signed;
};

// "i<1..64>" or "u<1..63>".
bool ParseFieldType(CommandContext& ctx, std::string_view arg, bool* is_signed, int* bits) {
  int64_t n;
  if (arg.empty() || (arg[0] != 'i' && arg[0] != 'u') || !types::ParseInt64(arg.substr(1), &n) ||
      n < 1 || n > (arg[0] == 'i' ? 64 : 63)) {
    ctx.reply.Error(kBitfieldTypeError);
    return false;
  }
  *is_signed = arg[0] == 'i';
  *bits = static_cast<int>(n);
  return true;
}

// Runs one SET or INCRBY on `p`; replies its value, or null when OVERFLOW
// FAIL refused it. Returns whether the field changed (or the string grew).
bool RunFieldWrite(CommandContext& ctx, unsigned char* p, const FieldOpArgs& f, bool grown) {
  if (f.is_signed) {
    const int64_t old = types::GetSignedField(p, f.offset, f.bits);
    int64_t wrapped = 0, next, ret;
    int overflow;
    if (f.op == FieldOp::kIncrBy) {
      overflow = types::CheckSignedOverflow(old, f.value, f.bits, f.overflow, &wrapped);
      next =
          overflow
              ? wrapped
              : static_cast<int64_t>(static_cast<uint64_t>(old) + static_cast<uint64_t>(f.value));
      ret = next;
    } else {
      overflow = types::CheckSignedOverflow(f.value, 0, f.bits, f.overflow, &wrapped);
      next = overflow ? wrapped : f.value;
      ret = old;
    }
    if (overflow && f.overflow == types::Overflow::kFail) {
      ctx.reply.NullBulk();
      return false;
    }
    ctx.reply.Integer(ret);
    types::SetField(p, f.offset, f.bits, static_cast<uint64_t>(next));
    return grown || old != next;
  }
  const uint64_t old = types::GetUnsignedField(p, f.offset, f.bits);
  uint64_t wrapped = 0, next, ret;
  int overflow;
  if (f.op == FieldOp::kIncrBy) {
    overflow = types::CheckUnsignedOverflow(old, f.value, f.bits, f.overflow, &wrapped);
    next = overflow ? wrapped : old + static_cast<uint64_t>(f.value);
    ret = next;
  } else {
    overflow = types::CheckUnsignedOverflow(static_cast<uint64_t>(f.value), 0, f.bits, f.overflow,
                                            &wrapped);
    next = overflow ? wrapped : static_cast<uint64_t>(f.value);
    ret = old;
  }
  if (overflow && f.overflow == types::Overflow::kFail) {
    ctx.reply.NullBulk();
    return false;
  }
  ctx.reply.Integer(static_cast<int64_t>(ret));
  types::SetField(p, f.offset, f.bits, next);
  return grown || old != next;
}

// GET reads through a zero-padded copy of the (up to) 9 bytes the field
// spans, so that fields past the end of the string read as zeros.
void RunFieldGet(CommandContext& ctx, std::string_view s, const FieldOpArgs& f) {
  unsigned char buf[9] = {};
  const uint64_t byte = f.offset >> 3;
  for (uint64_t i = 0; i < 9 && byte + i < s.size(); ++i)
    buf[i] = static_cast<unsigned char>(s[byte + i]);
  const uint64_t off = f.offset - byte * 8;
  if (f.is_signed) {
    ctx.reply.Integer(types::GetSignedField(buf, off, f.bits));
  } else {
    ctx.reply.Integer(static_cast<int64_t>(types::GetUnsignedField(buf, off, f.bits)));
  }
}

void BitFieldGeneric(CommandContext& ctx, Args args, bool ro_command) {
  std::vector<FieldOpArgs> ops;
  types::Overflow overflow = types::Overflow::kWrap;
  bool readonly = true;
  uint64_t highest_write = 0;
  for (size_t j = 2; j < args.size(); ++j) {
    const size_t rest = args.size() - j - 1;
    const std::string& sub = args[j];
    FieldOp op;
    if (absl::EqualsIgnoreCase(sub, "get") && rest >= 2) {
      op = FieldOp::kGet;
    } else if (absl::EqualsIgnoreCase(sub, "set") && rest >= 3) {
      op = FieldOp::kSet;
    } else if (absl::EqualsIgnoreCase(sub, "incrby") && rest >= 3) {
      op = FieldOp::kIncrBy;
    } else if (absl::EqualsIgnoreCase(sub, "overflow") && rest >= 1) {
      const std::string& how = args[++j];
      if (absl::EqualsIgnoreCase(how, "wrap")) {
        overflow = types::Overflow::kWrap;
      } else if (absl::EqualsIgnoreCase(how, "sat")) {
        overflow = types::Overflow::kSat;
      } else if (absl::EqualsIgnoreCase(how, "fail")) {
        overflow = types::Overflow::kFail;
      } else {
        ctx.reply.Error(kOverflowTypeError);
        return;
      }
      continue;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
    FieldOpArgs f{0, 0, op, overflow, 0, false};
    if (!ParseFieldType(ctx, args[j + 1], &f.is_signed, &f.bits)) return;
    if (!ParseBitOffset(ctx, args[j + 2], f.bits, &f.offset)) return;
    if (op != FieldOp::kGet) {
      readonly = false;
      highest_write = std::max(highest_write, f.offset + static_cast<uint64_t>(f.bits) - 1);
      if (!types::ParseInt64(args[j + 3], &f.value)) {
        ctx.reply.Error(errors::kNotInteger);
        return;
      }
    }
    ops.push_back(f);
    j += op == FieldOp::kGet ? 2 : 3;
  }

  const std::string& key = args[1];
  std::string* target = nullptr;
  Entry* e = nullptr;
  bool grown = false;
  if (readonly) {
    if (!FindStringRead(ctx, key, &e)) return;
  } else {
    if (ro_command) {
      ctx.reply.Error(kBitfieldRoError);
      return;
    }
    target = StringForBitWrite(ctx, key, highest_write, &grown);
    if (!target) return;
  }

  ctx.reply.ArrayHeader(ops.size());
  uint64_t changes = 0;
  for (const FieldOpArgs& f : ops) {
    if (f.op != FieldOp::kGet) {
      if (RunFieldWrite(ctx, reinterpret_cast<unsigned char*>(target->data()), f, grown)) ++changes;
    } else if (target) {
      RunFieldGet(ctx, *target, f);
    } else {
      std::string scratch;
      RunFieldGet(ctx, e ? e->value().View(&scratch) : std::string_view(), f);
    }
  }
  if (changes) {
    ctx.DbFor(key).NotifyModified(key);
    ctx.Notify(kNotifyString, "setbit", key);
    ctx.AddDirty(changes);
  }
}

void BitField(CommandContext& ctx, Args args) { BitFieldGeneric(ctx, args, false); }
void BitFieldRo(CommandContext& ctx, Args args) { BitFieldGeneric(ctx, args, true); }

CommandSpec Spec(std::string name, int arity, uint32_t flags, Handler h, int first, int last,
                 std::string_view summary, std::string_view since) {
  CommandSpec spec = KeyedCommand(std::move(name), arity, flags, h, first, last, "bitmap", since);
  spec.summary = summary;
  return spec;
}

}  // namespace

void RegisterBitopsFamily(CommandTable& t) {
  constexpr uint32_t kR = kCmdReadonly;
  constexpr uint32_t kWD = kCmdWrite | kCmdDenyOom;
  t.Register(Spec("setbit", 4, kWD, SetBit, 1, 1,
                  "Sets or clears the bit at offset in the string value stored at key", "2.2.0"));
  t.Register(Spec("getbit", 3, kR | kCmdFast, GetBit, 1, 1,
                  "Returns the bit value at offset in the string value stored at key", "2.2.0"));
  t.Register(Spec("bitcount", -2, kR, BitCount, 1, 1, "Count set bits in a string", "2.6.0"));
  t.Register(
      Spec("bitpos", -3, kR, BitPos, 1, 1, "Find first bit set or clear in a string", "2.8.7"));
  t.Register(
      Spec("bitop", -4, kWD, BitOp, 2, -1, "Perform bitwise operations between strings", "2.6.0"));
  t.Register(Spec("bitfield", -2, kWD, BitField, 1, 1,
                  "Perform arbitrary bitfield integer operations on strings", "3.2.0"));
  t.Register(Spec("bitfield_ro", -2, kR | kCmdFast, BitFieldRo, 1, 1,
                  "Perform arbitrary bitfield integer operations on strings. Read-only variant of "
                  "BITFIELD",
                  "6.0.0"));
}

}  // namespace shardnode::node
