#include "node/server/nodes_conf_file.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

namespace fs = std::filesystem;

const std::string kId = "1c7cc539c6dbd021195472cbe7c48b06bf3992f2";

class NodesConfFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nodesconf_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/nodes.conf";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string ReadAll() {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void WriteAll(const std::string& s) { std::ofstream(path_, std::ios::binary) << s; }
  std::string dir_;
  std::string path_;
};

TEST_F(NodesConfFileTest, MissingFileMeansNoConfig) {
  auto file = NodesConfFile::OpenAndLock(path_);
  ASSERT_TRUE(file.ok()) << file.status();
  auto state = (*file)->Load({}, 0);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, nullptr);
}

TEST_F(NodesConfFileTest, SaveThenLoadRoundTrip) {
  auto file = NodesConfFile::OpenAndLock(path_);
  ASSERT_TRUE(file.ok());
  const std::string content =
      kId + " 127.0.0.1:7001@17001 myself,master - 0 0 3 connected 0-100\n"
            "vars currentEpoch 3 lastVoteEpoch 0\n";
  ASSERT_TRUE((*file)->Save(content, true).ok());
  EXPECT_EQ(ReadAll(), content);
  // A shorter save leaves no tail of the longer one.
  const std::string shorter =
      kId + " 127.0.0.1:7001@17001 myself,master - 0 0 3 connected\n"
            "vars currentEpoch 3 lastVoteEpoch 0\n";
  ASSERT_TRUE((*file)->Save(shorter, false).ok());
  EXPECT_EQ(ReadAll(), shorter);
  auto state = (*file)->Load({}, 0);
  ASSERT_TRUE(state.ok());
  ASSERT_NE(*state, nullptr);
  EXPECT_EQ((*state)->myself().id, kId);
  EXPECT_EQ((*state)->current_epoch(), 3u);
  // No temporary files left behind.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(NodesConfFileTest, CorruptFileIsReportedAndLeftIdentical) {
  const std::string bad = kId + " 127.0.0.1:7001@17001 myself,master - 0 0 0 connected\n"
                                "garbage line here\n";
  WriteAll(bad);
  auto file = NodesConfFile::OpenAndLock(path_);
  ASSERT_TRUE(file.ok());
  auto state = (*file)->Load({}, 0);
  ASSERT_FALSE(state.ok());
  std::string msg(state.status().message());
  EXPECT_NE(msg.find("corrupted cluster config file " + path_ + ": line 2"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("garbage line here"), std::string::npos) << msg;
  file->reset();
  EXPECT_EQ(ReadAll(), bad);
}

TEST_F(NodesConfFileTest, SecondLockerIsRefusedEvenAfterSave) {
  auto first = NodesConfFile::OpenAndLock(path_);
  ASSERT_TRUE(first.ok());
  auto second = NodesConfFile::OpenAndLock(path_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            "Sorry, the cluster configuration file " + path_ +
                " is already used by a different Redis Cluster node. Please make sure that "
                "different nodes use different cluster configuration files.");
  // The rename moves the lock to the new inode with the name.
  ASSERT_TRUE((*first)->Save("x\n", true).ok());
  EXPECT_FALSE(NodesConfFile::OpenAndLock(path_).ok());
  first->reset();
  EXPECT_TRUE(NodesConfFile::OpenAndLock(path_).ok());
}

TEST_F(NodesConfFileTest, UnopenableDirectory) {
  auto file = NodesConfFile::OpenAndLock(dir_ + "/missing/nodes.conf");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(std::string(file.status().message()).find("in order to acquire a lock"),
            std::string::npos);
}

}  // namespace
}  // namespace shardnode::node
