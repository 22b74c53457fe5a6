#include "node/net/bus_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "clusterbus/codec/codec.h"
#include "node/net/stream.h"
#include "node/net/tls.h"
#include "node/server/clock.h"
#include "node/server/log.h"

namespace shardnode::node {
namespace asio = boost::asio;
using asio::ip::tcp;
using clusterbus::LinkId;

namespace {

// The address as Redis prints it: IPv4-mapped IPv6 addresses as plain IPv4.
std::string AddressText(const asio::ip::address& addr) {
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) return addr.to_v6().to_v4().to_string();
  return addr.to_string();
}

// The type field of a framed message (offset 12, u16 BE), or -1 if the
// bytes are too short to hold it.
int FrameType(std::string_view frame) {
  if (frame.size() < 14) return -1;
  return (static_cast<uint8_t>(frame[12]) << 8) | static_cast<uint8_t>(frame[13]);
}

constexpr size_t kReadChunk = 16 * 1024;
constexpr auto kCronPeriod = std::chrono::milliseconds(100);

}  // namespace

// What the engine reads of the node: the replication offset and data age,
// from hooks.
class BusServer::OffsetView : public clusterbus::NodeView {
 public:
  OffsetView(std::function<uint64_t()> offset, std::function<int64_t(int64_t)> data_age)
      : offset_(std::move(offset)), data_age_(std::move(data_age)) {}
  uint64_t ReplicationOffset() const override { return offset_ ? offset_() : 0; }
  int64_t ReplicationDataAgeMs(int64_t now_ms) const override {
    return data_age_ ? data_age_(now_ms) : 0;
  }

 private:
  std::function<uint64_t()> offset_;
  std::function<int64_t(int64_t)> data_age_;
};

// An outbound connect in progress; it becomes a Link when it completes.
// The connect timeout covers the TLS handshake too (tls-cluster).
struct BusServer::PendingConnect {
  PendingConnect(asio::io_context& io, std::string id)
      : node_id(std::move(id)), stream(io.get_executor()), timer(io) {}
  std::string node_id;
  Stream stream;
  asio::steady_timer timer;
  bool timed_out = false;
};

// One connected bus link: a reader coroutine that hands every chunk to the
// owner, and a send buffer written out at the end of the turn that queued.
// Kept alive by its reader and its write in flight; the owner's map holds
// it while it is open. Once closed_ is set the link never calls the owner
// again (it may be gone).
class BusServer::Link : public std::enable_shared_from_this<Link> {
 public:
  Link(BusServer* owner, LinkId id, Stream stream, bool outbound, std::string node_id,
       int64_t create_ms)
      : owner_(owner),
        id_(id),
        stream_(std::move(stream)),
        outbound_(outbound),
        node_id_(std::move(node_id)),
        create_ms_(create_ms) {}

  // The coroutine's parameter keeps the link alive until it ends (co_spawn
  // starts it later, possibly after the owner has dropped the link).
  static void Start(asio::io_context& io, const std::shared_ptr<Link>& link) {
    asio::co_spawn(io, Reader(link), asio::detached);
  }

