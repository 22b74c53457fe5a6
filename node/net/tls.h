// TlsContexts: the OpenSSL contexts behind the node's TLS streams, built
// from the tls-* options exactly as Redis 7.0.15's tlsConfigure does: one
// server context (accepted connections on tls-port and on the bus under
// tls-cluster; also the client side of outbound links when no client
// certificate is configured) and an optional client context
// (tls-client-cert-file / tls-client-key-file). Configure() is atomic: on
// any error it logs Redis's warning and keeps the contexts it had.
//
// Loop: the node's main loop (start-up and CONFIG SET); not thread-safe.
// Streams share a context through shared_ptr, so replacing them never
// frees one under a live connection.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "node/config/options.h"

namespace shardnode::node {

// Redis's applyTlsCfg condition: TLS must be configured when a TLS port is
// set or replication or the bus run over TLS.
bool TlsWanted(const ServerOptions& opts);

class TlsContexts {
 public:
  // Builds new contexts from `opts`. On failure logs the reason as Redis
  // words it ("Failed to load certificate: <file>: <OpenSSL error>", "No
  // tls-cert-file configured!", ...), changes nothing and returns false.
  bool Configure(const ServerOptions& opts);
  bool configured() const { return server_ != nullptr; }

  // For accepted connections. nullptr before a successful Configure().
  std::shared_ptr<boost::asio::ssl::context> server() const { return server_; }
  // For outbound connections (replica link, bus, MIGRATE): the client
  // context if one is configured, else the server context.
  std::shared_ptr<boost::asio::ssl::context> client() const { return client_ ? client_ : server_; }

 private:
  std::shared_ptr<boost::asio::ssl::context> server_;
  std::shared_ptr<boost::asio::ssl::context> client_;
};

// The SSL_set_verify mode of an accepted connection for tls-auth-clients
// (0 no, 1 yes, 2 optional), as Redis's connCreateAcceptedTLS sets it.
int TlsVerifyMode(int tls_auth_clients);

// The text Redis logs for a failed TLS operation: OpenSSL's error string
// ("error:0A00010B:SSL routines::wrong version number") for TLS errors, the
// system's message otherwise.
std::string TlsErrorText(const boost::system::error_code& ec);

}  // namespace shardnode::node
