#include "node/acl/acl.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/split_args.h"
#include "base/strings.h"
#include "node/config/glob.h"

namespace shardnode::node::acl {
namespace {

using base::EqualsIgnoreCase;

constexpr std::string_view kCategories[] = {
    "keyspace", "read",   "write",       "set",       "sortedset",  "list",        "hash",
    "string",   "bitmap", "hyperloglog", "geo",       "stream",     "pubsub",      "admin",
    "fast",     "slow",   "blocking",    "dangerous", "connection", "transaction", "scripting"};

// Rule errors, as Redis's errno values in ACLSetUser.
enum RuleErr {
  kOk = 0,
  kInval,    // EINVAL
  kNoEnt,    // ENOENT
  kExist,    // EEXIST
  kIsDir,    // EISDIR
  kNoDev,    // ENODEV
  kBadMsg,   // EBADMSG
  kAlready,  // EALREADY
  kChild,    // ECHILD
};

// ---- SHA-256 (FIPS 180-4) ----
constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void Sha256Block(std::array<uint32_t, 8>& h, const unsigned char* p) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = (uint32_t{p[i * 4]} << 24) | (uint32_t{p[i * 4 + 1]} << 16) |
           (uint32_t{p[i * 4 + 2]} << 8) | uint32_t{p[i * 4 + 3]};
  }
  for (int i = 16; i < 64; ++i) {
    uint32_t s0 = Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; ++i) {
    uint32_t t1 =
        hh + (Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[i] + w[i];
    uint32_t t2 = (Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

bool HasSpaces(std::string_view s) {
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == 0) return true;
  }
  return false;
}

bool ValidHash(std::string_view h) {
  if (h.size() != 64) return false;
  for (char c : h) {
    if ((c < 'a' || c > 'f') && (c < '0' || c > '9')) return false;
  }
  return true;
}

std::string PatternText(const KeyPattern& p) {
  if (p.flags == (kRead | kWrite)) return "~" + p.pattern;
  if (p.flags == kRead) return "%R~" + p.pattern;
  return "%W~" + p.pattern;
}

// Redis's channel specs: which arguments of which commands are channels.
struct ChannelArgs {
  int first = 0;  // 0: none
  bool to_end = false;
  bool pattern = false;
};
ChannelArgs ChannelsOf(std::string_view name) {
  if (name == "subscribe" || name == "ssubscribe") return {1, true, false};
  if (name == "psubscribe") return {1, true, true};
  if (name == "publish" || name == "spublish") return {1, false, false};
  return {};
}

bool ChannelInList(const std::vector<std::string>& list, std::string_view channel,
                   bool is_pattern) {
  for (const std::string& p : list) {
    if ((is_pattern && p == channel) || (!is_pattern && GlobMatch(p, channel))) return true;
  }
  return false;
}

}  // namespace

std::span<const std::string_view> CategoryNames() { return kCategories; }

uint32_t CategoryByName(std::string_view name) {
  for (size_t i = 0; i < std::size(kCategories); ++i) {
    if (EqualsIgnoreCase(name, kCategories[i])) return 1u << i;
  }
  return 0;
}

std::string HashPassword(std::string_view text) {
  std::array<uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) Sha256Block(h, p + i);
  unsigned char tail[128] = {};
  size_t rest = n - i;
  std::memcpy(tail, p + i, rest);
  tail[rest] = 0x80;
  size_t blocks = rest + 9 <= 64 ? 1 : 2;
  uint64_t bits = static_cast<uint64_t>(n) * 8;
  for (int b = 0; b < 8; ++b)
    tail[blocks * 64 - 1 - b] = static_cast<unsigned char>(bits >> (b * 8));
  for (size_t b = 0; b < blocks; ++b) Sha256Block(h, tail + b * 64);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint32_t v : h) {
    for (int s = 28; s >= 0; s -= 4) out += kHex[(v >> s) & 0xf];
  }
  return out;
}

std::string_view ReasonName(Verdict v) {
  switch (v) {
    case Verdict::kDeniedCmd:
      return "command";
    case Verdict::kDeniedKey:
      return "key";
    case Verdict::kDeniedChannel:
      return "channel";
    case Verdict::kDeniedAuth:
      return "auth";
    case Verdict::kOk:
      break;
  }
  return "unknown";
}

