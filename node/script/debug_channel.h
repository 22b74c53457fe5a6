// SocketDebugChannel: the shell under a Lua debugging session (SCRIPT
// DEBUG): blocking reads and writes on the debugging client's socket (or
// through its TLS session) while the script runs, as Redis's LDB blocks on
// its connection. The node serves nothing else meanwhile (Redis's sync
// mode does the same).
//
// Loop: the loop that runs scripts, which it blocks.
#pragma once

#include <cstdint>
#include <functional>

#include "node/lua/ldb.h"
#include "node/server/session.h"

namespace shardnode::node::script {

class SocketDebugChannel final : public lua::DebugChannel {
 public:
  // `fd`: the client's socket (non-blocking or not). `interrupted` is asked
  // about every 100 ms while a read waits: true (the node is told to stop)
  // ends the read as if the client had gone, as a signal's EINTR does in
  // Redis. REQUIRES: the socket stays open while the channel is used.
  // `io`: the connection's own reads and writes (a TLS connection's,
  // Session::debug_io), used instead of the socket's when not null.
  SocketDebugChannel(int fd, std::function<bool()> interrupted,
                     const Session::DebugIo* io = nullptr)
      : fd_(fd), interrupted_(std::move(interrupted)), io_(io) {}

  long Read(char* buf, size_t len) override;
  // Gives up after 5 s without progress (Redis's connSendTimeout).
  void Write(std::string_view bytes) override;

 private:
  // One attempt through io_ or the socket: Session::DebugIo's results.
  long ReadOnce(char* buf, size_t len);
  long WriteOnce(std::string_view bytes);

  int fd_;
  std::function<bool()> interrupted_;
  const Session::DebugIo* io_;
  bool failed_ = false;  // a write failed: the client is treated as gone
};

}  // namespace shardnode::node::script
