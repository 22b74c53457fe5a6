/* file_faults: an LD_PRELOAD shim that injects faults into the file system
 * calls a process makes on chosen files, for tests/e2e/test_file_faults.py.
 *
 * Environment (read once, at load):
 *   FILE_FAULTS_PATTERN  fnmatch(3) pattern matched against a path's last
 *                        component ("nodes*.conf*", "dump.rdb", "temp-*");
 *                        without it the shim does nothing.
 *   FILE_FAULTS_LOG      a file to which every matching call is appended as
 *                        "<op> <n> <path>" (n: 1-based count of that op), and
 *                        "fire <op> <n> <action>" when a fault fires.
 *   FILE_FAULTS_OP       open | write | fsync | rename: the kind of call to
 *                        fail. open covers open/openat/creat/mkstemp and
 *                        their variants; write covers write, pwrite, writev
 *                        and ftruncate; fsync covers fsync, fdatasync and
 *                        sync_file_range; rename covers rename, renameat and
 *                        renameat2 (either name matching).
 *   FILE_FAULTS_NTH      which matching call of that kind fails (1-based).
 *   FILE_FAULTS_ACTION   enospc | eio: the call fails with that errno and
 *                        does nothing; short: a write writes half its
 *                        bytes and returns that count, and the next write
 *                        to a tracked file fails with ENOSPC (a disk filling
 *                        up; other calls fail with ENOSPC); kill: SIGKILL
 *                        before the call (a
 *                        write first writes half its bytes: a torn write);
 *                        kill-after: the call runs, then SIGKILL.
 *   FILE_FAULTS_NO_EXCHANGE  set: renameat2 with RENAME_EXCHANGE fails with
 *                        EINVAL, as on a file system that cannot exchange
 *                        (not counted as a fault).
 * write and fsync count only descriptors opened through a matching path
 * (by this process or its parent before a fork); a descriptor stops being
 * tracked when closed. A fault fires once. Calls the C library makes
 * internally (fopen, stdio) are not seen.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { OP_OPEN, OP_WRITE, OP_FSYNC, OP_RENAME, OP_COUNT };
static const char* const kOpNames[OP_COUNT] = {"open", "write", "fsync", "rename"};
enum { ACT_NONE, ACT_ENOSPC, ACT_EIO, ACT_SHORT, ACT_KILL, ACT_KILL_AFTER };
static const char* const kActNames[] = {"none", "enospc", "eio", "short", "kill", "kill-after"};

#define MAX_FDS 65536
static const char* g_pattern;
static int g_log_fd = -1;
static int g_op = -1;
static long g_nth;
static int g_action = ACT_NONE;
static atomic_long g_counts[OP_COUNT];
static atomic_uchar g_tracked[MAX_FDS];
static atomic_int g_fail_next_write; /* after a "short" write */
static int g_no_exchange;