std::string_view ContextName(LogContext c) {
  switch (c) {
    case LogContext::kToplevel:
      return "toplevel";
    case LogContext::kMulti:
      return "multi";
    case LogContext::kLua:
      return "lua";
    case LogContext::kModule:
      return "module";
  }
  return "unknown";
}

bool User::Unrestricted() const {
  if (selectors.size() != 1) return false;
  const Selector& s = selectors[0];
  return s.allcommands && s.allkeys && s.allchannels;
}

std::optional<std::vector<std::string>> MergeSelectorArgs(std::span<const std::string> args,
                                                          int* invalid_idx) {
  std::vector<std::string> out;
  int open = -1;
  std::string selector;
  for (size_t j = 0; j < args.size(); ++j) {
    const std::string& op = args[j];
    if (!op.empty() && op[0] == '(' && op.back() != ')') {
      selector = op;
      open = static_cast<int>(j);
      continue;
    }
    if (open != -1) {
      absl::StrAppend(&selector, " ", op);
      if (!op.empty() && op.back() == ')') {
        open = -1;
        out.push_back(std::move(selector));
      }
      continue;
    }
    out.push_back(op);
  }
  if (open != -1) {
    if (invalid_idx != nullptr) *invalid_idx = open;
    return std::nullopt;
  }
  return out;
}

// ---- Acl ----

Acl::Acl() {
  default_ = Create("default");
  for (const char* r : {"+@all", "~*", "&*", "on", "nopass"}) ApplyUserRule(*default_, r);
}

void Acl::SetCommands(std::vector<CommandEntry> commands) {
  commands_ = std::move(commands);
  by_name_.clear();
  for (size_t i = 0; i < commands_.size(); ++i) by_name_.emplace(commands_[i].name, i);
}

int Acl::FindCommand(std::string_view name) const {
  auto it = by_name_.find(base::AsciiLower(name));
  return it == by_name_.end() ? -1 : it->second;
}

User* Acl::Find(std::string_view name) {
  auto it = users_.find(std::string(name));
  return it == users_.end() ? nullptr : it->second.get();
}
const User* Acl::Find(std::string_view name) const {
  auto it = users_.find(std::string(name));
  return it == users_.end() ? nullptr : it->second.get();
}

Selector Acl::NewSelector(bool root) const {
  Selector s;
  s.root = root;
  s.allchannels = pubsub_all_;
  return s;
}

User Acl::NewUser(std::string_view name) const {
  User u;
  u.name = std::string(name);
  u.selectors.push_back(NewSelector(true));
  return u;
}

User* Acl::Create(std::string_view name) {
  auto u = std::make_unique<User>(NewUser(name));
  User* p = u.get();
  users_.emplace(std::string(name), std::move(u));
  return p;
}

void Acl::SetBit(Selector& s, int id, bool allow) const {
  if (id < 0 || id >= kCommandBits) return;
  s.allowed[id] = allow;
  if (!allow) s.allcommands = false;
}

void Acl::ChangePerm(Selector& s, int id, bool allow) const {
  SetBit(s, id, allow);
  s.firstargs.erase(id);
  for (int sub : commands_[id].subs) SetBit(s, sub, allow);
}

void Acl::SetCategory(Selector& s, uint32_t bit, bool allow) const {
  // Redis walks the commands, then each one's subcommands; a container
  // command in the category carries all of its subcommands.
  for (size_t id = 0; id < commands_.size(); ++id) {
    const CommandEntry& c = commands_[id];
    if (c.parent != -1) continue;
    if (c.categories & bit) ChangePerm(s, static_cast<int>(id), allow);
    for (int sub : c.subs) {
      if (commands_[sub].categories & bit) ChangePerm(s, sub, allow);
    }
  }
}

