#include "base/strings.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace shardnode::base {
namespace {

TEST(StringsTest, ParseStrictInt64AcceptsCanonicalDecimals) {
  int64_t v = 7;
  EXPECT_TRUE(ParseStrictInt64("0", &v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(ParseStrictInt64("-12", &v));
  EXPECT_EQ(v, -12);
  EXPECT_TRUE(ParseStrictInt64("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_TRUE(ParseStrictInt64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
}

// What Redis's string2ll refuses: the same inputs every former copy refused
// (config values, RESP lengths, keyspace integer encoding, RDB encodings,
// cluster slot arguments).
TEST(StringsTest, ParseStrictInt64RefusesWhatString2llRefuses) {
  int64_t v = 7;
  for (const char* s : {"", "-", "+1", " 1", "1 ", "01", "-0", "00", "-01", "1a", "0x10", "1.0",
                        "9223372036854775808", "-9223372036854775809", "18446744073709551616",
                        "99999999999999999999", "123456789012345678901"}) {
    EXPECT_FALSE(ParseStrictInt64(s, &v)) << "'" << s << "'";
  }
  EXPECT_EQ(v, 7);  // untouched on failure
  EXPECT_FALSE(ParseStrictInt64(std::string("1\0", 2), &v));
}

TEST(StringsTest, EqualsIgnoreCaseFoldsAsciiOnly) {
  EXPECT_TRUE(EqualsIgnoreCase("NoDe", "node"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("node", "nodes"));
  EXPECT_FALSE(EqualsIgnoreCase("\xC3\x89", "\xC3\xA9"));  // É vs é: bytes differ
}

TEST(StringsTest, AsciiLowerAndViews) {
  EXPECT_EQ(AsciiLower("MaxMemory-Policy"), "maxmemory-policy");
  std::string_view s = "abc";
  absl::string_view a = ToAbsl(s);
  EXPECT_EQ(a.data(), s.data());
  EXPECT_EQ(ToStd(a), s);
}

TEST(ReprTest, EscapesAsRedisSdscatrepr) {
  EXPECT_EQ(Repr("plain text"), "\"plain text\"");
  EXPECT_EQ(Repr(std::string_view("a\"b\\c\n\r\t\a\b\x01\x7f\xff", 13)),
            "\"a\\\"b\\\\c\\n\\r\\t\\a\\b\\x01\\x7f\\xff\"");
  std::string out = "x ";
  AppendRepr(out, "");
  EXPECT_EQ(out, "x \"\"");
}

}  // namespace
}  // namespace shardnode::base
