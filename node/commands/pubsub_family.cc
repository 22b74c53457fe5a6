// Pub/Sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH
// PUBSUB, and the shard forms SSUBSCRIBE SUNSUBSCRIBE SPUBLISH (routed by the
// channel's slot in cluster mode, like keys). Messages published here are
// delivered to local subscribers and, in cluster mode, sent over the bus
// (outside it, PUBLISH goes to the replicas in the replication stream).
#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/resp/reply.h"
#include "node/server/node_services.h"
#include "node/server/pubsub.h"
#include "node/server/session.h"
#include "node/server/shard.h"

namespace shardnode::node {
namespace {

// One confirmation per name: [kind, name, count], a push under RESP3. It
// reaches the client even under CLIENT REPLY OFF / SKIP, as in Redis.
void Confirm(CommandContext& ctx, std::string_view kind, const std::string* name, size_t count) {
  resp::ReplyBuilder& r = ctx.reply;
  resp::ReplyBuilder::PushScope pushing(r);
  r.PushHeader(3);
  r.Bulk(kind);
  if (name != nullptr) {
    r.Bulk(*name);
  } else {
    r.NullBulk();
  }
  r.Integer(static_cast<int64_t>(count));
}

size_t GlobalCount(const Session& s) { return s.channels.size() + s.patterns.size(); }

void SubscribeCommon(CommandContext& ctx, Args args, bool shard) {
  PubSub& ps = ctx.node.pubsub();
  for (size_t i = 1; i < args.size(); ++i) {
    ps.Subscribe(ctx.session, args[i], shard);
    Confirm(ctx, shard ? "ssubscribe" : "subscribe", &args[i],
            shard ? ctx.session.shard_channels.size() : GlobalCount(ctx.session));
  }
}

void UnsubscribeCommon(CommandContext& ctx, Args args, bool shard) {
  PubSub& ps = ctx.node.pubsub();
  Session& s = ctx.session;
  const char* kind = shard ? "sunsubscribe" : "unsubscribe";
  auto count = [&]() { return shard ? s.shard_channels.size() : GlobalCount(s); };
  if (args.size() == 1) {
    auto& mine = shard ? s.shard_channels : s.channels;
    if (mine.empty()) {
      Confirm(ctx, kind, nullptr, count());
      return;
    }
    while (!mine.empty()) {
      const std::string name = *mine.begin();
      ps.Unsubscribe(s, name, shard);
      Confirm(ctx, kind, &name, count());
    }
    return;
  }
  for (size_t i = 1; i < args.size(); ++i) {
    ps.Unsubscribe(s, args[i], shard);
    Confirm(ctx, kind, &args[i], count());
  }
}

void Subscribe(CommandContext& ctx, Args args) { SubscribeCommon(ctx, args, false); }
void SSubscribe(CommandContext& ctx, Args args) { SubscribeCommon(ctx, args, true); }
void Unsubscribe(CommandContext& ctx, Args args) { UnsubscribeCommon(ctx, args, false); }
void SUnsubscribe(CommandContext& ctx, Args args) { UnsubscribeCommon(ctx, args, true); }

void PSubscribe(CommandContext& ctx, Args args) {
  for (size_t i = 1; i < args.size(); ++i) {
    ctx.node.pubsub().PSubscribe(ctx.session, args[i]);
    Confirm(ctx, "psubscribe", &args[i], GlobalCount(ctx.session));
  }
}

void PUnsubscribe(CommandContext& ctx, Args args) {
  PubSub& ps = ctx.node.pubsub();
  Session& s = ctx.session;
  if (args.size() == 1) {
    if (s.patterns.empty()) {
      Confirm(ctx, "punsubscribe", nullptr, GlobalCount(s));
      return;
    }
    while (!s.patterns.empty()) {
      const std::string name = *s.patterns.begin();
      ps.PUnsubscribe(s, name);
      Confirm(ctx, "punsubscribe", &name, GlobalCount(s));
    }
    return;
  }
  for (size_t i = 1; i < args.size(); ++i) {
    ps.PUnsubscribe(s, args[i]);
    Confirm(ctx, "punsubscribe", &args[i], GlobalCount(s));
  }
}

void PublishCommon(CommandContext& ctx, Args args, bool shard) {
  const size_t receivers = ctx.node.pubsub().Publish(args[1], args[2], shard);
  ctx.node.ClusterPublish(args[1], args[2], shard);
  // Outside cluster mode PUBLISH reaches the replicas' subscribers through
  // the replication stream (Redis's forceCommandPropagation with
  // PROPAGATE_REPL; the AOF leaves it out, Aof::OnWrite). The dataset is
  // unchanged: no dirty count.
  if (!shard && !ctx.node.cluster_enabled()) ctx.dirty = std::max<uint64_t>(ctx.dirty, 1);
  ctx.reply.Integer(static_cast<int64_t>(receivers));
}

void Publish(CommandContext& ctx, Args args) { PublishCommon(ctx, args, false); }
void SPublish(CommandContext& ctx, Args args) { PublishCommon(ctx, args, true); }

void ReplyChannels(CommandContext& ctx, Args args, bool shard) {
  const std::string pattern = args.size() == 3 ? args[2] : std::string();
  if (args.size() > 3) {
    ctx.reply.Error(ArityError(ctx.spec));
    return;
  }
  const std::vector<std::string> names = ctx.node.pubsub().Channels(pattern, shard);
  ctx.reply.ArrayHeader(names.size());
  for (const std::string& n : names) ctx.reply.Bulk(n);
}

void ReplyNumSub(CommandContext& ctx, Args args, bool shard) {
  ctx.reply.ArrayHeader((args.size() - 2) * 2);
  for (size_t i = 2; i < args.size(); ++i) {
    ctx.reply.Bulk(args[i]);
    ctx.reply.Integer(static_cast<int64_t>(ctx.node.pubsub().NumSubscribers(args[i], shard)));
  }
}

void PubsubChannels(CommandContext& ctx, Args args) { ReplyChannels(ctx, args, false); }
void PubsubShardChannels(CommandContext& ctx, Args args) { ReplyChannels(ctx, args, true); }
void PubsubNumSub(CommandContext& ctx, Args args) { ReplyNumSub(ctx, args, false); }
void PubsubShardNumSub(CommandContext& ctx, Args args) { ReplyNumSub(ctx, args, true); }
void PubsubNumPat(CommandContext& ctx, Args) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.node.pubsub().NumPatterns()));
}

