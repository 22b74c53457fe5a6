#include "node/resp/query_buffer.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace shardnode::resp {
namespace {

void Read(QueryBuffer& q, std::string_view bytes, size_t big_bulk_left = 0) {
  std::span<char> room = q.PrepareRead(big_bulk_left);
  ASSERT_GE(room.size(), bytes.size());
  std::memcpy(room.data(), bytes.data(), bytes.size());
  q.Commit(bytes.size());
}

// unit/querybuf "query buffer resized correctly": the first read gets a
// 16 KB buffer (between 16 KB and 32 KB in CLIENT LIST), freed entirely
// once the client idles more than 2 s.
TEST(QueryBufferTest, FirstBufferIs16KbAndIsFreedWhenIdle) {
  QueryBuffer q;
  EXPECT_EQ(q.capacity(), 0u);
  Read(q, "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(q.capacity(), QueryBuffer::kReadLen);
  q.Consume(q.size());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.free(), QueryBuffer::kReadLen);
  q.Resize(/*idle_s=*/2, -1);  // not idle long enough, under 32 KB
  EXPECT_EQ(q.capacity(), QueryBuffer::kReadLen);
  q.Resize(/*idle_s=*/3, -1);
  EXPECT_EQ(q.capacity(), 0u);
  EXPECT_EQ(q.free(), 0u);
}

// "query buffer resized correctly when not idle": a big bulk waits whole
// in the buffer, whose room grows with what arrived (never by the declared
// length alone) up to exactly the bulk; once small commands follow, the
// cron trims it to the recent peak (not to zero).
TEST(QueryBufferTest, BigBulkFillsTheBufferThenTrimmedToPeak) {
  QueryBuffer q;
  Read(q, "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$400000\r\n");
  q.Consume(q.size());  // the parser took the header lines
  const size_t bulk = 400000 + 2;
  while (q.size() < bulk) {
    std::span<char> room = q.PrepareRead(bulk - q.size());
    ASSERT_GT(room.size(), 0u);
    ASSERT_LE(room.size(), bulk - q.size());
    EXPECT_LE(q.capacity(), std::max<size_t>(2 * q.size(), 2 * QueryBuffer::kReadLen));
    std::memset(room.data(), 'A', room.size());
    q.Commit(room.size());
  }
  EXPECT_EQ(q.capacity(), bulk);
  q.Resize(0, /*bulk=*/400000);  // a bulk in progress is never trimmed
  EXPECT_EQ(q.capacity(), bulk);
  q.Consume(q.size());  // the command ran
  q.Resize(0, -1);      // the peak starts again from 0
  EXPECT_EQ(q.capacity(), bulk);
  const std::string small = "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$3\r\nAAA\r\n";
  Read(q, small);
  q.Consume(q.size());
  q.Resize(0, -1);
  EXPECT_EQ(q.capacity(), small.size());
}

// A shard thread's chunks (64 KB: its read room) appended with what is
// left of a big bulk grow the buffer as reads would: to exactly the bulk's
// size. Without the bulk's length the doubling overshoots it (what a shard
// thread's connection did before).
TEST(QueryBufferTest, AppendedChunksOfABigBulkEndExactlyItsSize) {
  const size_t bulk = 300000 + 2;
  const std::string bytes(bulk, 'v');
  QueryBuffer exact, greedy;
  for (QueryBuffer* q : {&exact, &greedy}) {
    q->Append("*2\r\n$4\r\nECHO\r\n$300000\r\n");
    q->Consume(q->size());  // the parser took the header lines
    for (size_t off = 0; off < bulk; off += 64 * 1024) {
      q->Append(std::string_view(bytes).substr(off, 64 * 1024), q == &exact ? bulk - q->size() : 0);
    }
    EXPECT_EQ(q->size(), bulk);
  }
  EXPECT_EQ(exact.capacity(), bulk);
  EXPECT_GT(greedy.capacity(), bulk + QueryBuffer::kReadLen);
}

TEST(QueryBufferTest, GrowsByDoublingAndKeepsUnconsumedBytes) {
  QueryBuffer q;
  Read(q, std::string(QueryBuffer::kReadLen, 'a'));
  EXPECT_EQ(q.free(), 0u);
  Read(q, "bc");
  EXPECT_EQ(q.capacity(), 4 * QueryBuffer::kReadLen);
  q.Consume(QueryBuffer::kReadLen);
  EXPECT_EQ(q.data(), "bc");
  q.Append(std::string(100000, 'z'));
  EXPECT_EQ(q.size(), 100002u);
  EXPECT_EQ(q.data().substr(0, 3), "bcz");
}

}  // namespace
}  // namespace shardnode::resp