  // Queues `bytes`; the write starts at the end of this turn of the loop
  // (one posted handler per link and turn), after the reply of the command
  // that made the message, as Redis writes its replies before its bus
  // links. It never waits for another event.
  void Send(std::string_view bytes) {
    if (closed_) return;
    out_.append(bytes.data(), bytes.size());
    if (writing_ || flush_posted_) return;
    flush_posted_ = true;
    asio::post(stream_.get_executor(), [self = shared_from_this()]() {
      self->flush_posted_ = false;
      self->Flush();
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    stream_.Close();
  }

  LinkId id() const { return id_; }
  bool closed() const { return closed_; }
  bool outbound() const { return outbound_; }
  const std::string& node_id() const { return node_id_; }
  int64_t create_ms() const { return create_ms_; }
  bool has_pending_writes() const { return !out_.empty() || !inflight_.empty(); }
  size_t buffer_allocated() const { return out_.capacity() + inflight_.capacity(); }
  size_t buffer_used() const { return out_.size() + inflight_.size(); }
  // Received bytes not yet decoded; the owner consumes from the front.
  std::string& rbuf() { return rbuf_; }

 private:
  static asio::awaitable<void> Reader(std::shared_ptr<Link> self) { co_await self->Read(); }

  asio::awaitable<void> Read() {
    boost::system::error_code ec;
    while (!closed_) {
      const size_t n = co_await stream_.async_read_some(
          asio::buffer(buf_, sizeof(buf_)), asio::redirect_error(asio::use_awaitable, ec));
      if (closed_) co_return;
      if (ec) {
        owner_->OnLinkError(id_);
        co_return;
      }
      owner_->OnBytes(*this, std::string_view(buf_, n));
    }
  }

  // Writes out_ unless a write is in flight; the completion goes on with
  // what was queued meanwhile. The completion always comes on a later turn
  // of the loop (never inside Send), so the engine is not re-entered.
  void Flush() {
    if (writing_ || out_.empty() || closed_) return;
    writing_ = true;
    inflight_.swap(out_);
    asio::async_write(stream_, asio::buffer(inflight_),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        self->writing_ = false;
                        self->inflight_.clear();
                        if (self->closed_) return;
                        if (ec) {
                          self->owner_->OnLinkError(self->id_);
                          return;
                        }
                        self->Flush();
                      });
  }

  BusServer* owner_;
  LinkId id_;
  Stream stream_;
  bool outbound_;
  std::string node_id_;  // outbound: the node asked for; inbound: empty
  int64_t create_ms_;
  bool closed_ = false;
  bool writing_ = false;
  bool flush_posted_ = false;
  std::string out_;       // queued, not yet handed to the socket
  std::string inflight_;  // being written
  std::string rbuf_;
  char buf_[kReadChunk];
};

BusServer::BusServer(asio::io_context& io, clusterbus::ClusterState& state, Hooks hooks,
                     uint64_t seed)
    : io_(io),
      alive_(std::make_shared<BusServer*>(this)),
      state_(state),
      hooks_(std::move(hooks)),
      node_view_(
          std::make_unique<OffsetView>(hooks_.replication_offset, hooks_.replication_data_age)),
      engine_(std::make_unique<clusterbus::BusEngine>(state, *node_view_, seed)),
      cron_timer_(io) {}

BusServer::~BusServer() { Stop(); }

absl::Status BusServer::Listen(const std::vector<std::string>& bind, int cport, int backlog) {
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  for (std::string addr : bind) {
    const bool optional = !addr.empty() && addr[0] == '-';
    if (optional) addr.erase(0, 1);
    asio::ip::address ip;
    boost::system::error_code ec;
    if (addr == "*") {
      ip = asio::ip::address_v4::any();
    } else if (addr == "::*") {
      ip = asio::ip::address_v6::any();
    } else {
      ip = asio::ip::make_address(addr, ec);
    }
    auto acceptor = std::make_unique<tcp::acceptor>(io_);
    const tcp::endpoint ep(ip, static_cast<unsigned short>(cport));
    if (!ec) acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && ip.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(backlog, ec);
    if (ec) {
      if (optional) continue;
      return absl::UnavailableError(absl::StrCat("Could not create server TCP listening socket ",
                                                 addr, ":", cport, ": ", ec.message()));
    }
    // With cport 0 (tests), every further address binds the same port.
    if (cport == 0) cport = acceptor->local_endpoint().port();
    acceptors.push_back(std::move(acceptor));
  }
  if (acceptors.empty()) return absl::UnavailableError("No address to listen on");
  bound_port_ = cport;
  acceptors_ = std::move(acceptors);
  for (auto& acceptor : acceptors_) StartAccept(*acceptor);
  return absl::OkStatus();
}

void BusServer::StartAccept(tcp::acceptor& acceptor) {
  std::weak_ptr<BusServer*> alive = alive_;
  acceptor.async_accept([this, alive, &acceptor](boost::system::error_code ec, tcp::socket socket) {
    if (alive.expired() || ec == asio::error::operation_aborted || stopped_) return;
    if (!ec) OnAccepted(std::move(socket));
    StartAccept(acceptor);
  });
}

void BusServer::OnAccepted(tcp::socket socket) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  Stream stream(std::move(socket));
  // Under tls-cluster a peer is a link once its handshake succeeded; the
  // bus always requires the peer's certificate (Redis's TLS_CLIENT_AUTH_YES).
  if (tls_cluster_ && tls_cluster_() && tls_ != nullptr && tls_->configured()) {
    stream.UseTls(tls_->server());
    stream.tls().SetVerify(TlsVerifyMode(1));
    asio::co_spawn(io_, HandshakeInbound(alive_, std::move(stream)), asio::detached);
    return;
  }
  OnInboundReady(std::move(stream));
}

