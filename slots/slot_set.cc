#include "slots/slot_set.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace shardnode::slots {

SlotSet SlotSet::FromBytes(const uint8_t* data) {
  SlotSet s;
  std::memcpy(s.bits_.data(), data, kBytes);
  return s;
}

void SlotSet::SetRange(int start, int end) {
  for (int s = start; s <= end; ++s) Set(s);
}

// Count and Empty walk every word without branching on the data, so the
// compiler unrolls and vectorizes them (the cluster core asks them of every
// node on every state update). Count adds bit counts the portable way: a
// build for any x86-64 has no popcount instruction, and std::popcount then
// calls a library routine per word.
int SlotSet::Count() const {
  uint64_t total = 0;
  for (size_t i = 0; i < kBytes; i += 8) {
    uint64_t w;
    std::memcpy(&w, bits_.data() + i, 8);
    w = w - ((w >> 1) & 0x5555555555555555ull);
    w = (w & 0x3333333333333333ull) + ((w >> 2) & 0x3333333333333333ull);
    w = (w + (w >> 4)) & 0x0f0f0f0f0f0f0f0full;
    total += (w * 0x0101010101010101ull) >> 56;
  }
  return static_cast<int>(total);
}

bool SlotSet::Empty() const {
  uint64_t any = 0;
  for (size_t i = 0; i < kBytes; i += 8) {
    uint64_t w;
    std::memcpy(&w, bits_.data() + i, 8);
    any |= w;
  }
  return any == 0;
}

std::vector<SlotRange> SlotSet::Ranges() const {
  // A word of 64 slots at a time: runs are found by counting trailing zero
  // (run start) and one (run end) bits, not slot by slot; a word that only
  // continues the state (no run, or a run going on) costs one compare.
  // (nodes.conf is written on every SETSLOT, and lists each node's runs.)
  std::vector<SlotRange> out;
  int start = -1;
  for (size_t i = 0; i < kBytes; i += 8) {
    uint64_t word;
    std::memcpy(&word, bits_.data() + i, 8);  // little-endian: bit k is slot i*8+k
    if (word == (start < 0 ? uint64_t{0} : ~uint64_t{0})) continue;
    const int base = static_cast<int>(i * 8);
    int pos = 0;
    while (pos < 64) {
      if (start < 0) {
        const uint64_t rest = word >> pos;
        if (rest == 0) break;
        pos += std::countr_zero(rest);
        start = base + pos;
      } else {
        const uint64_t rest = ~word >> pos;  // its low bits: the run's set slots
        if (rest == 0) break;                // the run goes on into the next word
        pos += std::countr_zero(rest);
        out.push_back({start, base + pos - 1});
        start = -1;
      }
    }
  }
  if (start >= 0) out.push_back({start, kNumSlots - 1});
  return out;
}

std::string SlotSet::Format() const {
  std::string out;
  for (const SlotRange& r : Ranges()) {
    if (!out.empty()) out.push_back(' ');
    if (r.start == r.end) {
      absl::StrAppend(&out, r.start);
    } else {
      absl::StrAppend(&out, r.start, "-", r.end);
    }
  }
  return out;
}

int ParseSlot(std::string_view text) {
  if (text.empty() || text.size() > 5) return -1;
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v < kNumSlots ? v : -1;
}

std::optional<SlotSet> SlotSet::Parse(std::string_view text, std::string* bad_token) {
  SlotSet set;
  size_t pos = 0;
  while (pos < text.size()) {
    if (text[pos] == ' ') {
      ++pos;
      continue;
    }
    size_t stop = text.find(' ', pos);
    if (stop == std::string_view::npos) stop = text.size();
    std::string_view token = text.substr(pos, stop - pos);
    pos = stop;
    size_t dash = token.find('-');
    int start, end;
    if (dash == std::string_view::npos) {
      start = end = ParseSlot(token);
    } else {
      start = ParseSlot(token.substr(0, dash));
      end = ParseSlot(token.substr(dash + 1));
    }
    if (start < 0 || end < 0 || start > end) {
      if (bad_token) *bad_token = std::string(token);
      return std::nullopt;
    }
    set.SetRange(start, end);
  }
  return set;
}

}  // namespace shardnode::slots
