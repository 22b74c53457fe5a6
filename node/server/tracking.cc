#include "node/server/tracking.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

constexpr std::string_view kChannel = "__redis__:invalidate";

// The RESP null that stands for "every key" (a flush), in `protocol`.
std::string_view NullFor(int protocol) { return protocol > 2 ? "_\r\n" : "$-1\r\n"; }

void AppendBulk(std::string& out, std::string_view s) {
  out += '$';
  out += std::to_string(s.size());
  out += "\r\n";
  out += s;
  out += "\r\n";
}

std::string OneKeyArray(std::string_view key) {
  std::string out = "*1\r\n";
  AppendBulk(out, key);
  return out;
}

// Redis compares prefixes over the shorter one's length: two overlap when
// one starts with the other (the empty prefix overlaps every prefix).
bool Overlap(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  return a.substr(0, n) == b.substr(0, n);
}

}  // namespace

Tracking::Tracking(const std::map<uint64_t, Session*>* clients) : clients_(clients) {}

Session* Tracking::Find(uint64_t id) const {
  auto it = clients_->find(id);
  return it == clients_->end() ? nullptr : it->second;
}

std::string Tracking::Enable(Session& s, const Options& o, bool* enabled) {
  *enabled = false;
  Session::TrackingMode& t = s.tracking;
  if (!o.bcast && !o.prefixes.empty()) return "ERR PREFIX option requires BCAST mode to be enabled";
  if (t.on && t.bcast != o.bcast) {
    return "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
           "and then re-enabling it with a different mode.";
  }
  if (o.bcast && (o.optin || o.optout)) return "ERR OPTIN and OPTOUT are not compatible with BCAST";
  if (o.optin && o.optout) return "ERR You can't specify both OPTIN mode and OPTOUT mode";
  if ((o.optin && t.optout) || (o.optout && t.optin)) {
    return "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
           "and then re-enabling it with a different mode.";
  }
  std::string error;
  if (o.bcast) {
    // Redis's checkPrefixCollisionsOrReply, in its order: for each new
    // prefix, the client's registered ones, then the new ones after it.
    // (Its self-overlap check only refuses when the first new prefix
    // overlaps: a later one gets the error and tracking is enabled anyway,
    // so the client receives the error and then +OK. Kept as it is.)
    for (size_t i = 0; i < o.prefixes.size() && error.empty(); ++i) {
      for (const std::string& existing : t.prefixes) {
        if (Overlap(existing, o.prefixes[i])) {
          return absl::StrCat("ERR Prefix '", o.prefixes[i], "' overlaps with an existing prefix '",
                              existing, "'. Prefixes for a single client must not overlap.");
        }
      }
      for (size_t j = i + 1; j < o.prefixes.size(); ++j) {
        if (Overlap(o.prefixes[i], o.prefixes[j])) {
          error = absl::StrCat("ERR Prefix '", o.prefixes[i],
                               "' overlaps with another provided prefix '", o.prefixes[j],
                               "'. Prefixes for a single client must not overlap.");
          if (i == 0) return error;
          break;
        }
      }
    }
  }
  if (!t.on) ++num_clients_;
  t.on = true;
  t.broken_redirect = t.bcast = t.optin = t.optout = t.noloop = false;
  t.redirect = o.redirect;
  if (o.bcast) {
    t.bcast = true;
    auto add = [&](const std::string& prefix) {
      Bcast& b = prefixes_[prefix];
      if (b.clients.insert(s.id).second) t.prefixes.insert(prefix);
    };
    if (o.prefixes.empty()) add(std::string());
    for (const std::string& p : o.prefixes) add(p);
  }
  t.optin = o.optin;
  t.optout = o.optout;
  t.noloop = o.noloop;
  *enabled = true;
  return error;  // a late overlap: the error goes out, then the caller's +OK
}

void Tracking::Disable(Session& s) {
  Session::TrackingMode& t = s.tracking;
  if (t.bcast) {
    for (const std::string& prefix : t.prefixes) {
      auto it = prefixes_.find(prefix);
      if (it == prefixes_.end()) continue;
      it->second.clients.erase(s.id);
      if (it->second.clients.empty()) prefixes_.erase(it);
    }
    t.prefixes.clear();
  }
  if (t.on) {
    --num_clients_;
    t.on = t.broken_redirect = t.bcast = t.optin = t.optout = t.caching = t.noloop = false;
  }
}

void Tracking::RememberKeys(Session& s, std::span<const std::string_view> keys) {
  const Session::TrackingMode& t = s.tracking;
  if ((t.optin && !t.caching) || (t.optout && t.caching)) return;
  for (std::string_view key : keys) {
    auto [it, inserted] = table_.try_emplace(std::string(key));
    if (inserted) {
      it->second.pos = keys_.size();
      keys_.emplace_back(key);
    }
    if (it->second.ids.insert(s.id).second) ++total_items_;
  }
}

void Tracking::SendMessage(Session& s, std::string_view keys_resp) {
  Session* target = &s;
  bool redirected = false;
  if (s.tracking.redirect != 0) {
    target = Find(s.tracking.redirect);
    if (target == nullptr) {
      // The client learns that its invalidations have nowhere to go.
      s.tracking.broken_redirect = true;
      if (s.protocol > 2) {
        PushUnsilenced(
            s,
            absl::StrCat(">2\r\n$21\r\ntracking-redir-broken\r\n:", s.tracking.redirect, "\r\n"));
      }
      return;
    }
    redirected = true;
  }
  std::string msg;
  if (target->protocol > 2) {
    msg = ">2\r\n$10\r\ninvalidate\r\n";
  } else if (redirected && target->in_pubsub()) {
    msg = "*3\r\n$7\r\nmessage\r\n";
    AppendBulk(msg, kChannel);
  } else {
    return;  // RESP2 has no push on the client's own connection
  }
  msg.append(keys_resp);
  PushUnsilenced(*target, msg);
}