asio::awaitable<void> BusServer::HandshakeInbound(std::weak_ptr<BusServer*> alive, Stream stream) {
  const boost::system::error_code ec = co_await stream.Handshake(asio::ssl::stream_base::server);
  auto owner = alive.lock();
  if (!owner || (*owner)->stopped_) co_return;
  if (ec) {
    Logf(LogLevel::kVerbose, "Error accepting cluster node connection: %s", TlsErrorText(ec));
    stream.Close();
    co_return;
  }
  (*owner)->OnInboundReady(std::move(stream));
}

void BusServer::OnInboundReady(Stream stream) {
  boost::system::error_code ec;
  const tcp::endpoint remote = stream.socket().remote_endpoint(ec);
  if (ec) return;  // already gone
  const tcp::endpoint local = stream.socket().local_endpoint(ec);
  if (ec) return;
  const int64_t now = NowMs();
  std::shared_ptr<Link> link = AddLink(std::move(stream), /*outbound=*/false, "", now);
  Logf(LogLevel::kVerbose, "Accepting cluster node connection from %s:%d",
       AddressText(remote.address()), remote.port());
  engine_->OnInboundAccepted(link->id(), AddressText(remote.address()), now,
                             AddressText(local.address()));
  EndBatch(now);
}

std::shared_ptr<BusServer::Link> BusServer::AddLink(Stream stream, bool outbound,
                                                    std::string node_id, int64_t now_ms) {
  const LinkId id = ++next_link_id_;
  auto link =
      std::make_shared<Link>(this, id, std::move(stream), outbound, std::move(node_id), now_ms);
  links_[id] = link;
  Link::Start(io_, link);
  return link;
}

void BusServer::Connect(const clusterbus::ConnectAction& action, int64_t now_ms) {
  if (stopped_) return;
  boost::system::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(action.ip, ec);
  if (ec || action.cport <= 0 || action.cport > 65535) {
    engine_->OnOutboundFailed(action.node_id, now_ms);
    return;
  }
  const uint64_t attempt = ++next_attempt_;
  auto pending = std::make_shared<PendingConnect>(io_, action.node_id);
  PendingConnect& pc = *pending;
  connects_[attempt] = std::move(pending);
  // Redis bounds a connect by the node timeout (the link is recycled then).
  const int64_t timeout_ms = std::max<int64_t>(state_.options().node_timeout_ms, 100);
  pc.timer.expires_after(std::chrono::milliseconds(timeout_ms));
  std::weak_ptr<BusServer*> alive = alive_;
  pc.timer.async_wait([this, alive, attempt](boost::system::error_code tec) {
    if (tec || alive.expired()) return;
    auto it = connects_.find(attempt);
    if (it == connects_.end()) return;
    it->second->timed_out = true;
    it->second->stream.Close();  // completes the connect or handshake with an error
  });
  pc.stream.socket().async_connect(tcp::endpoint(ip, static_cast<unsigned short>(action.cport)),
                                   [this, alive, attempt](boost::system::error_code cec) {
                                     if (alive.expired() || stopped_) return;
                                     OnConnectDone(attempt, cec);
                                   });
}