int Acl::ApplySelectorRule(Selector& s, std::string_view op) const {
  if (EqualsIgnoreCase(op, "allkeys") || op == "~*") {
    s.allkeys = true;
    s.keys.clear();
  } else if (EqualsIgnoreCase(op, "resetkeys")) {
    s.allkeys = false;
    s.keys.clear();
  } else if (EqualsIgnoreCase(op, "allchannels") || op == "&*") {
    s.allchannels = true;
    s.channels.clear();
  } else if (EqualsIgnoreCase(op, "resetchannels")) {
    s.allchannels = false;
    s.channels.clear();
  } else if (EqualsIgnoreCase(op, "allcommands") || EqualsIgnoreCase(op, "+@all")) {
    s.allowed.set();
    s.allcommands = true;
    s.firstargs.clear();
  } else if (EqualsIgnoreCase(op, "nocommands") || EqualsIgnoreCase(op, "-@all")) {
    s.allowed.reset();
    s.allcommands = false;
    s.firstargs.clear();
  } else if (op[0] == '~' || op[0] == '%') {
    if (s.allkeys) return kExist;
    int flags = 0;
    size_t offset = 1;
    if (op[0] == '%') {
      for (; offset < op.size(); ++offset) {
        const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(op[offset])));
        if (c == 'R' && !(flags & kRead)) {
          flags |= kRead;
        } else if (c == 'W' && !(flags & kWrite)) {
          flags |= kWrite;
        } else if (op[offset] == '~') {
          ++offset;
          break;
        } else {
          return kInval;
        }
      }
    } else {
      flags = kRead | kWrite;
    }
    std::string_view pattern = op.substr(std::min(offset, op.size()));
    if (HasSpaces(pattern)) return kInval;
    auto it = std::find_if(s.keys.begin(), s.keys.end(),
                           [&](const KeyPattern& k) { return k.pattern == pattern; });
    if (it == s.keys.end()) {
      s.keys.push_back(KeyPattern{flags, std::string(pattern)});
    } else {
      it->flags |= flags;
    }
    s.allkeys = false;
  } else if (op[0] == '&') {
    if (s.allchannels) return kIsDir;
    std::string_view pattern = op.substr(1);
    if (HasSpaces(pattern)) return kInval;
    if (std::find(s.channels.begin(), s.channels.end(), pattern) == s.channels.end()) {
      s.channels.emplace_back(pattern);
    }
    s.allchannels = false;
  } else if (op[0] == '+' && (op.size() < 2 || op[1] != '@')) {
    std::string_view name = op.substr(1);
    const size_t bar = name.rfind('|');
    if (bar == std::string_view::npos) {
      int id = FindCommand(name);
      if (id < 0) return kNoEnt;
      ChangePerm(s, id, true);
    } else {
      int id = FindCommand(name.substr(0, bar));
      if (id < 0) return kNoEnt;
      if (commands_[id].parent != -1) return kChild;
      std::string_view sub = name.substr(bar + 1);
      if (sub.empty()) return kInval;
      if (!commands_[id].subs.empty()) {
        int sid = FindCommand(name);
        if (sid < 0) return kNoEnt;
        ChangePerm(s, sid, true);
      } else {
        std::vector<std::string>& list = s.firstargs[id];
        bool dup = false;
        for (const std::string& a : list) dup = dup || EqualsIgnoreCase(a, sub);
        if (!dup) list.emplace_back(sub);
      }
    }
  } else if (op[0] == '-' && (op.size() < 2 || op[1] != '@')) {
    int id = FindCommand(op.substr(1));
    if (id < 0) return kNoEnt;
    ChangePerm(s, id, false);
  } else if ((op[0] == '+' || op[0] == '-') && op.size() >= 2 && op[1] == '@') {
    uint32_t bit = CategoryByName(op.substr(2));
    if (bit == 0) return kNoEnt;
    SetCategory(s, bit, op[0] == '+');
  } else {
    return kInval;
  }
  return kOk;
}

