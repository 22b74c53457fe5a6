// PartialQuickSort: the partial quicksort Redis 7.0.15 uses when only a
// range of the sorted output is wanted (GEOSEARCH ... COUNT, SORT ... BY
// with LIMIT). It is a Bentley-McIlroy three-way quicksort that skips the
// partitions outside the wanted range; it is not stable, so equal elements
// inside the range come out in the order this exact algorithm leaves them.
// Reproducing it keeps ties in the same order as Redis.
//
// Pure; header only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace shardnode::node::types {

// Sorts v so that positions [lo, hi] hold what a full sort would put there.
// `cmp(a, b)` returns <0, 0 or >0. REQUIRES: lo <= hi < v.size().
template <typename T, typename Cmp>
void PartialQuickSort(std::vector<T>& v, Cmp cmp, size_t lo, size_t hi) {
  using std::swap;
  auto vecswap = [&](size_t a, size_t b, size_t n) {
    for (size_t i = 0; i < n; ++i) swap(v[a + i], v[b + i]);
  };
  auto med3 = [&](size_t a, size_t b, size_t c) {
    return cmp(v[a], v[b]) < 0 ? (cmp(v[b], v[c]) < 0 ? b : (cmp(v[a], v[c]) < 0 ? c : a))
                               : (cmp(v[b], v[c]) > 0 ? b : (cmp(v[a], v[c]) < 0 ? a : c));
  };
  // Whether the partition [first, first + n) holds some of [lo, hi].
  auto wanted = [&](size_t first, size_t n) {
    const size_t last = first + n - 1;
    return !((lo < first && hi < first) || (lo > last && hi > last));
  };
  auto sort = [&](auto& self, size_t a, size_t n) -> void {
    for (;;) {
      if (n < 7) {
        for (size_t m = a + 1; m < a + n; ++m) {
          for (size_t l = m; l > a && cmp(v[l - 1], v[l]) > 0; --l) swap(v[l], v[l - 1]);
        }
        return;
      }
      size_t pm = a + n / 2;
      if (n > 7) {
        size_t pl = a;
        size_t pn = a + n - 1;
        if (n > 40) {
          const size_t d = n / 8;
          pl = med3(pl, pl + d, pl + 2 * d);
          pm = med3(pm - d, pm, pm + d);
          pn = med3(pn - 2 * d, pn - d, pn);
        }
        pm = med3(pl, pm, pn);
      }
      swap(v[a], v[pm]);
      // Three-way partition around v[a]: equal keys gathered at both ends.
      size_t pa = a + 1, pb = a + 1;
      // pc and pd may step below a: signed positions.
      long pc = static_cast<long>(a + n - 1), pd = pc;
      for (;;) {
        int c;
        while (static_cast<long>(pb) <= pc && (c = cmp(v[pb], v[a])) <= 0) {
          if (c == 0) swap(v[pa++], v[pb]);
          ++pb;
        }
        while (static_cast<long>(pb) <= pc && (c = cmp(v[pc], v[a])) >= 0) {
          if (c == 0) swap(v[pc], v[pd--]);
          --pc;
        }
        if (static_cast<long>(pb) > pc) break;
        swap(v[pb++], v[pc--]);
      }
      const size_t end = a + n;
      size_t r = std::min(pa - a, pb - pa);
      vecswap(a, pb - r, r);
      r = std::min(static_cast<size_t>(pd - pc), end - static_cast<size_t>(pd) - 1);
      vecswap(pb, end - r, r);
      if ((r = pb - pa) > 1 && wanted(a, r)) self(self, a, r);
      if ((r = static_cast<size_t>(pd - pc)) > 1) {
        a = end - r;
        n = r;
        if (wanted(a, n)) continue;
      }
      return;
    }
  };
  if (!v.empty()) sort(sort, 0, v.size());
}

}  // namespace shardnode::node::types
