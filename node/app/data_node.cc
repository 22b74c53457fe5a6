// The data node: a Redis Cluster node or a standalone server (see
// data_node.h). Wiring only: builds the command table, the node state and
// the shells, and runs the event loop.
#include "node/app/data_node.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "clusterbus/cluster_state.h"
#include "node/app/acl_startup.h"
#include "node/app/shutdown_sequence.h"
#include "node/commands/acl_family.h"
#include "node/commands/command_table.h"
#include "node/commands/dispatcher.h"
#include "node/config/config.h"
#include "node/keyspace/keyspace.h"
#include "node/migrate/atomic_migrator.h"
#include "node/migrate/migrator.h"
#include "node/net/bus_server.h"
#include "node/net/net_server.h"
#include "node/net/shard_threads.h"
#include "node/net/tls.h"
#include "node/persist/aof.h"
#include "node/persist/persistence.h"
#include "node/repl/repl_commands.h"
#include "node/repl/replication_manager.h"
#include "node/resp/reply.h"
#include "node/script/script_engine.h"
#include "node/server/blocking.h"
#include "node/server/clock.h"
#include "node/server/cluster_setup.h"
#include "node/server/crash_report.h"
#include "node/server/log.h"
#include "node/server/memory_counter.h"
#include "node/server/proc_title.h"
#include "node/server/server.h"

namespace shardnode::node {
namespace {

namespace asio = boost::asio;

// Stop signals (SIGTERM, SIGINT) received so far, counted by a handler that
// then passes the signal on to Asio's (installed first by signal_set).
std::atomic<uint64_t> stop_signals{0};
struct sigaction asio_sigterm_action;
struct sigaction asio_sigint_action;
// Set from the first stop signal until the shutdown it asked for is
// aborted (SHUTDOWN ABORT) or fails; a SIGINT meanwhile (the final save may
// hold the loop) exits at once, removing the save's temporary file, as
// Redis's sigShutdownHandler ("You insist... exiting now.").
std::atomic<bool> signal_shutdown_pending{false};
char temp_rdb_name[64];  // "temp-<pid>.rdb", Persistence::Save's file in `dir`

void CountStopSignal(int signo) {
  if (signo == SIGINT && signal_shutdown_pending.load(std::memory_order_relaxed)) {
    unlink(temp_rdb_name);
    _exit(1);  // not a clean shutdown
  }
  signal_shutdown_pending.store(true, std::memory_order_relaxed);
  stop_signals.fetch_add(1, std::memory_order_relaxed);
  const struct sigaction& next = signo == SIGINT ? asio_sigint_action : asio_sigterm_action;
  if (next.sa_handler != SIG_DFL && next.sa_handler != SIG_IGN) next.sa_handler(signo);
}

void ChainStopSignals() {
  std::snprintf(temp_rdb_name, sizeof(temp_rdb_name), "temp-%d.rdb", static_cast<int>(getpid()));
  struct sigaction sa {};
  sa.sa_handler = CountStopSignal;
  sigfillset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &asio_sigterm_action);
  sigaction(SIGINT, &sa, &asio_sigint_action);
}

void Daemonize() {
  if (fork() != 0) _exit(0);  // the parent returns to the shell
  setsid();
  const int fd = open("/dev/null", O_RDWR);
  if (fd != -1) {
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO) close(fd);
  }
}

void WritePidFile(const std::string& path) {
  if (path.empty()) return;
  if (FILE* f = fopen(path.c_str(), "w")) {
    fprintf(f, "%d\n", static_cast<int>(getpid()));
    fclose(f);
  } else {
    Logf(LogLevel::kWarning, "Failed to write PID file: %s", strerror(errno));
  }
}

// The periodic jobs, `hz` times a second: active expiry. (The cluster cron
// runs every 100 ms on the bus server's own timer.)
class Cron {
 public:
  Cron(asio::io_context& io, Server& server) : timer_(io), server_(server) {}
  void Start() { Arm(); }
  void Stop() { timer_.cancel(); }
  // Runs first in every tick that is not paused: a shutdown a signal asked
  // for happens here, so DEBUG PAUSE-CRON holds it back and SHUTDOWN ABORT
  // may cancel it in between, as in Redis's serverCron.
  std::function<void()> before_tick;

