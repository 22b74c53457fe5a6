// The Sentinel shell (sentinel_node.h): client connections, links to the
// monitored instances, the timer, and the actions of the core's Ready.
#include "node/app/sentinel_node.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <netdb.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>
// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/strings.h"
#include "node/acl/acl.h"
#include "node/app/acl_startup.h"
#include "node/commands/client_family.h"
#include "node/commands/command_meta.h"
#include "node/commands/command_meta_reply.h"
#include "node/commands/errors.h"
#include "node/config/config.h"
#include "node/config/glob.h"
#include "node/net/resp_client.h"
#include "node/resp/parser.h"
#include "node/resp/query_buffer.h"
#include "node/resp/reply.h"
#include "node/server/log.h"
#include "node/server/session.h"
#include "node/server/tracking.h"
#include "sentinel/sentinel.h"

namespace shardnode::node {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using sentinel::Millis;

Millis NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

LogLevel ToLogLevel(sentinel::Level l) {
  switch (l) {
    case sentinel::Level::kDebug:
      return LogLevel::kDebug;
    case sentinel::Level::kVerbose:
      return LogLevel::kVerbose;
    case sentinel::Level::kNotice:
      return LogLevel::kNotice;
    case sentinel::Level::kWarning:
      return LogLevel::kWarning;
  }
  return LogLevel::kNotice;
}

sentinel::Reply FromWire(const resp::ReplyValue& v) {
  using T = resp::ReplyValue::Type;
  sentinel::Reply r;
  switch (v.type) {
    case T::kSimpleString:
      r.type = sentinel::Reply::Type::kStatus;
      break;
    case T::kError:
      r.type = sentinel::Reply::Type::kError;
      break;
    case T::kInteger:
      r.type = sentinel::Reply::Type::kInteger;
      break;
    case T::kBulk:
    case T::kVerbatim:
      r.type = sentinel::Reply::Type::kBulk;
      break;
    case T::kNull:
      r.type = sentinel::Reply::Type::kNullBulk;
      break;
    case T::kArray:
    case T::kSet:
    case T::kPush:
      r.type = sentinel::Reply::Type::kArray;
      break;
    default:
      r.type = sentinel::Reply::Type::kOther;
      break;
  }
  r.str = v.str;
  r.integer = v.integer;
  for (const auto& e : v.elements) r.elements.push_back(FromWire(e));
  return r;
}

void Encode(const sentinel::Reply& r, resp::ReplyBuilder* b) {
  using T = sentinel::Reply::Type;
  switch (r.type) {
    case T::kStatus:
      b->SimpleString(r.str);
      return;
    case T::kError:
      b->Error(r.str);
      return;
    case T::kInteger:
      b->Integer(r.integer);
      return;
    case T::kBulk:
    case T::kOther:
      b->Bulk(r.str);
      return;
    case T::kNullBulk:
      b->NullBulk();
      return;
    case T::kNullArray:
      b->NullArray();
      return;
    case T::kArray:
      b->ArrayHeader(r.elements.size());
      for (const auto& e : r.elements) Encode(e, b);
      return;
    case T::kMap:
      b->MapHeader(r.elements.size() / 2);
      for (const auto& e : r.elements) Encode(e, b);
      return;
  }
}

std::string RandomHex40() {
  std::random_device rd;
  std::mt19937_64 g((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ UnixMs());
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 40; ++i) s += kHex[g() % 16];
  return s;
}

// The commands a sentinel has (COMMAND COUNT is 15), in the order COMMAND
// lists them here (Redis's follows its dict's hashing).
constexpr std::string_view kCommands[] = {"acl",      "auth",         "client",     "command",
                                          "hello",    "info",         "ping",       "psubscribe",
                                          "publish",  "punsubscribe", "role",       "sentinel",
                                          "shutdown", "subscribe",    "unsubscribe"};

// The sentinel's command table, as Redis 7.0.15 builds it in sentinel mode:
// these commands of the server's table (with all their subcommands) and
// SENTINEL.
const std::vector<const meta::CommandMeta*>& SentinelTable() {
  static const auto* table = [] {
    auto* t = new std::vector<const meta::CommandMeta*>();
    for (std::string_view c : kCommands) {
      t->push_back(c == "sentinel" ? &meta::SentinelCommand() : meta::Find(c));
    }
    return t;
  }();
  return *table;
}

// The entry of `name` ("ping", "acl|setuser"; any case) in SentinelTable(),
// or nullptr.
const meta::CommandMeta* SentinelMeta(std::string_view name) {
  const std::string lower = base::AsciiLower(name);
  const size_t bar = lower.find('|');
  const std::string top = lower.substr(0, bar);
  for (const meta::CommandMeta* m : SentinelTable()) {
    if (m->name != top) continue;
    if (bar == std::string::npos) return m;
    for (const meta::CommandMeta& s : meta::Subcommands(*m)) {
      if (s.name == lower) return &s;
    }
    return nullptr;
  }
  return nullptr;
}

// SentinelTable() as the ACL sees it: every command and subcommand with
// its ACL categories (ids index this list).
std::vector<acl::CommandEntry> SentinelAclCatalog() {
  std::vector<acl::CommandEntry> out;
  auto add = [&](const meta::CommandMeta& m, int parent) {
    acl::CommandEntry e;
    e.name = m.name;
    e.categories = m.acl_categories;
    e.no_auth = (m.flags & meta::kNoAuth) != 0;
    e.parent = parent;
    out.push_back(std::move(e));
    return static_cast<int>(out.size()) - 1;
  };
  for (const meta::CommandMeta* m : SentinelTable()) {
    const int id = add(*m, -1);
    for (const meta::CommandMeta& sub : meta::Subcommands(*m)) {
      const int sid = add(sub, id);
      out[id].subs.push_back(sid);
    }
  }
  return out;
}

class SentinelNode;

// The first address of `host` (getaddrinfo, IPv4 first as Redis's
// anetResolve), or "" when it does not resolve. Blocks: names are local
// (localhost, /etc/hosts) in practice.
std::string ResolveHost(const std::string& host) {
  for (int family : {AF_INET, AF_INET6}) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    const void* addr =
        family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr);
    inet_ntop(family, addr, buf, sizeof(buf));
    freeaddrinfo(res);
    return buf;
  }
  return "";
}