int Acl::ApplyUserRule(User& u, std::string_view op) const {
  if (op.empty()) return kOk;
  if (EqualsIgnoreCase(op, "on")) {
    u.enabled = true;
  } else if (EqualsIgnoreCase(op, "off")) {
    u.enabled = false;
  } else if (EqualsIgnoreCase(op, "skip-sanitize-payload")) {
    u.sanitize_skip = true;
    u.sanitize = false;
  } else if (EqualsIgnoreCase(op, "sanitize-payload")) {
    u.sanitize_skip = false;
    u.sanitize = true;
  } else if (EqualsIgnoreCase(op, "nopass")) {
    u.nopass = true;
    u.passwords.clear();
  } else if (EqualsIgnoreCase(op, "resetpass")) {
    u.nopass = false;
    u.passwords.clear();
  } else if (op[0] == '>' || op[0] == '#') {
    std::string hash;
    if (op[0] == '>') {
      hash = HashPassword(op.substr(1));
    } else {
      if (!ValidHash(op.substr(1))) return kBadMsg;
      hash = std::string(op.substr(1));
    }
    if (std::find(u.passwords.begin(), u.passwords.end(), hash) == u.passwords.end()) {
      u.passwords.push_back(std::move(hash));
    }
    u.nopass = false;
  } else if (op[0] == '<' || op[0] == '!') {
    std::string hash;
    if (op[0] == '<') {
      hash = HashPassword(op.substr(1));
    } else {
      if (!ValidHash(op.substr(1))) return kBadMsg;
      hash = std::string(op.substr(1));
    }
    auto it = std::find(u.passwords.begin(), u.passwords.end(), hash);
    if (it == u.passwords.end()) return kNoDev;
    u.passwords.erase(it);
  } else if (op[0] == '(' && op.back() == ')') {
    Selector s = NewSelector(false);
    auto args = base::SplitArgs(op.substr(1, op.size() - 2));
    if (args) {
      for (const std::string& a : *args) {
        if (a.empty()) continue;
        int err = ApplySelectorRule(s, a);
        if (err != kOk) return err;
      }
    }
    u.selectors.push_back(std::move(s));
  } else if (EqualsIgnoreCase(op, "clearselectors")) {
    u.selectors.resize(1);
  } else if (EqualsIgnoreCase(op, "reset")) {
    for (const char* r : {"resetpass", "resetkeys", "resetchannels"}) ApplyUserRule(u, r);
    if (pubsub_all_) ApplyUserRule(u, "allchannels");
    for (const char* r : {"off", "sanitize-payload", "clearselectors", "-@all"}) {
      ApplyUserRule(u, r);
    }
  } else {
    return ApplySelectorRule(u.selectors[0], op);
  }
  return kOk;
}

const char* Acl::RuleError(int code) {
  switch (code) {
    case kNoEnt:
      return "Unknown command or category name in ACL";
    case kInval:
      return "Syntax error";
    case kExist:
      return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and "
             "does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
    case kIsDir:
      return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and "
             "does not have any effect. Try 'resetchannels' to start with an empty list of "
             "channels";
    case kNoDev:
      return "The password you are trying to remove from the user does not exist";
    case kBadMsg:
      return "The password hash must be exactly 64 characters and contain only lowercase "
             "hexadecimal characters";
    case kAlready:
      return "Duplicate user found. A user can only be defined once in config files";
    case kChild:
      return "Allowing first-arg of a subcommand is not supported";
    default:
      return "Wrong format";
  }
}

std::optional<std::string> Acl::SetUser(std::string_view name, std::span<const std::string> rules,
                                        std::optional<User>* old) {
  int invalid = 0;
  auto merged = MergeSelectorArgs(rules, &invalid);
  if (!merged) {
    return absl::StrCat("Unmatched parenthesis in acl selector starting at '", rules[invalid],
                        "'.");
  }
  User* existing = Find(name);
  User temp = existing != nullptr ? *existing : NewUser(name);
  for (const std::string& r : *merged) {
    int err = ApplyUserRule(temp, r);
    if (err != kOk) {
      return absl::StrCat("Error in ACL SETUSER modifier '", r, "': ", RuleError(err));
    }
  }
  if (existing != nullptr) {
    if (old != nullptr) *old = *existing;
    *existing = std::move(temp);
  } else {
    *Create(name) = std::move(temp);
  }
  return std::nullopt;
}

std::unique_ptr<User> Acl::DelUser(std::string_view name) {
  auto it = users_.find(std::string(name));
  if (it == users_.end()) return nullptr;
  std::unique_ptr<User> u = std::move(it->second);
  users_.erase(it);
  return u;
}

