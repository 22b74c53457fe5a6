#include "node/server/nodes_conf_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "clusterbus/nodes_conf.h"

namespace shardnode::node {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

int LockOrErrno(int fd) { return ::flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno; }

// Makes the file behind `fd`, which holds `old_size` bytes, hold exactly
// `content`: written from offset 0 over what it held, then cut to length
// when shorter. Returns 0 or an errno. Overwriting in place (rather than
// truncating first) frees no blocks, and a truncation (a journaled inode
// change on ext4) happens only when the content shrinks.
int OverwriteWhole(int fd, std::string_view content, off_t old_size) {
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n =
        ::pwrite(fd, content.data() + done, content.size() - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<size_t>(n);
  }
  if (static_cast<off_t>(content.size()) < old_size &&
      ::ftruncate(fd, static_cast<off_t>(content.size())) != 0) {
    return errno;
  }
  return 0;
}

// For a save that must survive a power loss: the spare's data is written to
// the device and waited for, without a cache flush. The directory fsync
// after the swap commits the file system's journal, which flushes the
// device cache before its commit record (ext4, xfs): the data is durable
// before the swap is, with one flush per save instead of two (an fsync of
// the file, then of the directory, cost twice Redis's single fsync).
// Where sync_file_range is refused, fdatasync. Returns 0 or an errno.
int WriteOutData(int fd) {
  if (::sync_file_range(
          fd, 0, 0,
          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) == 0) {
    return 0;
  }
  return ::fdatasync(fd) == 0 ? 0 : errno;
}

}  // namespace

int NodesConfFile::ExchangeNames(const std::string& a, const std::string& b) {
  return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0 ? 0 : errno;
}

NodesConfFile::NodesConfFile(std::string path, int fd, ExchangeFn exchange)
    : path_(std::move(path)), spare_path_(path_ + ".spare"), exchange_(exchange), fd_(fd) {}

absl::StatusOr<std::unique_ptr<NodesConfFile>> NodesConfFile::OpenAndLock(std::string path,
                                                                          ExchangeFn exchange) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("Can't open ", path, " in order to acquire a lock: ", ErrnoText(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "Sorry, the cluster configuration file ", path,
          " is already used by a different Redis Cluster node. Please make sure that different "
          "nodes use different cluster configuration files."));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("Impossible to lock ", path, ": ", ErrnoText(err)));
  }
  return std::unique_ptr<NodesConfFile>(new NodesConfFile(std::move(path), fd, exchange));
}

NodesConfFile::~NodesConfFile() {
  // The spare holds an old version only: removed while still locked, so no
  // other node ever finds it half-owned.
  if (spare_fd_ >= 0) {
    ::unlink(spare_path_.c_str());
    ::close(spare_fd_);
  }
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

int NodesConfFile::OpenSpare(off_t* size) {
  struct stat st;
  if (spare_fd_ >= 0) {
    // Still the file at that name? Someone may have removed the spare, or
    // put another file there (our inode then has no name left).
    if (::fstat(spare_fd_, &st) == 0 && st.st_nlink > 0) {
      *size = st.st_size;
      return 0;
    }
    ::close(spare_fd_);
    spare_fd_ = -1;
  }
  // A spare left by a node that crashed holds an old version: it is simply
  // overwritten.
  const int fd = ::open(spare_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  if (const int err = LockOrErrno(fd); err != 0) {
    ::close(fd);
    return err;
  }
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return err;
  }
  spare_fd_ = fd;
  *size = st.st_size;
  return 0;
}

absl::StatusOr<std::unique_ptr<clusterbus::ClusterState>> NodesConfFile::Load(
    const clusterbus::ClusterOptions& options, int64_t now_ms) {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::unique_ptr<clusterbus::ClusterState>();
    return absl::FailedPreconditionError(
        absl::StrCat("Loading the cluster node config from ", path_, ": ", ErrnoText(errno)));
  }
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return absl::FailedPreconditionError(
          absl::StrCat("Loading the cluster node config from ", path_, ": ", ErrnoText(err)));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (text.empty()) return std::unique_ptr<clusterbus::ClusterState>();
  auto state = clusterbus::ParseNodesConf(text, options, now_ms);
  if (!state.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("Unrecoverable error: corrupted cluster config file ", path_, ": ",
                     std::string(state.status().message())));
  }
  return std::move(*state);
}

