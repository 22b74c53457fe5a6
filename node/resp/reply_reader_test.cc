#include "node/resp/reply_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shardnode::resp {
namespace {

using Type = ReplyValue::Type;

// What a connection sees: the replies read and, if any, the error.
struct Outcome {
  std::vector<ReplyValue> replies;
  std::string error;
  std::string left;  // bytes still in the caller's buffer
};

// Plays the caller: appends each chunk to its buffer, reads until the
// reader needs more, drops consumed bytes.
Outcome Feed(ReplyReader& reader, const std::vector<std::string>& chunks) {
  Outcome out;
  std::string buffer;
  for (const std::string& chunk : chunks) {
    buffer += chunk;
    for (;;) {
      size_t consumed = 0;
      ReplyValue v;
      const ReplyStatus st = reader.Read(buffer, &consumed, &v);
      EXPECT_LE(consumed, buffer.size());
      buffer.erase(0, consumed);
      if (st == ReplyStatus::kError) {
        out.error = reader.error();
        out.left = buffer;
        return out;
      }
      if (st == ReplyStatus::kNeedMore) break;
      out.replies.push_back(std::move(v));
    }
  }
  out.left = buffer;
  return out;
}

Outcome FeedWhole(const std::string& bytes, ReplyReaderLimits limits = {}) {
  ReplyReader reader(limits);
  return Feed(reader, {bytes});
}

Outcome FeedByteAtATime(const std::string& bytes, ReplyReaderLimits limits = {}) {
  ReplyReader reader(limits);
  std::vector<std::string> chunks;
  for (char c : bytes) chunks.emplace_back(1, c);
  return Feed(reader, chunks);
}

// A stable text form of a reply tree, to compare outcomes.
std::string Show(const ReplyValue& v) {
  std::string s = v.ToLine();
  if (v.type == Type::kBulk || v.type == Type::kVerbatim || v.type == Type::kError ||
      v.type == Type::kDouble || v.type == Type::kBigNumber) {
    s += "[" + v.str + "]";
  }
  if (!v.elements.empty()) {
    s += "{";
    for (const ReplyValue& e : v.elements) s += Show(e) + ",";
    s += "}";
  }
  return s;
}

std::string ShowAll(const Outcome& o) {
  std::string s;
  for (const ReplyValue& v : o.replies) s += Show(v) + ";";
  return s;
}

TEST(ReplyReaderTest, ReadsEveryResp2Type) {
  const Outcome o = FeedWhole(
      "+OK\r\n-ERR wrong\r\n:42\r\n:-7\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n"
      "*3\r\n:1\r\n$1\r\na\r\n*1\r\n+x\r\n*0\r\n");
  ASSERT_EQ(o.error, "");
  ASSERT_EQ(o.replies.size(), 10u);
  EXPECT_TRUE(o.replies[0].IsOk());
  EXPECT_TRUE(o.replies[1].is_error());
  EXPECT_EQ(o.replies[1].str, "ERR wrong");
  EXPECT_EQ(o.replies[2].integer, 42);
  EXPECT_EQ(o.replies[3].integer, -7);
  EXPECT_EQ(o.replies[4].type, Type::kBulk);
  EXPECT_EQ(o.replies[4].str, "hello");
  EXPECT_EQ(o.replies[5].str, "");
  EXPECT_TRUE(o.replies[6].is_null());
  EXPECT_TRUE(o.replies[7].is_null());
  EXPECT_EQ(Show(o.replies[8]), "*3{:1,$1[a],*1{+x,},}");
  EXPECT_EQ(o.replies[9].type, Type::kArray);
  EXPECT_TRUE(o.replies[9].elements.empty());
  EXPECT_EQ(o.left, "");
}

TEST(ReplyReaderTest, EmptyArrayIsAReply) {
  const Outcome o = FeedWhole("*0\r\n");
  ASSERT_EQ(o.replies.size(), 1u);
  EXPECT_EQ(o.replies[0].type, Type::kArray);
  EXPECT_TRUE(o.replies[0].elements.empty());
}

TEST(ReplyReaderTest, ReadsResp3Types) {
  const Outcome o = FeedWhole(
      "_\r\n,3.14\r\n#t\r\n#f\r\n(12345678901234567890\r\n=9\r\ntxt:hello\r\n!5\r\nERR x\r\n"
      "%1\r\n+k\r\n:1\r\n~2\r\n:1\r\n:2\r\n>2\r\n+message\r\n+m\r\n");
  ASSERT_EQ(o.error, "");
  EXPECT_EQ(ShowAll(o),
            "_;,3.14[3.14];#t;#f;(12345678901234567890[12345678901234567890];=5[hello];"
            "-ERR x[ERR x];%1{+k,:1,};~2{:1,:2,};>2{+message,+m,};");
}

TEST(ReplyReaderTest, AttributesAreDropped) {
  // An attribute before a top-level reply and one inside an array.
  const Outcome o = FeedWhole("|1\r\n+ttl\r\n:3\r\n:7\r\n*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n");
  ASSERT_EQ(o.error, "");
  EXPECT_EQ(ShowAll(o), ":7;*2{:1,:2,};");
}

TEST(ReplyReaderTest, ByteAtATimeGivesTheSameReplies) {
  const std::string bytes =
      "+PONG\r\n$10\r\n0123456789\r\n*2\r\n*2\r\n:1\r\n$3\r\nabc\r\n-ERR no\r\n"
      "%1\r\n$1\r\nk\r\n=7\r\ntxt:abc\r\n:9\r\n";
  const Outcome whole = FeedWhole(bytes);
  const Outcome bytewise = FeedByteAtATime(bytes);
  ASSERT_EQ(whole.error, "");
  ASSERT_EQ(bytewise.error, "");
  EXPECT_EQ(ShowAll(whole), ShowAll(bytewise));
  EXPECT_EQ(whole.replies.size(), 5u);
  EXPECT_EQ(bytewise.left, "");
}

TEST(ReplyReaderTest, EverySplitPointGivesTheSameReplies) {
  const std::string bytes = "*3\r\n$3\r\nSET\r\n:100\r\n*1\r\n$0\r\n\r\n+OK\r\n";
  const std::string expected = ShowAll(FeedWhole(bytes));
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    ReplyReader reader;
    const Outcome o = Feed(reader, {bytes.substr(0, cut), bytes.substr(cut)});
    EXPECT_EQ(o.error, "") << cut;
    EXPECT_EQ(ShowAll(o), expected) << cut;
  }
}