// One client connection.
struct SentinelSession : std::enable_shared_from_this<SentinelSession> {
  explicit SentinelSession(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  uint64_t id = 0;
  std::string name;
  std::string addr;
  int protocol = 2;
  std::string laddr;
  int fd = -1;
  int64_t created_ms = 0, last_ms = 0;  // wall clock
  std::string last_cmd;                 // "ping", "client|list"
  bool authenticated = false;
  std::string user = "default";
  std::set<std::string> channels, patterns;
  std::string out;
  size_t sending = 0;  // bytes of the write in flight
  bool writing = false;
  bool closing = false;
  // The state the data node's Session keeps and CLIENT shares with it
  // (node/commands/client_family.h): tracking, CLIENT REPLY, NO-EVICT, and
  // the buffer figures of CLIENT LIST (query buffer, argv, reply buffer,
  // output). Its identity fields are copied in by ClientLine.
  Session core;
  resp::QueryBuffer query;
  resp::RequestParser parser;
  bool processing = false;  // ReadSession is between parsing and Consume

  void Write(std::string bytes) {
    out += bytes;
    CountOutput();
    Flush();
  }
  // As the data node's shell: pending output, and the reply buffer's peak.
  void CountOutput() {
    core.output_buffer_bytes = out.size() + sending;
    core.output_buffer_allocated = out.capacity() + sending;
    core.reply_buffer_peak = std::max(core.reply_buffer_peak,
                                      std::min(core.output_buffer_bytes, core.reply_buffer_size));
  }
  void Flush() {
    if (writing || out.empty() || !socket.is_open()) return;
    writing = true;
    auto buf = std::make_shared<std::string>(std::move(out));
    out.clear();
    sending = buf->size();
    asio::async_write(socket, asio::buffer(*buf),
                      [self = shared_from_this(), buf](boost::system::error_code ec, size_t) {
                        self->writing = false;
                        self->sending = 0;
                        self->CountOutput();
                        if (ec) {
                          self->socket.close(ec);
                          return;
                        }
                        if (self->closing && self->out.empty()) {
                          self->socket.close(ec);
                          return;
                        }
                        self->Flush();
                      });
  }
};

// One link (command or pub/sub) to a monitored instance.
struct Link {
  sentinel::InstanceId id;
  sentinel::LinkKind kind;
  std::shared_ptr<RespClient> client;
  bool connected = false;
  bool closed = false;
  struct Pending {
    sentinel::ReplyTo to;
    bool report;                      // counted by the core
    bool close_on_error;              // SUBSCRIBE on the pub/sub link (hiredis)
    sentinel::InstanceId origin = 0;  // whom the reply is for (a shared link)
  };
  std::deque<Pending> pending;
  std::vector<std::vector<std::string>> queued;  // before the connection is up
};

class SentinelNode {
 public:
  SentinelNode(asio::io_context& io, std::unique_ptr<Config> config)
      : io_(io), config_(std::move(config)), timer_(io), signals_(io, SIGTERM, SIGINT) {}

