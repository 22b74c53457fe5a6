#include "clusterbus/bus_engine.h"

#include <string>
#include <vector>

#include "clusterbus/codec/codec.h"
#include "clusterbus/ready_testing.h"
#include "gtest/gtest.h"

namespace shardnode::clusterbus {
namespace {

const std::string kMe(40, 'm');
const std::string kB = std::string(39, 'b') + "1";
const std::string kC = std::string(39, 'c') + "2";
constexpr int64_t kTimeout = 1000;

class FakeNode : public NodeView {
 public:
  uint64_t ReplicationOffset() const override { return 77; }
};

std::vector<Message> DecodeAll(std::string_view bytes) {
  std::vector<Message> out;
  while (!bytes.empty()) {
    size_t consumed = 0;
    Message m;
    EXPECT_EQ(Decode(bytes, &consumed, &m, nullptr), DecodeStatus::kMessage);
    if (consumed == 0) break;
    out.push_back(std::move(m));
    bytes.remove_prefix(consumed);
  }
  return out;
}

class BusEngineTest : public ::testing::Test {
 protected:
  BusEngineTest() : BusEngineTest(nullptr) {}
  // `loaded` fills the state before the engine starts, as nodes.conf does.
  explicit BusEngineTest(void (*loaded)(ClusterState&))
      : state_(kMe, Options()), engine_(Loaded(state_, loaded), node_, 42) {
    state_.myself().ip = "10.0.0.1";
    state_.myself().port = 7000;
    state_.myself().cport = 17000;
  }

  static ClusterState& Loaded(ClusterState& state, void (*loaded)(ClusterState&)) {
    if (loaded) loaded(state);
    return state;
  }

  static ClusterOptions Options() {
    ClusterOptions o;
    o.node_timeout_ms = kTimeout;
    return o;
  }

  // Messages sent on `link` since the last call (other actions are kept).
  std::vector<Message> Sent(LinkId link) {
    std::vector<Message> out;
    for (const ReadyItem& a : TakeAll()) {
      if (auto* s = std::get_if<SendAction>(&a); s && s->link == link) {
        for (Message& m : DecodeAll(s->bytes)) out.push_back(std::move(m));
      }
    }
    return out;
  }

  // Moves what the engine decided into pending_ (link actions) and
  // effects_ (the state's effects).
  void Pump() {
    for (ReadyItem& item : engine_.TakeReady(now_).items) {
      (IsLinkAction(item) ? pending_ : effects_).push_back(std::move(item));
    }
  }
  std::vector<ReadyItem> TakeAll() {
    Pump();
    return std::exchange(pending_, {});
  }
  // The state's effects since the last call (link actions are kept).
  ReadySummary TakeEffects() {
    Pump();
    return Summarize(Ready{std::exchange(effects_, {})});
  }

  Message FromPeer(MessageType type, const std::string& sender, uint64_t config_epoch = 0) {
    Message m;
    m.header.type = type;
    m.header.sender = sender;
    m.header.port = 7001;
    m.header.cport = 17001;
    m.header.flags = kFlagPrimary;
    m.header.config_epoch = config_epoch;
    if (IsPingType(type)) {
      m.body = PingBody{};
    } else if (type == MessageType::kFail) {
      m.body = FailBody{};
    } else if (type == MessageType::kUpdate) {
      m.body = UpdateBody{};
    } else if (type == MessageType::kPublish || type == MessageType::kPublishShard) {
      m.body = PublishBody{};
    } else {
      m.body = EmptyBody{};
    }
    return m;
  }

  // An UPDATE from `sender` about node `about`: its slots first..last at
  // `config_epoch`.
  Message UpdateAbout(const std::string& sender, const std::string& about, uint64_t config_epoch,
                      int first, int last) {
    Message m = FromPeer(MessageType::kUpdate, sender, 2);
    auto& body = std::get<UpdateBody>(m.body);
    body.node_id = about;
    body.config_epoch = config_epoch;
    body.slots.SetRange(first, last);
    return m;
  }

  // A known primary with an established outbound link `out` and inbound
  // link `in` (identified by a first PING).
  ClusterNode& Known(const std::string& id, LinkId out, LinkId in, int first_slot, int last_slot,
                     uint64_t epoch) {
    ClusterNode& n = state_.AddNode(id, kFlagPrimary, 0);
    n.ip = "10.0.0." + std::to_string(out);
    n.port = 7000;
    n.cport = 17000;
    n.config_epoch = epoch;
    for (int s = first_slot; s <= last_slot; ++s) state_.BindSlot(s, n);
    return Connect(n, out, in);
  }

  // Connects a known primary (as Known) that claims the slots it owns.
  ClusterNode& Connect(ClusterNode& n, LinkId out, LinkId in) {
    const std::string id = n.id;
    const uint64_t epoch = n.config_epoch;
    n.pong_received_ms = now_;
    engine_.Tick(now_);  // connects
    engine_.OnOutboundConnected(out, id, now_);
    engine_.OnInboundAccepted(in, n.ip, now_, "10.0.0.1");
    Message ping = FromPeer(MessageType::kPing, id, epoch);
    ping.header.myslots = n.slots;
    ping.header.port = 7000;
    ping.header.cport = 17000;
    engine_.OnMessage(in, ping, now_);
    // Answer the PING the connect sent.
    Message pong = FromPeer(MessageType::kPong, id, epoch);
    pong.header.myslots = n.slots;
    pong.header.port = 7000;
    pong.header.cport = 17000;
    engine_.OnMessage(out, pong, now_);
    TakeAll();
    return n;
  }

