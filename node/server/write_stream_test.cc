#include "node/server/write_stream.h"

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

// Records what it receives: one line per write ("db slot SELECT?|args"),
// "end" at each unit end, and the bytes as they would reach a backlog.
class Recorder : public WriteConsumer {
 public:
  bool WantsWrites() const override { return wants; }
  WriteTargets kind() const override { return kind_; }
  void OnWrite(const StreamWrite& w) override {
    command_sizes.push_back(w.command().size());
    std::string line = absl::StrCat(w.db, " ", w.slot, w.select().empty() ? "" : " +select", " |");
    for (const std::string& a : w.args) absl::StrAppend(&line, " ", a);
    lines.push_back(line);
    bytes.append(w.bytes);
    offsets.push_back(w.offset);
    if (on_write) on_write();
  }
  void OnUnitEnd() override { lines.push_back("end"); }
  bool HoldsReplies() const override { return holds; }

  bool wants = true;
  bool holds = false;
  WriteTargets kind_ = kToAll;
  std::vector<std::string> lines;
  std::string bytes;
  std::vector<uint64_t> offsets;
  std::vector<size_t> command_sizes;
  std::function<void()> on_write;
};

using Lines = std::vector<std::string>;
using Args = std::vector<std::string>;

void Append(WriteStream& stream, int db, int slot, const Args& args) {
  stream.Append(db, slot, args);
}

