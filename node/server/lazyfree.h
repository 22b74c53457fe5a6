// Lazy freeing (Redis's lazyfree.c): a deleted value whose freeing would
// take long (Redis's "free effort": the nodes, members or entries to free)
// is handed to a background thread instead of being destroyed where the
// command runs, and INFO memory counts those objects
// (lazyfree_pending_objects, lazyfreed_objects).
//
// Threads: FreeEffort and FreeMaybeLater are called from the loop that
// owns the value; the freeing runs on one background thread of its own,
// started at the first use. The counters are atomics, read from anywhere.
#pragma once

#include <cstddef>

#include "node/keyspace/value.h"

namespace shardnode::node {

// Redis's LAZYFREE_THRESHOLD: values of a greater free effort are freed
// in the background.
inline constexpr size_t kLazyFreeThreshold = 64;

// Redis's lazyfreeGetFreeEffort: a list's nodes, a hashtable set's,
// skiplist zset's or hashtable hash's members, a stream's radix tree
// nodes plus its groups times (1 + the first group's PEL size); 1 for
// everything else (a single allocation).
size_t FreeEffort(const Value& value);

// Takes `value` (left empty) and frees it in the background when its free
// effort is above kLazyFreeThreshold, at once otherwise. Returns whether
// it went to the background.
bool FreeMaybeLater(Value& value);

// INFO memory's counters, and CONFIG RESETSTAT's reset of the second.
size_t LazyFreePendingObjects();
size_t LazyFreedObjects();
void ResetLazyFreedObjects();

}  // namespace shardnode::node
