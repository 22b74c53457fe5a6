#include "replication/rdb.h"

#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "replication/crc64.h"
#include "replication/internal/intset.h"
#include "replication/internal/listpack.h"
#include "replication/internal/ziplist.h"
#include "replication/rdb_test_util.h"

namespace shardnode::replication {
namespace {

using ::shardnode::replication::testing::Bytes;
using ::shardnode::replication::testing::FixturePath;
using ::shardnode::replication::testing::Normalized;
using ::shardnode::replication::testing::ReadFile;
using ::shardnode::replication::testing::SampleEntries;
using ::testing::HasSubstr;

std::string Hex(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) absl::StrAppend(&out, absl::Hex(c, absl::kZeroPad2), " ");
  return out;
}

class CountingHandler : public RdbHandler {
 public:
  absl::Status OnSelectDb(uint64_t db) override {
    dbs.push_back(db);
    return absl::OkStatus();
  }
  absl::Status OnResizeDb(uint64_t keys, uint64_t expires) override {
    resizes.emplace_back(keys, expires);
    return absl::OkStatus();
  }
  absl::Status OnEntry(RdbEntry entry) override {
    entries.push_back(std::move(entry));
    return absl::OkStatus();
  }
  void OnEmptyKey(absl::string_view key) override { empty_keys.emplace_back(key); }
  std::vector<std::string> empty_keys;
  std::vector<uint64_t> dbs;
  std::vector<std::pair<uint64_t, uint64_t>> resizes;
  std::vector<RdbEntry> entries;
};

TEST(DumpPayloadTest, MatchesRedisVectors) {
  EXPECT_EQ(Hex(DumpPayload(RdbValue::String("bar"))),
            "00 03 62 61 72 0a 00 e6 be 49 60 ee 66 fd 17 ");
  EXPECT_EQ(Hex(DumpPayload(RdbValue::String("123"))), "00 c0 7b 0a 00 48 e2 53 e1 00 7a 67 b9 ");
}

TEST(DumpPayloadTest, RoundTripsEveryValueShape) {
  for (const RdbEntry& e : SampleEntries()) {
    absl::StatusOr<RdbValue> v = ParseDumpPayload(DumpPayload(e.value));
    ASSERT_TRUE(v.ok()) << e.key << ": " << v.status();
    EXPECT_EQ(Normalized(*v), Normalized(e.value)) << e.key;
  }
}

TEST(DumpBuilderTest, PiecewisePayloadsDecodeToTheSameValue) {
  for (const RdbEntry& e : SampleEntries()) {
    for (size_t fold_every : {1, 3, 1000}) {
      absl::StatusOr<RdbValue> v =
          ParseDumpPayload(testing::BuildDumpInPieces(e.value, fold_every));
      ASSERT_TRUE(v.ok()) << e.key << ": " << v.status();
      EXPECT_EQ(Normalized(*v), Normalized(e.value)) << e.key;
    }
  }
  // A short string comes out as DumpPayload writes it, and a builder can be
  // used again after Finish.
  DumpBuilder b;
  for (int round = 0; round < 2; ++round) {
    b.BeginString(3);
    b.StringChunk("ba");
    b.Fold();
    b.StringChunk("r");
    EXPECT_EQ(b.Finish(), DumpPayload(RdbValue::String("bar")));
  }
}

TEST(DumpPayloadTest, RejectsWrongVersionOrChecksumAsRedisDoes) {
  const std::string good = DumpPayload(RdbValue::String("bar"));
  auto expect_wrong = [](const std::string& payload) {
    absl::StatusOr<RdbValue> v = ParseDumpPayload(payload);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(v.status().message(), "DUMP payload version or checksum are wrong");
  };
  expect_wrong(good.substr(0, 9));
  std::string bad = good;
  bad[3] = 'X';
  expect_wrong(bad);
  // Version 11 with a matching CRC is still refused.
  std::string v11 = good.substr(0, good.size() - 10) + std::string("\x0b\x00", 2);
  std::string crc;
  uint64_t c = Crc64(0, v11);
  for (int i = 0; i < 8; ++i) crc.push_back(static_cast<char>(c >> (8 * i)));
  expect_wrong(v11 + crc);
}

TEST(DumpPayloadTest, RejectsUndecodableValuesWithDetails) {
  auto payload = [](const std::string& body) {
    std::string p = body + std::string("\x0a\x00", 2);
    uint64_t c = Crc64(0, p);
    for (int i = 0; i < 8; ++i) p.push_back(static_cast<char>(c >> (8 * i)));
    return p;
  };
  EXPECT_EQ(ParseDumpPayload(payload(std::string("\x15\x01x", 3))).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_THAT(ParseDumpPayload(payload(std::string("\x00\x05"
                                                   "ab",
                                                   4)))
                  .status()
                  .message(),
              HasSubstr("truncated"));
  EXPECT_THAT(ParseDumpPayload(payload(std::string("\x00\x01"
                                                   "abc",
                                                   5)))
                  .status()
                  .message(),
              HasSubstr("left after"));
  // A stream cut short after its node count.
  EXPECT_EQ(ParseDumpPayload(payload(std::string("\x13\x00", 2))).status().code(),
            absl::StatusCode::kDataLoss);
  // A module value.
  EXPECT_EQ(ParseDumpPayload(payload(std::string("\x07\x00", 2))).status().code(),
            absl::StatusCode::kUnimplemented);
  // An empty set is no value.
  EXPECT_FALSE(ParseDumpPayload(payload(std::string("\x02\x00", 2))).ok());
}

// A DUMP of a stream with two groups made by Redis 5 (RDB_TYPE_STREAM_LISTPACKS,
// version 9; from Redis's stream-cgroups.tcl): no counters, so the groups'
// read counters are estimated as Redis does.
TEST(DumpPayloadTest, LegacyStreamsGetEstimatedReadCounters) {
  const std::string payload(
      "\x0F\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\xC3\x40\x4A\x40"
      "\x57"
      "\x16\x57\x00\x00\x00\x23\x00\x02\x01\x04\x01\x01\x01\x84\x64\x61\x74\x61\x05\x00\x01\x03\x01"
      "\x00"
      "\x20\x01\x03\x81\x61\x02\x04\x20\x0A\x00\x01\x40\x0A\x00\x62\x60\x0A\x00\x02\x40\x0A\x00\x63"
      "\x60"
      "\x0A\x40\x22\x01\x81\x64\x20\x0A\x40\x39\x20\x0A\x00\x65\x60\x0A\x00\x05\x40\x0A\x00\x66\x20"
      "\x0A"
      "\x00\xFF\x02\x06\x00\x02\x02\x67\x31\x05\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00"
      "\x00"
      "\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00"
      "\x00"
      "\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x04\x00"
      "\x00"
      "\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x05"
      "\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x01\x03\x63\x31\x31\x3E\xF7"
      "\x83"
      "\x43\x7A\x01\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00"
      "\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00"
      "\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x02"
      "\x67"
      "\x32\x00\x00\x00\x00\x09\x00\x3D\x52\xEF\x68\x67\x52\x1D\xFA",
      303);
  absl::StatusOr<RdbValue> v = ParseDumpPayload(payload);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->type, RdbType::kStream);
  EXPECT_EQ(v->stream.length, 2u);
  EXPECT_EQ(v->stream.entries_added, 2u);
  EXPECT_EQ(v->stream.first_id, (RdbStreamId{5, 0}));
  ASSERT_EQ(v->stream.groups.size(), 2u);
  EXPECT_EQ(v->stream.groups[0].entries_read, 1);  // at the first entry
  EXPECT_EQ(v->stream.groups[1].entries_read, 0);  // before it
  EXPECT_EQ(v->stream.groups[0].pel.size(), 4u);
}

TEST(RdbWriterTest, RoundTripsEveryValueShape) {
  for (bool compression : {true, false}) {
    RdbWriterOptions options;
    options.compression = compression;
    absl::StatusOr<RdbFile> file = ReadRdb(WriteRdb(SampleEntries(), options));
    ASSERT_TRUE(file.ok()) << file.status();
    EXPECT_EQ(file->version, 10);
    EXPECT_EQ(Normalized(file->entries), Normalized(SampleEntries()));
  }
}

TEST(RdbWriterTest, WritesTheAuxFieldsRedisWrites) {
  RdbWriterOptions options;
  options.ctime_s = 1700000000;
  options.used_mem = 123456;
  options.repl_id = std::string(40, 'a');
  options.repl_offset = 520;
  std::string bytes = WriteRdb({}, options);
  EXPECT_EQ(bytes.substr(0, 9), "REDIS0010");
  absl::StatusOr<RdbFile> file = ReadRdb(bytes);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->aux,
            (std::vector<std::pair<std::string, std::string>>{{"redis-ver", "7.0.15"},
                                                              {"redis-bits", "64"},
                                                              {"ctime", "1700000000"},
                                                              {"used-mem", "123456"},
                                                              {"repl-stream-db", "0"},
                                                              {"repl-id", std::string(40, 'a')},
                                                              {"repl-offset", "520"},
                                                              {"aof-base", "0"}}));
  // redis-bits 64 is int-encoded exactly as Redis writes it.
  EXPECT_NE(bytes.find(std::string("\xfa\x0aredis-bits\xc0\x40", 14)), std::string::npos);
}

