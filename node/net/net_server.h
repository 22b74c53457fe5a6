// NetServer: the thin Asio shell that serves clients. It accepts TCP
// connections on every `bind` address, and runs one coroutine per
// connection that reads bytes, feeds them to the RESP parser, hands each
// command to the Dispatcher and writes the replies back in request order.
// Everything protocol-related is decided by the pure cores (RequestParser,
// Dispatcher); this file only moves bytes and enforces connection limits
// (maxclients, protected mode, client-query-buffer-limit). Connections on
// tls-port run the same way over a TLS Stream (node/net/stream.h) after
// their handshake, and those on the unixsocket over the same Stream (it
// holds their descriptor; see StartUnixAccept).
//
// Loop: one io_context (the shard thread); not thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "base/asio_handler_hook.h"

namespace shardnode::node {

class Server;
class Dispatcher;
class TlsContexts;
class ShardThreads;
struct ShardRunner;

class NetServer {
 public:
  // REQUIRES: `io`, `server`, `dispatcher`, `tls` (may be null: no
  // TLS port) and `threads` (may be null: none) outlive the NetServer.
  // With shard threads, connections are spread over them and the control
  // loop (`io`); see Connection in net_server.cc.
  NetServer(boost::asio::io_context& io, Server& server, Dispatcher& dispatcher,
            TlsContexts* tls = nullptr, ShardThreads* threads = nullptr);
  ~NetServer();

  // Binds every address of options().bind on options().port ("-" prefixed
  // addresses are optional; port 0 means no plain port, as in Redis), and
  // on options().tls_port when set, and starts accepting. Returns an error
  // naming the address that failed. Sets server.tcp_port.
  absl::Status Listen();
  // True when a TCP, TLS or unix socket listens (after Listen and
  // ListenUnix): Redis exits when none does.
  bool listening() const { return !acceptors_.empty() || unix_acceptor_ != nullptr; }

  // Listens on the unixsocket directive's path when set, as Redis: a file
  // left at the path is removed first, and the file gets unixsocketperm
  // when that is not 0. Returns Redis's reason on failure ("bind: ...").
  absl::Status ListenUnix();
  // Removes the unixsocket file at shutdown, logging as Redis does. Once.
  void RemoveUnixSocket();
  // The bound unixsocket's path; empty when none.
  const std::string& unix_path() const { return unix_path_; }

  // CONFIG SET port / tls-port: listens on `port` (0: not at all) instead
  // of the plain or the TLS port, as Redis's changeListenPort: the new
  // sockets are bound before the old ones close, and on failure the old
  // ones stay. A TLS port first configures TLS if it is not yet. Returns
  // Redis's CONFIG SET reason on failure ("Unable to listen on this port.
  // Check server logs." or "Unable to update TLS configuration. Check
  // server logs."), after logging the cause.
  absl::Status ChangePort(int port, bool tls);
  // CONFIG SET bind: listens on the port and the TLS port at the addresses
  // now configured (none for an empty list), as Redis's changeBindAddr:
  // the old sockets close first (the same ports are bound again); when a
  // new address cannot be bound, the addresses of `previous` are bound
  // again and the error is "Failed to bind to specified addresses.".
  absl::Status ChangeBind(const std::vector<std::string>& previous);

  // Closes the listening sockets (idempotent); served clients stay.
  void StopAccepting();
  // Stops accepting and closes every client connection.
  void Stop();
  // The control loop has stopped: shard threads run no more commands
  // (before the node saves or exits). Idempotent.
  void StopShardCommands();

 private:
  struct Acceptor {
    std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
    bool tls = false;
  };
  // Binds every bind address (those of `addresses` when given) on `port`
  // into *out.
  absl::Status Bind(int port, bool tls, std::vector<std::unique_ptr<Acceptor>>* out,
                    const std::vector<std::string>* addresses = nullptr);
  void StartAccept(Acceptor& acceptor);
  void StartUnixAccept();
  // Serves an accepted client (counted already): on the control loop or,
  // in turn, on a shard thread.
  void Adopt(boost::asio::ip::tcp::socket socket, bool tls, const std::string& unix_path);

  // With shard threads: every handler of the control loop (this thread)
  // first takes the global step while Server::shard_commands is on, and
  // the step's end turns the word off when the node's state asks for it
  // (shard.h).
  class StepHook final : public asio_hook::HandlerHook {
   public:
    explicit StepHook(NetServer& net) : net_(net) {}
    void BeforeHandler() override;

   private:
    void EndStep();
    NetServer& net_;
    bool ending_ = false;
  };
  // Turns Server::shard_commands on, every 100 ms, when nothing blocks it.
  void CheckShardCommands();

  boost::asio::io_context& io_;
  Server& server_;
  Dispatcher& dispatcher_;
  TlsContexts* tls_;
  ShardThreads* threads_;
  uint64_t next_loop_ = 0;  // Adopt's round-robin
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> unix_acceptor_;
  std::string unix_path_;  // the bound unixsocket; empty: none (or removed)
  // One per shard thread (net_server.cc): what it runs commands with.
  std::vector<std::unique_ptr<ShardRunner>> runners_;
  StepHook step_;
  std::optional<asio_hook::Scope> hook_scope_;
  boost::asio::steady_timer shard_commands_timer_;
};

}  // namespace shardnode::node