  FakeNode node_;
  ClusterState state_;
  BusEngine engine_;
  std::vector<ReadyItem> pending_;
  std::vector<ReadyItem> effects_;
  int64_t now_ = 100000;
};

TEST_F(BusEngineTest, MeetValidatesAddressAndCreatesOneHandshakeNode) {
  absl::Status bad = engine_.Meet("localhost", 7001, 17001, now_);
  EXPECT_EQ(bad.message(), "Invalid node address specified: localhost:7001");
  EXPECT_FALSE(engine_.Meet("10.0.0.2", 0, 10000, now_).ok());
  ASSERT_TRUE(engine_.Meet("10.0.0.2", 7001, 17001, now_).ok());
  ASSERT_TRUE(engine_.Meet("10.0.0.2", 7001, 17001, now_).ok());
  EXPECT_EQ(state_.num_nodes(), 2u);
  const ClusterNode* hs = nullptr;
  for (const auto& [id, n] : state_.nodes()) {
    if (!n->is_myself()) hs = n.get();
  }
  ASSERT_NE(hs, nullptr);
  EXPECT_TRUE(IsValidNodeId(hs->id));
  EXPECT_EQ(hs->flags, kFlagHandshake | kFlagMeet);
  EXPECT_NE(state_.NodesText().find(" 10.0.0.2:7001@17001 handshake - 0 0 0 disconnected"),
            std::string::npos);
}

TEST_F(BusEngineTest, HandshakeSendsMeetThenRenamesOnFirstPong) {
  ASSERT_TRUE(engine_.Meet("10.0.0.2", 7001, 17001, now_).ok());
  engine_.Tick(now_);
  auto actions = TakeAll();
  ASSERT_EQ(actions.size(), 1u);
  auto* connect = std::get_if<ConnectAction>(&actions[0]);
  ASSERT_NE(connect, nullptr);
  EXPECT_EQ(connect->ip, "10.0.0.2");
  EXPECT_EQ(connect->cport, 17001);
  const std::string temp_id = connect->node_id;

  engine_.OnOutboundConnected(5, temp_id, now_);
  auto sent = Sent(5);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header.type, MessageType::kMeet);
  EXPECT_EQ(sent[0].header.sender, kMe);
  EXPECT_EQ(sent[0].header.port, 7000);
  EXPECT_EQ(sent[0].header.cport, 17000);
  EXPECT_EQ(sent[0].header.offset, 77u);
  EXPECT_EQ(sent[0].header.flags, kFlagMyself | kFlagPrimary);
  EXPECT_FALSE(state_.FindNode(temp_id)->flags & kFlagMeet);
  EXPECT_TRUE(state_.FindNode(temp_id)->link_connected);

  TakeEffects();
  engine_.OnMessage(5, FromPeer(MessageType::kPong, kB), now_ + 10);
  EXPECT_EQ(state_.FindNode(temp_id), nullptr);
  ClusterNode* b = state_.FindNode(kB);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->flags, kFlagPrimary);
  EXPECT_EQ(b->pong_received_ms, now_ + 10);
  EXPECT_TRUE(TakeEffects().save_config);
  auto links = engine_.Links();
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].node_id, kB);
  EXPECT_TRUE(links[0].outbound);
}

TEST_F(BusEngineTest, PingFromUnknownGetsPongButCreatesNothing) {
  engine_.OnInboundAccepted(9, "10.0.0.9", now_, "10.0.0.1");
  engine_.OnMessage(9, FromPeer(MessageType::kPing, kB), now_);
  auto sent = Sent(9);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header.type, MessageType::kPong);
  EXPECT_EQ(state_.num_nodes(), 1u);
  EXPECT_EQ(state_.messages_received()[0], 1u);
  EXPECT_EQ(state_.messages_sent()[1], 1u);
}

TEST_F(BusEngineTest, MeetFromUnknownAddsHandshakeNodeAndLearnsMyIp) {
  state_.myself().ip.clear();
  engine_.OnInboundAccepted(9, "10.0.0.9", now_, "10.0.0.1");
  engine_.OnMessage(9, FromPeer(MessageType::kMeet, kB), now_);
  EXPECT_EQ(state_.myself().ip, "10.0.0.1");
  ASSERT_EQ(state_.num_nodes(), 2u);
  for (const auto& [id, n] : state_.nodes()) {
    if (n->is_myself()) continue;
    EXPECT_NE(id, kB);  // a random id until our own PING is answered
    EXPECT_EQ(n->flags, kFlagHandshake);
    EXPECT_EQ(n->ip, "10.0.0.9");
    EXPECT_EQ(n->port, 7001);
    EXPECT_EQ(n->cport, 17001);
  }
  ASSERT_EQ(Sent(9).size(), 1u);
}

TEST_F(BusEngineTest, PongWithWrongIdForgetsTheAddress) {
  Known(kB, 1, 2, 0, 10, 1);
  engine_.OnMessage(1, FromPeer(MessageType::kPong, kC), now_);
  const ClusterNode* b = state_.FindNode(kB);
  EXPECT_TRUE(b->flags & kFlagNoAddr);
  EXPECT_EQ(b->ip, "");
  EXPECT_EQ(b->port, 0);
  EXPECT_FALSE(b->link_connected);
  bool closed = false;
  for (const ReadyItem& a : TakeAll()) {
    if (auto* c = std::get_if<CloseAction>(&a)) closed |= c->link == 1;
  }
  EXPECT_TRUE(closed);
  // No reconnect without an address.
  engine_.Tick(now_ + 100);
  for (const ReadyItem& a : TakeAll()) EXPECT_FALSE(std::holds_alternative<ConnectAction>(a));
}