 private:
  void Arm() {
    const int hz = std::max(1, server_.options().hz);
    timer_.expires_after(std::chrono::milliseconds(1000 / hz));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      Tick();
      Arm();
    });
  }
  void Tick() {
    // The software watchdog fires when no tick pushed it back for a whole
    // period. A dataset load does not push it back: Redis's cron does not
    // run while it loads, so its watchdog reports the load (the
    // integration tests wait for that report during a diskless load).
    if (!server_.loading().active) {
      ArmWatchdog(WatchdogPeriodMs(server_.options().watchdog_period, server_.options().hz));
    }
    if (server_.cron_paused()) return;  // DEBUG PAUSE-CRON 1
    if (before_tick) before_tick();
    const int64_t now = NowMs();
    server_.ExpirePauses(now);
    Monitoring& mon = server_.monitoring();
    if (now - mon.last_metric_sample_ms >= 100) {  // Redis samples every 100 ms
      mon.last_metric_sample_ms = now;
      mon.ops.Track(now, server_.TotalStat(&Stats::total_commands_processed));
      mon.net_input.Track(now, server_.TotalStat(&Stats::total_net_input_bytes));
      mon.net_output.Track(now, server_.TotalStat(&Stats::total_net_output_bytes));
    }
    // A load in progress owns the dataset. A replica's keys expire by its
    // primary's DELs, as in Redis (reads hide them meanwhile). Expiry deletes
    // replicate: none while clients are paused.
    const bool replica = server_.replication() != nullptr && server_.replication()->is_replica();
    // A busy script (node/script serves the loop from its hook) owns the
    // dataset too: no expiry or save point may cut it in the middle.
    if (!server_.loading().active && server_.busy_script_error().empty()) {
      const bool expire = server_.active_expire_enabled() && !replica && !server_.WritesPaused(now);
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < server_.num_shards() && expire; ++i) {
        server_.shard(i).ActiveExpireCycle(now, kExpireKeysPerTick);
      }
      // A writable replica's own keys with a TTL have no primary to delete
      // them: they expire here (Redis's expireSlaveKeys).
      if (replica && server_.active_expire_enabled()) {
        for (int i = 0; i < server_.num_shards(); ++i) {
          Keyspace& ks = server_.shard(i);
          for (int d = 0; d < ks.num_dbs(); ++d) ks.db(d).ExpireOwnKeys(now);
        }
      }
      if (expire) {
        const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - start)
                               .count();
        server_.monitoring().latency.AddIfNeeded(
            "expire-cycle", ms, server_.options().latency_monitor_threshold, now / 1000);
      }
      if (server_.persistence()) server_.persistence()->Cron(now);
      // An eviction run cut short by its time limit goes on here.
      if (server_.evictor().running()) server_.evictor().Perform(now);
    }
    UpdatePeakMemory();
    HandleBlockedTimeouts(server_, now);
    // A soft output limit runs out while nothing more is written (Redis's
    // clientsCron).
    server_.CloseClientsOverOutputLimit(now);
    // Query buffers: freed when idle, trimmed when oversized (Redis's
    // clientsCronResizeQueryBuffer); closes no read event reported.
    // Reply buffers follow their peak (clientsCronResizeOutputBuffer).
    Stats& stats = server_.stats();
    for (const auto& [id, s] : server_.clients()) {
      if (s->client_cron) s->client_cron(now);
      server_.UpdateClientMemory(*s);
      if (!server_.reply_buffer_resizing()) continue;
      const int change = ResizeReplyBuffer(*s, now, server_.reply_buffer_peak_reset_ms());
      if (change < 0) ++stats.reply_buffer_shrinks;
      if (change > 0) ++stats.reply_buffer_expands;
    }
    // Also with no limit: the running total then forgets the limit it was
    // built for, and is built again when one is set.
    server_.EvictClients();
    if (server_.tracking().num_clients() > 0) {
      server_.tracking().LimitTable(static_cast<size_t>(server_.options().tracking_table_max_keys));
    }
  }
  static constexpr int kExpireKeysPerTick = 200;
  asio::steady_timer timer_;
  Server& server_;
};

