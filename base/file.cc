#include "base/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace shardnode::base {

int WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

std::string DirOf(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

int FsyncDirOf(std::string_view path) {
  const std::string dir = DirOf(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return errno;
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  return rc == 0 ? 0 : err;
}

ReplaceResult CommitReplace(int fd, const std::string& tmp_path, const std::string& final_path,
                            const std::function<int(int fd)>& before_rename, bool sync_dir,
                            bool sync_file) {
  auto fail = [&](ReplaceStep step, int err) {
    ::unlink(tmp_path.c_str());
    return ReplaceResult{step, err};
  };
  if (sync_file && ::fsync(fd) != 0) return fail(ReplaceStep::kFsync, errno);
  if (before_rename) {
    if (const int err = before_rename(fd); err != 0) return fail(ReplaceStep::kBeforeRename, err);
  }
  if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) return fail(ReplaceStep::kRename, errno);
  if (sync_dir) {
    if (const int err = FsyncDirOf(final_path); err != 0) {
      return ReplaceResult{ReplaceStep::kFsyncDir, err};
    }
  }
  return {};
}

}  // namespace shardnode::base