TEST_F(BusEngineTest, GossipAddsNodesFromKnownSendersUnlessBannedOrNoaddr) {
  Known(kB, 1, 2, 0, 10, 1);
  const std::string kD = std::string(39, 'd') + "3";
  const std::string kE = std::string(39, 'e') + "4";
  ASSERT_TRUE(state_.Forget(kC, now_).ok() == false);  // unknown yet
  state_.AddNode(kC, kFlagPrimary, now_);
  ASSERT_TRUE(state_.Forget(kC, now_).ok());
  Message ping = FromPeer(MessageType::kPing, kB, 1);
  ping.header.myslots = state_.FindNode(kB)->slots;
  auto& gossip = std::get<PingBody>(ping.body).gossip;
  gossip.push_back({kC, 0, 0, "10.0.0.3", 7000, 17000, kFlagPrimary, 0});
  gossip.push_back({kD, 0, 0, "10.0.0.4", 7000, 17000, kFlagPrimary, 0});
  gossip.push_back({kE, 0, 0, "", 0, 0, kFlagPrimary | kFlagNoAddr, 0});
  engine_.OnMessage(2, ping, now_ + 1000);
  EXPECT_EQ(state_.FindNode(kC), nullptr);  // banned for 60 s
  ASSERT_NE(state_.FindNode(kD), nullptr);
  EXPECT_EQ(state_.FindNode(kD)->ip, "10.0.0.4");
  EXPECT_EQ(state_.FindNode(kE), nullptr);
  engine_.OnMessage(2, ping, now_ + 61000);
  EXPECT_NE(state_.FindNode(kC), nullptr);
}

TEST_F(BusEngineTest, PfailAfterTimeoutThenFailWithMajorityAndBroadcast) {
  Known(kB, 1, 2, 0, 5000, 1);
  Known(kC, 3, 4, 5001, 16383, 2);
  state_.UpdateState(0);  // the first evaluation starts the writable delay
  state_.UpdateState(now_);
  ASSERT_EQ(state_.size(), 2);  // B and C serve slots; quorum is 2
  // Ping B and get no answer; C keeps answering.
  int64_t t = now_;
  bool update_requested = false;  // TakeAll runs the evaluation it asks for
  for (int i = 0; i < 30; ++i) {
    t += 100;
    engine_.Tick(t);
    update_requested |= state_.update_state_requested();
    for (const ReadyItem& a : TakeAll()) {
      auto* s = std::get_if<SendAction>(&a);
      if (!s || s->link != 3) continue;
      for (const Message& m : DecodeAll(s->bytes)) {
        if (m.header.type != MessageType::kPing) continue;
        Message pong = FromPeer(MessageType::kPong, kC, 2);
        pong.header.myslots = state_.FindNode(kC)->slots;
        pong.header.port = 7000;
        pong.header.cport = 17000;
        engine_.OnMessage(3, pong, t);
      }
    }
  }
  const ClusterNode* b = state_.FindNode(kB);
  EXPECT_TRUE(b->flags & kFlagPfail);
  EXPECT_FALSE(state_.FindNode(kC)->flags & kFlagPfail);
  EXPECT_TRUE(update_requested);
  // C (a primary) reports B as failing: 1 report + myself (a primary, even
  // without slots) = 2.
  Message ping = FromPeer(MessageType::kPing, kC, 2);
  ping.header.myslots = state_.FindNode(kC)->slots;
  ping.header.port = 7000;
  ping.header.cport = 17000;
  std::get<PingBody>(ping.body).gossip.push_back(
      {kB, 0, 0, "10.0.0.1", 7000, 17000, kFlagPrimary | kFlagPfail, 0});
  engine_.OnMessage(4, ping, t);
  EXPECT_EQ(*state_.CountFailureReports(kB, t), 1);
  EXPECT_TRUE(b->flags & kFlagFail);
  EXPECT_FALSE(b->flags & kFlagPfail);
  EXPECT_EQ(b->fail_time_ms, t);
  bool fail_to_c = false;
  for (const Message& m : Sent(3)) {
    if (m.header.type == MessageType::kFail) {
      fail_to_c = true;
      EXPECT_EQ(std::get<FailBody>(m.body).node_id, kB);
    }
  }
  EXPECT_TRUE(fail_to_c);
}

TEST_F(BusEngineTest, FailMessageOnlyFromKnownSenders) {
  Known(kB, 1, 2, 0, 10, 1);
  Known(kC, 3, 4, 11, 20, 2);
  Message fail = FromPeer(MessageType::kFail, std::string(40, 'f'));
  std::get<FailBody>(fail.body).node_id = kC;
  engine_.OnMessage(2, fail, now_);  // link 2 belongs to B: the sender is B
  EXPECT_TRUE(state_.FindNode(kC)->flags & kFlagFail);
  engine_.OnInboundAccepted(9, "10.0.0.9", now_, "");
  fail.header.sender = std::string(40, 'f');
  std::get<FailBody>(fail.body).node_id = kB;
  engine_.OnMessage(9, fail, now_);
  EXPECT_FALSE(state_.FindNode(kB)->flags & kFlagFail);
}

TEST_F(BusEngineTest, ConfigEpochCollisionMovesTheSmallerId) {
  // kMe ("mmm...") > kB ("bbb...1"): B's message leaves me alone.
  state_.myself().config_epoch = 5;
  state_.set_current_epoch(5);
  Known(kB, 1, 2, 0, 10, 5);
  EXPECT_EQ(state_.myself().config_epoch, 5u);
  // A sender with a larger id makes me move.
  const std::string kZ(40, 'z');
  Known(kZ, 3, 4, 11, 20, 5);
  EXPECT_EQ(state_.myself().config_epoch, 6u);
  EXPECT_EQ(state_.current_epoch(), 6u);
  EXPECT_TRUE(TakeEffects().fsync_config);
}

