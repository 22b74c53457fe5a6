// Dict: a chained hash table keyed by byte strings, with Redis-style SCAN.
//
// It is intrusive: the caller allocates nodes (so a node can hold its key
// bytes inline, as the Db's entries do) and the table links them through the
// node's `dict_next` member. Traits say how to get a node's key and how to free
// it:
//
//   struct Traits {
//     static std::string_view Key(const Node& n);
//     static void Free(Node* n);
//   };
//
// Buckets are a power of two. The table grows when it holds as many nodes as
// buckets and shrinks when under 10% full. Its first node goes into one
// bucket held inside the Dict itself (no bucket array is allocated until a
// second node comes): most of the Db's 16384 slot tables hold one or two
// keys while a dataset is small, and an array of 4 buckets for each cost
// tens of bytes per key. A Dict is two words (the Db keeps its 16384 slot
// tables in one array, so a lookup goes from the slot straight to the
// bucket) and holds no pointer to itself, so it moves as plain bytes.
//
// Each bucket word is a node pointer in its low 48 bits (user-space
// addresses on x86-64 and AArch64 fit) and, above, a 16-bit filter: two
// bits chosen by the hash of every key linked into the chain since it was
// last empty. A key whose two bits are not both set is not in the chain,
// so most lookups of a missing key (a GET that misses, a SET of a new key)
// end at the bucket without reading a node. Removing a node leaves its bits
// (a filter that says "maybe" more often, never a wrong "no"); an emptied
// bucket and a resize start the filters afresh.
//
// Scan walks buckets in reverse-binary
// cursor order, so that an element present for the whole scan is returned at
// least once even when the table grows or shrinks between calls (elements may
// be returned more than once). Resizing is done at once, not incrementally:
// the Db splits keys over 16384 slot tables, so each table stays small.
//
// StringMap<V> below is the ready-made node for string -> V maps (hash fields,
// set members, sorted-set members).
//
// Pure data; not thread-safe. Node pointers stay valid until the node is
// removed (resizing relinks nodes but never moves them).
#pragma once

#include <malloc.h>

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "absl/hash/hash.h"

namespace shardnode::node {

inline uint64_t HashKey(std::string_view key) { return absl::Hash<std::string_view>{}(key); }

// __builtin_prefetch that stays: GCC deletes a loop whose body does
// nothing but prefetch (a hint has no effect it must keep), and with it
// the prefetches.
inline void Prefetch(const void* address) {
  __builtin_prefetch(address);
  asm volatile("" : : "r"(address));
}

template <typename Node, typename Traits>
class Dict {
 public:
  static constexpr size_t kInitialBuckets = 4;

