// SocketDebugChannel: the shell under a Lua debugging session (SCRIPT
// DEBUG): blocking reads and writes on the debugging client's socket while
// the script runs, as Redis's LDB blocks on its connection. The node serves
// nothing else meanwhile (Redis's sync mode does the same).
//
// Loop: the loop that runs scripts, which it blocks.
#pragma once

#include <cstdint>
#include <functional>

#include "node/lua/ldb.h"

namespace shardnode::node::script {

class SocketDebugChannel final : public lua::DebugChannel {
 public:
  // `fd`: the client's socket (non-blocking or not). `interrupted` is asked
  // about every 100 ms while a read waits: true (the node is told to stop)
  // ends the read as if the client had gone, as a signal's EINTR does in
  // Redis. REQUIRES: the socket stays open while the channel is used.
  SocketDebugChannel(int fd, std::function<bool()> interrupted)
      : fd_(fd), interrupted_(std::move(interrupted)) {}

  long Read(char* buf, size_t len) override;
  // Gives up after 5 s without progress (Redis's connSendTimeout).
  void Write(std::string_view bytes) override;

 private:
  int fd_;
  std::function<bool()> interrupted_;
  bool failed_ = false;  // a write failed: the client is treated as gone
};

}  // namespace shardnode::node::script