// An atomic migration's source, from FINISH to the job's end: its epoch
// went to the target, whose claim must stay above it, so a collision waits.
TEST_F(BusEngineTest, HeldCollisionWaitsForTheRelease) {
  state_.myself().config_epoch = 5;
  state_.set_current_epoch(5);
  state_.set_collision_bumps_held(true);
  const std::string kZ(40, 'z');
  Known(kZ, 3, 4, 11, 20, 5);
  EXPECT_EQ(state_.myself().config_epoch, 5u);
  EXPECT_EQ(state_.current_epoch(), 5u);
  // Released: the next message from Z resolves it.
  state_.set_collision_bumps_held(false);
  Message ping = FromPeer(MessageType::kPing, kZ, 5);
  ping.header.myslots.SetRange(11, 20);
  ping.header.port = 7000;
  ping.header.cport = 17000;
  engine_.OnMessage(4, ping, now_);
  EXPECT_EQ(state_.myself().config_epoch, 6u);
}

TEST_F(BusEngineTest, NewerClaimRebindsSlotsAndStaleClaimGetsUpdate) {
  Known(kB, 1, 2, 0, 99, 1);
  Known(kC, 3, 4, 100, 199, 2);
  // C claims 0..199 with epoch 3: B's slots move to C.
  Message ping = FromPeer(MessageType::kPing, kC, 3);
  ping.header.myslots.SetRange(0, 199);
  ping.header.port = 7000;
  ping.header.cport = 17000;
  engine_.OnMessage(4, ping, now_);
  EXPECT_EQ(state_.SlotOwner(0)->id, kC);
  EXPECT_EQ(state_.FindNode(kC)->config_epoch, 3u);
  // B still claims 0..99 with epoch 1: it is told about C.
  Message stale = FromPeer(MessageType::kPing, kB, 1);
  stale.header.myslots.SetRange(0, 99);
  stale.header.port = 7000;
  stale.header.cport = 17000;
  engine_.OnMessage(2, stale, now_);
  EXPECT_EQ(state_.SlotOwner(0)->id, kC);
  auto sent = Sent(1);
  ASSERT_FALSE(sent.empty());
  const Message& update = sent.back();
  ASSERT_EQ(update.header.type, MessageType::kUpdate);
  const auto& body = std::get<UpdateBody>(update.body);
  EXPECT_EQ(body.node_id, kC);
  EXPECT_EQ(body.config_epoch, 3u);
  EXPECT_EQ(body.slots.Count(), 200);
}

// A newer configEpoch in a message whose slots are not looked at (here a
// PUBLISH) waits for the sender's next ping. B handed slot 0 to C, then
// bumped its epoch: its old claim of slot 0 must not become a claim at the
// new epoch, or C would be told (UPDATE) to give slot 0 back and nobody
// would claim it (sweep seed 188).
TEST_F(BusEngineTest, ConfigEpochWaitsForTheSlotsItGoesWith) {
  Known(kB, 1, 2, 0, 99, 5);
  Known(kC, 3, 4, 100, 199, 4);
  engine_.OnMessage(2, FromPeer(MessageType::kPublish, kB, 7), now_);
  EXPECT_EQ(state_.FindNode(kB)->config_epoch, 5u);
  // C took slot 0 with epoch 6 (SETSLOT NODE after its import).
  Message ping = FromPeer(MessageType::kPing, kC, 6);
  ping.header.myslots.Set(0);
  ping.header.myslots.SetRange(100, 199);
  ping.header.port = 7000;
  ping.header.cport = 17000;
  engine_.OnMessage(4, ping, now_);
  EXPECT_EQ(state_.SlotOwner(0)->id, kC);
  for (const Message& m : Sent(3)) EXPECT_NE(m.header.type, MessageType::kUpdate);
  // B's next ping brings the epoch with the slots it now claims.
  Message pong = FromPeer(MessageType::kPong, kB, 7);
  pong.header.myslots.SetRange(1, 99);
  pong.header.port = 7000;
  pong.header.cport = 17000;
  engine_.OnMessage(1, pong, now_);
  EXPECT_EQ(state_.FindNode(kB)->config_epoch, 7u);
  EXPECT_EQ(state_.SlotOwner(0)->id, kC);
  EXPECT_EQ(state_.SlotOwner(1)->id, kB);
  // A node that owns no slots here takes the epoch from any message.
  const std::string kD(40, 'd');
  Known(kD, 5, 6, 1, 0, 2);
  engine_.OnMessage(6, FromPeer(MessageType::kPublish, kD, 9), now_);
  EXPECT_EQ(state_.FindNode(kD)->config_epoch, 9u);
}

// A primary's configEpoch never goes down: B's message with epoch 5 that
// arrives (on its other link) after one with epoch 7 is stale, and so is
// its claim. Sweep seed 702136: B let slots 0..49 go to C at epoch 7; a
// stale message of C as a replica unbound them here; B's stale claim took
// them, under the epoch 7 known for B, and C's claims lost to it.
TEST_F(BusEngineTest, OvertakenClaimOfAPrimaryIsNotApplied) {
  Known(kB, 1, 2, 0, 99, 5);
  Known(kC, 3, 4, 100, 199, 4);
  auto message = [&](MessageType type, const std::string& id, uint64_t epoch, int first, int last) {
    Message m = FromPeer(type, id, epoch);
    m.header.myslots.SetRange(first, last);
    m.header.port = 7000;
    m.header.cport = 17000;
    return m;
  };
  Message claim = message(MessageType::kPing, kC, 6, 0, 49);
  claim.header.myslots.SetRange(100, 199);
  engine_.OnMessage(4, claim, now_);
  engine_.OnMessage(2, message(MessageType::kPing, kB, 7, 50, 99), now_);
  EXPECT_EQ(state_.SlotOwner(0)->id, kC);
  // C's stale message from when it was a replica unbinds its slots (as
  // Redis does).
  Message as_replica = message(MessageType::kPong, kC, 4, 0, -1);
  as_replica.header.flags = kFlagReplica;
  as_replica.header.slaveof = kB;
  engine_.OnMessage(3, as_replica, now_);
  EXPECT_EQ(state_.SlotOwner(0), nullptr);
  // B's overtaken claim of 0..99.
  engine_.OnMessage(1, message(MessageType::kPong, kB, 5, 0, 99), now_);
  EXPECT_EQ(state_.FindNode(kB)->config_epoch, 7u);
  EXPECT_EQ(state_.SlotOwner(0), nullptr);
  EXPECT_EQ(state_.SlotOwner(50)->id, kB);
  // C's next claim takes its slots back.
  engine_.OnMessage(4, claim, now_);
  EXPECT_EQ(state_.SlotOwner(0)->id, kC);
  // B's current claims still apply.
  engine_.OnMessage(2, message(MessageType::kPing, kB, 8, 0, 99), now_);
  EXPECT_EQ(state_.SlotOwner(0)->id, kB);
}

