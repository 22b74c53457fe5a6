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

TEST(ReplBacklogTest, WrapsAndKeepsTheNewestBytes) {
  ReplBacklog b(8, 0);
  b.Append("abcdef");
  EXPECT_EQ(b.first_byte_offset(), 1);
  EXPECT_EQ(b.CopyFrom(3), "cdef");
  b.Append("ghij");  // 10 bytes written, 8 kept: c..j
  EXPECT_EQ(b.end_offset(), 10);
  EXPECT_EQ(b.histlen(), 8);
  EXPECT_EQ(b.first_byte_offset(), 3);
  EXPECT_FALSE(b.CanServeFrom(2));
  EXPECT_EQ(b.CopyFrom(3), "cdefghij");
  EXPECT_EQ(b.CopyFrom(9), "ij");
  EXPECT_EQ(b.CopyFrom(11), "");
  b.Append("0123456789xyz");  // larger than the ring
  EXPECT_EQ(b.CopyFrom(b.first_byte_offset()), "56789xyz");
  EXPECT_EQ(b.end_offset(), 23);
}

TEST(ReplBacklogTest, EveryAppendSplitMatchesALinearCopy) {
  const std::string stream = "the quick brown fox jumps over the lazy dog 0123456789";
  for (size_t cap = 1; cap < 20; ++cap) {
    for (size_t chunk = 1; chunk < 9; ++chunk) {
      ReplBacklog b(cap, 0);
      for (size_t i = 0; i < stream.size(); i += chunk) b.Append(stream.substr(i, chunk));
      const int64_t first = b.first_byte_offset();
      EXPECT_EQ(b.CopyFrom(first), stream.substr(first - 1)) << cap << " " << chunk;
    }
  }
}

TEST(ReplBacklogTest, ResizeKeepsTheNewestBytes) {
  ReplBacklog b(8, 0);
  b.Append("abcdefghij");
  b.Resize(4);
  EXPECT_EQ(b.CopyFrom(b.first_byte_offset()), "ghij");
  EXPECT_EQ(b.end_offset(), 10);
  b.Resize(16);
  b.Append("kl");
  EXPECT_EQ(b.CopyFrom(7), "ghijkl");
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
