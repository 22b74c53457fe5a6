#include "node/server/log.h"

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
    path_ = std::filesystem::temp_directory_path() /
            ("shardnode_log_test_" + std::to_string(getpid()) + ".log");
    std::filesystem::remove(path_);
  }
  void TearDown() override {
    LogInit(LogLevel::kNotice, "");
    SetLogRole('M');
    std::filesystem::remove(path_);
  }
  std::string ReadLog() {
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::filesystem::path path_;
};

TEST_F(LogTest, FormatsLikeRedis) {
  // 2024-03-05 10:11:12.045 UTC
  const int64_t ms = 1709633472045;
  EXPECT_EQ(FormatLogLine(4242, 'M', LogLevel::kNotice, ms, "Ready to accept connections"),
            "4242:M 05 Mar 2024 10:11:12.045 * Ready to accept connections\n");
  EXPECT_EQ(FormatLogLine(7, 'S', LogLevel::kWarning, ms, "w"),
            "7:S 05 Mar 2024 10:11:12.045 # w\n");
  EXPECT_EQ(FormatLogLine(7, 'C', LogLevel::kVerbose, ms, "v"),
            "7:C 05 Mar 2024 10:11:12.045 - v\n");
  EXPECT_EQ(FormatLogLine(7, 'X', LogLevel::kDebug, ms, "d"), "7:X 05 Mar 2024 10:11:12.045 . d\n");
}

TEST_F(LogTest, CutsLongMessagesAt1023Bytes) {
  std::string line = FormatLogLine(1, 'M', LogLevel::kNotice, 0, std::string(5000, 'x'));
  EXPECT_EQ(line.size(), std::string("1:M 01 Jan 1970 00:00:00.000 * ").size() + 1023 + 1);
}

TEST_F(LogTest, WritesFilteredLinesToTheFile) {
  ASSERT_TRUE(LogInit(LogLevel::kNotice, path_.string()));
  SetLogRole('S');
  Log(LogLevel::kVerbose, "hidden");
  Log(LogLevel::kNotice, "shown");
  Logf(LogLevel::kWarning, "port %d, mode=%s", 7000, "cluster");
  SetLogLevel(LogLevel::kDebug);
  Log(LogLevel::kDebug, "now shown");
  SetLogLevel(LogLevel::kNothing);
  Log(LogLevel::kWarning, "never");
  LogRaw(LogLevel::kWarning, "never raw");

  std::string text = ReadLog();
  std::regex line_re(R"((\d+):S \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} ([.\-*#]) (.*))");
  std::vector<std::string> levels, messages;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(l, m, line_re)) << l;
    EXPECT_EQ(m[1].str(), std::to_string(getpid()));
    levels.push_back(m[2].str());
    messages.push_back(m[3].str());
  }
  EXPECT_EQ(levels, (std::vector<std::string>{"*", "#", "."}));
  EXPECT_EQ(messages, (std::vector<std::string>{"shown", "port 7000, mode=cluster", "now shown"}));
}

TEST_F(LogTest, RawTextHasNoPrefix) {
  ASSERT_TRUE(LogInit(LogLevel::kNotice, path_.string()));
  LogRaw(LogLevel::kNotice, "  PID: 123\n");
  EXPECT_EQ(ReadLog(), "  PID: 123\n");
}

TEST_F(LogTest, UnopenableFileFailsAndKeepsOldDestination) {
  ASSERT_TRUE(LogInit(LogLevel::kNotice, path_.string()));
  EXPECT_FALSE(LogInit(LogLevel::kNotice, "/nonexistent-dir/x/log.txt"));
  Log(LogLevel::kNotice, "still here");
  EXPECT_NE(ReadLog().find("still here"), std::string::npos);
}

TEST_F(LogTest, ConcurrentLinesStayWhole) {
  ASSERT_TRUE(LogInit(LogLevel::kNotice, path_.string()));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 100; ++i) Logf(LogLevel::kNotice, "thread %d line %d end", t, i);
    });
  }
  for (auto& th : threads) th.join();
  std::istringstream lines(ReadLog());
  int count = 0;
  std::regex re(R"(.* \* thread \d line \d+ end)");
  for (std::string l; std::getline(lines, l); ++count) EXPECT_TRUE(std::regex_match(l, re)) << l;
  EXPECT_EQ(count, 400);
}

}  // namespace
}  // namespace shardnode::node
