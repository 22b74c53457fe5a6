// Value: what a key holds. A 24-byte tagged representation: the value type
// (string, list, hash, set, zset), and for strings the bytes themselves, kept
// as an int64 when the text is a canonical integer, inline when up to 22
// bytes (so a short value lives in its key's Entry block, with no allocation
// of its own), or on the heap. The other types hold an owning pointer to a
// type-specific object (a subclass of TypedObject, written by the data-types
// work).
//
// The encoding OBJECT ENCODING reports is Redis's ("int", "embstr", "raw"),
// which depends on how the value was made, not only on its bytes: a string
// that APPEND or SETRANGE touched is "raw" even when short. That is kept as a
// flag beside the physical layout.
//
// Pure data; not thread-safe; owned by the Db entry of its key.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace shardnode::node {

enum class ValueType : uint8_t {
  kString = 0,
  kList = 1,
  kSet = 2,
  kZSet = 3,
  kHash = 4,
  kStream = 6,  // Redis's OBJ_STREAM
};

// "string", "list", "set", "zset", "hash", "stream" (TYPE's reply).
std::string_view ValueTypeName(ValueType type);

// Base of the non-string value objects (lists, hashes, sets, sorted sets).
class TypedObject {
 public:
  virtual ~TypedObject() = default;
  // OBJECT ENCODING's reply: "listpack", "quicklist", "hashtable", ...
  virtual std::string_view EncodingName() const = 0;
  // A deep copy in the same encoding (COPY).
  virtual std::unique_ptr<TypedObject> Clone() const = 0;
  // MEMORY USAGE: bytes the object holds on the heap (itself included),
  // element sizes estimated from up to `samples` of them (lists, hashes,
  // sets and sorted sets say; a type that does not counts 0).
  virtual size_t MemoryUsage(size_t samples) const {
    (void)samples;
    return 0;
  }
};

// Redis's limits for string encodings.
inline constexpr size_t kEmbstrMaxLen = 44;        // longer strings are "raw"
inline constexpr int64_t kSharedIntegers = 10000;  // [0, 10000) are shared objects

class Value {
 public:
  // An empty string ("embstr").
  Value() { SetInline({}); }
  ~Value() { Reset(); }
  Value(Value&& other) noexcept { MoveFrom(other); }
  Value& operator=(Value&& other) noexcept {
    if (this != &other) {
      Reset();
      MoveFrom(other);
    }
    return *this;
  }
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;

  // A string as SET stores it: int-encoded when `s` is a canonical int64 of
  // at most 20 characters, otherwise embstr (<= 44 bytes) or raw.
  static Value FromStringTryInt(std::string_view s);
  // A string kept as bytes (embstr or raw by length), as MSET and APPEND's
  // first write store it.
  static Value FromString(std::string_view s);
  // A string that reports "raw" whatever its length (APPEND, SETRANGE).
  static Value FromStringRaw(std::string_view s);
  // An int-encoded string.
  static Value FromInt(int64_t v);
  // REQUIRES: type != kString; takes ownership.
  static Value FromObject(ValueType type, std::unique_ptr<TypedObject> obj);
  // A deep copy with the same type and encoding (COPY: an int stays an int,
  // a "raw" string stays raw, objects are cloned).
  Value Clone() const;

  ValueType type() const { return static_cast<ValueType>(tag_ & kTypeMask); }
  bool is_string() const { return type() == ValueType::kString; }
  // OBJECT ENCODING's reply.
  std::string_view EncodingName() const;

  // Strings only (REQUIRES: is_string()).
  // The bytes; an int-encoded value is rendered into `scratch`.
  std::string_view View(std::string* scratch) const;
  std::string ToString() const;
  size_t StringLength() const;
  bool is_int_encoded() const { return repr() == kReprInt; }
  // The integer when int-encoded.
  int64_t int_value() const { return Load<int64_t>(); }
  // Makes the value a heap string reporting "raw" and returns it for in-place
  // edits (APPEND, SETRANGE). The pointer is valid until the value changes.
  std::string* MutableRawString();

  // Non-strings only: the owned object (nullptr for strings).
  TypedObject* object() const { return repr() == kReprObject ? Load<TypedObject*>() : nullptr; }

  // Bytes this value owns beyond its 24 bytes, as malloc_usable_size counts
  // them (MEMORY USAGE).
  size_t HeapBytes() const;

  // Starts loading the block this value owns, if any, with the allocator's
  // header before it (a hint: the evictor is about to free it, and a free
  // reads that header; the miss then overlaps the rest of the removal).
  void PrefetchBlock() const { PrefetchBlockAt(OwnedBlock()); }
  // The block this value owns (nullptr: none), for PrefetchBlockAt.
  const char* OwnedBlock() const {
    const Repr r = repr();
    return r == kReprBlock || r == kReprHeap || r == kReprObject ? Load<const char*>() : nullptr;
  }
  // `block` may be stale (a value since freed): a prefetch reads nothing.
  static void PrefetchBlockAt(const char* block) {
    if (block == nullptr) return;
    __builtin_prefetch(block - 2 * sizeof(size_t));
    __builtin_prefetch(block);
  }

 private:
  // kReprBlock: a string too long for inline, in one block of its own (its
  // length as a size_t, then its bytes), as SET stores it. kReprHeap: a
  // std::string, which APPEND and SETRANGE edit in place.
  enum Repr : uint8_t {
    kReprInt = 0,
    kReprInline = 1,
    kReprHeap = 2,
    kReprObject = 3,
    kReprBlock = 4,
  };
  static constexpr uint8_t kTypeMask = 0x07;
  static constexpr uint8_t kReprShift = 3;
  static constexpr uint8_t kReprMask = 0x07 << kReprShift;
  static constexpr uint8_t kRawFlag = 0x40;  // report "raw" rather than "embstr"
  static constexpr size_t kInlineMax = 22;

  Repr repr() const { return static_cast<Repr>((tag_ & kReprMask) >> kReprShift); }
  void SetTag(ValueType type, Repr repr, bool raw) {
    tag_ = static_cast<uint8_t>(static_cast<uint8_t>(type) | (repr << kReprShift) |
                                (raw ? kRawFlag : 0));
  }
  void SetInline(std::string_view s) {
    if (!s.empty()) std::memcpy(data_, s.data(), s.size());
    inline_len_ = static_cast<uint8_t>(s.size());
    SetTag(ValueType::kString, kReprInline, false);
  }
  void Reset();
  // A kReprBlock's length and bytes.
  size_t BlockLength() const {
    size_t len;
    std::memcpy(&len, Load<const char*>(), sizeof(len));
    return len;
  }
  const char* BlockBytes() const { return Load<const char*>() + sizeof(size_t); }
  void MoveFrom(Value& other) {
    std::memcpy(static_cast<void*>(this), &other, sizeof(Value));
    other.tag_ = 0;  // int repr: owns nothing
  }

  // The int64 or the pointer live in the first 8 bytes, an inline string in
  // all 22 (memcpy in and out: no type punning).
  template <typename T>
  T Load() const {
    T v;
    std::memcpy(&v, data_, sizeof(T));
    return v;
  }
  template <typename T>
  void Store(T v) {
    std::memcpy(data_, &v, sizeof(T));
  }

  alignas(8) char data_[kInlineMax];
  uint8_t inline_len_ = 0;
  uint8_t tag_ = 0;
};

static_assert(sizeof(Value) == 24, "Value must stay 24 bytes");

}  // namespace shardnode::node
