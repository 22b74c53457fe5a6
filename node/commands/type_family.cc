#include "node/commands/type_family.h"

#include "node/commands/errors.h"
#include "node/keyspace/db.h"
#include "node/keyspace/types/type_util.h"
#include "node/resp/reply.h"

namespace shardnode::node {

void ReplyWrongType(CommandContext& ctx) { ctx.reply.Error(errors::kWrongType); }

void Wrote(CommandContext& ctx, std::string_view key, uint64_t changes) {
  ctx.DbFor(key).NotifyModified(key);
  ctx.AddDirty(changes);
}

bool ParseLong(std::string_view s, int64_t* out, CommandContext& ctx) {
  if (types::ParseInt64(s, out)) return true;
  ctx.reply.Error(errors::kNotInteger);
  return false;
}

}  // namespace shardnode::node
