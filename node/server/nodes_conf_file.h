// NodesConfFile: the on-disk nodes.conf of this node. Holds the exclusive
// flock on it for the life of the object (spec 11.5), loads it, and saves it
// crash-safely: the new content goes to a temporary file in the same
// directory, which is fsynced, locked, renamed over the old file, and the
// directory is fsynced. A reader therefore sees the old or the new file,
// never a mix, and the lock moves with the new inode.
//
// Loop: used by the control loop only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "clusterbus/cluster_state.h"

namespace shardnode::node {

class NodesConfFile {
 public:
  // Opens (creating it empty if missing, mode 0644) and locks `path` with
  // flock(LOCK_EX|LOCK_NB). Fails (FailedPrecondition) with Redis's texts:
  // "Sorry, the cluster configuration file <path> is already used by a
  // different Redis Cluster node. ...", "Can't open <path> in order to acquire
  // a lock: <err>" or "Impossible to lock <path>: <err>".
  static absl::StatusOr<std::unique_ptr<NodesConfFile>> OpenAndLock(std::string path);
  ~NodesConfFile();
  NodesConfFile(const NodesConfFile&) = delete;
  NodesConfFile& operator=(const NodesConfFile&) = delete;

  const std::string& path() const { return path_; }

  // Loads the file. Returns nullptr when it is missing or empty ("no
  // config"). Fails with "Loading the cluster node config from <path>: <err>"
  // on read errors, and "Unrecoverable error: corrupted cluster config file
  // <path>: line <n>: <reason>: <line>" when malformed; the file is then left
  // untouched.
  absl::StatusOr<std::unique_ptr<clusterbus::ClusterState>> Load(
      const clusterbus::ClusterOptions& options, int64_t now_ms);

  // Replaces the file with `content`: written to a temporary file that is
  // renamed over it, so a crash of the process leaves the old file or the
  // new one, never a mix. With `fsync` (epochs, failovers, slot claims: what
  // Redis fsyncs) the new file and then the directory are fsynced, so the
  // change also survives a power loss; without it (SETSLOT and the other
  // saves Redis does not fsync) neither is, which keeps a reshard's
  // thousands of saves cheap. Fails with the strerror text of the failing
  // call; the old file is then intact.
  absl::Status Save(std::string_view content, bool fsync);

 private:
  NodesConfFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;  // open and flock'ed
};

}  // namespace shardnode::node