void Acl::SetDefaultPassword(std::string_view password) {
  ApplyUserRule(*default_, "resetpass");
  if (password.empty()) {
    ApplyUserRule(*default_, "nopass");
  } else {
    ApplyUserRule(*default_, std::string(">").append(password));
  }
}

bool Acl::CheckCredentials(std::string_view name, std::string_view password) const {
  const User* u = Find(name);
  if (u == nullptr || !u->enabled) return false;
  if (u->nopass) return true;
  const std::string hash = HashPassword(password);
  bool match = false;
  for (const std::string& p : u->passwords) {
    // Constant time over the stored hashes, as Redis's comparison.
    int diff = 0;
    for (size_t i = 0; i < 64 && i < p.size(); ++i) diff |= hash[i] ^ p[i];
    match = match || diff == 0;
  }
  return match;
}

CheckResult Acl::CheckSelector(const Selector& s, int cmd_id, std::span<const std::string> args,
                               const std::function<std::vector<KeyRef>()>& keys,
                               std::optional<std::vector<KeyRef>>* cache) const {
  const CommandEntry& cmd = commands_[cmd_id];
  if (!s.allcommands && !cmd.no_auth && !s.allowed[cmd_id]) {
    auto it = s.firstargs.find(cmd_id);
    if (args.size() < 2 || it == s.firstargs.end()) return {Verdict::kDeniedCmd, 0};
    const size_t idx = cmd.parent != -1 ? 2 : 1;
    bool found = false;
    for (const std::string& a : it->second) {
      found = found || (idx < args.size() && EqualsIgnoreCase(args[idx], a));
    }
    if (!found) return {Verdict::kDeniedCmd, 0};
  }
  if (!s.allkeys) {
    if (!cache->has_value()) *cache = keys();
    for (const KeyRef& k : **cache) {
      bool ok = false;
      for (const KeyPattern& p : s.keys) {
        if ((p.flags & k.perms) != k.perms) continue;
        if (GlobMatch(p.pattern, args[k.pos])) {
          ok = true;
          break;
        }
      }
      if (!ok) return {Verdict::kDeniedKey, k.pos};
    }
  }
  if (!s.allchannels) {
    std::string_view base_name = cmd.name;
    ChannelArgs ch = ChannelsOf(base_name);
    if (ch.first != 0) {
      const int last = ch.to_end ? static_cast<int>(args.size()) - 1 : ch.first;
      for (int i = ch.first; i <= last && i < static_cast<int>(args.size()); ++i) {
        if (!ChannelInList(s.channels, args[i], ch.pattern)) return {Verdict::kDeniedChannel, i};
      }
    }
  }
  return {};
}

CheckResult Acl::Check(const User& u, int cmd_id, std::span<const std::string> args,
                       const std::function<std::vector<KeyRef>()>& keys) const {
  if (cmd_id < 0 || cmd_id >= static_cast<int>(commands_.size())) {
    return u.Unrestricted() ? CheckResult{} : CheckResult{Verdict::kDeniedCmd, 0};
  }
  std::optional<std::vector<KeyRef>> cache;
  CheckResult worst{Verdict::kDeniedCmd, 0};
  for (const Selector& s : u.selectors) {
    CheckResult r = CheckSelector(s, cmd_id, args, keys, &cache);
    if (r.verdict == Verdict::kOk) return r;
    if (r.verdict > worst.verdict || (r.verdict == worst.verdict && r.pos > worst.pos)) worst = r;
  }
  return worst;
}

bool Acl::CheckWithAllKeys(const User& u, int cmd_id, std::span<const std::string> args, int perms,
                           const std::function<std::vector<KeyRef>()>& keys) const {
  if (cmd_id < 0 || cmd_id >= static_cast<int>(commands_.size())) return u.Unrestricted();
  std::optional<std::vector<KeyRef>> cache;
  for (const Selector& s : u.selectors) {
    if (CheckSelector(s, cmd_id, args, keys, &cache).verdict != Verdict::kOk) continue;
    if (s.allkeys) return true;
    for (const KeyPattern& p : s.keys) {
      if ((p.flags & perms) == perms && p.pattern == "*") return true;
    }
  }
  return false;
}