absl::Status NodesConfFile::Save(std::string_view content, bool fsync) {
  off_t spare_size = 0;
  if (const int err = OpenSpare(&spare_size); err != 0) return absl::InternalError(ErrnoText(err));
  if (const int err = OverwriteWhole(spare_fd_, content, spare_size); err != 0) {
    return absl::InternalError(ErrnoText(err));
  }
  if (fsync) {
    if (const int err = WriteOutData(spare_fd_); err != 0) {
      return absl::InternalError(ErrnoText(err));
    }
  }
  if (!can_exchange_) return RenameSpareOver(fsync);
  if (const int err = exchange_(spare_path_, path_); err != 0) {
    // EINVAL: this file system cannot exchange (from now on, rename).
    // ENOENT: `path` was removed meanwhile; the rename puts it back.
    if (err == EINVAL || err == ENOSYS) {
      can_exchange_ = false;
    } else if (err != ENOENT) {
      return absl::InternalError(ErrnoText(err));
    }
    return RenameSpareOver(fsync);
  }
  std::swap(fd_, spare_fd_);
  if (fsync) {
    if (const int err = base::FsyncDirOf(path_); err != 0) {
      return absl::InternalError(ErrnoText(err));
    }
  }
  return absl::OkStatus();
}

absl::Status NodesConfFile::RenameSpareOver(bool fsync) {
  // The spare is locked already, so `path` stays locked by this node.
  if (::rename(spare_path_.c_str(), path_.c_str()) != 0) {
    return absl::InternalError(ErrnoText(errno));
  }
  ::close(fd_);
  fd_ = std::exchange(spare_fd_, -1);
  if (fsync) {
    if (const int err = base::FsyncDirOf(path_); err != 0) {
      return absl::InternalError(ErrnoText(err));
    }
  }
  return absl::OkStatus();
}

std::string DropRecordPath(std::string_view nodes_conf_path) {
  return std::string(nodes_conf_path) + ".asm-drop";
}

absl::Status WriteDropRecord(const std::string& path, const slots::SlotSet& slots) {
  if (slots.Empty()) {
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return absl::OkStatus();
      return absl::InternalError(absl::StrCat("unlink ", path, ": ", ErrnoText(errno)));
    }
    if (int err = base::FsyncDirOf(path); err != 0) {
      return absl::InternalError(
          absl::StrCat("fsync of the folder of ", path, ": ", ErrnoText(err)));
    }
    return absl::OkStatus();
  }
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", tmp, ": ", ErrnoText(errno)));
  if (int err = base::WriteAll(fd, slots.Format() + "\n"); err != 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("write ", tmp, ": ", ErrnoText(err)));
  }
  const base::ReplaceResult r = base::CommitReplace(fd, tmp, path);
  ::close(fd);
  if (!r.ok()) return absl::InternalError(absl::StrCat("replace ", path, ": ", ErrnoText(r.err)));
  return absl::OkStatus();
}

absl::StatusOr<slots::SlotSet> ReadDropRecord(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return slots::SlotSet();
    return absl::InternalError(absl::StrCat("open ", path, ": ", ErrnoText(errno)));
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat("read ", path, ": ", ErrnoText(err)));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::optional<slots::SlotSet> parsed = slots::SlotSet::Parse(text);
  if (!parsed.has_value()) return absl::DataLossError(absl::StrCat(path, ": not a slot list"));
  return *parsed;
}

}  // namespace shardnode::node
