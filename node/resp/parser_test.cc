#include "node/resp/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shardnode::resp {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Args = std::vector<std::string>;

// What a connection sees: the commands parsed and, if any, the error.
struct Outcome {
  std::vector<Args> commands;
  std::string error;
  std::string left;  // bytes still buffered by the caller at the end
};

// Plays the caller: appends each chunk to its buffer, parses until the parser
// needs more, drops consumed bytes. Empty commands are kept (as empty Args)
// so tests can see them.
Outcome Feed(RequestParser& parser, const std::vector<std::string>& chunks) {
  Outcome out;
  std::string buffer;
  Args args;
  for (const std::string& chunk : chunks) {
    buffer += chunk;
    while (true) {
      size_t consumed = 0;
      ParseStatus status = parser.Parse(buffer, &consumed, &args);
      EXPECT_LE(consumed, buffer.size());
      buffer.erase(0, consumed);
      if (status == ParseStatus::kError) {
        out.error = parser.error();
        out.left = buffer;
        return out;
      }
      if (status == ParseStatus::kNeedMore) break;
      out.commands.push_back(args);
    }
  }
  out.left = buffer;
  return out;
}

Outcome FeedOnce(std::string_view input, ParserLimits limits = {}) {
  RequestParser parser(limits);
  return Feed(parser, {std::string(input)});
}