bool Acl::CheckChannel(const User& u, std::string_view channel, bool is_pattern) const {
  for (const Selector& s : u.selectors) {
    if (s.allchannels) return true;
    if (ChannelInList(s.channels, channel, is_pattern)) return true;
  }
  return false;
}

bool Acl::ChannelsRevoked(const User& old, const User& now) {
  std::vector<std::string> upcoming;
  for (const Selector& s : now.selectors) {
    if (s.allchannels) return false;
    upcoming.insert(upcoming.end(), s.channels.begin(), s.channels.end());
  }
  for (const Selector& s : old.selectors) {
    if (s.allchannels) return true;
    for (const std::string& c : s.channels) {
      if (std::find(upcoming.begin(), upcoming.end(), c) == upcoming.end()) return true;
    }
  }
  return false;
}

bool Acl::SubscriptionsAllowed(const User& u, std::span<const std::string> channels,
                               std::span<const std::string> patterns) {
  std::vector<std::string> upcoming;
  for (const Selector& s : u.selectors) {
    if (s.allchannels) return true;
    upcoming.insert(upcoming.end(), s.channels.begin(), s.channels.end());
  }
  for (const std::string& p : patterns) {
    if (!ChannelInList(upcoming, p, true)) return false;
  }
  for (const std::string& c : channels) {
    if (!ChannelInList(upcoming, c, false)) return false;
  }
  return true;
}

// ---- Describing ----

std::string Acl::DescribeCommands(const Selector& s) const {
  // As Redis: start from +@all or -@all, apply the categories that fit best
  // one by one (on a copy), then fix single commands; rules are replayed on
  // `fake` to know what is left to say.
  const bool additive = !s.allowed[kCommandBits - 1];
  std::string rules = additive ? "-@all " : "+@all ";
  Selector fake;
  ApplySelectorRule(fake, additive ? "-@all" : "+@all");
  Selector temp;
  temp.allowed = s.allowed;
  bool applied[std::size(kCategories)] = {};
  while (true) {
    int best = -1;
    unsigned long mindiff = INT_MAX, maxsame = 0;
    for (size_t j = 0; j < std::size(kCategories); ++j) {
      if (applied[j]) continue;
      unsigned long on = 0, off = 0;
      for (size_t id = 0; id < commands_.size(); ++id) {
        if (commands_[id].categories & (1u << j)) {
          if (temp.allowed[id]) {
            ++on;
          } else {
            ++off;
          }
        }
      }
      unsigned long diff = additive ? off : on;
      unsigned long same = additive ? on : off;
      if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
        best = static_cast<int>(j);
        mindiff = diff;
        maxsame = same;
      }
    }
    if (best == -1) break;
    const std::string cat(kCategories[best]);
    SetCategory(fake, 1u << best, additive);
    SetCategory(temp, 1u << best, !additive);
    absl::StrAppend(&rules, additive ? "+@" : "-@", cat, " ");
    applied[best] = true;
  }
  // Single commands, in catalog order: each command, then its subcommands.
  auto one = [&](int id) {
    const bool userbit = s.allowed[id];
    if (userbit != fake.allowed[id]) {
      absl::StrAppend(&rules, userbit ? "+" : "-", commands_[id].name, " ");
      ChangePerm(fake, id, userbit);
    }
  };
  for (size_t id = 0; id < commands_.size(); ++id) {
    const CommandEntry& c = commands_[id];
    if (c.parent != -1) continue;
    one(static_cast<int>(id));
    for (int sub : c.subs) one(sub);
    auto it = s.firstargs.find(static_cast<int>(id));
    if (!s.allowed[id] && it != s.firstargs.end()) {
      for (const std::string& a : it->second) absl::StrAppend(&rules, "+", c.name, "|", a, " ");
    }
  }
  rules.pop_back();
  return rules;
}

std::string Acl::DescribeSelector(const Selector& s) const {
  std::string res;
  if (s.allkeys) {
    res += "~* ";
  } else {
    for (const KeyPattern& p : s.keys) absl::StrAppend(&res, PatternText(p), " ");
  }
  if (s.allchannels) {
    res += "&* ";
  } else {
    res += "resetchannels ";
    for (const std::string& c : s.channels) absl::StrAppend(&res, "&", c, " ");
  }
  res += DescribeCommands(s);
  return res;
}