// My import of slot 0 from B ended (SETSLOT NODE myself) with a configEpoch
// below B's, my view of the epochs being stale: B's claims of slot 0 from
// before it let the slot go are stale and leave it with me (the sweep's
// stale-target-epoch seeds, e.g. 200389 of 3-12 nodes); a claim with an
// epoch newer than the one B let the slot go with takes it back as usual.
TEST_F(BusEngineTest, ImportedSlotIgnoresTheSourcesStaleClaims) {
  state_.set_current_epoch(3);
  ASSERT_TRUE(state_.SetConfigEpoch(3).ok());
  Known(kB, 1, 2, 0, 99, 5);
  ASSERT_TRUE(state_.SetSlotImporting(0, kB).ok());
  ASSERT_TRUE(state_.SetSlotNode(0, kMe, 0).ok());
  EXPECT_EQ(state_.myself().config_epoch, 4u);
  TakeAll();
  auto claim = [&](LinkId link, uint64_t epoch, int first) {
    Message ping = FromPeer(MessageType::kPing, kB, epoch);
    ping.header.myslots.SetRange(first, 99);
    ping.header.port = 7000;
    ping.header.cport = 17000;
    engine_.OnMessage(link, ping, now_);
  };
  claim(2, 5, 0);  // sent before B let slot 0 go
  EXPECT_EQ(state_.SlotOwner(0), &state_.myself());
  claim(2, 5, 1);  // B lets it go with epoch 5
  claim(2, 5, 0);  // a stale one coming late
  EXPECT_EQ(state_.SlotOwner(0), &state_.myself());
  claim(2, 7, 0);  // B took it back later
  EXPECT_EQ(state_.SlotOwner(0)->id, kB);
}

// Until B is seen letting the slot go, its own claims are held back for two
// node timeouts only: B may have taken the slot back (a new import of its
// own) before any ping of it showed me the slot let go. An UPDATE about B
// (a third node's view of B, which may predate the handoff however old it
// is) stays held back past that: sweep seed 710074.
TEST_F(BusEngineTest, ImportGuardWithoutLetGoLastsTwoNodeTimeouts) {
  state_.set_current_epoch(3);
  ASSERT_TRUE(state_.SetConfigEpoch(3).ok());
  Known(kB, 1, 2, 0, 99, 5);
  Known(kC, 3, 4, 100, 199, 2);
  ASSERT_TRUE(state_.SetSlotImporting(0, kB).ok());
  ASSERT_TRUE(state_.SetSlotNode(0, kMe, 0).ok());
  TakeAll();
  Message ping = FromPeer(MessageType::kPing, kB, 6);
  ping.header.myslots.SetRange(0, 99);
  ping.header.port = 7000;
  ping.header.cport = 17000;
  now_ += 2 * kTimeout - 1;
  engine_.OnMessage(2, ping, now_);
  EXPECT_EQ(state_.SlotOwner(0), &state_.myself());
  now_ += 2;
  engine_.OnMessage(4, UpdateAbout(kC, kB, 7, 0, 99), now_);
  EXPECT_EQ(state_.SlotOwner(0), &state_.myself());
  EXPECT_EQ(state_.FindNode(kB)->config_epoch, 7u);
  ping.header.config_epoch = 7;
  engine_.OnMessage(2, ping, now_);
  EXPECT_EQ(state_.SlotOwner(0)->id, kB);
}

// B's replica C took B's slots over (a failover or TAKEOVER, epoch 7)
// before my import of slot 0 from B ended with epoch 4, and was then told
// of the handoff (SETSLOT NODE on every primary): its claims of slot 0 from
// before that are stale too, or nobody would claim the slot (sweep seeds
// 100076, 200084, 400292, 500912). A later claim, newer than the epoch C
// let the slot go with, takes it as usual.
TEST_F(BusEngineTest, ImportedSlotIgnoresStaleClaimsOfTheSourcesReplicas) {
  state_.set_current_epoch(3);
  ASSERT_TRUE(state_.SetConfigEpoch(3).ok());
  ClusterNode& b = Known(kB, 1, 2, 0, 99, 5);
  ClusterNode& c = Known(kC, 3, 4, 1, 0, 2);
  c.flags = kFlagReplica;
  state_.SetPrimary(c, &b);
  ASSERT_TRUE(state_.SetSlotImporting(0, kB).ok());
  ASSERT_TRUE(state_.SetSlotNode(0, kMe, 0).ok());
  EXPECT_EQ(state_.myself().config_epoch, 4u);
  TakeAll();
  auto claim = [&](uint64_t epoch, int first) {
    Message ping = FromPeer(MessageType::kPing, kC, epoch);
    ping.header.myslots.SetRange(first, 99);
    ping.header.port = 7000;
    ping.header.cport = 17000;
    engine_.OnMessage(4, ping, now_);
  };
  claim(7, 0);  // C as a primary, with B's slots from before the handoff
  EXPECT_EQ(state_.SlotOwner(0), &state_.myself());
  EXPECT_EQ(state_.SlotOwner(1)->id, kC);
  claim(7, 1);  // C lets slot 0 go (SETSLOT 0 NODE me)
  claim(7, 0);  // a stale one coming late
  EXPECT_EQ(state_.SlotOwner(0), &state_.myself());
  claim(9, 0);  // C took it back later
  EXPECT_EQ(state_.SlotOwner(0)->id, kC);
}