std::string Command(const Args& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

TEST(RequestParserTest, ParsesOneMultibulkCommand) {
  RequestParser parser;
  Args args;
  size_t consumed = 0;
  const std::string input = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
  ASSERT_EQ(parser.Parse(input, &consumed, &args), ParseStatus::kCommand);
  EXPECT_EQ(consumed, input.size());
  EXPECT_THAT(args, ElementsAre("SET", "key", "value"));
  EXPECT_EQ(parser.pending_bytes(), 0u);
}

TEST(RequestParserTest, EmptyInputNeedsMore) {
  RequestParser parser;
  Args args;
  size_t consumed = 7;
  EXPECT_EQ(parser.Parse("", &consumed, &args), ParseStatus::kNeedMore);
  EXPECT_EQ(consumed, 0u);
}

TEST(RequestParserTest, ReturnsOneCommandPerCallFromAPipeline) {
  RequestParser parser;
  Args args;
  size_t consumed = 0;
  const std::string input = "*1\r\n$4\r\nPING\r\nECHO hi\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
  ASSERT_EQ(parser.Parse(input, &consumed, &args), ParseStatus::kCommand);
  EXPECT_EQ(consumed, 14u);
  EXPECT_THAT(args, ElementsAre("PING"));
  std::string_view rest = std::string_view(input).substr(consumed);
  ASSERT_EQ(parser.Parse(rest, &consumed, &args), ParseStatus::kCommand);
  EXPECT_EQ(consumed, 9u);
  EXPECT_THAT(args, ElementsAre("ECHO", "hi"));
  rest = rest.substr(consumed);
  ASSERT_EQ(parser.Parse(rest, &consumed, &args), ParseStatus::kCommand);
  EXPECT_EQ(consumed, rest.size());
  EXPECT_THAT(args, ElementsAre("GET", "k"));
}

// A pipelined batch mixing multibulk, inline and empty commands, with binary
// bulks, as every split into two reads and as single bytes.
class SplitTest : public ::testing::Test {
 protected:
  SplitTest() {
    expected_ = {{"SET", "key:1", "value"},
                 {"PING"},
                 {"SET", "bin", std::string("a\r\nb\0c\r\n", 8)},
                 {},
                 {"ECHO", "quoted word", "it's"},
                 {"GET", ""},
                 {},
                 {"DEL", "x", "y"}};
    batch_ = Command(expected_[0]) + "PING\r\n" + Command(expected_[2]) + "*0\r\n" +
             "ECHO \"quoted word\" 'it\\'s'\n" + Command(expected_[5]) + "\r\n" +
             Command(expected_[7]);
  }
  std::vector<Args> expected_;
  std::string batch_;
};

TEST_F(SplitTest, EverySplitPointGivesTheSameCommands) {
  for (size_t cut = 0; cut <= batch_.size(); ++cut) {
    RequestParser parser;
    Outcome out = Feed(parser, {batch_.substr(0, cut), batch_.substr(cut)});
    EXPECT_EQ(out.error, "") << "cut " << cut;
    EXPECT_EQ(out.commands, expected_) << "cut " << cut;
    EXPECT_EQ(out.left, "") << "cut " << cut;
    EXPECT_EQ(parser.pending_bytes(), 0u);
  }
}

TEST_F(SplitTest, EveryTwoSplitPointsGiveTheSameCommands) {
  for (size_t a = 0; a <= batch_.size(); a += 3) {
    for (size_t b = a; b <= batch_.size(); ++b) {
      RequestParser parser;
      Outcome out = Feed(parser, {batch_.substr(0, a), batch_.substr(a, b - a), batch_.substr(b)});
      ASSERT_EQ(out.commands, expected_) << "cuts " << a << "," << b;
    }
  }
}

TEST_F(SplitTest, ByteByByteGivesTheSameCommands) {
  std::vector<std::string> bytes;
  for (char c : batch_) bytes.emplace_back(1, c);
  RequestParser parser;
  Outcome out = Feed(parser, bytes);
  EXPECT_EQ(out.error, "");
  EXPECT_EQ(out.commands, expected_);
  EXPECT_EQ(out.left, "");
}

TEST_F(SplitTest, AParserIsReusedAcrossBatches) {
  RequestParser parser;
  for (int round = 0; round < 3; ++round) {
    Outcome out = Feed(parser, {batch_.substr(0, 20 + round), batch_.substr(20 + round)});
    EXPECT_EQ(out.commands, expected_);
  }
}

TEST(RequestParserTest, PartialBulkIsConsumedAndCounted) {
  RequestParser parser;
  Args args;
  size_t consumed = 0;
  const std::string head = "*2\r\n$3\r\nSET\r\n$10\r\n0123";
  ASSERT_EQ(parser.Parse(head, &consumed, &args), ParseStatus::kNeedMore);
  EXPECT_EQ(consumed, head.size());
  EXPECT_EQ(parser.pending_bytes(), 3u + 4u);
  ASSERT_EQ(parser.Parse("456789\r", &consumed, &args), ParseStatus::kNeedMore);
  EXPECT_EQ(consumed, 7u);
  EXPECT_EQ(parser.pending_bytes(), 3u + 10u);
  ASSERT_EQ(parser.Parse("\n", &consumed, &args), ParseStatus::kCommand);
  EXPECT_EQ(consumed, 1u);
  EXPECT_THAT(args, ElementsAre("SET", "0123456789"));
  EXPECT_EQ(parser.pending_bytes(), 0u);
}

TEST(RequestParserTest, IncompleteHeaderLineIsLeftToTheCaller) {
  RequestParser parser;
  Args args;
  size_t consumed = 0;
  EXPECT_EQ(parser.Parse("*2\r", &consumed, &args), ParseStatus::kNeedMore);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(parser.Parse("*2\r\n$3\r\nGET\r\n$1", &consumed, &args), ParseStatus::kNeedMore);
  EXPECT_EQ(consumed, 13u);
  EXPECT_EQ(parser.Parse("$1\r\nk\r\n", &consumed, &args), ParseStatus::kCommand);
  EXPECT_THAT(args, ElementsAre("GET", "k"));
}

TEST(RequestParserTest, HugeDeclaredBulkIsNotReservedUpFront) {
  RequestParser parser;
  Args args;
  size_t consumed = 0;
  const std::string input = "*2\r\n$3\r\nSET\r\n$536870912\r\nabc";
  ASSERT_EQ(parser.Parse(input, &consumed, &args), ParseStatus::kNeedMore);
  EXPECT_EQ(consumed, input.size());
  EXPECT_EQ(parser.pending_bytes(), 3u + 3u);
  EXPECT_LE(parser.reserved_bytes(), 64u * 1024u);
  const std::string more(100000, 'x');
  ASSERT_EQ(parser.Parse(more, &consumed, &args), ParseStatus::kNeedMore);
  EXPECT_EQ(consumed, more.size());
  EXPECT_EQ(parser.pending_bytes(), 3u + 3u + 100000u);
  // Growth doubles from what arrived: far below the declared 512 MiB.
  EXPECT_GE(parser.reserved_bytes(), parser.pending_bytes());
  EXPECT_LE(parser.reserved_bytes(), 2u * parser.pending_bytes() + 64u * 1024u);
}

TEST(RequestParserTest, BigBulkIsReservedWholeOnceAnEighthArrived) {
  // A RESTORE payload of 8 MiB arriving 16 KiB at a time: the buffer
  // doubles from what arrived, then takes the declared length at once, so
  // it is never copied when more than an eighth of the bulk is in it.
  const size_t len = 8u << 20;
  RequestParser parser;
  Args args;
  size_t consumed = 0;
  const std::string head = "*2\r\n$3\r\nSET\r\n$" + std::to_string(len) + "\r\n";
  ASSERT_EQ(parser.Parse(head, &consumed, &args), ParseStatus::kNeedMore);
  const std::string piece(16384, 'p');
  size_t fed = 0;
  size_t last_reserved = parser.reserved_bytes();
  while (fed < len) {
    ASSERT_EQ(parser.Parse(piece, &consumed, &args), ParseStatus::kNeedMore);
    fed += piece.size();
    const size_t reserved = parser.reserved_bytes();
    EXPECT_LE(reserved, 8 * parser.pending_bytes() + 64u * 1024u);
    if (reserved != last_reserved) {
      // Each growth copies what arrived so far: never more than an eighth.
      EXPECT_LE(fed - piece.size(), len / 8 + 3) << "grown at " << fed;
      last_reserved = reserved;
    }
  }
  EXPECT_GE(last_reserved, len + 3);
  ASSERT_EQ(parser.Parse("\r\n", &consumed, &args), ParseStatus::kCommand);
  EXPECT_EQ(args[1].size(), len);
}

TEST(RequestParserTest, LargeBulkArrivingInPiecesIsExact) {
  std::string value(300000, '\0');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>(i * 7 + 3);
  const std::string input = Command({"SET", "k", value}) + Command({"PING"});
  std::vector<std::string> chunks;
  for (size_t pos = 0; pos < input.size(); pos += 16384) chunks.push_back(input.substr(pos, 16384));
  RequestParser parser;
  Outcome out = Feed(parser, chunks);
  ASSERT_EQ(out.commands.size(), 2u);
  EXPECT_EQ(out.commands[0][2], value);
  EXPECT_THAT(out.commands[1], ElementsAre("PING"));
}

TEST(RequestParserTest, BulksAreBinarySafe) {
  const std::string payload("\r\n\0*1\r\n$4\r\n\xff", 13);
  Outcome out = FeedOnce(Command({"SET", payload, payload}));
  ASSERT_EQ(out.commands.size(), 1u);
  EXPECT_THAT(out.commands[0], ElementsAre("SET", payload, payload));
}

TEST(RequestParserTest, EmptyMultibulksAreEmptyCommands) {
  Outcome out = FeedOnce("*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(out.error, "");
  EXPECT_EQ(out.commands, (std::vector<Args>{{}, {}, {}, {"PING"}}));
}

// Redis 7.0.15 skips the byte after a count line's '\r' and the two bytes
// after a bulk without looking at them: observed with redis-server 7.0.15,
// "*2\r\n$4\r\nECHO\r\n$2\r\nhiXY*1\r\n$4\r\nPING\r\n" answers "hi" then PONG,
// and "*1\rX$4\rXPING\r\n" answers PONG.
TEST(RequestParserTest, BytesAfterCrAndAfterBulksAreNotChecked) {
  Outcome out = FeedOnce("*2\r\n$4\r\nECHO\r\n$2\r\nhiXY*1\r\n$4\r\nPING\r\n*1\rX$4\rXPING\r\n");
  EXPECT_EQ(out.error, "");
  EXPECT_EQ(out.commands, (std::vector<Args>{{"ECHO", "hi"}, {"PING"}, {"PING"}}));
}

TEST(RequestParserTest, ReusesTheCallersArgsVector) {
  RequestParser parser;
  Args args = {"stale", "values", "here", "more"};
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse("*1\r\n$4\r\nPING\r\n", &consumed, &args), ParseStatus::kCommand);
  EXPECT_THAT(args, ElementsAre("PING"));
  ASSERT_EQ(parser.Parse("GET k\r\n", &consumed, &args), ParseStatus::kCommand);
  EXPECT_THAT(args, ElementsAre("GET", "k"));
  ASSERT_EQ(parser.Parse("\r\n", &consumed, &args), ParseStatus::kCommand);
  EXPECT_THAT(args, IsEmpty());
}

// Inline cases below were each sent to redis-server 7.0.15 as
// "RPUSH key <line>" followed by LRANGE; the expected words are what it stored.
struct InlineCase {
  std::string line;
  Args words;
};

TEST(RequestParserTest, InlineQuotingFollowsRedis) {
  const std::vector<InlineCase> cases = {
      {R"("a\x41\x4a\x4Z" b)", {"aAJx4Z", "b"}},
      {R"("\n\r\t\b\a\\\"\q")", {"\n\r\t\b\a\\\"q"}},
      {R"('it\'s' 'a\nb' '\x41')", {"it's", "a\\nb", "\\x41"}},
      {"  a   b  ", {"a", "b"}},
      {R"(a"b" c)", {"ab", "c"}},
      {R"("" x)", {"", "x"}},
      {"'' y", {"", "y"}},
      {"a\vb c\fd", {"a\vb", "c\fd"}},
      {"\v a", {"a"}},
      {R"("\x")", {"x"}},
      {"\"a\"\tb", {"a", "b"}},
      {"a\rb c", {"a", "b", "c"}},
      {"\"x\xff\x80\"", {"x\xff\x80"}},
  };
  for (const InlineCase& c : cases) {
    Outcome out = FeedOnce("RPUSH " + c.line + "\r\n");
    ASSERT_EQ(out.error, "") << c.line;
    ASSERT_EQ(out.commands.size(), 1u) << c.line;
    Args expected = {"RPUSH"};
    expected.insert(expected.end(), c.words.begin(), c.words.end());
    EXPECT_EQ(out.commands[0], expected) << c.line;
  }
}

