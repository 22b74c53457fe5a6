#include "replication/lzf.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace shardnode::replication {
namespace {

std::string RoundTrip(const std::string& in) {
  std::string packed, unpacked;
  EXPECT_TRUE(LzfCompress(in, in.size() + in.size() / 16 + 64, &packed));
  absl::Status s = LzfDecompress(packed, in.size(), &unpacked);
  EXPECT_TRUE(s.ok()) << s;
  return unpacked;
}

TEST(LzfTest, RoundTripsAssortedInputs) {
  std::mt19937 rng(7);
  std::vector<std::string> inputs = {"", "a", "abc", std::string(1000, 'x'),
                                     "abcabcabcabcabcabcabcabcabcabc"};
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "element number " + std::to_string(i % 300) + ";";
  inputs.push_back(text);
  std::string noise(20000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  inputs.push_back(noise);
  // Matches far apart (beyond the 8 KiB window) and long runs (> 264).
  inputs.push_back(noise.substr(0, 9000) + noise.substr(0, 9000) + std::string(5000, 'q'));
  for (const auto& in : inputs) EXPECT_EQ(RoundTrip(in), in) << in.size();
}

TEST(LzfTest, CompressesRepetitiveData) {
  std::string in(10000, 'z');
  std::string packed;
  ASSERT_TRUE(LzfCompress(in, in.size(), &packed));
  EXPECT_LT(packed.size(), 200u);
}

TEST(LzfTest, RefusesWhenTheOutputWouldNotFit) {
  std::string in = "Kq8#zP!w@4mX^rT7&vB2*nL9$cF5%hJ";  // nothing repeats
  std::string packed;
  EXPECT_FALSE(LzfCompress(in, in.size() - 4, &packed));
}

TEST(LzfTest, DecodesAHandWrittenStream) {
  // Literal "ab", then a reference of length 4 at distance 2 -> "ababab".
  const std::string in(
      "\x01"
      "ab"
      "\x40\x01",
      5);
  std::string out;
  ASSERT_TRUE(LzfDecompress(in, 6, &out).ok());
  EXPECT_EQ(out, "ababab");
}

TEST(LzfTest, RejectsMalformedStreams) {
  std::string out;
  // Reference before the start of the output.
  EXPECT_FALSE(LzfDecompress(std::string("\x00"
                                         "a"
                                         "\x20\x05",
                                         4),
                             4, &out)
                   .ok());
  // Literal run longer than the input.
  EXPECT_FALSE(LzfDecompress(std::string("\x05"
                                         "ab",
                                         3),
                             6, &out)
                   .ok());
  // Reference missing its offset byte.
  EXPECT_FALSE(LzfDecompress(std::string("\x01"
                                         "ab"
                                         "\x40",
                                         4),
                             6, &out)
                   .ok());
  // Output shorter or longer than declared.
  EXPECT_FALSE(LzfDecompress(std::string("\x01"
                                         "ab",
                                         3),
                             3, &out)
                   .ok());
  EXPECT_FALSE(LzfDecompress(std::string("\x01"
                                         "ab",
                                         3),
                             1, &out)
                   .ok());
  // A length no input of this size can produce is refused before allocating.
  EXPECT_FALSE(LzfDecompress(std::string("\x01"
                                         "ab",
                                         3),
                             size_t{1} << 40, &out)
                   .ok());
}

}  // namespace
}  // namespace shardnode::replication
