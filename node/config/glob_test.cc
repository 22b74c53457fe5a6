#include "node/config/glob.h"

#include <string>

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

TEST(GlobMatchTest, LiteralsMatchExactly) {
  EXPECT_TRUE(GlobMatch("hello", "hello"));
  EXPECT_FALSE(GlobMatch("hello", "hellO"));
  EXPECT_FALSE(GlobMatch("hello", "hell"));
  EXPECT_FALSE(GlobMatch("hell", "hello"));
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
}

TEST(GlobMatchTest, StarMatchesAnyRun) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("h*o", "hello"));
  EXPECT_TRUE(GlobMatch("h*o", "ho"));
  EXPECT_TRUE(GlobMatch("h*", "h"));
  EXPECT_TRUE(GlobMatch("h**", "h"));
  EXPECT_TRUE(GlobMatch("*llo", "hello"));
  EXPECT_TRUE(GlobMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "axxbyy"));
  EXPECT_FALSE(GlobMatch("*x", "hello"));
  EXPECT_TRUE(GlobMatch("cluster-*", "cluster-node-timeout"));
  EXPECT_FALSE(GlobMatch("cluster-*", "port"));
}

TEST(GlobMatchTest, QuestionMarkMatchesOneByte) {
  EXPECT_TRUE(GlobMatch("h?llo", "hello"));
  EXPECT_TRUE(GlobMatch("h?llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h?llo", "hllo"));
  EXPECT_FALSE(GlobMatch("?", ""));
}

TEST(GlobMatchTest, SetsRangesAndNegation) {
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[ae]llo", "hillo"));
  EXPECT_TRUE(GlobMatch("h[^e]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[a-e]llo", "hbllo"));
  EXPECT_FALSE(GlobMatch("h[a-e]llo", "hfllo"));
  // Reversed ranges are swapped.
  EXPECT_TRUE(GlobMatch("[e-a]", "c"));
  EXPECT_TRUE(GlobMatch("[b-a]", "a"));
  // A '-' at the edge is a literal (or, as in Redis, "b-]" is a range to ']').
  EXPECT_TRUE(GlobMatch("a[-b]", "a-"));
  EXPECT_TRUE(GlobMatch("a[-b]", "ab"));
  EXPECT_TRUE(GlobMatch("a[b-]", "a]"));
  EXPECT_FALSE(GlobMatch("a[b-]", "a-"));
  // An empty set matches nothing; the following ']' is then a literal.
  EXPECT_FALSE(GlobMatch("a[]]", "a]"));
}

TEST(GlobMatchTest, UnterminatedSetRunsToPatternEnd) {
  EXPECT_FALSE(GlobMatch("a[", "a"));
  EXPECT_FALSE(GlobMatch("a[", "ab"));
  EXPECT_TRUE(GlobMatch("a[^", "ab"));
  EXPECT_TRUE(GlobMatch("a[^", "a]"));
  EXPECT_TRUE(GlobMatch("h[e", "he"));
  EXPECT_FALSE(GlobMatch("h[e", "hello"));
}

TEST(GlobMatchTest, BackslashEscapes) {
  EXPECT_TRUE(GlobMatch("abc\\*", "abc*"));
  EXPECT_FALSE(GlobMatch("abc\\*", "abcd"));
  EXPECT_TRUE(GlobMatch("h\\[llo", "h[llo"));
  EXPECT_TRUE(GlobMatch("\\?", "?"));
  EXPECT_FALSE(GlobMatch("\\?", "a"));
  EXPECT_TRUE(GlobMatch("[\\]]", "]"));
  EXPECT_TRUE(GlobMatch("[\\-]", "-"));
  // A trailing backslash is a literal backslash.
  EXPECT_TRUE(GlobMatch("a\\", "a\\"));
}

TEST(GlobMatchTest, NoCaseFoldsAscii) {
  EXPECT_TRUE(GlobMatch("HELLO", "hello", true));
  EXPECT_TRUE(GlobMatch("h[A-E]llo", "hcllo", true));
  EXPECT_TRUE(GlobMatch("h[ae]llo", "HALLO", true));
  EXPECT_TRUE(GlobMatch("Port", "port", true));
  EXPECT_FALSE(GlobMatch("Port", "port", false));
  // Escaped set members compare exactly, as in Redis.
  EXPECT_FALSE(GlobMatch("[\\A]", "a", true));
}

TEST(GlobMatchTest, BinarySafe) {
  std::string str("a\0b", 3);
  std::string pat("a\0*", 3);
  EXPECT_TRUE(GlobMatch(pat, str));
  EXPECT_TRUE(GlobMatch("a?b", str));
  EXPECT_FALSE(GlobMatch("ab", str));
}

TEST(GlobMatchTest, PathologicalPatternIsFast) {
  std::string str(4000, 'a');
  std::string pat;
  for (int i = 0; i < 30; ++i) pat += "a*";
  pat += "b";
  EXPECT_FALSE(GlobMatch(pat, str));
  EXPECT_TRUE(GlobMatch(pat.substr(0, pat.size() - 1), str));
}

}  // namespace
}  // namespace shardnode::node