TEST(ReplyReaderTest, ABulkIsNotRescannedAndKeepsNothingInTheCallersBuffer) {
  ReplyReader reader;
  ReplyValue v;
  size_t consumed = 0;
  EXPECT_EQ(reader.Read("$10\r\n01234", &consumed, &v), ReplyStatus::kNeedMore);
  EXPECT_EQ(consumed, 10u);  // the header and the five bytes are the reader's now
  EXPECT_TRUE(reader.in_reply());
  EXPECT_EQ(reader.Read("56789\r", &consumed, &v), ReplyStatus::kNeedMore);
  EXPECT_EQ(consumed, 6u);
  EXPECT_EQ(reader.Read("\n", &consumed, &v), ReplyStatus::kReply);
  EXPECT_EQ(v.str, "0123456789");
  EXPECT_FALSE(reader.in_reply());
}

TEST(ReplyReaderTest, AnUnfinishedLineStaysWithTheCaller) {
  ReplyReader reader;
  ReplyValue v;
  size_t consumed = 99;
  EXPECT_EQ(reader.Read("+FULLRES", &consumed, &v), ReplyStatus::kNeedMore);
  EXPECT_EQ(consumed, 0u);
}

TEST(ReplyReaderTest, KeepaliveNewlinesAreSkippedOnlyWhenAsked) {
  ReplyReaderLimits skip;
  skip.skip_empty_lines = true;
  const Outcome o = FeedWhole("\n\n\r\n+FULLRESYNC abc 0\r\n", skip);
  ASSERT_EQ(o.error, "");
  ASSERT_EQ(o.replies.size(), 1u);
  EXPECT_EQ(o.replies[0].str, "FULLRESYNC abc 0");
  const Outcome bytewise = FeedByteAtATime("\n\r\n+OK\r\n", skip);
  EXPECT_EQ(ShowAll(bytewise), "+OK;");
  EXPECT_EQ(FeedWhole("\n+OK\r\n").error, "Protocol error: empty reply line");
}

