#include "node/server/nodes_conf_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "clusterbus/nodes_conf.h"

namespace shardnode::node {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

}  // namespace

absl::StatusOr<std::unique_ptr<NodesConfFile>> NodesConfFile::OpenAndLock(std::string path) {
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
  return std::unique_ptr<NodesConfFile>(new NodesConfFile(std::move(path), fd));
}

NodesConfFile::~NodesConfFile() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
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
  const std::string tmp = absl::StrCat(path_, ".tmp-", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(ErrnoText(errno));
  if (const int err = base::WriteAll(fd, content); err != 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return absl::InternalError(ErrnoText(err));
  }
  // Lock the new inode before it takes the name, so the file at `path_` is
  // locked by us at every instant; the descriptor stays open to hold it.
  const base::ReplaceResult r = base::CommitReplace(
      fd, tmp, path_, [](int f) { return ::flock(f, LOCK_EX | LOCK_NB) == 0 ? 0 : errno; }, fsync,
      /*sync_file=*/fsync);
  if (!r.renamed()) {
    ::close(fd);
    return absl::InternalError(ErrnoText(r.err));
  }
  ::close(fd_);
  fd_ = fd;
  if (!r.ok()) return absl::InternalError(ErrnoText(r.err));
  return absl::OkStatus();
}

}  // namespace shardnode::node
