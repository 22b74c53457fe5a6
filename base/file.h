// Crash-safe replacement of a file, shared by RDB files and CONFIG REWRITE
// (nodes.conf, saved thousands of times by a reshard, swaps with a kept
// spare instead: node/server/nodes_conf_file.h): the new content goes to a
// temporary file in the same directory, which is fsynced, renamed over the
// old name, and the directory fsynced, so that after a crash the name holds
// either the old or the new content, never a mix. Synchronous system calls
// on the caller's thread; no state.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace shardnode::base {

// Writes all of `data` to `fd`, retrying short writes and EINTR. Returns 0,
// or the errno of the write that failed.
int WriteAll(int fd, std::string_view data);

// The directory holding `path`: "." for a bare name, "/" for a file at the
// root, else everything before the last '/'.
std::string DirOf(std::string_view path);

// fsync of the directory holding `path`, which makes a rename there durable.
// Returns 0, or the errno of the open or fsync that failed.
int FsyncDirOf(std::string_view path);

// The step of CommitReplace that failed.
enum class ReplaceStep { kNone, kFsync, kBeforeRename, kRename, kFsyncDir };

struct ReplaceResult {
  ReplaceStep failed = ReplaceStep::kNone;
  int err = 0;  // errno of the failed step

  bool ok() const { return failed == ReplaceStep::kNone; }
  // True when the final name now holds the new file (only the directory
  // fsync may have failed).
  bool renamed() const { return failed == ReplaceStep::kNone || failed == ReplaceStep::kFsyncDir; }
};

// Finishes a replace once the caller has written the complete new content
// to `tmp_path` through `fd`: fsync(fd); then `before_rename(fd)` when given
// (lock, chmod or close the new file; it returns 0 or an errno); rename
// `tmp_path` over `final_path`; then, when `sync_dir`, FsyncDirOf(final_path).
// With `sync_file` false the first fsync is skipped (a save whose loss on a
// power failure is acceptable: the rename still replaces the file whole for
// any process crash).
// Stops at the first step that fails; when that step comes before the
// rename, `tmp_path` is unlinked. `fd` is never closed here (unless
// before_rename closes it): the caller closes it, or keeps it open to hold a
// lock on the new file.
// REQUIRES: tmp_path and final_path are on the same file system.
ReplaceResult CommitReplace(int fd, const std::string& tmp_path, const std::string& final_path,
                            const std::function<int(int fd)>& before_rename = nullptr,
                            bool sync_dir = true, bool sync_file = true);

}  // namespace shardnode::base