void BusServer::OnConnectDone(uint64_t attempt, const boost::system::error_code& ec) {
  auto it = connects_.find(attempt);
  if (it == connects_.end()) return;
  PendingConnect& pc = *it->second;
  if (!ec && pc.stream.socket().is_open() && !pc.stream.is_tls() && tls_cluster_ &&
      tls_cluster_() && tls_ != nullptr && tls_->configured()) {
    // tls-cluster: the handshake runs under the same timeout; the
    // attempt completes when it ends.
    boost::system::error_code ignored;
    pc.stream.socket().set_option(tcp::no_delay(true), ignored);
    pc.stream.UseTls(tls_->client());
    asio::co_spawn(io_, HandshakeOutbound(alive_, it->second, attempt), asio::detached);
    return;
  }
  FinishConnect(attempt, ec);
}

// `pc` is held here: the stream lives until its handshake has completed,
// even when Stop() drops the attempt meanwhile.
asio::awaitable<void> BusServer::HandshakeOutbound(std::weak_ptr<BusServer*> alive,
                                                   std::shared_ptr<PendingConnect> pc,
                                                   uint64_t attempt) {
  const boost::system::error_code ec =
      co_await pc->stream.Handshake(asio::ssl::stream_base::client);
  auto owner = alive.lock();
  if (!owner || (*owner)->stopped_) co_return;
  (*owner)->FinishConnect(attempt, ec);
}

void BusServer::FinishConnect(uint64_t attempt, const boost::system::error_code& ec) {
  auto it = connects_.find(attempt);
  if (it == connects_.end()) return;
  std::shared_ptr<PendingConnect> pc = std::move(it->second);
  connects_.erase(it);
  pc->timer.cancel();
  const int64_t now = NowMs();
  if (ec || pc->timed_out || !pc->stream.socket().is_open()) {
    Logf(LogLevel::kVerbose, "Connection with Node %s at cluster bus failed: %s", pc->node_id,
         ec && !pc->timed_out ? TlsErrorText(ec) : std::string("timeout"));
    engine_->OnOutboundFailed(pc->node_id, now);
  } else {
    boost::system::error_code ignored;
    pc->stream.socket().set_option(tcp::no_delay(true), ignored);
    std::shared_ptr<Link> link =
        AddLink(std::move(pc->stream), /*outbound=*/true, pc->node_id, now);
    engine_->OnOutboundConnected(link->id(), pc->node_id, now);
  }
  EndBatch(now);
}

void BusServer::OnBytes(Link& link, std::string_view bytes) {
  std::string& rbuf = link.rbuf();
  rbuf.append(bytes.data(), bytes.size());
  const int64_t now = NowMs();
  size_t pos = 0;
  while (!link.closed()) {
    const std::string_view view = std::string_view(rbuf).substr(pos);
    clusterbus::Message message;
    size_t consumed = 0;
    std::string why;
    const clusterbus::DecodeStatus st = clusterbus::Decode(view, &consumed, &message, &why);
    if (st == clusterbus::DecodeStatus::kNeedMore) break;
    if (st == clusterbus::DecodeStatus::kBadFrame) {
      Log(LogLevel::kWarning, "Bad message length or signature received from Cluster bus.");
      const LinkId id = link.id();
      DropLink(id);
      engine_->OnLinkClosed(id, now);
      break;
    }
    pos += consumed;
    if (st == clusterbus::DecodeStatus::kDiscard) {
      // Redis counts a framed message before validating it. The engine
      // counts the ones it gets; the discarded ones are counted here.
      const int type = FrameType(view.substr(0, consumed));
      if (type >= 0 && type < clusterbus::kNumMessageTypes) ++state_.messages_received()[type];
      // Redis logs length mismatches as warnings, other rejections not at all.
      const bool length = why.rfind("Received invalid", 0) == 0;
      Logf(length ? LogLevel::kWarning : LogLevel::kVerbose, "%s", why);
      continue;
    }
    if (!why.empty()) Logf(LogLevel::kWarning, "%s", why);
    engine_->OnMessage(link.id(), message, now);
  }
  if (!link.closed()) rbuf.erase(0, pos);
  EndBatch(now);
}