TEST(RequestParserTest, UnbalancedQuotesAreAProtocolError) {
  for (const char* line : {R"("a"b)", "'a'b", R"("abc)", "'abc", R"("abc\\)", R"("abc\)"}) {
    Outcome out = FeedOnce(std::string("RPUSH ") + line + "\r\n");
    EXPECT_EQ(out.error, "Protocol error: unbalanced quotes in request") << line;
    EXPECT_THAT(out.commands, IsEmpty());
  }
}

TEST(RequestParserTest, InlineLineEndsAtLfWithOptionalCr) {
  Outcome out = FeedOnce("PING\nECHO a\r\n\n\r\nGET k\r\r\n");
  EXPECT_EQ(out.commands, (std::vector<Args>{{"PING"}, {"ECHO", "a"}, {}, {}, {"GET", "k"}}));
}

TEST(RequestParserTest, InlineLongerThanTheLimitWithoutNewlineFails) {
  const std::string exact = "PING" + std::string(64 * 1024 - 4, 'x');
  Outcome waiting = FeedOnce(exact);
  EXPECT_EQ(waiting.error, "");
  EXPECT_EQ(waiting.left.size(), 64u * 1024u);
  EXPECT_EQ(FeedOnce(exact + "x").error, "Protocol error: too big inline request");
  // A line that arrives whole with its newline is accepted at any length.
  Outcome whole = FeedOnce("ECHO " + std::string(100000, 'y') + "\r\n");
  ASSERT_EQ(whole.commands.size(), 1u);
  EXPECT_EQ(whole.commands[0][1].size(), 100000u);
}

