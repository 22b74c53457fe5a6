#include "node/config/glob.h"

#include <cctype>
#include <utility>

namespace shardnode::node {
namespace {

char Fold(char c, bool nocase) {
  return nocase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// Matches one bracket set starting just after '['. On return *p is the index
// of the closing ']' (or of the pattern's last byte when the set is not
// closed), so that the caller's single step moves past it.
bool MatchSet(std::string_view pat, size_t* p, char c, bool nocase) {
  bool negate = *p < pat.size() && pat[*p] == '^';
  if (negate) ++*p;
  bool match = false;
  for (;; ++*p) {
    if (*p >= pat.size()) {
      // Unterminated: the set swallows the rest of the pattern.
      *p = pat.size() - 1;
      break;
    }
    char pc = pat[*p];
    if (pc == '\\' && *p + 1 < pat.size()) {
      ++*p;
      // Redis compares escaped set members exactly, even when nocase.
      if (pat[*p] == c) match = true;
    } else if (pc == ']') {
      break;
    } else if (*p + 2 < pat.size() && pat[*p + 1] == '-') {
      unsigned char lo = static_cast<unsigned char>(Fold(pc, nocase));
      unsigned char hi = static_cast<unsigned char>(Fold(pat[*p + 2], nocase));
      if (lo > hi) std::swap(lo, hi);
      unsigned char uc = static_cast<unsigned char>(Fold(c, nocase));
      if (uc >= lo && uc <= hi) match = true;
      *p += 2;
    } else if (Fold(pc, nocase) == Fold(c, nocase)) {
      match = true;
    }
  }
  return negate ? !match : match;
}

// `give_up` is shared by the whole recursion: once a '*' failed to place the
// rest of the pattern at any position, no earlier '*' can do better by
// swallowing more, so every level stops.
bool Match(std::string_view pat, std::string_view str, bool nocase, bool* give_up) {
  size_t p = 0;
  size_t s = 0;
  while (p < pat.size() && s < str.size()) {
    switch (pat[p]) {
      case '*': {
        while (p + 1 < pat.size() && pat[p + 1] == '*') ++p;
        if (p + 1 == pat.size()) return true;
        std::string_view rest = pat.substr(p + 1);
        for (; s < str.size(); ++s) {
          if (Match(rest, str.substr(s), nocase, give_up)) return true;
          if (*give_up) return false;
        }
        *give_up = true;
        return false;
      }
      case '?':
        ++s;
        break;
      case '[':
        ++p;
        if (!MatchSet(pat, &p, str[s], nocase)) return false;
        ++s;
        break;
      case '\\':
        if (p + 1 < pat.size()) ++p;
        [[fallthrough]];
      default:
        if (Fold(pat[p], nocase) != Fold(str[s], nocase)) return false;
        ++s;
        break;
    }
    ++p;
    if (s == str.size()) {
      while (p < pat.size() && pat[p] == '*') ++p;
      break;
    }
  }
  return p == pat.size() && s == str.size();
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view str, bool nocase) {
  // Redis's matcher never lets '*' match an empty string, but every caller
  // (KEYS, SCAN, CONFIG GET) treats the lone "*" as "everything" first.
  if (pattern == "*") return true;
  bool give_up = false;
  return Match(pattern, str, nocase, &give_up);
}

}  // namespace shardnode::node
