// FullSyncs: the primary side's RDB transfers for full resynchronizations,
// made without blocking the node. Each image is a fork-less
// persist::Snapshot (registered with Persistence::TrackSnapshot for
// copy-on-write) walked a slice at a time from posted tasks while clients
// keep being served, and it goes either
//   - to a temporary file in the working directory, unlinked as soon as it
//     is created so that nothing is left behind (disk target), which is
//     then sent to each of its replicas as "$<len>\r\n<bytes>"; or
//   - straight to the replicas' connections (socket target, "diskless") as
//     "$EOF:<40 random chars>\r\n<bytes><the same 40 chars>", chunk by chunk
//     as the walk produces it.
// Bytes move only as fast as the slowest replica of an image reads them: a
// replica's pending output is kept under a high-water mark (the net shell
// reports each completed write through Session::on_output_drained), so the
// memory an image costs is that mark per replica plus what copy-on-write
// saved ahead of the walk (bounded by the dataset, like a fork's pages).
//
// Scheduling follows Redis 7.0. One image is produced at a time. A replica
// that asks while a disk image is being produced joins it (the manager
// gives it that image's offset and a copy of the stream another replica of
// the image holds); otherwise it waits for the next image. A replica with
// capa eof waits repl-diskless-sync-delay seconds (or until
// repl-diskless-sync-max-replicas replicas wait) when repl-diskless-sync is
// on, so that several share one image; an image goes to sockets when
// repl-diskless-sync is on and all its replicas announced capa eof, to
// disk otherwise. Unlike Redis, the disk target is not dump.rdb (a full
// sync is not a save), and a BGSAVE runs alongside with its own snapshot.
//
// rdb-key-save-delay (microseconds per key, for tests) slows the walk down
// as it does Redis's saving child.
//
// The replication stream is not handled here: the manager holds the writes
// made after an image began for each of its replicas and sends them once
// `delivered` fired.
//
// Loop: the control loop (the io_context given). Not thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "node/persist/snapshot.h"

namespace shardnode::node {

class Server;
struct Session;

class FullSyncs {
 public:
  // What the manager does at a replica's milestones. Hooks may call
  // Remove() (directly or by dropping the replica).
  struct Hooks {
    // An image begins for replica `client_id`: the manager answers
    // +FULLRESYNC with its offset and holds the stream from here. With
    // `attach_to` != 0 the replica joins the image of that replica (same
    // offset, a copy of its held stream).
    std::function<void(uint64_t client_id, uint64_t attach_to)> begin;
    // Every RDB byte for `client_id` was handed to its connection.
    std::function<void(uint64_t client_id, bool socket_target)> delivered;
    // The transfer cannot go on (I/O error, timeout): drop the replica.
    std::function<void(uint64_t client_id)> drop;
    // "ip:port" of a replica, for log lines.
    std::function<std::string(uint64_t client_id)> name;
  };

  // REQUIRES: `io` and `server` outlive this object.
  FullSyncs(boost::asio::io_context& io, Server& server, Hooks hooks);
  ~FullSyncs();
  FullSyncs(const FullSyncs&) = delete;
  FullSyncs& operator=(const FullSyncs&) = delete;

  // Replica `client_id` needs a full sync (`capa_eof`: it reads the
  // diskless form; `filter`: what its image holds, REPLCONF
  // rdb-filter-only). It joins an image of the same filter, starts one, or
  // waits (see above).
  void Request(uint64_t client_id, bool capa_eof, int64_t now_ms,
               persist::SnapshotFilter filter = persist::SnapshotFilter());
  // The replica is gone (or dropped): it leaves its image; an image left
  // without replicas stops.
  void Remove(uint64_t client_id);
  // Stops every image and forgets every replica (role change, shutdown).
  void Clear();
  // FLUSHALL (Redis's killRDBChild): the image being produced stops and
  // its replicas are dropped; they ask again and get a new image, as
  // Redis's replicas do after the child was killed. Replicas still
  // receiving a finished disk image, and waiting ones, are kept (the
  // waiting get the next image).
  void AbortProducing();

  // Every 100 ms: starts the waiting replicas' image once their delay ran
  // out.
  void Tick(int64_t now_ms);
  // Every second: a newline to replicas waiting for a disk image (so their
  // repl-timeout does not fire), and drops replicas of a socket image that
  // read nothing for repl-timeout.
  void Cron(int64_t now_ms);

  // True while an image is being produced (INFO rdb_bgsave_in_progress).
  bool producing() const { return Producing() != nullptr; }

  // INFO's state of a replica in a full sync: "wait_bgsave" or
  // "send_bulk"; nullptr when it is in none.
  const char* StateOf(uint64_t client_id) const;

 private:
  struct Member;
  struct Job;
  struct Waiting {
    uint64_t client_id = 0;
    bool capa_eof = false;
    int64_t since_ms = 0;
    persist::SnapshotFilter filter;
  };
  static bool SameFilter(const persist::SnapshotFilter& a, const persist::SnapshotFilter& b) {
    return a.keys == b.keys && a.functions == b.functions;
  }

  Session* SessionOf(uint64_t client_id) const;
  Job* Producing() const;
  Job* FindJob(uint64_t job_id) const;
  Job* JobOf(uint64_t client_id, Member** member) const;
  void StartJob(int64_t now_ms);
  // Posts the next slice of a producing image (after `delay_us`).
  void PostProduce(Job& job, int64_t delay_us = 0);
  void Produce(uint64_t job_id);
  void FinishProducing(Job& job);
  void SendFile(Job& job, Member& m);
  void OnDrained(uint64_t client_id);
  void Watch(uint64_t client_id);
  void Unwatch(uint64_t client_id);
  void DropMember(Member& m);
  void StopProducing(Job& job);
  void Reap();

  boost::asio::io_context& io_;
  Server& server_;
  Hooks hooks_;
  std::vector<Waiting> waiting_;
  std::vector<std::unique_ptr<Job>> jobs_;
  uint64_t next_job_id_ = 0;
  // Non-zero while members are iterated: Reap waits until it is zero.
  int busy_ = 0;
  // Posted tasks and drain callbacks hold a weak copy: they do nothing once
  // this object is gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::string read_buf_;  // disk target: one chunk read back from the file
};

}  // namespace shardnode::node
