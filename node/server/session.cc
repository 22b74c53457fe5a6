#include "node/server/session.h"

#include "absl/strings/str_cat.h"

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
  if (readonly) flags += 'r';
  if (no_evict) flags += 'e';
  if (flags.empty()) flags = "N";
  return flags;
}

std::string ClientInfoLine(const Session& c, int64_t now_ms) {
  const std::string cmd = c.last_command.empty() ? "NULL" : c.last_command;
  return absl::StrCat(
      "id=", c.id, " addr=", c.addr, " laddr=", c.laddr, " fd=", c.fd, " name=", c.name,
      " age=", (now_ms - c.created_ms) / 1000, " idle=", (now_ms - c.last_interaction_ms) / 1000,
      " flags=", c.FlagsText(), " db=", c.db_index,
      " sub=0 psub=0 ssub=0 multi=", c.in_multi ? static_cast<int64_t>(c.queued.size()) : -1,
      " qbuf=", c.query_buffer_bytes,
      " qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=",
      c.output_buffer_bytes, " tot-mem=0 events=r cmd=", cmd,
      " user=default redir=", c.tracking.on ? static_cast<int64_t>(c.tracking.redirect) : -1,
      " resp=", c.protocol);
}

}  // namespace shardnode::node
