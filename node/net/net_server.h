// NetServer: the thin Asio shell that serves clients. It accepts TCP
// connections on every `bind` address, and runs one coroutine per
// connection that reads bytes, feeds them to the RESP parser, hands each
// command to the Dispatcher and writes the replies back in request order.
// Everything protocol-related is decided by the pure cores (RequestParser,
// Dispatcher); this file only moves bytes and enforces connection limits
// (maxclients, protected mode, client-query-buffer-limit).
//
// Loop: one io_context (the shard thread); not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "absl/status/status.h"

namespace shardnode::node {

class Server;
class Dispatcher;

class NetServer {
 public:
  // REQUIRES: `io`, `server` and `dispatcher` outlive the NetServer.
  NetServer(boost::asio::io_context& io, Server& server, Dispatcher& dispatcher);
  ~NetServer();

  // Binds every address of options().bind on options().port ("-" prefixed
  // addresses are optional) and starts accepting. Returns an error naming
  // the address that failed. Sets server.tcp_port.
  absl::Status Listen();

  // Stops accepting and closes every client connection.
  void Stop();

 private:
  void StartAccept(boost::asio::ip::tcp::acceptor& acceptor);

  boost::asio::io_context& io_;
  Server& server_;
  Dispatcher& dispatcher_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
};

}  // namespace shardnode::node