TEST(RdbWriterTest, ChoosesTheEncodingsRedisChooses) {
  std::map<std::string, RdbValue> values;
  for (auto& e : SampleEntries()) values[e.key] = e.value;
  auto type_of = [&](const std::string& key) {
    return static_cast<int>(static_cast<uint8_t>(DumpPayload(values.at(key))[0]));
  };
  auto byte1 = [&](const std::string& key) {
    return static_cast<int>(static_cast<uint8_t>(DumpPayload(values.at(key))[1]));
  };
  EXPECT_EQ(byte1("s:int8"), 0xC0);
  EXPECT_EQ(byte1("s:int16"), 0xC1);
  EXPECT_EQ(byte1("s:int32"), 0xC2);
  EXPECT_EQ(byte1("s:int64"), 19);  // raw: outside int32
  EXPECT_EQ(byte1("s:lead0"), 4);
  EXPECT_EQ(byte1("s:lzf"), 0xC3);
  EXPECT_EQ(type_of("l:small"), 18);
  EXPECT_EQ(byte1("l:small"), 1);  // one quicklist node
  EXPECT_GT(byte1("l:big"), 1);    // split into 8 KiB nodes
  EXPECT_EQ(type_of("set:int"), 11);
  EXPECT_EQ(type_of("set:int64"), 11);
  EXPECT_EQ(type_of("set:str"), 2);
  EXPECT_EQ(type_of("set:bigint"), 2);
  EXPECT_EQ(type_of("h:small"), 16);
  EXPECT_EQ(type_of("h:big"), 4);
  EXPECT_EQ(type_of("h:longval"), 4);
  EXPECT_EQ(type_of("z:small"), 17);
  EXPECT_EQ(type_of("z:big"), 5);
  EXPECT_EQ(type_of("z:longmember"), 5);
}

