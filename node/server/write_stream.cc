#include "node/server/write_stream.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/resp_command.h"

namespace shardnode::node {
void WriteStream::Subscribe(WriteConsumer* consumer) {
  subscribers_.push_back(Subscriber{consumer, -1});
  subscribed_.fetch_add(1, std::memory_order_relaxed);
}

void WriteStream::Unsubscribe(WriteConsumer* consumer) {
  for (Subscriber& s : subscribers_) {
    if (s.consumer == consumer) {
      s.consumer = nullptr;
      unsubscribed_ = true;
      subscribed_.fetch_sub(1, std::memory_order_relaxed);
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

bool WriteStream::holds_replies() const {
  return std::any_of(subscribers_.begin(), subscribers_.end(), [](const Subscriber& s) {
    return s.consumer != nullptr && s.consumer->WantsWrites() && s.consumer->HoldsReplies();
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
    DrainIfQueued();  // the units committed before this write go first
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
  DrainIfQueued();  // the units committed before this one go first
  std::vector<Pending> writes;
  writes.swap(pending_);
  DeliverUnit(writes, no_multi);
  // The buffer keeps its capacity for the next unit (unless a consumer's
  // callback started and ended a unit of its own meanwhile).
  writes.clear();
  if (pending_.empty()) pending_.swap(writes);
}

void WriteStream::DeliverUnit(const std::vector<Pending>& writes, bool no_multi) {
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
}

uint64_t WriteStream::Commit(std::vector<Pending> writes, bool no_multi) {
  bool was_empty = false;
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    was_empty = queue_.empty();
    seq = ++commit_seq_;
    queue_.push_back(Unit{std::move(writes), no_multi, seq});
    queued_.store(queue_.size(), std::memory_order_release);
  }
  // A non-empty queue has a drain on its way already.
  if (was_empty && wake_) wake_();
  return seq;
}

void WriteStream::Drain() {
  // From a consumer's callback: the drain in progress delivers the rest
  // after the current unit, keeping units whole.
  if (draining_ || delivering_ > 0) return;
  draining_ = true;
  for (;;) {
    std::deque<Unit> units;
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      units.swap(queue_);
      queued_.store(0, std::memory_order_release);
    }
    if (units.empty()) break;
    for (const Unit& u : units) {
      // As Append: a unit nobody wants when it is delivered is dropped.
      if (!wanted()) continue;
      DeliverUnit(u.writes, u.no_multi);
    }
    drained_seq_ = units.back().seq;
  }
  draining_ = false;
}

WriteStream::Producer::~Producer() = default;

bool WriteStream::Producer::maybe_wanted() const {
  return stream_.subscribed_.load(std::memory_order_relaxed) > 0;
}

void WriteStream::Producer::Append(int db, int slot, std::span<const std::string> args,
                                   WriteTargets targets) {
  if (targets == kToNone || !maybe_wanted()) return;
  std::vector<Pending> one;
  if (unit_depth_ == 0) {
    one.push_back(Pending{db, slot, std::vector<std::string>(args.begin(), args.end()), targets});
    last_commit_ = stream_.Commit(std::move(one), false);
    return;
  }
  pending_.push_back(
      Pending{db, slot, std::vector<std::string>(args.begin(), args.end()), targets});
}

void WriteStream::Producer::EndUnit() {
  if (--unit_depth_ > 0) return;
  const bool no_multi = no_multi_;
  no_multi_ = false;
  if (pending_.empty()) return;
  std::vector<Pending> writes;
  writes.swap(pending_);
  last_commit_ = stream_.Commit(std::move(writes), no_multi);
}

void WriteStream::Deliver(int db, int slot, std::span<const std::string> args,
                          WriteTargets targets) {
  command_.clear();
  base::AppendRespCommand(&command_, args);
  // One writer (this loop): a plain add published for other threads.
  const uint64_t offset = offset_.load(std::memory_order_relaxed) + command_.size();
  offset_.store(offset, std::memory_order_release);
  StreamWrite w;
  w.db = db;
  w.slot = slot;
  w.args = args;
  w.offset = offset;
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