void Tracking::KeyModified(std::string_view key) {
  const uint64_t modifier = by_server_ ? 0 : modifier_;
  by_server_ = false;
  if (num_clients_ == 0 && table_.empty()) return;
  Invalidate(key, /*bcast=*/true, modifier);
}

bool Tracking::Concerns(std::string_view key) const {
  for (const auto& entry : prefixes_) {
    if (key.starts_with(entry.first)) return true;
  }
  return !table_.empty() && table_.contains(std::string(key));
}

void Tracking::Invalidate(std::string_view key, bool bcast, uint64_t modifier) {
  if (bcast && !prefixes_.empty()) {
    for (auto& [prefix, state] : prefixes_) {
      if (key.substr(0, prefix.size()) != prefix) continue;
      state.keys[std::string(key)] = modifier;
      if (!broadcast_scheduled_ && schedule_broadcast) {
        broadcast_scheduled_ = true;
        schedule_broadcast();
      }
    }
  }
  auto it = table_.find(std::string(key));
  if (it == table_.end()) return;
  for (uint64_t id : it->second.ids) {
    Session* target = Find(id);
    // Clients that stopped tracking, or switched to BCAST since, are
    // skipped (their ids are removed lazily, here).
    if (target == nullptr || !target->tracking.on || target->tracking.bcast) continue;
    if (target->tracking.noloop && target == current_) continue;
    if (target == current_ && call_depth_ > 0) {
      pending_.push_back({target->id, false, std::string(key)});
    } else {
      SendMessage(*target, OneKeyArray(key));
    }
  }
  Forget(it);
}

void Tracking::Forget(std::unordered_map<std::string, Tracked>::iterator it) {
  total_items_ -= it->second.ids.size();
  const size_t pos = it->second.pos;
  if (pos + 1 != keys_.size()) {
    keys_[pos] = std::move(keys_.back());
    table_.find(keys_[pos])->second.pos = pos;
  }
  keys_.pop_back();
  table_.erase(it);
}

void Tracking::Flushed() {
  if (num_clients_ > 0) {
    for (const auto& [id, s] : *clients_) {
      if (!s->tracking.on) continue;
      if (s == current_) {
        pending_.push_back({s->id, true, std::string()});
      } else {
        SendMessage(*s, NullFor(s->protocol));
      }
    }
  }
  table_.clear();
  keys_.clear();
  total_items_ = 0;
}

void Tracking::FlushPending() {
  if (pending_.empty() || current_ == nullptr) return;
  // Only the current client's: a command run inside another's (a busy
  // script serving the loop) leaves the outer client's for its own end.
  std::vector<PendingItem> mine;
  std::vector<PendingItem> others;
  for (PendingItem& p : pending_) (p.id == current_->id ? mine : others).push_back(std::move(p));
  pending_ = std::move(others);
  for (const PendingItem& p : mine) {
    if (p.flush) {
      SendMessage(*current_, NullFor(current_->protocol));
    } else {
      SendMessage(*current_, OneKeyArray(p.key));
    }
  }
}

void Tracking::LimitTable(size_t max_keys) {
  if (max_keys == 0) return;
  if (table_.size() <= max_keys) {
    limit_rounds_ = 0;
    return;
  }
  // The effort grows with each call that still finds the table too big.
  for (size_t effort = 100 * (limit_rounds_ + 1); effort > 0 && !keys_.empty(); --effort) {
    const std::string key = keys_[rng_() % keys_.size()];
    Invalidate(key, /*bcast=*/false, 0);
    if (table_.size() <= max_keys) {
      limit_rounds_ = 0;
      return;
    }
  }
  ++limit_rounds_;
}

namespace {

// The RESP array of the changed keys, without those `skip` changed last
// (NOLOOP; 0: none skipped). Empty when no key is left.
std::string BroadcastArray(const std::map<std::string, uint64_t>& keys, uint64_t skip) {
  size_t count = 0;
  for (const auto& [key, who] : keys) count += (skip == 0 || who != skip) ? 1 : 0;
  if (count == 0) return std::string();
  std::string out = absl::StrCat("*", count, "\r\n");
  for (const auto& [key, who] : keys) {
    if (skip != 0 && who == skip) continue;
    AppendBulk(out, key);
  }
  return out;
}

}  // namespace

void Tracking::BroadcastPending() {
  broadcast_scheduled_ = false;
  if (num_clients_ == 0) return;
  for (auto& [prefix, state] : prefixes_) {
    if (state.keys.empty()) continue;
    const std::string all = BroadcastArray(state.keys, 0);
    for (uint64_t id : state.clients) {
      Session* c = Find(id);
      if (c == nullptr) continue;
      if (c->tracking.noloop) {
        const std::string own = BroadcastArray(state.keys, c->id);
        if (!own.empty()) SendMessage(*c, own);
      } else {
        SendMessage(*c, all);
      }
    }
    state.keys.clear();
  }
}

}  // namespace shardnode::node
