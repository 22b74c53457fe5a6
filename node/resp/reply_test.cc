#include "node/resp/reply.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace shardnode::resp {
namespace {

// Encodes with `protocol` through `fill` and returns the bytes.
template <typename Fill>
std::string Encode(int protocol, Fill fill) {
  std::string out;
  ReplyBuilder builder(&out, protocol);
  fill(builder);
  return out;
}

TEST(ReplyBuilderTest, ScalarsAreTheSameInBothProtocols) {
  for (int protocol : {2, 3}) {
    EXPECT_EQ(Encode(protocol, [](ReplyBuilder& b) { b.Ok(); }), "+OK\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyBuilder& b) { b.SimpleString("PONG"); }), "+PONG\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyBuilder& b) { b.Integer(0); }), ":0\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyBuilder& b) { b.Integer(-42); }), ":-42\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyBuilder& b) { b.Integer(INT64_MIN); }),
              ":-9223372036854775808\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyBuilder& b) { b.Integer(INT64_MAX); }),
              ":9223372036854775807\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyBuilder& b) { b.Bulk("hello"); }), "$5\r\nhello\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyBuilder& b) { b.Bulk(""); }), "$0\r\n\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyBuilder& b) { b.Bulk(std::string("a\r\n\0", 4)); }),
              std::string("$4\r\na\r\n\0\r\n", 10));
    EXPECT_EQ(Encode(protocol, [](ReplyBuilder& b) { b.ArrayHeader(0); }), "*0\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyBuilder& b) { b.ArrayHeader(12345); }), "*12345\r\n");
    EXPECT_EQ(Encode(protocol, [](ReplyBuilder& b) { b.Raw("+RAW\r\n"); }), "+RAW\r\n");
  }
}

TEST(ReplyBuilderTest, ErrorsGetADashAndLoseLineBreaks) {
  std::string out;
  ReplyBuilder b(&out);
  EXPECT_EQ(b.errors(), 0u);
  b.Error("ERR syntax error");
  b.Error("MOVED 12182 127.0.0.1:7003");
  b.Error("ERR bad\r\nthing\n");
  EXPECT_EQ(out, "-ERR syntax error\r\n-MOVED 12182 127.0.0.1:7003\r\n-ERR bad  thing \r\n");
  EXPECT_EQ(b.errors(), 3u);
  b.Ok();
  EXPECT_EQ(b.errors(), 3u);
}

TEST(ReplyBuilderTest, NullsDegradeInResp2) {
  EXPECT_EQ(Encode(2, [](ReplyBuilder& b) { b.NullBulk(); }), "$-1\r\n");
  EXPECT_EQ(Encode(2, [](ReplyBuilder& b) { b.NullArray(); }), "*-1\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.NullBulk(); }), "_\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.NullArray(); }), "_\r\n");
}