  int Start() {
    const ServerOptions& opts = config_->options();
    const std::string id = RandomHex40();
    core_ = std::make_unique<sentinel::Sentinel>(id, opts.port, std::random_device{}(), NowMs());
    core_->resolver = ResolveHost;
    core_->wall_offset = UnixMs() - NowMs();
    // ACL users: requirepass, `user` lines or the aclfile, as a server.
    if (int rc = LoadAclUsers(acl_, SentinelAclCatalog(), *config_); rc != 0) return rc;
    core_->set_requirepass(opts.requirepass);
    // Redis's three passes: the pre-monitor keys, the monitors, the rest.
    const auto& lines = config_->sentinel_lines();
    std::vector<std::vector<std::string>> args;
    for (const auto& l : lines) args.push_back(l.args);
    size_t failed = 0;
    if (std::string err = core_->ApplyConfig(args, NowMs(), &failed); !err.empty()) {
      const auto& l = lines[failed];
      std::cerr << "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
                << "Reading the configuration file, at line " << l.linenum << "\n>>> '" << l.line
                << "'\n"
                << err << std::endl;
      return 1;
    }
    core_->TakeReady();  // nothing from loading is acted on
    if (absl::Status s = Listen(); !s.ok()) {
      Logf(LogLevel::kWarning, "%s", std::string(s.message()));
      return 1;
    }
    Logf(LogLevel::kNotice, "Running mode=sentinel, port=%d.", opts.port);
    if (!core_->myid_from_config()) SaveConfig();
    Logf(LogLevel::kWarning, "Sentinel ID is %s", core_->myid());
    for (auto& [name, m] : core_->masters()) {
      LogEvent(LogLevel::kWarning, "+monitor",
               absl::StrCat("master ", name, " ", m->ip, " ", m->port, " quorum ", m->quorum));
    }
    signals_.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      Log(LogLevel::kWarning, "Received SIGTERM scheduling shutdown...");
      Shutdown();
    });
    ScheduleTick();
    return 0;
  }

 private:
  absl::Status Listen() {
    const ServerOptions& opts = config_->options();
    std::vector<std::string> addrs;
    for (const std::string& b : opts.bind) {
      bool optional = b.starts_with("-");
      std::string a = optional ? b.substr(1) : b;
      if (a == "*") a = "0.0.0.0";
      if (a == "::*") a = "::";
      addrs.push_back(a);
      (void)optional;
    }
    for (const std::string& a : addrs) {
      boost::system::error_code ec;
      auto addr = asio::ip::make_address(a, ec);
      if (ec) continue;
      auto acc = std::make_unique<tcp::acceptor>(io_);
      tcp::endpoint ep(addr, static_cast<unsigned short>(opts.port));
      acc->open(ep.protocol(), ec);
      if (ec) continue;
      acc->set_option(asio::socket_base::reuse_address(true), ec);
      if (addr.is_v6()) acc->set_option(asio::ip::v6_only(true), ec);
      acc->bind(ep, ec);
      if (ec) {
        if (addr.is_v6()) continue;  // "-::*" is optional
        return absl::UnavailableError(absl::StrCat("Could not create server TCP listening socket ",
                                                   a, ":", opts.port, ": ", ec.message()));
      }
      acc->listen(511, ec);
      ::fcntl(acc->native_handle(), F_SETFD, FD_CLOEXEC);
      acceptors_.push_back(std::move(acc));
      Accept(acceptors_.back().get());
    }
    if (acceptors_.empty()) return absl::UnavailableError("Failed listening on any address");
    return absl::OkStatus();
  }

  void Accept(tcp::acceptor* acc) {
    acc->async_accept([this, acc](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      ::fcntl(s.native_handle(), F_SETFD, FD_CLOEXEC);
      s.set_option(tcp::no_delay(true), ec);
      auto session = std::make_shared<SentinelSession>(std::move(s));
      session->id = ++next_client_id_;
      boost::system::error_code e2;
      session->addr = FormatEndpoint(session->socket.remote_endpoint(e2));
      session->laddr = FormatEndpoint(session->socket.local_endpoint(e2));
      session->fd = session->socket.native_handle();
      session->created_ms = session->last_ms = UnixMs();
      const acl::User& d = acl_.default_user();
      session->authenticated = d.enabled && d.nopass;
      session->core.id = session->id;
      session->core.created_ms = session->created_ms;
      session->core.reply_buffer_peak_reset_ms = session->created_ms;
      // Redis's createClient starts the peak at the buffer's size.
      session->core.reply_buffer_peak = session->core.reply_buffer_size;
      sessions_[session->id] = session;
      cores_[session->id] = &session->core;
      ++total_connections_;
      asio::co_spawn(io_, ReadSession(this, session), asio::detached);
      Accept(acc);
    });
  }

  static asio::awaitable<void> ReadSession(SentinelNode* self, std::shared_ptr<SentinelSession> s) {
    resp::RequestParser& parser = s->parser;
    std::vector<std::string> args;
    // The query buffer may be resized by ClientsCron whenever this
    // coroutine waits, so no read into it is ever pending: wait until the
    // socket is readable, then read at once (non-blocking). Epoll is
    // edge-triggered under Asio: a read that filled its room may have left
    // bytes that raise no new event, so the next read is tried at once.
    boost::system::error_code setup_ec;
    s->socket.non_blocking(true, setup_ec);
    bool may_hold_more = false;
    while (s->socket.is_open()) {
      boost::system::error_code ec;
      if (!may_hold_more) {
        co_await s->socket.async_wait(tcp::socket::wait_read,
                                      asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !s->socket.is_open()) break;
      }
      std::span<char> room = s->query.PrepareRead(0);
      const size_t n = s->socket.read_some(asio::buffer(room.data(), room.size()), ec);
      may_hold_more = !ec && n == room.size();
      if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
      if (ec) break;
      s->query.Commit(n);
      s->core.query_buffer_free = s->query.free();
      s->processing = true;
      const std::string_view in = s->query.data();
      size_t pos = 0;
      bool stop = false;
      while (!stop) {
        size_t consumed = 0;
        auto st = parser.Parse(in.substr(pos), &consumed, &args);
        pos += consumed;
        // While it runs, the read's unconsumed bytes count in the query
        // buffer (CLIENT INFO's qbuf), those of the commands before it
        // included, as in Redis (which trims them after the batch).
        s->core.query_buffer_bytes = in.size();
        if (st == resp::ParseStatus::kNeedMore) break;
        if (st == resp::ParseStatus::kError) {
          std::string o;
          resp::ReplyBuilder(&o).Error("ERR " + parser.error());
          s->closing = true;
          s->Write(std::move(o));
          stop = true;
          break;
        }
        if (args.empty()) continue;
        // CLIENT PAUSE: the command waits (and the client's later ones
        // with it) until the pause ends or CLIENT UNPAUSE.
        while (self->WaitsForPause(*s, args)) {
          asio::steady_timer wait(self->io_);
          wait.expires_after(std::chrono::milliseconds(
              std::max<int64_t>(1, self->pause_end_ms_ - static_cast<int64_t>(NowMs()))));
          self->pause_waiters_.insert(&wait);
          co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          self->pause_waiters_.erase(&wait);
          if (!s->socket.is_open()) break;
        }
        if (!s->socket.is_open()) break;
        self->Execute(s.get(), args);
      }
      s->query.Consume(pos);
      s->processing = false;
      s->core.query_buffer_bytes = s->query.size() + parser.pending_bytes();
      s->core.query_buffer_free = s->query.free();
      s->core.query_buffer_allocated = s->query.capacity() + parser.pending_bytes();
      if (stop) break;
    }
    self->cores_.erase(s->id);
    self->tracking_.Disable(s->core);
    self->sessions_.erase(s->id);
    co_return;
  }

  // Redis's processCommand under a client pause: every command waits during
  // CLIENT PAUSE ALL, and PUBLISH (the only command here that may
  // replicate) during CLIENT PAUSE WRITE; one refused before it runs
  // (unknown, wrong arity, NOAUTH) does not wait.
  bool WaitsForPause(const SentinelSession& s, const std::vector<std::string>& args) const {
    if (pause_end_ms_ <= static_cast<int64_t>(NowMs())) return false;
    const meta::CommandMeta* cmd = SentinelMeta(args[0]);
    if (cmd == nullptr) return false;
    if (!meta::Subcommands(*cmd).empty() && args.size() >= 2) {
      cmd = SentinelMeta(absl::StrCat(args[0], "|", args[1]));
      if (cmd == nullptr) return false;
    }
    const int argc = static_cast<int>(args.size());
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) return false;
    if (AuthRequired(s) && (cmd->flags & meta::kNoAuth) == 0) return false;
    return pause_all_ || (cmd->flags & meta::kWrite) != 0 ||
           std::string_view(cmd->name) == "publish";
  }

  void Unpause() {
    pause_end_ms_ = 0;
    for (asio::steady_timer* t : pause_waiters_) t->cancel();
  }

  // --- Client commands -------------------------------------------------------

  void Execute(SentinelSession* s, const std::vector<std::string>& args) {
    // A client to be closed after its reply (its user deleted, CLIENT KILL
    // of itself) runs nothing more, as Redis's CLOSE_AFTER_REPLY.
    if (s->closing) return;
    ++total_commands_;
    s->core.argc = args.size();
    s->core.argv_bytes = 0;
    for (const std::string& a : args) s->core.argv_bytes += a.size();
    ExecuteCommand(s, args);
    s->core.argc = 0;
    s->core.argv_bytes = 0;
    // CLIENT REPLY SKIP silences the command after it.
    s->core.reply_skip = false;
    if (s->core.reply_skip_next) {
      s->core.reply_skip_next = false;
      s->core.reply_skip = true;
    }
    // CLIENT CACHING applies to the next command only; any CLIENT
    // subcommand keeps it (as the data node's Dispatcher).
    if (!base::EqualsIgnoreCase(args[0], "client") || args.size() < 2 ||
        SentinelMeta(absl::StrCat("client|", args[1])) == nullptr) {
      s->core.tracking.caching = false;
    }
  }

  void ExecuteCommand(SentinelSession* s, const std::vector<std::string>& args) {
    std::string out;
    resp::ReplyBuilder b(&out, s->protocol);
    b.set_silenced(s->core.reply_off || s->core.reply_skip);
    std::string name = base::AsciiLower(args[0]);
    // Redis's processCommand: the command (or the container's subcommand)
    // must exist and get its arity, before anything else is checked.
    const meta::CommandMeta* cmd = SentinelMeta(name);
    if (cmd == nullptr) {
      b.Error(errors::UnknownCommand(args[0], args.data() + 1, args.size() - 1));
      s->Write(std::move(out));
      return;
    }
    if (!meta::Subcommands(*cmd).empty() && args.size() >= 2) {
      cmd = SentinelMeta(absl::StrCat(name, "|", args[1]));
      if (cmd == nullptr) {
        b.Error(errors::UnknownSubcommand(name, args[1]));
        s->Write(std::move(out));
        return;
      }
    }
    const int argc = static_cast<int>(args.size());
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
      b.Error(errors::WrongArity(cmd->name));
      s->Write(std::move(out));
      return;
    }
    s->last_cmd = cmd->name;
    s->last_ms = UnixMs();
    const bool no_auth = (cmd->flags & meta::kNoAuth) != 0;
    if (AuthRequired(*s) && !no_auth) {
      b.Error("NOAUTH Authentication required.");
      s->Write(std::move(out));
      return;
    }
    if (const acl::User* u = acl_.Find(s->user); u != nullptr && !no_auth && !u->Unrestricted()) {
      const int id = acl_.FindCommand(cmd->name);
      acl::CheckResult r = acl_.Check(*u, id, args, [] { return std::vector<acl::KeyRef>{}; });
      if (r.verdict != acl::Verdict::kOk) {
        LogDenial(*s, r.verdict, r.verdict == acl::Verdict::kDeniedCmd ? cmd->name : args[r.pos],
                  s->user);
        if (r.verdict == acl::Verdict::kDeniedCmd) {
          b.Error(absl::StrCat("NOPERM this user has no permissions to run the '", cmd->name,
                               "' command"));
        } else if (r.verdict == acl::Verdict::kDeniedKey) {
          b.Error(
              "NOPERM this user has no permissions to access one of the keys used as arguments");
        } else {
          b.Error(
              "NOPERM this user has no permissions to access one of the channels used as "
              "arguments");
        }
        s->Write(std::move(out));
        return;
      }
    }
    if (name == "ping") {
      if (args.size() > 2) {
        b.Error("ERR wrong number of arguments for 'ping' command");
      } else if (!s->channels.empty() || !s->patterns.empty()) {
        b.ArrayHeader(2);
        b.Bulk("pong");
        b.Bulk(args.size() == 2 ? args[1] : "");
      } else if (args.size() == 2) {
        b.Bulk(args[1]);
      } else {
        b.SimpleString("PONG");
      }
    } else if (name == "sentinel" || name == "publish") {
      save_failed_ = false;
      sentinel::Reply r = core_->Command(args, NowMs());
      HandleReady();
      std::string sub = args.size() > 1 ? base::AsciiLower(args[1]) : "";
      if (save_failed_ && !r.is_error() &&
          (sub == "flushconfig" || sub == "monitor" || sub == "remove" || sub == "set" ||
           sub == "config")) {
        r = sentinel::Reply::Error("ERR Failed to save config file. Check server logs.");
      }
      Encode(r, &b);
    } else if (name == "info") {
      b.Bulk(Info(args));
    } else if (name == "role") {
      b.ArrayHeader(2);
      b.Bulk("sentinel");
      b.ArrayHeader(core_->masters().size());
      for (auto& [n, m] : core_->masters()) b.Bulk(n);
    } else if (name == "auth") {
      if (args.size() == 2 && acl_.default_user().nopass) {
        b.Error(
            "ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?");
      } else if (Authenticate(s, args[0], args.size() == 3 ? args[1] : "default", args.back(),
                              &b)) {
        b.Ok();
      }
    } else if (name == "hello") {
      Hello(s, args, &b);
    } else if (name == "client") {
      Client(s, args, &b);
    } else if (name == "subscribe" || name == "psubscribe") {
      if (args.size() < 2) {
        b.Error(absl::StrCat("ERR wrong number of arguments for '", name, "' command"));
      }
      bool pattern = name == "psubscribe";
      for (size_t i = 1; i < args.size(); ++i) {
        (pattern ? s->patterns : s->channels).insert(args[i]);
        b.PushHeader(3);
        b.Bulk(name);
        b.Bulk(args[i]);
        b.Integer(static_cast<int64_t>(s->channels.size() + s->patterns.size()));
      }
    } else if (name == "unsubscribe" || name == "punsubscribe") {
      bool pattern = name == "punsubscribe";
      auto& set = pattern ? s->patterns : s->channels;
      std::vector<std::string> which(args.begin() + 1, args.end());
      if (which.empty()) which.assign(set.begin(), set.end());
      if (which.empty()) {
        b.PushHeader(3);
        b.Bulk(name);
        b.NullBulk();
        b.Integer(static_cast<int64_t>(s->channels.size() + s->patterns.size()));
      }
      for (const std::string& c : which) {
        set.erase(c);
        b.PushHeader(3);
        b.Bulk(name);
        b.Bulk(c);
        b.Integer(static_cast<int64_t>(s->channels.size() + s->patterns.size()));
      }
    } else if (name == "shutdown") {
      Log(LogLevel::kWarning, "User requested shutdown...");
      Shutdown();
      return;
    } else if (name == "command") {
      Command(args, &b);
    } else if (name == "acl") {
      Acl(s, args, &b);
    }
    s->Write(std::move(out));
  }

  // One line of CLIENT LIST / CLIENT INFO: the data node's
  // (ClientInfoLine) on the client's Session with its identity filled in.
  std::string ClientLine(const SentinelSession& c) const {
    Session v = c.core;
    v.name = c.name;
    v.addr = c.addr;
    v.laddr = c.laddr;
    v.fd = c.fd;
    v.protocol = c.protocol;
    v.created_ms = c.created_ms;
    v.last_interaction_ms = c.last_ms;
    v.last_command = c.last_cmd;
    v.user = acl_.Find(c.user);
    v.channels.insert(c.channels.begin(), c.channels.end());
    v.patterns.insert(c.patterns.begin(), c.patterns.end());
    v.close_after_reply = c.closing;
    return ClientInfoLine(v, UnixMs());
  }

  void Client(SentinelSession* s, const std::vector<std::string>& args, resp::ReplyBuilder* b) {
    std::string sub = args.size() > 1 ? base::AsciiLower(args[1]) : "";
    if (sub == "setname" && args.size() == 3) {
      s->name = args[2];
      b->Ok();
    } else if (sub == "getname" && args.size() == 2) {
      if (s->name.empty()) {
        b->NullBulk();
      } else {
        b->Bulk(s->name);
      }
    } else if (sub == "id" && args.size() == 2) {
      b->Integer(static_cast<int64_t>(s->id));
    } else if (sub == "list") {
      std::string text;
      for (auto& [id, c] : sessions_) absl::StrAppend(&text, ClientLine(*c), "\n");
      b->Verbatim(text);
    } else if (sub == "getredir") {
      ReplyTrackingRedirect(s->core, *b);
    } else if (sub == "trackinginfo") {
      ReplyTrackingInfo(s->core, *b);
    } else if (sub == "tracking") {
      // No keys are read here: tracking only changes the client's mode.
      ClientTrackingCommand(tracking_, cores_, s->core, *b, args);
    } else if (sub == "caching") {
      ClientCachingCommand(s->core, *b, args);
    } else if (sub == "reply") {
      ClientReplyMode(s->core, *b, args);
    } else if (sub == "pause") {
      int64_t end_ms = 0;
      bool all = true;
      if (ParseClientPause(*b, args, static_cast<int64_t>(NowMs()), &end_ms, &all)) {
        // As Redis's pauseClients: a later end or a stronger mode wins
        // over a pause still running.
        if (pause_end_ms_ <= static_cast<int64_t>(NowMs())) pause_all_ = false;
        pause_all_ = pause_all_ || all;
        pause_end_ms_ = std::max(pause_end_ms_, end_ms);
        b->Ok();
      }
    } else if (sub == "help") {
      meta::ReplyHelpLines(*b, "CLIENT", ClientHelpLines());
    } else if (sub == "unblock") {
      int64_t id = 0;
      if (args.size() > 4) {
        b->Error(errors::SubcommandSyntax(args[0], args[1]));
      } else if (args.size() == 4 && !base::EqualsIgnoreCase(args[3], "timeout") &&
                 !base::EqualsIgnoreCase(args[3], "error")) {
        b->Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
      } else if (!base::ParseStrictInt64(args[2], &id)) {
        b->Error(errors::kNotInteger);
      } else {
        b->Integer(0);  // nothing blocks in a sentinel
      }
    } else if (sub == "no-evict") {
      if (base::EqualsIgnoreCase(args[2], "on") || base::EqualsIgnoreCase(args[2], "off")) {
        s->core.no_evict = base::EqualsIgnoreCase(args[2], "on");
        b->Ok();
      } else {
        b->Error(errors::kSyntax);
      }
    } else if (sub == "unpause") {
      Unpause();
      b->Ok();
    } else if (sub == "info" && args.size() == 2) {
      b->Verbatim(absl::StrCat(ClientLine(*s), "\n"));
    } else if (sub == "kill" && args.size() >= 4) {
      // CLIENT KILL <filter> <value> ... [SKIPME yes|no]: every filter must
      // match; the caller is skipped unless SKIPME no.
      bool skipme = true;
      std::vector<std::pair<std::string, std::string>> filters;
      for (size_t i = 2; i + 1 < args.size(); i += 2) {
        std::string f = base::AsciiLower(args[i]);
        if (f == "skipme") {
          skipme = !base::EqualsIgnoreCase(args[i + 1], "no");
        } else if (f == "addr" || f == "id" || f == "user" || f == "type" || f == "laddr") {
          filters.emplace_back(f, args[i + 1]);
        } else {
          b->Error("ERR syntax error");
          return;
        }
      }
      if (args.size() % 2 != 0) {
        b->Error("ERR syntax error");
        return;
      }
      std::vector<std::shared_ptr<SentinelSession>> victims;
      for (auto& [id, c] : sessions_) {
        if (skipme && c.get() == s) continue;
        bool match = true;
        for (auto& [f, v] : filters) {
          if (f == "addr") match &= c->addr == v;
          if (f == "id") match &= std::to_string(id) == v;
          if (f == "user") match &= c->user == v;
          if (f == "type") {
            bool pubsub = !c->channels.empty() || !c->patterns.empty();
            match &= base::EqualsIgnoreCase(v, pubsub ? "pubsub" : "normal");
          }
        }
        if (match) victims.push_back(c);
      }
      for (auto& v : victims) {
        v->closing = true;  // the caller still gets its reply
        if (v.get() != s) {
          boost::system::error_code ec;
          v->socket.close(ec);
        }
      }
      b->Integer(static_cast<int64_t>(victims.size()));
    } else {
      b->Error(errors::UnknownSubcommand("client", args.size() > 1 ? args[1] : ""));
    }
  }

  // Redis's authRequired: the default user asks for a password (or is off)
  // and this client has not authenticated.
  bool AuthRequired(const SentinelSession& s) const {
    const acl::User& d = acl_.default_user();
    return (!d.nopass || !d.enabled) && !s.authenticated;
  }

  // ACLAuthenticateUser: switches `s` to `user` or replies WRONGPASS (and
  // logs the failure).
  bool Authenticate(SentinelSession* s, const std::string& command, const std::string& user,
                    const std::string& pass, resp::ReplyBuilder* b) {
    if (acl_.CheckCredentials(user, pass)) {
      s->authenticated = true;
      s->user = user;
      return true;
    }
    LogDenial(*s, acl::Verdict::kDeniedAuth, command, user);
    b->Error("WRONGPASS invalid username-password pair or user is disabled.");
    return false;
  }

  // HELLO [protover [AUTH username password] [SETNAME clientname]].
  void Hello(SentinelSession* s, const std::vector<std::string>& args, resp::ReplyBuilder* b) {
    int proto = s->protocol;
    if (args.size() >= 2) {
      int64_t v = 0;
      if (!base::ParseStrictInt64(args[1], &v)) {
        b->Error("ERR Protocol version is not an integer or out of range");
        return;
      }
      if (v < 2 || v > 3) {
        b->Error("NOPROTO unsupported protocol version");
        return;
      }
      proto = static_cast<int>(v);
    }
    const std::string* user = nullptr;
    const std::string* pass = nullptr;
    const std::string* setname = nullptr;
    for (size_t j = 2; j < args.size(); ++j) {
      const size_t more = args.size() - 1 - j;
      if (base::EqualsIgnoreCase(args[j], "auth") && more >= 2) {
        user = &args[j + 1];
        pass = &args[j + 2];
        j += 2;
      } else if (base::EqualsIgnoreCase(args[j], "setname") && more >= 1) {
        setname = &args[j + 1];
        ++j;
      } else {
        b->Error(absl::StrCat("ERR Syntax error in HELLO option '", args[j], "'"));
        return;
      }
    }
    if (user != nullptr && !Authenticate(s, args[0], *user, *pass, b)) return;
    if (AuthRequired(*s)) {
      b->Error(
          "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
          "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
          "select the RESP protocol version at the same time");
      return;
    }
    if (setname != nullptr) {
      for (char c : *setname) {
        if (c < '!' || c > '~') {
          b->Error("ERR Client names cannot contain spaces, newlines or special characters.");
          return;
        }
      }
      s->name = *setname;
    }
    s->protocol = proto;
    b->set_protocol(proto);
    // A sentinel's HELLO has no "role" field.
    b->MapHeader(6);
    b->Bulk("server");
    b->Bulk("redis");
    b->Bulk("version");
    b->Bulk("7.0.15");
    b->Bulk("proto");
    b->Integer(proto);
    b->Bulk("id");
    b->Integer(static_cast<int64_t>(s->id));
    b->Bulk("mode");
    b->Bulk("sentinel");
    b->Bulk("modules");
    b->ArrayHeader(0);
  }

  // addACLLogEntry: a refusal (command, key, channel or AUTH) in ACL LOG.
  void LogDenial(const SentinelSession& s, acl::Verdict reason, const std::string& object,
                 const std::string& user) {
    acl::LogEntry e;
    e.reason = reason;
    e.context = acl::LogContext::kToplevel;
    e.object = object;
    e.username = user;
    e.ctime_ms = UnixMs();
    e.client_info = ClientLine(s);
    int64_t max_len = 128;
    if (auto v = config_->Value("acllog-max-len")) (void)base::ParseStrictInt64(*v, &max_len);
    acl_.AddLog(std::move(e), static_cast<size_t>(std::max<int64_t>(max_len, 0)));
  }

  // Closes the clients of `user` (the caller's own after its reply), as
  // Redis does for a deleted or replaced user.
  void DropClientsOf(const std::string& user, SentinelSession* current) {
    std::vector<std::shared_ptr<SentinelSession>> victims;
    for (auto& [id, c] : sessions_) {
      if (c->user == user) victims.push_back(c);
    }
    for (auto& c : victims) {
      c->closing = true;
      if (c.get() != current) {
        boost::system::error_code ec;
        c->socket.close(ec);
      }
    }
  }

  // ACL, on the ACL core (node/acl) with the sentinel's command table.
  void Acl(SentinelSession* s, const std::vector<std::string>& args, resp::ReplyBuilder* b) {
    const std::string sub = base::AsciiLower(args[1]);
    auto reply_selector = [&](const acl::Selector& sel) {
      b->Bulk("commands");
      b->Bulk(acl_.DescribeCommands(sel));
      b->Bulk("keys");
      b->Bulk(acl::Acl::DescribeKeys(sel));
      b->Bulk("channels");
      b->Bulk(acl::Acl::DescribeChannels(sel));
    };
    if (sub == "whoami") {
      b->Bulk(s->user);
    } else if (sub == "users") {
      b->ArrayHeader(acl_.users().size());
      for (const auto& [n, u] : acl_.users()) b->Bulk(n);
    } else if (sub == "list") {
      b->ArrayHeader(acl_.users().size());
      for (const auto& [n, u] : acl_.users()) {
        b->Bulk(absl::StrCat("user ", n, " ", acl_.Describe(*u)));
      }
    } else if (sub == "setuser") {
      for (char c : args[2]) {
        if (std::isspace(static_cast<unsigned char>(c)) || c == 0) {
          b->Error("ERR Usernames can't contain spaces or null characters");
          return;
        }
      }
      std::optional<acl::User> before;
      std::vector<std::string> rules(args.begin() + 3, args.end());
      if (auto err = acl_.SetUser(args[2], rules, &before)) {
        b->Error("ERR " + *err);
        return;
      }
      const acl::User& now = *acl_.Find(args[2]);
      if (before && acl::Acl::ChannelsRevoked(*before, now)) {
        for (auto& [id, c] : sessions_) {
          if (c->user != args[2]) continue;
          std::vector<std::string> ch(c->channels.begin(), c->channels.end());
          std::vector<std::string> pa(c->patterns.begin(), c->patterns.end());
          if (acl::Acl::SubscriptionsAllowed(now, ch, pa)) continue;
          c->closing = true;
          if (c.get() != s) {
            boost::system::error_code ec;
            c->socket.close(ec);
          }
        }
      }
      b->Ok();
    } else if (sub == "deluser") {
      for (size_t i = 2; i < args.size(); ++i) {
        if (args[i] == "default") {
          b->Error("ERR The 'default' user cannot be removed");
          return;
        }
      }
      int64_t deleted = 0;
      for (size_t i = 2; i < args.size(); ++i) {
        if (acl_.DelUser(args[i]) == nullptr) continue;
        ++deleted;
        DropClientsOf(args[i], s);
      }
      b->Integer(deleted);
    } else if (sub == "getuser") {
      const acl::User* u = acl_.Find(args[2]);
      if (u == nullptr) {
        b->NullBulk();
        return;
      }
      b->MapHeader(6);
      b->Bulk("flags");
      auto flags = acl::Acl::Flags(*u);
      b->SetHeader(flags.size());
      for (std::string_view f : flags) b->Bulk(f);
      b->Bulk("passwords");
      b->ArrayHeader(u->passwords.size());
      for (const std::string& p : u->passwords) b->Bulk(p);
      reply_selector(u->selectors[0]);
      b->Bulk("selectors");
      b->ArrayHeader(u->selectors.size() - 1);
      for (size_t i = 1; i < u->selectors.size(); ++i) {
        b->MapHeader(3);
        reply_selector(u->selectors[i]);
      }
    } else if (sub == "cat") {
      if (args.size() > 3) {
        b->Error(errors::SubcommandSyntax(args[0], args[1]));
      } else if (args.size() == 2) {
        b->ArrayHeader(acl::CategoryNames().size());
        for (std::string_view c : acl::CategoryNames()) b->Bulk(c);
      } else if (const uint32_t bit = acl::CategoryByName(args[2]); bit == 0) {
        b->Error(absl::StrCat("ERR Unknown category '", args[2].substr(0, 128), "'"));
      } else {
        std::vector<std::string> names = acl_.CommandsInCategory(bit);
        b->ArrayHeader(names.size());
        for (const std::string& n : names) b->Bulk(n);
      }
    } else if (sub == "genpass") {
      int64_t bits = 256;
      if (args.size() > 3) {
        b->Error(errors::SubcommandSyntax(args[0], args[1]));
      } else if (args.size() == 3 && !base::ParseStrictInt64(args[2], &bits)) {
        b->Error(errors::kNotInteger);
      } else if (bits <= 0 || bits > 4096) {
        b->Error(
            "ERR ACL GENPASS argument must be the number of bits for the output password, a "
            "positive number up to 4096");
      } else {
        std::random_device rd;
        static const char* kHex = "0123456789abcdef";
        std::string pass;
        for (int64_t i = 0; i < (bits + 3) / 4; ++i) pass += kHex[rd() % 16];
        b->Bulk(pass);
      }
    } else if (sub == "log") {
      AclLog(args, b);
    } else if (sub == "dryrun") {
      const acl::User* u = acl_.Find(args[2]);
      if (u == nullptr) {
        b->Error(absl::StrCat("ERR User '", args[2], "' not found"));
        return;
      }
      std::vector<std::string> cmd_args(args.begin() + 3, args.end());
      const meta::CommandMeta* m = SentinelMeta(cmd_args[0]);
      if (m != nullptr && !meta::Subcommands(*m).empty() && cmd_args.size() >= 2) {
        m = SentinelMeta(absl::StrCat(cmd_args[0], "|", cmd_args[1]));
      }
      if (m == nullptr) {
        b->Error(absl::StrCat("ERR Command '", cmd_args[0], "' not found"));
        return;
      }
      const int argc = static_cast<int>(cmd_args.size());
      if ((m->arity > 0 && m->arity != argc) || argc < -m->arity) {
        b->Error(errors::WrongArity(m->name));
        return;
      }
      acl::CheckResult r = u->Unrestricted()
                               ? acl::CheckResult{}
                               : acl_.Check(*u, acl_.FindCommand(m->name), cmd_args,
                                            [] { return std::vector<acl::KeyRef>{}; });
      if (r.verdict == acl::Verdict::kOk) {
        b->Ok();
      } else if (r.verdict == acl::Verdict::kDeniedCmd) {
        b->Bulk(absl::StrCat("This user has no permissions to run the '", m->name, "' command"));
      } else {
        b->Bulk(absl::StrCat("This user has no permissions to access the '", cmd_args[r.pos],
                             r.verdict == acl::Verdict::kDeniedKey ? "' key" : "' channel"));
      }
    } else if (sub == "load" || sub == "save") {
      AclFile(s, sub == "load", b);
    } else if (sub == "help") {
      meta::ReplyHelpLines(*b, "ACL", meta::AclHelpLines());
    }
  }

  // ACL LOG [count|RESET].
  void AclLog(const std::vector<std::string>& args, resp::ReplyBuilder* b) {
    if (args.size() > 3) {
      b->Error(errors::SubcommandSyntax(args[0], args[1]));
      return;
    }
    int64_t count = 10;
    if (args.size() == 3) {
      if (base::EqualsIgnoreCase(args[2], "reset")) {
        acl_.ResetLog();
        b->Ok();
        return;
      }
      if (!base::ParseStrictInt64(args[2], &count)) {
        b->Error(errors::kNotInteger);
        return;
      }
      count = std::max<int64_t>(count, 0);
    }
    const auto& log = acl_.log();
    count = std::min<int64_t>(count, static_cast<int64_t>(log.size()));
    const int64_t now = UnixMs();
    b->ArrayHeader(count);
    for (int64_t i = 0; i < count; ++i) {
      const acl::LogEntry& e = log[i];
      b->MapHeader(7);
      b->Bulk("count");
      b->Integer(static_cast<int64_t>(e.count));
      b->Bulk("reason");
      b->Bulk(acl::ReasonName(e.reason));
      b->Bulk("context");
      b->Bulk(acl::ContextName(e.context));
      b->Bulk("object");
      b->Bulk(e.object);
      b->Bulk("username");
      b->Bulk(e.username);
      b->Bulk("age-seconds");
      b->Double(static_cast<double>(now - e.ctime_ms) / 1000);
      b->Bulk("client-info");
      b->Bulk(e.client_info);
    }
  }

  // ACL LOAD / ACL SAVE with the aclfile.
  void AclFile(SentinelSession* s, bool load, resp::ReplyBuilder* b) {
    const std::string file = config_->Value("aclfile").value_or("");
    if (file.empty()) {
      b->Error(
          "ERR This Redis instance is not configured to use an ACL file. You may want to specify "
          "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a "
          "Redis configuration file set) in order to store users in the Redis configuration.");
      return;
    }
    if (load) {
      std::string text;
      FILE* f = std::fopen(file.c_str(), "r");
      if (f == nullptr) {
        b->Error(absl::StrCat("ERR Error loading ACLs, opening file '", file,
                              "': ", std::strerror(errno)));
        return;
      }
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
      std::fclose(f);
      std::vector<std::unique_ptr<acl::User>> replaced;
      if (auto err = acl_.LoadFile(text, file, &replaced)) {
        b->Error("ERR " + *err);
        return;
      }
      for (const auto& u : replaced) {
        if (u->name != "default") DropClientsOf(u->name, s);
      }
      b->Ok();
      return;
    }
    const std::string text = acl_.SaveText();
    const std::string tmp = absl::StrCat(file, ".tmp-", getpid(), "-", UnixMs());
    bool ok = false;
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
      ok = std::fclose(f) == 0 && ok;
      ok = ok && std::rename(tmp.c_str(), file.c_str()) == 0;
      if (!ok) ::unlink(tmp.c_str());
    }
    if (ok) {
      b->Ok();
    } else {
      Logf(LogLevel::kWarning, "Saving ACL file %s: %s", file, std::strerror(errno));
      b->Error(
          "ERR There was an error trying to save the ACLs. Please check the server logs for "
          "more information");
    }
  }

  // COMMAND [COUNT|LIST|INFO|DOCS|GETKEYS|GETKEYSANDFLAGS|HELP] over the
  // sentinel's table (SentinelTable): what redis-sentinel 7.0.15 says.
  void Command(const std::vector<std::string>& args, resp::ReplyBuilder* b) {
    const auto& table = SentinelTable();
    std::string sub = args.size() > 1 ? base::AsciiLower(args[1]) : "";
    if (sub.empty()) {
      b->ArrayHeader(table.size());
      for (const meta::CommandMeta* m : table) meta::ReplyInfo(*b, *m);
    } else if (sub == "count") {
      b->Integer(static_cast<int64_t>(table.size()));
    } else if (sub == "list") {
      CommandList(args, b);
    } else if (sub == "info") {
      if (args.size() == 2) {
        b->ArrayHeader(table.size());
        for (const meta::CommandMeta* m : table) meta::ReplyInfo(*b, *m);
        return;
      }
      b->ArrayHeader(args.size() - 2);
      for (size_t i = 2; i < args.size(); ++i) {
        if (const meta::CommandMeta* m = SentinelMeta(args[i])) {
          meta::ReplyInfo(*b, *m);
        } else {
          b->NullBulk();
        }
      }
    } else if (sub == "docs") {
      std::vector<const meta::CommandMeta*> found;
      if (args.size() == 2) found = table;
      for (size_t i = 2; i < args.size(); ++i) {
        if (const meta::CommandMeta* m = SentinelMeta(args[i])) found.push_back(m);
      }
      b->MapHeader(found.size());
      for (const meta::CommandMeta* m : found) meta::ReplyDocs(*b, *m);
    } else if (sub == "getkeys" || sub == "getkeysandflags") {
      // No command of a sentinel has keys.
      const meta::CommandMeta* m = SentinelMeta(args[2]);
      if (m != nullptr && args.size() > 3 && !meta::Subcommands(*m).empty()) {
        m = SentinelMeta(absl::StrCat(args[2], "|", args[3]));
      }
      b->Error(m == nullptr ? errors::kInvalidCommand : errors::kNoKeyArguments);
    } else if (sub == "help") {
      meta::ReplyHelpLines(*b, "COMMAND", meta::CommandHelpLines());
    }
  }

  // COMMAND LIST [FILTERBY MODULE name|ACLCAT category|PATTERN pattern].
  void CommandList(const std::vector<std::string>& args, resp::ReplyBuilder* b) {
    std::string filter, value;
    if (args.size() == 5 && base::EqualsIgnoreCase(args[2], "filterby")) {
      filter = base::AsciiLower(args[3]);
      value = args[4];
    }
    if (args.size() != 2 &&
        (filter.empty() || (filter != "module" && filter != "aclcat" && filter != "pattern"))) {
      b->Error(errors::kSyntax);
      return;
    }
    const uint32_t category = filter == "aclcat" ? meta::AclCategoryByName(value) : 0;
    auto listed = [&](const meta::CommandMeta& m) {
      if (filter == "module") return false;
      if (filter == "aclcat") return category != 0 && (m.acl_categories & category) != 0;
      if (filter == "pattern") return GlobMatch(value, m.name, /*nocase=*/true);
      return true;
    };
    std::vector<std::string_view> names;
    for (const meta::CommandMeta* m : SentinelTable()) {
      if (listed(*m)) names.push_back(m->name);
      for (const meta::CommandMeta& s : meta::Subcommands(*m)) {
        if (listed(s)) names.push_back(s.name);
      }
    }
    b->ArrayHeader(names.size());
    for (std::string_view n : names) b->Bulk(n);
  }

  std::string Info(const std::vector<std::string>& args) {
    const std::vector<std::string> all = {"server", "clients", "stats", "cpu", "sentinel"};
    std::set<std::string> want;
    if (args.size() == 1) want.insert(all.begin(), all.end());
    for (size_t i = 1; i < args.size(); ++i) {
      std::string a = base::AsciiLower(args[i]);
      if (a == "all" || a == "default" || a == "everything") {
        want.insert(all.begin(), all.end());
      } else {
        want.insert(a);
      }
    }
    std::string s;
    auto sep = [&] {
      if (!s.empty()) s += "\r\n";
    };
    const ServerOptions& opts = config_->options();
    if (want.contains("server")) {
      sep();
      absl::StrAppend(
          &s, "# Server\r\nredis_version:7.0.15\r\nredis_mode:sentinel\r\n",
          "os:Linux\r\narch_bits:64\r\nprocess_id:", getpid(), "\r\nrun_id:", run_id_,
          "\r\ntcp_port:", opts.port, "\r\nuptime_in_seconds:", (NowMs() - start_ms_) / 1000,
          "\r\nhz:", core_->hz(), "\r\nconfigured_hz:10\r\n", "executable:", executable_,
          "\r\nconfig_file:", config_->config_file(), "\r\n");
    }
    if (want.contains("clients")) {
      sep();
      absl::StrAppend(&s, "# Clients\r\nconnected_clients:", sessions_.size(),
                      "\r\nmaxclients:", opts.maxclients, "\r\n");
    }
    if (want.contains("stats")) {
      sep();
      absl::StrAppend(&s, "# Stats\r\ntotal_connections_received:", total_connections_,
                      "\r\ntotal_commands_processed:", total_commands_, "\r\n");
    }
    if (want.contains("cpu")) {
      sep();
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);
      absl::StrAppend(&s, "# CPU\r\nused_cpu_sys:",
                      absl::StrFormat("%.6f", ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6),
                      "\r\nused_cpu_user:",
                      absl::StrFormat("%.6f", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6),
                      "\r\n");
    }
    if (want.contains("sentinel")) {
      sep();
      s += core_->InfoSection(NowMs());
    }
    return s;
  }

  // --- The core's actions ------------------------------------------------------

  void HandleReady() {
    sentinel::Ready ready = core_->TakeReady();
    for (auto& a : ready.actions) {
      std::visit([this](auto& act) { Do(act); }, a);
    }
  }

  void Do(sentinel::OpenLink& a) {
    auto key = std::pair{a.id, a.kind};
    if (auto it = links_.find(key); it != links_.end()) {
      it->second->closed = true;
      it->second->client->Close();
    }
    auto link = std::make_shared<Link>();
    link->id = a.id;
    link->kind = a.kind;
    link->client = RespClient::Create(io_.get_executor(),
                                      {.connect_timeout = std::chrono::milliseconds(2000)});
    links_[key] = link;
    asio::co_spawn(io_, RunLink(this, link, a.host, a.port, a.user, a.password), asio::detached);
  }

  void Do(sentinel::CloseLink& a) {
    auto it = links_.find({a.id, a.kind});
    if (it == links_.end()) return;
    it->second->closed = true;
    it->second->client->Close();
    links_.erase(it);
  }

  void Do(sentinel::SendCommands& a) {
    auto it = links_.find({a.id, a.kind});
    if (it == links_.end()) return;
    Link& l = *it->second;
    for (auto& c : a.commands) {
      bool subscribe =
          a.kind == sentinel::LinkKind::kPubsub && c.size() == 2 && c[1] == "__sentinel__:hello";
      l.pending.push_back(
          {a.to, a.kind == sentinel::LinkKind::kCommand, subscribe, a.origin ? a.origin : a.id});
      if (l.connected) {
        (void)l.client->Send(std::span<const std::string>(c));
      } else {
        l.queued.push_back(std::move(c));
      }
    }
  }

  void Do(sentinel::Event& e) {
    LogEvent(ToLogLevel(e.level), e.type, e.payload);
    if (e.level == sentinel::Level::kDebug) return;
    for (auto& [id, s] : sessions_) {
      if (s->channels.contains(e.type)) {
        std::string o;
        resp::ReplyBuilder b(&o, s->protocol);
        b.PushHeader(3);
        b.Bulk("message");
        b.Bulk(e.type);
        b.Bulk(e.payload);
        s->Write(std::move(o));
      }
      for (const std::string& p : s->patterns) {
        if (fnmatch(p.c_str(), e.type.c_str(), 0) != 0) continue;
        std::string o;
        resp::ReplyBuilder b(&o, s->protocol);
        b.PushHeader(4);
        b.Bulk("pmessage");
        b.Bulk(p);
        b.Bulk(e.type);
        b.Bulk(e.payload);
        s->Write(std::move(o));
      }
    }
  }

  void Do(sentinel::LogLine& l) { Log(ToLogLevel(l.level), l.text); }

  void Do(sentinel::SaveConfig&) { SaveConfig(); }

  void Do(sentinel::RunScript& r) {
    std::vector<char*> argv;
    for (auto& a : r.argv) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
      // Every descriptor is close-on-exec already; this is the backstop that
      // keeps the script from inheriting anything but 0-2.
      syscall(SYS_close_range, 3U, ~0U, 0U);
      execve(argv[0], argv.data(), environ);
      _exit(2);  // not retried
    }
    core_->OnScriptStarted(r.job, pid, NowMs());
  }

  void Do(sentinel::KillScript& k) { kill(static_cast<pid_t>(k.pid), SIGKILL); }

  void Do(sentinel::Exit& e) { std::exit(e.code); }

  void LogEvent(LogLevel level, const std::string& type, const std::string& payload) {
    Log(level, payload.empty() ? type : absl::StrCat(type, " ", payload));
  }

  // Redis's rewriteConfig of a sentinel: the server's directives, the ACL
  // users as `user` lines (none when an aclfile keeps them), then the
  // sentinel lines.
  void SaveConfig() {
    std::vector<Config::ExtraLine> extra;
    if (config_->Value("aclfile").value_or("").empty()) {
      for (const auto& [name, u] : acl_.users()) {
        extra.push_back({"user", absl::StrCat("user ", name, " ", acl_.Describe(*u)), true});
      }
    }
    for (auto& l : core_->RewriteLines()) extra.push_back({l.key, l.line, l.force});
    std::vector<std::string> keys = sentinel::Sentinel::RewriteKeys();
    keys.push_back("user");
    absl::Status s = config_->Rewrite(extra, keys);
    if (s.ok()) {
      Log(LogLevel::kNotice, "Sentinel new configuration saved on disk");
    } else {
      save_failed_ = true;
      Logf(LogLevel::kWarning,
           "WARNING: Sentinel was not able to save the new configuration on disk!!!: %s",
           std::string(s.message()));
    }
  }

  static asio::awaitable<void> RunLink(SentinelNode* self, std::shared_ptr<Link> link,
                                       std::string host, int port, std::string user,
                                       std::string password) {
    absl::Status st = co_await link->client->Connect(host, port);
    if (link->closed) co_return;
    if (!st.ok()) {
      self->LinkDown(link);
      co_return;
    }
    ::fcntl(link->client->fd(), F_SETFD, FD_CLOEXEC);
    std::string local = link->client->local_addr();
    if (size_t c = local.rfind(':'); c != std::string::npos) local.resize(c);
    if (!password.empty()) {
      std::vector<std::string> auth = {"AUTH"};
      if (!user.empty()) auth.push_back(user);
      auth.push_back(password);
      link->pending.push_front({sentinel::ReplyTo::kIgnore, false, false, 0});
      (void)link->client->Send(std::span<const std::string>(auth));
    }
    for (auto& c : link->queued) (void)link->client->Send(std::span<const std::string>(c));
    link->queued.clear();
    link->connected = true;
    self->core_->OnLinkUp(link->id, link->kind, local, NowMs());
    self->HandleReady();
    while (true) {
      auto r = co_await link->client->ReadReply();
      if (link->closed) co_return;
      if (!r.ok()) {
        self->LinkDown(link);
        co_return;
      }
      if (link->kind == sentinel::LinkKind::kPubsub && link->pending.empty()) {
        const auto& v = *r;
        if (v.elements.size() == 3 && v.elements[0].str == "message") {
          self->core_->OnPubsubMessage(link->id, v.elements[1].str, v.elements[2].str, NowMs());
          self->HandleReady();
        }
        continue;
      }
      if (link->pending.empty()) continue;
      Link::Pending p = link->pending.front();
      link->pending.pop_front();
      if (p.close_on_error && r->is_error()) {
        self->LinkDown(link);
        co_return;
      }
      if (p.report) {
        self->core_->OnReply(p.origin ? p.origin : link->id, p.to, FromWire(*r), NowMs());
        self->HandleReady();
      }
    }
  }

  void LinkDown(const std::shared_ptr<Link>& link) {
    link->closed = true;
    link->client->Close();
    auto it = links_.find({link->id, link->kind});
    if (it != links_.end() && it->second == link) links_.erase(it);
    core_->OnLinkDown(link->id, link->kind, NowMs());
    HandleReady();
  }

  // The data node's look at each client's buffers (Redis's clientsCron):
  // the query buffer freed when idle or trimmed, the reply buffer fitted to
  // its peak.
  void ClientsCron() {
    const int64_t now = UnixMs();
    for (auto& [id, c] : sessions_) {
      if (!c->processing) {
        c->query.Resize(now / 1000 - c->last_ms / 1000, c->parser.current_bulk_len());
        c->core.query_buffer_bytes = c->query.size() + c->parser.pending_bytes();
        c->core.query_buffer_free = c->query.free();
        c->core.query_buffer_allocated = c->query.capacity() + c->parser.pending_bytes();
      }
      ResizeReplyBuffer(c->core, now, 5000);  // REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME
    }
  }

  void ScheduleTick() {
    timer_.expires_after(std::chrono::milliseconds(core_->next_tick_delay()));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      core_->Tick(NowMs());
      HandleReady();
      ClientsCron();
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        core_->OnScriptExit(pid, WIFEXITED(status) ? WEXITSTATUS(status) : 0,
                            WIFSIGNALED(status) ? WTERMSIG(status) : 0, NowMs());
      }
      HandleReady();
      ScheduleTick();
    });
  }

  void Shutdown() {
    if (!config_->options().pidfile.empty()) unlink(config_->options().pidfile.c_str());
    Log(LogLevel::kWarning, "Sentinel is now ready to exit, bye bye...");
    std::exit(0);
  }

 public:
  std::string run_id_ = RandomHex40();
  std::string executable_;

 private:
  asio::io_context& io_;
  std::unique_ptr<Config> config_;
  std::unique_ptr<sentinel::Sentinel> core_;
  asio::steady_timer timer_;
  asio::signal_set signals_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::map<uint64_t, std::shared_ptr<SentinelSession>> sessions_;
  // The clients' shared state by id, for CLIENT TRACKING's table.
  std::map<uint64_t, Session*> cores_;
  Tracking tracking_{&cores_};
  // CLIENT PAUSE: until when (NowMs), whether every command waits, and the
  // timers of the commands that wait.
  int64_t pause_end_ms_ = 0;
  bool pause_all_ = false;
  std::set<asio::steady_timer*> pause_waiters_;
  std::map<std::pair<sentinel::InstanceId, sentinel::LinkKind>, std::shared_ptr<Link>> links_;
  uint64_t next_client_id_ = 0;
  uint64_t total_connections_ = 0, total_commands_ = 0;
  Millis start_ms_ = NowMs();
  acl::Acl acl_;
  bool save_failed_ = false;
};

}  // namespace

