#include "sentinel/sentinel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/split_args.h"

namespace shardnode::sentinel {
namespace {

std::string Id(char c) { return std::string(40, c); }

// A sentinel monitoring "mymaster" at 10.0.0.1:6379 with the given lines.
std::unique_ptr<Sentinel> Make(char id, const std::vector<std::vector<std::string>>& lines,
                               Millis now = 1000) {
  auto s = std::make_unique<Sentinel>(Id(id), 26379, 42, now);
  EXPECT_EQ(s->ApplyConfigLine({"monitor", "mymaster", "10.0.0.1", "6379", "2"}, now), "");
  for (const auto& l : lines) EXPECT_EQ(s->ApplyConfigLine(l, now), "") << l[0];
  s->TakeReady();
  return s;
}

std::vector<Event> Events(const Ready& r) {
  std::vector<Event> out;
  for (const auto& a : r.actions) {
    if (auto* e = std::get_if<Event>(&a)) out.push_back(*e);
  }
  return out;
}

bool HasEvent(const Ready& r, const std::string& type, const std::string& payload_part = "") {
  for (const Event& e : Events(r)) {
    if (e.type == type && e.payload.find(payload_part) != std::string::npos) return true;
  }
  return false;
}

std::string InfoText(bool master, int64_t offset = 0, int prio = 100,
                     const std::string& runid = Id('r')) {
  std::string s = absl::StrCat("# Server\r\nrun_id:", runid, "\r\n# Replication\r\n");
  if (master) return s + "role:master\r\nconnected_slaves:0\r\n";
  return s + absl::StrCat("role:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6379\r\n",
                          "master_link_status:up\r\nslave_repl_offset:", offset,
                          "\r\nslave_priority:", prio, "\r\nreplica_announced:1\r\n");
}

TEST(HelloTest, RoundTripAndMalformed) {
  Hello h{"127.0.0.1", 26379, Id('a'), 3, "mymaster", "10.0.0.1", 6379, 2};
  std::string s = EncodeHello(h);
  EXPECT_EQ(s, "127.0.0.1,26379," + Id('a') + ",3,mymaster,10.0.0.1,6379,2");
  auto d = DecodeHello(s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->runid, Id('a'));
  EXPECT_EQ(d->master_config_epoch, 2u);
  EXPECT_FALSE(DecodeHello("a,b,c"));
  EXPECT_FALSE(DecodeHello(s + ",extra"));
}

TEST(SentinelTest, ConfigErrorsAsRedis) {
  Sentinel s(Id('a'), 26379, 1, 0);
  EXPECT_EQ(s.ApplyConfigLine({"foo", "bar"}, 0), "Unrecognized sentinel configuration statement.");
  EXPECT_EQ(s.ApplyConfigLine({"monitor", "m", "10.0.0.1", "6379", "0"}, 0),
            "Quorum must be 1 or greater.");
  EXPECT_EQ(s.ApplyConfigLine({"monitor", "m", "host.example", "6379", "2"}, 0),
            "Can't resolve instance hostname.");
  EXPECT_EQ(s.ApplyConfigLine({"down-after-milliseconds", "nope", "10"}, 0),
            "No such master with specified name.");
  EXPECT_EQ(s.ApplyConfigLine({"myid", "short"}, 0), "Malformed Sentinel id in myid option.");
  EXPECT_EQ(s.ApplyConfigLine({"monitor", "m", "10.0.0.1", "6379", "2"}, 0), "");
  EXPECT_EQ(s.ApplyConfigLine({"monitor", "m", "10.0.0.1", "6379", "2"}, 0),
            "Duplicate master name.");
  EXPECT_EQ(s.ApplyConfigLine({"down-after-milliseconds", "m", "0"}, 0),
            "negative or zero time parameter.");
  EXPECT_EQ(s.ApplyConfigLine({"known-replica", "m", "10.0.0.2", "6379"}, 0), "");
  EXPECT_EQ(s.ApplyConfigLine({"known-replica", "m", "10.0.0.2", "6379"}, 0),
            "Duplicate hostname and port for replica.");
  EXPECT_EQ(s.ApplyConfigLine({"known-sentinel", "m", "10.0.0.9", "26379"}, 0), "");
  EXPECT_EQ(s.FindMaster("m")->sentinels.size(), 0u);
}

TEST(SentinelTest, RewriteLinesInRedisOrder) {
  auto s = Make('a', {{"down-after-milliseconds", "mymaster", "1000"},
                      {"known-replica", "mymaster", "10.0.0.2", "6379"},
                      {"known-sentinel", "mymaster", "10.0.0.9", "26379", Id('b')},
                      {"current-epoch", "4"},
                      {"config-epoch", "mymaster", "3"}});
  std::vector<std::string> lines;
  for (const auto& l : s->RewriteLines()) lines.push_back(l.line);
  std::vector<std::string> want = {
      "sentinel myid " + Id('a'),
      "sentinel monitor mymaster 10.0.0.1 6379 2",
      "sentinel down-after-milliseconds mymaster 1000",
      "sentinel config-epoch mymaster 3",
      "sentinel leader-epoch mymaster 0",
      "sentinel known-replica mymaster 10.0.0.2 6379",
      "sentinel known-sentinel mymaster 10.0.0.9 26379 " + Id('b'),
      "sentinel current-epoch 4",
  };
  EXPECT_EQ(lines, want);
}

// Values with blanks or quotes are quoted in the rewrite, so that the
// rewritten file loads back to the same configuration (Redis 7.0.15 writes
// them bare and then refuses its own file; found by sentinel_fuzz).
TEST(SentinelTest, RewriteLinesLoadBackWithQuotedValues) {
  auto s = Make('a', {{"auth-pass", "mymaster", "s3cr et"},
                      {"auth-user", "mymaster", "us\"er'"},
                      {"rename-command", "mymaster", "CONFIG", "MY\\CONFIG"}});
  ASSERT_EQ(s->ApplyConfigLine({"sentinel-pass", "p\tq"}, 1000), "");
  std::vector<std::string> first;
  for (const auto& l : s->RewriteLines()) first.push_back(l.line);
  EXPECT_NE(std::find(first.begin(), first.end(), "sentinel auth-pass mymaster \"s3cr et\""),
            first.end());

  Sentinel again(Id('b'), 26379, 42, 1000);
  for (const std::string& line : first) {
    auto args = base::SplitArgs(line);
    ASSERT_TRUE(args.has_value()) << line;
    args->erase(args->begin());  // "sentinel"
    EXPECT_EQ(again.ApplyConfigLine(*args, 1000), "") << line;
  }
  std::vector<std::string> second;
  for (const auto& l : again.RewriteLines()) second.push_back(l.line);
  EXPECT_EQ(second, first);
  EXPECT_EQ(again.FindMaster("mymaster")->auth_pass, "s3cr et");
  EXPECT_EQ(again.FindMaster("mymaster")->auth_user, "us\"er'");
}

// Redis checks only a myid's length; 40 bytes with a blank or a quote are
// quoted in the rewrite so that the file loads back (found by sentinel_fuzz).
TEST(SentinelTest, RewrittenMyidWithBlanksLoadsBack) {
  const std::string odd = std::string(30, '0') + "12\"s3cr et";
  ASSERT_EQ(odd.size(), 40u);
  Sentinel s(Id('a'), 26379, 42, 1000);
  ASSERT_EQ(s.ApplyConfigLine({"myid", odd}, 1000), "");
  const std::string line = s.RewriteLines().front().line;
  EXPECT_EQ(line, "sentinel myid \"" + std::string(30, '0') + "12\\\"s3cr et\"");
  auto args = base::SplitArgs(line);
  ASSERT_TRUE(args.has_value());
  args->erase(args->begin());
  Sentinel again(Id('b'), 26379, 42, 1000);
  EXPECT_EQ(again.ApplyConfigLine(*args, 1000), "");
  EXPECT_EQ(again.RewriteLines().front().line, line);
}

TEST(SentinelTest, SdownAfterDownAfterMilliseconds) {
  auto s = Make('a', {{"down-after-milliseconds", "mymaster", "1000"}});
  s->Tick(1100);
  Ready r = s->TakeReady();
  bool opened = false;
  for (const auto& a : r.actions) opened |= std::holds_alternative<OpenLink>(a);
  EXPECT_TRUE(opened);
  for (Millis t = 1200; t <= 2000; t += 100) {
    s->Tick(t);
    EXPECT_FALSE(HasEvent(s->TakeReady(), "+sdown")) << t;
  }
  s->Tick(2100);
  EXPECT_TRUE(HasEvent(s->TakeReady(), "+sdown", "master mymaster 10.0.0.1 6379"));
  // A PONG clears it.
  Master* m = s->FindMaster("mymaster");
  s->OnReply(m->id, ReplyTo::kPing, Reply::Status("PONG"), 2150);
  s->Tick(2200);
  EXPECT_TRUE(HasEvent(s->TakeReady(), "-sdown"));
}

// The timer's period is Redis's: hz redrawn as 10..19 after every run, so the
// next run comes 52..100 ms later (about 72 on average). A fixed 100 ms made
// every step of a failover (SDOWN, ODOWN, election, replica selection,
// SLAVEOF NO ONE) wait longer than redis-sentinel's.
TEST(SentinelTest, TimerPeriodFollowsRedisRandomisedHz) {
  auto s = Make('a', {{"down-after-milliseconds", "mymaster", "1000"}});
  EXPECT_EQ(s->hz(), 10);  // configured_hz before the first run
  EXPECT_EQ(s->next_tick_delay(), 100);
  std::set<int> seen_hz;
  Millis now = 1000, total = 0;
  const int kRuns = 2000;
  for (int i = 0; i < kRuns; ++i) {
    s->Tick(now);
    s->TakeReady();
    ASSERT_GE(s->hz(), 10);
    ASSERT_LE(s->hz(), 19);
    EXPECT_EQ(s->next_tick_delay(), 1000 / s->hz());
    seen_hz.insert(s->hz());
    total += s->next_tick_delay();
    now += s->next_tick_delay();
  }
  EXPECT_EQ(seen_hz.size(), 10u);
  Millis mean = total / kRuns;
  EXPECT_GE(mean, 65);
  EXPECT_LE(mean, 80);
  EXPECT_FALSE(s->tilt());
}

TEST(SentinelTest, LoadingAndMasterdownCountAsAliveButMisconfDoesNot) {
  auto s = Make('a', {{"down-after-milliseconds", "mymaster", "1000"}});
  Master* m = s->FindMaster("mymaster");
  s->Tick(1100);
  s->OnReply(m->id, ReplyTo::kPing, Reply::Error("LOADING Redis is loading"), 1150);
  EXPECT_EQ(m->link->act_ping_time, 0);
  m->link->act_ping_time = 1200;
  s->OnReply(m->id, ReplyTo::kPing, Reply::Error("MISCONF no"), 1250);
  EXPECT_EQ(m->link->act_ping_time, 1200);
  // A bulk "PONG" is not a PONG.
  s->OnReply(m->id, ReplyTo::kPing, Reply::Bulk("PONG"), 1260);
  EXPECT_EQ(m->link->act_ping_time, 1200);
}

TEST(SentinelTest, OdownNeedsQuorumOfMasterDownReplies) {
  auto s = Make('a', {{"down-after-milliseconds", "mymaster", "1000"},
                      {"known-sentinel", "mymaster", "10.0.0.8", "26379", Id('b')},
                      {"known-sentinel", "mymaster", "10.0.0.9", "26379", Id('c')}});
  s->Command({"SENTINEL", "SET", "mymaster", "quorum", "3"}, 1000);
  s->TakeReady();
  for (Millis t = 1100; t <= 2200; t += 100) s->Tick(t);
  Ready r = s->TakeReady();
  EXPECT_TRUE(HasEvent(r, "+sdown"));
  EXPECT_FALSE(HasEvent(r, "+odown"));
  Master* m = s->FindMaster("mymaster");
  auto yes = Reply::Array({Reply::Integer(1), Reply::Bulk("*"), Reply::Integer(0)});
  s->OnReply(m->sentinels[Id('b')]->id, ReplyTo::kIsMasterDown, yes, 2250);
  s->Tick(2300);
  EXPECT_FALSE(HasEvent(s->TakeReady(), "+odown"));  // 2/3
  s->OnReply(m->sentinels[Id('c')]->id, ReplyTo::kIsMasterDown, yes, 2350);
  s->Tick(2400);
  EXPECT_TRUE(HasEvent(s->TakeReady(), "+odown", "#quorum 3/3"));
}

TEST(SentinelTest, OneVotePerEpoch) {
  auto s = Make('a', {});
  auto ask = [&](const std::string& runid, const std::string& epoch) {
    return s->Command({"SENTINEL", "is-master-down-by-addr", "10.0.0.1", "6379", epoch, runid},
                      2000);
  };
  Reply r = ask(Id('b'), "1");
  ASSERT_EQ(r.elements.size(), 3u);
  EXPECT_EQ(r.elements[0].integer, 0);
  EXPECT_EQ(r.elements[1].str, Id('b'));
  EXPECT_EQ(r.elements[2].integer, 1);
  EXPECT_TRUE(HasEvent(s->TakeReady(), "+vote-for-leader", Id('b') + " 1"));
  r = ask(Id('c'), "1");
  EXPECT_EQ(r.elements[1].str, Id('b'));  // first come, first served
  EXPECT_FALSE(HasEvent(s->TakeReady(), "+vote-for-leader"));
  r = ask(Id('c'), "2");
  EXPECT_EQ(r.elements[1].str, Id('c'));
  EXPECT_EQ(s->current_epoch(), 2u);
  // An older epoch gets the stored vote.
  r = ask(Id('d'), "1");
  EXPECT_EQ(r.elements[1].str, Id('c'));
  EXPECT_EQ(r.elements[2].integer, 2);
  // Unknown address: no vote, "*".
  r = s->Command({"SENTINEL", "is-master-down-by-addr", "10.0.0.7", "1", "9", Id('e')}, 2000);
  EXPECT_EQ(r.elements[1].str, "*");
  EXPECT_EQ(s->Command({"SENTINEL", "is-master-down-by-addr", "10.0.0.1", "x", "1", "*"}, 0).str,
            "ERR value is not an integer or out of range");
}

TEST(SentinelTest, LeaderNeedsMajorityOfKnownSentinelsAndQuorum) {
  auto s = Make('a', {{"known-sentinel", "mymaster", "10.0.0.8", "26379", Id('b')},
                      {"known-sentinel", "mymaster", "10.0.0.9", "26379", Id('c')},
                      {"known-sentinel", "mymaster", "10.0.0.10", "26379", Id('d')},
                      {"known-sentinel", "mymaster", "10.0.0.11", "26379", Id('e')}});
  Master* m = s->FindMaster("mymaster");
  s->Command({"SENTINEL", "is-master-down-by-addr", "10.0.0.1", "6379", "1", "*"}, 0);
  // Epoch 1: our own vote and one other: 2 of 5 is not a majority.
  m->sentinels[Id('b')]->leader = Id('a');
  m->sentinels[Id('b')]->leader_epoch = 1;
  s->Command({"SENTINEL", "is-master-down-by-addr", "10.0.0.1", "6379", "1", "*"}, 0);
  EXPECT_EQ(s->GetLeader(m, 1, 0), "");  // current_epoch is 1 after the vote
  m->sentinels[Id('c')]->leader = Id('a');
  m->sentinels[Id('c')]->leader_epoch = 1;
  EXPECT_EQ(s->GetLeader(m, 1, 0), Id('a'));
}

// Beyond Redis 7.0.15: the other sentinels' votes count in the election's
// own epoch. Redis counts those in its current epoch, which another master's
// failover may have moved on, and asks for votes in it: a failover started
// in epoch 1 then wins on votes given in epoch 2, beside the sentinel that
// epoch 1's votes elected (the sentinel sweep, two masters).
TEST(SentinelTest, LeaderCountsOnlyVotesOfTheElectionsEpoch) {
  auto s = Make('a', {{"known-sentinel", "mymaster", "10.0.0.8", "26379", Id('b')},
                      {"known-sentinel", "mymaster", "10.0.0.9", "26379", Id('c')},
                      {"known-sentinel", "mymaster", "10.0.0.10", "26379", Id('d')},
                      {"known-sentinel", "mymaster", "10.0.0.11", "26379", Id('e')}});
  ASSERT_EQ(s->ApplyConfigLine({"monitor", "other", "10.0.0.50", "6379", "2"}, 1000), "");
  Master* m = s->FindMaster("mymaster");
  EXPECT_EQ(s->GetLeader(m, 1, 0), "");  // my own vote in epoch 1: 1 of 5
  // Another master's election moves the current epoch to 2.
  s->Command({"SENTINEL", "is-master-down-by-addr", "10.0.0.50", "6379", "2", Id('b')}, 0);
  ASSERT_EQ(s->current_epoch(), 2u);
  for (char c : {'b', 'c'}) {
    m->sentinels[Id(c)]->leader = Id('a');
    m->sentinels[Id(c)]->leader_epoch = 2;
  }
  EXPECT_EQ(s->GetLeader(m, 1, 0), "");
  for (char c : {'b', 'c'}) m->sentinels[Id(c)]->leader_epoch = 1;
  EXPECT_EQ(s->GetLeader(m, 1, 0), Id('a'));
}

TEST(SentinelTest, ReplicaSelectionOrder) {
  auto s = Make('a', {{"known-replica", "mymaster", "10.0.0.2", "6379"},
                      {"known-replica", "mymaster", "10.0.0.3", "6379"},
                      {"known-replica", "mymaster", "10.0.0.4", "6379"}});
  Master* m = s->FindMaster("mymaster");
  Millis now = 5000;
  auto ready = [&](const std::string& key, int64_t offset, int prio, const std::string& runid) {
    Instance* r = m->replicas[key].get();
    r->link->cmd_up = r->link->pubsub_up = true;
    r->link->last_avail_time = now;
    r->info_refresh = now;
    r->slave_repl_offset = offset;
    r->slave_priority = prio;
    r->runid = runid;
  };
  ready("10.0.0.2:6379", 100, 100, Id('c'));
  ready("10.0.0.3:6379", 200, 100, Id('d'));
  ready("10.0.0.4:6379", 200, 100, Id('B'));
  // Same priority and offset: the smaller run id, case-insensitively.
  EXPECT_EQ(s->SelectReplica(m, now)->name, "10.0.0.4:6379");
  m->replicas["10.0.0.2:6379"]->slave_priority = 10;
  EXPECT_EQ(s->SelectReplica(m, now)->name, "10.0.0.2:6379");
  // Priority 0 is never promoted.
  m->replicas["10.0.0.2:6379"]->slave_priority = 0;
  EXPECT_EQ(s->SelectReplica(m, now)->name, "10.0.0.4:6379");
  m->replicas["10.0.0.4:6379"]->s_down = true;
  EXPECT_EQ(s->SelectReplica(m, now)->name, "10.0.0.3:6379");
  m->replicas["10.0.0.3:6379"]->link->cmd_up = false;
  EXPECT_EQ(s->SelectReplica(m, now), nullptr);
}

TEST(SentinelTest, TiltOnClockJump) {
  auto s = Make('a', {});
  s->Tick(1100);
  s->TakeReady();
  s->Tick(5000);
  EXPECT_TRUE(HasEvent(s->TakeReady(), "+tilt", "#tilt mode entered"));
  EXPECT_TRUE(s->tilt());
  // In TILT, IS-MASTER-DOWN-BY-ADDR answers 0.
  Reply r = s->Command({"SENTINEL", "is-master-down-by-addr", "10.0.0.1", "6379", "0", "*"}, 5000);
  EXPECT_EQ(r.elements[0].integer, 0);
  for (Millis t = 5100; t <= 35200; t += 100) s->Tick(t);
  EXPECT_TRUE(HasEvent(s->TakeReady(), "-tilt", "#tilt mode exited"));
}

// The leader's failover, driven by hand: the exact transaction, promotion
// by INFO, the reconfiguration of the other replica, the end and the switch.
TEST(SentinelTest, FailoverStatesAndTransaction) {
  auto s = Make('a', {{"down-after-milliseconds", "mymaster", "1000"},
                      {"known-replica", "mymaster", "10.0.0.2", "6379"},
                      {"known-replica", "mymaster", "10.0.0.3", "6379"},
                      {"known-sentinel", "mymaster", "10.0.0.8", "26379", Id('b')},
                      {"known-sentinel", "mymaster", "10.0.0.9", "26379", Id('c')}});
  Master* m = s->FindMaster("mymaster");
  Millis t = 1000;
  auto tick = [&](Millis to) {
    Ready all;
    for (; t < to; t += 100) {
      s->Tick(t + 100);
      for (auto& [k, r] : m->replicas) {
        if (r->link->cmd_up) {
          s->OnReply(r->id, ReplyTo::kPing, Reply::Status("PONG"), t + 100);
          bool promoted = r->promoted && m->failover_state >= FailoverState::kWaitPromotion;
          std::string info = InfoText(promoted, k == "10.0.0.2:6379" ? 100 : 50);
          if (r->reconf_sent || r->reconf_inprog) {
            info =
                "role:slave\r\nmaster_host:10.0.0.2\r\nmaster_port:6379\r\n"
                "master_link_status:up\r\n";
          }
          s->OnReply(r->id, ReplyTo::kInfo, Reply::Bulk(info), t + 100);
        }
      }
      for (auto& [k, o] : m->sentinels) {
        if (!o->link->cmd_up) continue;
        // Both others say down and vote for whoever asks.
        s->OnReply(
            o->id, ReplyTo::kIsMasterDown,
            Reply::Array({Reply::Integer(1),
                          Reply::Bulk(m->failover_state > FailoverState::kNone ? Id('a') : "*"),
                          Reply::Integer(static_cast<int64_t>(s->current_epoch()))}),
            t + 100);
      }
      bool switched = false;
      for (auto& a : s->TakeReady().actions) {
        auto* e = std::get_if<Event>(&a);
        switched |= e != nullptr && e->type == "+switch-master";
        all.actions.push_back(a);
      }
      if (switched) break;  // the fake replies above only describe the old layout
    }
    return all;
  };
  tick(1300);
  for (auto& [k, r] : m->replicas) {
    s->OnLinkUp(r->id, LinkKind::kCommand, "127.0.0.1", t);
  }
  Ready r = tick(2500);
  EXPECT_TRUE(HasEvent(r, "+sdown", "master mymaster"));
  Ready more = tick(6000);
  r.actions.insert(r.actions.end(), more.actions.begin(), more.actions.end());
  EXPECT_TRUE(HasEvent(r, "+odown"));
  EXPECT_TRUE(HasEvent(r, "+try-failover"));
  EXPECT_TRUE(HasEvent(r, "+elected-leader"));
  EXPECT_TRUE(HasEvent(r, "+selected-slave", "slave 10.0.0.2:6379"));
  // The promotion transaction, exactly.
  std::vector<std::vector<std::string>> noone;
  for (const auto& a : r.actions) {
    auto* send = std::get_if<SendCommands>(&a);
    if (send && send->commands.size() == 6 && send->commands[1][1] == "NO") {
      noone = send->commands;
    }
  }
  std::vector<std::vector<std::string>> want = {{"MULTI"},
                                                {"SLAVEOF", "NO", "ONE"},
                                                {"CONFIG", "REWRITE"},
                                                {"CLIENT", "KILL", "TYPE", "normal"},
                                                {"CLIENT", "KILL", "TYPE", "pubsub"},
                                                {"EXEC"}};
  EXPECT_EQ(noone, want);
  EXPECT_TRUE(HasEvent(r, "+promoted-slave"));
  EXPECT_TRUE(HasEvent(r, "+slave-reconf-sent", "slave 10.0.0.3:6379"));
  EXPECT_TRUE(HasEvent(r, "+slave-reconf-done", "slave 10.0.0.3:6379"));
  EXPECT_TRUE(HasEvent(r, "+failover-end"));
  EXPECT_TRUE(HasEvent(r, "+switch-master", "mymaster 10.0.0.1 6379 10.0.0.2 6379"));
  EXPECT_EQ(m->ip, "10.0.0.2");
  EXPECT_EQ(m->config_epoch, 1u);
  EXPECT_TRUE(m->replicas.contains("10.0.0.1:6379"));
  EXPECT_TRUE(m->replicas.contains("10.0.0.3:6379"));
}

TEST(SentinelTest, HelloWithNewerConfigEpochSwitchesMaster) {
  auto s = Make('a', {{"known-replica", "mymaster", "10.0.0.2", "6379"}});
  Hello h{"10.0.0.8", 26379, Id('b'), 5, "mymaster", "10.0.0.2", 6379, 5};
  EXPECT_EQ(s->Command({"PUBLISH", "__sentinel__:hello", EncodeHello(h)}, 2000).integer, 1);
  Ready r = s->TakeReady();
  EXPECT_TRUE(HasEvent(r, "+sentinel", "sentinel " + Id('b') + " 10.0.0.8 26379"));
  EXPECT_TRUE(HasEvent(r, "+new-epoch", "5"));
  EXPECT_TRUE(HasEvent(r, "+switch-master", "mymaster 10.0.0.1 6379 10.0.0.2 6379"));
  EXPECT_EQ(s->FindMaster("mymaster")->ip, "10.0.0.2");
  // Our own hellos are ignored; other channels are refused.
  h.runid = Id('a');
  h.master_config_epoch = 9;
  s->Command({"PUBLISH", "__sentinel__:hello", EncodeHello(h)}, 2000);
  EXPECT_EQ(s->FindMaster("mymaster")->config_epoch, 5u);
  EXPECT_EQ(s->Command({"PUBLISH", "x", "y"}, 0).str,
            "ERR Only HELLO messages are accepted by Sentinel instances.");
}

// Beyond Redis 7.0.15: two configs under one epoch (an unelected SENTINEL
// FAILOVER in a minority took the epoch an election took) are settled by
// the lower address, the same choice at every sentinel; Redis ignores a
// hello with its own epoch, and its sentinels disagree for good.
TEST(SentinelTest, SameEpochConflictKeepsTheLowerAddress) {
  auto s = Make('a', {{"known-replica", "mymaster", "10.0.0.2", "6379"},
                      {"known-replica", "mymaster", "10.0.0.3", "6379"}});
  Master* m = s->FindMaster("mymaster");
  auto hello = [&](char from, const std::string& ip) {
    Hello h{"10.0.0.8", 26379, Id(from), 5, "mymaster", ip, 6379, 5};
    s->Command({"PUBLISH", "__sentinel__:hello", EncodeHello(h)}, 2000);
    return s->TakeReady();
  };
  hello('b', "10.0.0.3");
  EXPECT_EQ(m->ip, "10.0.0.3");
  EXPECT_EQ(m->config_epoch, 5u);
  EXPECT_TRUE(
      HasEvent(hello('c', "10.0.0.2"), "+switch-master", "mymaster 10.0.0.3 6379 10.0.0.2 6379"));
  EXPECT_EQ(m->ip, "10.0.0.2");
  EXPECT_FALSE(HasEvent(hello('d', "10.0.0.3"), "+switch-master"));
  EXPECT_EQ(m->ip, "10.0.0.2");
  EXPECT_EQ(m->config_epoch, 5u);
}

// Beyond Redis 7.0.15: SENTINEL RESET during a failover that has promoted
// its replica (and announced it under the new config epoch) switches to it
// first; Redis goes back to the old address under the same epoch, which no
// other sentinel takes.
TEST(SentinelTest, ResetDuringFailoverKeepsThePromotedAddress) {
  auto s = Make('a', {{"known-replica", "mymaster", "10.0.0.2", "6379"}});
  Master* m = s->FindMaster("mymaster");
  m->config_epoch = m->failover_epoch = 3;
  m->failover_in_progress = true;
  m->failover_state = FailoverState::kReconfSlaves;
  m->promoted_replica = m->replicas.at("10.0.0.2:6379").get();
  ASSERT_EQ(s->CurrentAddress(*m).first, "10.0.0.2");
  EXPECT_EQ(s->Command({"SENTINEL", "RESET", "mymaster"}, 2000).integer, 1);
  Ready r = s->TakeReady();
  EXPECT_TRUE(HasEvent(r, "+switch-master", "mymaster 10.0.0.1 6379 10.0.0.2 6379"));
  EXPECT_TRUE(HasEvent(r, "+reset-master", "master mymaster 10.0.0.2 6379"));
  EXPECT_EQ(m->ip, "10.0.0.2");
  EXPECT_EQ(m->config_epoch, 3u);
  EXPECT_EQ(m->failover_state, FailoverState::kNone);
  EXPECT_TRUE(m->replicas.empty());  // a reset forgets the replicas
  // Before the promotion was announced, a reset keeps the old address.
  auto t = Make('a', {{"known-replica", "mymaster", "10.0.0.2", "6379"}});
  Master* n = t->FindMaster("mymaster");
  n->failover_in_progress = true;
  n->failover_state = FailoverState::kWaitPromotion;
  n->promoted_replica = n->replicas.at("10.0.0.2:6379").get();
  t->Command({"SENTINEL", "RESET", "mymaster"}, 2000);
  EXPECT_EQ(n->ip, "10.0.0.1");
}

// After a switch the new address is connected at the next timer run, even
// when the dead old master was tried a moment before, so its first PONG comes
// well inside down-after.
TEST(SentinelTest, SwitchedMasterIsConnectedAtOnce) {
  auto s = Make('a', {{"down-after-milliseconds", "mymaster", "1000"},
                      {"known-replica", "mymaster", "10.0.0.2", "6379"}});
  auto opened_to = [](const Ready& r, int port, const std::string& ip) {
    for (const auto& a : r.actions) {
      if (auto* o = std::get_if<OpenLink>(&a);
          o != nullptr && o->kind == LinkKind::kCommand && o->host == ip && o->port == port) {
        return true;
      }
    }
    return false;
  };
  s->Tick(1100);  // the first attempt at 10.0.0.1
  EXPECT_TRUE(opened_to(s->TakeReady(), 6379, "10.0.0.1"));
  Master* m = s->FindMaster("mymaster");
  s->OnLinkDown(m->id, LinkKind::kCommand, 1150);
  s->TakeReady();
  Hello h{"10.0.0.8", 26379, Id('b'), 5, "mymaster", "10.0.0.2", 6379, 5};
  s->Command({"PUBLISH", "__sentinel__:hello", EncodeHello(h)}, 1200);
  ASSERT_TRUE(HasEvent(s->TakeReady(), "+switch-master"));
  s->Tick(1300);
  EXPECT_TRUE(opened_to(s->TakeReady(), 6379, "10.0.0.2"));
}

// A sentinel known under two masters announces a new address in a hello
// for one of them: that one switches (+sentinel-address-switch), the other
// master's copy takes the address too (+sentinel-address-update).
TEST(SentinelTest, SentinelAddressUpdateAcrossMasters) {
  auto s = Make('a', {{"known-sentinel", "mymaster", "10.0.0.8", "26379", Id('b')}});
  ASSERT_EQ(s->ApplyConfigLine({"monitor", "other", "10.0.0.5", "6379", "2"}, 1000), "");
  ASSERT_EQ(s->ApplyConfigLine({"known-sentinel", "other", "10.0.0.8", "26379", Id('b')}, 1000),
            "");
  s->TakeReady();
  Hello h{"10.0.0.9", 26380, Id('b'), 0, "mymaster", "10.0.0.1", 6379, 0};
  s->Command({"PUBLISH", "__sentinel__:hello", EncodeHello(h)}, 2000);
  Ready r = s->TakeReady();
  EXPECT_TRUE(HasEvent(r, "+sentinel-address-switch",
                       "master mymaster 10.0.0.1 6379 ip 10.0.0.9 port 26380 for " + Id('b')));
  EXPECT_TRUE(HasEvent(r, "+sentinel-address-update",
                       "sentinel " + Id('b') +
                           " 10.0.0.9 26380 @ mymaster 10.0.0.1 6379 "
                           "1 additional matching instances"));
  EXPECT_FALSE(HasEvent(r, "+sentinel"));
  Reply other = s->Command({"SENTINEL", "SENTINELS", "other"}, 2000);
  ASSERT_EQ(other.elements.size(), 1u);
  EXPECT_EQ(other.elements[0].elements[3].str, "10.0.0.9");
  EXPECT_EQ(other.elements[0].elements[5].str, "26380");
}

// A sentinel met under a second master shares the link it has under the
// first (one connection, link-refcount 2); removing one master leaves the
// link to the other.
TEST(SentinelTest, SentinelLinkSharedAcrossMasters) {
  auto s = Make('a', {{"known-sentinel", "mymaster", "10.0.0.8", "26379", Id('b')}});
  ASSERT_EQ(s->ApplyConfigLine({"monitor", "other", "10.0.0.5", "6379", "2"}, 1000), "");
  s->TakeReady();
  InstanceId link_id = 0;
  auto sentinel_opens = [&](const Ready& r) {
    int n = 0;
    for (const auto& a : r.actions) {
      const auto* o = std::get_if<OpenLink>(&a);
      if (o != nullptr && o->host == "10.0.0.8") {
        ++n;
        link_id = o->id;
      }
    }
    return n;
  };
  auto refcount = [&](const std::string& master) {
    Reply r = s->Command({"SENTINEL", "SENTINELS", master}, 2000);
    if (r.elements.size() != 1) return std::string("none");
    const auto& f = r.elements[0].elements;
    for (size_t i = 0; i + 1 < f.size(); i += 2) {
      if (f[i].str == "link-refcount") return f[i + 1].str;
    }
    return std::string("?");
  };
  s->Tick(1100);
  EXPECT_EQ(sentinel_opens(s->TakeReady()), 1);
  Hello h{"10.0.0.8", 26379, Id('b'), 0, "other", "10.0.0.5", 6379, 0};
  s->Command({"PUBLISH", "__sentinel__:hello", EncodeHello(h)}, 1500);
  EXPECT_TRUE(HasEvent(s->TakeReady(), "+sentinel", "@ other 10.0.0.5 6379"));
  EXPECT_EQ(refcount("mymaster"), "2");
  EXPECT_EQ(refcount("other"), "2");
  s->Tick(2600);
  EXPECT_EQ(sentinel_opens(s->TakeReady()), 0);  // already connected
  EXPECT_EQ(s->Command({"SENTINEL", "REMOVE", "mymaster"}, 2700).str, "OK");
  for (const auto& a : s->TakeReady().actions) {
    const auto* c = std::get_if<CloseLink>(&a);
    if (c != nullptr) {
      EXPECT_NE(c->id, link_id);
    }
  }
  EXPECT_EQ(refcount("other"), "1");
}

TEST(SentinelTest, SubcommandErrors) {
  auto s = Make('a', {});
  EXPECT_EQ(s->Command({"SENTINEL"}, 0).str,
            "ERR wrong number of arguments for 'sentinel' command");
  EXPECT_EQ(s->Command({"SENTINEL", "foo"}, 0).str,
            "ERR unknown subcommand 'foo'. Try SENTINEL HELP.");
  EXPECT_EQ(s->Command({"SENTINEL", "set", "mymaster", "quorum"}, 0).str,
            "ERR wrong number of arguments for 'sentinel|set' command");
  EXPECT_EQ(s->Command({"SENTINEL", "SET", "mymaster", "fakeoption", "1"}, 0).str,
            "ERR Unknown option or number of arguments for SENTINEL SET 'fakeoption'");
  EXPECT_EQ(s->Command({"SENTINEL", "SET", "mymaster", "down-after-milliseconds", "abc"}, 0).str,
            "ERR Invalid argument 'abc' for SENTINEL SET 'down-after-milliseconds'");
  EXPECT_EQ(s->Command({"SENTINEL", "MASTER", "x"}, 0).str, "ERR No such master with that name");
  EXPECT_EQ(s->Command({"SENTINEL", "MONITOR", "m2", "10.0.0.5", "6379", "x"}, 0).str,
            "ERR Invalid quorum");
  EXPECT_EQ(s->Command({"SENTINEL", "MONITOR", "m2", "10.0.0.5", "p", "2"}, 0).str,
            "ERR Invalid port");
  EXPECT_EQ(s->Command({"SENTINEL", "MONITOR", "m2", "nohost", "6379", "2"}, 0).str,
            "ERR Invalid IP address or hostname specified");
  EXPECT_EQ(s->Command({"SENTINEL", "MONITOR", "mymaster", "10.0.0.5", "6379", "2"}, 0).str,
            "ERR Duplicate master name.");
  EXPECT_EQ(s->Command({"SENTINEL", "FAILOVER", "mymaster"}, 0).str,
            "NOGOODSLAVE No suitable replica to promote");
  EXPECT_EQ(s->Command({"SENTINEL", "CONFIG", "SET", "resolve-hostnames", "maybe"}, 0).str,
            "ERR Invalid value 'maybe' to SENTINEL CONFIG SET 'resolve-hostnames'");
  EXPECT_EQ(s->Command({"SENTINEL", "DEBUG", "info-period", "0"}, 0).str,
            "ERR Invalid argument '0' for SENTINEL DEBUG 'info-period'");
  Reply dbg = s->Command({"SENTINEL", "DEBUG"}, 0);
  ASSERT_EQ(dbg.elements.size(), 26u);
  EXPECT_EQ(dbg.elements[0].str, "INFO-PERIOD");
  EXPECT_EQ(dbg.elements[1].str, "10000");
  Reply ck = s->Command({"SENTINEL", "CKQUORUM", "mymaster"}, 0);
  EXPECT_EQ(ck.str,
            "NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified "
            "quorum for this master");
}

TEST(SentinelTest, HostnamesResolvedAndAnnounced) {
  auto s = Make('a', {});
  s->resolver = [](const std::string& h) { return h == "localhost" ? "127.0.0.1" : ""; };
  EXPECT_EQ(s->Command({"SENTINEL", "MONITOR", "m2", "localhost", "7000", "2"}, 0).str,
            "ERR Invalid IP address or hostname specified");  // resolve-hostnames no
  EXPECT_EQ(s->Command({"SENTINEL", "CONFIG", "SET", "resolve-hostnames", "yes"}, 0).str, "OK");
  EXPECT_EQ(s->Command({"SENTINEL", "CONFIG", "SET", "announce-hostnames", "yes"}, 0).str, "OK");
  EXPECT_EQ(s->Command({"SENTINEL", "MONITOR", "m2", "nosuchhost", "7000", "2"}, 0).str,
            "ERR Invalid IP address or hostname specified");
  EXPECT_EQ(s->Command({"SENTINEL", "MONITOR", "m2", "localhost", "7000", "2"}, 0).str, "OK");
  auto addr = [&] { return s->Command({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", "m2"}, 0); };
  EXPECT_EQ(addr().elements[0].str, "localhost");
  // A peer asking by IP finds the master given by name.
  Reply r =
      s->Command({"SENTINEL", "is-master-down-by-addr", "127.0.0.1", "7000", "1", Id('b')}, 0);
  EXPECT_EQ(r.elements[1].str, Id('b'));
  s->Command({"SENTINEL", "CONFIG", "SET", "announce-hostnames", "no"}, 0);
  EXPECT_EQ(addr().elements[0].str, "127.0.0.1");
  s->Tick(1100);
  bool connects_to_ip = false;
  for (const auto& a : s->TakeReady().actions) {
    if (auto* o = std::get_if<OpenLink>(&a)) connects_to_ip |= o->host == "127.0.0.1";
  }
  EXPECT_TRUE(connects_to_ip);
}

TEST(SentinelTest, ScriptsRunRetryAndTimeOut) {
  auto s = Make('a', {{"deny-scripts-reconfig", "no"}});
  EXPECT_EQ(s->Command({"SENTINEL", "SET", "mymaster", "notification-script", "/bin/true"}, 0).str,
            "OK");
  // The WARNING event of that very change (+set, with an instance) runs it.
  s->Tick(1100);
  uint64_t job = 0;
  for (const auto& a : s->TakeReady().actions) {
    if (auto* r = std::get_if<RunScript>(&a)) {
      job = r->job;
      EXPECT_EQ(r->argv, (std::vector<std::string>{
                             "/bin/true", "+set",
                             "master mymaster 10.0.0.1 6379 notification-script /bin/true"}));
    }
  }
  ASSERT_NE(job, 0u);
  s->OnScriptStarted(job, 4242, 1100);
  Reply p = s->Command({"SENTINEL", "PENDING-SCRIPTS"}, 1200);
  ASSERT_EQ(p.elements.size(), 1u);
  EXPECT_EQ(p.elements[0].elements[3].str, "running");
  EXPECT_EQ(p.elements[0].elements[6].str, "run-time");
  // Exit code 1: retried after script-retry-delay.
  s->OnScriptExit(4242, 1, 0, 1300);
  p = s->Command({"SENTINEL", "PENDING-SCRIPTS"}, 1300);
  EXPECT_EQ(p.elements[0].elements[3].str, "scheduled");
  EXPECT_EQ(p.elements[0].elements[7].str, "30000");
  s->Tick(1400);
  for (const auto& a : s->TakeReady().actions) EXPECT_FALSE(std::holds_alternative<RunScript>(a));
  Millis t = 1400;
  for (; t <= 31400; t += 100) s->Tick(t);
  bool again = false;
  for (const auto& a : s->TakeReady().actions) again |= std::holds_alternative<RunScript>(a);
  EXPECT_TRUE(again);
  s->OnScriptStarted(job, 4243, t);
  // It runs too long: killed, then reported as an error when it ends.
  for (Millis end = t + 60100; t <= end; t += 100) s->Tick(t);
  Ready r = s->TakeReady();
  EXPECT_TRUE(HasEvent(r, "-script-timeout", "/bin/true 4243"));
  bool killed = false;
  for (const auto& a : r.actions) {
    if (auto* k = std::get_if<KillScript>(&a)) killed |= k->pid == 4243;
  }
  EXPECT_TRUE(killed);
  s->OnScriptExit(4243, 2, 0, t);
  EXPECT_TRUE(HasEvent(s->TakeReady(), "-script-error", "/bin/true 0 2"));
  // The job is gone (other events meanwhile queued jobs of their own).
  for (const Reply& e : s->Command({"SENTINEL", "PENDING-SCRIPTS"}, t).elements) {
    EXPECT_NE(e.elements[5].str, "4243");
  }
}

// --- Simulator -----------------------------------------------------------------
// N sentinels, one primary (dead from the start of the run) and two replicas,
// over a network that drops each sentinel-to-sentinel message with
// probability `loss`. Invariant: in every epoch at most one sentinel is
// elected and at most one replica is sent SLAVEOF NO ONE.
struct Sim {
  struct Data {
    std::string ip;
    bool alive = true;
    bool master = false;
    std::string master_ip = "10.0.0.1";
    int64_t offset;
    std::string runid;
  };
  std::vector<std::unique_ptr<Sentinel>> sentinels;
  std::map<std::string, Data> data;  // by ip (all on port 6379)
  std::mt19937_64 rng{7};
  double loss;
  std::set<int> partitioned;                           // sentinels cut off from the others
  std::map<uint64_t, std::set<std::string>> elected;   // epoch -> leaders
  std::map<uint64_t, std::set<std::string>> promoted;  // epoch -> replicas

  Sim(int n, double loss_rate) : loss(loss_rate) {
    data["10.0.0.1"] = {"10.0.0.1", false, true, "", 1000, Id('1')};
    data["10.0.0.2"] = {"10.0.0.2", true, false, "10.0.0.1", 900, Id('2')};
    data["10.0.0.3"] = {"10.0.0.3", true, false, "10.0.0.1", 800, Id('3')};
    for (int i = 0; i < n; ++i) {
      std::vector<std::vector<std::string>> lines = {
          {"down-after-milliseconds", "mymaster", "1000"},
          {"failover-timeout", "mymaster", "5000"},
          {"known-replica", "mymaster", "10.0.0.2", "6379"},
          {"known-replica", "mymaster", "10.0.0.3", "6379"}};
      for (int j = 0; j < n; ++j) {
        if (j != i) {
          lines.push_back({"known-sentinel", "mymaster", absl::StrCat("10.1.0.", j), "26379",
                           Id(static_cast<char>('a' + j))});
        }
      }
      auto s = std::make_unique<Sentinel>(Id(static_cast<char>('a' + i)), 26379, 100 + i, 0);
      EXPECT_EQ(s->ApplyConfigLine(
                    {"monitor", "mymaster", "10.0.0.1", "6379", std::to_string(n / 2 + 1)}, 0),
                "");
      for (auto& l : lines) EXPECT_EQ(s->ApplyConfigLine(l, 0), "");
      s->TakeReady();
      sentinels.push_back(std::move(s));
    }
  }

  int IndexOf(const std::string& ip) const { return std::stoi(ip.substr(ip.rfind('.') + 1)); }
  bool Lost(int from, int to) {
    if (partitioned.contains(from) != partitioned.contains(to)) return true;
    return std::uniform_real_distribution<double>(0, 1)(rng) < loss;
  }

  std::string Info(const Data& d) {
    if (d.master) return absl::StrCat("run_id:", d.runid, "\r\nrole:master\r\n");
    return absl::StrCat("run_id:", d.runid, "\r\nrole:slave\r\nmaster_host:", d.master_ip,
                        "\r\nmaster_port:6379\r\nmaster_link_status:up\r\nslave_repl_offset:",
                        d.offset, "\r\nslave_priority:100\r\n");
  }

  void Step(int i, Millis now) {
    Sentinel& s = *sentinels[i];
    s.Tick(now);
    Ready r = s.TakeReady();
    for (auto& a : r.actions) {
      if (auto* open = std::get_if<OpenLink>(&a)) {
        Instance* ri = s.Find(open->id);
        bool up = ri->kind == Kind::kSentinel || data[open->host].alive;
        if (up) {
          s.OnLinkUp(open->id, open->kind, absl::StrCat("10.1.0.", i), now);
        } else {
          s.OnLinkDown(open->id, open->kind, now);
        }
      } else if (auto* send = std::get_if<SendCommands>(&a)) {
        Instance* ri = s.Find(send->id);
        if (ri == nullptr || send->kind != LinkKind::kCommand) continue;
        for (auto& cmd : send->commands) Deliver(i, ri, send->to, cmd, now);
      } else if (auto* e = std::get_if<Event>(&a)) {
        if (e->type == "+elected-leader") {
          elected[s.FindMaster("mymaster")->failover_epoch].insert(s.myid());
        }
      }
    }
  }

  void Deliver(int i, Instance* ri, ReplyTo to, const std::vector<std::string>& cmd, Millis now) {
    Sentinel& s = *sentinels[i];
    InstanceId id = ri->id;
    if (ri->kind == Kind::kSentinel) {
      int j = IndexOf(ri->ip);
      if (Lost(i, j)) return;
      Reply reply = sentinels[j]->Command(cmd, now);
      if (Lost(j, i)) return;
      s.OnReply(id, to, reply, now);
      return;
    }
    Data& d = data[ri->ip];
    if (!d.alive) return;
    if (cmd[0] == "SLAVEOF") {
      if (cmd[1] == "NO") {
        d.master = true;
        promoted[s.FindMaster("mymaster")->failover_epoch].insert(d.ip);
      } else {
        d.master = false;
        d.master_ip = cmd[1];
      }
      return;
    }
    Reply reply = Reply::Status("OK");
    if (cmd[0] == "PING") reply = Reply::Status("PONG");
    if (cmd[0] == "INFO") reply = Reply::Bulk(Info(d));
    if (cmd[0] == "PUBLISH") {
      // The server delivers the hello to every other sentinel's pub/sub link.
      for (size_t j = 0; j < sentinels.size(); ++j) {
        if (static_cast<int>(j) == i || Lost(i, static_cast<int>(j))) continue;
        Master* m = sentinels[j]->FindMaster("mymaster");
        Instance* via = m->ip == d.ip ? m : nullptr;
        for (auto& [k, r] : m->replicas) {
          if (r->ip == d.ip) via = r.get();
        }
        if (via != nullptr) sentinels[j]->OnPubsubMessage(via->id, cmd[1], cmd[2], now);
      }
      reply = Reply::Integer(1);
    }
    s.OnReply(id, to, reply, now);
  }

  void Run(Millis until) {
    for (Millis now = 100; now <= until; now += 100) {
      for (size_t i = 0; i < sentinels.size(); ++i) Step(static_cast<int>(i), now);
    }
  }
};

class SimTest : public ::testing::TestWithParam<std::tuple<int, double>> {};

TEST_P(SimTest, AtMostOnePromotedReplicaPerEpoch) {
  auto [n, loss] = GetParam();
  Sim sim(n, loss);
  sim.Run(60000);
  for (auto& [epoch, leaders] : sim.elected) EXPECT_LE(leaders.size(), 1u) << "epoch " << epoch;
  for (auto& [epoch, replicas] : sim.promoted) {
    EXPECT_LE(replicas.size(), 1u) << "epoch " << epoch;
  }
  if (loss < 0.3) {
    // With a mostly working network the failover completes everywhere.
    EXPECT_FALSE(sim.promoted.empty());
    int masters = 0;
    for (auto& [ip, d] : sim.data) masters += d.alive && d.master;
    EXPECT_EQ(masters, 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Networks, SimTest,
                         ::testing::Values(std::tuple{3, 0.0}, std::tuple{3, 0.2},
                                           std::tuple{5, 0.3}, std::tuple{5, 0.5},
                                           std::tuple{7, 0.4}));

TEST(SimTest, PartitionedMinorityDoesNotFailOver) {
  Sim sim(5, 0.0);
  // Sentinels 0 and 1 are cut off from 2, 3 and 4, which are stopped: the
  // minority (2 of 5) sees the primary down but cannot reach quorum 3.
  sim.partitioned = {0, 1};
  for (Millis now = 100; now <= 30000; now += 100) {
    sim.Step(0, now);
    sim.Step(1, now);
  }
  EXPECT_TRUE(sim.promoted.empty());
  EXPECT_TRUE(sim.elected.empty());
}

// The links to other sentinels AUTH with sentinel-user/sentinel-pass, or
// with requirepass alone when no sentinel-pass is set; masters with their
// auth-user/auth-pass.
TEST(SentinelTest, SentinelLinksAuthWithSentinelPassElseRequirepass) {
  struct Case {
    std::vector<std::vector<std::string>> lines;
    std::string user, pass;
  };
  const Case cases[] = {
      {{}, "", "rp"},
      {{{"sentinel-user", "su"}, {"sentinel-pass", "sp"}}, "su", "sp"},
      {{{"sentinel-pass", "sp"}}, "", "sp"},
      {{{"sentinel-user", "su"}}, "", "rp"},
  };
  for (const Case& c : cases) {
    std::vector<std::vector<std::string>> lines = c.lines;
    lines.push_back({"known-sentinel", "mymaster", "10.0.0.9", "26379", Id('b')});
    lines.push_back({"auth-pass", "mymaster", "mp"});
    auto s = Make('a', lines);
    s->set_requirepass("rp");
    s->Tick(2000);
    int sentinel_links = 0, master_links = 0;
    for (const auto& a : s->TakeReady().actions) {
      const auto* o = std::get_if<OpenLink>(&a);
      if (o == nullptr) continue;
      if (o->host == "10.0.0.9") {
        ++sentinel_links;
        EXPECT_EQ(o->user, c.user);
        EXPECT_EQ(o->password, c.pass);
      } else {
        ++master_links;
        EXPECT_EQ(o->user, "");
        EXPECT_EQ(o->password, "mp");
      }
    }
    EXPECT_EQ(sentinel_links, 1);
    EXPECT_GE(master_links, 1);
  }
}

}  // namespace
}  // namespace shardnode::sentinel