void BusServer::OnLinkError(LinkId id) {
  if (!links_.count(id)) return;
  const int64_t now = NowMs();
  DropLink(id);
  engine_->OnLinkClosed(id, now);
  EndBatch(now);
}

void BusServer::DropLink(LinkId id) {
  auto it = links_.find(id);
  if (it == links_.end()) return;
  std::shared_ptr<Link> link = std::move(it->second);
  links_.erase(it);
  link->Close();
}

void BusServer::Send(const clusterbus::SendAction& action) {
  if (stopped_) return;
  auto it = links_.find(action.link);
  if (it != links_.end()) it->second->Send(action.bytes);
}

void BusServer::Close(clusterbus::LinkId link) { DropLink(link); }

void BusServer::EndBatch(int64_t now_ms) {
  if (stopped_) return;
  if (hooks_.after_batch) hooks_.after_batch(now_ms);
}

std::vector<BusLinkInfo> BusServer::Links() const {
  std::vector<BusLinkInfo> out;
  std::vector<const Link*> unmatched;
  for (const auto& [id, link] : links_) unmatched.push_back(link.get());
  for (const clusterbus::LinkRow& row : engine_->Links()) {
    BusLinkInfo info;
    info.outbound = row.outbound;
    info.node_id = row.node_id;
    info.create_ms = row.create_ms;
    info.events = "r";
    // The engine's rows carry the time the shell reported the link with;
    // that pairs them with the shell's links (buffers, pending writes).
    for (auto it = unmatched.begin(); it != unmatched.end(); ++it) {
      const Link* l = *it;
      if (l->outbound() == row.outbound && l->create_ms() == row.create_ms) {
        if (l->has_pending_writes()) info.events = "rw";
        info.send_buffer_allocated = l->buffer_allocated();
        info.send_buffer_used = l->buffer_used();
        unmatched.erase(it);
        break;
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

void BusServer::FreeLinksOverLimit(int64_t now_ms) {
  const int64_t limit = hooks_.sendbuf_limit ? hooks_.sendbuf_limit() : 0;
  if (limit <= 0) return;
  std::vector<LinkId> over;
  for (const auto& [id, link] : links_) {
    if (static_cast<int64_t>(link->buffer_used()) > limit) over.push_back(id);
  }
  for (LinkId id : over) {
    Logf(LogLevel::kWarning,
         "Freeing cluster link(%s node %s, used memory: %d) due to "
         "exceeding send buffer memory limit.",
         links_[id]->outbound() ? "to" : "from", links_[id]->node_id(), links_[id]->buffer_used());
    ++state_.links_buffer_limit_exceeded;
    DropLink(id);
    engine_->OnLinkClosed(id, now_ms);
  }
  // What the engine decided meanwhile is carried out by the cron, which
  // runs right after.
}

void BusServer::StartCron() {
  if (!stopped_) ArmCron();
}

void BusServer::ArmCron() {
  cron_timer_.expires_after(kCronPeriod);
  std::weak_ptr<BusServer*> alive = alive_;
  cron_timer_.async_wait([this, alive](boost::system::error_code ec) {
    if (ec || alive.expired() || stopped_) return;
    const int64_t now = NowMs();
    FreeLinksOverLimit(now);
    if (hooks_.cron) hooks_.cron(now);
    ArmCron();
  });
}

void BusServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  for (auto& acceptor : acceptors_) acceptor->close(ignored);
  cron_timer_.cancel();
  for (auto& [id, link] : links_) link->Close();
  links_.clear();
  for (auto& [attempt, pc] : connects_) {
    pc->timer.cancel();
    pc->stream.Close();
  }
  connects_.clear();
}

}  // namespace shardnode::node
