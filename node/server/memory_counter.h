// Memory accounting: the bytes the process holds through operator new, as
// Redis's zmalloc counts used_memory. memory_counter.cc replaces the global
// operator new/delete (every variant) with ones that forward to malloc/free and
// add or subtract malloc_usable_size of each block on one relaxed atomic, so
// a read costs one load and an allocation one atomic add. The replacement is
// linked into any binary that calls UsedMemory() (the node does, through INFO
// and eviction); others keep the standard operators and read 0.
//
// Not counted, as in Redis: memory C libraries take from malloc directly (the
// Lua VMs, reported apart as used_memory_lua), thread stacks, code.
//
// Loop: any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shardnode::node {

// Bytes currently allocated through operator new (usable sizes).
size_t UsedMemory();
// What the calling thread allocated through operator new less what it freed
// (whoever allocated it): the difference of two reads is what the thread's
// work in between took or gave back, whatever other threads did meanwhile
// (UsedMemory's difference counts theirs too).
int64_t ThreadNetAllocated();

// Client output on a shard thread that no client's figure stands for
// (node/net/net_server.cc): output handed to the thread and not yet
// offered to the socket (replicas' aside: their whole output is left out),
// and the output of a closed client until the thread freed it. At threads
// 1 the first goes to the kernel when the command that made it ends and
// the second is freed with the client; with shard threads both wait a
// moment for the socket's thread, and the evictor leaves them out (INFO's
// mem_not_counted_for_evict), else the invalidations pushed by an
// eviction, or a client evicted for maxmemory-clients, would get keys
// evicted. Output the socket does not take at once is counted (a client
// behind on its replies, as Redis counts its reply list). Any thread.
void AddOutputInFlight(int64_t delta);
size_t OutputInFlight();

// INFO's used_memory_startup: UsedMemory() when MarkStartupMemory was
// called (once the node is set up, before it serves), 0 before.
void MarkStartupMemory();
size_t StartupMemory();

// INFO's used_memory_peak: the highest UsedMemory() seen by UpdatePeakMemory
// (the cron and INFO call it); MEMORY/CONFIG RESETSTAT resets it to now.
size_t UpdatePeakMemory();
void ResetPeakMemory();

}  // namespace shardnode::node
