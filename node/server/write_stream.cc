#include "node/server/write_stream.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/resp_command.h"

namespace shardnode::node {
void WriteStream::Subscribe(WriteConsumer* consumer) {
  subscribers_.push_back(Subscriber{consumer, -1});
}

void WriteStream::Unsubscribe(WriteConsumer* consumer) {
  for (Subscriber& s : subscribers_) {
    if (s.consumer == consumer) {
      s.consumer = nullptr;
      unsubscribed_ = true;
    }
  }
  // Entries are only erased outside a delivery loop, which holds indexes.
  if (delivering_ == 0) EndDelivery();
}

void WriteStream::EndDelivery() {
  if (delivering_ > 0 || !unsubscribed_) return;
  std::erase_if(subscribers_, [](const Subscriber& s) { return s.consumer == nullptr; });
  unsubscribed_ = false;
}

bool WriteStream::wanted() const {
  return std::any_of(subscribers_.begin(), subscribers_.end(), [](const Subscriber& s) {
    return s.consumer != nullptr && s.consumer->WantsWrites();
  });
}

void WriteStream::ForgetSelectedDb(const WriteConsumer* consumer) {
  for (Subscriber& s : subscribers_) {
    if (s.consumer == consumer) s.selected_db = -1;
  }
}

int WriteStream::selected_db(const WriteConsumer* consumer) const {
  for (const Subscriber& s : subscribers_) {
    if (s.consumer == consumer) return s.selected_db;
  }
  return -1;
}

void WriteStream::Append(int db, int slot, std::span<const std::string> args,
                         WriteTargets targets) {
  if (targets == kToNone || !wanted()) return;
  if (unit_depth_ == 0) {
    ++delivering_;
    Deliver(db, slot, args, targets);
    for (size_t i = 0; i < subscribers_.size(); ++i) {
      WriteConsumer* c = subscribers_[i].consumer;
      if (c != nullptr && c->WantsWrites()) c->OnUnitEnd();
    }
    --delivering_;
    EndDelivery();
    return;
  }
  pending_.push_back(
      Pending{db, slot, std::vector<std::string>(args.begin(), args.end()), targets});
}

void WriteStream::EndUnit() {
  if (--unit_depth_ > 0) return;
  const bool no_multi = no_multi_;
  no_multi_ = false;
  if (pending_.empty()) return;
  std::vector<Pending> writes;
  writes.swap(pending_);
  ++delivering_;
  // One write is atomic by itself; several go as a transaction. MULTI takes
  // the first write's db (its SELECT comes first), EXEC the last one's.
  static const std::string kMulti[] = {"MULTI"};
  static const std::string kExec[] = {"EXEC"};
  const bool wrap = writes.size() > 1 && !no_multi;
  if (wrap) Deliver(writes.front().db, kNoSlot, kMulti, kToAll);
  for (const Pending& w : writes) Deliver(w.db, w.slot, w.args, w.targets);
  if (wrap) Deliver(writes.back().db, kNoSlot, kExec, kToAll);
  for (size_t i = 0; i < subscribers_.size(); ++i) {
    WriteConsumer* c = subscribers_[i].consumer;
    if (c != nullptr && c->WantsWrites()) c->OnUnitEnd();
  }
  --delivering_;
  EndDelivery();
  // The buffer keeps its capacity for the next unit (unless a consumer's
  // callback started and ended a unit of its own meanwhile).
  writes.clear();
  if (pending_.empty()) pending_.swap(writes);
}

void WriteStream::Deliver(int db, int slot, std::span<const std::string> args,
                          WriteTargets targets) {
  command_.clear();
  base::AppendRespCommand(&command_, args);
  offset_ += command_.size();
  StreamWrite w;
  w.db = db;
  w.slot = slot;
  w.args = args;
  w.offset = offset_;
  // Indexes, not iterators: a callback may subscribe another consumer.
  for (size_t i = 0; i < subscribers_.size(); ++i) {
    Subscriber& s = subscribers_[i];
    if (s.consumer == nullptr || !s.consumer->WantsWrites()) continue;
    if ((s.consumer->kind() & targets) == 0) continue;
    if (s.selected_db == db) {
      w.bytes = command_;
      w.select_size = 0;
    } else {
      buffer_.clear();
      const std::string index = absl::StrCat(db);
      absl::StrAppend(&buffer_, "*2\r\n$6\r\nSELECT\r\n$", index.size(), "\r\n", index, "\r\n");
      w.select_size = buffer_.size();
      buffer_.append(command_);
      w.bytes = buffer_;
      s.selected_db = db;
    }
    // Not `s`: the callback may grow subscribers_.
    subscribers_[i].consumer->OnWrite(w);
  }
}

}  // namespace shardnode::node
