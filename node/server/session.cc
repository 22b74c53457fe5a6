#include "node/server/session.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "node/acl/acl.h"

namespace shardnode::node {

std::string Session::FlagsText() const {
  std::string flags;
  // Redis's order.
  if (replica) flags += 'S';
  if (from_primary) flags += 'M';
  if (in_pubsub()) flags += 'P';
  if (in_multi) flags += 'x';
  if (blocked()) flags += 'b';
  if (tracking.on) flags += 't';
  if (tracking.broken_redirect) flags += 'R';
  if (tracking.bcast) flags += 'B';
  if (close_after_reply) flags += 'c';
  if (unix_socket) flags += 'U';
  if (readonly) flags += 'r';
  if (no_evict) flags += 'e';
  if (flags.empty()) flags = "N";
  return flags;
}

void PushUnsilenced(Session& s, std::string_view bytes) {
  if (!s.push) return;
  const bool was = s.pushing;
  s.pushing = true;
  s.push(bytes);
  s.pushing = was;
}

int ResizeReplyBuffer(Session& c, int64_t now_ms, int64_t peak_reset_ms) {
  constexpr size_t kMinBytes = 1024;         // PROTO_REPLY_MIN_BYTES
  constexpr size_t kChunkBytes = 16 * 1024;  // PROTO_REPLY_CHUNK_BYTES
  const size_t size = c.reply_buffer_size;
  size_t next = 0;
  int change = 0;
  if (size / 2 >= kMinBytes && c.reply_buffer_peak < size / 2) {
    next = std::max(kMinBytes, c.reply_buffer_peak + 1);
    change = -1;
  } else if (size * 2 < kChunkBytes * 2 && c.reply_buffer_peak == size) {
    next = std::min(kChunkBytes, size * 2);
    change = 1;
  }
  if (peak_reset_ms >= 0 && now_ms - c.reply_buffer_peak_reset_ms >= peak_reset_ms) {
    c.reply_buffer_peak = std::min(c.output_buffer_bytes, size);
    c.reply_buffer_peak_reset_ms = now_ms;
  }
  if (next != 0) {
    c.reply_buffer_size = next;
    c.reply_buffer_peak = std::min(c.reply_buffer_peak, next);
  }
  return change;
}

size_t MultiMemory(const Session& c) {
  size_t mem = 0;
  for (const std::vector<std::string>& cmd : c.queued) {
    mem += 2 * sizeof(void*) + sizeof(int) * 2;  // Redis's multiCmd
    for (const std::string& a : cmd) mem += a.size() + sizeof(void*);
  }
  return mem;
}

size_t ClientMemoryUsage(const Session& c) {
  // The output buffers count at least as Redis's reply buffer (rbs in
  // CLIENT LIST), which is what they stand for: small replies leave the
  // figure where it is between commands, as Redis's fixed buffer does,
  // while output allocated beyond it counts in full, as Redis's reply list.
  size_t mem = std::max(c.output_buffer_allocated, c.reply_buffer_size) +
               std::max(c.query_buffer_bytes, c.query_buffer_allocated) + sizeof(Session);
  mem += c.argv_bytes + c.argc * sizeof(void*);
  mem += MultiMemory(c);
  for (const WatchedKey& w : c.watched) mem += sizeof(WatchedKey) + w.key.size();
  // Subscriptions and prefixes: their index entries (the names are shared).
  const size_t subs = c.channels.size() + c.patterns.size() + c.shard_channels.size();
  mem += subs * 4 * sizeof(void*);
  mem += c.tracking.prefixes.size() * 4 * sizeof(void*);
  return mem;
}

std::string ClientInfoLine(const Session& c, int64_t now_ms) {
  const std::string cmd = c.last_command.empty() ? "NULL" : c.last_command;
  return absl::StrCat(
      "id=", c.id, " addr=", c.addr, " laddr=", c.laddr, " fd=", c.fd, " name=", c.name,
      " age=", (now_ms - c.created_ms) / 1000, " idle=", (now_ms - c.last_interaction_ms) / 1000,
      " flags=", c.FlagsText(), " db=", c.db_index, " sub=", c.channels.size(),
      " psub=", c.patterns.size(), " ssub=", c.shard_channels.size(),
      " multi=", c.in_multi ? static_cast<int64_t>(c.queued.size()) : -1,
      " qbuf=", c.query_buffer_bytes, " qbuf-free=", c.query_buffer_free,
      " argv-mem=", c.argv_bytes, " multi-mem=", MultiMemory(c), " rbs=", c.reply_buffer_size,
      " rbp=", c.reply_buffer_peak, " obl=0 oll=0 omem=", c.output_buffer_bytes,
      " tot-mem=", ClientMemoryUsage(c), " events=r cmd=", cmd,
      " user=", c.user != nullptr ? c.user->name : std::string("(superuser)"),
      " redir=", c.tracking.on ? static_cast<int64_t>(c.tracking.redirect) : -1,
      " resp=", c.protocol);
}

}  // namespace shardnode::node
