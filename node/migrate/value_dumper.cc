#include "node/migrate/value_dumper.h"

#include <algorithm>

#include "node/keyspace/types/hash_object.h"
#include "node/keyspace/types/list_object.h"
#include "node/keyspace/types/set_object.h"
#include "node/keyspace/types/zset_object.h"
#include "node/persist/dataset.h"

namespace shardnode::node::migrate {
namespace {

size_t ElementCount(const Value& v) {
  switch (v.type()) {
    case ValueType::kString:
      return 0;
    case ValueType::kList:
      return static_cast<const ListObject*>(v.object())->Size();
    case ValueType::kSet:
      return static_cast<const SetObject*>(v.object())->Size();
    case ValueType::kZSet:
      return static_cast<const ZSetObject*>(v.object())->Size();
    case ValueType::kHash:
      return static_cast<const HashObject*>(v.object())->Size();
    case ValueType::kStream:
      return 0;  // dumped in one piece (DumpPayload)
  }
  return 0;
}

}  // namespace

ValueDumper::ValueDumper(const Value& value, replication::RdbWriterOptions options)
    : value_(value), options_(options), builder_(std::move(options)) {
  sliced_ = value.is_string() ? value.StringLength() > kSliceStringBytes
                              : ElementCount(value) > kSliceElements;
}

std::string ValueDumper::TakePayload() {
  if (chunks_.size() == 1) return std::move(chunks_.front());
  std::string out;
  out.reserve(payload_size_);
  for (const std::string& c : chunks_) out.append(c);
  chunks_.clear();
  return out;
}

void ValueDumper::AddChunk(std::string chunk) {
  if (chunk.empty()) return;
  payload_size_ += chunk.size();
  chunks_.push_back(std::move(chunk));
}

bool ValueDumper::Step(size_t budget) {
  if (done_) return true;
  if (budget == 0) budget = 1;
  if (!sliced_) {
    AddChunk(replication::DumpPayload(persist::ToRdbValue(value_), options_));
    done_ = true;
    return true;
  }
  const size_t total = value_.is_string() ? value_.StringLength() : ElementCount(value_);
  switch (value_.type()) {
    case ValueType::kString: {
      std::string scratch;
      const std::string_view bytes = value_.View(&scratch);
      if (!started_) builder_.BeginString(bytes.size());
      const size_t end = std::min(bytes.size(), cursor_ + budget * kStringChunk);
      builder_.StringChunk(bytes.substr(cursor_, end - cursor_));
      cursor_ = end;
      done_ = cursor_ == bytes.size();
      break;
    }
    case ValueType::kHash: {
      const auto* h = static_cast<const HashObject*>(value_.object());
      if (!started_) builder_.BeginHash(total);
      cursor_ = h->Scan(cursor_, budget, [this](std::string_view f, std::string_view v) {
        builder_.HashField(f, v);
      });
      done_ = cursor_ == 0;
      break;
    }
    case ValueType::kSet: {
      const auto* s = static_cast<const SetObject*>(value_.object());
      if (!started_) builder_.BeginSet(total);
      cursor_ = s->Scan(cursor_, budget, [this](std::string_view m) { builder_.SetMember(m); });
      done_ = cursor_ == 0;
      break;
    }
    case ValueType::kZSet: {
      // Highest score first, as Redis writes a skiplist (its loader then
      // inserts at the head each time).
      const auto* z = static_cast<const ZSetObject*>(value_.object());
      if (!started_) builder_.BeginZSet(total);
      const size_t end = std::min<size_t>(total, cursor_ + budget);
      if (end > cursor_) {
        // Ranks counted from the top: [cursor_, end) of the reversed order.
        z->Range(total - end, total - 1 - cursor_, /*reverse=*/true,
                 [this](std::string_view m, double score) { builder_.ZSetMember(m, score); });
      }
      cursor_ = end;
      done_ = cursor_ == total;
      break;
    }
    case ValueType::kList: {
      const auto* l = static_cast<const ListObject*>(value_.object());
      if (!started_) builder_.BeginList(total);
      size_t left = budget;
      if (cursor_ < total) {
        l->Walk(cursor_, /*reverse=*/false, [&](size_t, std::string_view e) {
          builder_.ListElement(e);
          ++cursor_;
          return --left > 0;
        });
      }
      done_ = cursor_ == total;
      break;
    }
    case ValueType::kStream:
      break;  // never sliced (ElementCount is 0)
  }
  started_ = true;
  // This slice's bytes become a chunk of their own (the checksum runs on).
  AddChunk(done_ ? builder_.Finish() : builder_.TakeChunk());
  return done_;
}

}  // namespace shardnode::node::migrate
