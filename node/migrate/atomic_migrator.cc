#include "node/migrate/atomic_migrator.h"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>
// The others.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "clusterbus/cluster_state.h"
#include "node/commands/command.h"
#include "node/commands/errors.h"
#include "node/config/config.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/keyspace/notify.h"
#include "node/keyspace/types/hash_object.h"
#include "node/keyspace/types/list_object.h"
#include "node/keyspace/types/set_object.h"
#include "node/keyspace/types/zset_object.h"
#include "node/migrate/migrator.h"
#include "node/migrate/value_dumper.h"
#include "node/net/resp_client.h"
#include "node/persist/dataset.h"
#include "node/resp/reply.h"
#include "node/server/clock.h"
#include "node/server/log.h"
#include "node/server/nodes_conf_file.h"
#include "node/server/replication_control.h"
#include "node/server/server.h"
#include "node/server/session.h"
#include "node/server/suspend.h"
#include "node/server/write_stream.h"
#include "replication/crc64.h"
#include "replication/rdb.h"
#include "slots/hash_slot.h"

namespace shardnode::node::migrate {
namespace asio = boost::asio;
using clusterbus::MigrationOp;
using clusterbus::SlotMigrationJob;

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

void AppendBulk(std::string* out, std::string_view s) {
  absl::StrAppend(out, "$", s.size(), "\r\n");
  out->append(s);
  out->append("\r\n");
}

void AppendCommand(std::string* out, std::initializer_list<std::string_view> args) {
  absl::StrAppend(out, "*", args.size(), "\r\n");
  for (std::string_view a : args) AppendBulk(out, a);
}

std::string JobName() { return RandomHexId(); }

// CLUSTER SYNCSLOTS LOAD's argument (see atomic_migrator.h): a format byte,
// then per key: key length (u32), key, absolute expiry in ms (i64, 0: none),
// body length (u32), body (a DUMP payload without its footer: type byte and
// RDB value; the link's framing is checked, so no per-key CRC64).
// Integers are little-endian.
void AppendLe(std::string* out, uint64_t v, int bytes) {
  char b[8];
  for (int i = 0; i < bytes; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, static_cast<size_t>(bytes));
}

void AppendLoadRecord(std::string* out, std::string_view key, int64_t expire_ms,
                      std::string_view payload) {
  AppendLe(out, key.size(), 4);
  out->append(key);
  AppendLe(out, static_cast<uint64_t>(expire_ms), 8);
  AppendLe(out, payload.size(), 4);
  out->append(payload);
}

// One slice of a big value rebuilt as ordinary commands (see
// AtomicMigrator::SendBigKey): appends to `out` the next command for `key`
// from `*cursor` on (the first slice, `*cursor` 0, starts from nothing: SET
// for a string, DEL then the first elements for a collection); returns true
// once the value is complete. At most `elements` elements or `bytes` bytes
// of string per command.
bool RebuildStep(const Value& value, std::string_view key, uint64_t* cursor, size_t elements,
                 size_t bytes, std::string* out) {
  const bool first = *cursor == 0;
  std::vector<std::string> cmd;
  auto start = [&](std::string_view name) {
    if (first && !value.is_string()) AppendCommand(out, {"DEL", key});
    cmd.emplace_back(name);
    cmd.emplace_back(key);
  };
  bool done = false;
  switch (value.type()) {
    case ValueType::kString: {
      std::string scratch;
      const std::string_view all = value.View(&scratch);
      const size_t from = static_cast<size_t>(*cursor);
      const size_t end = std::min(all.size(), from + bytes);
      start(first ? "SET" : "APPEND");
      cmd.emplace_back(all.substr(from, end - from));
      *cursor = end;
      done = end == all.size();
      break;
    }
    case ValueType::kHash: {
      start("HSET");
      // The cursor is the object's Scan cursor plus one (0 means "first").
      const uint64_t next = static_cast<const HashObject*>(value.object())
                                ->Scan(first ? 0 : *cursor - 1, elements,
                                       [&](std::string_view f, std::string_view v) {
                                         cmd.emplace_back(f);
                                         cmd.emplace_back(v);
                                       });
      done = next == 0;
      *cursor = next + 1;
      break;
    }
    case ValueType::kSet: {
      start("SADD");
      const uint64_t next = static_cast<const SetObject*>(value.object())
                                ->Scan(first ? 0 : *cursor - 1, elements,
                                       [&](std::string_view m) { cmd.emplace_back(m); });
      done = next == 0;
      *cursor = next + 1;
      break;
    }
    case ValueType::kZSet: {
      start("ZADD");
      const uint64_t next =
          static_cast<const ZSetObject*>(value.object())
              ->Scan(first ? 0 : *cursor - 1, elements, [&](std::string_view m, double score) {
                cmd.push_back(resp::FormatDouble(score));
                cmd.emplace_back(m);
              });
      done = next == 0;
      *cursor = next + 1;
      break;
    }
    case ValueType::kList: {
      start("RPUSH");
      const auto* l = static_cast<const ListObject*>(value.object());
      const size_t total = l->Size();
      // The cursor is the index of the next element.
      size_t at = static_cast<size_t>(*cursor);
      if (at < total) {
        size_t left = elements;
        l->Walk(at, /*reverse=*/false, [&](size_t, std::string_view e) {
          cmd.emplace_back(e);
          ++at;
          return --left > 0;
        });
      }
      *cursor = at;
      done = at >= total;
      break;
    }
    case ValueType::kStream:
      return true;  // never big (ValueDumper dumps it whole)
  }
  // A scan step may find no element (an empty bucket run): no command then.
  if (cmd.size() > 2 || value.is_string()) {
    absl::StrAppend(out, "*", cmd.size(), "\r\n");
    for (const std::string& a : cmd) AppendBulk(out, a);
  }
  return done;
}

bool ReadLe(std::string_view* in, int bytes, uint64_t* v) {
  if (in->size() < static_cast<size_t>(bytes)) return false;
  *v = 0;
  for (int i = 0; i < bytes; ++i) {
    *v |= uint64_t{static_cast<unsigned char>((*in)[static_cast<size_t>(i)])} << (8 * i);
  }
  in->remove_prefix(static_cast<size_t>(bytes));
  return true;
}

bool ReadBytes(std::string_view* in, uint64_t n, std::string_view* out) {
  if (in->size() < n) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

// The body of a DUMP payload (the value without the version and CRC64
// footer: see kLoadFormat) of a string of at most kPlainString bytes,
// written directly and never compressed: type 0, the RDB length (6-bit,
// 14-bit or 0x80 and 32-bit big-endian), the bytes. DUMP would compress a
// string over 20 bytes with LZF (rdbcompression) and write an int-looking
// one as an integer; both forms load to the same value, and LZF cost each
// side more CPU than the link's bytes it saved (on a loopback or LAN link
// it was half of both sides' time for 1 KB values; Valkey's migration
// sends its values uncompressed too).
constexpr size_t kPlainString = ValueDumper::kSliceStringBytes;

void AppendPlainStringBody(std::string* out, std::string_view bytes) {
  const size_t n = bytes.size();
  out->push_back('\0');
  if (n < 64) {
    out->push_back(static_cast<char>(n));
  } else if (n < 16384) {
    out->push_back(static_cast<char>(0x40 | (n >> 8)));
    out->push_back(static_cast<char>(n & 0xff));
  } else {
    out->push_back(static_cast<char>(0x80));
    for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(n >> shift));
  }
  out->append(bytes);
}

// `body` with the DUMP footer (RDB version, CRC64): a RESTORE payload.
std::string DumpPayloadOf(std::string_view body) {
  std::string out;
  out.reserve(body.size() + 10);
  out.append(body);
  AppendLe(&out, static_cast<uint64_t>(replication::kRdbVersion), 2);
  AppendLe(&out, replication::Crc64(0, absl::string_view(out.data(), out.size())), 8);
  return out;
}

// The value of a body of that form (a string with a plain length), or
// nullopt when it is of another form (ParseDumpBody decides then).
std::optional<std::string_view> PlainStringOf(std::string_view body) {
  if (body.size() < 2 || body[0] != '\0') return std::nullopt;
  const auto b = static_cast<unsigned char>(body[1]);
  size_t len = 0, head = 0;
  if ((b >> 6) == 0) {
    len = b & 0x3f;
    head = 2;
  } else if ((b >> 6) == 1 && body.size() >= 3) {
    len = (size_t{b & 0x3fu} << 8) | static_cast<unsigned char>(body[2]);
    head = 3;
  } else if (b == 0x80 && body.size() >= 6) {
    for (size_t i = 2; i < 6; ++i) len = (len << 8) | static_cast<unsigned char>(body[i]);
    head = 6;
  } else {
    return std::nullopt;
  }
  if (head + len != body.size()) return std::nullopt;
  return body.substr(head, len);
}

std::vector<int> SlotsOf(const SlotMigrationJob& job) {
  std::vector<int> out;
  for (const slots::SlotRange& r : job.ranges()) {
    for (int s = r.start; s <= r.end; ++s) out.push_back(s);
  }
  return out;
}

}  // namespace