// Cluster mode: listens on the bus port and wires the bus shell into the
// node (cron, effects, PUBLISH both ways). nullptr after logging when the
// port cannot be bound.
std::unique_ptr<BusServer> StartClusterBus(asio::io_context& io, Server& server, TlsContexts& tls) {
  const ServerOptions& opts = server.options();
  BusServer::Hooks hooks;
  hooks.cron = [&server](int64_t now_ms) { ClusterCron(server, now_ms); };
  hooks.after_batch = [&server](int64_t now_ms) { ApplyClusterEffects(server, now_ms); };
  hooks.sendbuf_limit = [&server]() { return server.options().cluster_link_sendbuf_limit; };
  hooks.replication_offset = [&server]() -> uint64_t {
    return server.replication() ? static_cast<uint64_t>(server.replication()->cluster_repl_offset())
                                : 0;
  };
  hooks.replication_data_age = [&server](int64_t now_ms) -> int64_t {
    return server.replication() ? server.replication()->DataAgeMs(now_ms) : 0;
  };
  auto bus = std::make_unique<BusServer>(io, *server.cluster(), std::move(hooks),
                                         static_cast<uint64_t>(NowMs()) ^ getpid());
  bus->set_tls(&tls, [&server]() { return server.options().tls_cluster; });
  // Under tls-cluster the bus port derives from the TLS port (Redis's
  // clusterInit).
  const int base_port = opts.tls_cluster ? opts.tls_port : server.tcp_port();
  const int cport = opts.cluster_port ? opts.cluster_port : base_port + 10000;
  absl::Status st = bus->Listen(opts.bind, cport, opts.tcp_backlog);
  if (!st.ok()) {
    Logf(LogLevel::kWarning, "Warning: %s", st.message());
    Logf(LogLevel::kWarning, "Failed listening on port %d (cluster), aborting.", cport);
    return nullptr;
  }
  server.set_cluster_bus(bus.get());
  BusServer* raw = bus.get();
  server.cluster_publish = [raw, &server](std::string_view channel, std::string_view message,
                                          bool shard) {
    raw->engine().Publish(channel, message, shard);
    CarryOutClusterReady(server, NowMs());  // sends only: no state changed
  };
  bus->StartCron();
  return bus;
}

}  // namespace