TEST(ReplyBuilderTest, AggregatesDegradeInResp2) {
  EXPECT_EQ(Encode(2, [](ReplyBuilder& b) { b.MapHeader(7); }), "*14\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.MapHeader(7); }), "%7\r\n");
  EXPECT_EQ(Encode(2, [](ReplyBuilder& b) { b.SetHeader(3); }), "*3\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.SetHeader(3); }), "~3\r\n");
  EXPECT_EQ(Encode(2, [](ReplyBuilder& b) { b.PushHeader(3); }), "*3\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.PushHeader(3); }), ">3\r\n");
}

TEST(ReplyBuilderTest, BoolsAreIntegersInResp2) {
  EXPECT_EQ(Encode(2, [](ReplyBuilder& b) { b.Bool(true); }), ":1\r\n");
  EXPECT_EQ(Encode(2, [](ReplyBuilder& b) { b.Bool(false); }), ":0\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.Bool(true); }), "#t\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.Bool(false); }), "#f\r\n");
}

TEST(ReplyBuilderTest, VerbatimIsABulkInResp2) {
  EXPECT_EQ(Encode(2, [](ReplyBuilder& b) { b.Verbatim("# Server\r\n"); }),
            "$10\r\n# Server\r\n\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.Verbatim("# Server\r\n"); }),
            "=14\r\ntxt:# Server\r\n\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.Verbatim("x", "md"); }), "=5\r\nmd :x\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.Verbatim("", "json"); }), "=4\r\njso:\r\n");
}

// Replies captured from redis-server 7.0.15 (ZADD z <score> m, then ZSCORE z m
// over a raw socket, RESP2 and after HELLO 3).
TEST(ReplyBuilderTest, DoublesMatchZscoreReplies) {
  EXPECT_EQ(Encode(2, [](ReplyBuilder& b) { b.Double(1.1); }), "$18\r\n1.1000000000000001\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.Double(1.1); }), ",1.1000000000000001\r\n");
  EXPECT_EQ(Encode(2, [](ReplyBuilder& b) { b.Double(INFINITY); }), "$3\r\ninf\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.Double(INFINITY); }), ",inf\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.Double(-INFINITY); }), ",-inf\r\n");
  EXPECT_EQ(Encode(3, [](ReplyBuilder& b) { b.Double(-1e308); }), ",-1e+308\r\n");
  EXPECT_EQ(Encode(2, [](ReplyBuilder& b) { b.Double(0.0); }), "$1\r\n0\r\n");
}

TEST(ReplyBuilderTest, ProtocolCanChangeMidStream) {
  std::string out;
  ReplyBuilder b(&out);
  EXPECT_EQ(b.protocol(), 2);
  b.NullBulk();
  b.set_protocol(3);
  b.NullBulk();
  EXPECT_EQ(out, "$-1\r\n_\r\n");
  EXPECT_EQ(b.buffer(), &out);
}

// CLIENT REPLY OFF: silenced elements are dropped, pushes written inside a
// PushScope still reach the buffer, in order.
TEST(ReplyBuilderTest, SilencedDropsAllButPushes) {
  std::string out;
  ReplyBuilder b(&out, 3);
  b.Ok();
  b.set_silenced(true);
  b.Integer(1);
  b.Bulk("dropped");
  {
    ReplyBuilder::PushScope pushing(b);
    b.PushHeader(2);
    b.Bulk("subscribe");
    b.Integer(1);
  }
  b.ArrayHeader(1);
  b.set_silenced(false);
  b.Integer(7);
  EXPECT_EQ(out, "+OK\r\n>2\r\n$9\r\nsubscribe\r\n:1\r\n:7\r\n");
}

// Values observed on redis-server 7.0.15 with ZADD z <input> m; ZSCORE z m.
TEST(FormatDoubleTest, MatchesRedisZscore) {
  EXPECT_EQ(FormatDouble(1.1), "1.1000000000000001");
  EXPECT_EQ(FormatDouble(0.1), "0.10000000000000001");
  EXPECT_EQ(FormatDouble(1e300), "1.0000000000000001e+300");
  EXPECT_EQ(FormatDouble(INFINITY), "inf");
  EXPECT_EQ(FormatDouble(-INFINITY), "-inf");
  EXPECT_EQ(FormatDouble(3), "3");
  EXPECT_EQ(FormatDouble(1e-20), "9.9999999999999995e-21");
  EXPECT_EQ(FormatDouble(0.30000000000000004), "0.30000000000000004");
  EXPECT_EQ(FormatDouble(123456789.123456789), "123456789.12345679");
  EXPECT_EQ(FormatDouble(1e17), "1e+17");
  EXPECT_EQ(FormatDouble(2.5e-5), "2.5000000000000001e-05");
  EXPECT_EQ(FormatDouble(1e21), "1e+21");
  EXPECT_EQ(FormatDouble(3.14159), "3.1415899999999999");
  // ZADD z 0.1 m; ZINCRBY z 0.2 m
  EXPECT_EQ(FormatDouble(0.1 + 0.2), "0.30000000000000004");
}

TEST(FormatDoubleTest, NegativeZeroAndNanFollowPrintf) {
  EXPECT_EQ(FormatDouble(-0.0), "-0");
  EXPECT_EQ(FormatDouble(std::numeric_limits<double>::quiet_NaN()), "nan");
}

// Values observed on redis-server 7.0.15: DEL k; INCRBYFLOAT k <input>. The
// increment is parsed as a long double (strtold), as Redis does.
TEST(FormatLongDoubleTest, MatchesRedisIncrbyfloat) {
  EXPECT_EQ(FormatLongDouble(1.1L), "1.1");
  EXPECT_EQ(FormatLongDouble(0.1L), "0.1");
  EXPECT_EQ(FormatLongDouble(0.2L), "0.2");
  EXPECT_EQ(FormatLongDouble(-0.0L), "0");
  EXPECT_EQ(FormatLongDouble(3.0L), "3");
  EXPECT_EQ(FormatLongDouble(1e-20L), "0");
  EXPECT_EQ(FormatLongDouble(5.0e3L), "5000");
  EXPECT_EQ(FormatLongDouble(123456789.123456789L), "123456789.12345678899873747");
  EXPECT_EQ(FormatLongDouble(-1.5L), "-1.5");
  EXPECT_EQ(FormatLongDouble(0.3333333333333333L), "0.3333333333333333");
  EXPECT_EQ(FormatLongDouble(1e17L), "100000000000000000");
  EXPECT_EQ(FormatLongDouble(2.5e-5L), "0.000025");
  EXPECT_EQ(FormatLongDouble(1e300L),
            "10000000000000000000089973240795591938705239442732907479382600823212656465961809"
            "35755849152083750497190350372508614274835903592556184672983913096260520748646287"
            "32713564184365329408425510760601678972665293237003055138294762099454029477278188"
            "9620606179267611627097410650567187386105690089424915104006144");
  // SET k 0.1; INCRBYFLOAT k 0.2 -> "0.3"; SET k 10.5; INCRBYFLOAT k 0.1 -> "10.6";
  // SET k 0.1; INCRBYFLOAT k -0.1 -> "0".
  EXPECT_EQ(FormatLongDouble(0.1L + 0.2L), "0.3");
  EXPECT_EQ(FormatLongDouble(10.5L + 0.1L), "10.6");
  EXPECT_EQ(FormatLongDouble(0.1L - 0.1L), "0");
  EXPECT_EQ(FormatLongDouble(-1e-20L), "0");
}

TEST(ReplyBuilderTest, GrowthIsWatchedAsTheReplyIsBuilt) {
  std::string out;
  ReplyBuilder r(&out);
  int calls = 0;
  r.WatchGrowth(100, [&]() { ++calls; });
  const std::string ten(10, 'x');  // "$10\r\n" + 10 + "\r\n": 17 bytes
  for (int i = 0; i < 5; ++i) r.Bulk(ten);
  EXPECT_EQ(calls, 0);
  for (int i = 0; i < 2; ++i) r.Bulk(ten);  // 119 bytes: one look
  EXPECT_EQ(calls, 1);
  // Written out: looked at again 100 bytes above the size it is first
  // seen at (17 here).
  out.clear();
  for (int i = 0; i < 6; ++i) r.Bulk(ten);
  EXPECT_EQ(calls, 1);
  r.Bulk(ten);
  EXPECT_EQ(calls, 2);
}

TEST(ReplyBuilderTest, DiscardDropsTheBufferAndEverythingAfter) {
  std::string out;
  ReplyBuilder r(&out);
  r.WatchGrowth(100, [&]() { r.Discard(); });
  r.ArrayHeader(1000000);
  for (int i = 0; i < 1000 && !r.discarding(); ++i) r.Bulk("abcdefghij");
  EXPECT_TRUE(r.discarding());
  EXPECT_EQ(out, "");
  EXPECT_EQ(out.capacity() < 100, true);
  r.Ok();
  r.Error("ERR x");
  EXPECT_EQ(out, "");
  EXPECT_EQ(r.errors(), 1u);
}

TEST(FormatLongDoubleTest, InfinitiesAreSpelledOut) {
  EXPECT_EQ(FormatLongDouble(static_cast<long double>(INFINITY)), "inf");
  EXPECT_EQ(FormatLongDouble(-static_cast<long double>(INFINITY)), "-inf");
}

TEST(FormatLongDoubleTest, LargestLongDoubleFits) {
  const std::string text = FormatLongDouble(std::numeric_limits<long double>::max());
  EXPECT_EQ(text.size(), 4933u);
  EXPECT_EQ(text.substr(0, 5), "11897");
}

}  // namespace
}  // namespace shardnode::resp
