#include "clusterbus/bus_engine.h"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clusterbus/codec/codec.h"

namespace shardnode::clusterbus {
namespace {

using slots::kNumSlots;

constexpr int64_t kMinHandshakeTimeoutMs = 1000;
constexpr int kRandomPingEveryTicks = 10;
constexpr int kRandomPingSamples = 5;
constexpr int64_t kFailReportValidityMult = 2;
constexpr int64_t kFailUndoTimeMult = 2;
constexpr int64_t kGossipPongFutureToleranceMs = 500;

constexpr uint16_t kFailingFlags = kFlagPfail | kFlagFail;

int TypeIndex(MessageType type) { return static_cast<int>(type); }

// inet_pton + inet_ntop: the canonical text of a numeric IPv4/IPv6 address,
// or "" when `ip` is not one (hostnames are not resolved, as in Redis).
std::string NormalizeIp(std::string_view ip) {
  std::string text(ip);
  unsigned char buf[sizeof(struct in6_addr)];
  char out[INET6_ADDRSTRLEN] = {0};
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    inet_ntop(AF_INET, buf, out, sizeof(out));
  } else if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    inet_ntop(AF_INET6, buf, out, sizeof(out));
  } else {
    return "";
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

BusEngine::BusEngine(ClusterState& state, const NodeView& node, uint64_t seed)
    : state_(state), node_(node), rng_(seed) {
  for (int s = 0; s < kNumSlots; ++s) {
    const ClusterNode* owner = state_.SlotOwner(s);
    if (owner && owner != &state_.myself()) unconfirmed_.Set(s);
  }
}

void BusEngine::TakeFinishedImports(int64_t now_ms) {
  guard_now_ms_ = now_ms;
  for (auto& [slot, source] : state_.TakeFinishedImports()) {
    ImportGuard guard;
    guard.unknown_until_ms = now_ms + 2 * state_.options().node_timeout_ms;
    if (const ClusterNode* node = state_.FindNode(source)) {
      for (const ClusterNode* replica : node->replicas) guard.let_go_epochs[replica->id] = 0;
    }
    guard.let_go_epochs[source] = 0;
    import_guards_[slot] = std::move(guard);
  }
}

bool BusEngine::StaleImportClaim(int slot, const ClusterNode& sender, uint64_t epoch,
                                 ClaimSource source) {
  auto it = import_guards_.find(slot);
  if (it == import_guards_.end()) return false;
  if (state_.SlotOwner(slot) != &state_.myself()) {
    import_guards_.erase(it);
    return false;
  }
  auto side = it->second.let_go_epochs.find(sender.id);
  if (side == it->second.let_go_epochs.end()) return false;
  if (side->second == 0) {
    return source == ClaimSource::kUpdate || guard_now_ms_ < it->second.unknown_until_ms;
  }
  return epoch <= side->second;
}

Ready BusEngine::TakeReady(int64_t now_ms) {
  TakeFinishedImports(now_ms);
  // The state is evaluated before a PONG announces it.
  if (state_.update_state_requested()) state_.UpdateState(now_ms);
  if (state_.TakeBroadcastPong()) BroadcastPong();
  Ready ready;
  ready.items = std::exchange(actions_, {});
  Ready effects = state_.TakeReady(now_ms);
  for (ReadyItem& item : effects.items) ready.items.push_back(std::move(item));
  return ready;
}

std::vector<LinkRow> BusEngine::Links() const {
  std::vector<LinkRow> rows;
  for (const auto& [id, link] : links_) {
    if (link.node_id.empty()) continue;  // Redis lists links of known nodes only.
    rows.push_back({link.outbound, link.node_id, link.create_ms});
  }
  return rows;
}

// ---- Links ------------------------------------------------------------------

std::string BusEngine::RandomId() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(kNodeIdLen, '0');
  for (char& c : id) c = kHex[rng_() & 15];
  return id;
}

ClusterNode* BusEngine::LinkNode(const Link& link) {
  if (link.node_id.empty()) return nullptr;
  return state_.FindNode(link.node_id);
}

// Closes links whose node was deleted or renamed behind our back (FORGET,
// RESET, handshake clean-up) and drops stale per-node link state.
void BusEngine::SweepLinks() {
  if (seen_generation_ == state_.table_generation()) return;
  seen_generation_ = state_.table_generation();
  std::vector<LinkId> dead;
  for (auto& [id, link] : links_) {
    if (link.node_id.empty()) continue;
    ClusterNode* node = state_.FindNode(link.node_id);
    bool owned =
        node && (link.outbound ? LinksOf(*node).outbound == id : LinksOf(*node).inbound == id);
    if (!owned) dead.push_back(id);
  }
  for (LinkId id : dead) CloseLink(id);
  links_by_node_.clear();
  for (auto it = node_links_.begin(); it != node_links_.end();) {
    if (state_.FindNode(it->first)) {
      ++it;
    } else {
      node_links_.erase(it++);
    }
  }
}

void BusEngine::CloseLink(LinkId id) {
  auto it = links_.find(id);
  if (it == links_.end()) return;
  if (ClusterNode* node = LinkNode(it->second)) {
    if (it->second.outbound && LinksOf(*node).outbound == id) {
      LinksOf(*node).outbound = 0;
      node->link_connected = LinksOf(*node).connecting;
    } else if (!it->second.outbound && LinksOf(*node).inbound == id) {
      LinksOf(*node).inbound = 0;
    }
  }
  links_.erase(it);
  actions_.emplace_back(CloseAction{id});
}

// Redis's freeClusterLink(node->link): the cron reconnects on its next run.
void BusEngine::FreeOutbound(ClusterNode& node) {
  if (LinksOf(node).outbound) CloseLink(LinksOf(node).outbound);
  // An outstanding connect is abandoned: its late OnOutboundConnected is
  // answered with a CloseAction.
  LinksOf(node).connecting = false;
  LinksOf(node).queue.clear();
  node.link_connected = false;
}

void BusEngine::KillLinks(ClusterNode& node, bool outbound, bool inbound) {
  SweepLinks();
  if (outbound) FreeOutbound(node);
  if (inbound && LinksOf(node).inbound) CloseLink(LinksOf(node).inbound);
}

void BusEngine::DeleteNode(ClusterNode& node) {
  const NodeLinks links = LinksOf(node);
  const LinkId out = links.outbound, in = links.inbound;
  links_by_node_.erase(&node);
  node_links_.erase(node.id);  // an outstanding connect is abandoned too
  state_.DeleteNode(node.id);
  if (out) CloseLink(out);
  if (in) CloseLink(in);
  seen_generation_ = state_.table_generation();
}

void BusEngine::SendOnLink(LinkId link, const Message& msg) {
  if (IsKnownType(msg.header.type)) ++state_.messages_sent()[TypeIndex(msg.header.type)];
  actions_.push_back(SendAction{link, Encode(msg)});
}

// Redis's clusterSendMessage(node->link, ...): dropped without an outbound
// link, buffered while it connects.
void BusEngine::SendToNode(ClusterNode& node, const Message& msg) {
  if (LinksOf(node).outbound) {
    SendOnLink(LinksOf(node).outbound, msg);
  } else if (LinksOf(node).connecting) {
    if (IsKnownType(msg.header.type)) ++state_.messages_sent()[TypeIndex(msg.header.type)];
    EncodeTo(msg, &LinksOf(node).queue);
  }
}

void BusEngine::Broadcast(const Message& msg) {
  for (const auto& [id, node] : state_.nodes()) {
    if (node->flags & (kFlagMyself | kFlagHandshake)) continue;
    SendToNode(*node, msg);
  }
}

void BusEngine::Connect(ClusterNode& node, int64_t now_ms) {
  LinksOf(node).ctime_ms = now_ms;
  if (node.ip.empty() || node.cport <= 0) {
    // Redis's synchronous connect failure: keep failure detection running.
    if (node.ping_sent_ms == 0) node.ping_sent_ms = now_ms;
    return;
  }
  LinksOf(node).connecting = true;
  node.link_connected = true;
  actions_.push_back(ConnectAction{node.id, node.ip, node.cport});
}

void BusEngine::OnOutboundConnected(LinkId link, std::string_view node_id, int64_t now_ms) {
  SweepLinks();
  ClusterNode* node = Lookup(node_id);
  if (!node || !LinksOf(*node).connecting || LinksOf(*node).outbound) {
    actions_.emplace_back(CloseAction{link});
    return;
  }
  LinksOf(*node).connecting = false;
  LinksOf(*node).outbound = link;
  node->link_connected = true;
  links_[link] = Link{true, node->id, LinksOf(*node).ctime_ms, node->ip, ""};
  if (!LinksOf(*node).queue.empty()) {
    actions_.push_back(SendAction{link, std::move(LinksOf(*node).queue)});
    LinksOf(*node).queue.clear();
  }
  // The first message: MEET for a node we were told to meet, else PING. A
  // ping that was pending before the reconnect keeps its original time.
  int64_t old_ping_sent = node->ping_sent_ms;
  SendPing(*node, (node->flags & kFlagMeet) ? MessageType::kMeet : MessageType::kPing, now_ms);
  if (old_ping_sent) node->ping_sent_ms = old_ping_sent;
  node->flags &= ~kFlagMeet;
}

void BusEngine::OnOutboundFailed(std::string_view node_id, int64_t now_ms) {
  (void)now_ms;
  SweepLinks();
  ClusterNode* node = Lookup(node_id);
  if (!node || !LinksOf(*node).connecting) return;
  LinksOf(*node).connecting = false;
  LinksOf(*node).queue.clear();
  node->link_connected = LinksOf(*node).outbound != 0;
}

void BusEngine::OnInboundAccepted(LinkId link, std::string peer_ip, int64_t now_ms,
                                  std::string local_ip) {
  SweepLinks();
  links_[link] = Link{false, "", now_ms, std::move(peer_ip), std::move(local_ip)};
}

void BusEngine::OnLinkClosed(LinkId link, int64_t now_ms) {
  (void)now_ms;
  auto it = links_.find(link);
  if (it == links_.end()) return;
  if (ClusterNode* node = LinkNode(it->second)) {
    if (it->second.outbound && LinksOf(*node).outbound == link) {
      LinksOf(*node).outbound = 0;
      node->link_connected = LinksOf(*node).connecting;
    } else if (!it->second.outbound && LinksOf(*node).inbound == link) {
      LinksOf(*node).inbound = 0;
    }
  }
  links_.erase(it);
}

// ---- Building messages --------------------------------------------------------

MessageHeader BusEngine::BuildHeader(MessageType type) {
  const ClusterNode& me = state_.myself();
  // A replica advertises its primary's slots and configEpoch.
  const ClusterNode& primary = (me.is_replica() && me.primary) ? *me.primary : me;
  MessageHeader h;
  h.type = type;
  h.sender = me.id;
  h.myip = state_.options().announce_ip;
  h.port = static_cast<uint16_t>(me.port);
  h.pport = static_cast<uint16_t>(me.pport);
  h.cport = static_cast<uint16_t>(me.cport);
  h.myslots = primary.slots;
  if (me.primary) h.slaveof = me.primary->id;
  h.flags = me.flags;
  h.state = state_.ok() ? kClusterStateOk : kClusterStateFail;
  h.current_epoch = state_.current_epoch();
  h.config_epoch = primary.config_epoch;
  announced_epoch_ = std::max(announced_epoch_, h.config_epoch);
  h.offset = node_.ReplicationOffset();
  // During a manual failover a primary's offset is the one it paused at.
  if (me.is_primary() && mf_.end_ms != 0) h.mflags[0] |= kMsgFlagPaused;
  return h;
}

namespace {

GossipEntry MakeGossipEntry(const ClusterNode& n) {
  GossipEntry g;
  g.node_id = n.id;
  g.ping_sent = static_cast<uint32_t>(n.ping_sent_ms / 1000);
  g.pong_received = static_cast<uint32_t>(n.pong_received_ms / 1000);
  g.ip = n.ip;
  g.port = static_cast<uint16_t>(n.port);
  g.cport = static_cast<uint16_t>(n.cport);
  g.flags = n.flags;
  g.pport = static_cast<uint16_t>(n.pport);
  return g;
}

}  // namespace

// Redis's clusterSendPing body: about a tenth of the table (at least 3)
// picked at random among nodes worth gossiping about, then every PFAIL node.
Message BusEngine::BuildPing(MessageType type) {
  Message msg;
  msg.header = BuildHeader(type);
  PingBody body;

  std::vector<ClusterNode*> table;
  table.reserve(state_.num_nodes());
  for (const auto& [id, node] : state_.nodes()) table.push_back(node.get());

  // Everyone but myself and the receiver.
  int freshnodes = static_cast<int>(table.size()) - 2;
  int wanted = std::max<int>(3, static_cast<int>(table.size()) / 10);
  wanted = std::min(wanted, freshnodes);
  int max_iterations = wanted * 3;
  std::vector<const ClusterNode*> added;
  std::uniform_int_distribution<size_t> pick(0, table.empty() ? 0 : table.size() - 1);
  while (freshnodes > 0 && static_cast<int>(body.gossip.size()) < wanted && max_iterations-- > 0) {
    const ClusterNode* n = table[pick(rng_)];
    if (n->is_myself()) continue;
    if (n->flags & kFlagPfail) continue;  // added below
    if ((n->flags & (kFlagHandshake | kFlagNoAddr)) ||
        (!n->link_connected && n->num_slots() == 0)) {
      --freshnodes;  // as Redis does: not exact, but bounds the loop
      continue;
    }
    if (std::find(added.begin(), added.end(), n) != added.end()) continue;
    body.gossip.push_back(MakeGossipEntry(*n));
    added.push_back(n);
    --freshnodes;
  }

  int pfail_wanted = pfail_nodes_;
  for (const ClusterNode* n : table) {
    if (pfail_wanted <= 0) break;
    if (n->flags & (kFlagHandshake | kFlagNoAddr)) continue;
    if (!(n->flags & kFlagPfail)) continue;
    body.gossip.push_back(MakeGossipEntry(*n));
    --pfail_wanted;
  }

  if (!state_.myself().hostname.empty()) {
    body.extensions.push_back(MakeHostnameExtension(state_.myself().hostname));
  }
  msg.body = std::move(body);
  return msg;
}

// A PING/PONG/MEET to `node` on its outbound link. Only a PING sets
// ping_sent (pongs and meets are not liveness probes).
void BusEngine::SendPing(ClusterNode& node, MessageType type, int64_t now_ms) {
  if (!LinksOf(node).has_outbound()) return;
  if (type == MessageType::kPing) node.ping_sent_ms = now_ms;
  SendToNode(node, BuildPing(type));
}

void BusEngine::BroadcastPong() {
  for (const auto& [id, node] : state_.nodes()) {
    if (!LinksOf(*node).has_outbound()) continue;
    if (node->flags & (kFlagMyself | kFlagHandshake)) continue;
    SendToNode(*node, BuildPing(MessageType::kPong));
  }
}

void BusEngine::SendUpdate(ClusterNode& to, const ClusterNode& about) {
  if (!LinksOf(to).has_outbound()) return;
  Message msg;
  msg.header = BuildHeader(MessageType::kUpdate);
  UpdateBody body;
  body.config_epoch = about.config_epoch;
  body.node_id = about.id;
  for (int s = 0; s < kNumSlots; ++s) {
    if (about.slots.Test(s) && !NotClaiming(s) && !Unconfirmed(s)) body.slots.Set(s);
  }
  msg.body = std::move(body);
  SendToNode(to, msg);
}

void BusEngine::Publish(std::string_view channel, std::string_view message, bool shard) {
  Message msg;
  msg.header = BuildHeader(shard ? MessageType::kPublishShard : MessageType::kPublish);
  msg.body = PublishBody{std::string(channel), std::string(message)};
  if (!shard) {
    Broadcast(msg);
    return;
  }
  // My shard: my primary (or me) and its replicas.
  ClusterNode& me = state_.myself();
  ClusterNode* primary = (me.is_replica() && me.primary) ? me.primary : &me;
  std::vector<ClusterNode*> shard_nodes{primary};
  shard_nodes.insert(shard_nodes.end(), primary->replicas.begin(), primary->replicas.end());
  for (ClusterNode* n : shard_nodes) {
    if (n->flags & (kFlagMyself | kFlagHandshake)) continue;
    SendToNode(*n, msg);
  }
}

// ---- Admin --------------------------------------------------------------------

absl::Status BusEngine::Meet(std::string_view ip, int port, int cport, int64_t now_ms) {
  SweepLinks();
  std::string norm = NormalizeIp(ip);
  if (norm.empty() || port <= 0 || port > 65535 || cport <= 0 || cport > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid node address specified: ", std::string(ip), ":", port));
  }
  for (const auto& [id, node] : state_.nodes()) {
    if (!(node->flags & kFlagHandshake)) continue;
    if (EqualsIgnoreCase(node->ip, norm) && node->port == port && node->cport == cport) {
      return absl::OkStatus();  // a handshake with this address is in progress
    }
  }
  std::string id = RandomId();
  while (state_.FindNode(id)) id = RandomId();
  ClusterNode& n = state_.AddNode(std::move(id), kFlagHandshake | kFlagMeet, now_ms);
  n.ip = norm;
  n.port = port;
  n.cport = cport;
  return absl::OkStatus();
}

// ---- Cron ---------------------------------------------------------------------

void BusEngine::Tick(int64_t now_ms) {
  SweepLinks();
  if (state_.TakeBroadcastPong()) BroadcastPong();
  ++iteration_;
  const int64_t timeout = state_.options().node_timeout_ms;
  const int64_t handshake_timeout = std::max(timeout, kMinHandshakeTimeoutMs);

  // Pass 1: count PFAIL nodes, expire handshakes, (re)connect.
  pfail_nodes_ = 0;
  std::vector<ClusterNode*> table;
  for (const auto& [id, node] : state_.nodes()) table.push_back(node.get());
  std::vector<ClusterNode*> alive;
  for (ClusterNode* n : table) {
    if (n->flags & (kFlagMyself | kFlagNoAddr)) continue;
    if (n->flags & kFlagPfail) ++pfail_nodes_;
    if ((n->flags & kFlagHandshake) && now_ms - n->ctime_ms > handshake_timeout) {
      DeleteNode(*n);
      continue;
    }
    if (!LinksOf(*n).has_outbound()) Connect(*n, now_ms);
    alive.push_back(n);
  }

  // About once a second: ping the node with the oldest pong among 5 random ones.
  if (iteration_ % kRandomPingEveryTicks == 0 && !alive.empty()) {
    ClusterNode* min_pong_node = nullptr;
    std::vector<ClusterNode*> all;
    for (const auto& [id, node] : state_.nodes()) all.push_back(node.get());
    std::uniform_int_distribution<size_t> pick(0, all.size() - 1);
    for (int i = 0; i < kRandomPingSamples; ++i) {
      ClusterNode* n = all[pick(rng_)];
      if (!LinksOf(*n).has_outbound() || n->ping_sent_ms != 0) continue;
      if (n->flags & (kFlagMyself | kFlagHandshake)) continue;
      if (!min_pong_node || n->pong_received_ms < min_pong_node->pong_received_ms) {
        min_pong_node = n;
      }
    }
    if (min_pong_node) SendPing(*min_pong_node, MessageType::kPing, now_ms);
  }

  // Pass 2: link recycling, regular pings, PFAIL.
  bool update_state = false;
  for (ClusterNode* n : alive) {
    if (n->flags & (kFlagMyself | kFlagNoAddr | kFlagHandshake)) continue;
    const bool has_link = LinksOf(*n).has_outbound();
    const int64_t ping_delay = now_ms - n->ping_sent_ms;
    const int64_t data_delay = now_ms - n->data_received_ms;
    // A link that carries nothing for a while although we wait for a pong
    // may be stuck: drop it, the next tick reconnects.
    if (has_link && now_ms - LinksOf(*n).ctime_ms > timeout && n->ping_sent_ms &&
        ping_delay > timeout / 2 && data_delay > timeout / 2) {
      FreeOutbound(*n);
    }
    // Every node is pinged at least once per half node timeout.
    if (LinksOf(*n).has_outbound() && n->ping_sent_ms == 0 &&
        now_ms - n->pong_received_ms > timeout / 2) {
      SendPing(*n, MessageType::kPing, now_ms);
      continue;
    }
    // A primary in a manual failover keeps its replica posted.
    if (mf_.end_ms != 0 && state_.myself().is_primary() && mf_.replica == n->id &&
        LinksOf(*n).has_outbound()) {
      SendPing(*n, MessageType::kPing, now_ms);
      continue;
    }
    if (n->ping_sent_ms == 0) continue;
    // Any data received counts as liveness, not only pongs.
    if (std::min(ping_delay, data_delay) > timeout && !(n->flags & kFailingFlags)) {
      n->flags |= kFlagPfail;
      update_state = true;
    }
  }
  if (update_state) state_.RequestStateUpdate();

  CheckManualFailoverTimeout(now_ms);
  if (state_.myself().is_replica()) {
    // A primary turned replica (by a newer claim) ends the pause it held.
    if (!mf_.replica.empty()) ResetManualFailover();
    HandleManualFailover(now_ms);
    HandleReplicaFailover(now_ms);
  }
}

// ---- Receiving ------------------------------------------------------------------

ClusterNode* BusEngine::Lookup(std::string_view id) {
  if (!IsValidNodeId(id)) return nullptr;
  return state_.FindNode(id);
}

// Redis's getNodeFromLinkAndMsg: the link's node unless it is still in
// handshake (random id), else the header's sender, which an anonymous
// inbound link then adopts.
ClusterNode* BusEngine::SenderOf(LinkId link_id, Link& link, const MessageHeader& hdr) {
  ClusterNode* link_node = LinkNode(link);
  if (link_node && !(link_node->flags & kFlagHandshake)) return link_node;
  ClusterNode* sender = Lookup(hdr.sender);
  if (sender && link.node_id.empty() && !link.outbound) {
    if (LinksOf(*sender).inbound && LinksOf(*sender).inbound != link_id) {
      CloseLink(LinksOf(*sender).inbound);  // the older inbound link is stale
    }
    LinksOf(*sender).inbound = link_id;
    link.node_id = sender->id;
  }
  return sender;
}

void BusEngine::OnMessage(LinkId link_id, const Message& msg, int64_t now_ms) {
  SweepLinks();
  TakeFinishedImports(now_ms);
  auto link_it = links_.find(link_id);
  if (link_it == links_.end()) return;  // closed by us meanwhile
  const MessageHeader& hdr = msg.header;
  const MessageType type = hdr.type;
  if (IsKnownType(type)) ++state_.messages_received()[TypeIndex(type)];
  if (TypeIndex(type) == drop_filter_) {
    state_.Log(LogSeverity::kWarning, "Dropping packet that matches debug drop filter");
    return;
  }
  if (!BodyMatchesType(type, msg.body)) return;

  ClusterNode* sender = SenderOf(link_id, link_it->second, hdr);
  if (sender) sender->data_received_ms = now_ms;

  uint64_t sender_config_epoch = 0;
  uint64_t sender_current_epoch = 0;
  if (sender && !(sender->flags & kFlagHandshake)) {
    sender_current_epoch = hdr.current_epoch;
    sender_config_epoch = hdr.config_epoch;
    if (sender_current_epoch > state_.current_epoch()) {
      state_.set_current_epoch(sender_current_epoch);
    }
    // A node's configEpoch and the slots bound to it go together: UPDATE
    // messages I send about it carry both, and others give their slots up
    // for that pair. Only PING/PONG/MEET headers get their slots looked at
    // (below), so a newer configEpoch in any other message (UPDATE, FAIL,
    // PUBLISH, auth requests) of a node that owns slots here waits for its
    // next ping, as if the message came later. Redis 7.0.15 takes it from
    // any message: a source that bumped its epoch right after handing a
    // slot over (its PONG claiming the slot at the old epoch came first)
    // was then credited with that slot at the new epoch, and an UPDATE on
    // that took the slot from the target, after which neither claimed it
    // (sweep seeds 188 and 100164).
    if (sender_config_epoch > sender->config_epoch &&
        (IsPingType(type) || sender->num_slots() == 0)) {
      sender->config_epoch = sender_config_epoch;
      state_.RequestSave(/*fsync=*/true);
    }
    sender->repl_offset = static_cast<int64_t>(hdr.offset);
    sender->repl_offset_time_ms = now_ms;
    // Manual failover: the first offset my paused primary announces is
    // the one my replication must reach.
    const ClusterNode& me = state_.myself();
    if (mf_.end_ms != 0 && me.is_replica() && me.primary == sender &&
        (hdr.mflags[0] & kMsgFlagPaused) && mf_.primary_offset == -1) {
      mf_.primary_offset = sender->repl_offset;
      state_.Log(LogSeverity::kWarning,
                 absl::StrCat("Received replication offset for paused master manual failover: ",
                              mf_.primary_offset));
      HandleManualFailover(now_ms);
    }
  }

  if (IsPingType(type)) {
    ProcessPingTypes(link_id, msg, sender, sender_config_epoch, now_ms);
    return;
  }
  switch (type) {
    case MessageType::kFail: {
      const auto& body = std::get<FailBody>(msg.body);
      if (!sender) {
        state_.Log(LogSeverity::kNotice, absl::StrCat("Ignoring FAIL message from unknown node ",
                                                      hdr.sender, " about ", body.node_id));
        return;
      }
      ClusterNode* failing = Lookup(body.node_id);
      if (failing && !(failing->flags & (kFlagFail | kFlagMyself))) {
        state_.Log(LogSeverity::kNotice, absl::StrCat("FAIL message received from ", hdr.sender,
                                                      " about ", body.node_id));
        failing->flags = (failing->flags | kFlagFail) & ~kFlagPfail;
        failing->fail_time_ms = now_ms;
        state_.RequestSave(false);
        state_.RequestStateUpdate();
      }
      return;
    }
    case MessageType::kPublish:
    case MessageType::kPublishShard: {
      if (!sender) return;
      const auto& body = std::get<PublishBody>(msg.body);
      actions_.push_back(
          DeliverAction{type == MessageType::kPublishShard, body.channel, body.message});
      return;
    }
    case MessageType::kUpdate: {
      if (!sender) return;
      const auto& body = std::get<UpdateBody>(msg.body);
      ClusterNode* n = Lookup(body.node_id);
      if (!n) return;
      if (n->config_epoch >= body.config_epoch) return;  // nothing new
      if (n->is_replica()) SetNodeAsPrimary(*n);
      n->config_epoch = body.config_epoch;
      state_.RequestSave(/*fsync=*/true);
      UpdateSlotsConfigWith(*n, body.config_epoch, body.slots, ClaimSource::kUpdate);
      return;
    }
    case MessageType::kFailoverAuthRequest:
      if (sender) SendFailoverAuthIfNeeded(*sender, hdr, now_ms);
      return;
    case MessageType::kFailoverAuthAck:
      if (sender) {
        MessageHeader counted = hdr;
        counted.current_epoch = sender_current_epoch;
        OnFailoverAuthAck(*sender, counted, now_ms);
      }
      return;
    case MessageType::kMfStart:
      if (sender) OnMfStart(link_id, *sender, now_ms);
      return;
    case MessageType::kModule:
      // Modules come later.
      return;
    default:
      state_.Log(LogSeverity::kWarning,
                 absl::StrCat("Received unknown packet type: ", TypeIndex(type)));
      return;
  }
}

bool BusEngine::ProcessPingTypes(LinkId link_id, const Message& msg, ClusterNode* sender,
                                 uint64_t sender_config_epoch, int64_t now_ms) {
  const MessageHeader& hdr = msg.header;
  const MessageType type = hdr.type;
  const PingBody& body = std::get<PingBody>(msg.body);
  // Copies: the link entry may go away below.
  const Link link = links_.at(link_id);
  ClusterNode& me = state_.myself();

  if (type == MessageType::kPing || type == MessageType::kMeet) {
    // Learn my own address from the socket a peer reached me on.
    if ((type == MessageType::kMeet || me.ip.empty()) && state_.options().announce_ip.empty() &&
        !link.local_ip.empty() && link.local_ip != me.ip) {
      me.ip = link.local_ip;
      state_.Log(LogSeverity::kWarning,
                 absl::StrCat("IP address for this node updated to ", me.ip));
      state_.RequestSave(false);
    }
    if (!sender && type == MessageType::kMeet) {
      // Trusted because it is a MEET: a handshake node for the sender (its
      // real id arrives with the PONG to our own PING), and its gossip.
      std::string id = RandomId();
      while (state_.FindNode(id)) id = RandomId();
      ClusterNode& n = state_.AddNode(std::move(id), kFlagHandshake, now_ms);
      n.ip = hdr.myip.empty() ? link.peer_ip : hdr.myip;
      n.port = hdr.port;
      n.pport = hdr.pport;
      n.cport = hdr.cport;
      state_.RequestSave(false);
      ProcessGossip(body, nullptr, now_ms);
    }
    SendOnLink(link_id, BuildPing(MessageType::kPong));
  }

  ClusterNode* link_node = LinkNode(link);
  if (link.outbound && link_node) {
    if (link_node->flags & kFlagHandshake) {
      if (sender) {
        // We met a node we already know: keep the known one.
        if (UpdateAddressIfNeeded(*sender, link_id, hdr)) {
          state_.RequestSave(false);
          state_.RequestStateUpdate();
        }
        DeleteNode(*link_node);
        return false;
      }
      if (!IsValidNodeId(hdr.sender) || state_.FindNode(hdr.sender)) return true;
      auto links = node_links_.extract(link_node->id);
      state_.RenameNode(*link_node, hdr.sender);
      if (!links.empty()) {
        links.key() = hdr.sender;
        node_links_.insert(std::move(links));
      }
      links_[link_id].node_id = hdr.sender;
      seen_generation_ = state_.table_generation();
      link_node->flags &= ~kFlagHandshake;
      link_node->flags |= hdr.flags & (kFlagPrimary | kFlagReplica);
      state_.RequestSave(false);
    } else if (link_node->id != hdr.sender) {
      // Someone else answers at this address: forget the address.
      link_node->flags |= kFlagNoAddr;
      link_node->ip.clear();
      link_node->port = link_node->pport = link_node->cport = 0;
      FreeOutbound(*link_node);
      state_.RequestSave(false);
      return false;
    }
  }

  if (sender) {
    sender->flags = (sender->flags & ~kFlagNoFailover) | (hdr.flags & kFlagNoFailover);
  }
  if (sender && type == MessageType::kPing && !(sender->flags & kFlagHandshake) &&
      UpdateAddressIfNeeded(*sender, link_id, hdr)) {
    state_.RequestSave(false);
    state_.RequestStateUpdate();
  }

  // Liveness: only a PONG to our own PING counts.
  if (link.outbound && link_node && type == MessageType::kPong) {
    link_node->pong_received_ms = now_ms;
    link_node->ping_sent_ms = 0;
    if (link_node->flags & kFlagPfail) {
      link_node->flags &= ~kFlagPfail;
      state_.RequestSave(false);
      state_.RequestStateUpdate();
    } else if (link_node->flags & kFlagFail) {
      ClearNodeFailureIfNeeded(*link_node, now_ms);
    }
  }

  if (!sender) return true;

  // Role: an all-zero slaveof means "I am a primary".
  if (hdr.slaveof.empty()) {
    SetNodeAsPrimary(*sender);
  } else {
    ClusterNode* primary = Lookup(hdr.slaveof);
    if (sender->is_primary()) {
      for (int s = 0; s < kNumSlots; ++s) {
        if (state_.SlotOwner(s) == sender) state_.UnbindSlot(s);
      }
      sender->flags = (sender->flags & ~(kFlagPrimary | kFlagMigrateTo)) | kFlagReplica;
      state_.RequestSave(false);
      state_.RequestStateUpdate();
    }
    if (primary && sender->primary != primary && primary != sender) {
      state_.SetPrimary(*sender, primary);
      state_.RequestSave(false);
    }
  }

  // Slots: only look closer when the claim differs from what we hold.
  ClusterNode* sender_primary = sender->is_primary() ? sender : sender->primary;
  bool dirty_slots = sender_primary && !(sender_primary->slots == hdr.myslots);
  // Beyond Redis 7.0: the claim of a message overtaken by a newer one (the
  // two links of a pair are two TCP connections) is not applied. A slot
  // left unbound meanwhile (the sender's replica announced itself primary,
  // then a stale message of it as a replica unbound its slots) would
  // otherwise go to the overtaken claimer under the newer configEpoch we
  // know it by, an epoch it never claimed the slot with; an UPDATE built
  // from that view turns the slot's real owner into a replica and leaves
  // the slot unserved (sim sweep seed 702136).
  const bool stale_claim =
      sender->is_primary() && sender_config_epoch < sender->primary_epoch_heard;
  if (sender->is_primary() && !stale_claim) sender->primary_epoch_heard = sender_config_epoch;
  if (sender->is_primary() && dirty_slots && !stale_claim) {
    UpdateSlotsConfigWith(*sender, sender_config_epoch, hdr.myslots, ClaimSource::kOwnMessage);
  }
  // The source's side of an import of mine letting the slot go
  // (import_guards_). A node's entry ends once my configEpoch is above the
  // epoch it let the slot go with (its older claims lose anyway); the guard
  // ends with my ownership of the slot, or with its last entry.
  if (sender->is_primary()) {
    for (auto it = import_guards_.begin(); it != import_guards_.end();) {
      auto& sides = it->second.let_go_epochs;
      auto side = sides.find(sender->id);
      if (side != sides.end() && !hdr.myslots.Test(it->first)) {
        side->second = std::max(side->second, sender_config_epoch);
        if (me.config_epoch > side->second) sides.erase(side);
      }
      if (state_.SlotOwner(it->first) != &me || sides.empty()) {
        it = import_guards_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // The owner's own claim confirms what was loaded from nodes.conf.
  // (Word at a time: the sender's `slots` are the slots bound to it.)
  if (sender->is_primary() && !stale_claim && !unconfirmed_.Empty()) {
    for (int w = 0; w < slots::SlotSet::kWords; ++w) {
      unconfirmed_.ClearInWord(w, hdr.myslots.Word(w) & sender->slots.Word(w));
    }
  }
  if (dirty_slots) {
    // The sender claims slots we know a newer owner of: tell it (one UPDATE).
    // Only its claims of slots not bound to it are looked at.
    bool sent = false;
    for (int w = 0; w < slots::SlotSet::kWords && !sent; ++w) {
      for (uint64_t rest = hdr.myslots.Word(w) & ~sender->slots.Word(w); rest != 0;
           rest &= rest - 1) {
        const int s = w * 64 + std::countr_zero(rest);
        const ClusterNode* owner = state_.SlotOwner(s);
        if (!owner || NotClaiming(s) || Unconfirmed(s)) continue;
        if (owner->config_epoch > sender_config_epoch) {
          state_.Log(LogSeverity::kVerbose,
                     absl::StrCat("Node ", sender->id,
                                  " has old slots configuration, sending an UPDATE message about ",
                                  owner->id));
          SendUpdate(*sender, *owner);
          sent = true;
          break;
        }
      }
    }
  }

  if (me.is_primary() && sender->is_primary() && sender_config_epoch == me.config_epoch) {
    HandleConfigEpochCollision(*sender);
  }

  ProcessGossip(body, sender, now_ms);
  ProcessExtensions(body, *sender);
  return true;
}

void BusEngine::ProcessGossip(const PingBody& body, ClusterNode* sender, int64_t now_ms) {
  for (const GossipEntry& g : body.gossip) {
    ClusterNode* node = Lookup(g.node_id);
    if (node) {
      if (sender && sender->is_primary() && !node->is_myself()) {
        if (g.flags & kFailingFlags) {
          bool added = !node->fail_reports.count(sender->id);
          node->fail_reports[sender->id] = now_ms;
          if (added) {
            state_.Log(LogSeverity::kVerbose, absl::StrCat("Node ", sender->id, " reported node ",
                                                           node->id, " as not reachable."));
          }
          MarkNodeAsFailingIfNeeded(*node, now_ms);
        } else if (node->fail_reports.erase(sender->id)) {
          CountFailureReports(*node, now_ms);  // purges expired reports
          state_.Log(LogSeverity::kVerbose, absl::StrCat("Node ", sender->id, " reported node ",
                                                         node->id, " is back online."));
        }
      }
      // Others' pong times are good enough while we have no doubt ourselves.
      if (!(g.flags & kFailingFlags) && node->ping_sent_ms == 0 &&
          CountFailureReports(*node, now_ms) == 0) {
        int64_t pong_ms = static_cast<int64_t>(g.pong_received) * 1000;
        if (pong_ms <= now_ms + kGossipPongFutureToleranceMs && pong_ms > node->pong_received_ms) {
          node->pong_received_ms = pong_ms;
        }
      }
      // A node we cannot reach, seen elsewhere at another address: try that.
      if ((node->flags & kFailingFlags) && !(g.flags & kFlagNoAddr) && !(g.flags & kFailingFlags) &&
          (!EqualsIgnoreCase(node->ip, g.ip) || node->port != g.port || node->cport != g.cport)) {
        FreeOutbound(*node);
        node->ip = g.ip;
        node->port = g.port;
        node->pport = g.pport;
        node->cport = g.cport;
        node->flags &= ~kFlagNoAddr;
      }
    } else if (sender && !(g.flags & kFlagNoAddr) && IsValidNodeId(g.node_id) &&
               !state_.IsBanned(g.node_id, now_ms)) {
      // Learned from a trusted node: added with its real id, no handshake.
      ClusterNode& n = state_.AddNode(g.node_id, g.flags & ~kFlagMyself, now_ms);
      n.ip = g.ip;
      n.port = g.port;
      n.pport = g.pport;
      n.cport = g.cport;
    }
  }
}

void BusEngine::ProcessExtensions(const PingBody& body, ClusterNode& sender) {
  for (const PingExtension& ext : body.extensions) {
    if (ext.type != kPingExtHostname) {
      state_.Log(LogSeverity::kWarning, absl::StrCat("Received unknown extension type ", ext.type));
    }
  }
  // No hostname extension means "no hostname".
  sender.hostname = body.Hostname().value_or("");
}

bool BusEngine::UpdateAddressIfNeeded(ClusterNode& node, LinkId link_id, const MessageHeader& hdr) {
  if (LinksOf(node).outbound == link_id) return false;
  auto it = links_.find(link_id);
  if (it == links_.end()) return false;
  std::string ip = hdr.myip.empty() ? it->second.peer_ip : hdr.myip;
  if (ip.empty()) return false;
  if (node.port == hdr.port && node.cport == hdr.cport && node.pport == hdr.pport &&
      node.ip == ip) {
    return false;
  }
  node.ip = ip;
  node.port = hdr.port;
  node.pport = hdr.pport;
  node.cport = hdr.cport;
  FreeOutbound(node);
  node.flags &= ~kFlagNoAddr;
  state_.Log(LogSeverity::kWarning,
             absl::StrCat("Address updated for node ", node.id, ", now ", node.ip, ":", node.port));
  ClusterNode& me = state_.myself();
  if (me.is_replica() && me.primary == &node) state_.RequestReplication(node);
  return true;
}

void BusEngine::SetNodeAsPrimary(ClusterNode& node) {
  if (node.is_primary()) return;
  if (node.primary) {
    state_.SetPrimary(node, nullptr);
    if (!node.is_myself()) node.flags |= kFlagMigrateTo;
  }
  node.flags = (node.flags & ~kFlagReplica) | kFlagPrimary;
  state_.RequestSave(false);
  state_.RequestStateUpdate();
}

// Spec 9.3: rebinds the slots `sender` claims with a newer configEpoch, and
// follows the consequences for myself (demotion to replica, lost keys).
void BusEngine::UpdateSlotsConfigWith(ClusterNode& sender, uint64_t sender_config_epoch,
                                      const slots::SlotSet& claimed, ClaimSource source) {
  ClusterNode& me = state_.myself();
  if (&sender == &me) {
    state_.Log(LogSeverity::kWarning, "Discarding UPDATE message about myself.");
    return;
  }
  ClusterNode* cur_primary = me.is_primary() ? &me : me.primary;
  ClusterNode* new_primary = nullptr;
  std::vector<int> dirty_slots;
  int sender_slots = 0;
  int migrated_our_slots = 0;
  // Beyond Redis 7.0 (as Valkey 8 does with shard ids, which 7.0's bus does
  // not carry): a failover at the other end of a migration of mine. When
  // the sender, with a newer epoch, claims every slot of the node I import
  // from or migrate to, it is that node's promoted replica (which mirrored
  // the open slot): the migration goes on with the sender. Otherwise an
  // import from a failed-over source would keep the slot bound to the dead
  // node (the cluster down here until `--cluster fix`), and ASK would send
  // clients to a dead target. Decided before the loop rebinds anything.
  std::vector<const ClusterNode*> taken_over;
  if (me.is_primary() && state_.HasOpenSlots()) {
    auto takes_over = [&](const ClusterNode* n) {
      if (n == nullptr || n == &sender || n == &me || n->num_slots() == 0 ||
          n->config_epoch >= sender_config_epoch) {
        return false;
      }
      for (const slots::SlotRange& r : n->slots.Ranges()) {
        for (int s = r.start; s <= r.end; ++s) {
          if (!claimed.Test(s)) return false;
        }
      }
      return true;
    };
    for (int s = 0; s < kNumSlots; ++s) {
      for (const ClusterNode* n : {state_.ImportingFrom(s), state_.MigratingTo(s)}) {
        if (n == nullptr ||
            std::find(taken_over.begin(), taken_over.end(), n) != taken_over.end()) {
          continue;
        }
        if (takes_over(n)) taken_over.push_back(n);
      }
    }
  }
  auto was_taken_over = [&](const ClusterNode* n) {
    return n != nullptr && std::find(taken_over.begin(), taken_over.end(), n) != taken_over.end();
  };
  for (int s = 0; s < kNumSlots; ++s) {
    // 64 slots at a time where the claim is what the sender holds (the
    // sender's `slots` are exactly the slots bound to it): the claimed ones
    // are confirmed as claimed and nothing else changes. (A primary whose
    // claim lost to a newer epoch repeats it in every message.)
    if (s % 64 == 0 && taken_over.empty()) {
      const int w = s / 64;
      const uint64_t claim = claimed.Word(w);
      if (claim == sender.slots.Word(w)) {
        sender_slots += std::popcount(claim);
        not_claiming_.ClearInWord(w, claim);
        s += 63;
        continue;
      }
    }
    const ClusterNode* owner = state_.SlotOwner(s);
    if (me.is_primary() && was_taken_over(state_.MigratingTo(s))) {
      state_.Log(LogSeverity::kWarning,
                 absl::StrCat("Failover occurred in migration target. Slot ", s,
                              " is now being migrated to node ", sender.id, "."));
      state_.SetMigrating(s, &sender);
      state_.RequestSave(/*fsync=*/true);
    }
    if (me.is_primary() && was_taken_over(state_.ImportingFrom(s))) {
      state_.Log(LogSeverity::kWarning,
                 absl::StrCat("Failover occurred in migration source. Update importing source "
                              "for slot ",
                              s, " to node ", sender.id, "."));
      state_.SetImporting(s, &sender);
      state_.RequestSave(/*fsync=*/true);
    }
    if (claimed.Test(s)) {
      ++sender_slots;
      if (owner == &sender) {
        not_claiming_.Clear(s);
        continue;
      }
      if (owner == &me && StaleImportClaim(s, sender, sender_config_epoch, source)) continue;
      // Slots I am importing only change through SETSLOT. A replica's
      // importing marks (mirrored from its primary's stream) do not hold
      // the gossip back: its view follows the cluster as in Redis 7.0.
      // (An import from the sender itself, after the takeover above, lets
      // the slot follow it.)
      if (state_.ImportingFrom(s) && me.is_primary() && state_.ImportingFrom(s) != &sender) {
        continue;
      }
      bool unclaimed = !owner || NotClaiming(s);
      if (unclaimed || owner->config_epoch < sender_config_epoch) {
        if (owner == &me) dirty_slots.push_back(s);
        if (cur_primary && owner == cur_primary) {
          new_primary = &sender;
          ++migrated_our_slots;
        }
        // The end of a migration from me to the sender (it closed the
        // import first, as redis-cli does): the same change as the SETSLOT
        // NODE the tool sends me next, which Redis saves without fsync; so
        // here, and the race between the sender's PONG and that SETSLOT
        // costs no disk flush per slot. Other rebindings (failovers,
        // healed partitions) are fsynced, as Redis does.
        const bool handoff = owner == &me && state_.MigratingTo(s) == &sender;
        state_.BindSlot(s, sender);
        not_claiming_.Clear(s);
        unconfirmed_.Clear(s);
        state_.RequestSave(/*fsync=*/!handoff);
        state_.RequestStateUpdate();
      }
    } else if (owner == &sender) {
      // Keep the binding (no client errors meanwhile), but let anyone take it.
      not_claiming_.Set(s);
    }
  }

  if (new_primary && cur_primary->num_slots() == 0 &&
      (state_.options().allow_replica_migration || sender_slots == migrated_our_slots)) {
    state_.Log(LogSeverity::kWarning,
               absl::StrCat("Configuration change detected. Reconfiguring myself as a replica of ",
                            sender.id));
    state_.BecomeReplicaOf(sender);
    ResetManualFailover();
    state_.RequestSave(/*fsync=*/true);
    state_.RequestStateUpdate();
  } else if (me.primary && me.primary->primary && me.primary->primary != &me) {
    ClusterNode& grand = *me.primary->primary;
    state_.Log(LogSeverity::kWarning,
               absl::StrCat("I'm a sub-replica! Reconfiguring myself as a replica of grandmaster ",
                            grand.id));
    state_.BecomeReplicaOf(grand);
    ResetManualFailover();
    state_.RequestSave(/*fsync=*/true);
    state_.RequestStateUpdate();
  } else if (!dirty_slots.empty()) {
    state_.RequestDeleteKeysInSlots(dirty_slots);
  }
}

// Spec 9.2: of two primaries with the same configEpoch, the one with the
// smaller id moves to a new epoch; the larger id never moves.
void BusEngine::HandleConfigEpochCollision(ClusterNode& sender) {
  ClusterNode& me = state_.myself();
  if (sender.config_epoch != me.config_epoch || !sender.is_primary() || !me.is_primary()) return;
  if (sender.id <= me.id || state_.collision_bumps_held()) return;
  state_.set_current_epoch(state_.current_epoch() + 1);
  me.config_epoch = state_.current_epoch();
  state_.RequestSave(/*fsync=*/true);
  state_.Log(LogSeverity::kVerbose,
             absl::StrCat("WARNING: configEpoch collision with node ", sender.id,
                          ". configEpoch set to ", me.config_epoch));
}

int BusEngine::CountFailureReports(ClusterNode& node, int64_t now_ms) {
  const int64_t validity = state_.options().node_timeout_ms * kFailReportValidityMult;
  for (auto it = node.fail_reports.begin(); it != node.fail_reports.end();) {
    if (now_ms - it->second > validity) {
      it = node.fail_reports.erase(it);
    } else {
      ++it;
    }
  }
  return static_cast<int>(node.fail_reports.size());
}

void BusEngine::MarkNodeAsFailingIfNeeded(ClusterNode& node, int64_t now_ms) {
  const int needed_quorum = state_.size() / 2 + 1;
  if (!(node.flags & kFlagPfail)) return;  // we can reach it
  if (node.flags & kFlagFail) return;
  int failures = CountFailureReports(node, now_ms);
  if (state_.myself().is_primary()) ++failures;  // my own opinion counts
  if (failures < needed_quorum) return;
  state_.Log(LogSeverity::kNotice,
             absl::StrCat("Marking node ", node.id, " as failing (quorum reached)."));
  node.flags = (node.flags & ~kFlagPfail) | kFlagFail;
  node.fail_time_ms = now_ms;
  Message msg;
  msg.header = BuildHeader(MessageType::kFail);
  msg.body = FailBody{node.id};
  Broadcast(msg);
  state_.RequestStateUpdate();
  state_.RequestSave(false);
}

void BusEngine::ClearNodeFailureIfNeeded(ClusterNode& node, int64_t now_ms) {
  if (node.is_replica() || node.num_slots() == 0) {
    state_.Log(LogSeverity::kNotice,
               absl::StrCat("Clear FAIL state for node ", node.id, ": ",
                            node.is_replica() ? "replica" : "master without slots",
                            " is reachable again."));
    node.flags &= ~kFlagFail;
    state_.RequestStateUpdate();
    state_.RequestSave(false);
  }
  if (node.is_primary() && node.num_slots() > 0 &&
      now_ms - node.fail_time_ms > state_.options().node_timeout_ms * kFailUndoTimeMult) {
    state_.Log(LogSeverity::kNotice,
               absl::StrCat("Clear FAIL state for node ", node.id,
                            ": is reachable again and nobody is serving its slots after some "
                            "time."));
    node.flags &= ~kFlagFail;
    state_.RequestStateUpdate();
    state_.RequestSave(false);
  }
}

}  // namespace shardnode::clusterbus
