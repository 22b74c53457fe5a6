#include "node/commands/type_family.h"

#include <cmath>
#include <limits>

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

bool AddIncrementOrReply(CommandContext& ctx, int64_t incr, int64_t* value) {
  const int64_t v = *value;
  if ((incr < 0 && v < 0 && incr < std::numeric_limits<int64_t>::min() - v) ||
      (incr > 0 && v > 0 && incr > std::numeric_limits<int64_t>::max() - v)) {
    ctx.reply.Error(errors::kOverflow);
    return false;
  }
  *value = v + incr;
  return true;
}

bool AddFloatIncrementOrReply(CommandContext& ctx, long double incr, long double* value) {
  const long double sum = *value + incr;
  if (std::isnan(sum) || std::isinf(sum)) {
    ctx.reply.Error(errors::kIncrNaN);
    return false;
  }
  *value = sum;
  return true;
}

}  // namespace shardnode::node
