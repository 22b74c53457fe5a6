#include "clusterbus/codec/codec.h"

#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace shardnode::clusterbus {
namespace {

const std::string kIdA = "0123456789abcdef0123456789abcdef01234567";
const std::string kIdB = "fedcba9876543210fedcba9876543210fedcba98";
const std::string kIdC = "aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd";

void Put16(std::string* s, size_t off, uint16_t v) {
  (*s)[off] = static_cast<char>(v >> 8);
  (*s)[off + 1] = static_cast<char>(v);
}
void Put32(std::string* s, size_t off, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) (*s)[off + i] = static_cast<char>(v);
}
uint32_t Get32(const std::string& s, size_t off) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[off + i]);
  return v;
}

MessageHeader Header(MessageType type) {
  MessageHeader h;
  h.type = type;
  h.port = 7001;
  h.cport = 17001;
  h.current_epoch = 0x0102030405060708ull;
  h.config_epoch = 42;
  h.offset = 123456789;
  h.sender = kIdA;
  h.myslots.SetRange(0, 5460);
  h.myslots.Set(16383);
  h.flags = kNodeFlagPrimary | kNodeFlagMyself | kNodeFlagMigrateTo;
  h.state = kClusterStateFail;
  return h;
}

GossipEntry Gossip(const std::string& id, uint16_t port) {
  GossipEntry g;
  g.node_id = id;
  g.ping_sent = 0;
  g.pong_received = 1700000000;
  g.ip = "127.0.0.1";
  g.port = port;
  g.cport = static_cast<uint16_t>(port + 10000);
  g.flags = kNodeFlagPrimary | kNodeFlagMigrateTo;
  return g;
}

// A message of each type, with headers that Encode leaves unchanged (so the
// decoded message equals it once totlen is filled in).
std::vector<Message> OneOfEachType() {
  std::vector<Message> out;
  for (MessageType t : {MessageType::kPing, MessageType::kPong, MessageType::kMeet}) {
    Message m{Header(t), PingBody{}};
    auto& ping = std::get<PingBody>(m.body);
    ping.gossip = {Gossip(kIdB, 7002), Gossip(kIdC, 7003)};
    ping.extensions = {MakeHostnameExtension("node-one.example")};
    m.header.count = 2;
    m.header.extensions = 1;
    m.header.mflags[0] = kMsgFlagExtData;
    out.push_back(m);
  }
  out.push_back(Message{Header(MessageType::kFail), FailBody{kIdB}});
  out.push_back(Message{Header(MessageType::kPublish), PublishBody{"news", "hello world"}});
  out.push_back(Message{Header(MessageType::kPublishShard), PublishBody{"{s}ch", ""}});
  for (MessageType t :
       {MessageType::kFailoverAuthRequest, MessageType::kFailoverAuthAck, MessageType::kMfStart}) {
    out.push_back(Message{Header(t), EmptyBody{}});
  }
  {
    UpdateBody upd;
    upd.config_epoch = 77;
    upd.node_id = kIdC;
    upd.slots.SetRange(100, 200);
    out.push_back(Message{Header(MessageType::kUpdate), upd});
  }
  out.push_back(Message{Header(MessageType::kModule),
                        ModuleBody{0x1122334455667788ull, 7, std::string("pay\0load", 8)}});
  out.push_back(Message{Header(static_cast<MessageType>(11)), UnknownBody{"opaque bytes"}});
  return out;
}

DecodeStatus DecodeOne(const std::string& bytes, Message* out, std::string* why = nullptr,
                       size_t* consumed = nullptr) {
  size_t n = 0;
  DecodeStatus st = Decode(bytes, &n, out, why);
  if (consumed) *consumed = n;
  return st;
}

TEST(CodecTest, RoundTripsEveryType) {
  for (Message m : OneOfEachType()) {
    SCOPED_TRACE(MessageTypeName(m.header.type));
    std::string bytes = Encode(m);
    m.header.totlen = static_cast<uint32_t>(bytes.size());
    Message got;
    size_t consumed = 0;
    ASSERT_EQ(DecodeOne(bytes, &got, nullptr, &consumed), DecodeStatus::kMessage);
    EXPECT_EQ(consumed, bytes.size());
    EXPECT_EQ(got, m);
    EXPECT_EQ(Encode(got), bytes);
  }
}