// Started from a nodes.conf that binds slots 0..99 to B (configEpoch 5).
class LoadedBusEngineTest : public BusEngineTest {
 protected:
  LoadedBusEngineTest() : BusEngineTest(&Load) {}
  static void Load(ClusterState& state) {
    ClusterNode& b = state.AddNode(kB, kFlagPrimary, 0);
    b.ip = "10.0.0.1";
    b.port = 7000;
    b.cport = 17000;
    b.config_epoch = 5;
    for (int s = 0; s <= 99; ++s) state.BindSlot(s, b);
  }
};

// What the file binds to another node goes into no UPDATE until that node
// claims it: B may have handed slot 0 to C (SETSLOT NODE) while I was
// down, and C, whose epoch is below B's, must not lose slot 0 on the word
// of my file alone (sweep seed 100164). The binding itself stays.
TEST_F(LoadedBusEngineTest, LoadedSlotsAreAdvertisedOnceTheirOwnerClaimsThem) {
  Known(kC, 3, 4, 100, 199, 3);
  Message ping = FromPeer(MessageType::kPing, kC, 3);
  ping.header.myslots.Set(0);
  ping.header.myslots.SetRange(100, 199);
  ping.header.port = 7000;
  ping.header.cport = 17000;
  engine_.OnMessage(4, ping, now_);
  EXPECT_EQ(state_.SlotOwner(0)->id, kB);
  for (const Message& m : Sent(3)) EXPECT_NE(m.header.type, MessageType::kUpdate);
  // B claims its slots: now C's stale claim is answered.
  Connect(*state_.FindNode(kB), 1, 2);
  engine_.OnMessage(4, ping, now_);
  auto sent = Sent(3);
  ASSERT_FALSE(sent.empty());
  ASSERT_EQ(sent.back().header.type, MessageType::kUpdate);
  const auto& body = std::get<UpdateBody>(sent.back().body);
  EXPECT_EQ(body.node_id, kB);
  EXPECT_EQ(body.config_epoch, 5u);
  EXPECT_EQ(body.slots.Count(), 100);
}

// A failover at the other end of my migrations: the promoted replica (it
// claims every slot of the old node with a newer epoch) is who I now import
// from (the slot follows it) or migrate to. Claiming only part of them, or
// with an older epoch, changes nothing; an import still ignores other claims.
TEST_F(BusEngineTest, MigrationFollowsAFailoverAtTheOtherEnd) {
  const std::string kB2 = std::string(39, 'd') + "3";
  const std::string kC2 = std::string(39, 'e') + "4";
  slots::SlotRange mine{200, 299};
  ASSERT_TRUE(state_.ChangeSlots({&mine, 1}, false).ok());
  state_.myself().config_epoch = 3;
  ClusterNode& b = Known(kB, 1, 2, 0, 99, 1);
  ClusterNode& c = Known(kC, 3, 4, 100, 199, 2);
  Known(kB2, 5, 6, 1, 0, 0);  // no slots yet
  Known(kC2, 7, 8, 1, 0, 0);
  ASSERT_TRUE(state_.SetSlotImporting(50, kB).ok());
  ASSERT_TRUE(state_.SetSlotMigrating(250, kC).ok());
  auto claim = [&](const std::string& id, LinkId in, uint64_t epoch, int first, int last) {
    Message ping = FromPeer(MessageType::kPing, id, epoch);
    ping.header.myslots.SetRange(first, last);
    ping.header.port = 7000;
    ping.header.cport = 17000;
    engine_.OnMessage(in, ping, now_);
  };
  // Part of B's slots: not a takeover, and the import holds slot 50 back.
  claim(kB2, 6, 5, 0, 60);
  EXPECT_EQ(state_.ImportingFrom(50), &b);
  EXPECT_EQ(state_.SlotOwner(50), &b);
  EXPECT_EQ(state_.SlotOwner(10)->id, kB2);
  // All of B's remaining slots (and those it already lost): B2 took over.
  claim(kB2, 6, 5, 0, 99);
  EXPECT_EQ(state_.ImportingFrom(50)->id, kB2);
  EXPECT_EQ(state_.SlotOwner(50)->id, kB2);
  // Older epoch than C's: nothing.
  claim(kC2, 8, 1, 100, 199);
  EXPECT_EQ(state_.MigratingTo(250), &c);
  claim(kC2, 8, 6, 100, 199);
  EXPECT_EQ(state_.MigratingTo(250)->id, kC2);
  EXPECT_EQ(state_.SlotOwner(250), &state_.myself());
  EXPECT_TRUE(TakeEffects().fsync_config);
}

// Pings and pongs that repeat what is known (the same slots, epoch and
// address) leave routing_version alone, so the shell does not rebuild its
// routing snapshot for them; a newer claim of a slot moves it.
TEST_F(BusEngineTest, RoutineGossipLeavesRoutingVersionAlone) {
  Known(kB, 1, 2, 0, 99, 1);
  const uint64_t v = state_.routing_version();
  for (int i = 1; i <= 3; ++i) {
    now_ += 100;
    Message ping = FromPeer(MessageType::kPing, kB, 1);
    ping.header.myslots.SetRange(0, 99);
    ping.header.port = 7000;
    ping.header.cport = 17000;
    engine_.OnMessage(2, ping, now_);
    Message pong = FromPeer(MessageType::kPong, kB, 1);
    pong.header.myslots.SetRange(0, 99);
    pong.header.port = 7000;
    pong.header.cport = 17000;
    engine_.OnMessage(1, pong, now_);
    engine_.Tick(now_);
    TakeAll();
  }
  EXPECT_EQ(state_.FindNode(kB)->pong_received_ms, now_);
  EXPECT_EQ(state_.routing_version(), v);
  Message claim = FromPeer(MessageType::kPing, kB, 2);
  claim.header.myslots.SetRange(0, 100);
  claim.header.port = 7000;
  claim.header.cport = 17000;
  engine_.OnMessage(2, claim, now_);
  EXPECT_EQ(state_.SlotOwner(100)->id, kB);
  EXPECT_NE(state_.routing_version(), v);
}

