#include "node/keyspace/value.h"

#include <malloc.h>

#include <limits>

#include "absl/strings/str_cat.h"
#include "base/strings.h"

namespace shardnode::node {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kList:
      return "list";
    case ValueType::kSet:
      return "set";
    case ValueType::kZSet:
      return "zset";
    case ValueType::kHash:
      return "hash";
    case ValueType::kStream:
      return "stream";
  }
  return "none";
}

Value Value::FromStringTryInt(std::string_view s) {
  int64_t v;
  if (base::ParseStrictInt64(s, &v)) return FromInt(v);
  return FromString(s);
}

Value Value::FromString(std::string_view s) {
  Value out;
  if (s.size() <= kInlineMax) {
    out.SetInline(s);
  } else {
    // One block (not a std::string and its buffer): Redis's embstr is one
    // allocation too.
    char* block = static_cast<char*>(::operator new(sizeof(size_t) + s.size()));
    const size_t len = s.size();
    std::memcpy(block, &len, sizeof(len));
    std::memcpy(block + sizeof(len), s.data(), len);
    out.Store(block);
    out.SetTag(ValueType::kString, kReprBlock, false);
  }
  if (s.size() > kEmbstrMaxLen) out.tag_ |= kRawFlag;
  return out;
}

Value Value::FromStringRaw(std::string_view s) {
  Value out = FromString(s);
  out.tag_ |= kRawFlag;
  return out;
}

Value Value::FromInt(int64_t v) {
  Value out;
  out.Store(v);
  out.SetTag(ValueType::kString, kReprInt, false);
  return out;
}

Value Value::FromObject(ValueType type, std::unique_ptr<TypedObject> obj) {
  Value out;
  out.Store(obj.release());
  out.SetTag(type, kReprObject, false);
  return out;
}

Value Value::Clone() const {
  Value out;
  switch (repr()) {
    case kReprInt:
      out.Store(Load<int64_t>());
      break;
    case kReprInline:
      std::memcpy(out.data_, data_, kInlineMax);
      out.inline_len_ = inline_len_;
      break;
    case kReprHeap:
      out.Store(new std::string(*Load<std::string*>()));
      break;
    case kReprBlock: {
      const size_t bytes = sizeof(size_t) + BlockLength();
      char* block = static_cast<char*>(::operator new(bytes));
      std::memcpy(block, Load<const char*>(), bytes);
      out.Store(block);
      break;
    }
    case kReprObject:
      out.Store(Load<TypedObject*>()->Clone().release());
      break;
  }
  out.tag_ = tag_;
  return out;
}

void Value::Reset() {
  switch (repr()) {
    case kReprHeap:
      delete Load<std::string*>();
      break;
    case kReprBlock:
      ::operator delete(Load<char*>());
      break;
    case kReprObject:
      delete Load<TypedObject*>();
      break;
    default:
      break;
  }
  tag_ = 0;
}

std::string_view Value::EncodingName() const {
  switch (repr()) {
    case kReprInt:
      return "int";
    case kReprObject:
      return Load<TypedObject*>()->EncodingName();
    default:
      return (tag_ & kRawFlag) ? "raw" : "embstr";
  }
}

std::string_view Value::View(std::string* scratch) const {
  switch (repr()) {
    case kReprInt:
      *scratch = absl::StrCat(Load<int64_t>());
      return *scratch;
    case kReprInline:
      return {data_, inline_len_};
    case kReprHeap:
      return *Load<std::string*>();
    case kReprBlock:
      return {BlockBytes(), BlockLength()};
    case kReprObject:
      break;
  }
  return {};
}

std::string Value::ToString() const {
  std::string scratch;
  std::string_view v = View(&scratch);
  return scratch.empty() ? std::string(v) : scratch;
}

size_t Value::StringLength() const {
  switch (repr()) {
    case kReprInt: {
      const int64_t v = Load<int64_t>();
      uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
      size_t digits = 1;
      while (u >= 10) {
        u /= 10;
        ++digits;
      }
      return digits + (v < 0 ? 1 : 0);
    }
    case kReprInline:
      return inline_len_;
    case kReprHeap:
      return Load<std::string*>()->size();
    case kReprBlock:
      return BlockLength();
    case kReprObject:
      break;
  }
  return 0;
}

std::string* Value::MutableRawString() {
  if (repr() == kReprHeap) {
    tag_ |= kRawFlag;
    return Load<std::string*>();
  }
  std::string* s = new std::string(ToString());
  Reset();
  Store(s);
  SetTag(ValueType::kString, kReprHeap, true);
  return s;
}

size_t Value::HeapBytes() const {
  if (repr() == kReprBlock) return malloc_usable_size(Load<char*>());
  if (repr() != kReprHeap) return 0;
  std::string* s = Load<std::string*>();
  size_t bytes = malloc_usable_size(s);
  // Unless they fit the string's in-object buffer, its bytes are a block of
  // their own.
  const char* obj = reinterpret_cast<const char*>(s);
  if (s->data() < obj || s->data() >= obj + sizeof(std::string)) {
    bytes += malloc_usable_size(s->data());
  }
  return bytes;
}

}  // namespace shardnode::node