TEST(CodecTest, ExactLengthsPerType) {
  for (const Message& m : OneOfEachType()) {
    std::string bytes = Encode(m);
    EXPECT_EQ(Get32(bytes, 4), bytes.size());
    switch (m.header.type) {
      case MessageType::kPing:
      case MessageType::kPong:
      case MessageType::kMeet:
        EXPECT_EQ(bytes.size(), 2256u + 2 * 104 + 32);
        break;
      case MessageType::kFail:
        EXPECT_EQ(bytes.size(), 2296u);
        break;
      case MessageType::kPublish:
        EXPECT_EQ(bytes.size(), 2264u + 4 + 11);
        break;
      case MessageType::kPublishShard:
        EXPECT_EQ(bytes.size(), 2264u + 5);
        break;
      case MessageType::kUpdate:
        EXPECT_EQ(bytes.size(), 4352u);
        break;
      case MessageType::kModule:
        EXPECT_EQ(bytes.size(), 2269u + 8);
        break;
      case MessageType::kFailoverAuthRequest:
      case MessageType::kFailoverAuthAck:
      case MessageType::kMfStart:
        EXPECT_EQ(bytes.size(), 2256u);
        break;
      default:
        EXPECT_EQ(bytes.size(), 2256u + 12);
    }
  }
}

// Spec section 17: the PONG a fresh 7.0.15 node (port 7001) answers to MEET.
TEST(CodecTest, HeaderLayoutMatchesCapturedFreshPong) {
  Message m{MessageHeader{}, PingBody{}};
  m.header.type = MessageType::kPong;
  m.header.port = 7001;
  m.header.cport = 17001;
  m.header.sender = kIdA;
  m.header.flags = kNodeFlagMyself | kNodeFlagPrimary;
  m.header.state = kClusterStateFail;
  std::string b = Encode(m);
  ASSERT_EQ(b.size(), 2256u);
  EXPECT_EQ(b.substr(0, 16),
            std::string("RCmb\x00\x00\x08\xD0\x00\x01\x1B\x59\x00\x01\x00\x00", 16));
  EXPECT_EQ(b.substr(16, 24), std::string(24, '\0'));
  EXPECT_EQ(b.substr(40, 40), kIdA);
  EXPECT_EQ(b.substr(80, 2246 - 80), std::string(2246 - 80, '\0'));
  EXPECT_EQ(b.substr(2246), std::string("\x00\x00\x42\x69\x00\x11\x01\x00\x00\x00", 10));
}