TEST(ReplyReaderTest, MalformedInputIsAProtocolError) {
  struct Case {
    std::string bytes;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"?x\r\n", "Protocol error: unexpected reply type byte 63"},
      {":12a\r\n", "Protocol error: bad integer value"},
      {":\r\n", "Protocol error: bad integer value"},
      {":99999999999999999999\r\n", "Protocol error: bad integer value"},
      {"$-2\r\n", "Protocol error: invalid bulk length"},
      {"$abc\r\n", "Protocol error: invalid bulk length"},
      {"!-1\r\n", "Protocol error: invalid bulk length"},
      {"*-2\r\n", "Protocol error: invalid multibulk length"},
      {"%-1\r\n", "Protocol error: invalid multibulk length"},
      {"$3\r\nabcXY", "Protocol error: bulk not followed by CRLF"},
      {"$3\r\nabc\rX", "Protocol error: bulk not followed by CRLF"},
      {"+OK\n", "Protocol error: reply line not ended by CRLF"},
      {"#x\r\n", "Protocol error: bad bool value"},
      {"_x\r\n", "Protocol error: bad nil value"},
      {",\r\n", "Protocol error: bad double value"},
      {"(1x\r\n", "Protocol error: bad big number"},
      {"=2\r\nab\r\n", "Protocol error: bad verbatim string"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FeedWhole(c.bytes).error, c.error) << c.bytes;
    EXPECT_EQ(FeedByteAtATime(c.bytes).error, c.error) << c.bytes;
  }
}

TEST(ReplyReaderTest, LimitsAreProtocolErrors) {
  ReplyReaderLimits limits;
  limits.max_bulk_len = 4;
  limits.max_elements = 3;
  limits.max_line_len = 16;
  limits.max_depth = 2;
  EXPECT_EQ(FeedWhole("$4\r\nabcd\r\n", limits).error, "");
  EXPECT_EQ(FeedWhole("$5\r\nabcde\r\n", limits).error, "Protocol error: invalid bulk length");
  EXPECT_EQ(FeedWhole("*4\r\n", limits).error, "Protocol error: too many elements in aggregate");
  EXPECT_EQ(FeedWhole("%2\r\n", limits).error, "Protocol error: too many elements in aggregate");
  EXPECT_EQ(FeedWhole("*1\r\n*1\r\n*1\r\n", limits).error,
            "Protocol error: aggregates nested too deep");
  // A line that never ends is refused once it passes the limit, also when
  // it comes a byte at a time.
  EXPECT_EQ(FeedWhole(std::string(40, '+'), limits).error, "Protocol error: too big reply line");
  EXPECT_EQ(FeedByteAtATime(std::string(40, '+'), limits).error,
            "Protocol error: too big reply line");
  EXPECT_EQ(FeedWhole("+" + std::string(17, 'a') + "\r\n", limits).error,
            "Protocol error: too big reply line");
  EXPECT_EQ(FeedByteAtATime("+" + std::string(17, 'a') + "\r\n", limits).error,
            "Protocol error: too big reply line");
  // Exactly the limit is fine, however it arrives.
  EXPECT_EQ(FeedWhole("+" + std::string(16, 'a') + "\r\n", limits).error, "");
  EXPECT_EQ(FeedByteAtATime("+" + std::string(16, 'a') + "\r\n", limits).error, "");
}

TEST(ReplyReaderTest, ResetForgetsAPartialReply) {
  ReplyReader reader;
  ReplyValue v;
  size_t consumed = 0;
  EXPECT_EQ(reader.Read("*2\r\n:1\r\n", &consumed, &v), ReplyStatus::kNeedMore);
  EXPECT_TRUE(reader.in_reply());
  reader.Reset();
  EXPECT_FALSE(reader.in_reply());
  EXPECT_EQ(reader.Read(":5\r\n", &consumed, &v), ReplyStatus::kReply);
  EXPECT_EQ(v.integer, 5);
}

}  // namespace
}  // namespace shardnode::resp
