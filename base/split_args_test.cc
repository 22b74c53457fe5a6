#include "base/split_args.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shardnode::base {
namespace {

using Args = std::vector<std::string>;

TEST(SplitArgsTest, BlanksSeparate) {
  EXPECT_EQ(SplitArgs("  set  k\tv \r\n"), (Args{"set", "k", "v"}));
  EXPECT_EQ(SplitArgs(""), Args{});
  EXPECT_EQ(SplitArgs(" \v\f "), Args{});
}

TEST(SplitArgsTest, QuotesAndEscapes) {
  EXPECT_EQ(SplitArgs(R"("a b" 'c d' "\x41\n\t\r\b\a\"\\\q" 'it\'s' "")"),
            (Args{"a b", "c d", "A\n\t\r\b\a\"\\q", "it's", ""}));
  // \x needs two hex digits; otherwise the 'x' is taken literally.
  EXPECT_EQ(SplitArgs(R"("\x4g")"), (Args{"x4g"}));
  // Quotes may open inside a word.
  EXPECT_EQ(SplitArgs(R"(ab"c d"e)"), std::nullopt);
  EXPECT_EQ(SplitArgs(R"(ab"c d")"), (Args{"abc d"}));
}

TEST(SplitArgsTest, RefusesUnbalancedQuotesAndTrailingBytes) {
  EXPECT_EQ(SplitArgs(R"("abc)"), std::nullopt);
  EXPECT_EQ(SplitArgs("'abc"), std::nullopt);
  EXPECT_EQ(SplitArgs(R"("abc"d)"), std::nullopt);
  EXPECT_EQ(SplitArgs("'abc'd"), std::nullopt);
  EXPECT_EQ(SplitArgs(R"("abc\)"), std::nullopt);
}

// Redis splits a C string: the first NUL byte ends the line.
TEST(SplitArgsTest, LineEndsAtNul) {
  EXPECT_EQ(SplitArgs(std::string_view("a b\0c d", 7)), (Args{"a", "b"}));
  EXPECT_EQ(SplitArgs(std::string_view("\"a\0\"", 4)), std::nullopt);
  EXPECT_EQ(SplitArgs(std::string_view("\0a", 2)), Args{});
}

TEST(SplitArgsTest, CallerProvidesStorage) {
  std::vector<std::string> slots(3, "stale");
  size_t n = 0;
  ASSERT_TRUE(SplitArgs("x yy", [&] {
    std::string* s = &slots[n++];
    s->clear();
    return s;
  }));
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(slots, (Args{"x", "yy", "stale"}));
}

}  // namespace
}  // namespace shardnode::base