// One job's I/O. The export side writes on `client`, and receives the
// slots' writes from the write stream; the import side is the session
// `session_id` of the source's connection.
struct AtomicMigrator::Link : public WriteConsumer {
  AtomicMigrator* owner = nullptr;
  std::string name;  // the job's
  // Tells this link from a later attempt's (same job name): events posted
  // by a closed link are dropped (FeedIfCurrent).
  uint64_t serial = 0;
  bool exporting = false;
  slots::SlotSet slots;
  std::shared_ptr<RespClient> client;
  bool subscribed = false;
  bool closed = false;
  int link_db = -1;  // the db the target's session has selected
  uint64_t session_id = 0;
  uint64_t source_epoch = 0;  // import: the configEpoch FINISH carried

  bool WantsWrites() const override { return subscribed && !closed; }
  void OnWrite(const StreamWrite& w) override {
    if (closed || client == nullptr) return;
    std::string_view bytes;
    if (w.slot != kNoSlot && slots.Test(w.slot)) {
      bytes = w.bytes;
    } else if (w.slot == kNoSlot && !w.args.empty() &&
               !absl::EqualsIgnoreCase(w.args[0], "multi") &&
               !absl::EqualsIgnoreCase(w.args[0], "exec") &&
               !absl::EqualsIgnoreCase(w.args[0], "cluster")) {
      // FLUSHALL, FLUSHDB, SWAPDB: the slots' image is gone.
      owner->FeedIfCurrent(name, serial, clusterbus::MigAbort{"Data was flushed"});
      return;
    } else {
      // Another slot's write (or MULTI/EXEC around it, or a cluster
      // command meant for this node's replicas): only the SELECT the stream
      // counted as sent goes.
      bytes = w.select();
    }
    if (bytes.empty()) return;
    link_db = w.db;
    if (!client->SendRaw(bytes).ok()) Overrun();
  }

  void Overrun() {
    if (closed) return;
    owner->FeedIfCurrent(name, serial, clusterbus::MigLinkDown{"output buffer limit reached"});
  }
};

AtomicMigrator::AtomicMigrator(asio::io_context& io, Server& server)
    : io_(io), server_(server), tick_(io) {}

AtomicMigrator::~AtomicMigrator() { Stop(); }

void AtomicMigrator::Start() {
  server_.slot_migration = [this](CommandContext& ctx, std::span<std::string> args) {
    Handle(ctx, args);
  };
  server_.slot_migration_busy = [this] { return jobs_.SetSlotRefusal(); };
  server_.take_exported_slots = [this](std::vector<int> slots) {
    std::vector<int> mine;
    std::erase_if(slots, [&](int s) {
      const bool exporting = jobs_.Exporting(s);
      if (exporting) mine.push_back(s);
      return exporting;
    });
    if (!mine.empty()) DropKeys(std::move(mine), /*show=*/false);
    return slots;
  };
  server_.on_session_detached = [this](uint64_t id) {
    for (auto& [name, link] : links_) {
      if (!link->exporting && link->session_id == id) {
        FeedIfCurrent(name, link->serial, clusterbus::MigLinkDown{"connection closed"});
      }
    }
  };
  ArmTick();
}

void AtomicMigrator::Stop() {
  if (stopped_) return;
  stopped_ = true;
  tick_.cancel();
  for (auto& [name, link] : links_) {
    link->closed = true;
    if (link->subscribed) server_.write_stream().Unsubscribe(link.get());
    if (link->client) link->client->Close();
  }
  links_.clear();
  server_.slot_migration = nullptr;
  server_.slot_migration_busy = nullptr;
  server_.on_session_detached = nullptr;
  server_.take_exported_slots = nullptr;
}

void AtomicMigrator::ArmTick() {
  if (stopped_) return;
  tick_.expires_after(std::chrono::milliseconds(kTickMs));
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    Tick();
    ArmTick();
  });
}

