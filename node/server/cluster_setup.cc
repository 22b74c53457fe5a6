#include "node/server/cluster_setup.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "clusterbus/bus_engine.h"
#include "clusterbus/nodes_conf.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/server/blocking.h"
#include "node/server/nodes_conf_file.h"
#include "node/server/pubsub.h"
#include "node/server/replication_control.h"
#include "node/server/server.h"

#if __has_include("node/server/log.h")
#include "node/server/log.h"
#define SHARDNODE_HAVE_LOG 1
#endif

namespace shardnode::node {
namespace {

using clusterbus::ClusterState;
using clusterbus::LogSeverity;

void LogLine(LogLevel level, const std::string& text) {
#ifdef SHARDNODE_HAVE_LOG
  Log(level, text);
#else
  // TODO(cluster): node/server/log.h not there yet when this was written.
  (void)level;
  std::fprintf(stderr, "%s\n", text.c_str());
#endif
}

LogLevel ToLevel(LogSeverity s) {
  switch (s) {
    case LogSeverity::kDebug:
      return LogLevel::kDebug;
    case LogSeverity::kVerbose:
      return LogLevel::kVerbose;
    case LogSeverity::kNotice:
      return LogLevel::kNotice;
    case LogSeverity::kWarning:
      return LogLevel::kWarning;
  }
  return LogLevel::kNotice;
}

// Ports and address this node announces, from the options (Redis's
// deriveAnnouncedPorts and the announce-ip/hostname updates).
void ApplyMyselfAddress(ClusterState& state, const ServerOptions& o, int bound_port) {
  clusterbus::ClusterNode& me = state.myself();
  const int plain_port = bound_port ? bound_port : o.port;
  // Under tls-cluster the announced client port is the TLS one and the
  // plain one travels as pport.
  const int port = o.tls_cluster ? o.tls_port : plain_port;
  me.port = port;
  me.pport = o.tls_cluster ? plain_port : 0;
  if (o.tls_cluster && o.cluster_announce_tls_port) {
    me.port = o.cluster_announce_tls_port;
    me.pport = o.cluster_announce_port;
  } else if (o.cluster_announce_port) {
    me.port = o.cluster_announce_port;
  }
  if (o.cluster_announce_bus_port) {
    me.cport = o.cluster_announce_bus_port;
  } else {
    me.cport = o.cluster_port ? o.cluster_port : port + 10000;
  }
  if (!o.cluster_announce_ip.empty()) me.ip = o.cluster_announce_ip;
  me.hostname = o.cluster_announce_hostname;
  if (me.is_replica() && o.cluster_replica_no_failover) {
    me.flags |= clusterbus::kFlagNoFailover;
  } else {
    me.flags &= ~clusterbus::kFlagNoFailover;
  }
}

}  // namespace

clusterbus::ClusterOptions ClusterOptionsFrom(const ServerOptions& o) {
  clusterbus::ClusterOptions c;
  c.node_timeout_ms = o.cluster_node_timeout;
  c.require_full_coverage = o.cluster_require_full_coverage;
  c.allow_replica_migration = o.cluster_allow_replica_migration;
  c.migration_barrier = o.cluster_migration_barrier;
  c.replica_validity_factor = o.cluster_replica_validity_factor;
  c.repl_ping_replica_period_s = o.repl_ping_replica_period;
  c.replica_no_failover = o.cluster_replica_no_failover;
  if (o.cluster_preferred_endpoint_type == "hostname") {
    c.preferred_endpoint = clusterbus::PreferredEndpoint::kHostname;
  } else if (o.cluster_preferred_endpoint_type == "unknown-endpoint") {
    c.preferred_endpoint = clusterbus::PreferredEndpoint::kUnknown;
  } else {
    c.preferred_endpoint = clusterbus::PreferredEndpoint::kIp;
  }
  return c;
}

absl::Status SetUpCluster(Server& server, int64_t now_ms) {
  const ServerOptions& o = server.options();
  auto file = NodesConfFile::OpenAndLock(o.cluster_config_file);
  if (!file.ok()) return file.status();
  std::shared_ptr<NodesConfFile> conf(std::move(*file));

  auto loaded = conf->Load(ClusterOptionsFrom(o), now_ms);
  if (!loaded.ok()) return loaded.status();
  std::unique_ptr<ClusterState> state = std::move(*loaded);
  if (state) {
    LogLine(LogLevel::kNotice, absl::StrCat("Node configuration loaded, I'm ", state->myself().id));
  } else {
    state = std::make_unique<ClusterState>(RandomHexId(), ClusterOptionsFrom(o));
    LogLine(LogLevel::kNotice,
            absl::StrCat("No cluster configuration found, I'm ", state->myself().id));
    // Saved before the ports are set, as Redis does (the file reads ":0@0").
    absl::Status st = conf->Save(clusterbus::SerializeNodesConf(*state), /*fsync=*/true);
    if (!st.ok()) {
      return absl::InternalError(
          absl::StrCat("Fatal: can't update cluster config file. ", std::string(st.message())));
    }
  }

  if (!o.cluster_port && o.port > 65535 - 10000) {
    return absl::InvalidArgumentError(
        "Redis port number too high. Cluster communication port is 10,000 port numbers higher "
        "than your Redis port. Your Redis port number must be 55535 or less.");
  }
  if (o.bind.empty()) {
    return absl::InvalidArgumentError(
        "No bind address is configured, but it is required for the Cluster bus.");
  }
  ApplyMyselfAddress(*state, o, server.tcp_port());
  // What loading asked for is already done (the file is what was read) or
  // moot before the node serves (no subscribers, no data, no links yet).
  clusterbus::Ready from_loading = state->TakeReady(now_ms);
  (void)from_loading;
  state->RequestStateUpdate();
  // A replica in nodes.conf resumes replicating its primary (Redis does it
  // from the cron once the primary's address is known).
  const clusterbus::ClusterNode& me = state->myself();
  if (me.is_replica() && me.primary && !me.primary->ip.empty()) {
    state->RequestReplication(*me.primary);
  }
  server.set_cluster(std::move(state));
  server.save_cluster_config = [&server, conf](bool fsync, std::string* error) {
    ClusterState* cluster = server.cluster();
    if (!cluster) return true;
    absl::Status st = conf->Save(clusterbus::SerializeNodesConf(*cluster), fsync);
    if (!st.ok()) {
      if (error) *error = std::string(st.message());
      return false;
    }
    return true;
  };
  return absl::OkStatus();
}

namespace {

// Redis's delKeysInSlot (as 7.2 does it): removes every key of `slot` from
// database 0 of the shard that holds the slot, one DEL per key to the write
// stream (replicas and AOF stay consistent) and to watchers.
void DeleteKeysInSlot(Server& server, int slot, int64_t now_ms) {
  Db& db = server.ShardForSlot(slot).db(0);
  if (db.CountKeysInSlot(slot) == 0) return;
  const std::vector<std::string> keys = db.KeysInSlot(slot, db.CountKeysInSlot(slot));
  if (server.before_write) {
    // A snapshot in progress serializes these keys before they go.
    std::vector<std::string_view> views(keys.begin(), keys.end());
    server.before_write(0, views);
  }
  for (const std::string& key : keys) {
    // An expired key is reaped by Delete (its DEL goes through expiry).
    if (!db.Delete(key, now_ms)) continue;
    ++server.stats().dirty;
    const std::string del[] = {"DEL", key};
    server.write_stream().Append(0, slot, del);
  }
}

// Carries out one item of the cluster core's Ready. Every alternative is
// named: an item this shell would not carry out does not compile.
void CarryOut(Server& server, clusterbus::ReadyItem& item, int64_t now_ms) {
  ClusterBus* bus = server.cluster_bus();
  std::visit(
      clusterbus::Overloaded{
          [&](const clusterbus::ConnectAction& a) {
            if (bus) bus->Connect(a, now_ms);
          },
          [&](const clusterbus::SendAction& a) {
            if (bus) bus->Send(a);
          },
          [&](const clusterbus::CloseAction& a) {
            if (bus) bus->Close(a.link);
          },
          [&](const clusterbus::DeliverAction& a) {
            server.pubsub().Publish(a.channel, a.message, a.shard);
          },
          [&](const clusterbus::LogLine& line) { LogLine(ToLevel(line.severity), line.text); },
          [&](const clusterbus::SaveConfig& save) {
            std::string error;
            if (server.save_cluster_config && !server.save_cluster_config(save.fsync, &error)) {
              LogLine(LogLevel::kWarning, "Fatal: can't update cluster config file.");
              std::exit(1);
            }
          },
          [&](const clusterbus::FlushData&) {
            for (int i = 0; i < server.num_shards(); ++i) server.shard(i).Clear();
            server.tracking().Flushed();
          },
          [&](const clusterbus::DeleteKeysInSlots& d) {
            std::vector<int> slots = d.slots;
            if (server.take_exported_slots) slots = server.take_exported_slots(std::move(slots));
            for (int slot : slots) DeleteKeysInSlot(server, slot, now_ms);
          },
          [&](const clusterbus::UnsubscribeShardSlots& u) {
            server.pubsub().UnsubscribeShardSlots(u.slots);
          },
          // Manual failover on a primary: writers wait while the replica
          // catches up.
          [&](const clusterbus::PauseWrites& p) {
            if (p.until_ms > 0) {
              server.PauseClients(Server::PausePurpose::kFailover, p.until_ms, false);
            } else {
              server.UnpauseClients(Server::PausePurpose::kFailover);
            }
          },
          // A promotion (or a new primary) reaches replication now rather
          // than at its next 100 ms reconciliation, so that no write is
          // refused meanwhile.
          [&](const clusterbus::StopReplication&) {
            if (server.replication()) server.replication()->SyncWithCluster();
          },
          [&](const clusterbus::ReplicatePrimary&) {
            if (server.replication()) server.replication()->SyncWithCluster();
          },
          // Clients blocked on a cluster that went down are redirected below
          // (RedirectBlockedClients runs after every Ready).
          [&](const clusterbus::ClusterStateChanged&) {},
      },
      item);
}

}  // namespace

void CarryOutClusterReady(Server& server, int64_t now_ms) {
  ClusterState* cluster = server.cluster();
  if (!cluster) return;
  // Carrying out an item may lead back here (a pubsub delivery that
  // publishes): the outermost call drains it all.
  static bool carrying_out = false;
  if (carrying_out) return;
  carrying_out = true;
  for (;;) {
    clusterbus::Ready ready = server.cluster_bus()
                                  ? server.cluster_bus()->engine().TakeReady(now_ms)
                                  : cluster->TakeReady(now_ms);
    if (ready.empty()) break;
    for (clusterbus::ReadyItem& item : ready.items) CarryOut(server, item, now_ms);
  }
  carrying_out = false;
}

void ApplyClusterEffects(Server& server, int64_t now_ms) {
  ClusterState* cluster = server.cluster();
  if (!cluster) return;
  // CONFIG SET (cluster-require-full-coverage...) counts from the next
  // evaluation on, as Redis reads its options live.
  cluster->set_options(ClusterOptionsFrom(server.options()));
  CarryOutClusterReady(server, now_ms);
  // Routing reads the new state from here on. (Sessions resumed by an
  // ended pause run on their own posted turn, after this.)
  server.PublishSlotTable();
  // Clients blocked on keys whose slot moved away, or whose cluster went
  // down, are redirected (spec 12.6).
  RedirectBlockedClients(server);
}

void RefreshClusterOptions(Server& server) {
  ClusterState* cluster = server.cluster();
  if (!cluster) return;
  cluster->set_options(ClusterOptionsFrom(server.options()));
  const clusterbus::ClusterNode& me = cluster->myself();
  const std::string hostname_before = me.hostname;
  ApplyMyselfAddress(*cluster, server.options(), server.tcp_port());
  // A new hostname travels in the ping extension: tell every node now
  // instead of waiting up to node_timeout/2 for each one's next ping.
  if (me.hostname != hostname_before) cluster->RequestBroadcastPong();
  // Redirections name the new endpoint at once.
  server.PublishSlotTable();
}

void ClusterCron(Server& server, int64_t now_ms) {
  ClusterState* cluster = server.cluster();
  if (!cluster) return;
  RefreshClusterOptions(server);
  if (server.cluster_bus()) server.cluster_bus()->engine().Tick(now_ms);
  cluster->Tick(now_ms);
  ApplyClusterEffects(server, now_ms);
}

}  // namespace shardnode::node