// Redis searches lines with strchr, so a NUL before the line end hides it:
// redis-server 7.0.15 does not answer "PI\0NG\r\nPING\r\n" at all.
TEST(RequestParserTest, NulBeforeLineEndMeansNeedMore) {
  Outcome inline_nul = FeedOnce(std::string("PI\0NG\r\nPING\r\n", 12));
  EXPECT_EQ(inline_nul.error, "");
  EXPECT_THAT(inline_nul.commands, IsEmpty());
  Outcome count_nul = FeedOnce(std::string("*1\0\r\n$4\r\nPING\r\n", 15));
  EXPECT_EQ(count_nul.error, "");
  EXPECT_THAT(count_nul.commands, IsEmpty());
  Outcome bulk_nul = FeedOnce(std::string("*1\r\n$4\0\r\nPING\r\n", 15));
  EXPECT_EQ(bulk_nul.error, "");
  EXPECT_THAT(bulk_nul.commands, IsEmpty());
  EXPECT_EQ(FeedOnce(std::string("P\0", 2) + std::string(64 * 1024, '\n')).error,
            "Protocol error: too big inline request");
}

// Error texts and the inputs that produced them on redis-server 7.0.15.
TEST(RequestParserTest, MalformedInputGivesRedisErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"*x\r\n", "Protocol error: invalid multibulk length"},
      {"*\r\n", "Protocol error: invalid multibulk length"},
      {"*01\r\n", "Protocol error: invalid multibulk length"},
      {"*+1\r\n", "Protocol error: invalid multibulk length"},
      {"* 1\r\n", "Protocol error: invalid multibulk length"},
      {"*3000000000\r\n", "Protocol error: invalid multibulk length"},
      {"*99999999999999999999\r\n", "Protocol error: invalid multibulk length"},
      {"*1\r\n\r\n", "Protocol error: expected '$', got ' '"},
      {"*1\r\nPING\r\n", "Protocol error: expected '$', got 'P'"},
      {"*2\r\n$3\r\nGET\r\n:1\r\n", "Protocol error: expected '$', got ':'"},
      {"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$01\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$x\r\n", "Protocol error: invalid bulk length"},
      {"*1\r\n$536870913\r\n", "Protocol error: invalid bulk length"},
      {"*1" + std::string(64 * 1024, '1'), "Protocol error: too big mbulk count string"},
      {"*1\r\n$" + std::string(64 * 1024, '1'), "Protocol error: too big bulk count string"},
      {"PING" + std::string(64 * 1024, 'x'), "Protocol error: too big inline request"},
  };
  for (const auto& [input, error] : cases) {
    Outcome out = FeedOnce(input);
    EXPECT_EQ(out.error, error) << input.substr(0, 40);
    EXPECT_THAT(out.commands, IsEmpty());
  }
}