  Dict() = default;
  ~Dict() { Clear(); }
  Dict(Dict&& o) noexcept { Take(o); }
  Dict& operator=(Dict&& o) noexcept {
    if (this != &o) {
      Clear();
      Take(o);
    }
    return *this;
  }
  Dict(const Dict&) = delete;
  Dict& operator=(const Dict&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // 0 when empty, 1 while the only node is in the inline bucket.
  size_t bucket_count() const { return shift_ != 0 ? mask() + 1 : (size_ != 0 ? 1 : 0); }

  // The node whose key is `key`, or nullptr.
  Node* Find(std::string_view key) const { return Find(key, HashKey(key)); }
  // The same, given HashKey(key) (a caller about to insert hashes once).
  Node* Find(std::string_view key, uint64_t hash) const {
    const uintptr_t bucket = buckets()[hash & mask()];
    const uintptr_t bits = FilterBits(hash);
    if ((bucket & bits) != bits) return nullptr;
    for (Node* n = Head(bucket); n; n = n->dict_next) {
      if (Traits::Key(*n) == key) return n;
    }
    return nullptr;
  }

  // Links `node` in; the table owns it from now on.
  // REQUIRES: no node with the same key is present.
  void Insert(Node* node) { Insert(node, HashKey(Traits::Key(*node))); }
  // The same, given HashKey of the node's key.
  void Insert(Node* node, uint64_t hash) {
    if (shift_ == 0 ? size_ != 0 : size_ >= mask() + 1) {
      Rehash(std::max(kInitialBuckets, (mask() + 1) * 2));
    }
    Link(buckets()[hash & mask()], node, hash);
    ++size_;
  }

  // Unlinks the node of `key` and hands it to the caller (nullptr if absent).
  // May shrink the table.
  Node* Detach(std::string_view key) { return Detach(key, HashKey(key)); }
  // The same, given HashKey(key).
  Node* Detach(std::string_view key, uint64_t hash) {
    uintptr_t& bucket = buckets()[hash & mask()];
    const uintptr_t bits = FilterBits(hash);
    if ((bucket & bits) != bits) return nullptr;
    Node* prev = nullptr;
    for (Node* n = Head(bucket); n; prev = n, n = n->dict_next) {
      if (Traits::Key(*n) != key) continue;
      if (prev != nullptr) {
        prev->dict_next = n->dict_next;
      } else if (n->dict_next != nullptr) {
        bucket = (bucket & ~kPointerBits) | reinterpret_cast<uintptr_t>(n->dict_next);
      } else {
        bucket = 0;  // an empty chain's filter starts afresh
      }
      n->dict_next = nullptr;
      --size_;
      MaybeShrink();
      return n;
    }
    return nullptr;
  }

  // Removes and frees the node of `key`. Returns whether it was present.
  bool Erase(std::string_view key) {
    Node* n = Detach(key);
    if (!n) return false;
    Traits::Free(n);
    return true;
  }

  // Frees every node and the buckets.
  void Clear() {
    const uintptr_t* b = buckets();
    for (size_t i = 0; size_ != 0 && i <= mask(); ++i) {
      for (Node* n = Head(b[i]); n;) {
        Node* next = n->dict_next;
        Traits::Free(n);
        n = next;
      }
    }
    FreeBuckets();
    size_ = 0;
  }

  // Calls fn(Node&) for every node of the bucket `cursor` designates and
  // returns the next cursor; 0 when the scan is complete. Start with 0.
  // `fn` must not insert or remove nodes.
  template <typename Fn>
  uint64_t Scan(uint64_t cursor, Fn&& fn) const {
    if (size_ == 0) return 0;
    for (Node* n = Head(buckets()[cursor & mask()]); n; n = n->dict_next) fn(*n);
    // Increment the cursor's bits above the mask... in reverse order: set the
    // unmasked high bits, reverse, add one, reverse back.
    cursor |= ~static_cast<uint64_t>(mask());
    cursor = ReverseBits(cursor);
    ++cursor;
    return ReverseBits(cursor);
  }

  // Calls fn(Node&) for every node. `fn` must not insert or remove nodes.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    if (size_ == 0) return;
    const uintptr_t* b = buckets();
    for (size_t i = 0; i <= mask(); ++i) {
      for (Node* n = Head(b[i]); n; n = n->dict_next) fn(*n);
    }
  }

  // Starts loading what a walk of the table reads first: its bucket
  // array, or its only node (a hint: the caller reads it soon, after
  // other loads it does not depend on).
  void PrefetchBuckets() const {
    if (shift_ != 0) {
      Prefetch(reinterpret_cast<const void*>(word_));
    } else if (word_ != 0) {
      PrefetchNode(Head(word_));
    }
  }

  // Starts loading the first node of every bucket of a small table with a
  // bucket array (the caller is about to walk all of them, and prefetched
  // the array; a table of one node had it loaded by PrefetchBuckets).
  void PrefetchHeads() const {
    if (shift_ == 0 || mask() >= 16) return;
    const uintptr_t* b = buckets();
    for (size_t i = 0; i <= mask(); ++i) {
      if (Node* n = Head(b[i])) PrefetchNode(n);
    }
  }
  // A node and what follows its fields (a key stored after them): the two
  // lines a node can straddle.
  static void PrefetchNode(const Node* n) {
    Prefetch(n);
    Prefetch(reinterpret_cast<const char*>(n) + sizeof(Node));
  }

