#include "node/script/debug_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace shardnode::node::script {

namespace {
constexpr int kReadPollMs = 100;
constexpr int64_t kSendTimeoutMs = 5000;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

long SocketDebugChannel::ReadOnce(char* buf, size_t len) {
  if (io_ != nullptr) return io_->read(buf, len);
  const ssize_t n = read(fd_, buf, len);
  if (n >= 0) return static_cast<long>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    return Session::DebugIo::kWantRead;
  }
  return Session::DebugIo::kFailed;
}

long SocketDebugChannel::WriteOnce(std::string_view bytes) {
  if (io_ != nullptr) return io_->write(bytes.data(), bytes.size());
  const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<long>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    return Session::DebugIo::kWantWrite;
  }
  return Session::DebugIo::kFailed;
}

long SocketDebugChannel::Read(char* buf, size_t len) {
  if (failed_) return 0;
  for (;;) {
    if (interrupted_ && interrupted_()) return 0;
    // The socket is waited for first (it may be a blocking one); a TLS
    // session is tried first, as it may hold decrypted bytes already.
    if (io_ == nullptr) {
      pollfd p{fd_, POLLIN, 0};
      const int ready = poll(&p, 1, kReadPollMs);
      if (ready < 0 && errno != EINTR) return -1;
      if (ready <= 0) continue;
    }
    const long n = ReadOnce(buf, len);
    if (n >= 0) return n;
    if (n == Session::DebugIo::kFailed) return -1;
    if (io_ != nullptr) {
      pollfd p{fd_, static_cast<short>(n == Session::DebugIo::kWantWrite ? POLLOUT : POLLIN), 0};
      if (poll(&p, 1, kReadPollMs) < 0 && errno != EINTR) return -1;
    }
  }
}

void SocketDebugChannel::Write(std::string_view bytes) {
  if (failed_) return;
  int64_t deadline = SteadyMs() + kSendTimeoutMs;
  while (!bytes.empty()) {
    const long n = WriteOnce(bytes);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      deadline = SteadyMs() + kSendTimeoutMs;
      continue;
    }
    if (n == 0 || n == Session::DebugIo::kFailed) {
      failed_ = true;
      return;
    }
    const int64_t left = deadline - SteadyMs();
    if (left <= 0) {
      failed_ = true;
      return;
    }
    pollfd p{fd_, static_cast<short>(n == Session::DebugIo::kWantRead ? POLLIN : POLLOUT), 0};
    poll(&p, 1, static_cast<int>(left));
  }
}

}  // namespace shardnode::node::script
