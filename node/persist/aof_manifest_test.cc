#include "node/persist/aof_manifest.h"

#include <gtest/gtest.h>

#include <string>

#include "node/persist/aof_reader.h"

namespace shardnode::node::persist {
namespace {

std::string ErrorOf(std::string_view text, int* line = nullptr) {
  AofManifestError err;
  auto m = ParseAofManifest(text, &err);
  EXPECT_FALSE(m.has_value()) << text;
  if (line != nullptr) *line = err.line;
  return err.message;
}

TEST(AofManifest, ParsesWhatRedisWrites) {
  AofManifestError err;
  auto m = ParseAofManifest(
      "file appendonly.aof.2.base.rdb seq 2 type b\n"
      "file appendonly.aof.1.incr.aof seq 1 type h\n"
      "file appendonly.aof.2.incr.aof seq 2 type i\n"
      "file appendonly.aof.5.incr.aof seq 5 type i\n",
      &err);
  ASSERT_TRUE(m.has_value()) << err.message;
  ASSERT_TRUE(m->base.has_value());
  EXPECT_EQ(m->base->name, "appendonly.aof.2.base.rdb");
  EXPECT_EQ(m->base_seq, 2);
  ASSERT_EQ(m->history.size(), 1u);
  EXPECT_EQ(m->history[0].type, AofFileType::kHistory);
  ASSERT_EQ(m->incr.size(), 2u);
  EXPECT_EQ(m->incr_seq, 5);
  EXPECT_EQ(m->Serialize(),
            "file appendonly.aof.2.base.rdb seq 2 type b\n"
            "file appendonly.aof.1.incr.aof seq 1 type h\n"
            "file appendonly.aof.2.incr.aof seq 2 type i\n"
            "file appendonly.aof.5.incr.aof seq 5 type i\n");
}

TEST(AofManifest, AcceptsCommentsCaseExtraPairsAndBlanks) {
  AofManifestError err;
  auto m = ParseAofManifest(
      "# a comment\n"
      "  FILE appendonly.aof.1.base.aof SEQ 1 Type b newkey newvalue\r\n"
      "\tfile appendonly.aof.1.incr.aof seq 1 type i  \n",
      &err);
  ASSERT_TRUE(m.has_value()) << err.message;
  EXPECT_EQ(m->base->name, "appendonly.aof.1.base.aof");
  EXPECT_EQ(m->incr.size(), 1u);
}

TEST(AofManifest, RejectsEveryMalformedLine) {
  int line = 0;
  EXPECT_EQ(ErrorOf(""), "Found an empty AOF manifest");
  EXPECT_EQ(ErrorOf("file a seq 1 type b\n\n", &line), "Invalid AOF manifest file format");
  EXPECT_EQ(line, 2);
  EXPECT_EQ(ErrorOf("   \n"), "Invalid AOF manifest file format");
  EXPECT_EQ(ErrorOf("file a seq 1 type\n"), "Invalid AOF manifest file format");
  EXPECT_EQ(ErrorOf("file a seq 1 type b x\n"), "Invalid AOF manifest file format");
  EXPECT_EQ(ErrorOf("file a seq 1\n"), "Invalid AOF manifest file format");
  EXPECT_EQ(ErrorOf("file \"a seq 1 type b\n"), "Invalid AOF manifest file format");
  EXPECT_EQ(ErrorOf("file a seq 0 type b\n"), "Invalid AOF manifest file format");
  EXPECT_EQ(ErrorOf("file a seq x type b\n"), "Invalid AOF manifest file format");
  EXPECT_EQ(ErrorOf("file a seq 1 type \"\"\n"), "Invalid AOF manifest file format");
  EXPECT_EQ(ErrorOf("name a seq 1 type b\n"), "Invalid AOF manifest file format");
  EXPECT_EQ(ErrorOf("file dir/a seq 1 type b\n"), "File can't be a path, just a filename");
  EXPECT_EQ(ErrorOf("file dir\\\\a seq 1 type b\n"), "File can't be a path, just a filename");
  EXPECT_EQ(ErrorOf("file a seq 1 type b\nfile b seq 2 type b\n", &line),
            "Found duplicate base file information");
  EXPECT_EQ(line, 2);
  EXPECT_EQ(ErrorOf("file a seq 2 type i\nfile b seq 2 type i\n"),
            "Found a non-monotonic sequence number");
  EXPECT_EQ(ErrorOf("file a seq 3 type i\nfile b seq 1 type i\n"),
            "Found a non-monotonic sequence number");
  EXPECT_EQ(ErrorOf("file a seq 1 type x\n"), "Unknown AOF file type");
  // No newline at the end of the last line reads as a too long line.
  EXPECT_EQ(ErrorOf("file a seq 1 type b"), "The AOF manifest file contains too long line");
  EXPECT_EQ(ErrorOf("file " + std::string(1100, 'a') + " seq 1 type b\n"),
            "The AOF manifest file contains too long line");
}

TEST(AofManifest, GapsAreFineAndCommentOnlyHasNoData) {
  AofManifestError err;
  auto m = ParseAofManifest("file a seq 1 type i\nfile b seq 7 type i\n", &err);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->incr_seq, 7);
  auto c = ParseAofManifest("# nothing\n", &err);
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->NoData());
}