TEST(WriteStreamTest, WriteOutsideUnitIsDeliveredAtOnceWithSelect) {
  WriteStream stream;
  Recorder r;
  stream.Subscribe(&r);
  Append(stream, 0, 42, {"DEL", "k"});
  EXPECT_EQ(r.lines, Lines({"0 42 +select | DEL k", "end"}));
  EXPECT_EQ(r.bytes, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n");
  EXPECT_EQ(stream.selected_db(&r), 0);
}

// redis.set_repl: a unit whose writes go to the AOF, to replicas or to both;
// MULTI/EXEC reach every consumer, as Redis 7.0 propagates them; a
// migration-like consumer takes every write.
TEST(WriteStreamTest, WritesReachOnlyTheirTargets) {
  WriteStream stream;
  Recorder aof, replicas, any;
  aof.kind_ = kToAof;
  replicas.kind_ = kToReplicas;
  stream.Subscribe(&aof);
  stream.Subscribe(&replicas);
  stream.Subscribe(&any);
  stream.BeginUnit();
  stream.Append(0, 1, Args{"SET", "a", "1"}, kToAll);
  stream.Append(0, 2, Args{"SET", "b", "2"}, kToNone);
  stream.Append(0, 3, Args{"SET", "c", "3"}, kToAof);
  stream.Append(0, 4, Args{"SET", "d", "4"}, kToReplicas);
  stream.EndUnit();
  EXPECT_EQ(aof.lines, Lines({"0 -1 +select | MULTI", "0 1 | SET a 1", "0 3 | SET c 3",
                              "0 -1 | EXEC", "end"}));
  EXPECT_EQ(replicas.lines, Lines({"0 -1 +select | MULTI", "0 1 | SET a 1", "0 4 | SET d 4",
                                   "0 -1 | EXEC", "end"}));
  EXPECT_EQ(any.lines, Lines({"0 -1 +select | MULTI", "0 1 | SET a 1", "0 3 | SET c 3",
                              "0 4 | SET d 4", "0 -1 | EXEC", "end"}));
}

TEST(WriteStreamTest, SelectOnlyWhenTheDbChanges) {
  WriteStream stream;
  Recorder r;
  stream.Subscribe(&r);
  Append(stream, 0, 1, {"SET", "a", "1"});
  Append(stream, 0, 2, {"SET", "b", "1"});
  Append(stream, 12, 3, {"SET", "c", "1"});
  Append(stream, 12, 3, {"SET", "c", "2"});
  Append(stream, 0, 1, {"SET", "a", "2"});
  EXPECT_EQ(r.lines,
            Lines({"0 1 +select | SET a 1", "end", "0 2 | SET b 1", "end", "12 3 +select | SET c 1",
                   "end", "12 3 | SET c 2", "end", "0 1 +select | SET a 2", "end"}));
  EXPECT_NE(r.bytes.find("*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n*3\r\n$3\r\nSET"), std::string::npos);
  EXPECT_EQ(stream.selected_db(&r), 0);
}

TEST(WriteStreamTest, UnitOfOneWriteIsNotWrapped) {
  WriteStream stream;
  Recorder r;
  stream.Subscribe(&r);
  stream.BeginUnit();
  Append(stream, 0, 7, {"INCR", "n"});
  EXPECT_TRUE(r.lines.empty());  // held until the unit ends
  stream.EndUnit();
  EXPECT_EQ(r.lines, Lines({"0 7 +select | INCR n", "end"}));
}

TEST(WriteStreamTest, UnitOfSeveralWritesIsWrappedInMultiExec) {
  WriteStream stream;
  Recorder r;
  stream.Subscribe(&r);
  stream.BeginUnit();
  Append(stream, 3, 5, {"SET", "a", "1"});
  stream.BeginUnit();  // nested: EXEC running a command
  Append(stream, 3, 6, {"SET", "b", "1"});
  stream.EndUnit();
  EXPECT_TRUE(r.lines.empty());
  Append(stream, 4, 6, {"DEL", "b"});
  stream.EndUnit();
  // MULTI carries the first write's db (so its SELECT comes first), EXEC the
  // last one's; neither has a slot.
  EXPECT_EQ(r.lines, Lines({"3 -1 +select | MULTI", "3 5 | SET a 1", "3 6 | SET b 1",
                            "4 6 +select | DEL b", "4 -1 | EXEC", "end"}));
}

TEST(WriteStreamTest, NoMultiUnitDeliversItsWritesUnwrapped) {
  WriteStream stream;
  Recorder r;
  stream.Subscribe(&r);
  stream.BeginUnit();  // SCAN reaping two expired keys
  stream.SetNoMulti();
  Append(stream, 0, 1, {"DEL", "a"});
  Append(stream, 0, 2, {"DEL", "b"});
  stream.EndUnit();
  EXPECT_EQ(r.lines, Lines({"0 1 +select | DEL a", "0 2 | DEL b", "end"}));
  // The mark lasts for that unit only.
  r.lines.clear();
  stream.BeginUnit();
  Append(stream, 0, 1, {"DEL", "c"});
  Append(stream, 0, 2, {"DEL", "d"});
  stream.EndUnit();
  EXPECT_EQ(r.lines, Lines({"0 -1 | MULTI", "0 1 | DEL c", "0 2 | DEL d", "0 -1 | EXEC", "end"}));
}

TEST(WriteStreamTest, EmptyUnitDeliversNothing) {
  WriteStream stream;
  Recorder r;
  stream.Subscribe(&r);
  stream.BeginUnit();
  stream.EndUnit();
  EXPECT_TRUE(r.lines.empty());
  EXPECT_EQ(stream.offset(), 0u);
}

TEST(WriteStreamTest, NothingIsCollectedWithoutConsumers) {
  WriteStream stream;
  EXPECT_FALSE(stream.wanted());
  Append(stream, 0, 1, {"SET", "a", "1"});
  stream.BeginUnit();
  Append(stream, 0, 1, {"SET", "a", "2"});
  stream.EndUnit();
  EXPECT_EQ(stream.offset(), 0u);

  // A consumer that does not want writes counts as none.
  Recorder idle;
  idle.wants = false;
  stream.Subscribe(&idle);
  EXPECT_FALSE(stream.wanted());
  stream.BeginUnit();
  Append(stream, 0, 1, {"SET", "a", "3"});
  idle.wants = true;  // wanting later does not bring back what was dropped
  stream.EndUnit();
  EXPECT_TRUE(idle.lines.empty());
  EXPECT_EQ(stream.offset(), 0u);
  Append(stream, 0, 1, {"SET", "a", "4"});
  EXPECT_EQ(idle.lines, Lines({"0 1 +select | SET a 4", "end"}));
}

TEST(WriteStreamTest, OffsetCountsCommandBytes) {
  WriteStream stream;
  Recorder r;
  stream.Subscribe(&r);
  const std::string set = "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
  const std::string multi = "*1\r\n$5\r\nMULTI\r\n";
  const std::string exec = "*1\r\n$4\r\nEXEC\r\n";
  Append(stream, 5, 1, {"SET", "a", "1"});
  EXPECT_EQ(stream.offset(), set.size());  // the SELECT is not counted
  stream.BeginUnit();
  Append(stream, 5, 1, {"SET", "a", "1"});
  Append(stream, 5, 1, {"SET", "a", "1"});
  stream.EndUnit();
  const uint64_t total = 3 * set.size() + multi.size() + exec.size();
  EXPECT_EQ(stream.offset(), total);
  // Each write carries the offset after its command bytes.
  EXPECT_EQ(r.offsets, std::vector<uint64_t>({set.size(), set.size() + multi.size(),
                                              2 * set.size() + multi.size(),
                                              3 * set.size() + multi.size(), total}));
}

TEST(WriteStreamTest, EachConsumerHasItsOwnSelectedDb) {
  WriteStream stream;
  Recorder a;
  stream.Subscribe(&a);
  Append(stream, 2, 1, {"SET", "x", "1"});
  Recorder b;
  stream.Subscribe(&b);  // joins later: its first write carries a SELECT
  Append(stream, 2, 1, {"SET", "x", "2"});
  EXPECT_EQ(a.lines, Lines({"2 1 +select | SET x 1", "end", "2 1 | SET x 2", "end"}));
  EXPECT_EQ(b.lines, Lines({"2 1 +select | SET x 2", "end"}));

  // Forgetting one consumer's db (a replica's image was taken) gives it a
  // SELECT and leaves the other's stream unchanged.
  stream.ForgetSelectedDb(&b);
  EXPECT_EQ(stream.selected_db(&b), -1);
  Append(stream, 2, 1, {"SET", "x", "3"});
  EXPECT_EQ(a.lines.back(), "end");
  EXPECT_EQ(a.lines[a.lines.size() - 2], "2 1 | SET x 3");
  EXPECT_EQ(b.lines[b.lines.size() - 2], "2 1 +select | SET x 3");

  // A consumer that does not want writes is skipped and keeps its db.
  b.wants = false;
  Append(stream, 4, 1, {"SET", "x", "4"});
  EXPECT_EQ(b.lines.size(), 4u);
  EXPECT_EQ(stream.selected_db(&b), 2);
  b.wants = true;
  Append(stream, 2, 1, {"SET", "x", "5"});
  EXPECT_EQ(b.lines[b.lines.size() - 2], "2 1 | SET x 5");
  EXPECT_EQ(a.lines[a.lines.size() - 2], "2 1 +select | SET x 5");
}

TEST(WriteStreamTest, UnsubscribedConsumerReceivesNothing) {
  WriteStream stream;
  Recorder a;
  Recorder b;
  stream.Subscribe(&a);
  stream.Subscribe(&b);
  stream.Unsubscribe(&a);
  Append(stream, 0, 1, {"SET", "x", "1"});
  EXPECT_TRUE(a.lines.empty());
  EXPECT_EQ(b.lines.size(), 2u);
  EXPECT_EQ(stream.selected_db(&a), -1);
  stream.Unsubscribe(&b);
  EXPECT_FALSE(stream.wanted());
  stream.Unsubscribe(&b);  // not subscribed: a no-op
}

TEST(WriteStreamTest, ConsumerMayUnsubscribeItselfDuringDelivery) {
  WriteStream stream;
  Recorder a;
  Recorder b;
  stream.Subscribe(&a);
  stream.Subscribe(&b);
  a.on_write = [&] { stream.Unsubscribe(&a); };
  stream.BeginUnit();
  Append(stream, 0, 1, {"SET", "x", "1"});
  Append(stream, 0, 2, {"SET", "y", "1"});
  stream.EndUnit();
  EXPECT_EQ(a.lines, Lines({"0 -1 +select | MULTI"}));
  EXPECT_EQ(b.lines, Lines({"0 -1 +select | MULTI", "0 1 | SET x 1", "0 2 | SET y 1", "0 -1 | EXEC",
                            "end"}));
  // Resubscribing starts again with a SELECT.
  a.on_write = nullptr;
  stream.Subscribe(&a);
  Append(stream, 0, 1, {"SET", "x", "2"});
  EXPECT_EQ(a.lines.back(), "end");
  EXPECT_EQ(a.lines[a.lines.size() - 2], "0 1 +select | SET x 2");
}

TEST(WriteStreamTest, KeylessWritesHaveNoSlot) {
  WriteStream stream;
  Recorder r;
  stream.Subscribe(&r);
  Append(stream, 0, kNoSlot, {"FLUSHALL"});
  EXPECT_EQ(r.lines, Lines({"0 -1 +select | FLUSHALL", "end"}));
}

// A shard thread's unit waits in the queue until the control loop drains
// it, then arrives whole, as the control loop's own units do; the wake hook
// fires once for a queue that was empty.
TEST(WriteStreamTest, ProducerUnitIsDeliveredWholeByDrain) {
  WriteStream stream;
  int wakes = 0;
  stream.set_wake([&] { ++wakes; });
  Recorder r;
  stream.Subscribe(&r);
  WriteStream::Producer producer(stream);
  producer.BeginUnit();
  producer.Append(0, 1, Args{"SET", "a", "1"});
  producer.Append(0, 2, Args{"SET", "b", "2"});
  EXPECT_TRUE(producer.in_unit());
  producer.EndUnit();
  producer.Append(1, 3, Args{"DEL", "c"});  // outside a unit: its own unit
  EXPECT_TRUE(r.lines.empty());
  EXPECT_EQ(stream.offset(), 0u);
  EXPECT_EQ(wakes, 1);
  stream.Drain();
  EXPECT_EQ(r.lines, Lines({"0 -1 +select | MULTI", "0 1 | SET a 1", "0 2 | SET b 2", "0 -1 | EXEC",
                            "end", "1 3 +select | DEL c", "end"}));
  stream.Drain();  // nothing more
  EXPECT_EQ(r.lines.size(), 7u);
}

// The control loop's own write goes after the units committed before it.
TEST(WriteStreamTest, ControlLoopWriteFollowsCommittedUnits) {
  WriteStream stream;
  Recorder r;
  stream.Subscribe(&r);
  WriteStream::Producer producer(stream);
  producer.Append(0, 1, Args{"SET", "a", "1"});
  stream.BeginUnit();
  stream.Append(0, 2, Args{"SET", "b", "2"});
  stream.EndUnit();
  Append(stream, 0, 3, {"SET", "c", "3"});
  EXPECT_EQ(r.lines, Lines({"0 1 +select | SET a 1", "end", "0 2 | SET b 2", "end", "0 3 | SET c 3",
                            "end"}));
}

// A producer's units are numbered; the replies to them wait while a
// consumer that holds replies (the AOF) has not been through them: until
// a drain delivered them and AckDrained acknowledged what was drained.
TEST(WriteStreamTest, RepliesWaitUntilDrainedUnitsAreAcknowledged) {
  WriteStream stream;
  Recorder replica;
  stream.Subscribe(&replica);
  WriteStream::Producer a(stream);
  WriteStream::Producer b(stream);
  EXPECT_EQ(a.last_commit(), 0u);
  EXPECT_FALSE(stream.ReplyWaits(a.last_commit()));
  a.Append(0, 1, Args{"SET", "a", "1"});
  b.BeginUnit();
  b.Append(0, 2, Args{"SET", "b", "2"});
  b.EndUnit();
  EXPECT_EQ(a.last_commit(), 1u);
  EXPECT_EQ(b.last_commit(), 2u);
  // A replica holds no replies.
  EXPECT_FALSE(stream.ReplyWaits(b.last_commit()));
  Recorder aof;
  aof.holds = true;
  stream.Subscribe(&aof);
  EXPECT_TRUE(stream.holds_replies());
  EXPECT_TRUE(stream.ReplyWaits(a.last_commit()));
  stream.AckDrained();  // nothing drained yet
  EXPECT_TRUE(stream.ReplyWaits(a.last_commit()));
  stream.Drain();
  EXPECT_TRUE(stream.ReplyWaits(b.last_commit()));  // delivered, not acknowledged
  stream.AckDrained();
  EXPECT_FALSE(stream.ReplyWaits(a.last_commit()));
  EXPECT_FALSE(stream.ReplyWaits(b.last_commit()));
  a.Append(0, 1, Args{"SET", "a", "2"});
  EXPECT_TRUE(stream.ReplyWaits(a.last_commit()));
  EXPECT_FALSE(stream.ReplyWaits(b.last_commit()));
  // A consumer that holds replies but wants no writes (an AOF turned off)
  // holds none.
  aof.wants = false;
  EXPECT_FALSE(stream.ReplyWaits(a.last_commit()));
}

// Nothing is queued while no consumer is subscribed.
TEST(WriteStreamTest, ProducerCollectsNothingWithoutConsumers) {
  WriteStream stream;
  int wakes = 0;
  stream.set_wake([&] { ++wakes; });
  WriteStream::Producer producer(stream);
  EXPECT_FALSE(producer.maybe_wanted());
  producer.Append(0, 1, Args{"SET", "a", "1"});
  EXPECT_EQ(wakes, 0);
  Recorder r;
  stream.Subscribe(&r);
  stream.Drain();
  EXPECT_TRUE(r.lines.empty());
}

// Several shard threads commit units at once while the control loop
// drains: every unit arrives whole (MULTI, its writes, EXEC, with no other
// write inside), each producer's units in its own order, and the offsets
// count every command byte once, in delivery order. Meant for TSan too
// (scripts/test --tsan).
TEST(WriteStreamTest, ConcurrentProducersKeepUnitsWholeAndOffsetsConsistent) {
  WriteStream stream;
  std::atomic<int> wakes{0};
  stream.set_wake([&] { wakes.fetch_add(1, std::memory_order_relaxed); });
  Recorder r;
  stream.Subscribe(&r);
  constexpr int kThreads = 4;
  constexpr int kUnits = 300;
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&stream, &done, t] {
      WriteStream::Producer producer(stream);
      for (int u = 0; u < kUnits; ++u) {
        const int writes = 1 + u % 3;
        producer.BeginUnit();
        for (int w = 0; w < writes; ++w) {
          producer.Append(t, t, Args{"SET", absl::StrCat("k", t), absl::StrCat(u, ".", w)});
        }
        producer.EndUnit();
      }
      done.fetch_add(1);
    });
  }
  // The control loop drains while they commit, and once more at the end.
  while (done.load() < kThreads) stream.Drain();
  for (std::thread& th : threads) th.join();
  stream.Drain();
  EXPECT_GT(wakes.load(), 0);

  std::vector<int> next_unit(kThreads, 0);
  size_t i = 0;
  size_t writes_seen = 0;
  uint64_t bytes = 0;
  while (i < r.lines.size()) {
    const bool multi = r.lines[i].ends_with("| MULTI");
    if (multi) ++i;
    // Every write of the unit: "db slot [+select] | SET k<t> <u>.<w>".
    int thread = -1, unit = -1, w = 0;
    while (i < r.lines.size() && r.lines[i].find("| SET ") != std::string::npos) {
      const std::string& line = r.lines[i];
      const int t = line[0] - '0';
      const std::string value = line.substr(line.rfind(' ') + 1);
      const int u = std::stoi(value.substr(0, value.find('.')));
      if (thread == -1) {
        thread = t;
        unit = u;
      }
      ASSERT_EQ(t, thread) << "a unit mixes producers at line " << i;
      ASSERT_EQ(u, unit) << "a unit mixes units at line " << i;
      ASSERT_EQ(value, absl::StrCat(u, ".", w)) << "line " << i;
      ++w;
      ++i;
    }
    ASSERT_GE(thread, 0) << "no write at line " << i;
    ASSERT_EQ(w, 1 + unit % 3);
    ASSERT_EQ(unit, next_unit[thread]) << "producer " << thread << " out of order";
    ++next_unit[thread];
    writes_seen += static_cast<size_t>(w);
    if (multi) {
      ASSERT_TRUE(r.lines[i].ends_with("| EXEC")) << "line " << i;
      ++i;
    }
    ASSERT_EQ(r.lines[i], "end");
    ++i;
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next_unit[t], kUnits);
  EXPECT_EQ(writes_seen, static_cast<size_t>(kThreads * (kUnits / 3) * 6));
  // Offsets: each write's is the previous plus its command bytes.
  ASSERT_EQ(r.offsets.size(), r.command_sizes.size());
  for (size_t k = 0; k < r.offsets.size(); ++k) {
    bytes += r.command_sizes[k];
    ASSERT_EQ(r.offsets[k], bytes) << "write " << k;
  }
  EXPECT_EQ(stream.offset(), bytes);
}

}  // namespace
}  // namespace shardnode::node