int RunDataNode(int argc, char** argv) {
  // No glibc fastbins: a big value freed on another thread (a migrated
  // key, node/migrate) would otherwise leave its million small chunks in
  // the main arena's fastbins, and the loop's next large allocation would
  // consolidate them all in one go (measured: 530 ms for a 1M-field hash).
  // Without fastbins each free coalesces as it goes; small allocations stay
  // fast through the per-thread tcache.
  mallopt(M_MXFAST, 0);
  auto config_or = Config::FromArgs(argc, argv);
  if (!config_or.ok()) {
    std::cerr << config_or.status().message() << std::endl;
    return 1;
  }
  std::unique_ptr<Config> config = std::move(*config_or);
  const ServerOptions& opts = config->options();

  // Config::FromArgs has already changed directory to `dir`, as Redis does
  // while it reads the directive, so logfile and nodes.conf land there.
  if (opts.daemonize) Daemonize();
  if (!LogInit(opts.loglevel, opts.logfile)) {
    std::cerr << "Can't open the log file: " << strerror(errno) << std::endl;
    return 1;
  }
  Log(LogLevel::kWarning, "oO0OoO0OoO0Oo shardnode is starting oO0OoO0OoO0Oo");
  Logf(LogLevel::kWarning,
       "shardnode (Redis version=7.0.15 compatible), bits=64, pid=%d, just started",
       static_cast<int>(getpid()));
  Log(LogLevel::kWarning, "Configuration loaded");
  if (opts.cluster_enabled && opts.cluster_port == 0 && opts.port > 55535) {
    Log(LogLevel::kWarning,
        "Redis port number too high. Cluster communication port is 10,000 port numbers higher "
        "than your Redis port. Your Redis port number must be 55535 or less.");
    return 1;
  }

  std::unique_ptr<CommandTable> table = BuildCommandTable();
  Server server(config.get(), table.get());
  server.set_start_ms(NowMs());
  server.set_config_file(config->config_file());
  std::error_code fs_ec;
  server.set_executable(std::filesystem::absolute(argv[0], fs_ec).string());

  // `threads N` (N > 1): N shard threads beside the control loop, thread i
  // serving keyspace shard i and the sockets of the client connections
  // spread over them (shard_threads.h).
  // Declared before the control loop's io_context, so they outlive it:
  // handlers queued there may hold connections whose sockets are theirs.
  ShardThreads shard_threads(opts.threads > 1 ? opts.threads : 0);
  // One thread runs this io_context: the reactor needs no locking (other
  // threads may still post to it, which the scheduler keeps safe).
  asio::io_context io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
  Dispatcher dispatcher(server);
  // TLS (node/net/tls.h): configured when a TLS port, replication or bus
  // asks for it; CONFIG SET of a tls-* file rebuilds the contexts.
  TlsContexts tls;
  if (TlsWanted(opts) && !tls.Configure(opts)) {
    Log(LogLevel::kWarning, "Failed to configure TLS. Check logs for more info.");
    return 1;
  }
  server.configure_tls = [&tls, &server]() { return tls.Configure(server.options()); };
  if (int rc = LoadAclUsers(server.acl_ref(), AclCatalog(), *config); rc != 0) return rc;
  NetServer net(io, server, dispatcher, &tls, &shard_threads);
  server.change_listen_port = [&net, &server](bool tls_port) {
    const ServerOptions& o = server.options();
    return net.ChangePort(tls_port ? o.tls_port : o.port, tls_port);
  };
  server.change_bind = [&net](const std::vector<std::string>& previous) {
    return net.ChangeBind(previous);
  };
  absl::Status listening = net.Listen();
  if (!listening.ok()) {
    Logf(LogLevel::kWarning, "Warning: %s", listening.message());
    Logf(LogLevel::kWarning, "Failed listening on port %d (TCP), aborting.", opts.port);
    return 1;
  }
  if (absl::Status st = net.ListenUnix(); !st.ok()) {
    Logf(LogLevel::kWarning, "Failed opening Unix socket: %s", st.message());
    return 1;
  }
  // The process title (proc-title-template), set now that the ports are
  // known and again on CONFIG SET; argv[0] is kept first, the title
  // overwrites it.
  const std::string exec_argv0 = argv[0];
  if (server.config().Value("set-proc-title").value_or("yes") == "yes") {
    InitProcTitle(argc, argv);
    server.update_proc_title = [&server, &net, exec_argv0]() {
      const ServerOptions& o = server.options();
      ProcTitleVars vars;
      vars.title = exec_argv0;
      vars.port = server.tcp_port();
      vars.tls_port = o.tls_port;
      vars.unixsocket = net.unix_path();
      if (vars.port != 0 || vars.tls_port != 0) {
        vars.listen_addr = absl::StrCat(o.bind.empty() ? "*" : o.bind[0], ":",
                                        vars.port != 0 ? vars.port : vars.tls_port);
      } else {
        vars.listen_addr = absl::StrCat("unixsocket:", vars.unixsocket);
      }
      vars.server_mode = o.cluster_enabled ? "[cluster]" : "";
      vars.config_file = server.config_file().empty() ? "-" : server.config_file();
      const std::optional<std::string> title =
          ExpandProcTitle(server.config().Value("proc-title-template").value_or("{title}"), vars);
      if (title) SetProcTitle(*title);
    };
    server.update_proc_title();
  }
  if (!net.listening()) {
    Log(LogLevel::kWarning, "Configured to not listen anywhere, exiting.");
    return 1;
  }
  InstallCrashHandler({.logfile = opts.logfile,
                       .mode = opts.cluster_enabled ? "cluster" : "standalone",
                       .port = server.tcp_port(),
                       .executable = server.executable(),
                       .config_file = server.config_file()});
  std::unique_ptr<BusServer> bus;
  if (opts.cluster_enabled) {
    absl::Status st = SetUpCluster(server, NowMs());
    if (!st.ok()) {
      Logf(LogLevel::kWarning, "%s", st.message());
      return 1;
    }
    bus = StartClusterBus(io, server, tls);
    if (!bus) return 1;
  }
  // RDB snapshots: slices of a BGSAVE run as posted tasks (or timers, with
  // rdb-key-save-delay); the finisher thread posts its outcome too.
  persist::Persistence persistence(server, [&io](int64_t delay_us, std::function<void()> fn) {
    if (delay_us <= 0) {
      asio::post(io, std::move(fn));
      return;
    }
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::microseconds(delay_us));
    timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code ec) {
      if (!ec) fn();
    });
  });
  // The AOF replays its commands through the dispatcher, replies dropped.
  persistence.aof()->execute = [&dispatcher, &table](Session& session,
                                                     std::vector<std::string>& args) {
    if (table->Find(args[0]) == nullptr) return false;
    std::string discarded;
    resp::ReplyBuilder sink(&discarded);
    dispatcher.Execute(session, args, sink, NowMs());
    return true;
  };
  WritePidFile(opts.pidfile);
  Logf(LogLevel::kNotice, "Running mode=%s, port=%d. PID: %d",
       opts.cluster_enabled ? "cluster" : "standalone", server.tcp_port(),
       static_cast<int>(getpid()));
  Log(LogLevel::kWarning, "Server initialized");

  ReplicationManager replication(io, server, dispatcher);
  replication.tls_client = [&tls, &server]() -> std::shared_ptr<asio::ssl::context> {
    return server.options().tls_replication ? tls.client() : nullptr;
  };
  server.set_replication(&replication);
  // The primary's OOM score (a replicaof in the file sets the replica's
  // when the link starts).
  (void)server.ApplyOomScore();
  // Before the loop runs: no command has been read yet.
  RegisterReplicationCommands(*table, replication);
  // Lua scripting; a script that runs long serves the loop from its hook.
  script::ScriptEngine scripting(server, dispatcher);
  scripting.process_events = [&io]() { io.poll(); };
  scripting.stopping = [&io]() { return io.stopped(); };
  script::RegisterScriptingCommands(*table, scripting);
  // Every command is in the table now. An entry that disagrees with Redis's
  // facts is a bug (COMMAND INFO shows Redis's, the dispatcher acts on the
  // entry's); say so where tests look (test_command_meta).
  for (const std::string& line : DisagreementsWithRedis(*table)) {
    Logf(LogLevel::kWarning, "Command table disagrees with Redis 7.0.15: %s", line);
  }
  // Every command's statistics exist before the first client: a command's
  // first call allocates nothing (unit/obuf-limits compares used_memory
  // around a client's first LRANGE).
  server.ReserveCommandStats(table->num_stats_indexes());
  server.script_memory_info = [&scripting]() { return scripting.MemoryInfo(); };
  server.script_writes = [&scripting](std::span<const std::string> args) {
    return scripting.DeclaredWrites(args);
  };
  server.function_library_codes = [&scripting]() { return scripting.LibraryCodes(); };
  server.load_function_library = [&scripting](std::string_view code, bool replace,
                                              std::string* error) {
    return scripting.LoadLibraryFromRdb(code, replace, error);
  };
  server.flush_functions = [&scripting]() { scripting.FlushLibraries(); };
  // rename-command lines, once every command is registered.
  for (const auto& [from, to] : config->renamed_commands()) {
    const std::string error = table->Rename(from, to);
    if (!error.empty()) {
      std::cerr << "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n>>> 'rename-command " << from
                << " " << to << "'\n"
                << error << std::endl;
      return 1;
    }
  }
  migrate::Migrator migrator(io, server);
  migrator.tls_client = [&tls, &server]() -> std::shared_ptr<asio::ssl::context> {
    return server.options().tls_cluster ? tls.client() : nullptr;
  };
  migrator.Start();
  server.cached_migrate_sockets = [&migrator]() { return migrator.cached_connections(); };
  migrate::AtomicMigrator atomic_migrator(io, server);
  atomic_migrator.Start();

  Cron cron(io, server);
  // An eviction run cut short goes on between the loop's other events.
  server.schedule_eviction = [&io, &server] {
    asio::post(io, [&server] { server.evictor().Continue(NowMs()); });
  };
  // BCAST invalidations gathered during this turn of the loop go out after
  // the events already queued (Redis's beforeSleep).
  server.tracking().schedule_broadcast = [&io, &server] {
    asio::post(io, [&server] { server.tracking().BroadcastPending(); });
  };
  // Units committed by shard threads' producers (write_stream.h) are
  // delivered on this loop. Called from those threads: post is safe there.
  server.write_stream().set_wake(
      [&io, &server] { asio::post(io, [&server] { server.write_stream().Drain(); }); });
  // Likewise the keyspace events their commands raised (keyspace_events.h).
  server.keyspace_event_queue()->set_wake([&io, &server] {
    asio::post(io, [&server] { server.keyspace_event_queue()->PublishAll(server.pubsub()); });
  });
  // And their MONITOR lines (Monitoring::shard_lines).
  server.monitoring().shard_lines.set_wake(
      [&io, &server] { asio::post(io, [&server] { server.SendQueuedMonitorLines(); }); });
  bool stopping = false;
  auto begin_shutdown = [&](int) {
    if (stopping) return;
    stopping = true;
    // No new client from now on: a client that sees its SHUTDOWN's
    // connection close (at once, while the rest is posted) must find the
    // port closed, as with Redis, which exits inside the command.
    net.StopAccepting();
    // Let the current command's reply go out, then stop.
    asio::post(io, [&]() {
      replication.Stop();
      migrator.Stop();
      atomic_migrator.Stop();
      net.Stop();
      if (bus) bus->Stop();
      cron.Stop();
      io.stop();
    });
  };
  // SHUTDOWN and the stop signals: waits for lagging replicas, saves, then
  // begin_shutdown (node/app/shutdown_sequence.h).
  ShutdownSequence shutdown(server, begin_shutdown, []() {
    signal_shutdown_pending.store(false, std::memory_order_relaxed);
  });
  server.request_shutdown = [&shutdown](int flags, int64_t now_ms) {
    return shutdown.Request(flags, now_ms);
  };
  server.shutdown_deadline = [&shutdown]() { return shutdown.deadline_ms(); };
  server.abort_shutdown = [&shutdown]() { return shutdown.Abort(); };
  server.sleep = [](int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };

  asio::signal_set signals(io, SIGTERM, SIGINT);
  std::function<void(boost::system::error_code, int)> on_signal;
  on_signal = [&](boost::system::error_code ec, int signo) {
    if (ec) return;
    Log(LogLevel::kWarning, signo == SIGINT ? "Received SIGINT scheduling shutdown..."
                                            : "Received SIGTERM scheduling shutdown...");
    shutdown.OnSignal(signo);  // carried out by the cron's next tick
    signals.async_wait(on_signal);
  };
  cron.before_tick = [&]() {
    if (!stopping) shutdown.Tick(NowMs());
  };
  signals.async_wait(on_signal);
  signal(SIGPIPE, SIG_IGN);
  // A Lua debugging session blocks the loop: it notices a stop signal by
  // itself (the signal still reaches the handler above afterwards).
  ChainStopSignals();
  scripting.stop_signals = []() { return stop_signals.load(); };

  // The RDB file loads while the loop serves (-LOADING); replication starts
  // from the loaded data. A file that fails to load stops the node.
  int exit_code = 0;
  MarkStartupMemory();  // INFO used_memory_startup: before any data
  persistence.LoadAtStartupInBackground(NowMs(), [&](absl::Status st) {
    if (!st.ok()) {
      Logf(LogLevel::kWarning, "%s", st.message());
      if (persistence.rdb_read_failed()) {
        Log(LogLevel::kWarning, "Terminating server after rdb file reading failure.");
      }
      exit_code = 1;
      io.stop();
      return;
    }
    replication.Start();
    Log(LogLevel::kNotice, "Ready to accept connections");
    if (!net.unix_path().empty()) {
      Logf(LogLevel::kNotice, "The server is now ready to accept connections at %s",
           net.unix_path());
    }
  });
  cron.Start();
  io.run();
  // Nothing runs on the shard threads after the control loop: no command
  // (what the shutdown saved stays the last state), and the connections
  // they still hold are freed with them.
  net.StopShardCommands();
  shard_threads.Stop();
  if (exit_code != 0) return exit_code;

  if (server.cluster_enabled() && server.save_cluster_config) {
    std::string error;
    if (!server.save_cluster_config(true, &error)) {
      Logf(LogLevel::kWarning, "Error saving the cluster config on shutdown: %s", error);
    }
  }
  net.RemoveUnixSocket();
  if (!opts.pidfile.empty()) unlink(opts.pidfile.c_str());
  Log(LogLevel::kWarning, "shardnode is now ready to exit, bye bye...");
  return 0;
}

}  // namespace shardnode::node