TEST(RdbWriterTest, OrdersListpackSortedSetsByScoreThenMember) {
  std::string p = DumpPayload(RdbValue::ZSet({{"b", 2}, {"c", 1}, {"a", 2}, {"x", 0.5}}));
  // type 17, string length, then the listpack.
  std::vector<std::string> flat;
  ASSERT_TRUE(internal::DecodeListpack(p.substr(2, p.size() - 12), &flat).ok());
  EXPECT_EQ(flat, (std::vector<std::string>{"x", "0.5", "c", "1", "a", "2", "b", "2"}));
}

TEST(RdbWriterTest, StreamsOutputWithTheSameBytes) {
  RdbWriter writer;
  std::string streamed;
  writer.SelectDb(0, 2, 0);
  writer.Entry("a", RdbValue::String("1"));
  streamed += writer.TakeOutput();
  writer.Entry("b", RdbValue::List({"x"}));
  streamed += writer.TakeOutput();
  writer.End();
  streamed += writer.TakeOutput();
  EXPECT_EQ(writer.BytesWritten(), streamed.size());
  std::vector<RdbEntry> entries = {{0, "a", RdbValue::String("1"), -1},
                                   {0, "b", RdbValue::List({"x"}), -1}};
  EXPECT_EQ(streamed, WriteRdb(entries));
}

TEST(RdbReaderTest, DecodesTheSameInAnyChunking) {
  for (const std::string& bytes : {WriteRdb(SampleEntries()), ReadFile(FixturePath("types.rdb"))}) {
    absl::StatusOr<RdbFile> whole = ReadRdb(bytes);
    ASSERT_TRUE(whole.ok()) << whole.status();
    for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}}) {
      RdbReader reader;
      CountingHandler handler;
      absl::StatusOr<RdbReader::Progress> progress = RdbReader::Progress::kNeedMore;
      for (size_t i = 0; i < bytes.size(); i += chunk) {
        ASSERT_EQ(*progress, RdbReader::Progress::kNeedMore);
        progress = reader.Feed(absl::string_view(bytes).substr(i, chunk), handler);
        ASSERT_TRUE(progress.ok()) << progress.status();
      }
      EXPECT_EQ(*progress, RdbReader::Progress::kDone);
      EXPECT_TRUE(reader.Finish().ok());
      EXPECT_EQ(reader.Consumed(), bytes.size());
      EXPECT_EQ(handler.entries, whole->entries) << chunk;
    }
  }
}