void AtomicMigrator::Tick() {
  const int64_t now = NowMs();
  clusterbus::ClusterState* cluster = server_.cluster();
  const bool send_ack = now - last_ack_ms_ >= kAckEveryMs;
  if (send_ack) last_ack_ms_ = now;
  std::vector<SlotMigrationJob*> active;
  for (const auto& j : jobs_.jobs()) {
    if (!j->finished()) active.push_back(j.get());
  }
  for (SlotMigrationJob* job : active) {
    if (cluster != nullptr) {
      if (!cluster->myself().is_primary()) {
        Feed(*job, clusterbus::MigAbort{job->op() == MigrationOp::kImport
                                            ? "A failover occurred during slot import"
                                            : "Slot migration source became a replica"});
        continue;
      }
      clusterbus::MigOwnership own;
      own.target_owns_all = true;
      own.source_owns_all = true;
      for (int s : SlotsOf(*job)) {
        const clusterbus::ClusterNode* o = cluster->SlotOwner(s);
        const std::string_view owner = o ? std::string_view(o->id) : std::string_view();
        if (owner != job->target_id()) own.target_owns_all = false;
        if (owner != job->source_id()) own.source_owns_all = false;
      }
      Feed(*job, own);
      if (job->finished()) continue;
    }
    if (send_ack && job->op() == MigrationOp::kExport) {
      Link* link = LinkOf(*job);
      if (link != nullptr && link->client != nullptr && link->client->is_open() &&
          job->state() != clusterbus::MigrationState::kConnecting &&
          job->state() != clusterbus::MigrationState::kReadingEstablishResponse) {
        SendOn(*link, {"CLUSTER", "SYNCSLOTS", "ACK"});
        if (link->client->pending_output() < kDrainAbove) Feed(*job, clusterbus::MigProgress{});
      }
    }
    if (!job->finished()) Feed(*job, clusterbus::MigTick{});
  }
  DropOrphanHiddenSlots();
  jobs_.Trim();
}

void AtomicMigrator::SetHidden(const slots::SlotSet& slots, bool hidden) {
  server_.SetSlotsHidden(slots, hidden);
  SyncDropRecord();
  clusterbus::ClusterState* cluster = server_.cluster();
  if (cluster == nullptr || !cluster->myself().is_primary() || server_.replication() == nullptr) {
    return;
  }
  const std::vector<std::string> cmd = clusterbus::HiddenSlotsCommand(server_.hidden_slots());
  server_.replication()->PropagateToShardnodeReplicas(cmd);
}

void AtomicMigrator::SyncDropRecord() {
  clusterbus::ClusterState* cluster = server_.cluster();
  const std::string& conf = server_.options().cluster_config_file;
  if (cluster == nullptr || conf.empty()) return;
  const std::string path = DropRecordPath(conf);
  slots::SlotSet want;
  if (cluster->myself().is_primary()) {
    want = server_.hidden_slots();
    for (const auto& [slot, runs] : dropping_) want.Set(slot);
  }
  // Read each time (a small file, rewritten only when an import starts or
  // ends and a slot's keys are gone): DEBUG RELOAD rewrites it too.
  absl::StatusOr<slots::SlotSet> now = ReadDropRecord(path);
  if (now.ok() && *now == want) return;
  if (absl::Status st = WriteDropRecord(path, want); !st.ok()) {
    Log(LogLevel::kWarning,
        absl::StrCat("Can't update the atomic slot migration record: ", st.message()));
  }
}

void AtomicMigrator::DropOrphanHiddenSlots() {
  clusterbus::ClusterState* cluster = server_.cluster();
  if (cluster == nullptr || !cluster->myself().is_primary() || !server_.AnySlotHidden()) return;
  slots::SlotSet orphans;
  std::vector<int> slot_list;
  for (int s = 0; s < slots::kNumSlots; ++s) {
    if (server_.SlotHidden(s) && !jobs_.Importing(s) && !dropping_.contains(s)) {
      orphans.Set(s);
      slot_list.push_back(s);
    }
  }
  if (slot_list.empty()) return;
  Log(LogLevel::kWarning, absl::StrCat("Dropping the keys of slots ", orphans.Format(),
                                       ": no import of mine holds them (it ended with my "
                                       "former primary, or before I restarted)"));
  DropKeys(std::move(slot_list), /*show=*/true);
}

void AtomicMigrator::DropKeys(std::vector<int> slot_list, bool show) {
  for (int s : slot_list) ++dropping_[s];
  SyncDropRecord();
  asio::co_spawn(io_, DeleteKeys(std::move(slot_list), show), asio::detached);
}

void AtomicMigrator::FeedIfCurrent(const std::string& name, uint64_t serial,
                                   clusterbus::MigrationEvent event) {
  asio::post(io_, [this, name, serial, event = std::move(event)] {
    SlotMigrationJob* job = jobs_.Find(name);
    const Link* link = job != nullptr ? LinkOf(*job) : nullptr;
    if (link != nullptr && link->serial == serial) Feed(*job, event);
  });
}

std::shared_ptr<AtomicMigrator::Link> AtomicMigrator::NewLink(const SlotMigrationJob& job) {
  auto link = std::make_shared<Link>();
  link->owner = this;
  link->serial = ++link_serials_;
  link->name = job.name();
  link->exporting = job.op() == MigrationOp::kExport;
  link->slots = job.slot_set();
  links_[job.name()] = link;
  return link;
}

AtomicMigrator::Link* AtomicMigrator::LinkOf(const SlotMigrationJob& job) {
  auto it = links_.find(job.name());
  return it == links_.end() ? nullptr : it->second.get();
}

void AtomicMigrator::Feed(SlotMigrationJob& job, const clusterbus::MigrationEvent& event) {
  const clusterbus::MigrationState before = job.state();
  const int retries_before = job.retries();
  std::vector<clusterbus::MigrationAction> actions = job.Step(event, NowMs());
  if (job.retries() != retries_before) {
    Log(LogLevel::kWarning, absl::StrCat("Slot migration ", job.name(), " (export of ",
                                         job.RangesText(), "): ", job.message()));
  }
  if (job.state() != before && job.finished()) {
    Log(job.state() == clusterbus::MigrationState::kSuccess ? LogLevel::kNotice
                                                            : LogLevel::kWarning,
        absl::StrCat(
            "Slot migration ", job.name(), " (",
            job.op() == MigrationOp::kExport ? "export" : "import", " of ", job.RangesText(), ") ",
            base::ToAbsl(clusterbus::MigrationStateName(job.state())),
            job.message().empty() ? "" : ": ", job.message(),
            job.op() == MigrationOp::kExport
                ? absl::StrCat(" (writes to the slots paused ", job.write_pause_ms(), " ms)")
                : std::string()));
  }
  CarryOut(job, std::move(actions));
  // Only a job entering or leaving the granted state changes the hold.
  if (before == clusterbus::MigrationState::kFailoverGranted ||
      job.state() == clusterbus::MigrationState::kFailoverGranted) {
    HoldEpochWhileGranted();
  }
}

void AtomicMigrator::HoldEpochWhileGranted() {
  clusterbus::ClusterState* cluster = server_.cluster();
  if (cluster == nullptr) return;
  bool granted = false;
  for (const auto& j : jobs_.jobs()) {
    granted = granted || j->state() == clusterbus::MigrationState::kFailoverGranted;
  }
  cluster->set_collision_bumps_held(granted);
}

