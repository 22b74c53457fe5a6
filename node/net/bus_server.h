// BusServer: the thin Asio shell of the cluster bus. It owns the listening
// sockets on the bus port, every bus link (outbound ones it opens when the
// engine asks, inbound ones it accepts), and the 100 ms cluster cron timer.
// It feeds bytes through the incremental bus codec into the pure
// clusterbus::BusEngine and carries out the link actions of the engine's
// Ready (connect, send, close) when the node's handler of that Ready calls
// Connect / Send / Close (hooks.after_batch, hooks.cron). All protocol
// decisions belong to the engine (which also counts the messages it sends
// and receives); this file only moves bytes and arms timers.
//
// Under tls-cluster every link (accepted or opened) runs over TLS once its
// handshake succeeded (node/net/stream.h); the engine never sees a link
// whose handshake failed.
//
// A frame the codec rejects (bad signature or length) closes its link; a
// framed but invalid message is dropped and the link stays.
//
// Loop: one io_context (the control loop); not thread-safe. The engine and
// the ClusterState are touched only from that loop.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>
// The others.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "clusterbus/bus_engine.h"
#include "clusterbus/cluster_state.h"
#include "node/server/cluster_setup.h"

namespace shardnode::node {

class Stream;
class TlsContexts;

class BusServer : public ClusterBus {
 public:
  struct Hooks {
    // The cluster cron, every 100 ms, with the wall-clock time. It must tick
    // engine() and the state and then carry out the engine's Ready (the
    // node uses ClusterCron, which does that through ApplyClusterEffects).
    std::function<void(int64_t now_ms)> cron;
    // Called after every batch of engine calls made by the shell (a read
    // chunk, an accept, a connect that completed, a closed link): it must
    // carry out every item of engine().TakeReady() until it comes back
    // empty, calling Connect / Send / Close below for the link actions (the
    // node uses ApplyClusterEffects).
    std::function<void(int64_t now_ms)> after_batch;
    // The replication offset the engine announces; 0 when unset.
    std::function<uint64_t()> replication_offset;
    // A replica's data age in ms at `now_ms` (clusterbus::NodeView); 0 when unset.
    std::function<int64_t(int64_t now_ms)> replication_data_age;
    // cluster-link-sendbuf-limit in bytes (0 or unset: no limit). Before each
    // cron, a link whose send buffer is larger is closed and counted in
    // ClusterState::links_buffer_limit_exceeded.
    std::function<int64_t()> sendbuf_limit;
  };

  // REQUIRES: `io` and `state` outlive the BusServer. `seed` seeds the
  // engine's randomness.
  BusServer(boost::asio::io_context& io, clusterbus::ClusterState& state, Hooks hooks,
            uint64_t seed);
  ~BusServer() override;
  BusServer(const BusServer&) = delete;
  BusServer& operator=(const BusServer&) = delete;

  // Binds every address of `bind` ("-" prefix: optional; "*" and "::*":
  // any) on `cport` and starts accepting. Fails naming the address that
  // could not be bound; nothing is listening then.
  absl::Status Listen(const std::vector<std::string>& bind, int cport, int backlog);
  // TLS for the bus: `tls` (outlives the BusServer) gives the contexts and
  // `enabled` says, at each accept and connect, whether tls-cluster is on.
  void set_tls(TlsContexts* tls, std::function<bool()> enabled) {
    tls_ = tls;
    tls_cluster_ = std::move(enabled);
  }

  // The port actually bound (useful with cport 0 in tests).
  int bound_port() const { return bound_port_; }

  // Arms the 100 ms cron timer.
  void StartCron();

  // Stops accepting and the cron, closes every link and pending connect.
  // The engine is not told (the node is going away).
  void Stop();

  // ClusterBus.
  clusterbus::BusEngine& engine() override { return *engine_; }
  void Connect(const clusterbus::ConnectAction& action, int64_t now_ms) override;
  // The write starts at the end of the current turn of the loop (after the
  // reply of a command that made the message): what a command or a batch
  // makes the engine send never waits for the loop's next event. A write
  // error is reported on a later turn.
  void Send(const clusterbus::SendAction& action) override;
  void Close(clusterbus::LinkId link) override;
  std::vector<BusLinkInfo> Links() const override;

  // Number of open links (connected, both directions), for tests.
  size_t num_links() const { return links_.size(); }

 private:
  class Link;
  class OffsetView;
  struct PendingConnect;

  void StartAccept(boost::asio::ip::tcp::acceptor& acceptor);
  void OnAccepted(boost::asio::ip::tcp::socket socket);
  // Accepted (and past its TLS handshake, if any): becomes a link.
  void OnInboundReady(Stream stream);
  static boost::asio::awaitable<void> HandshakeInbound(std::weak_ptr<BusServer*> alive,
                                                       Stream stream);
  void OnConnectDone(uint64_t attempt, const boost::system::error_code& ec);
  static boost::asio::awaitable<void> HandshakeOutbound(std::weak_ptr<BusServer*> alive,
                                                        std::shared_ptr<PendingConnect> pc,
                                                        uint64_t attempt);
  // The connect (and handshake) of `attempt` ended: a link or a failure.
  void FinishConnect(uint64_t attempt, const boost::system::error_code& ec);
  // Starts the reader and writer of a connected link and registers it.
  std::shared_ptr<Link> AddLink(Stream stream, bool outbound, std::string node_id, int64_t now_ms);
  // The link's bytes arrived: decode, feed the engine, run actions.
  void OnBytes(Link& link, std::string_view bytes);
  // The link failed or the peer closed it: tell the engine.
  void OnLinkError(clusterbus::LinkId id);
  // Removes the link and closes its socket without telling the engine.
  void DropLink(clusterbus::LinkId id);
  void EndBatch(int64_t now_ms);
  // Closes the links over cluster-link-sendbuf-limit (Redis's cron check).
  void FreeLinksOverLimit(int64_t now_ms);
  void ArmCron();

  boost::asio::io_context& io_;
  // Handlers still queued in `io_` when the BusServer is destroyed hold a
  // weak_ptr to this and return when it has expired.
  std::shared_ptr<BusServer*> alive_;
  clusterbus::ClusterState& state_;
  Hooks hooks_;
  std::unique_ptr<OffsetView> node_view_;
  TlsContexts* tls_ = nullptr;
  std::function<bool()> tls_cluster_;
  std::unique_ptr<clusterbus::BusEngine> engine_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  int bound_port_ = 0;
  boost::asio::steady_timer cron_timer_;
  bool stopped_ = false;
  clusterbus::LinkId next_link_id_ = 0;
  std::map<clusterbus::LinkId, std::shared_ptr<Link>> links_;
  uint64_t next_attempt_ = 0;
  std::map<uint64_t, std::shared_ptr<PendingConnect>> connects_;
};

}  // namespace shardnode::node