// A stream of one entry, 1-0 {f v}.
RdbValue OneEntryStream() {
  RdbValue v;
  v.type = RdbType::kStream;
  RdbStreamNode node;
  node.master = {1, 0};
  node.master_fields = {"f"};
  RdbStreamEntry e;
  e.id = {1, 0};
  e.fields = {"f", "v"};
  node.entries.push_back(e);
  v.stream.nodes.push_back(node);
  v.stream.length = 1;
  v.stream.last_id = {1, 0};
  return v;
}

// Found by rdb_fuzz: a step that ran out of input kept the consumer groups
// it had read, and read them again on its next try (a "Duplicated consumer
// group name" refusal, or a group twice, when the bytes came in pieces: a
// replica's full sync, a file read in blocks).
TEST(RdbReaderTest, StreamGroupsDecodeTheSameInAnyChunking) {
  RdbValue v = OneEntryStream();
  v.stream.first_id = {1, 0};
  v.stream.entries_added = 1;
  RdbStreamGroup g1{"g1", {1, 0}, 1, {RdbStreamNack{{1, 0}, 1700000000000, 1}}, {}};
  g1.consumers.push_back(RdbStreamConsumer{"alice", 1700000000000, {{1, 0}}});
  RdbStreamGroup g2{"g2", {0, 0}, 0, {}, {}};
  g2.consumers.push_back(RdbStreamConsumer{"bob", 1700000000001, {}});
  v.stream.groups = {g1, g2};
  const std::string bytes = WriteRdb({{0, "s", v, -1}});
  absl::StatusOr<RdbFile> whole = ReadRdb(bytes);
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_EQ(whole->entries.size(), 1u);
  EXPECT_EQ(whole->entries[0].value.stream.groups, v.stream.groups);
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{7}}) {
    RdbReader reader;
    CountingHandler handler;
    absl::Status status;
    for (size_t i = 0; i < bytes.size() && status.ok(); i += chunk) {
      status = reader.Feed(absl::string_view(bytes).substr(i, chunk), handler).status();
    }
    ASSERT_TRUE(status.ok()) << chunk << ": " << status;
    ASSERT_TRUE(reader.Finish().ok());
    EXPECT_EQ(handler.entries, whole->entries) << chunk;
  }
}

TEST(RdbReaderTest, ReportsSelectAndResizeHints) {
  CountingHandler handler;
  RdbReader reader;
  ASSERT_TRUE(reader.Feed(WriteRdb(SampleEntries()), handler).ok());
  EXPECT_EQ(handler.dbs, (std::vector<uint64_t>{0, 1}));
  ASSERT_EQ(handler.resizes.size(), 2u);
  EXPECT_EQ(handler.resizes[1], (std::pair<uint64_t, uint64_t>{2, 1}));
}

TEST(RdbReaderTest, LeavesBytesAfterTheEndForTheCaller) {
  std::string bytes = WriteRdb({{0, "k", RdbValue::String("v"), -1}});
  std::string mark(40, 'f');
  RdbReader reader;
  CountingHandler handler;
  auto progress = reader.Feed(bytes.substr(0, 10), handler);
  ASSERT_TRUE(progress.ok());
  EXPECT_EQ(*progress, RdbReader::Progress::kNeedMore);
  EXPECT_TRUE(reader.Remaining().empty());
  progress = reader.Feed(bytes.substr(10) + mark, handler);
  ASSERT_TRUE(progress.ok());
  EXPECT_EQ(*progress, RdbReader::Progress::kDone);
  EXPECT_EQ(reader.Remaining(), mark);
  EXPECT_EQ(reader.Consumed(), bytes.size());
  EXPECT_THAT(ReadRdb(bytes + mark).status().message(), HasSubstr("Trailing bytes"));
}