// A newer claim of a slot I was migrating to the claimer (the end of a
// reshard step, when its PONG beats redis-cli's SETSLOT NODE to me) is saved
// without fsync, like that SETSLOT; a newer claim of any other slot of mine
// is fsynced.
TEST_F(BusEngineTest, ClaimEndingMyMigrationIsSavedWithoutFsync) {
  Known(kB, 1, 2, 0, 99, 2);  // B's epoch is known: no fsync for learning it
  state_.myself().config_epoch = 1;
  for (int s = 200; s <= 210; ++s) state_.BindSlot(s, state_.myself());
  state_.SetMigrating(200, state_.FindNode(kB));
  TakeEffects();
  Message claim = FromPeer(MessageType::kPong, kB, 2);
  claim.header.myslots.SetRange(0, 99);
  claim.header.myslots.Set(200);
  claim.header.port = 7000;
  claim.header.cport = 17000;
  engine_.OnMessage(1, claim, now_);
  EXPECT_EQ(state_.SlotOwner(200)->id, kB);
  ReadySummary e = TakeEffects();
  EXPECT_TRUE(e.save_config);
  EXPECT_FALSE(e.fsync_config);
  // Slot 201 was not migrating: taking it is a failover-like change.
  claim.header.myslots.Set(201);
  engine_.OnMessage(1, claim, now_);
  EXPECT_EQ(state_.SlotOwner(201)->id, kB);
  e = TakeEffects();
  EXPECT_TRUE(e.save_config);
  EXPECT_TRUE(e.fsync_config);
}

TEST_F(BusEngineTest, UpdateAboutMySlotsMakesMeAReplica) {
  slots::SlotRange mine{0, 99};
  ASSERT_TRUE(state_.ChangeSlots({&mine, 1}, false).ok());
  state_.myself().config_epoch = 1;
  Known(kB, 1, 2, 100, 199, 2);
  engine_.OnMessage(2, UpdateAbout(kB, kB, 4, 0, 199), now_);
  EXPECT_EQ(state_.SlotOwner(50)->id, kB);
  EXPECT_TRUE(state_.myself().is_replica());
  EXPECT_EQ(state_.myself().primary->id, kB);
  EXPECT_EQ(TakeEffects().replicate_primary, kB);
  // As a replica my header carries my primary's epoch and slots.
  Message ping = FromPeer(MessageType::kPing, kB, 4);
  ping.header.myslots.SetRange(0, 199);
  engine_.OnMessage(2, ping, now_);
  auto sent = Sent(2);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header.config_epoch, 4u);
  EXPECT_EQ(sent[0].header.slaveof, kB);
  EXPECT_EQ(sent[0].header.myslots.Count(), 200);
  EXPECT_EQ(sent[0].header.flags, kFlagMyself | kFlagReplica);
}

TEST_F(BusEngineTest, GossipCarriesATenthOfTheTablePlusPfailNodes) {
  Known(kB, 1, 2, 0, 10, 1);
  for (int i = 0; i < 38; ++i) {
    std::string id = std::string(30, 'a') + std::to_string(1000000000 + i);
    ClusterNode& n = state_.AddNode(id, kFlagPrimary, now_);
    n.ip = "10.1.0.1";
    n.cport = 17000;
    n.slots.Set(1000 + i);  // gossip-worthy even without a link
    if (i == 0) n.flags |= kFlagPfail;
  }
  ASSERT_EQ(state_.num_nodes(), 40u);
  engine_.Tick(now_);  // counts the PFAIL node
  TakeAll();
  engine_.OnMessage(2, FromPeer(MessageType::kPing, kB, 1), now_);
  auto sent = Sent(2);
  ASSERT_EQ(sent.size(), 1u);
  const auto& gossip = std::get<PingBody>(sent[0].body).gossip;
  ASSERT_EQ(gossip.size(), 5u);  // max(3, 40 / 10) random + 1 PFAIL
  EXPECT_TRUE(gossip.back().flags & kFlagPfail);
  for (const GossipEntry& g : gossip) EXPECT_NE(g.node_id, kMe);
}

TEST_F(BusEngineTest, ForgottenNodeLosesItsLinks) {
  Known(kB, 1, 2, 0, 10, 1);
  ASSERT_TRUE(state_.Forget(kB, now_).ok());
  engine_.Tick(now_);
  std::vector<LinkId> closed;
  for (const ReadyItem& a : TakeAll()) {
    if (auto* c = std::get_if<CloseAction>(&a)) closed.push_back(c->link);
  }
  EXPECT_EQ(closed, (std::vector<LinkId>{1, 2}));
  EXPECT_TRUE(engine_.Links().empty());
}