TEST(AofManifest, QuotesNamesThatNeedIt) {
  AofManifest m;
  m.NewBase(" file seq \n\n.aof ", true);
  EXPECT_EQ(m.Serialize(), "file \" file seq \\n\\n.aof .1.base.rdb\" seq 1 type b\n");
  AofManifestError err;
  auto back = ParseAofManifest(m.Serialize(), &err);
  ASSERT_TRUE(back.has_value()) << err.message;
  EXPECT_EQ(back->base->name, " file seq \n\n.aof .1.base.rdb");
}

// A single quote anywhere in a name opens a quoted part when the line is
// split, so the name is quoted whole (Redis 7.0.15 writes it bare and then
// refuses its own manifest; found by aof_fuzz).
TEST(AofManifest, QuotesNamesWithASingleQuote) {
  AofManifest m;
  m.NewBase("it's.aof", true);
  m.NewIncr("it's.aof");
  EXPECT_EQ(m.Serialize(),
            "file \"it's.aof.1.base.rdb\" seq 1 type b\n"
            "file \"it's.aof.1.incr.aof\" seq 1 type i\n");
  AofManifestError err;
  auto back = ParseAofManifest(m.Serialize(), &err);
  ASSERT_TRUE(back.has_value()) << err.message;
  EXPECT_EQ(back->base->name, "it's.aof.1.base.rdb");
  EXPECT_EQ(back->Serialize(), m.Serialize());

  // An empty name read from "" is written as "" again.
  auto empty = ParseAofManifest("file \"\" seq 3 type h\n", &err);
  ASSERT_TRUE(empty.has_value()) << err.message;
  EXPECT_EQ(empty->Serialize(), "file \"\" seq 3 type h\n");
}

TEST(AofManifest, RewriteMovesFilesAsRedis) {
  AofManifest m;
  EXPECT_EQ(m.NewBase("appendonly.aof", true), "appendonly.aof.1.base.rdb");
  EXPECT_EQ(m.LastOrNewIncr("appendonly.aof"), "appendonly.aof.1.incr.aof");
  EXPECT_EQ(m.LastOrNewIncr("appendonly.aof"), "appendonly.aof.1.incr.aof");
  // Three failed rewrites, each opening an incr file, then a success.
  m.NewIncr("appendonly.aof");
  m.NewIncr("appendonly.aof");
  m.NewIncr("appendonly.aof");
  m.NewIncr("appendonly.aof");
  EXPECT_EQ(m.NewBase("appendonly.aof", false), "appendonly.aof.2.base.aof");
  m.MarkIncrAsHistory(/*keep_last=*/true);
  EXPECT_EQ(m.Serialize(),
            "file appendonly.aof.2.base.aof seq 2 type b\n"
            "file appendonly.aof.1.incr.aof seq 1 type h\n"
            "file appendonly.aof.2.incr.aof seq 2 type h\n"
            "file appendonly.aof.3.incr.aof seq 3 type h\n"
            "file appendonly.aof.4.incr.aof seq 4 type h\n"
            "file appendonly.aof.1.base.rdb seq 1 type h\n"
            "file appendonly.aof.5.incr.aof seq 5 type i\n");
  m.MarkIncrAsHistory(/*keep_last=*/false);
  EXPECT_TRUE(m.incr.empty());
  EXPECT_EQ(m.history.front().name, "appendonly.aof.5.incr.aof");
}

