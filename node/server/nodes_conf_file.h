// NodesConfFile: the on-disk nodes.conf of this node. Holds the exclusive
// flock on it for the life of the object (spec 11.5), loads it, and saves it
// crash-safely without freeing an inode per save: the node keeps a second
// file beside it, "<path>.spare", locked too. A save writes the complete new
// content into the spare (it is not at `path` meanwhile, so nothing reads
// it), then swaps the two names atomically with renameat2(RENAME_EXCHANGE);
// the old content becomes the spare, to be overwritten by the next save.
// Whoever opens `path` therefore finds the old or the new file, complete,
// at every instant, and both inodes stay locked by this node, so the file at
// `path` is always locked. On a file system without RENAME_EXCHANGE the
// spare is renamed over `path` instead (the old way: the old inode is freed
// and a new spare is created by the next save).
//
// A reshard saves the file thousands of times: freeing an inode per save
// (the rename) cost 0.5-2 ms on a file system with online discard, the
// exchange costs tens of microseconds.
//
// Loop: used by the control loop only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "clusterbus/cluster_state.h"
#include "slots/slot_set.h"

namespace shardnode::node {

class NodesConfFile {
 public:
  // Opens (creating it empty if missing, mode 0644) and locks `path` with
  // flock(LOCK_EX|LOCK_NB). Fails (FailedPrecondition) with Redis's texts:
  // "Sorry, the cluster configuration file <path> is already used by a
  // different Redis Cluster node. ...", "Can't open <path> in order to acquire
  // a lock: <err>" or "Impossible to lock <path>: <err>".
  //
  // `exchange` swaps two names atomically and returns 0 or an errno; tests
  // pass one that fails with EINVAL, as a file system without
  // RENAME_EXCHANGE does.
  using ExchangeFn = int (*)(const std::string& a, const std::string& b);
  static absl::StatusOr<std::unique_ptr<NodesConfFile>> OpenAndLock(
      std::string path, ExchangeFn exchange = &ExchangeNames);
  ~NodesConfFile();
  NodesConfFile(const NodesConfFile&) = delete;
  NodesConfFile& operator=(const NodesConfFile&) = delete;

  const std::string& path() const { return path_; }
  // "<path>.spare": where the next save writes before the swap.
  const std::string& spare_path() const { return spare_path_; }

  // renameat2(a, b, RENAME_EXCHANGE): 0, or the errno (EINVAL where the file
  // system cannot exchange, ENOENT when either name is missing).
  static int ExchangeNames(const std::string& a, const std::string& b);

  // Loads the file. Returns nullptr when it is missing or empty ("no
  // config"). Fails with "Loading the cluster node config from <path>: <err>"
  // on read errors, and "Unrecoverable error: corrupted cluster config file
  // <path>: line <n>: <reason>: <line>" when malformed; the file is then left
  // untouched.
  absl::StatusOr<std::unique_ptr<clusterbus::ClusterState>> Load(
      const clusterbus::ClusterOptions& options, int64_t now_ms);

  // Replaces the file with `content`, byte for byte: written whole to the
  // spare, which then takes the name (see above), so a crash of the process
  // at any point leaves at `path` the old file or the new one, never a mix.
  // With `fsync` (epochs, failovers, slot claims: what Redis fsyncs) the new
  // file's data is written out and waited for before the swap, and the
  // directory is fsynced after it (whose journal commit flushes the device
  // cache first), so the change also survives a power loss; without it (SETSLOT and the other saves
  // Redis does not fsync, which it writes in place) nothing is fsynced, and a power loss may leave
  // an earlier version, or, where the file system wrote the swap before the data, a damaged file
  // that stops startup (never a silent reset). A reader that keeps the file open across two saves
  // may read the later one's bytes. Fails with the strerror text of the failing call; the file at
  // `path` is then intact.
  absl::Status Save(std::string_view content, bool fsync);

 private:
  NodesConfFile(std::string path, int fd, ExchangeFn exchange);
  // Makes spare_fd_ an open, locked descriptor of the file at spare_path_
  // (creating it) and sets *size to its size. Returns 0 or an errno.
  int OpenSpare(off_t* size);
  // The save when exchanging is not possible: the spare, already holding the
  // content, is renamed over `path`.
  absl::Status RenameSpareOver(bool fsync);

  std::string path_;
  std::string spare_path_;
  ExchangeFn exchange_;
  bool can_exchange_ = true;  // false once the file system refused (EINVAL)
  int fd_;                    // the file at path_: open and flock'ed
  int spare_fd_ = -1;         // the file at spare_path_ when open: flock'ed too
};

// The drop record: a file beside nodes.conf, "<nodes.conf>.asm-drop",
// listing the slots whose keys here must not outlive a restart unless
// nodes.conf binds the slot to me: the slots an atomic import is staging
// (hidden, not claimed) and those whose keys are being deleted after an
// export or a failed import (node/migrate/atomic_migrator.h). Neither the AOF
// nor nodes.conf can say it (both stay readable by redis-server 7.0, which
// would reject a record of its own or keep such keys as a legacy import),
// so the staged keys the AOF replays are told from a legacy import's by this
// file. Its content is one line, the slots as SlotSet::Format writes them.
std::string DropRecordPath(std::string_view nodes_conf_path);
// Replaces the record with `slots` (written to a temporary file, fsynced,
// renamed over, the directory fsynced), or removes it when `slots` is empty.
absl::Status WriteDropRecord(const std::string& path, const slots::SlotSet& slots);
// The recorded slots; none when the file is missing. Fails when it cannot be
// read or is not a slot list.
absl::StatusOr<slots::SlotSet> ReadDropRecord(const std::string& path);

}  // namespace shardnode::node