bool AtomicMigrator::SendOn(Link& link, std::vector<std::string> args) {
  if (link.closed || link.client == nullptr) return false;
  if (link.client->Send(std::span<const std::string>(args)).ok()) return true;
  link.Overrun();
  return false;
}

void AtomicMigrator::CarryOut(SlotMigrationJob& job,
                              std::vector<clusterbus::MigrationAction> actions) {
  const std::string name = job.name();
  for (clusterbus::MigrationAction& action : actions) {
    // A previous action may have ended the link (and the job's entry stays).
    auto it = links_.find(name);
    std::shared_ptr<Link> link = it == links_.end() ? nullptr : it->second;
    std::visit(Overloaded{
                   [&](const clusterbus::ActConnect&) {
                     // A retry's attempt gets a fresh link (the last one closed).
                     if (!link) link = NewLink(job);
                     asio::co_spawn(io_, Connect(link), asio::detached);
                   },
                   [&](const clusterbus::ActSendEstablish&) {
                     if (!link) return;
                     std::vector<std::string> cmd = {"CLUSTER",  "SYNCSLOTS",     "ESTABLISH",
                                                     "SOURCE",   job.source_id(), "NAME",
                                                     job.name(), "SLOTSRANGE"};
                     for (const slots::SlotRange& r : job.ranges()) {
                       cmd.push_back(absl::StrCat(r.start));
                       cmd.push_back(absl::StrCat(r.end));
                     }
                     if (SendOn(*link, std::move(cmd))) {
                       asio::co_spawn(io_, ReadStep(link, Awaiting::kEstablish), asio::detached);
                     }
                   },
                   [&](const clusterbus::ActStartSnapshot&) {
                     if (!link) return;
                     server_.write_stream().Subscribe(link.get());
                     link->subscribed = true;
                     asio::co_spawn(io_, Walk(link), asio::detached);
                   },
                   [&](const clusterbus::ActSendSnapshotEof&) {
                     if (link && SendOn(*link, {"CLUSTER", "SYNCSLOTS", "SNAPSHOT-EOF"})) {
                       asio::co_spawn(io_, ReadStep(link, Awaiting::kCaughtUp), asio::detached);
                     }
                   },
                   [&](const clusterbus::ActPauseSlots& p) {
                     server_.SetSlotWritesPaused(job.slot_set(), p.until_ms != 0);
                   },
                   [&](const clusterbus::ActWaitReplicas& w) {
                     if (link && SendOn(*link, {"WAIT", absl::StrCat(w.replicas),
                                                absl::StrCat(w.timeout_ms)})) {
                       asio::co_spawn(io_, ReadStep(link, Awaiting::kWait), asio::detached);
                     }
                   },
                   [&](const clusterbus::ActSendFinish&) {
                     if (!link) return;
                     // Nothing written to the slots after this may reach the
                     // target: writers are paused, and once the target claims the
                     // slots this node deletes its copies (as dirty slots, or
                     // CommitExport), whose DELs must stay here. (Expiry needs no
                     // DEL: the target holds the same absolute TTLs.)
                     if (link->subscribed) {
                       server_.write_stream().Unsubscribe(link.get());
                       link->subscribed = false;
                     }
                     // My configEpoch goes with it: the target claims the slots
                     // above it, and mine stays put until the job ends (Feed holds
                     // collision bumps meanwhile).
                     const clusterbus::ClusterState* cluster = server_.cluster();
                     const uint64_t epoch = cluster ? cluster->myself().config_epoch : 0;
                     if (SendOn(*link, {"CLUSTER", "SYNCSLOTS", "FINISH", absl::StrCat(epoch)})) {
                       asio::co_spawn(io_, ReadStep(link, Awaiting::kFinish), asio::detached);
                     }
                   },
                   [&](const clusterbus::ActCommitExport& c) { CommitExport(job, c.epoch); },
                   [&](const clusterbus::ActClaimSlots&) { ClaimSlots(job); },
                   [&](const clusterbus::ActDropImported&) {
                     // Hidden until the keys are gone (DeleteKeys shows them).
                     DropKeys(SlotsOf(job), /*show=*/true);
                   },
                   [&](const clusterbus::ActCloseLink&) {
                     if (!link) return;
                     link->closed = true;
                     if (link->subscribed) {
                       server_.write_stream().Unsubscribe(link.get());
                       link->subscribed = false;
                     }
                     if (link->client) link->client->Close();
                     if (!link->exporting) {
                       auto c = server_.clients().find(link->session_id);
                       if (c != server_.clients().end()) {
                         Session& s = *c->second;
                         s.import_link = false;
                         // A failed import drops its source's connection; after a
                         // success the source closes it itself.
                         if (job.state() != clusterbus::MigrationState::kSuccess && s.kill)
                           s.kill();
                       }
                     }
                     links_.erase(name);
                   },
               },
               action);
  }
}

asio::awaitable<void> AtomicMigrator::Connect(std::shared_ptr<Link> link) {
  clusterbus::ClusterState* cluster = server_.cluster();
  SlotMigrationJob* job = jobs_.Find(link->name);
  const clusterbus::ClusterNode* target =
      cluster && job ? cluster->FindNode(job->target_id()) : nullptr;
  if (job == nullptr) co_return;
  if (target == nullptr || target->ip.empty()) {
    Feed(*job, clusterbus::MigConnectFailed{"target node address unknown"});
    co_return;
  }
  const std::string ip = target->ip;
  const int port = target->port;
  const int64_t idle_ms = int64_t{server_.options().repl_timeout} * 1000;
  link->client =
      RespClient::Create(io_.get_executor(), {.connect_timeout = std::chrono::milliseconds(5000),
                                              .io_timeout = std::chrono::milliseconds(idle_ms),
                                              .max_output_bytes = kMaxOutputBytes});
  absl::Status s = co_await link->client->Connect(ip, port);
  if (s.ok() && !server_.options().masterauth.empty()) {
    // The primary's credentials, as a replica authenticates (Valkey uses
    // primaryauth for its migration link too).
    s = co_await link->client->Auth("", server_.options().masterauth);
  }
  job = jobs_.Find(link->name);
  if (job == nullptr || link->closed) co_return;
  if (!s.ok()) {
    Feed(*job, clusterbus::MigConnectFailed{std::string(s.message())});
    co_return;
  }
  Feed(*job, clusterbus::MigConnected{});
}

