// SlotSet: a set of hash slots as a 16384-bit bitmap, laid out exactly as the
// cluster bus sends it (slot s is bit (s & 7) of byte s / 8: LSB first).
// Value type, pure, no synchronisation.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "slots/hash_slot.h"

namespace shardnode::slots {

// An inclusive run of slots [start, end].
struct SlotRange {
  int start = 0;
  int end = 0;
  bool operator==(const SlotRange&) const = default;
};

static_assert(std::endian::native == std::endian::little, "SlotSet loads words of slots");

class SlotSet {
 public:
  static constexpr size_t kBytes = kNumSlots / 8;

  SlotSet() { bits_.fill(0); }

  // REQUIRES: `data` points to kBytes bytes in bus layout.
  static SlotSet FromBytes(const uint8_t* data);
  // The bitmap in bus layout (kBytes bytes, valid while *this lives).
  const uint8_t* bytes() const { return bits_.data(); }

  // REQUIRES: 0 <= slot < kNumSlots for Set/Clear/Test.
  void Set(int slot) { bits_[slot >> 3] |= static_cast<uint8_t>(1u << (slot & 7)); }
  void Clear(int slot) { bits_[slot >> 3] &= static_cast<uint8_t>(~(1u << (slot & 7))); }
  bool Test(int slot) const { return (bits_[slot >> 3] >> (slot & 7)) & 1; }
  // Sets/clears every slot of [start, end]. REQUIRES: 0 <= start <= end < kNumSlots.
  void SetRange(int start, int end);
  void ClearAll() { bits_.fill(0); }

  int Count() const;
  bool Empty() const;

  // Word access for walks that skip 64 slots at a time: word i holds slots
  // 64i .. 64i+63, slot 64i+k in bit k. REQUIRES: 0 <= i < kWords.
  static constexpr int kWords = kNumSlots / 64;
  uint64_t Word(int i) const {
    uint64_t w;
    std::memcpy(&w, bits_.data() + static_cast<size_t>(i) * 8, 8);
    return w;
  }
  // Clears the slots of word i whose bits are set in `mask`.
  void ClearInWord(int i, uint64_t mask) {
    const uint64_t w = Word(i) & ~mask;
    std::memcpy(bits_.data() + static_cast<size_t>(i) * 8, &w, 8);
  }

  // Maximal runs of consecutive set slots, ascending.
  std::vector<SlotRange> Ranges() const;

  // "0-5460 5462": runs separated by single spaces, a lone slot as "N".
  std::string Format() const;
  // Parses space-separated "N" / "A-B" tokens (the format above). Returns
  // nullopt when a slot is out of range, a range is reversed or a token is
  // not a number (and then sets *bad_token, if given, to that token).
  static std::optional<SlotSet> Parse(std::string_view text, std::string* bad_token = nullptr);

  bool operator==(const SlotSet& other) const { return bits_ == other.bits_; }

 private:
  std::array<uint8_t, kBytes> bits_;
};

// Parses a decimal slot number in [0, kNumSlots); -1 on any error.
int ParseSlot(std::string_view text);

}  // namespace shardnode::slots
