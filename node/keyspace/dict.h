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
// tens of bytes per key. Scan walks buckets in reverse-binary
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
  size_t bucket_count() const { return buckets_ ? mask() + 1 : 0; }

  // The node whose key is `key`, or nullptr.
  Node* Find(std::string_view key) const { return Find(key, HashKey(key)); }
  // The same, given HashKey(key) (a caller about to insert hashes once).
  Node* Find(std::string_view key, uint64_t hash) const {
    if (!buckets_) return nullptr;
    for (Node* n = buckets_[hash & mask()]; n; n = n->dict_next) {
      if (Traits::Key(*n) == key) return n;
    }
    return nullptr;
  }

  // Links `node` in; the table owns it from now on.
  // REQUIRES: no node with the same key is present.
  void Insert(Node* node) { Insert(node, HashKey(Traits::Key(*node))); }
  // The same, given HashKey of the node's key.
  void Insert(Node* node, uint64_t hash) {
    if (!buckets_) {
      Rehash(1);  // the inline bucket
    } else if (size_ >= mask() + 1) {
      Rehash(std::max(kInitialBuckets, (mask() + 1) * 2));
    }
    Node*& head = buckets_[hash & mask()];
    node->dict_next = head;
    head = node;
    ++size_;
  }

  // Unlinks the node of `key` and hands it to the caller (nullptr if absent).
  // May shrink the table.
  Node* Detach(std::string_view key) {
    if (!buckets_) return nullptr;
    Node** link = &buckets_[HashKey(key) & mask()];
    for (Node* n = *link; n; link = &n->dict_next, n = n->dict_next) {
      if (Traits::Key(*n) == key) {
        *link = n->dict_next;
        n->dict_next = nullptr;
        --size_;
        MaybeShrink();
        return n;
      }
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
    if (!buckets_) return;
    for (size_t b = 0; b <= mask(); ++b) {
      for (Node* n = buckets_[b]; n;) {
        Node* next = n->dict_next;
        Traits::Free(n);
        n = next;
      }
    }
    FreeBuckets();
    shift_ = 0;
    size_ = 0;
  }

  // Calls fn(Node&) for every node of the bucket `cursor` designates and
  // returns the next cursor; 0 when the scan is complete. Start with 0.
  // `fn` must not insert or remove nodes.
  template <typename Fn>
  uint64_t Scan(uint64_t cursor, Fn&& fn) const {
    if (!buckets_) return 0;
    for (Node* n = buckets_[cursor & mask()]; n; n = n->dict_next) fn(*n);
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
    if (!buckets_) return;
    for (size_t b = 0; b <= mask(); ++b) {
      for (Node* n = buckets_[b]; n; n = n->dict_next) fn(*n);
    }
  }

  // Starts loading the bucket array into the cache (a hint: the caller
  // reads it soon, after other loads it does not depend on).
  void PrefetchBuckets() const {
    if (buckets_) __builtin_prefetch(buckets_);
  }

  // Starts loading the first node of every bucket (small tables: the
  // caller is about to walk all of them).
  void PrefetchHeads() const {
    if (!buckets_ || mask() >= 16) return;
    for (size_t b = 0; b <= mask(); ++b) {
      if (buckets_[b]) __builtin_prefetch(buckets_[b]);
    }
  }

  // A random node (nullptr when empty): a random non-empty bucket, then a
  // random node of its chain. `rng` is a UniformRandomBitGenerator.
  template <typename Rng>
  Node* Random(Rng& rng) const {
    if (size_ == 0) return nullptr;
    Node* head;
    do {
      head = buckets_[rng() & mask()];
    } while (!head);
    size_t len = 0;
    for (Node* n = head; n; n = n->dict_next) ++len;
    size_t pick = rng() % len;
    while (pick--) head = head->dict_next;
    return head;
  }

  // Bytes used by the bucket array (MEMORY USAGE estimates); none for the
  // inline bucket.
  size_t BucketBytes() const { return heap_buckets() ? bucket_count() * sizeof(Node*) : 0; }
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
  static uint64_t ReverseBits(uint64_t v) {
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    return __builtin_bswap64(v);
  }

  void MaybeShrink() {
    const size_t buckets = mask() + 1;
    if (size_ == 0) {
      FreeBuckets();
      shift_ = 0;
      return;
    }
    if (buckets > kInitialBuckets && size_ * 10 < buckets) {
      Rehash(std::max(kInitialBuckets, std::bit_ceil(size_t{size_})));
    }
  }

  bool heap_buckets() const { return buckets_ != nullptr && buckets_ != &inline_bucket_; }
  void FreeBuckets() {
    if (heap_buckets()) delete[] buckets_;
    buckets_ = nullptr;
    inline_bucket_ = nullptr;
  }
  // Moves `o`'s nodes here. REQUIRES: this table is empty (no buckets).
  void Take(Dict& o) {
    if (o.buckets_ == &o.inline_bucket_) {
      inline_bucket_ = o.inline_bucket_;
      buckets_ = &inline_bucket_;
    } else {
      buckets_ = o.buckets_;
    }
    shift_ = o.shift_;
    size_ = o.size_;
    o.buckets_ = nullptr;
    o.inline_bucket_ = nullptr;
    o.shift_ = 0;
    o.size_ = 0;
  }

  // REQUIRES: `buckets` is a power of two (1: the inline bucket, which is
  // only ever filled from an empty table).
  void Rehash(size_t buckets) {
    Node** fresh = &inline_bucket_;
    if (buckets > 1) fresh = new Node*[buckets]();  // zero-initialised
    const size_t new_mask = buckets - 1;
    if (buckets_) {
      for (size_t b = 0; b <= mask(); ++b) {
        for (Node* n = buckets_[b]; n;) {
          Node* next = n->dict_next;
          Node*& head = fresh[HashKey(Traits::Key(*n)) & new_mask];
          n->dict_next = head;
          head = n;
          n = next;
        }
      }
    }
    if (heap_buckets()) delete[] buckets_;
    if (fresh != &inline_bucket_) inline_bucket_ = nullptr;
    buckets_ = fresh;
    shift_ = static_cast<unsigned>(std::countr_zero(buckets)) & 63u;
  }

  size_t mask() const { return (size_t{1} << shift_) - 1; }

  // The bucket array: &inline_bucket_ (shift_ 0) or a heap array; nullptr
  // when the table is empty. The count and the log2 of the buckets share a
  // word, so that a Dict is 24 bytes (one per slot table).
  Node** buckets_ = nullptr;
  Node* inline_bucket_ = nullptr;
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