asio::awaitable<void> AtomicMigrator::ReadStep(std::shared_ptr<Link> link, Awaiting kind) {
  std::shared_ptr<RespClient> client = link->client;
  absl::StatusOr<resp::ReplyValue> r = co_await client->ReadReply();
  SlotMigrationJob* job = jobs_.Find(link->name);
  if (job == nullptr || link->closed) co_return;
  if (!r.ok()) {
    Feed(*job, clusterbus::MigLinkDown{std::string(r.status().message())});
    co_return;
  }
  const resp::ReplyValue& v = *r;
  // Past ESTABLISH each step is answered with an integer (or an error):
  // anything else is not the answer to the step (a reply the link should
  // not have produced), and taking it for one would hand the slots over
  // before the target applied them.
  if (kind != Awaiting::kEstablish && !v.is_error() && v.type != resp::ReplyValue::Type::kInteger) {
    Feed(*job,
         clusterbus::MigAbort{absl::StrCat("Unexpected reply from the target: ", v.ToLine())});
    co_return;
  }
  switch (kind) {
    case Awaiting::kEstablish:
      Feed(*job, clusterbus::MigEstablishReply{v.is_error() ? v.str : std::string()});
      break;
    case Awaiting::kCaughtUp:
      if (v.is_error()) {
        Feed(*job, clusterbus::MigAbort{absl::StrCat("Target failed the snapshot: ", v.str)});
      } else {
        Feed(*job, clusterbus::MigCaughtUp{.target_replicas = v.integer});
      }
      break;
    case Awaiting::kWait:
      Feed(*job, clusterbus::MigReplicasAcked{.acked = v.is_error() ? 0 : v.integer});
      break;
    case Awaiting::kFinish:
      Feed(*job,
           clusterbus::MigFinishReply{.epoch = v.is_error() ? 0 : static_cast<uint64_t>(v.integer),
                                      .error = v.is_error() ? v.str : std::string()});
      break;
  }
}

asio::awaitable<void> AtomicMigrator::Walk(std::shared_ptr<Link> link) {
  SlotMigrationJob* job = jobs_.Find(link->name);
  if (job == nullptr) co_return;
  const std::vector<int> slot_list = SlotsOf(*job);
  replication::RdbWriterOptions dump_options;
  dump_options.compression = server_.options().rdbcompression;
  const int num_dbs = server_.shard(0).num_dbs();
  // Keys too big for a batch (ValueDumper::sliced()): sent one by one after
  // the batch they were met in.
  std::vector<std::string> big;
  for (int slot : slot_list) {
    // Db::Scan's cursor once the slot is walked (it packs the slot in its
    // low bits and stops at end_slot).
    const uint64_t slot_done = slot + 1 < slots::kNumSlots ? static_cast<uint64_t>(slot + 1) : 0;
    for (int dbi = 0; dbi < num_dbs; ++dbi) {
      if (server_.ShardForSlot(slot).db(dbi).CountKeysInSlot(slot) == 0) continue;
      // The slot is walked with Db::Scan's cursor, which survives changes
      // between turns: a key there from start to end is met (maybe twice:
      // harmless, REPLACE with its current value); one added meanwhile was
      // written after the job started, so its write is on the link already.
      uint64_t cursor = static_cast<uint64_t>(slot);
      while (cursor != slot_done) {
        if (link->closed) co_return;
        // One batch: built and queued in this turn, so no write to the slots
        // comes between a key's read and its place on the link.
        Db& db = server_.ShardForSlot(slot).db(dbi);
        const int64_t now = NowMs();
        std::string blob(1, kLoadFormat);
        size_t keys = 0;
        big.clear();
        while (cursor != slot_done && keys < kKeysPerBatch && blob.size() < kBatchBytes) {
          cursor = db.Scan(
              cursor, kScanStep, now,
              [&](const Entry& e) {
                const int64_t expire = db.ExpireOf(&e);
                const Value& value = e.value();
                if (value.is_string() && value.StringLength() <= kPlainString) {
                  std::string scratch;
                  const std::string_view bytes = value.View(&scratch);
                  AppendLoadRecord(&blob, e.key(), expire == -1 ? 0 : expire, {});
                  // The body goes in place: its length (u32) is patched.
                  const size_t len_at = blob.size() - 4;
                  AppendPlainStringBody(&blob, bytes);
                  const size_t len = blob.size() - len_at - 4;
                  for (int i = 0; i < 4; ++i) blob[len_at + i] = static_cast<char>(len >> (8 * i));
                } else {
                  ValueDumper dumper(value, dump_options);
                  if (dumper.sliced()) {
                    big.emplace_back(e.key());
                    return;
                  }
                  dumper.Step(Migrator::kSliceBudget);
                  const std::string payload = dumper.TakePayload();
                  AppendLoadRecord(&blob, e.key(), expire == -1 ? 0 : expire,
                                   std::string_view(payload).substr(0, payload.size() - 10));
                }
                ++keys;
              },
              slot + 1);
        }
        std::string out;
        if (keys > 0 || !big.empty()) SelectOnLink(*link, dbi, &out);
        if (keys > 0) {
          out.reserve(out.size() + blob.size() + 64);
          AppendCommand(&out, {"CLUSTER", "SYNCSLOTS", "LOAD", blob});
        }
        if (!out.empty() && !link->client->SendRaw(std::move(out)).ok()) {
          link->Overrun();
          co_return;
        }
        for (const std::string& key : big) {
          if (!co_await SendBigKey(link, slot, dbi, key)) co_return;
        }
        if (link->client->pending_output() > kDrainAbove) {
          absl::Status s = co_await link->client->Drain();
          if (!s.ok()) {
            if (SlotMigrationJob* j = jobs_.Find(link->name); j && !link->closed) {
              Feed(*j, clusterbus::MigLinkDown{std::string(s.message())});
            }
            co_return;
          }
        } else {
          co_await asio::post(io_, asio::use_awaitable);
        }
        if (SlotMigrationJob* j = jobs_.Find(link->name); j && !link->closed) {
          Feed(*j, clusterbus::MigProgress{});
        } else {
          co_return;
        }
      }
    }
  }
  job = jobs_.Find(link->name);
  if (job != nullptr && !link->closed) Feed(*job, clusterbus::MigSnapshotDone{});
}