std::vector<std::string_view> Acl::Flags(const User& u) {
  std::vector<std::string_view> out;
  out.push_back(u.enabled ? "on" : "off");
  if (u.nopass) out.push_back("nopass");
  if (u.sanitize_skip) out.push_back("skip-sanitize-payload");
  if (u.sanitize) out.push_back("sanitize-payload");
  return out;
}

std::string Acl::Describe(const User& u) const {
  std::string res;
  for (std::string_view f : Flags(u)) res.append(f).append(" ");
  for (const std::string& p : u.passwords) absl::StrAppend(&res, "#", p, " ");
  for (const Selector& s : u.selectors) {
    if (s.root) {
      res += DescribeSelector(s);
    } else {
      absl::StrAppend(&res, " (", DescribeSelector(s), ")");
    }
  }
  return res;
}

std::string Acl::DescribeKeys(const Selector& s) {
  if (s.allkeys) return "~*";
  std::string out;
  for (const KeyPattern& p : s.keys) {
    if (!out.empty()) out += " ";
    out += PatternText(p);
  }
  return out;
}

std::string Acl::DescribeChannels(const Selector& s) {
  if (s.allchannels) return "&*";
  std::string out;
  for (const std::string& c : s.channels) {
    if (!out.empty()) out += " ";
    absl::StrAppend(&out, "&", c);
  }
  return out;
}

std::vector<std::string> Acl::CommandsInCategory(uint32_t bit) const {
  std::vector<std::string> out;
  for (const CommandEntry& c : commands_) {
    if (c.parent != -1) continue;
    if (c.categories & bit) out.push_back(c.name);
    for (int sub : c.subs) {
      if (commands_[sub].categories & bit) out.push_back(commands_[sub].name);
    }
  }
  return out;
}

// ---- Log ----

void Acl::AddLog(LogEntry e, size_t max_len) {
  // Within 60 s the same reason, context, object and user bump one entry
  // (among the 10 newest), which moves to the head.
  size_t scan = 0;
  for (auto it = log_.begin(); it != log_.end() && scan < 10; ++it, ++scan) {
    const int64_t delta =
        it->ctime_ms > e.ctime_ms ? it->ctime_ms - e.ctime_ms : e.ctime_ms - it->ctime_ms;
    if (it->reason == e.reason && it->context == e.context && delta <= 60000 &&
        it->object == e.object && it->username == e.username) {
      LogEntry m = std::move(*it);
      log_.erase(it);
      m.client_info = std::move(e.client_info);
      m.ctime_ms = e.ctime_ms;
      ++m.count;
      log_.push_front(std::move(m));
      return;
    }
  }
  log_.push_front(std::move(e));
  while (log_.size() > max_len) log_.pop_back();
}

// ---- Files ----

std::optional<std::string> Acl::AppendConfigUser(std::span<const std::string> args) {
  // The error names args[j] of the whole line, as Redis's loader does.
  if (args.size() < 2 || !EqualsIgnoreCase(args[0], "user")) {
    return absl::StrCat("Error in user declaration '", args[0], "': ", RuleError(kInval));
  }
  for (const auto& u : config_users_) {
    if (u[0] == args[1]) {
      return absl::StrCat("Error in user declaration '", args[1], "': ", RuleError(kAlready));
    }
  }
  int invalid = 0;
  auto merged = MergeSelectorArgs(args.subspan(2), &invalid);
  if (!merged) {
    return absl::StrCat("Error in user declaration '", args[invalid], "': ", RuleError(kOk + 99));
  }
  User fake = NewUser("__fakeuser__");
  for (size_t j = 0; j < merged->size(); ++j) {
    int err = ApplyUserRule(fake, (*merged)[j]);
    if (err != kOk && err != kNoEnt) {
      return absl::StrCat("Error in user declaration '", args[j], "': ", RuleError(err));
    }
  }
  std::vector<std::string> entry = {args[1]};
  entry.insert(entry.end(), merged->begin(), merged->end());
  config_users_.push_back(std::move(entry));
  return std::nullopt;
}