  // A random node (nullptr when empty): a random non-empty bucket, then a
  // random node of its chain. `rng` is a UniformRandomBitGenerator.
  template <typename Rng>
  Node* Random(Rng& rng) const {
    if (size_ == 0) return nullptr;
    const uintptr_t* b = buckets();
    Node* head;
    do {
      head = Head(b[rng() & mask()]);
    } while (!head);
    size_t len = 0;
    for (Node* n = head; n; n = n->dict_next) ++len;
    size_t pick = rng() % len;
    while (pick--) head = head->dict_next;
    return head;
  }

  // Bytes used by the bucket array (MEMORY USAGE estimates); none for the
  // inline bucket.
  size_t BucketBytes() const { return shift_ != 0 ? bucket_count() * sizeof(uintptr_t) : 0; }
  // MEMORY USAGE: the buckets plus the nodes, each node's bytes
  // (node_bytes(const Node&)) averaged over the first `samples` nodes met
  // and scaled to size(). Walks the table.
  template <typename Fn>
  size_t EstimateBytes(size_t samples, Fn&& node_bytes) const {
    size_t seen = 0, bytes = 0;
    ForEach([&](const Node& n) {
      if (seen >= samples) return;
      bytes += node_bytes(n);
      ++seen;
    });
    const size_t nodes = seen == 0 ? 0 : (bytes * size_ + seen / 2) / seen;
    return BucketBytes() + nodes;
  }

 private:
  static constexpr uintptr_t kPointerBits = (uintptr_t{1} << 48) - 1;

  static Node* Head(uintptr_t bucket) { return reinterpret_cast<Node*>(bucket & kPointerBits); }
  // The filter bits of a hash: two of the 16 above the pointer, picked by
  // the hash's top byte (the bucket index uses its low bits).
  static uintptr_t FilterBits(uint64_t hash) {
    return (uintptr_t{1} << (48 + (hash >> 60))) | (uintptr_t{1} << (48 + ((hash >> 56) & 15)));
  }
  // Puts `node` at the head of `bucket`'s chain.
  static void Link(uintptr_t& bucket, Node* node, uint64_t hash) {
    const uintptr_t address = reinterpret_cast<uintptr_t>(node);
    assert((address & ~kPointerBits) == 0);
    node->dict_next = Head(bucket);
    bucket = (bucket & ~kPointerBits) | FilterBits(hash) | address;
  }

  static uint64_t ReverseBits(uint64_t v) {
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    return __builtin_bswap64(v);
  }

  void MaybeShrink() {
    const size_t count = mask() + 1;
    if (size_ == 0) {
      FreeBuckets();
      return;
    }
    if (count > kInitialBuckets && size_ * 10 < count) {
      Rehash(std::max(kInitialBuckets, std::bit_ceil(size_t{size_})));
    }
  }

  // The bucket array: the inline bucket (word_ itself) or the heap array
  // word_ points to.
  uintptr_t* buckets() { return shift_ != 0 ? reinterpret_cast<uintptr_t*>(word_) : &word_; }
  const uintptr_t* buckets() const {
    return shift_ != 0 ? reinterpret_cast<const uintptr_t*>(word_) : &word_;
  }
  void FreeBuckets() {
    if (shift_ != 0) delete[] reinterpret_cast<uintptr_t*>(word_);
    word_ = 0;
    shift_ = 0;
  }
  // Moves `o`'s nodes here. REQUIRES: this table is empty.
  void Take(Dict& o) {
    word_ = o.word_;
    shift_ = o.shift_;
    size_ = o.size_;
    o.word_ = 0;
    o.shift_ = 0;
    o.size_ = 0;
  }

