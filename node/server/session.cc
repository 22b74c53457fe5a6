#include "node/server/session.h"

namespace shardnode::node {

std::string Session::FlagsText() const {
  std::string flags;
  // Redis's order.
  if (replica) flags += 'S';
  if (in_pubsub()) flags += 'P';
  if (in_multi) flags += 'x';
  if (blocked) flags += 'b';
  if (close_after_reply) flags += 'c';
  if (readonly) flags += 'r';
  if (flags.empty()) flags = "N";
  return flags;
}

}  // namespace shardnode::node