asio::awaitable<bool> AtomicMigrator::SendBigKey(std::shared_ptr<Link> link, int slot, int dbi,
                                                 std::string key) {
  const Entry* e = server_.ShardForSlot(slot).db(dbi).Peek(key);
  if (e == nullptr) co_return true;  // deleted since: its DEL went already
  const int64_t expire = server_.ShardForSlot(slot).db(dbi).ExpireOf(e);
  if (expire != -1 && expire <= NowMs()) co_return true;
  // Frozen while it goes: a command that touches it waits (KeysInFlight,
  // as for MIGRATE), so the slices read one unchanging value.
  server_.keys_in_flight().Add(dbi, key);
  const Entry* const entry = e;
  uint64_t cursor = 0;
  bool ok = true;
  for (;;) {
    std::string out;
    SelectOnLink(*link, dbi, &out);
    const bool done = RebuildStep(e->value(), key, &cursor, kBigElements, kBigStringBytes, &out);
    if (done && expire != -1) AppendCommand(&out, {"PEXPIREAT", key, absl::StrCat(expire)});
    if (!link->client->SendRaw(std::move(out)).ok()) {
      link->Overrun();
      ok = false;
      break;
    }
    if (done) break;
    if (link->client->pending_output() > kDrainAbove) {
      absl::Status s = co_await link->client->Drain();
      if (!s.ok()) {
        if (SlotMigrationJob* j = jobs_.Find(link->name); j && !link->closed) {
          Feed(*j, clusterbus::MigLinkDown{std::string(s.message())});
        }
        ok = false;
        break;
      }
    } else {
      co_await asio::post(io_, asio::use_awaitable);
    }
    if (stopped_ || link->closed || jobs_.Find(link->name) == nullptr) {
      ok = false;
      break;
    }
    // No command changes it, but expiry, eviction or a flush may remove it:
    // its DEL is on the link after the slices sent, so the target ends
    // without it; nothing more goes.
    e = server_.ShardForSlot(slot).db(dbi).Peek(key);
    if (e != entry) break;
  }
  if (!stopped_) {
    server_.keys_in_flight().Remove(dbi, key);
    for (uint64_t id : server_.keys_in_flight().TakeWaiters()) {
      auto it = server_.clients().find(id);
      if (it != server_.clients().end()) Retry(*it->second);
    }
  }
  co_return ok;
}

void AtomicMigrator::SelectOnLink(Link& link, int db, std::string* out) {
  if (link.link_db == db) return;
  AppendCommand(out, {"SELECT", absl::StrCat(db)});
  link.link_db = db;
  server_.write_stream().ForgetSelectedDb(&link);
}

asio::awaitable<void> AtomicMigrator::DeleteKeys(std::vector<int> slot_list, bool show) {
  // The keys go a slice per turn of the loop, each DEL to the write stream
  // (replicas and AOF follow). The slots are no longer served from here
  // (moved, or never owned), so no client reads them meanwhile. No import
  // of them can start before the run ends (ESTABLISH refuses slots being
  // dropped). Like active expiry, nothing is deleted while writes are
  // paused: a manual failover's replica waits for an offset that must stay
  // put.
  asio::steady_timer wait(io_);
  for (int slot : slot_list) {
    const int num_dbs = server_.shard(0).num_dbs();
    for (int dbi = 0; dbi < num_dbs; ++dbi) {
      for (;;) {
        if (stopped_) co_return;
        if (server_.WritesPaused(NowMs())) {
          wait.expires_after(std::chrono::milliseconds(kTickMs / 10));
          boost::system::error_code ec;
          co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          continue;
        }
        Db& db = server_.ShardForSlot(slot).db(dbi);
        if (db.CountKeysInSlot(slot) == 0) break;
        const std::vector<std::string> keys = db.KeysInSlot(slot, kKeysPerSlice * 4);
        if (server_.before_write) {
          std::vector<std::string_view> views(keys.begin(), keys.end());
          server_.before_write(dbi, views);
        }
        const int64_t now = NowMs();
        server_.write_stream().BeginUnit();
        for (const std::string& key : keys) {
          if (!db.Delete(key, now)) continue;
          ++server_.stats().dirty;
          const std::string del[] = {"DEL", key};
          server_.write_stream().Append(dbi, slot, del);
        }
        server_.write_stream().EndUnit();
        co_await asio::post(io_, asio::use_awaitable);
      }
    }
    // This slot is done: out of the record once no other run deletes it
    // (the record is rewritten once, below).
    auto it = dropping_.find(slot);
    if (it != dropping_.end() && --it->second == 0) dropping_.erase(it);
  }
  // Shown unless an import or another run holds them.
  slots::SlotSet shown;
  if (show) {
    for (int slot : slot_list) {
      if (!jobs_.Importing(slot) && !dropping_.contains(slot)) shown.Set(slot);
    }
  }
  if (!shown.Empty()) {
    SetHidden(shown, false);  // syncs the record too
  } else {
    SyncDropRecord();
  }
}

void AtomicMigrator::ClaimSlots(SlotMigrationJob& job) {
  clusterbus::ClusterState* cluster = server_.cluster();
  if (cluster == nullptr) return;
  for (int s : SlotsOf(job)) cluster->BindSlot(s, cluster->myself());
  cluster->BumpEpochWithoutConsensus();
  // The claim must beat the source's epoch everywhere: the one it sent with
  // FINISH (it holds it until the job ends), or the one gossip showed me
  // when newer. Gossip alone can be behind: a collision the source resolved
  // a moment ago, unknown here, would let it claim the slots back.
  const clusterbus::ClusterNode* source = cluster->FindNode(job.source_id());
  uint64_t source_epoch = 0;
  if (const Link* link = LinkOf(job)) source_epoch = link->source_epoch;
  if (source != nullptr) source_epoch = std::max(source_epoch, source->config_epoch);
  clusterbus::ClusterNode& me = cluster->myself();
  if (me.config_epoch <= source_epoch) {
    cluster->set_current_epoch(std::max(cluster->current_epoch(), source_epoch) + 1);
    me.config_epoch = cluster->current_epoch();
    Log(LogLevel::kWarning,
        absl::StrCat("New configEpoch set to ", me.config_epoch, " (above the source's)"));
  }
  cluster->RequestSave(true);
  cluster->RequestStateUpdate();
  cluster->RequestBroadcastPong();
  // nodes.conf is saved (fsynced) there; only then do the slots leave the
  // drop record (SetHidden), so a kill in between keeps the keys as mine.
  server_.ApplyClusterEffects(NowMs());
  SetHidden(job.slot_set(), false);
}

void AtomicMigrator::CommitExport(SlotMigrationJob& job, uint64_t epoch) {
  clusterbus::ClusterState* cluster = server_.cluster();
  if (cluster == nullptr) return;
  clusterbus::ClusterNode* target = cluster->FindNode(job.target_id());
  if (target == nullptr) return;
  if (epoch > target->config_epoch) target->config_epoch = epoch;
  if (epoch > cluster->current_epoch()) cluster->set_current_epoch(epoch);
  std::vector<int> moved;
  for (int s : SlotsOf(job)) {
    if (cluster->SlotOwner(s) == &cluster->myself()) {
      cluster->BindSlot(s, *target);
    }
    moved.push_back(s);
  }
  cluster->RequestSave(true);
  cluster->RequestStateUpdate();
  cluster->RequestBroadcastPong();
  server_.ApplyClusterEffects(NowMs());
  DropKeys(std::move(moved), /*show=*/false);
}

