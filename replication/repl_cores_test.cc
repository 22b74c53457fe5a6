#include <string>

#include "gtest/gtest.h"
#include "replication/backlog.h"
#include "replication/handshake.h"
#include "replication/psync.h"

namespace shardnode::replication {
namespace {

TEST(ReplBacklogTest, FreshBacklogStartsAfterTheCurrentOffset) {
  ReplBacklog b(16, 100);
  EXPECT_EQ(b.first_byte_offset(), 101);
  EXPECT_EQ(b.histlen(), 0);
  EXPECT_TRUE(b.CanServeFrom(101));
  EXPECT_FALSE(b.CanServeFrom(100));
  EXPECT_FALSE(b.CanServeFrom(102));
  EXPECT_EQ(b.CopyFrom(101), "");
}

// Blocks of 4 bytes (capacity 8): the oldest block goes only while what
// stays after it is still more than the capacity.
TEST(ReplBacklogTest, TrimsWholeBlocksBeyondTheCapacity) {
  ReplBacklog b(8, 0, /*min_block=*/4);
  b.Append("abcdef");
  EXPECT_EQ(b.blocks(), 2u);
  EXPECT_EQ(b.first_byte_offset(), 1);
  EXPECT_EQ(b.CopyFrom(3), "cdef");
  b.Append("ghij");  // 10 bytes: abcd efgh ij
  EXPECT_EQ(b.Trim(ReplBacklog::kNoHold, 100), 0u);  // 10 - 4 is not above 8
  b.Append("klm");  // 13 bytes: freeing abcd leaves 9
  EXPECT_EQ(b.Trim(ReplBacklog::kNoHold, 100), 1u);
  EXPECT_EQ(b.end_offset(), 13);
  EXPECT_EQ(b.histlen(), 9);
  EXPECT_EQ(b.first_byte_offset(), 5);
  EXPECT_FALSE(b.CanServeFrom(4));
  EXPECT_EQ(b.CopyFrom(5), "efghijklm");
  EXPECT_EQ(b.CopyFrom(12), "lm");
  EXPECT_EQ(b.CopyFrom(14), "");
  EXPECT_EQ(b.memory(), 3 * (4 + ReplBacklog::kBlockOverhead));
}

// A holder (a replica waiting for its image) keeps the stream from its
// offset however far the history outgrows the capacity; once it lets go,
// Trim frees at most the blocks it is asked to per call.
TEST(ReplBacklogTest, AHolderKeepsTheHistoryBeyondTheCapacity) {
  ReplBacklog b(8, 100, /*min_block=*/4);
  std::string all;
  for (int i = 0; i < 25; ++i) {
    const std::string chunk = std::to_string(1000 + i);
    all += chunk;
    b.Append(chunk);
    b.Trim(/*keep_from=*/103, 2);
  }
  EXPECT_EQ(b.end_offset(), 200);
  // The block holding offset 103 (101..104) and everything after it stay.
  EXPECT_EQ(b.first_byte_offset(), 101);
  EXPECT_EQ(b.histlen(), 100);
  EXPECT_EQ(b.CopyFrom(103), all.substr(2));
  EXPECT_EQ(b.Trim(ReplBacklog::kNoHold, 10), 10u);
  EXPECT_EQ(b.first_byte_offset(), 141);
  while (b.Trim(ReplBacklog::kNoHold, 10) > 0) {
  }
  EXPECT_EQ(b.histlen(), 12);  // 8 would leave too little: 12 - 4 is not above 8
  EXPECT_EQ(b.CopyFrom(b.first_byte_offset()), all.substr(all.size() - 12));
}

// Big writes go in blocks of at most capacity / 16 (at least the minimum).
TEST(ReplBacklogTest, BigWritesAreSplitIntoBoundedBlocks) {
  ReplBacklog b(160, 0, /*min_block=*/4);
  b.Append(std::string(100, 'x'));
  EXPECT_EQ(b.blocks(), 10u);  // 160 / 16 = 10 bytes each
  ReplBacklog small(16, 0, /*min_block=*/4);
  small.Append(std::string(10, 'y'));
  EXPECT_EQ(small.blocks(), 3u);  // the minimum wins over 16 / 16
}

TEST(ReplBacklogTest, EveryAppendSplitMatchesALinearCopy) {
  const std::string stream = "the quick brown fox jumps over the lazy dog 0123456789";
  for (size_t cap = 1; cap < 20; ++cap) {
    for (size_t chunk = 1; chunk < 9; ++chunk) {
      ReplBacklog b(cap, 0, /*min_block=*/3);
      for (size_t i = 0; i < stream.size(); i += chunk) {
        b.Append(stream.substr(i, chunk));
        b.Trim(ReplBacklog::kNoHold, 1);
      }
      const int64_t first = b.first_byte_offset();
      EXPECT_GE(b.histlen(), static_cast<int64_t>(std::min(cap, stream.size())));
      EXPECT_EQ(b.CopyFrom(first), stream.substr(first - 1)) << cap << " " << chunk;
    }
  }
}

TEST(ReplBacklogTest, ResizeTrimsAtTheNextTrim) {
  ReplBacklog b(16, 0, /*min_block=*/4);
  b.Append("abcdefghijklmnop");
  b.Resize(4);
  EXPECT_EQ(b.histlen(), 16);
  b.Trim(ReplBacklog::kNoHold, 100);
  EXPECT_EQ(b.CopyFrom(b.first_byte_offset()), "ijklmnop");  // 8 - 4 is not above 4
  b.Resize(16);
  b.Append("qr");
  EXPECT_EQ(b.CopyFrom(9), "ijklmnopqr");
  b.Reset(50);
  EXPECT_EQ(b.histlen(), 0);
  EXPECT_EQ(b.memory(), 0u);
  EXPECT_TRUE(b.CanServeFrom(51));
}

constexpr char kId1[] = "1111111111111111111111111111111111111111";
constexpr char kId2[] = "2222222222222222222222222222222222222222";
constexpr char kId3[] = "3333333333333333333333333333333333333333";

TEST(PsyncTest, ContinuesWhenTheBacklogHoldsTheGap) {
  ReplicationIds ids{kId1};
  ReplBacklog b(100, 50);
  b.Append("0123456789");
  EXPECT_EQ(DecidePsync(ids, &b, kId1, 51), PsyncOutcome::kContinue);
  EXPECT_EQ(DecidePsync(ids, &b, kId1, 61), PsyncOutcome::kContinue);
  EXPECT_EQ(DecidePsync(ids, &b, kId1, 62), PsyncOutcome::kNoBacklog);
  EXPECT_EQ(DecidePsync(ids, &b, kId1, 50), PsyncOutcome::kNoBacklog);
  EXPECT_EQ(DecidePsync(ids, nullptr, kId1, 51), PsyncOutcome::kNoBacklog);
  EXPECT_EQ(DecidePsync(ids, &b, "?", -1), PsyncOutcome::kFullResync);
  EXPECT_EQ(DecidePsync(ids, &b, kId3, 55), PsyncOutcome::kIdMismatch);
}

TEST(PsyncTest, SecondIdIsValidUpToThePromotionOffset) {
  ReplicationIds ids{kId1};
  ReplBacklog b(100, 0);
  b.Append("0123456789");
  ids.Shift(10, kId2);
  EXPECT_EQ(ids.replid, kId2);
  EXPECT_EQ(ids.replid2, kId1);
  EXPECT_EQ(ids.second_offset, 11);
  b.Append("abc");
  EXPECT_EQ(DecidePsync(ids, &b, kId1, 11), PsyncOutcome::kContinue);
  EXPECT_EQ(DecidePsync(ids, &b, kId1, 12), PsyncOutcome::kSecondIdTooFar);
  EXPECT_EQ(DecidePsync(ids, &b, kId2, 14), PsyncOutcome::kContinue);
  ids.ClearSecond();
  EXPECT_EQ(DecidePsync(ids, &b, kId1, 11), PsyncOutcome::kIdMismatch);
  EXPECT_TRUE(IsPartialError(PsyncOutcome::kNoBacklog));
  EXPECT_FALSE(IsPartialError(PsyncOutcome::kFullResync));
}

TEST(ReplicaHandshakeTest, FullSequenceWithAuthAndCachedMaster) {
  HandshakeConfig c;
  c.masterauth = "pw";
  c.listening_port = 7001;
  c.cached_replid = kId1;
  c.cached_offset = 99;
  ReplicaHandshake h(c);
  EXPECT_EQ(h.Start(), "*1\r\n$4\r\nPING\r\n");
  auto s = h.OnLine("-NOAUTH Authentication required.");
  EXPECT_EQ(s.result, ReplicaHandshake::Result::kPending);
  EXPECT_EQ(s.send,
            "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"
            "*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n7001\r\n"
            "*7\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n"
            "$4\r\ncapa\r\n$17\r\nshardnode-setslot\r\n");
  EXPECT_EQ(h.OnLine("+OK").send, "");
  EXPECT_EQ(h.OnLine("-ERR Unrecognized REPLCONF option: listening-port").send, "");
  s = h.OnLine("+OK");
  EXPECT_EQ(s.send, EncodeCommand({"PSYNC", kId1, "100"}));
  EXPECT_EQ(h.OnLine("").result, ReplicaHandshake::Result::kPending);  // keepalive
  s = h.OnLine(std::string("+CONTINUE ") + kId2);
  EXPECT_EQ(s.result, ReplicaHandshake::Result::kContinue);
  EXPECT_EQ(s.new_replid, kId2);
}

TEST(ReplicaHandshakeTest, FailoverAsksTheTargetToTakeOver) {
  HandshakeConfig c;
  c.listening_port = 7001;
  c.cached_replid = kId1;
  c.cached_offset = 41;
  c.failover = true;
  ReplicaHandshake h(c);
  h.Start();
  h.OnLine("+PONG");
  h.OnLine("+OK");
  const auto s = h.OnLine("+OK");
  EXPECT_EQ(s.send, EncodeCommand({"PSYNC", kId1, "42", "FAILOVER"}));
  EXPECT_EQ(h.OnLine("-ERR PSYNC FAILOVER replid must match my replid.").result,
            ReplicaHandshake::Result::kError);
}

TEST(ReplicaHandshakeTest, FullResyncWithoutHistory) {
  HandshakeConfig c;
  c.listening_port = 6380;
  c.announce_ip = "10.0.0.1";
  ReplicaHandshake h(c);
  h.Start();
  auto s = h.OnLine("+PONG");
  EXPECT_NE(s.send.find("ip-address"), std::string::npos);
  h.OnLine("+OK");
  h.OnLine("+OK");
  s = h.OnLine("+OK");
  EXPECT_EQ(s.send, "*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
  s = h.OnLine(std::string("+FULLRESYNC ") + kId3 + " 520");
  EXPECT_EQ(s.result, ReplicaHandshake::Result::kFullResync);
  EXPECT_EQ(s.replid, kId3);
  EXPECT_EQ(s.offset, 520);
  EXPECT_EQ(h.state(), ReplicaHandshake::State::kDone);
}

TEST(ReplicaHandshakeTest, Errors) {
  ReplicaHandshake h({});
  h.Start();
  EXPECT_EQ(h.OnLine("-ERR unknown").result, ReplicaHandshake::Result::kError);

  HandshakeConfig c;
  c.masterauth = "bad";
  ReplicaHandshake a(c);
  a.Start();
  a.OnLine("+PONG");
  EXPECT_EQ(a.OnLine("-WRONGPASS invalid").result, ReplicaHandshake::Result::kError);

  ReplicaHandshake p({});
  p.Start();
  p.OnLine("+PONG");
  p.OnLine("+OK");
  p.OnLine("+OK");
  EXPECT_EQ(p.OnLine("-NOMASTERLINK Can't SYNC while not connected with my master").result,
            ReplicaHandshake::Result::kRetryLater);

  ReplicaHandshake q({});
  q.Start();
  q.OnLine("+PONG");
  q.OnLine("+OK");
  q.OnLine("+OK");
  EXPECT_EQ(q.OnLine("+FULLRESYNC short 1").result, ReplicaHandshake::Result::kError);
}

TEST(PayloadHeaderTest, DiskEofAndErrors) {
  EXPECT_EQ(ParsePayloadHeader("").kind, PayloadHeader::Kind::kSkip);
  auto d = ParsePayloadHeader("$1234");
  EXPECT_EQ(d.kind, PayloadHeader::Kind::kDisk);
  EXPECT_EQ(d.length, 1234);
  auto e = ParsePayloadHeader(std::string("$EOF:") + kId1);
  EXPECT_EQ(e.kind, PayloadHeader::Kind::kEof);
  EXPECT_EQ(e.eof_mark, kId1);
  EXPECT_EQ(ParsePayloadHeader("$EOF:abc").kind, PayloadHeader::Kind::kError);
  EXPECT_EQ(ParsePayloadHeader("-ERR x").kind, PayloadHeader::Kind::kError);
  EXPECT_EQ(ParsePayloadHeader("+OK").kind, PayloadHeader::Kind::kError);
  EXPECT_EQ(ParsePayloadHeader("$-5").kind, PayloadHeader::Kind::kError);
}

}  // namespace
}  // namespace shardnode::replication
