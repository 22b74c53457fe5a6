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

// INFO's used_memory_startup: UsedMemory() when MarkStartupMemory was
// called (once the node is set up, before it serves), 0 before.
void MarkStartupMemory();
size_t StartupMemory();

// INFO's used_memory_peak: the highest UsedMemory() seen by UpdatePeakMemory
// (the cron and INFO call it); MEMORY/CONFIG RESETSTAT resets it to now.
size_t UpdatePeakMemory();
void ResetPeakMemory();

}  // namespace shardnode::node
