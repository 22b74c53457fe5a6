#include "node/server/nodes_conf_file.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

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
  std::set<std::string> Entries() {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.insert(e.path().filename());
    return names;
  }
  static ino_t Inode(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
  }
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
  const std::string content = kId +
                              " 127.0.0.1:7001@17001 myself,master - 0 0 3 connected 0-100\n"
                              "vars currentEpoch 3 lastVoteEpoch 0\n";
  ASSERT_TRUE((*file)->Save(content, true).ok());
  EXPECT_EQ(ReadAll(), content);
  // A shorter save leaves no tail of the longer one.
  const std::string shorter = kId +
                              " 127.0.0.1:7001@17001 myself,master - 0 0 3 connected\n"
                              "vars currentEpoch 3 lastVoteEpoch 0\n";
  ASSERT_TRUE((*file)->Save(shorter, false).ok());
  EXPECT_EQ(ReadAll(), shorter);
  auto state = (*file)->Load({}, 0);
  ASSERT_TRUE(state.ok());
  ASSERT_NE(*state, nullptr);
  EXPECT_EQ((*state)->myself().id, kId);
  EXPECT_EQ((*state)->current_epoch(), 3u);
  // Beside the file only its spare, which goes with the object.
  EXPECT_EQ(Entries(), (std::set<std::string>{"nodes.conf", "nodes.conf.spare"}));
  file->reset();
  EXPECT_EQ(Entries(), std::set<std::string>{"nodes.conf"});
  EXPECT_EQ(ReadAll(), shorter);
}

// Saves swap the file with its spare: after the first save the same two
// inodes take turns at the name, so no save frees (or allocates) an inode,
// and the spare holds the version before.
TEST_F(NodesConfFileTest, SavesSwapTwoKeptInodes) {
  auto file = NodesConfFile::OpenAndLock(path_);
  ASSERT_TRUE(file.ok());
  const std::string spare = (*file)->spare_path();
  EXPECT_EQ(spare, path_ + ".spare");
  const ino_t original = Inode(path_);
  ASSERT_TRUE((*file)->Save("first version\n", false).ok());
  const ino_t first = Inode(path_);
  EXPECT_NE(first, original);
  EXPECT_EQ(Inode(spare), original);
  const std::set<ino_t> pair = {original, first};
  std::string previous = "first version\n";
  for (int i = 0; i < 6; ++i) {
    const std::string content = "version " + std::to_string(i) + std::string(i * 7, 'x') + "\n";
    ASSERT_TRUE((*file)->Save(content, i % 2 == 0).ok());
    EXPECT_EQ(ReadAll(), content);
    EXPECT_EQ((std::set<ino_t>{Inode(path_), Inode(spare)}), pair);
    std::ifstream in(spare, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), previous);
    previous = content;
  }
}

// A spare left by a crashed node (longer, other content) is overwritten: the
// saved file holds exactly the new content.
TEST_F(NodesConfFileTest, StaleSpareIsOverwrittenExactly) {
  std::ofstream(path_ + ".spare", std::ios::binary) << std::string(10000, 'z');
  auto file = NodesConfFile::OpenAndLock(path_);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Save("short\n", false).ok());
  EXPECT_EQ(ReadAll(), "short\n");
}

// A spare removed (taken for a leftover) or replaced while the node runs is
// recreated.
TEST_F(NodesConfFileTest, RemovedSpareIsRecreated) {
  auto file = NodesConfFile::OpenAndLock(path_);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Save("one\n", false).ok());
  ASSERT_EQ(::unlink((path_ + ".spare").c_str()), 0);
  ASSERT_TRUE((*file)->Save("two\n", false).ok());
  EXPECT_EQ(ReadAll(), "two\n");
  // The file at the name is still ours: a second node is refused.
  EXPECT_FALSE(NodesConfFile::OpenAndLock(path_).ok());
  // Another file put at the spare's name is not swapped in as it is.
  const std::string other = dir_ + "/other";
  std::ofstream(other, std::ios::binary) << std::string(500, 'o');
  ASSERT_EQ(::rename(other.c_str(), (path_ + ".spare").c_str()), 0);
  ASSERT_TRUE((*file)->Save("three\n", false).ok());
  EXPECT_EQ(ReadAll(), "three\n");
  ASSERT_TRUE((*file)->Save("four, longer\n", false).ok());
  EXPECT_EQ(ReadAll(), "four, longer\n");
  EXPECT_FALSE(NodesConfFile::OpenAndLock(path_).ok());
}