TEST(CodecTest, FieldOffsets) {
  Message m{Header(MessageType::kPing), PingBody{}};
  m.header.slaveof = kIdB;
  m.header.myip = "10.0.0.1";
  m.header.pport = 0x1234;
  m.header.mflags = {kMsgFlagPaused, 0, 0};
  std::string b = Encode(m);
  EXPECT_EQ(b.substr(16, 8), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(static_cast<uint8_t>(b[80]), 0xff);         // slots 0..7
  EXPECT_EQ(static_cast<uint8_t>(b[80 + 682]), 0x1f);   // 5456..5460: bits 0..4
  EXPECT_EQ(static_cast<uint8_t>(b[80 + 2047]), 0x80);  // slot 16383: bit 7
  EXPECT_EQ(b.substr(2128, 40), kIdB);
  EXPECT_EQ(b.substr(2168, 9), std::string("10.0.0.1\0", 9));
  EXPECT_EQ(b.substr(2246, 2), "\x12\x34");
  EXPECT_EQ(b.substr(2250, 2), std::string("\x01\x11", 2));  // flags 273
  EXPECT_EQ(b[2253], kMsgFlagPaused);
}

TEST(CodecTest, GossipEntryLayout) {
  Message m{Header(MessageType::kPing), PingBody{{Gossip(kIdB, 7002)}, {}}};
  std::get<PingBody>(m.body).gossip[0].ping_sent = 5;
  std::get<PingBody>(m.body).gossip[0].pport = 9;
  std::string b = Encode(m);
  ASSERT_EQ(b.size(), 2256u + 104);
  EXPECT_EQ(b.substr(14, 2), std::string("\x00\x01", 2));  // count
  std::string g = b.substr(2256);
  EXPECT_EQ(g.substr(0, 40), kIdB);
  EXPECT_EQ(Get32(g, 40), 5u);
  EXPECT_EQ(Get32(g, 44), 1700000000u);
  EXPECT_EQ(g.substr(48, 46), std::string("127.0.0.1") + std::string(37, '\0'));
  EXPECT_EQ(g.substr(94, 10), std::string("\x1b\x5a\x42\x6a\x01\x01\x00\x09\x00\x00", 10));
}

// Spec section 4: hostname "node-one.example" gives a 32-byte extension.
TEST(CodecTest, HostnameExtensionLayout) {
  Message m{Header(MessageType::kPong), PingBody{}};
  std::get<PingBody>(m.body).extensions = {MakeHostnameExtension("node-one.example")};
  std::string b = Encode(m);
  ASSERT_EQ(b.size(), 2256u + 32);
  EXPECT_EQ(b.substr(2214, 2), std::string("\x00\x01", 2));  // extensions
  EXPECT_EQ(b[2253], kMsgFlagExtData);
  EXPECT_EQ(b.substr(2256, 8), std::string("\x00\x00\x00\x20\x00\x00\x00\x00", 8));
  EXPECT_EQ(b.substr(2264), std::string("node-one.example") + std::string(8, '\0'));

  Message got;
  ASSERT_EQ(DecodeOne(b, &got), DecodeStatus::kMessage);
  EXPECT_EQ(std::get<PingBody>(got.body).Hostname(), "node-one.example");
  EXPECT_EQ(PingBody{}.Hostname(), std::nullopt);
  // 7 chars + NUL = 8: no extra padding.
  EXPECT_EQ(MakeHostnameExtension("abcdefg").data.size(), 8u);
  EXPECT_EQ(MakeHostnameExtension("").data.size(), 8u);
}

TEST(CodecTest, PublishAndModuleLayout) {
  std::string b = Encode(Message{Header(MessageType::kPublish), PublishBody{"ch", "msg"}});
  EXPECT_EQ(b.substr(2256), std::string("\0\0\0\x02\0\0\0\x03"
                                        "chmsg",
                                        13));
  b = Encode(Message{Header(MessageType::kModule), ModuleBody{0x0807060504030201ull, 9, "xy"}});
  EXPECT_EQ(b.substr(2256), std::string("\x01\x02\x03\x04\x05\x06\x07\x08\0\0\0\x02\x09xy", 15));
}

TEST(CodecTest, SlaveofAllZeroMeansNone) {
  Message m{Header(MessageType::kFailoverAuthAck), EmptyBody{}};
  std::string b = Encode(m);
  EXPECT_EQ(b.substr(2128, 40), std::string(40, '\0'));
  Message got;
  ASSERT_EQ(DecodeOne(b, &got), DecodeStatus::kMessage);
  EXPECT_EQ(got.header.slaveof, "");
}

// Decodes everything in `buf`, erasing what was consumed.
std::vector<Message> DrainBuffer(std::string* buf) {
  std::vector<Message> got;
  while (true) {
    size_t consumed = 0;
    Message m;
    DecodeStatus st = Decode(*buf, &consumed, &m, nullptr);
    if (st == DecodeStatus::kNeedMore) {
      EXPECT_EQ(consumed, 0u);
      return got;
    }
    EXPECT_EQ(st, DecodeStatus::kMessage);
    if (st != DecodeStatus::kMessage) return got;
    got.push_back(m);
    buf->erase(0, consumed);
  }
}

TEST(CodecTest, EveryTruncationPointOfAStream) {
  std::vector<Message> msgs = OneOfEachType();
  std::string stream;
  std::vector<size_t> ends;
  for (Message& m : msgs) {
    EncodeTo(m, &stream);
    m.header.totlen = static_cast<uint32_t>(stream.size() - (ends.empty() ? 0 : ends.back()));
    ends.push_back(stream.size());
  }
  for (size_t split = 0; split <= stream.size(); ++split) {
    std::string buf = stream.substr(0, split);
    std::vector<Message> got = DrainBuffer(&buf);
    size_t complete = 0;
    while (complete < ends.size() && ends[complete] <= split) ++complete;
    ASSERT_EQ(got.size(), complete) << "split " << split;
    buf.append(stream, split);
    std::vector<Message> rest = DrainBuffer(&buf);
    got.insert(got.end(), rest.begin(), rest.end());
    ASSERT_EQ(got, msgs) << "split " << split;
    ASSERT_TRUE(buf.empty());
  }
}

TEST(CodecTest, NeedsOnlyEightBytesToRejectABadFrame) {
  Message m;
  std::string why;
  size_t consumed = 7;
  EXPECT_EQ(Decode(std::string("RCmb\0\0\x08", 7), &consumed, &m, &why), DecodeStatus::kNeedMore);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(Decode(std::string("RCmc\0\0\x08\xd0", 8), &consumed, &m, &why),
            DecodeStatus::kBadFrame);
  EXPECT_EQ(why, "Bad message length or signature received from Cluster bus.");
  // totlen 2255 < header size.
  EXPECT_EQ(Decode(std::string("RCmb\0\0\x08\xcf", 8), &consumed, &m, &why),
            DecodeStatus::kBadFrame);
  // A good start keeps asking for more.
  EXPECT_EQ(Decode(std::string("RCmb\0\0\x08\xd0", 8), &consumed, &m, &why),
            DecodeStatus::kNeedMore);
}

TEST(CodecTest, HugeTotlenIsRefusedBeforeBuffering) {
  Message m;
  std::string why;
  size_t consumed = 0;
  EXPECT_EQ(Decode(std::string("RCmb\xff\xff\xff\xff", 8), &consumed, &m, &why),
            DecodeStatus::kBadFrame);
  EXPECT_THAT(why, testing::HasSubstr("exceeds the limit"));
  // Under the limit: keep buffering.
  EXPECT_EQ(Decode(std::string("RCmb\x01\x00\x00\x00", 8), &consumed, &m, &why),
            DecodeStatus::kNeedMore);
  // A custom limit.
  std::string pub = Encode(Message{Header(MessageType::kPublish), PublishBody{"c", "m"}});
  EXPECT_EQ(Decode(pub, &consumed, &m, &why, pub.size() - 1), DecodeStatus::kBadFrame);
  EXPECT_EQ(Decode(pub, &consumed, &m, &why, pub.size()), DecodeStatus::kMessage);
}

TEST(CodecTest, WrongVersionIsDiscardedAndTheStreamGoesOn) {
  std::string a = Encode(Message{Header(MessageType::kFail), FailBody{kIdB}});
  Put16(&a, 8, 2);
  std::string b = Encode(Message{Header(MessageType::kMfStart), EmptyBody{}});
  std::string buf = a + b;
  Message m;
  std::string why;
  size_t consumed = 0;
  EXPECT_EQ(Decode(buf, &consumed, &m, &why), DecodeStatus::kDiscard);
  EXPECT_EQ(consumed, a.size());
  EXPECT_THAT(why, testing::HasSubstr("version 2"));
  EXPECT_EQ(Decode(std::string_view(buf).substr(consumed), &consumed, &m, &why),
            DecodeStatus::kMessage);
  EXPECT_EQ(m.header.type, MessageType::kMfStart);
}

// Changes totlen (and the buffer size) of an encoded message.
std::string Resize(std::string b, size_t n) {
  b.resize(n, '\0');
  Put32(&b, 4, static_cast<uint32_t>(n));
  return b;
}

void ExpectDiscard(const std::string& bytes, const std::string& why_text) {
  Message m;
  std::string why;
  size_t consumed = 0;
  EXPECT_EQ(Decode(bytes, &consumed, &m, &why), DecodeStatus::kDiscard) << why_text;
  EXPECT_EQ(consumed, bytes.size());
  EXPECT_EQ(why, why_text);
}

TEST(CodecTest, FixedLengthTypesWithWrongLengthAreDiscarded) {
  std::string fail = Encode(Message{Header(MessageType::kFail), FailBody{kIdB}});
  ExpectDiscard(Resize(fail, 2297),
                "Received invalid fail packet of length 2297 but expected length 2296");
  ExpectDiscard(Resize(fail, 2256),
                "Received invalid fail packet of length 2256 but expected length 2296");
  std::string upd = Encode(Message{Header(MessageType::kUpdate), UpdateBody{}});
  ExpectDiscard(Resize(upd, 4351),
                "Received invalid update packet of length 4351 but expected length 4352");
  std::string req = Encode(Message{Header(MessageType::kFailoverAuthRequest), EmptyBody{}});
  ExpectDiscard(Resize(req, 2264),
                "Received invalid auth-req packet of length 2264 but expected length 2256");
  std::string mf = Encode(Message{Header(MessageType::kMfStart), EmptyBody{}});
  ExpectDiscard(Resize(mf, 2257),
                "Received invalid mfstart packet of length 2257 but expected length 2256");
}

TEST(CodecTest, PublishLengthsMustMatchTotlen) {
  std::string pub = Encode(Message{Header(MessageType::kPublish), PublishBody{"ch", "msg"}});
  std::string bad = pub;
  Put32(&bad, 2260, 4);
  ExpectDiscard(bad, "Received invalid publish packet of length 2269 but expected length 2270");
  ExpectDiscard(Resize(pub, 2260),
                "Received invalid publish packet of length 2260 but expected length 2264");
  // Lengths whose 32-bit sum wraps around to totlen: Redis's arithmetic
  // would accept this; we do not.
  bad = pub;
  Put32(&bad, 2256, 0xffffffffu);
  Put32(&bad, 2260, 6);
  ExpectDiscard(bad,
                "Received invalid publish packet of length 2269 but expected length 4294969565");
  std::string shard = Encode(Message{Header(MessageType::kPublishShard), PublishBody{"ch", "msg"}});
  ExpectDiscard(Resize(shard, 2270),
                "Received invalid publishshard packet of length 2270 but expected length 2269");
}

TEST(CodecTest, ModuleLengthMustMatchTotlen) {
  std::string mod = Encode(Message{Header(MessageType::kModule), ModuleBody{1, 2, "abc"}});
  ExpectDiscard(Resize(mod, 2271),
                "Received invalid module packet of length 2271 but expected length 2272");
  ExpectDiscard(Resize(mod, 2268),
                "Received invalid module packet of length 2268 but expected length 2269");
}

Message PingWithGossip(int n) {
  Message m{Header(MessageType::kPing), PingBody{}};
  for (int i = 0; i < n; ++i) std::get<PingBody>(m.body).gossip.push_back(Gossip(kIdB, 7002));
  return m;
}

TEST(CodecTest, GossipCountMustMatchTotlen) {
  std::string b = Encode(PingWithGossip(2));
  std::string bad = b;
  Put16(&bad, 14, 3);
  ExpectDiscard(bad, "Received invalid ping packet of length 2464 but expected length 2568");
  bad = b;
  Put16(&bad, 14, 1);
  ExpectDiscard(bad, "Received invalid ping packet of length 2464 but expected length 2360");
  bad = b;
  Put16(&bad, 14, 0xffff);
  ExpectDiscard(bad, "Received invalid ping packet of length 2464 but expected length 6817896");
}

TEST(CodecTest, ExtensionLengthsAreChecked) {
  Message m = PingWithGossip(1);
  m.header.type = MessageType::kMeet;
  std::get<PingBody>(m.body).extensions = {MakeHostnameExtension("node-one.example"),
                                           PingExtension{99, std::string(16, 'x')}};
  const std::string good = Encode(m);
  const size_t ext0 = 2256 + 104;
  ASSERT_EQ(good.size(), ext0 + 32 + 24);
  Message got;
  ASSERT_EQ(DecodeOne(good, &got), DecodeStatus::kMessage);
  EXPECT_EQ(std::get<PingBody>(got.body).extensions[1].type, 99);

  std::string bad = good;
  Put32(&bad, ext0, 28);
  ExpectDiscard(bad, "Received a meet packet without proper padding (28 bytes)");
  bad = good;
  Put32(&bad, ext0 + 32, 32);
  ExpectDiscard(bad,
                "Received invalid meet packet with extension data that exceeds total packet "
                "length (2416)");
  bad = good;
  Put32(&bad, ext0 + 32, 16);  // Leaves 8 bytes after the last extension.
  ExpectDiscard(bad, "Received invalid meet packet of length 2416 but expected length 2408");
  bad = good;
  Put32(&bad, ext0, 0);
  ExpectDiscard(bad,
                "Received invalid meet packet with an extension shorter than its header (0 "
                "bytes)");
  // One more extension declared than present.
  bad = good;
  Put16(&bad, 2214, 3);
  ExpectDiscard(bad,
                "Received invalid meet packet with extension data that exceeds total packet "
                "length (2416)");
  // Fewer declared: trailing bytes.
  bad = good;
  Put16(&bad, 2214, 1);
  ExpectDiscard(bad, "Received invalid meet packet of length 2416 but expected length 2392");
  // Without EXT_DATA the extensions are not counted at all.
  bad = good;
  bad[2253] = 0;
  ExpectDiscard(bad, "Received invalid meet packet of length 2416 but expected length 2360");
}

TEST(CodecTest, ExtensionCountWithoutFlagRoundTrips) {
  // EXT_DATA clear with a non-zero count (no extension bytes): accepted, and
  // Encode writes the header fields back as they were.
  std::string b = Encode(PingWithGossip(1));
  Put16(&b, 2214, 5);
  Message got;
  ASSERT_EQ(DecodeOne(b, &got), DecodeStatus::kMessage);
  EXPECT_EQ(got.header.extensions, 5);
  EXPECT_TRUE(std::get<PingBody>(got.body).extensions.empty());
  EXPECT_EQ(Encode(got), b);
  // EXT_DATA set with zero extensions: also fine.
  b = Encode(PingWithGossip(0));
  b[2253] = kMsgFlagExtData;
  ASSERT_EQ(DecodeOne(b, &got), DecodeStatus::kMessage);
  EXPECT_EQ(Encode(got), b);
}

TEST(CodecTest, UnknownTypeIsAcceptedAndFlagged) {
  std::string b = Encode(Message{Header(MessageType::kMfStart), EmptyBody{}});
  b += "tail";
  Put32(&b, 4, static_cast<uint32_t>(b.size()));
  Put16(&b, 12, 300);
  Message got;
  std::string why;
  ASSERT_EQ(DecodeOne(b, &got, &why), DecodeStatus::kMessage);
  EXPECT_FALSE(IsKnownType(got.header.type));
  EXPECT_EQ(MessageTypeName(got.header.type), "unknown");
  EXPECT_EQ(std::get<UnknownBody>(got.body).bytes, "tail");
  EXPECT_EQ(why, "Received unknown packet type: 300");
  EXPECT_EQ(Encode(got), b);
}

TEST(CodecTest, TextFieldsStopAtNul) {
  Message m = PingWithGossip(1);
  m.header.myip = "::1";
  std::string b = Encode(m);
  b[2168 + 10] = 'z';  // Garbage after the NUL.
  Message got;
  ASSERT_EQ(DecodeOne(b, &got), DecodeStatus::kMessage);
  EXPECT_EQ(got.header.myip, "::1");
  // A full 46-byte field without NUL is kept whole.
  std::fill(b.begin() + 2168, b.begin() + 2168 + 46, '1');
  ASSERT_EQ(DecodeOne(b, &got), DecodeStatus::kMessage);
  EXPECT_EQ(got.header.myip, std::string(46, '1'));
  EXPECT_EQ(Encode(got), b);
}

// Random corruption of valid streams: Decode must never crash, and whatever it
// accepts must re-encode to something that decodes to the same message.
TEST(CodecTest, SurvivesRandomCorruption) {
  std::mt19937 rng(12345);
  std::string stream;
  for (const Message& m : OneOfEachType()) EncodeTo(m, &stream);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string buf = stream;
    int flips = 1 + static_cast<int>(rng() % 8);
    for (int f = 0; f < flips; ++f) {
      size_t pos = rng() % buf.size();
      // Bias corruption towards length-bearing fields.
      if (rng() % 2) pos = (rng() % 2) ? 4 + rng() % 12 : 2214 + rng() % 60;
      pos %= buf.size();
      buf[pos] = static_cast<char>(rng());
    }
    buf.resize(buf.size() - rng() % 64);
    std::string_view rest = buf;
    while (!rest.empty()) {
      size_t consumed = 0;
      Message m;
      DecodeStatus st = Decode(rest, &consumed, &m, nullptr);
      if (st == DecodeStatus::kNeedMore || st == DecodeStatus::kBadFrame) break;
      ASSERT_GT(consumed, 0u);
      if (st == DecodeStatus::kMessage) {
        std::string again = Encode(m);
        Message m2;
        ASSERT_EQ(DecodeOne(again, &m2), DecodeStatus::kMessage);
        m.header.totlen = m2.header.totlen;
        ASSERT_EQ(m2, m);
      }
      rest.remove_prefix(consumed);
    }
  }
}

}  // namespace
}  // namespace shardnode::clusterbus