static void Init(void) __attribute__((constructor));
static void Init(void) {
  /* A copy: the process may reuse the memory of its initial environment
     (a process title written over argv and environ, as Redis's and
     shardnode's proc-title-template do). */
  const char* pattern = getenv("FILE_FAULTS_PATTERN");
  g_pattern = pattern != NULL ? strdup(pattern) : NULL;
  const char* log = getenv("FILE_FAULTS_LOG");
  if (log != NULL && *log != '\0') {
    g_log_fd =
        (int)syscall(SYS_openat, AT_FDCWD, log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  g_no_exchange = getenv("FILE_FAULTS_NO_EXCHANGE") != NULL;
  const char* op = getenv("FILE_FAULTS_OP");
  for (int i = 0; op != NULL && i < OP_COUNT; ++i) {
    if (strcmp(op, kOpNames[i]) == 0) g_op = i;
  }
  const char* nth = getenv("FILE_FAULTS_NTH");
  g_nth = nth != NULL ? atol(nth) : 0;
  const char* act = getenv("FILE_FAULTS_ACTION");
  for (int i = ACT_ENOSPC; act != NULL && i <= ACT_KILL_AFTER; ++i) {
    if (strcmp(act, kActNames[i]) == 0) g_action = i;
  }
}

static void* Real(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  if (f == NULL) abort();
  return f;
}
/* The next definition of `name`, looked up once per call site. */
#define REAL(type, name)                                      \
  ({                                                          \
    static __typeof__((type)0) real_##name;                   \
    if (real_##name == NULL) real_##name = (type)Real(#name); \
    real_##name;                                              \
  })

static int Matches(const char* path) {
  if (g_pattern == NULL || path == NULL) return 0;
  const char* base = strrchr(path, '/');
  return fnmatch(g_pattern, base != NULL ? base + 1 : path, 0) == 0;
}

static int Tracked(int fd) { return fd >= 0 && fd < MAX_FDS && atomic_load(&g_tracked[fd]); }

static void Track(int fd, const char* path) {
  if (fd >= 0 && fd < MAX_FDS) atomic_store(&g_tracked[fd], (unsigned char)Matches(path));
}

static void Log(const char* line) {
  if (g_log_fd >= 0) (void)syscall(SYS_write, g_log_fd, line, strlen(line));
}

static const char* FdPath(int fd, char* buf, size_t len) {
  char link[64];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, buf, len - 1);
  buf[n > 0 ? n : 0] = '\0';
  return buf;
}

/* Counts one matching call; returns the action to take for it. */
static int Hit(int op, const char* path) {
  const long n = atomic_fetch_add(&g_counts[op], 1) + 1;
  char line[4200];
  snprintf(line, sizeof(line), "%s %ld %s\n", kOpNames[op], n, path);
  Log(line);
  if (op != g_op || n != g_nth || g_action == ACT_NONE) return ACT_NONE;
  snprintf(line, sizeof(line), "fire %s %ld %s\n", kOpNames[op], n, kActNames[g_action]);
  Log(line);
  if (g_action == ACT_KILL) {
    if (g_log_fd >= 0) (void)syscall(SYS_fsync, g_log_fd);
    kill(getpid(), SIGKILL);
  }
  return g_action;
}

static int HitFd(int op, int fd) {
  if (!Tracked(fd)) return ACT_NONE;
  char path[4096];
  return Hit(op, FdPath(fd, path, sizeof(path)));
}

/* Fails the call as `action` says (-1 with errno) */
static int Fail(int action) {
  errno = action == ACT_EIO ? EIO : ENOSPC;
  return -1;
}

static void KillNow(void) { kill(getpid(), SIGKILL); }

/* ---- open ---- */
static int OpenCommon(const char* path, int (*call)(void*), void* ctx) {
  int action = Matches(path) ? Hit(OP_OPEN, path) : ACT_NONE;
  if (action == ACT_ENOSPC || action == ACT_EIO) return Fail(action);
  int fd = call(ctx);
  if (fd >= 0) Track(fd, path);
  if (action == ACT_KILL_AFTER) KillNow();
  return fd;
}

struct OpenArgs {
  const char* name;
  int dirfd;
  const char* path;
  int flags;
  mode_t mode;
};

static int CallOpen(void* p) {
  struct OpenArgs* a = p;
  return REAL(int (*)(const char*, int, ...), open)(a->path, a->flags, a->mode);
}
static int CallOpen64(void* p) {
  struct OpenArgs* a = p;
  return REAL(int (*)(const char*, int, ...), open64)(a->path, a->flags, a->mode);
}
static int CallOpenat(void* p) {
  struct OpenArgs* a = p;
  return REAL(int (*)(int, const char*, int, ...), openat)(a->dirfd, a->path, a->flags, a->mode);
}
static int CallOpenat64(void* p) {
  struct OpenArgs* a = p;
  return REAL(int (*)(int, const char*, int, ...), openat64)(a->dirfd, a->path, a->flags, a->mode);
}
static int CallCreat(void* p) {
  struct OpenArgs* a = p;
  return REAL(int (*)(const char*, mode_t), creat)(a->path, a->mode);
}

static mode_t ModeArg(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  struct OpenArgs a = {"open", AT_FDCWD, path, flags, ModeArg(flags, ap)};
  va_end(ap);
  return OpenCommon(path, CallOpen, &a);
}
int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  struct OpenArgs a = {"open64", AT_FDCWD, path, flags, ModeArg(flags, ap)};
  va_end(ap);
  return OpenCommon(path, CallOpen64, &a);
}
int openat(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  struct OpenArgs a = {"openat", dirfd, path, flags, ModeArg(flags, ap)};
  va_end(ap);
  return OpenCommon(path, CallOpenat, &a);
}
int openat64(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  struct OpenArgs a = {"openat64", dirfd, path, flags, ModeArg(flags, ap)};
  va_end(ap);
  return OpenCommon(path, CallOpenat64, &a);
}
int creat(const char* path, mode_t mode) {
  struct OpenArgs a = {"creat", AT_FDCWD, path, 0, mode};
  return OpenCommon(path, CallCreat, &a);
}

/* mkstemp and friends open inside the C library: the template is matched
 * after the call has filled it in. */
static int AfterMkstemp(int fd, char* tmpl) {
  if (fd < 0 || !Matches(tmpl)) return fd;
  const int action = Hit(OP_OPEN, tmpl);
  if (action == ACT_ENOSPC || action == ACT_EIO) {
    REAL(int (*)(int), close)(fd);
    unlink(tmpl);
    return Fail(action);
  }
  Track(fd, tmpl);
  if (action == ACT_KILL_AFTER) KillNow();
  return fd;
}
int mkstemp(char* tmpl) { return AfterMkstemp(REAL(int (*)(char*), mkstemp)(tmpl), tmpl); }
int mkostemp(char* tmpl, int flags) {
  return AfterMkstemp(REAL(int (*)(char*, int), mkostemp)(tmpl, flags), tmpl);
}
int mkstemp64(char* tmpl) { return AfterMkstemp(REAL(int (*)(char*), mkstemp64)(tmpl), tmpl); }
int mkostemp64(char* tmpl, int flags) {
  return AfterMkstemp(REAL(int (*)(char*, int), mkostemp64)(tmpl, flags), tmpl);
}

int close(int fd) {
  if (fd >= 0 && fd < MAX_FDS) atomic_store(&g_tracked[fd], 0);
  return REAL(int (*)(int), close)(fd);
}

/* ---- write ---- */
/* One write-like call on a tracked descriptor; `part(ctx, len)` writes the
 * call's first `len` bytes. */
static ssize_t WriteCommon(int fd, size_t len, ssize_t (*part)(void*, size_t), void* ctx) {
  if (atomic_exchange(&g_fail_next_write, 0)) return Fail(ACT_ENOSPC);
  const long n = atomic_load(&g_counts[OP_WRITE]) + 1;
  if (g_action == ACT_KILL && g_op == OP_WRITE && n == g_nth && len > 1) {
    (void)part(ctx, len / 2); /* torn: half the bytes reach the file */
  }
  const int action = HitFd(OP_WRITE, fd);
  if (action == ACT_SHORT && len > 1) {
    /* A disk filling up: half the bytes, then ENOSPC on the next write. */
    const ssize_t r = part(ctx, len / 2);
    atomic_store(&g_fail_next_write, 1);
    return r;
  }
  if (action == ACT_ENOSPC || action == ACT_EIO || action == ACT_SHORT) return Fail(action);
  const ssize_t r = part(ctx, len);
  if (action == ACT_KILL_AFTER) KillNow();
  return r;
}

struct WriteArgs {
  int fd;
  const void* buf;
  off_t off;
  const struct iovec* iov;
  int cnt;
};
static ssize_t PartWrite(void* p, size_t len) {
  struct WriteArgs* a = p;
  return REAL(ssize_t(*)(int, const void*, size_t), write)(a->fd, a->buf, len);
}
static ssize_t PartPwrite(void* p, size_t len) {
  struct WriteArgs* a = p;
  return REAL(ssize_t(*)(int, const void*, size_t, off_t), pwrite)(a->fd, a->buf, len, a->off);
}
static ssize_t PartWritev(void* p, size_t len) {
  struct WriteArgs* a = p;
  struct iovec head[64];
  int k = 0;
  size_t left = len;
  for (; k < a->cnt && k < 64 && left > 0; ++k) {
    head[k] = a->iov[k];
    if (head[k].iov_len > left) head[k].iov_len = left;
    left -= head[k].iov_len;
  }
  if (left > 0) k = a->cnt; /* more than 64 pieces: the whole call */
  return REAL(ssize_t(*)(int, const struct iovec*, int), writev)(a->fd, left > 0 ? a->iov : head,
                                                                 k);
}

ssize_t write(int fd, const void* buf, size_t len) {
  struct WriteArgs a = {fd, buf, 0, NULL, 0};
  if (!Tracked(fd)) return PartWrite(&a, len);
  return WriteCommon(fd, len, PartWrite, &a);
}

ssize_t pwrite(int fd, const void* buf, size_t len, off_t off) {
  struct WriteArgs a = {fd, buf, off, NULL, 0};
  if (!Tracked(fd)) return PartPwrite(&a, len);
  return WriteCommon(fd, len, PartPwrite, &a);
}

ssize_t pwrite64(int fd, const void* buf, size_t len, off_t off) {
  return pwrite(fd, buf, len, off);
}

ssize_t writev(int fd, const struct iovec* iov, int cnt) {
  struct WriteArgs a = {fd, NULL, 0, iov, cnt};
  size_t len = 0;
  for (int i = 0; i < cnt; ++i) len += iov[i].iov_len;
  if (!Tracked(fd)) return PartWritev(&a, len);
  return WriteCommon(fd, len, PartWritev, &a);
}

int ftruncate(int fd, off_t len) {
  int (*real)(int, off_t) = REAL(int (*)(int, off_t), ftruncate);
  const int action = HitFd(OP_WRITE, fd);
  if (action == ACT_ENOSPC || action == ACT_EIO) return Fail(action);
  const int r = real(fd, len);
  if (action == ACT_KILL_AFTER) KillNow();
  return r;
}
int ftruncate64(int fd, off_t len) { return ftruncate(fd, len); }

/* ---- fsync ---- */
static int SyncCommon(int fd, int r_if_ok, int (*call)(int fd, void* ctx), void* ctx) {
  (void)r_if_ok;
  const int action = HitFd(OP_FSYNC, fd);
  if (action == ACT_ENOSPC || action == ACT_EIO) return Fail(action);
  const int r = call(fd, ctx);
  if (action == ACT_KILL_AFTER) KillNow();
  return r;
}
static int CallFsync(int fd, void* ctx) {
  (void)ctx;
  return REAL(int (*)(int), fsync)(fd);
}
static int CallFdatasync(int fd, void* ctx) {
  (void)ctx;
  return REAL(int (*)(int), fdatasync)(fd);
}
struct RangeArgs {
  off64_t off, len;
  unsigned int flags;
};
static int CallSyncFileRange(int fd, void* ctx) {
  struct RangeArgs* a = ctx;
  return REAL(int (*)(int, off64_t, off64_t, unsigned int), sync_file_range)(fd, a->off, a->len,
                                                                             a->flags);
}
int fsync(int fd) { return SyncCommon(fd, 0, CallFsync, NULL); }
int fdatasync(int fd) { return SyncCommon(fd, 0, CallFdatasync, NULL); }
int sync_file_range(int fd, off64_t off, off64_t len, unsigned int flags) {
  struct RangeArgs a = {off, len, flags};
  return SyncCommon(fd, 0, CallSyncFileRange, &a);
}

/* ---- rename ---- */
static int RenameCommon(const char* from, const char* to, int (*call)(void*), void* ctx) {
  if (!Matches(from) && !Matches(to)) return call(ctx);
  const int action = Hit(OP_RENAME, to);
  if (action == ACT_ENOSPC || action == ACT_EIO) return Fail(action);
  const int r = call(ctx);
  if (action == ACT_KILL_AFTER) KillNow();
  return r;
}
struct RenameArgs {
  int olddir;
  const char* from;
  int newdir;
  const char* to;
  unsigned int flags;
};
static int CallRename(void* p) {
  struct RenameArgs* a = p;
  return REAL(int (*)(const char*, const char*), rename)(a->from, a->to);
}
static int CallRenameat(void* p) {
  struct RenameArgs* a = p;
  return REAL(int (*)(int, const char*, int, const char*), renameat)(a->olddir, a->from, a->newdir,
                                                                     a->to);
}
static int CallRenameat2(void* p) {
  struct RenameArgs* a = p;
  return REAL(int (*)(int, const char*, int, const char*, unsigned int), renameat2)(
      a->olddir, a->from, a->newdir, a->to, a->flags);
}
int rename(const char* from, const char* to) {
  struct RenameArgs a = {AT_FDCWD, from, AT_FDCWD, to, 0};
  return RenameCommon(from, to, CallRename, &a);
}
int renameat(int olddir, const char* from, int newdir, const char* to) {
  struct RenameArgs a = {olddir, from, newdir, to, 0};
  return RenameCommon(from, to, CallRenameat, &a);
}
int renameat2(int olddir, const char* from, int newdir, const char* to, unsigned int flags) {
  if ((flags & RENAME_EXCHANGE) && g_no_exchange) {
    errno = EINVAL;
    return -1;
  }
  struct RenameArgs a = {olddir, from, newdir, to, flags};
  return RenameCommon(from, to, CallRenameat2, &a);
}