void AtomicMigrator::ApplyLoad(CommandContext& ctx, Link& link, SlotMigrationJob& job,
                               std::string_view blob) {
  struct Record {
    std::string_view key;
    int64_t expire_ms;
    std::string_view body;
    int slot;
  };
  // The whole batch is checked before anything applies: a malformed one
  // (only a bug or a stranger could send it) fails the import.
  std::vector<Record> records;
  std::string_view in = blob;
  bool ok = !in.empty() && in.front() == kLoadFormat;
  if (ok) in.remove_prefix(1);
  while (ok && !in.empty()) {
    uint64_t klen = 0, expire = 0, plen = 0;
    Record r{};
    ok = ReadLe(&in, 4, &klen) && ReadBytes(&in, klen, &r.key) && ReadLe(&in, 8, &expire) &&
         ReadLe(&in, 4, &plen) && ReadBytes(&in, plen, &r.body);
    if (!ok) break;
    r.expire_ms = static_cast<int64_t>(expire);
    r.slot = slots::KeyHashSlot(r.key);
    // Only the job's slots: the link writes nowhere else.
    ok = r.expire_ms >= 0 && link.slots.Test(r.slot);
    records.push_back(r);
  }
  if (!ok) {
    Feed(job, clusterbus::MigAbort{"Malformed snapshot batch from the source"});
    return ctx.reply.Error("ERR malformed CLUSTER SYNCSLOTS LOAD batch");
  }
  // Like every command of the snapshot, a batch gets no reply (the link
  // reads only its protocol steps' answers).
  ctx.reply.set_silenced(true);
  const int dbi = ctx.db_index();
  if (server_.before_write) {
    // A live fork-less snapshot keeps the values it has not saved yet.
    std::vector<std::string_view> keys;
    keys.reserve(records.size());
    for (const Record& r : records) keys.push_back(r.key);
    server_.before_write(dbi, keys);
  }
  // Replicas and the AOF get each key as an ordinary command (SET, or
  // RESTORE of the value's DUMP payload), so that any replica, and a
  // reload, replays it.
  const bool propagate = server_.write_stream().wanted();
  for (const Record& r : records) {
    Db& db = server_.ShardForSlot(r.slot).db(dbi);
    // A plain string (most small keys) is read in place; anything else
    // through the RDB decoder.
    std::optional<std::string_view> str = PlainStringOf(r.body);
    std::optional<Value> value;
    if (str.has_value()) {
      value = Value::FromStringTryInt(*str);
    } else if (absl::StatusOr<replication::RdbValue> decoded =
                   replication::ParseDumpBody(absl::string_view(r.body.data(), r.body.size()));
               decoded.ok()) {
      value = persist::FromRdbValue(*decoded);
    }
    if (!value.has_value()) {
      Feed(job, clusterbus::MigAbort{"Bad value in a snapshot batch from the source"});
      return ctx.reply.Error(errors::kBadDumpPayload);
    }
    const bool deleted = db.Delete(r.key, ctx.now_ms);
    if (r.expire_ms != 0 && AlreadyExpired(ctx, r.expire_ms)) {
      if (deleted) {
        ctx.AddDirty(1);
        ctx.Notify(kNotifyGeneric, "del", r.key);
        if (propagate) ctx.propagate_many.push_back({"DEL", std::string(r.key)});
      }
      continue;
    }
    Entry* e = db.Set(r.key, std::move(*value), ctx.now_ms);
    if (r.expire_ms != 0) db.SetExpire(e, r.expire_ms);
    ctx.AddDirty(1);
    ctx.Notify(kNotifyGeneric, "restore", r.key);
    if (propagate) {
      // A string as SET (PXAT when it expires), anything else as RESTORE
      // of its DUMP payload.
      if (str.has_value()) {
        std::vector<std::string> set{"SET", std::string(r.key), std::string(*str)};
        if (r.expire_ms != 0) {
          set.emplace_back("PXAT");
          set.push_back(absl::StrCat(r.expire_ms));
        }
        ctx.propagate_many.push_back(std::move(set));
      } else {
        ctx.propagate_many.push_back({"RESTORE", std::string(r.key), absl::StrCat(r.expire_ms),
                                      DumpPayloadOf(r.body), "REPLACE", "ABSTTL"});
      }
    }
  }
  ctx.reply.Ok();
}

// ---- Commands -------------------------------------------------------------

void AtomicMigrator::Handle(CommandContext& ctx, std::span<std::string> args) {
  const std::string sub = absl::AsciiStrToLower(args[1]);
  if (sub == "migrateslots") return MigrateSlots(ctx, args);
  if (sub == "getslotmigrations") return GetSlotMigrations(ctx);
  if (sub == "cancelslotmigrations") return Cancel(ctx);
  return SyncSlots(ctx, args);
}

