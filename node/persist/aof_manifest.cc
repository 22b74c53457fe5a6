#include "node/persist/aof_manifest.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/split_args.h"
#include "node/config/config.h"

namespace shardnode::node::persist {
namespace {

// fgets(buf, 1024 + 1, fp): at most this many bytes per read.
constexpr size_t kMaxLine = 1024;

constexpr char kInvalid[] = "Invalid AOF manifest file format";

// sdsneedsrepr: a byte that cannot appear bare in a manifest line; and a
// single quote, which sdsneedsrepr lets through although sdssplitargs opens
// a quoted part at it anywhere in a word, so Redis 7.0.15 writes a manifest
// it then refuses for an appendfilename with a ' (found by aof_fuzz).
// An empty name (which the reader accepts from a quoted "", as Redis does)
// is quoted too, or the line would lose its value.
bool NeedsQuoting(std::string_view s) {
  if (s.empty()) return true;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\' || c == '"' || c == '\'' || u >= 0x80 || !std::isprint(u) || std::isspace(u)) {
      return true;
    }
  }
  return false;
}

// atoll: leading blanks, an optional sign, then digits up to the first
// other byte (0 when there are none).
int64_t AtoLL(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  uint64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) v = v * 10 + (s[i] - '0');
  return neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
}

void AppendLine(std::string& out, const AofFileInfo& info) {
  absl::StrAppend(&out, "file ", NeedsQuoting(info.name) ? QuoteConfigArg(info.name) : info.name,
                  " seq ", info.seq, " type ", std::string(1, static_cast<char>(info.type)), "\n");
}

}  // namespace

std::string AofManifest::Serialize() const {
  std::string out;
  if (base) AppendLine(out, *base);
  for (const AofFileInfo& h : history) AppendLine(out, h);
  for (const AofFileInfo& i : incr) AppendLine(out, i);
  return out;
}

const std::string& AofManifest::NewBase(std::string_view filename, bool rdb) {
  if (base) {
    base->type = AofFileType::kHistory;
    history.insert(history.begin(), std::move(*base));
  }
  ++base_seq;
  base = AofFileInfo{AofBaseFileName(filename, base_seq, rdb), base_seq, AofFileType::kBase};
  return base->name;
}

const std::string& AofManifest::NewIncr(std::string_view filename) {
  ++incr_seq;
  incr.push_back({AofIncrFileName(filename, incr_seq), incr_seq, AofFileType::kIncr});
  return incr.back().name;
}

const std::string& AofManifest::LastOrNewIncr(std::string_view filename) {
  if (incr.empty()) return NewIncr(filename);
  return incr.back().name;
}

void AofManifest::MarkIncrAsHistory(bool keep_last) {
  size_t n = incr.size();
  if (keep_last && n > 0) --n;
  // Redis walks from the newest and puts each at the front of the history
  // list, so the oldest ends up first.
  for (size_t i = n; i-- > 0;) {
    AofFileInfo h = incr[i];
    h.type = AofFileType::kHistory;
    history.insert(history.begin(), std::move(h));
  }
  incr.erase(incr.begin(), incr.begin() + static_cast<std::ptrdiff_t>(n));
}

std::optional<AofManifest> ParseAofManifest(std::string_view content, AofManifestError* error) {
  AofManifest m;
  int64_t max_seq = 0;
  int linenum = 0;
  size_t pos = 0;
  auto fail = [&](std::string_view message, std::string_view text,
                  bool with_line) -> std::optional<AofManifest> {
    error->message = std::string(message);
    error->line = with_line ? linenum : 0;
    error->text = with_line ? std::string(text) : std::string();
    return std::nullopt;
  };
  while (true) {
    if (pos >= content.size()) {
      if (linenum == 0) return fail("Found an empty AOF manifest", "", false);
      break;
    }
    // One fgets: up to and including '\n', at most kMaxLine bytes. A NUL
    // ends the C string Redis then looks at.
    size_t len = std::min(kMaxLine, content.size() - pos);
    const size_t nl = content.substr(pos, len).find('\n');
    if (nl != std::string_view::npos) len = nl + 1;
    std::string_view chunk = content.substr(pos, len);
    pos += len;
    ++linenum;
    if (const size_t nul = chunk.find('\0'); nul != std::string_view::npos) {
      chunk = chunk.substr(0, nul);
    }
    if (!chunk.empty() && chunk[0] == '#') continue;
    if (chunk.find('\n') == std::string_view::npos) {
      return fail("The AOF manifest file contains too long line", "", false);
    }
    std::string_view line = chunk;
    while (!line.empty() && absl::StrContains(" \t\r\n", line.front())) line.remove_prefix(1);
    while (!line.empty() && absl::StrContains(" \t\r\n", line.back())) line.remove_suffix(1);
    if (line.empty()) return fail(kInvalid, line, true);
    std::optional<std::vector<std::string>> argv = base::SplitArgs(line);
    if (!argv || argv->size() < 6 || argv->size() % 2 != 0) return fail(kInvalid, line, true);
    AofFileInfo info;
    char type = 0;
    bool has_name = false;
    for (size_t i = 0; i < argv->size(); i += 2) {
      const std::string& key = (*argv)[i];
      const std::string& value = (*argv)[i + 1];
      if (absl::EqualsIgnoreCase(key, "file")) {
        // Redis copies the value as a C string.
        info.name = value.substr(0, value.find('\0'));
        has_name = true;
        if (info.name.find('/') != std::string::npos || info.name.find('\\') != std::string::npos) {
          return fail("File can't be a path, just a filename", line, true);
        }
      } else if (absl::EqualsIgnoreCase(key, "seq")) {
        info.seq = AtoLL(value);
      } else if (absl::EqualsIgnoreCase(key, "type")) {
        type = value.empty() ? 0 : value[0];
      }
    }
    // Redis checks the pointer, so an empty (quoted "") name passes.
    if (!has_name || info.seq == 0 || type == 0) return fail(kInvalid, line, true);
    if (type == 'b') {
      if (m.base) return fail("Found duplicate base file information", line, true);
      info.type = AofFileType::kBase;
      m.base_seq = info.seq;
      m.base = std::move(info);
    } else if (type == 'h') {
      info.type = AofFileType::kHistory;
      m.history.push_back(std::move(info));
    } else if (type == 'i') {
      if (info.seq <= max_seq) return fail("Found a non-monotonic sequence number", line, true);
      info.type = AofFileType::kIncr;
      max_seq = m.incr_seq = info.seq;
      m.incr.push_back(std::move(info));
    } else {
      return fail("Unknown AOF file type", line, true);
    }
  }
  return m;
}

std::string AofBaseFileName(std::string_view f, int64_t seq, bool rdb) {
  return absl::StrCat(std::string(f), ".", seq, ".base", rdb ? ".rdb" : ".aof");
}
std::string AofIncrFileName(std::string_view f, int64_t seq) {
  return absl::StrCat(std::string(f), ".", seq, ".incr.aof");
}
std::string AofManifestFileName(std::string_view f) { return std::string(f) + ".manifest"; }
std::string AofTempManifestFileName(std::string_view f) {
  return "temp-" + std::string(f) + ".manifest";
}
std::string AofTempIncrFileName(std::string_view f) { return "temp-" + std::string(f) + ".incr"; }

}  // namespace shardnode::node::persist