void PubsubHelp(CommandContext& ctx, Args) {
  static const char* kLines[] = {
      "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "CHANNELS [<pattern>]",
      "    Return the currently active channels matching a <pattern> (default: '*').",
      "NUMPAT",
      "    Return number of subscriptions to patterns.",
      "NUMSUB [<channel> ...]",
      "    Return the number of subscribers for the specified channels, excluding",
      "    pattern subscriptions(default: no channels).",
      "SHARDCHANNELS [<pattern>]",
      "    Return the currently active shard level channels matching a <pattern> (default: '*').",
      "SHARDNUMSUB [<shardchannel> ...]",
      "    Return the number of subscribers for the specified shard level channel(s)",
      "HELP",
      "    Prints this help."};
  ctx.reply.ArrayHeader(std::size(kLines));
  for (const char* line : kLines) ctx.reply.SimpleString(line);
}

void PubsubContainer(CommandContext& ctx, Args args) {
  ctx.reply.Error(errors::UnknownSubcommand("PUBSUB", args.size() > 1 ? args[1] : ""));
}

CommandSpec PubsubSub(std::string sub, int arity, Handler h) {
  return CommandSpec{.name = "pubsub|" + sub,
                     .arity = arity,
                     .flags = kCmdPubSub | kCmdLoading | kCmdStale,
                     .handler = h,
                     .group = "pubsub"};
}

}  // namespace

void RegisterPubSubFamily(CommandTable& t) {
  constexpr uint32_t kSub = kCmdPubSub | kCmdNoScript | kCmdLoading | kCmdStale;
  constexpr uint32_t kPub = kCmdPubSub | kCmdLoading | kCmdStale | kCmdFast | kCmdMayReplicate;
  t.Register({.name = "subscribe",
              .arity = -2,
              .flags = kSub,
              .handler = Subscribe,
              .group = "pubsub",
              .summary = "Listen for messages published to the given channels",
              .since = "2.0.0"});
  t.Register({.name = "unsubscribe",
              .arity = -1,
              .flags = kSub,
              .handler = Unsubscribe,
              .group = "pubsub",
              .summary = "Stop listening for messages posted to the given channels",
              .since = "2.0.0"});
  t.Register({.name = "psubscribe",
              .arity = -2,
              .flags = kSub,
              .handler = PSubscribe,
              .group = "pubsub",
              .summary = "Listen for messages published to channels matching the given patterns",
              .since = "2.0.0"});
  t.Register({.name = "punsubscribe",
              .arity = -1,
              .flags = kSub,
              .handler = PUnsubscribe,
              .group = "pubsub",
              .summary = "Stop listening for messages posted to channels matching the given "
                         "patterns",
              .since = "2.0.0"});
  t.Register({.name = "publish",
              .arity = 3,
              .flags = kPub,
              .handler = Publish,
              .group = "pubsub",
              .summary = "Post a message to a channel",
              .since = "2.0.0"});
  t.Register({.name = "ssubscribe",
              .arity = -2,
              .flags = kSub,
              .first_key = 1,
              .last_key = -1,
              .key_step = 1,
              .handler = SSubscribe,
              .group = "pubsub",
              .summary = "Listen for messages published to the given shard channels",
              .since = "7.0.0"});
  t.Register({.name = "sunsubscribe",
              .arity = -1,
              .flags = kSub,
              .first_key = 1,
              .last_key = -1,
              .key_step = 1,
              .handler = SUnsubscribe,
              .group = "pubsub",
              .summary = "Stop listening for messages posted to the given shard channels",
              .since = "7.0.0"});
  t.Register({.name = "spublish",
              .arity = 3,
              .flags = kPub,
              .first_key = 1,
              .last_key = 1,
              .key_step = 1,
              .handler = SPublish,
              .group = "pubsub",
              .summary = "Post a message to a shard channel",
              .since = "7.0.0"});
  CommandSpec pubsub{.name = "pubsub",
                     .arity = -2,
                     .flags = 0,
                     .handler = PubsubContainer,
                     .group = "pubsub",
                     .summary = "A container for Pub/Sub commands",
                     .since = "2.8.0"};
  pubsub.subcommands = {PubsubSub("channels", -2, PubsubChannels),
                        PubsubSub("numpat", 2, PubsubNumPat),
                        PubsubSub("numsub", -2, PubsubNumSub),
                        PubsubSub("shardchannels", -2, PubsubShardChannels),
                        PubsubSub("shardnumsub", -2, PubsubShardNumSub),
                        PubsubSub("help", 2, PubsubHelp)};
  pubsub.subcommands.back().flags &= ~kCmdPubSub;  // Redis's PUBSUB HELP is not a pubsub command
  t.Register(std::move(pubsub));
}

}  // namespace shardnode::node