std::optional<std::string> Acl::LoadConfigUsers() {
  for (const auto& rules : config_users_) {
    const std::string& name = rules[0];
    if (HasSpaces(name)) return "Spaces not allowed in ACL usernames";
    User* u = Find(name);
    if (u == nullptr) {
      u = Create(name);
    } else {
      ApplyUserRule(*u, "reset");
    }
    for (size_t j = 1; j < rules.size(); ++j) {
      int err = ApplyUserRule(*u, rules[j]);
      if (err != kOk) {
        return absl::StrCat("Error loading ACL rule '", rules[j], "' for the user named '", name,
                            "': ", RuleError(err));
      }
    }
  }
  config_users_.clear();
  return std::nullopt;
}

namespace {
std::string_view Trim(std::string_view s, std::string_view chars) {
  while (!s.empty() && chars.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
  while (!s.empty() && chars.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
  return s;
}
std::vector<std::string> SplitOn(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      break;
    }
    out.emplace_back(s.substr(start, p - start));
    start = p + 1;
  }
  return out;
}
}  // namespace

std::optional<std::string> Acl::LoadFile(std::string_view text, std::string_view filename_view,
                                         std::vector<std::unique_ptr<User>>* replaced) {
  const std::string filename(filename_view);
  std::map<std::string, std::unique_ptr<User>> fresh;
  std::string errors;
  std::vector<std::string> lines = SplitOn(text, '\n');
  // sdssplitlen on "" gives no line.
  if (text.empty()) lines.clear();
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t linenum = i + 1;
    std::string_view line = Trim(lines[i], " \t\r\n");
    if (line.empty()) continue;
    std::vector<std::string> argv = SplitOn(line, ' ');
    if (argv[0] != "user" || argv.size() < 2) {
      absl::StrAppend(&errors, filename, ":", linenum,
                      " should start with user keyword followed by the username. ");
      continue;
    }
    if (HasSpaces(argv[1])) {
      absl::StrAppend(&errors, "'", filename, ":", linenum, ": username '", argv[1],
                      "' contains invalid characters. ");
      continue;
    }
    if (fresh.contains(argv[1])) {
      absl::StrAppend(&errors, "WARNING: Duplicate user '", argv[1], "' found on line ", linenum,
                      ". ");
      continue;
    }
    auto u = std::make_unique<User>(NewUser(argv[1]));
    User* up = u.get();
    fresh.emplace(argv[1], std::move(u));
    auto merged = MergeSelectorArgs(std::span<const std::string>(argv).subspan(2), nullptr);
    if (!merged) {
      absl::StrAppend(&errors, filename, ":", linenum,
                      ": Unmatched parenthesis in selector definition.");
      continue;
    }
    bool syntax_error = false;
    for (std::string& r : *merged) {
      std::string op(Trim(r, "\t\r\n"));
      int err = ApplyUserRule(*up, op);
      if (err == kOk) continue;
      if (err == kNoEnt) {
        absl::StrAppend(&errors, filename, ":", linenum, ": Error in applying operation '", op,
                        "': ", RuleError(err), ". ");
      } else if (!syntax_error) {
        absl::StrAppend(&errors, filename, ":", linenum, ": ", RuleError(err), ". ");
        syntax_error = true;
      }
    }
  }
  if (!errors.empty()) {
    return errors +
           "WARNING: ACL errors detected, no change to the previously active ACL rules was "
           "performed";
  }
  // The default user keeps its address; everything else is replaced.
  auto d = fresh.find("default");
  User new_default = d != fresh.end() ? std::move(*d->second) : [this] {
    User u = NewUser("default");
    for (const char* r : {"+@all", "~*", "&*", "on", "nopass"}) ApplyUserRule(u, r);
    return u;
  }();
  auto old_default = users_.find("default");
  std::unique_ptr<User> keep = std::move(old_default->second);
  users_.erase(old_default);
  for (auto& [name, u] : users_) replaced->push_back(std::move(u));
  users_ = std::move(fresh);
  *keep = std::move(new_default);
  users_["default"] = std::move(keep);
  return std::nullopt;
}

std::string Acl::SaveText() const {
  std::string out;
  for (const auto& [name, u] : users_)
    absl::StrAppend(&out, "user ", name, " ", Describe(*u), "\n");
  return out;
}

}  // namespace shardnode::node::acl