TEST_F(BusEngineTest, KilledOutboundLinkLosesMessagesUntilTheCronReconnects) {
  ClusterNode& b = Known(kB, 1, 2, 0, 10, 1);
  engine_.KillLinks(b, /*outbound=*/true, /*inbound=*/false);
  engine_.Publish("ch", "lost", /*shard=*/false);
  std::vector<ReadyItem> actions = TakeAll();
  ASSERT_EQ(actions.size(), 1u);  // the close, and nothing sent
  ASSERT_NE(std::get_if<CloseAction>(&actions[0]), nullptr);
  EXPECT_EQ(std::get<CloseAction>(actions[0]).link, 1u);
  ASSERT_EQ(engine_.Links().size(), 1u);  // the inbound one
  EXPECT_FALSE(engine_.Links()[0].outbound);
  engine_.Tick(now_);
  bool reconnects = false;
  for (const ReadyItem& a : TakeAll()) {
    if (auto* c = std::get_if<ConnectAction>(&a)) reconnects = c->node_id == kB;
  }
  EXPECT_TRUE(reconnects);
  engine_.KillLinks(b, false, true);
  actions = TakeAll();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(std::get<CloseAction>(actions[0]).link, 2u);
  EXPECT_TRUE(engine_.Links().empty());
}

TEST_F(BusEngineTest, DropFilterAndPublish) {
  Known(kB, 1, 2, 0, 10, 1);
  engine_.set_drop_filter(static_cast<int>(MessageType::kPing));
  engine_.OnMessage(2, FromPeer(MessageType::kPing, kB, 1), now_);
  EXPECT_TRUE(Sent(2).empty());
  engine_.set_drop_filter(-1);

  engine_.Publish("ch", "hello", /*shard=*/false);
  auto sent = Sent(1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header.type, MessageType::kPublish);
  EXPECT_EQ(std::get<PublishBody>(sent[0].body).message, "hello");

  Message pub = FromPeer(MessageType::kPublishShard, kB, 1);
  pub.body = PublishBody{"sch", "m"};
  engine_.OnMessage(2, pub, now_);
  auto actions = TakeAll();
  ASSERT_EQ(actions.size(), 1u);
  auto* deliver = std::get_if<DeliverAction>(&actions[0]);
  ASSERT_NE(deliver, nullptr);
  EXPECT_TRUE(deliver->shard);
  EXPECT_EQ(deliver->channel, "sch");
}

TEST_F(BusEngineTest, PingsEveryNodeWithinHalfTheNodeTimeout) {
  Known(kB, 1, 2, 0, 10, 1);
  int64_t t = now_;
  int64_t last_pong = now_;
  int pings = 0;
  for (int i = 0; i < 50; ++i) {
    t += 100;
    engine_.Tick(t);
    EXPECT_LE(t - last_pong, kTimeout / 2 + 100) << "no ping for too long";
    for (const Message& m : Sent(1)) {
      if (m.header.type != MessageType::kPing) continue;
      ++pings;
      Message pong = FromPeer(MessageType::kPong, kB, 1);
      pong.header.myslots = state_.FindNode(kB)->slots;
      pong.header.port = 7000;
      pong.header.cport = 17000;
      engine_.OnMessage(1, pong, t);
      last_pong = t;
    }
  }
  EXPECT_GE(pings, 8);
  EXPECT_EQ(state_.FindNode(kB)->ping_sent_ms, 0);
  EXPECT_FALSE(state_.FindNode(kB)->flags & kFlagPfail);
}

// Spec 10.4: one vote per epoch, for a replica of a FAIL primary (or with
// FORCEACK), not twice for the same primary within 2 x node_timeout, and
// not when a claimed slot has a newer owner.
TEST_F(BusEngineTest, VotesFollowRedisRules) {
  for (int s = 0; s < 100; ++s) state_.BindSlot(s, state_.myself());
  state_.myself().config_epoch = 1;
  ClusterNode& b = Known(kB, 1, 2, 100, 199, 2);
  ClusterNode& c = Known(kC, 3, 4, 1, 0, 2);
  c.flags = kFlagReplica;
  state_.SetPrimary(c, &b);
  state_.UpdateState(now_);
  auto request = [&](uint64_t epoch, bool force_ack, int first, int last, uint64_t config = 2) {
    Message m = FromPeer(MessageType::kFailoverAuthRequest, kC, config);
    m.header.flags = kFlagReplica;
    m.header.slaveof = kB;
    m.header.current_epoch = epoch;
    if (force_ack) m.header.mflags[0] |= kMsgFlagForceAck;
    for (int s = first; s <= last; ++s) m.header.myslots.Set(s);
    engine_.OnMessage(4, m, now_);
    int acks = 0;
    for (const Message& sent : Sent(3)) acks += sent.header.type == MessageType::kFailoverAuthAck;
    return acks;
  };
  EXPECT_EQ(request(5, false, 100, 199), 0);  // its primary is up
  EXPECT_EQ(request(5, true, 0, 99, 0), 0);   // my slots, newer than its epoch 0
  b.flags |= kFlagFail;
  EXPECT_EQ(request(4, false, 100, 199), 0);  // older than my currentEpoch 5
  EXPECT_EQ(request(5, false, 100, 199), 1);
  EXPECT_EQ(state_.last_vote_epoch(), 5u);
  EXPECT_EQ(request(5, false, 100, 199), 0);  // already voted in epoch 5
  now_ += 2 * kTimeout - 1;
  EXPECT_EQ(request(6, false, 100, 199), 0);  // same primary, too soon
  now_ += 1;
  EXPECT_EQ(request(7, false, 100, 199), 1);
  std::string logs;
  for (const LogLine& l : TakeEffects().logs) logs += l.text + "\n";
  EXPECT_NE(logs.find("Failover auth denied to " + kC + ": its master is up"), std::string::npos);
  EXPECT_NE(logs.find(": slot 0 epoch (1) > reqEpoch (0)"), std::string::npos) << logs;
  EXPECT_NE(logs.find(": reqEpoch (4) < curEpoch(5)"), std::string::npos);
  EXPECT_NE(logs.find(": already voted for epoch 5"), std::string::npos);
  EXPECT_NE(logs.find(": can't vote about this master before 1 milliseconds"), std::string::npos);
  EXPECT_NE(logs.find("Failover auth granted to " + kC + " for epoch 7"), std::string::npos);
}

}  // namespace
}  // namespace shardnode::clusterbus