TEST(RdbReaderTest, RejectsEveryTruncation) {
  for (const std::string& bytes : {ReadFile(FixturePath("small.rdb")), WriteRdb(SampleEntries())}) {
    ASSERT_TRUE(ReadRdb(bytes).ok());
    size_t stride = bytes.size() > 2000 ? 13 : 1;
    for (size_t len = 0; len < bytes.size(); len += (len + 64 > bytes.size() ? 1 : stride)) {
      absl::StatusOr<RdbFile> file = ReadRdb(absl::string_view(bytes).substr(0, len));
      ASSERT_FALSE(file.ok()) << len;
      EXPECT_EQ(file.status().message(), "Unexpected EOF reading RDB file") << len;
    }
  }
}

TEST(RdbReaderTest, CatchesEveryBitFlip) {
  for (const std::string& bytes :
       {ReadFile(FixturePath("small.rdb")),
        WriteRdb({{0, "k", RdbValue::Hash({{"a", "1"}, {"b", "xyz"}}), 4102444800000}})}) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string bad = bytes;
        bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
        EXPECT_FALSE(ReadRdb(bad).ok()) << "byte " << i << " bit " << bit;
      }
    }
  }
}

TEST(RdbReaderTest, ChecksumMismatchIsNamed) {
  std::string bytes = WriteRdb({{0, "k", RdbValue::String("v"), -1}});
  bytes[bytes.size() - 12] ^= 0x01;  // inside the value "v"
  EXPECT_THAT(ReadRdb(bytes).status().message(), HasSubstr("RDB CRC error"));
}

TEST(RdbReaderTest, AcceptsAZeroChecksum) {
  RdbWriterOptions options;
  options.checksum = false;
  std::string bytes = WriteRdb({{0, "k", RdbValue::String("v"), -1}}, options);
  EXPECT_EQ(bytes.substr(bytes.size() - 8), std::string(8, '\0'));
  absl::StatusOr<RdbFile> file = ReadRdb(bytes);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->entries.size(), 1u);
}

