// The Sentinel mode of shardnode (`shardnode sentinel.conf --sentinel`, or
// started as redis-sentinel): the thin Asio shell around the pure core
// sentinel::Sentinel (sentinel/sentinel.h). It serves a sentinel's commands
// to clients, keeps the command and pub/sub links to every monitored
// instance through the outbound RESP client, carries out each Ready the
// core returns (links, commands, events published and logged, config
// rewrites, scripts) and ticks the core every next_tick_delay() ms (52..100,
// Redis's randomised sentinel hz). main() runs it when ChooseMode (mode.h)
// picks Mode::kSentinel.
#pragma once

namespace shardnode::node {

// Parses the command line as redis-server does (a config file, then
// "--name value" options), requires a writable config file, applies the
// `sentinel` lines in Redis's three passes and runs the event loop on the
// calling thread until SHUTDOWN, SIGTERM or SIGINT. Returns the exit code:
// 0 after a shutdown, 1 for a bad or missing config file or a port that
// cannot be bound.
// REQUIRES: called once per process, from main().
int RunSentinel(int argc, char** argv);

}  // namespace shardnode::node