// A nodes.conf removed while the node runs is written back by the next save.
TEST_F(NodesConfFileTest, RemovedFileIsWrittenBack) {
  auto file = NodesConfFile::OpenAndLock(path_);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Save("one\n", false).ok());
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  ASSERT_TRUE((*file)->Save("two\n", false).ok());
  EXPECT_EQ(ReadAll(), "two\n");
  EXPECT_FALSE(NodesConfFile::OpenAndLock(path_).ok());
}

int NoExchange(const std::string&, const std::string&) { return EINVAL; }

// Where the file system cannot exchange names, saves rename the spare over
// the file (the spare name is then free until the next save), with the same
// content and the lock kept.
TEST_F(NodesConfFileTest, FallsBackToRenameWithoutExchange) {
  auto file = NodesConfFile::OpenAndLock(path_, &NoExchange);
  ASSERT_TRUE(file.ok());
  for (const std::string& content :
       std::vector<std::string>{"a longer first version\n", "second\n", "third\n"}) {
    ASSERT_TRUE((*file)->Save(content, content == "second\n").ok());
    EXPECT_EQ(ReadAll(), content);
    EXPECT_EQ(Entries(), std::set<std::string>{"nodes.conf"});
    EXPECT_FALSE(NodesConfFile::OpenAndLock(path_).ok());
  }
  file->reset();
  EXPECT_TRUE(NodesConfFile::OpenAndLock(path_).ok());
}

// A node killed (SIGKILL) at any point of its saves leaves at the name one
// complete version: a child saves two contents of different lengths in a
// loop and is killed while doing so, many times.
TEST_F(NodesConfFileTest, KilledWhileSavingLeavesACompleteVersion) {
  const std::string a = kId + " 127.0.0.1:7001@17001 myself,master - 0 0 3 connected 0-8191\n" +
                        std::string(3000, '#') + "\nvars currentEpoch 3 lastVoteEpoch 0\n";
  const std::string b = kId +
                        " 127.0.0.1:7001@17001 myself,master - 0 0 4 connected\n"
                        "vars currentEpoch 4 lastVoteEpoch 0\n";
  for (int round = 0; round < 20; ++round) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(ready[0]);
      auto file = NodesConfFile::OpenAndLock(path_);
      if (!file.ok()) ::_exit(2);
      for (long i = 0;; ++i) {
        if (!(*file)->Save(i % 2 ? b : a, false).ok()) ::_exit(3);
        // After some saves, tell the parent to shoot; keep saving.
        if (i == 50 + round * 13) (void)!::write(ready[1], "x", 1);
      }
    }
    ::close(ready[1]);
    char c;
    ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the saving child died early";
    ::close(ready[0]);
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status));
    const std::string got = ReadAll();
    EXPECT_TRUE(got == a || got == b) << "round " << round << ": " << got.size() << " bytes";
    // The next node takes the lock and keeps saving.
    auto next = NodesConfFile::OpenAndLock(path_);
    ASSERT_TRUE(next.ok()) << next.status();
    ASSERT_TRUE((*next)->Save(b, false).ok());
    EXPECT_EQ(ReadAll(), b);
  }
}

TEST_F(NodesConfFileTest, CorruptFileIsReportedAndLeftIdentical) {
  const std::string bad = kId +
                          " 127.0.0.1:7001@17001 myself,master - 0 0 0 connected\n"
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
  // The file that takes the name (the spare) is locked before it does.
  ASSERT_TRUE((*first)->Save("x\n", true).ok());
  EXPECT_FALSE(NodesConfFile::OpenAndLock(path_).ok());
  ASSERT_TRUE((*first)->Save("y\n", false).ok());
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

TEST_F(NodesConfFileTest, DropRecordRoundTripAndRemoval) {
  const std::string rec = DropRecordPath(path_);
  EXPECT_EQ(rec, path_ + ".asm-drop");
  auto none = ReadDropRecord(rec);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->Empty());
  slots::SlotSet s;
  s.SetRange(0, 99);
  s.Set(16383);
  ASSERT_TRUE(WriteDropRecord(rec, s).ok());
  auto back = ReadDropRecord(rec);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == s);
  EXPECT_FALSE(std::filesystem::exists(rec + ".tmp"));
  ASSERT_TRUE(WriteDropRecord(rec, slots::SlotSet()).ok());
  EXPECT_FALSE(std::filesystem::exists(rec));
  std::ofstream(rec) << "0-x\n";
  EXPECT_FALSE(ReadDropRecord(rec).ok());
}

}  // namespace
}  // namespace shardnode::node
