#include "clusterbus/routing.h"

#include "slots/hash_slot.h"

namespace shardnode::clusterbus {
namespace {

RouteResult Redirect(RouteOutcome outcome, int slot, const SlotTable::Target& to) {
  RouteResult r;
  r.outcome = outcome;
  r.slot = slot;
  r.endpoint = to.endpoint;
  r.port = to.port;
  r.pport = to.pport;
  return r;
}

RouteResult Fail(RouteOutcome outcome, int slot) {
  RouteResult r;
  r.outcome = outcome;
  r.slot = slot;
  return r;
}

}  // namespace

RouteResult Route(const SlotTable& table, const RouteInput& in,
                  const std::function<bool(std::string_view key)>& key_exists) {
  std::string_view first_key;
  bool have_first = false;
  int slot = -1;
  bool migrating = false, importing = false, multiple_keys = false;
  int missing = 0, existing = 0;

  for (std::string_view key : in.keys) {
    int this_slot = slots::KeyHashSlot(key);
    if (!have_first) {
      have_first = true;
      first_key = key;
      slot = this_slot;
      if (table.owner(slot) == SlotTable::kNone) return Fail(RouteOutcome::kUnbound, slot);
      if (table.owned_by_myself(slot) && table.migrating_to(slot)) {
        migrating = true;
      } else if (table.importing(slot)) {
        importing = true;
      }
    } else if (key != first_key) {
      if (this_slot != slot) return Fail(RouteOutcome::kCrossSlot, slot);
      multiple_keys = true;
    }
    if ((migrating || importing) && !in.shard_pubsub) {
      if (key_exists(key)) {
        ++existing;
      } else {
        ++missing;
      }
    }
  }
  if (!have_first) return RouteResult{};

  if (!table.ok()) {
    if (in.shard_pubsub) {
      if (!in.allow_pubsubshard_when_down) return Fail(RouteOutcome::kDown, slot);
    } else if (!in.allow_reads_when_down) {
      return Fail(RouteOutcome::kDown, slot);
    } else if (in.is_write) {
      return Fail(RouteOutcome::kDownReadOnly, slot);
    }
  }

  RouteResult local;
  local.slot = slot;
  if ((migrating || importing) && in.is_migrate) return local;

  if (migrating && missing) {
    if (existing) return Fail(RouteOutcome::kTryAgain, slot);
    // An ASK to myself (a slot set MIGRATING to its own owner) is no
    // redirection: Redis serves the command.
    if (table.migrating_to_myself(slot)) return local;
    return Redirect(RouteOutcome::kAsk, slot, *table.migrating_to(slot));
  }
  if (importing && in.asking) {
    if (multiple_keys && missing) return Fail(RouteOutcome::kTryAgain, slot);
    return local;
  }
  if ((in.readonly || in.shard_pubsub) && !in.is_write && table.myself_is_replica() &&
      table.owned_by_my_primary(slot)) {
    return local;
  }
  if (!table.owned_by_myself(slot)) {
    return Redirect(RouteOutcome::kMoved, slot, table.target(table.owner(slot)));
  }
  return local;
}

}  // namespace shardnode::clusterbus