TEST(RdbReaderTest, RejectsBadHeadersAndUnknownTypes) {
  EXPECT_EQ(ReadRdb(Bytes("RADIS0010").Finish()).status().message(),
            "Wrong signature trying to load DB from file");
  EXPECT_EQ(ReadRdb(Bytes("REDIS0011").Finish()).status().message(),
            "Can't handle RDB format version 11");
  EXPECT_EQ(ReadRdb(Bytes("REDIS0000").Finish()).status().message(),
            "Can't handle RDB format version 0");
  std::string unknown = Bytes().Op(0xFE).Len(0).Op(21).Str("k").Str("v").Finish();
  EXPECT_EQ(ReadRdb(unknown).status().message(), "Unknown RDB type 21 at offset 11");
  absl::Status stream =
      ReadRdb(Bytes().Op(19).Str("s").Len(1).Str("short").Str("lp").Finish()).status();
  EXPECT_EQ(stream.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(stream.message(), HasSubstr("Stream node key entry is not the size of a stream ID"));
  absl::Status module = ReadRdb(Bytes().Op(0xF7).Len(1).Finish()).status();
  EXPECT_EQ(module.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(ReadRdb(Bytes().Op(0).Raw("\xc5").Finish()).status().message(),
              HasSubstr("Unknown RDB string encoding type 5"));
}

TEST(RdbReaderTest, RejectsDuplicatesAndNanScores) {
  EXPECT_THAT(ReadRdb(Bytes().Op(2).Str("s").Len(2).Str("a").Str("a").Finish()).status().message(),
              HasSubstr("Duplicate set members detected in key 's'"));
  EXPECT_THAT(ReadRdb(Bytes().Op(4).Str("h").Len(2).Str("f").Str("1").Str("f").Str("2").Finish())
                  .status()
                  .message(),
              HasSubstr("Duplicate hash fields detected"));
  EXPECT_THAT(ReadRdb(Bytes().Op(5).Str("z").Len(1).Str("m").LE(0x7FF8000000000000ULL, 8).Finish())
                  .status()
                  .message(),
              HasSubstr("Zset with NAN score detected"));
  internal::ListpackBuilder lp;
  lp.Append("f");
  std::string odd = lp.Finish();
  EXPECT_FALSE(ReadRdb(Bytes().Op(16).Str("h").Str(odd).Finish()).ok());
}

// Payloads of Redis's integration/corrupt-dump: each refusal names the
// check Redis's rdbLoadObject reports for the encoding.
TEST(DumpPayloadTest, RefusalsNameRedissCheck) {
  auto message = [](absl::string_view payload) {
    return std::string(ParseDumpPayload(payload, false).status().message());
  };
  // A zipmap without entries.
  EXPECT_THAT(
      message(absl::string_view("\x09\x02\x00\xFF\x09\x00\xC0\xF1\xB8\x67\x4C\x16\xAC\xE3", 14)),
      HasSubstr("Zipmap integrity check failed"));
  // A hash listpack with field "a" twice.
  EXPECT_THAT(message(absl::string_view("\x10\x17\x17\x00\x00\x00\x04\x00\x82\x61\x00\x03\x82"
                                        "\x62\x00\x03\x82\x61\x00\x03\x82\x64\x00\x03\xff\x0a"
                                        "\x00\xc0\xcf\xa6\x87\xe5\xa7\xc5\xbe",
                                        35)),
              HasSubstr("Hash listpack integrity check failed: listpack with dup elements"));
  // A stream whose group has consumer "name" twice.
  const absl::string_view consumers(
      "\x0F\x00\x00\x00\x00\x01\x07\x6D\x79\x67\x72\x6F\x75\x70\x00\x00\x00\x02\x04"
      "\x6E\x61\x6D\x65\x2A\x4C\xAA\x9A\x7D\x01\x00\x00\x00\x04\x6E\x61\x6D\x65\x2B"
      "\x4C\xAA\x9A\x7D\x01\x00\x00\x00\x0A\x00\xCC\xED\x8C\xA7\x62\xEE\xC7\xC8",
      56);
  EXPECT_THAT(message(consumers), HasSubstr("Duplicate stream consumer detected"));
}

TEST(DumpPayloadTest, StreamEntriesNeedTheirLpCount) {
  RdbValue v = OneEntryStream();
  std::string payload = DumpPayload(v);
  ASSERT_TRUE(ParseDumpPayload(payload).ok());
  // The entry's lp-count is the listpack's last element, a small integer
  // (one byte, backlen 1) just before the end byte: one more is wrong.
  const size_t at = payload.find("\x01\xff");
  ASSERT_NE(at, std::string::npos);
  ASSERT_GT(at, 0u);
  ++payload[at - 1];
  EXPECT_THAT(std::string(ParseDumpPayload(payload, false).status().message()),
              HasSubstr("Stream listpack integrity check failed: entry lp-count"));
}

TEST(RdbReaderTest, SkipsEmptyKeysAsRedisDoes) {
  std::string bytes = Bytes().Op(18).Str("empty").Len(0).Op(0).Str("k").Str("v").Finish();
  RdbReader reader;
  CountingHandler handler;
  ASSERT_TRUE(reader.Feed(bytes, handler).ok());
  ASSERT_TRUE(reader.Finish().ok());
  EXPECT_EQ(reader.EmptyKeysSkipped(), 1u);
  EXPECT_EQ(handler.empty_keys, std::vector<std::string>{"empty"});
  ASSERT_EQ(handler.entries.size(), 1u);
  EXPECT_EQ(handler.entries[0].key, "k");
}

TEST(RdbReaderTest, HandlerErrorsStopTheReader) {
  class Refusing : public RdbHandler {
    absl::Status OnEntry(RdbEntry) override { return absl::ResourceExhaustedError("full"); }
  } refusing;
  RdbReader reader;
  std::string bytes = WriteRdb(SampleEntries());
  EXPECT_EQ(reader.Feed(bytes.substr(0, 200), refusing).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(reader.Feed(bytes.substr(200), refusing).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(reader.Finish().code(), absl::StatusCode::kResourceExhausted);
}

// Every encoding Redis before 7.0 wrote and 7.0 still loads, in one
// version-9 file, with the old seconds expiry opcode and LRU/LFU hints.
TEST(RdbReaderTest, ReadsLegacyEncodings) {
  Bytes b = testing::LegacyFile();
  absl::StatusOr<RdbFile> file = ReadRdb(b.Finish());
  ASSERT_TRUE(file.ok()) << file.status();
  std::vector<RdbEntry> expected = testing::LegacyEntries();

  EXPECT_EQ(file->entries, expected);
  EXPECT_EQ(file->version, 9);
}

TEST(RdbReaderTest, ReadsOldFilesWithoutChecksum) {
  // Before version 5 the file ends at the EOF opcode.
  std::string bytes = Bytes("REDIS0004").Op(0).Str("k").Str("v").Op(0xFF).str();
  absl::StatusOr<RdbFile> file = ReadRdb(bytes);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->entries.size(), 1u);
}

}  // namespace
}  // namespace shardnode::replication