void AtomicMigrator::MigrateSlots(CommandContext& ctx, std::span<std::string> args) {
  clusterbus::ClusterState* cluster = server_.cluster();
  auto parsed = jobs_.ParseMigrateSlots(args, *cluster);
  if (!parsed.ok()) return ctx.reply.Error(absl::StrCat("ERR ", parsed.status().message()));
  const int64_t now = NowMs();
  const clusterbus::MigrationTimeouts timeouts{
      .idle_ms = int64_t{server_.options().repl_timeout} * 1000, .pause_ms = 10'000};
  for (clusterbus::MigrateSlotsRequest& req : *parsed) {
    auto job =
        std::make_unique<SlotMigrationJob>(MigrationOp::kExport, JobName(), std::move(req.ranges),
                                           cluster->myself().id, req.target_id, now, timeouts);
    SlotMigrationJob& j = jobs_.Add(std::move(job));
    NewLink(j);
    Log(LogLevel::kNotice,
        absl::StrCat("Slot migration initiated through CLUSTER MIGRATESLOTS command: ", j.name(),
                     " (export of ", j.RangesText(), " to ", j.target_id(), ")"));
    CarryOut(j, j.Start(now));
  }
  ctx.reply.Ok();
}

void AtomicMigrator::GetSlotMigrations(CommandContext& ctx) {
  const auto& jobs = jobs_.jobs();
  ctx.reply.ArrayHeader(jobs.size());
  for (const auto& j : jobs) {
    ctx.reply.MapHeader(11);
    ctx.reply.Bulk("name");
    ctx.reply.Bulk(j->name());
    ctx.reply.Bulk("operation");
    ctx.reply.Bulk(j->op() == MigrationOp::kExport ? "EXPORT" : "IMPORT");
    ctx.reply.Bulk("slot_ranges");
    ctx.reply.Bulk(j->RangesText());
    ctx.reply.Bulk("target_node");
    ctx.reply.Bulk(j->target_id());
    ctx.reply.Bulk("source_node");
    ctx.reply.Bulk(j->source_id());
    ctx.reply.Bulk("create_time");
    ctx.reply.Integer(j->create_time());
    ctx.reply.Bulk("last_update_time");
    ctx.reply.Integer(j->last_update_time());
    ctx.reply.Bulk("last_ack_time");
    ctx.reply.Integer(j->last_ack_time());
    ctx.reply.Bulk("state");
    ctx.reply.Bulk(clusterbus::MigrationStateName(j->state()));
    ctx.reply.Bulk("message");
    ctx.reply.Bulk(j->message());
    // No fork, so no copy-on-write.
    ctx.reply.Bulk("cow_size");
    ctx.reply.Integer(0);
  }
}

void AtomicMigrator::Cancel(CommandContext& ctx) {
  // Valkey cancels the exports; an import is cancelled from here too
  // (beyond Valkey), its source then sees the link drop.
  std::vector<SlotMigrationJob*> active;
  for (const auto& j : jobs_.jobs()) {
    if (!j->finished()) active.push_back(j.get());
  }
  if (active.empty()) return ctx.reply.Error("ERR No migrations ongoing");
  for (SlotMigrationJob* j : active) Feed(*j, clusterbus::MigCancel{});
  Log(LogLevel::kNotice, "Canceled all in progress slot migrations (user request)");
  ctx.reply.Ok();
}

void AtomicMigrator::SupersedeImport(std::span<const std::string> args) {
  std::string_view source, name;
  for (size_t i = 3; i + 1 < args.size(); ++i) {
    if (absl::EqualsIgnoreCase(args[i], "source")) source = args[i + 1];
    if (absl::EqualsIgnoreCase(args[i], "name")) name = args[i + 1];
  }
  SlotMigrationJob* old = name.empty() ? nullptr : jobs_.Find(name);
  if (old == nullptr || old->finished() || old->op() != MigrationOp::kImport ||
      old->source_id() != source) {
    return;
  }
  // The source opens a new link for a job only once it closed the last
  // one: this import's link is dead even if its socket does not say so yet.
  Feed(*old, clusterbus::MigAbort{"Superseded by a new attempt of the same migration"});
}

void AtomicMigrator::SyncSlots(CommandContext& ctx, std::span<std::string> args) {
  clusterbus::ClusterState* cluster = server_.cluster();
  const std::string step = absl::AsciiStrToUpper(args[2]);
  Link* link = nullptr;
  SlotMigrationJob* job = nullptr;
  for (auto& [name, l] : links_) {
    if (!l->exporting && l->session_id == ctx.session.id) {
      link = l.get();
      job = jobs_.Find(name);
    }
  }
  if (step == "HIDDEN" && ctx.session.from_primary && args.size() == 4) {
    // My primary's importing slots (clusterbus::HiddenSlotsCommand).
    std::optional<slots::SlotSet> hidden = slots::SlotSet::Parse(args[3]);
    if (!hidden.has_value()) return ctx.reply.Error(errors::kSyntax);
    server_.SetHiddenSlots(*hidden);
    return ctx.reply.Ok();
  }
  if (step == "ESTABLISH") {
    if (ctx.session.import_link) {
      return ctx.reply.Error("ERR Slot migration client is already a slot migration job");
    }
    SupersedeImport(args);
    auto parsed = jobs_.ParseEstablish(args, *cluster);
    if (!parsed.ok()) return ctx.reply.Error(absl::StrCat("ERR ", parsed.status().message()));
    // A failed attempt's staged keys must be gone before new ones arrive
    // (else keys the source deleted since could stay), and an import must
    // not start while writes are paused (its HIDDEN would move my offset
    // under a manual failover): the source retries later.
    if (server_.WritesPaused(NowMs())) {
      return ctx.reply.Error(absl::StrCat("ERR ", base::ToAbsl(clusterbus::kTargetPaused)));
    }
    for (const slots::SlotRange& r : parsed->ranges) {
      for (int s = r.start; s <= r.end; ++s) {
        if (dropping_.contains(s) || server_.SlotHidden(s)) {
          return ctx.reply.Error(absl::StrCat("ERR ", base::ToAbsl(clusterbus::kTargetCleaningUp)));
        }
      }
    }
    const int64_t now = NowMs();
    auto created = std::make_unique<SlotMigrationJob>(
        MigrationOp::kImport, parsed->name, std::move(parsed->ranges), parsed->source_id,
        cluster->myself().id, now,
        clusterbus::MigrationTimeouts{.idle_ms = int64_t{server_.options().repl_timeout} * 1000,
                                      .pause_ms = 10'000});
    SlotMigrationJob& j = jobs_.Add(std::move(created));
    NewLink(j)->session_id = ctx.session.id;
    SetHidden(j.slot_set(), true);
    ctx.session.import_link = true;
    Log(LogLevel::kNotice, absl::StrCat("New slot import job created: ", j.name(), " (",
                                        j.RangesText(), " from ", j.source_id(), ")"));
    CarryOut(j, j.Start(now));
    return ctx.reply.Ok();
  }
  if (job == nullptr || link == nullptr) {
    return ctx.reply.Error(absl::StrCat("ERR CLUSTER SYNCSLOTS ", step,
                                        " should only be used by slot migration clients"));
  }
  if (step == "ACK") {
    Feed(*job, clusterbus::MigProgress{});
    ctx.reply.set_silenced(true);  // a keepalive: nothing to answer
    return ctx.reply.Ok();
  }
  if (step == "LOAD" && args.size() == 4) return ApplyLoad(ctx, *link, *job, args[3]);
  if (step == "SNAPSHOT-EOF") {
    Feed(*job, clusterbus::MigSnapshotEofReceived{});
    if (job->finished()) return ctx.reply.Error("ERR slot import failed: " + job->message());
    const int replicas = server_.replication() ? server_.replication()->online_replicas() : 0;
    return ctx.reply.Integer(replicas);
  }
  if (step == "FINISH") {
    // The source's configEpoch (absent from a source of before it was sent):
    // the claim goes above it.
    if (args.size() == 4 && !absl::SimpleAtoi(args[3], &link->source_epoch)) {
      return ctx.reply.Error(errors::kSyntax);
    }
    // A node that became a replica meanwhile (a manual failover while the
    // FINISH waited for its pause) must not claim: its new primary took
    // over without these slots and drops their keys.
    if (!cluster->myself().is_primary()) {
      Feed(*job, clusterbus::MigAbort{"A failover occurred during slot import"});
    } else {
      Feed(*job, clusterbus::MigFinishReceived{});
    }
    if (job->state() != clusterbus::MigrationState::kSuccess) {
      return ctx.reply.Error("ERR slot import failed: " + job->message());
    }
    return ctx.reply.Integer(static_cast<int64_t>(cluster->myself().config_epoch));
  }
  ctx.reply.Error(errors::kSyntax);
}

}  // namespace shardnode::node::migrate
