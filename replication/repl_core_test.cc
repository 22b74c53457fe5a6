#include "replication/repl_core.h"

#include <limits>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "gtest/gtest.h"

namespace shardnode::replication {
namespace {

// The connections the core asks about: client id -> pending output bytes.
struct FakeClients {
  std::map<ClientId, uint64_t> pending;
  ClientLookup lookup() {
    return [this](ClientId id) -> std::optional<uint64_t> {
      auto it = pending.find(id);
      if (it == pending.end()) return std::nullopt;
      return it->second;
    };
  }
};

// A readable trace of a Ready, one string per action, every alternative named.
std::vector<std::string> Trace(const ReplReady& ready) {
  std::vector<std::string> out;
  for (const ReplAction& a : ready.actions) {
    out.push_back(
        std::visit(Overloaded{
                       [](const PushToReplica& p) {
                         return "push " + std::to_string(p.client) + " " + std::string(p.bytes);
                       },
                       [](const ReleaseHeld& r) {
                         return "release " + std::to_string(r.client) + " from " + std::to_string(r.from) +
                                " " + std::to_string(r.bytes);
                       },
                       [](const DropReplica& d) {
                         return "drop " + std::to_string(d.client) +
                                (d.reason == DropReason::kTimeout ? " timeout" : " output-limit");
                       },
                       [](const CompleteWait& w) {
                         return "wait " + std::to_string(w.client) + " " + std::to_string(w.acked);
                       },
                       [](const DropPrimaryLink& l) {
                         return "drop-link " + std::to_string(static_cast<int>(l.state));
                       },
                   },
                   a));
  }
  return out;
}

ReplicaRecord Online(ClientId id, int64_t now_ms) {
  ReplicaRecord r;
  r.client_id = id;
  r.psync = true;
  r.ack_time_ms = now_ms;
  return r;
}

using Strings = std::vector<std::string>;

TEST(ReplCoreTest, ConfSentBeforePsyncIsTakenByTheReplica) {
  ReplCore core;
  core.ConfFor(7).listening_port = 6380;
  core.ConfFor(7).capa_eof = true;
  const ReplicaConf conf = core.TakePendingConf(7);
  EXPECT_EQ(conf.listening_port, 6380);
  EXPECT_TRUE(conf.capa_eof);
  // Taken once: a second PSYNC from the same client starts empty.
  EXPECT_EQ(core.TakePendingConf(7).listening_port, 0);
  ReplicaRecord r = Online(7, 0);
  r.conf = conf;
  core.Add(std::move(r));
  // REPLCONF after PSYNC changes the replica's own record.
  core.ConfFor(7).listening_port = 6390;
  EXPECT_EQ(core.Find(7)->conf.listening_port, 6390);
}

TEST(ReplCoreTest, StreamPushesToOnlineHoldsForFullSyncAndSkipsPending) {
  ReplCore core;
  FakeClients clients{.pending = {{1, 0}, {2, 0}, {3, 0}}};
  core.Add(Online(1, 0));
  ReplicaRecord pending = Online(2, 0);
  pending.sync_pending = true;
  core.Add(std::move(pending));
  ReplicaRecord syncing = Online(3, 0);
  syncing.sync_pending = true;
  core.Add(std::move(syncing));
  ASSERT_EQ(core.BeginFullSync(3, 0, 100), 100);

  EXPECT_EQ(Trace(core.Stream("abc", 10, {}, clients.lookup())), Strings{"push 1 abc"});
  EXPECT_EQ(core.Find(3)->held_bytes, 3);
  EXPECT_EQ(core.Find(2)->held_bytes, 0);
  // The shared buffer keeps the stream from just after the image.
  EXPECT_EQ(core.OldestHeld(clients.lookup()), 101);

  // The image delivered (disk form): the held stream is released.
  ReplReady ready;
  ASSERT_TRUE(core.FullSyncDelivered(3, /*socket_target=*/false, 20, ready));
  EXPECT_EQ(Trace(ready), Strings{"release 3 from 101 3"});
  EXPECT_EQ(core.OldestHeld(clients.lookup()), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(Trace(core.Stream("d", 30, {}, clients.lookup())), (Strings{"push 1 d", "push 3 d"}));
}

TEST(ReplCoreTest, AttachedFullSyncSharesTheImageOffsetAndHeldStream) {
  ReplCore core;
  FakeClients clients{.pending = {{1, 0}, {2, 0}}};
  ReplicaRecord a = Online(1, 0);
  a.sync_pending = true;
  core.Add(std::move(a));
  ASSERT_EQ(core.BeginFullSync(1, 0, 500), 500);
  core.Stream("xy", 1, {}, clients.lookup());
  ReplicaRecord b = Online(2, 0);
  b.sync_pending = true;
  core.Add(std::move(b));
  EXPECT_EQ(core.BeginFullSync(2, 1, 502), 500);
  EXPECT_EQ(core.Find(2)->held_bytes, 2);
  EXPECT_EQ(core.OldestHeld(clients.lookup()), 501);
  EXPECT_EQ(core.BeginFullSync(99, 0, 1), std::nullopt);
  // A holder whose connection is gone keeps nothing.
  FakeClients none;
  EXPECT_EQ(core.OldestHeld(none.lookup()), std::numeric_limits<int64_t>::max());
}

TEST(ReplCoreTest, DisklessReplicaWaitsForItsFirstAck) {
  ReplCore core;
  FakeClients clients{.pending = {{1, 0}}};
  ReplicaRecord r = Online(1, 0);
  r.sync_pending = true;
  core.Add(std::move(r));
  core.BeginFullSync(1, 0, 0);
  core.Stream("a", 1, {}, clients.lookup());
  ReplReady ready;
  ASSERT_TRUE(core.FullSyncDelivered(1, /*socket_target=*/true, 2, ready));
  EXPECT_TRUE(ready.empty());
  core.Stream("b", 3, {}, clients.lookup());
  EXPECT_EQ(core.Find(1)->held_bytes, 2);
  EXPECT_EQ(core.OldestHeld(clients.lookup()), 1);
  EXPECT_EQ(Trace(core.Ack(1, 0, 4, clients.lookup())), Strings{"release 1 from 1 2"});
  EXPECT_FALSE(core.Find(1)->wait_first_ack);
}

TEST(ReplCoreTest, SyncReplicaDeliveredDisklessNeverWaitsForAnAck) {
  ReplCore core;
  FakeClients clients{.pending = {{1, 0}}};
  ReplicaRecord r = Online(1, 0);
  r.psync = false;
  r.sync_pending = true;
  core.Add(std::move(r));
  core.BeginFullSync(1, 0, 0);
  core.Stream("a", 1, {}, clients.lookup());
  ReplReady ready;
  ASSERT_TRUE(core.FullSyncDelivered(1, /*socket_target=*/true, 2, ready));
  EXPECT_EQ(Trace(ready), Strings{"release 1 from 1 1"});
}

TEST(ReplCoreTest, OutputLimitDropsTheReplicaAfterItsPush) {
  ReplCore core;
  FakeClients clients{.pending = {{1, 90}, {2, 0}}};
  core.Add(Online(1, 0));
  core.Add(Online(2, 0));
  StreamLimits limits{.output_limit = {.hard_bytes = 100}, .backlog_size = 0};
  EXPECT_EQ(Trace(core.Stream("0123456789", 5, limits, clients.lookup())),
            (Strings{"push 1 0123456789", "drop 1 output-limit", "push 2 0123456789"}));
  EXPECT_TRUE(core.Find(1)->closing);
  // Closing replicas get nothing more, and are forgotten on request.
  EXPECT_EQ(Trace(core.Stream("z", 6, limits, clients.lookup())), Strings{"push 2 z"});
  core.ForgetClosed();
  EXPECT_EQ(core.Find(1), nullptr);
}

TEST(ReplCoreTest, HeldStreamCountsAgainstTheLimit) {
  ReplCore core;
  FakeClients clients{.pending = {{1, 1000}}};
  ReplicaRecord r = Online(1, 0);
  r.sync_pending = true;
  core.Add(std::move(r));
  core.BeginFullSync(1, 0, 0);
  StreamLimits limits{.output_limit = {.hard_bytes = 8}, .backlog_size = 0};
  // The RDB being written (1000 bytes pending) does not count; the held
  // stream does.
  EXPECT_TRUE(core.Stream("1234", 1, limits, clients.lookup()).empty());
  EXPECT_EQ(Trace(core.Stream("56789", 2, limits, clients.lookup())),
            Strings{"drop 1 output-limit"});
  EXPECT_EQ(core.Find(1)->held_bytes, 0);
  EXPECT_EQ(core.OldestHeld(clients.lookup()), std::numeric_limits<int64_t>::max());
}

TEST(ReplCoreTest, GoneConnectionsAreForgottenWithTheirConf) {
  ReplCore core;
  FakeClients clients{.pending = {{1, 0}}};
  core.Add(Online(1, 0));
  core.Add(Online(2, 0));
  core.ConfFor(3).listening_port = 1;
  EXPECT_EQ(core.ForgetGone(clients.lookup()), std::vector<ClientId>{2});
  ASSERT_EQ(core.replicas().size(), 1u);
  EXPECT_EQ(core.TakePendingConf(3).listening_port, 0);
  EXPECT_EQ(core.TakeAll(), std::vector<ClientId>{1});
  EXPECT_TRUE(core.replicas().empty());
}

TEST(ReplCoreTest, WaitRepliesAtOnceWhenEnoughReplicasAcked) {
  ReplCore core;
  FakeClients clients{.pending = {{1, 0}, {2, 0}, {10, 0}}};
  core.Add(Online(1, 0));
  core.Add(Online(2, 0));
  core.Ack(1, 100, 1, clients.lookup());
  EXPECT_EQ(core.CountAcked(100), 1);
  EXPECT_EQ(core.Wait(10, 1, 100, 0, true), 1);
  // Not enough, but the client may not block (MULTI, the primary's link).
  EXPECT_EQ(core.Wait(10, 2, 100, 0, false), 1);
  EXPECT_FALSE(core.has_waiters());
}

TEST(ReplCoreTest, AckCompletesWaitersThatHaveTheirCount) {
  ReplCore core;
  FakeClients clients{.pending = {{1, 0}, {2, 0}, {10, 0}, {11, 0}}};
  core.Add(Online(1, 0));
  core.Add(Online(2, 0));
  EXPECT_EQ(core.Wait(10, 1, 50, 0, true), std::nullopt);
  EXPECT_EQ(core.Wait(11, 2, 50, 0, true), std::nullopt);
  EXPECT_TRUE(core.Ack(1, 49, 1, clients.lookup()).empty());
  EXPECT_EQ(Trace(core.Ack(1, 50, 2, clients.lookup())), Strings{"wait 10 1"});
  // An older ACK never moves the offset back.
  EXPECT_TRUE(core.Ack(1, 10, 3, clients.lookup()).empty());
  EXPECT_EQ(core.Find(1)->ack_offset, 50);
  EXPECT_EQ(Trace(core.Ack(2, 60, 4, clients.lookup())), Strings{"wait 11 2"});
  EXPECT_FALSE(core.has_waiters());
}

TEST(ReplCoreTest, WaitTimesOutWithTheCountSoFar) {
  ReplCore core;
  FakeClients clients{.pending = {{1, 0}, {10, 0}, {11, 0}}};
  core.Add(Online(1, 0));
  core.Wait(10, 1, 50, /*deadline_ms=*/1000, true);
  core.Wait(11, 1, 50, /*deadline_ms=*/0, true);  // forever
  EXPECT_TRUE(core.ServeWaiters(999, false, clients.lookup()).empty());
  EXPECT_EQ(Trace(core.ServeWaiters(1000, false, clients.lookup())), Strings{"wait 10 0"});
  EXPECT_TRUE(core.ServeWaiters(1'000'000, false, clients.lookup()).empty());
  // A role change ends every WAIT.
  EXPECT_EQ(Trace(core.ServeWaiters(1'000'001, true, clients.lookup())), Strings{"wait 11 0"});
}

TEST(ReplCoreTest, WaiterOfAGoneClientIsForgottenSilently) {
  ReplCore core;
  FakeClients clients{.pending = {{10, 0}}};
  core.Wait(10, 1, 5, 0, true);
  clients.pending.erase(10);
  EXPECT_TRUE(core.ServeWaiters(1, true, clients.lookup()).empty());
  EXPECT_FALSE(core.has_waiters());
}

TEST(ReplCoreTest, GoodReplicasAreOnlineWithARecentAck) {
  ReplCore core;
  core.Add(Online(1, 1000));
  core.Add(Online(2, 5000));
  ReplicaRecord syncing = Online(3, 5000);
  syncing.in_full_sync = true;
  core.Add(std::move(syncing));
  EXPECT_EQ(core.GoodReplicas(5000, 1000), 1);
  EXPECT_EQ(core.GoodReplicas(5000, 4000), 2);
}

TEST(ReplCoreTest, SilentReplicasTimeOutButNotDuringTheirSync) {
  ReplCore core;
  core.Add(Online(1, 0));
  ReplicaRecord sync_only = Online(2, 0);
  sync_only.psync = false;  // SYNC replicas never ACK
  core.Add(std::move(sync_only));
  ReplicaRecord syncing = Online(3, 0);
  syncing.in_full_sync = true;
  core.Add(std::move(syncing));
  ReplicaRecord first_ack = Online(4, 0);
  first_ack.wait_first_ack = true;
  core.Add(std::move(first_ack));
  EXPECT_TRUE(core.CheckTimeouts(60'000, 60'000, false).empty());
  EXPECT_EQ(Trace(core.CheckTimeouts(60'001, 60'000, false)),
            (Strings{"drop 1 timeout", "drop 4 timeout"}));
  // Dropped once.
  EXPECT_TRUE(core.CheckTimeouts(120'000, 60'000, false).empty());
}

TEST(ReplCoreTest, LinkStatesAndDataAge) {
  ReplCore core;
  EXPECT_EQ(core.link_state(), LinkState::kNone);
  core.Follow();
  EXPECT_EQ(core.link_state(), LinkState::kConnect);
  // Never up: as old as the clock.
  EXPECT_EQ(core.DataAgeMs(12345), 12345);
  core.LinkStarted(100);
  core.LinkConnecting();
  EXPECT_EQ(core.link_state(), LinkState::kConnecting);
  core.LinkHandshake();
  EXPECT_EQ(core.link_state(), LinkState::kHandshake);
  core.LinkTransfer();
  EXPECT_EQ(core.link_state(), LinkState::kTransfer);
  core.LinkUp(5000, /*synced_now=*/true);
  EXPECT_EQ(core.link_state(), LinkState::kConnected);
  EXPECT_EQ(core.last_io_ms(), 5000);
  core.LinkIo(6000);
  EXPECT_EQ(core.DataAgeMs(6500), 500);
  EXPECT_TRUE(core.LinkClosed(7000, /*following=*/true));
  EXPECT_EQ(core.link_state(), LinkState::kConnect);
  EXPECT_EQ(core.down_since_ms(), 7000);
  EXPECT_EQ(core.DataAgeMs(9000), 2000);
  // Closed again before it came up: the drop time stays.
  EXPECT_FALSE(core.LinkClosed(8000, true));
  EXPECT_EQ(core.down_since_ms(), 7000);
  // A partial resync keeps the I/O time; the link is up again.
  core.LinkUp(9000, /*synced_now=*/false);
  EXPECT_EQ(core.last_io_ms(), 6000);
  EXPECT_EQ(core.down_since_ms(), 0);
  core.Unfollow();
  EXPECT_EQ(core.link_state(), LinkState::kNone);
  EXPECT_FALSE(core.LinkClosed(9500, /*following=*/false));
  EXPECT_EQ(core.link_state(), LinkState::kNone);
}

TEST(ReplCoreTest, SilentPrimaryTimesOutInEveryStatePastConnect) {
  for (LinkState state : {LinkState::kConnecting, LinkState::kHandshake, LinkState::kTransfer,
                          LinkState::kConnected}) {
    ReplCore core;
    core.Follow();
    core.LinkStarted(1000);
    switch (state) {
      case LinkState::kConnecting:
        core.LinkConnecting();
        break;
      case LinkState::kHandshake:
        core.LinkHandshake();
        break;
      case LinkState::kTransfer:
        core.LinkTransfer();
        break;
      default:
        core.LinkUp(1000, true);
        break;
    }
    EXPECT_TRUE(core.CheckTimeouts(61'000, 60'000, true).empty());
    const ReplReady ready = core.CheckTimeouts(61'001, 60'000, true);
    ASSERT_EQ(ready.actions.size(), 1u);
    ASSERT_TRUE(std::holds_alternative<DropPrimaryLink>(ready.actions[0]));
    EXPECT_EQ(std::get<DropPrimaryLink>(ready.actions[0]).state, state);
    // No link open: nothing to drop.
    EXPECT_TRUE(core.CheckTimeouts(61'001, 60'000, false).empty());
  }
  ReplCore waiting;
  waiting.Follow();  // kConnect: the cron connects, no timeout applies
  EXPECT_TRUE(waiting.CheckTimeouts(1'000'000, 60'000, true).empty());
}

}  // namespace
}  // namespace shardnode::replication