TEST(AofManifest, Names) {
  EXPECT_EQ(AofManifestFileName("appendonly.aof"), "appendonly.aof.manifest");
  EXPECT_EQ(AofTempManifestFileName("appendonly.aof"), "temp-appendonly.aof.manifest");
  EXPECT_EQ(AofTempIncrFileName("appendonly.aof"), "temp-appendonly.aof.incr");
  EXPECT_EQ(AofIncrFileName("x", 3), "x.3.incr.aof");
  EXPECT_EQ(AofBaseFileName("x", 3, false), "x.3.base.aof");
}

// --- record reader ---

const std::string kSet = "*3\r\n$3\r\nset\r\n$3\r\nfoo\r\n$5\r\nhello\r\n";

TEST(AofRecord, ReadsCommandsAndAnnotations) {
  std::vector<std::string> args;
  size_t consumed = 0;
  std::string_view note;
  const std::string data = "#TS:1700000000\r\n" + kSet;
  ASSERT_EQ(ReadAofRecord(data, true, &args, &consumed, &note), AofRecordStatus::kAnnotation);
  EXPECT_EQ(note, "#TS:1700000000\r");
  EXPECT_EQ(consumed, 16u);
  ASSERT_EQ(ReadAofRecord(std::string_view(data).substr(consumed), true, &args, &consumed),
            AofRecordStatus::kCommand);
  EXPECT_EQ(args, (std::vector<std::string>{"set", "foo", "hello"}));
  EXPECT_EQ(consumed, kSet.size());
  EXPECT_EQ(ReadAofRecord("", true, &args, &consumed), AofRecordStatus::kEnd);
  EXPECT_EQ(ReadAofRecord("", false, &args, &consumed), AofRecordStatus::kNeedMore);
}

TEST(AofRecord, EveryTruncationPointIsTruncatedNeverACommand) {
  std::vector<std::string> args;
  size_t consumed = 0;
  for (size_t cut = 1; cut < kSet.size(); ++cut) {
    const std::string_view part = std::string_view(kSet).substr(0, cut);
    EXPECT_EQ(ReadAofRecord(part, false, &args, &consumed), AofRecordStatus::kNeedMore) << cut;
    const AofRecordStatus at_eof = ReadAofRecord(part, true, &args, &consumed);
    EXPECT_EQ(at_eof, AofRecordStatus::kTruncated) << cut;
  }
}

TEST(AofRecord, FormatErrors) {
  std::vector<std::string> args;
  size_t consumed = 0;
  EXPECT_EQ(ReadAofRecord("!!!\r\n", true, &args, &consumed), AofRecordStatus::kFormatError);
  EXPECT_EQ(ReadAofRecord("*0\r\n", true, &args, &consumed), AofRecordStatus::kFormatError);
  EXPECT_EQ(ReadAofRecord("*\r\n", true, &args, &consumed), AofRecordStatus::kFormatError);
  EXPECT_EQ(ReadAofRecord("*1\r\n+3\r\nfoo\r\n", true, &args, &consumed),
            AofRecordStatus::kFormatError);
  EXPECT_EQ(ReadAofRecord("*1\r\n$-1\r\n", true, &args, &consumed), AofRecordStatus::kFormatError);
  // The two bytes after an argument are not checked, as in Redis.
  EXPECT_EQ(ReadAofRecord("*1\r\n$4\r\nping!!", true, &args, &consumed), AofRecordStatus::kCommand);
}

}  // namespace
}  // namespace shardnode::node::persist
