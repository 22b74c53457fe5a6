#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace shardnode::base {
namespace {

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/base_file_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    ::unlink((dir_ + "/f").c_str());
    ::unlink((dir_ + "/f.tmp").c_str());
    ::rmdir((dir_ + "/sub").c_str());
    ::rmdir(dir_.c_str());
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }
  int WriteTmp(std::string_view content) {
    const int fd = ::open(tmp().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(WriteAll(fd, content), 0);
    return fd;
  }
  std::string final_path() const { return dir_ + "/f"; }
  std::string tmp() const { return dir_ + "/f.tmp"; }
  std::string dir_;
};

TEST(FilePathTest, DirOf) {
  EXPECT_EQ(DirOf("nodes.conf"), ".");
  EXPECT_EQ(DirOf("/nodes.conf"), "/");
  EXPECT_EQ(DirOf("/var/lib/redis/dump.rdb"), "/var/lib/redis");
  EXPECT_EQ(DirOf("a/b"), "a");
}

TEST_F(FileTest, CommitReplaceReplacesTheOldContent) {
  { std::ofstream(final_path()) << "old"; }
  const int fd = WriteTmp("new content");
  int seen_fd = -1;
  ReplaceResult r = CommitReplace(fd, tmp(), final_path(), [&](int f) {
    seen_fd = f;
    return 0;
  });
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.renamed());
  EXPECT_EQ(seen_fd, fd);
  EXPECT_EQ(Read(final_path()), "new content");
  EXPECT_FALSE(Exists(tmp()));
  // The descriptor stays the caller's: still open, now naming the new file.
  EXPECT_EQ(::fcntl(fd, F_GETFD), FD_CLOEXEC);
  ::close(fd);
}

TEST_F(FileTest, FailedHookKeepsTheOldFileAndRemovesTheTemp) {
  { std::ofstream(final_path()) << "old"; }
  const int fd = WriteTmp("new");
  ReplaceResult r = CommitReplace(fd, tmp(), final_path(), [](int) { return EPERM; });
  ::close(fd);
  EXPECT_EQ(r.failed, ReplaceStep::kBeforeRename);
  EXPECT_EQ(r.err, EPERM);
  EXPECT_FALSE(r.renamed());
  EXPECT_EQ(Read(final_path()), "old");
  EXPECT_FALSE(Exists(tmp()));
}

TEST_F(FileTest, FailedRenameNamesTheStep) {
  ASSERT_EQ(::mkdir((dir_ + "/sub").c_str(), 0700), 0);
  const int fd = WriteTmp("new");
  // A file cannot be renamed over a directory.
  ReplaceResult r = CommitReplace(fd, tmp(), dir_ + "/sub");
  ::close(fd);
  EXPECT_EQ(r.failed, ReplaceStep::kRename);
  EXPECT_EQ(r.err, EISDIR);
  EXPECT_FALSE(Exists(tmp()));
}

TEST_F(FileTest, FsyncDirOfReportsAMissingDirectory) {
  EXPECT_EQ(FsyncDirOf(final_path()), 0);
  EXPECT_EQ(FsyncDirOf(dir_ + "/missing/f"), ENOENT);
}

TEST_F(FileTest, WriteAllReportsErrno) {
  const int fd = ::open(final_path().c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(WriteAll(fd, "x"), EBADF);
  EXPECT_EQ(WriteAll(fd, ""), 0);
  ::close(fd);
}

}  // namespace
}  // namespace shardnode::base