int RunSentinel(int argc, char** argv) {
  auto config_or = Config::FromArgs(argc, argv, /*sentinel_mode=*/true);
  if (!config_or.ok()) {
    std::cerr << config_or.status().message() << std::endl;
    return 1;
  }
  std::unique_ptr<Config> config = std::move(*config_or);
  const ServerOptions& opts = config->options();
  SetLogRole('X');
  if (!LogInit(opts.loglevel, opts.logfile)) {
    std::cerr << "Can't open the log file: " << strerror(errno) << std::endl;
    return 1;
  }
  if (config->config_file().empty()) {
    Log(LogLevel::kWarning, "Sentinel needs config file on disk to save state. Exiting...");
    return 1;
  }
  if (access(config->config_file().c_str(), W_OK) == -1) {
    Logf(LogLevel::kWarning, "Sentinel config file %s is not writable: %s. Exiting...",
         config->config_file(), strerror(errno));
    return 1;
  }
  if (opts.daemonize) {
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
  if (!opts.pidfile.empty()) {
    if (FILE* f = fopen(opts.pidfile.c_str(), "w")) {
      fprintf(f, "%d\n", static_cast<int>(getpid()));
      fclose(f);
    }
  }
  signal(SIGPIPE, SIG_IGN);
  asio::io_context io;
  SentinelNode node(io, std::move(config));
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) node.executable_.assign(exe, static_cast<size_t>(n));
  if (int rc = node.Start(); rc != 0) return rc;
  io.run();
  return 0;
}

}  // namespace shardnode::node