  // REQUIRES: `count` is a power of two, at least kInitialBuckets.
  void Rehash(size_t count) {
    auto* fresh = new uintptr_t[count]();  // zero-initialised
    const size_t new_mask = count - 1;
    if (size_ != 0) {
      const uintptr_t* old = buckets();
      for (size_t b = 0; b <= mask(); ++b) {
        for (Node* n = Head(old[b]); n;) {
          Node* next = n->dict_next;
          const uint64_t hash = HashKey(Traits::Key(*n));
          Link(fresh[hash & new_mask], n, hash);
          n = next;
        }
      }
    }
    if (shift_ != 0) delete[] reinterpret_cast<uintptr_t*>(word_);
    word_ = reinterpret_cast<uintptr_t>(fresh);
    shift_ = static_cast<unsigned>(std::countr_zero(count)) & 63u;
  }

  size_t mask() const { return (size_t{1} << shift_) - 1; }

  // shift_ 0: the only bucket (empty: 0); else the address of the heap
  // array of 1 << shift_ buckets. The count and the log2 of the buckets
  // share a word, so that a Dict is 16 bytes (one per slot).
  uintptr_t word_ = 0;
  uint64_t size_ : 58 = 0;
  uint64_t shift_ : 6 = 0;
};

// A string -> V map built on Dict, for the collection types. Each node is
// one allocation holding the chain link, the value and the key bytes (inline
// after the node), so a lookup touches the bucket and one node.
template <typename V>
class StringMap {
 public:
  class Node {
   public:
    Node* dict_next = nullptr;
    V value;

    std::string_view key() const {
      return {reinterpret_cast<const char*>(this + 1), static_cast<size_t>(key_len_)};
    }

   private:
    friend class StringMap;
    template <typename U>
    Node(U&& v, uint32_t len) : value(std::forward<U>(v)), key_len_(len) {}
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    ~Node() = default;

    uint32_t key_len_;
  };

  StringMap() = default;
  StringMap(StringMap&&) noexcept = default;
  StringMap& operator=(StringMap&&) noexcept = default;

  size_t size() const { return dict_.size(); }
  bool empty() const { return dict_.empty(); }

  V* Find(std::string_view key) const {
    Node* n = dict_.Find(key);
    return n ? &n->value : nullptr;
  }
  // Inserts or overwrites (V assigned or constructed from `value`). Returns
  // true when the key was new.
  template <typename U>
  bool Set(std::string_view key, U&& value) {
    const uint64_t hash = HashKey(key);
    if (Node* n = dict_.Find(key, hash)) {
      n->value = std::forward<U>(value);
      return false;
    }
    void* mem = ::operator new(sizeof(Node) + key.size());
    Node* n = new (mem) Node(std::forward<U>(value), static_cast<uint32_t>(key.size()));
    if (!key.empty()) std::memcpy(static_cast<char*>(mem) + sizeof(Node), key.data(), key.size());
    dict_.Insert(n, hash);
    return true;
  }
  bool Erase(std::string_view key) { return dict_.Erase(key); }
  void Clear() { dict_.Clear(); }

  // fn(std::string_view key, V& value); returns the next cursor.
  template <typename Fn>
  uint64_t Scan(uint64_t cursor, Fn&& fn) const {
    return dict_.Scan(cursor, [&](Node& n) { fn(n.key(), n.value); });
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    dict_.ForEach([&](Node& n) { fn(n.key(), n.value); });
  }
  template <typename Rng>
  const Node* Random(Rng& rng) const {
    return dict_.Random(rng);
  }
  // MEMORY USAGE: buckets and nodes (each node's block, plus what
  // value_bytes(const V&) says its value holds apart), sampled as
  // Dict::EstimateBytes.
  template <typename Fn>
  size_t EstimateBytes(size_t samples, Fn&& value_bytes) const {
    return dict_.EstimateBytes(samples, [&](const Node& n) {
      return malloc_usable_size(const_cast<Node*>(&n)) + value_bytes(n.value);
    });
  }

 private:
  struct Traits {
    static std::string_view Key(const Node& n) { return n.key(); }
    static void Free(Node* n) {
      n->~Node();
      ::operator delete(n);
    }
  };
  Dict<Node, Traits> dict_;
};

}  // namespace shardnode::node
