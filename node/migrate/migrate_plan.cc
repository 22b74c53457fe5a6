#include "node/migrate/migrate_plan.h"

#include "absl/strings/str_cat.h"
#include "base/resp_command.h"
#include "base/strings.h"

namespace shardnode::node::migrate {
namespace {

using base::EqualsIgnoreCase;

using base::AppendRespBulk;

}  // namespace

ArgsError ParseMigrateArgs(std::span<const std::string> args, MigrateArgs* out) {
  MigrateArgs m;
  int first_key = 3;
  int num_keys = 1;
  const int argc = static_cast<int>(args.size());
  for (int j = 6; j < argc; ++j) {
    const int more = argc - 1 - j;
    if (EqualsIgnoreCase(args[j], "copy")) {
      m.copy = true;
    } else if (EqualsIgnoreCase(args[j], "replace")) {
      m.replace = true;
    } else if (EqualsIgnoreCase(args[j], "auth")) {
      if (more < 1) return ArgsError::kSyntax;
      m.password = args[++j];
    } else if (EqualsIgnoreCase(args[j], "auth2")) {
      if (more < 2) return ArgsError::kSyntax;
      m.username = args[++j];
      m.password = args[++j];
    } else if (EqualsIgnoreCase(args[j], "keys")) {
      if (!args[3].empty()) return ArgsError::kKeysWithKeyArg;
      first_key = j + 1;
      num_keys = argc - j - 1;
      break;  // every remaining argument is a key
    } else {
      return ArgsError::kSyntax;
    }
  }
  if (!base::ParseStrictInt64(args[5], &m.timeout_ms) || !base::ParseStrictInt64(args[4], &m.db)) {
    return ArgsError::kNotInteger;
  }
  if (m.timeout_ms <= 0) m.timeout_ms = 1000;
  m.host = args[1];
  m.port = args[2];
  for (int i = 0; i < num_keys; ++i) m.key_indexes.push_back(first_key + i);
  *out = std::move(m);
  return ArgsError::kNone;
}

std::string EncodeBatchPrefix(const MigrateArgs& args, const BatchHeader& header) {
  std::string out;
  if (header.auth && args.password) {
    out.append(args.username ? "*3\r\n" : "*2\r\n");
    AppendRespBulk(&out, "AUTH");
    if (args.username) AppendRespBulk(&out, *args.username);
    AppendRespBulk(&out, *args.password);
  }
  if (header.select) {
    out.append("*2\r\n");
    AppendRespBulk(&out, "SELECT");
    AppendRespBulk(&out, absl::StrCat(args.db));
  }
  return out;
}

std::string EncodeRestoreHead(const MigrateArgs& args, std::string_view key, int64_t ttl_ms,
                              size_t payload_size, bool cluster_mode) {
  std::string out;
  out.reserve(key.size() + 64);
  out.append(args.replace ? "*5\r\n" : "*4\r\n");
  AppendRespBulk(&out, cluster_mode ? "RESTORE-ASKING" : "RESTORE");
  AppendRespBulk(&out, key);
  AppendRespBulk(&out, absl::StrCat(ttl_ms));
  absl::StrAppend(&out, "$", payload_size, "\r\n");
  return out;
}

std::string EncodeRestoreTail(const MigrateArgs& args) {
  return args.replace ? "\r\n$7\r\nREPLACE\r\n" : "\r\n";
}

std::string EncodeRestore(const MigrateArgs& args, const KeyToSend& key, bool cluster_mode) {
  return EncodeRestoreHead(args, key.key, key.ttl_ms, key.payload.size(), cluster_mode) +
         key.payload + EncodeRestoreTail(args);
}

BatchOutcome FoldReplies(const MigrateArgs& args, const BatchHeader& header, size_t num_keys,
                         std::span<const TargetReply> replies, IoFailure io_failure,
                         bool first_attempt) {
  BatchOutcome o;
  const bool auth = header.auth && args.password.has_value();
  const size_t prefix = (auth ? 1 : 0) + (header.select ? 1 : 0);
  // The connection failed while writing, or before the AUTH / SELECT
  // replies were all read: nothing was confirmed.
  if (io_failure.happened && (io_failure.writing || replies.size() < prefix)) {
    o.io_error = true;
    o.io_error_writing = io_failure.writing;
    o.timed_out = io_failure.timeout;
    o.retry = first_attempt && !io_failure.timeout;
    return o;
  }
  const TargetReply* auth_reply = auth ? &replies[0] : nullptr;
  const TargetReply* select_reply = header.select ? &replies[auth ? 1 : 0] : nullptr;
  size_t j = 0;
  for (; j < num_keys; ++j) {
    if (prefix + j >= replies.size()) break;  // the connection failed here
    const TargetReply& r = replies[prefix + j];
    const TargetReply* failed = nullptr;
    if (auth_reply != nullptr && auth_reply->error) {
      failed = auth_reply;
    } else if (select_reply != nullptr && select_reply->error) {
      failed = select_reply;
    } else if (r.error) {
      failed = &r;
    }
    if (failed != nullptr) {
      if (!o.target_error) o.target_error = failed->text;
    } else {
      o.acked.push_back(j);
    }
  }
  const bool socket_error = j < num_keys;
  if (socket_error) {
    o.timed_out = io_failure.timeout;
    if (!o.target_error) {
      o.io_error = true;
      // Nothing confirmed yet: Redis reconnects and sends the batch again.
      o.retry = j == 0 && first_attempt && !io_failure.timeout;
    }
    return o;  // the connection is dropped: cached_db stays unknown
  }
  if (!o.target_error) o.cached_db = args.db;
  return o;
}

MigrateReply ReplyFor(const BatchOutcome& outcome) {
  MigrateReply r;
  if (outcome.target_error) {
    r.kind = MigrateReply::Kind::kTargetError;
    r.target_error = *outcome.target_error;
  } else if (outcome.io_error) {
    r.kind = outcome.io_error_writing ? MigrateReply::Kind::kIoErrorWriting
                                      : MigrateReply::Kind::kIoErrorReading;
  }
  return r;
}

}  // namespace shardnode::node::migrate