TEST(RequestParserTest, ErrorsAreFoundAcrossSplits) {
  const std::string input = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$-7\r\n";
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    RequestParser parser;
    Outcome out = Feed(parser, {input.substr(0, cut), input.substr(cut)});
    EXPECT_EQ(out.commands, (std::vector<Args>{{"PING"}})) << cut;
    EXPECT_EQ(out.error, "Protocol error: invalid bulk length") << cut;
  }
}

TEST(RequestParserTest, CountLineLimitIsStrictlyAbove64KiB) {
  // 64 KiB of count digits without '\r' still waits; one more byte fails.
  const std::string count = "*" + std::string(64 * 1024 - 1, '1');
  EXPECT_EQ(FeedOnce(count).error, "");
  EXPECT_EQ(FeedOnce(count + "1").error, "Protocol error: too big mbulk count string");
}

TEST(RequestParserTest, LimitsComeFromParserLimits) {
  ParserLimits limits;
  limits.max_bulk_len = 5;
  limits.max_multibulk_len = 3;
  limits.max_inline_len = 10;
  EXPECT_EQ(FeedOnce(Command({"GET", "12345"}), limits).commands.size(), 1u);
  EXPECT_EQ(FeedOnce(Command({"GET", "123456"}), limits).error,
            "Protocol error: invalid bulk length");
  EXPECT_EQ(FeedOnce(Command({"A", "B", "C"}), limits).commands.size(), 1u);
  EXPECT_EQ(FeedOnce(Command({"A", "B", "C", "D"}), limits).error,
            "Protocol error: invalid multibulk length");
  EXPECT_EQ(FeedOnce("PING123456", limits).error, "");
  EXPECT_EQ(FeedOnce("PING1234567", limits).error, "Protocol error: too big inline request");

  RequestParser parser(limits);
  ParserLimits relaxed;
  parser.set_limits(relaxed);
  EXPECT_EQ(Feed(parser, {Command({"GET", "123456"})}).commands.size(), 1u);
}

TEST(RequestParserTest, UnauthenticatedClientsHaveSmallLimits) {
  RequestParser parser;
  parser.set_auth_required(true);
  Args eleven(11, "x");
  EXPECT_EQ(Feed(parser, {Command(Args(10, "x"))}).commands.size(), 1u);
  EXPECT_EQ(Feed(parser, {Command({"AUTH", std::string(16384, 'p')})}).commands.size(), 1u);

  RequestParser big_count;
  big_count.set_auth_required(true);
  EXPECT_EQ(Feed(big_count, {Command(eleven)}).error,
            "Protocol error: unauthenticated multibulk length");

  RequestParser big_bulk;
  big_bulk.set_auth_required(true);
  EXPECT_EQ(Feed(big_bulk, {Command({"AUTH", std::string(16385, 'p')})}).error,
            "Protocol error: unauthenticated bulk length");

  RequestParser authed;
  authed.set_auth_required(true);
  authed.set_auth_required(false);
  EXPECT_EQ(Feed(authed, {Command(eleven)}).commands.size(), 1u);
}

}  // namespace
}  // namespace shardnode::resp
