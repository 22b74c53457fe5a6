// cmsgpack: MessagePack for scripts, with the API and the bytes of the
// lua-cmsgpack 0.4.0 library Redis 7.0.15 bundles (Debian has no package of
// it): pack(...), unpack(s), unpack_one(s [, offset]), unpack_limit(s, limit
// [, offset]). Numbers that are whole int64 values encode as the smallest
// integer form; others as a float when exact, else a double. A table whose
// keys are exactly 1..n is an array, others are maps; tables nested deeper
// than 16 encode as nil (so a table holding itself ends). Written against
// the Lua C API; errors raise as Lua errors (no C++ object is alive then).
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "node/lua/lua_env.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

namespace shardnode::node::lua {
namespace {

constexpr int kMaxNesting = 16;

// The bytes being encoded. Static, not on the C stack: a Lua error may
// longjmp out of the encoder. Nested packs (from a metamethod) append after
// their caller's bytes and cut back to where they began.
std::string& Scratch() {
  static std::string* scratch = new std::string();
  return *scratch;
}

using Out = std::string;

void Put(Out* b, const unsigned char* p, size_t n) {
  b->append(reinterpret_cast<const char*>(p), n);
}

void PutBE(Out* b, unsigned char head, uint64_t v, int bytes) {
  unsigned char out[9];
  out[0] = head;
  for (int i = 0; i < bytes; ++i)
    out[1 + i] = static_cast<unsigned char>(v >> (8 * (bytes - 1 - i)));
  Put(b, out, 1 + bytes);
}

void EncodeInt(Out* b, int64_t n) {
  if (n >= 0) {
    if (n <= 127) {
      PutBE(b, static_cast<unsigned char>(n), 0, 0);
    } else if (n <= 0xff) {
      PutBE(b, 0xcc, n, 1);
    } else if (n <= 0xffff) {
      PutBE(b, 0xcd, n, 2);
    } else if (n <= 0xffffffffLL) {
      PutBE(b, 0xce, n, 4);
    } else {
      PutBE(b, 0xcf, n, 8);
    }
  } else {
    if (n >= -32) {
      PutBE(b, static_cast<unsigned char>(static_cast<int8_t>(n)), 0, 0);
    } else if (n >= -128) {
      PutBE(b, 0xd0, static_cast<uint8_t>(n), 1);
    } else if (n >= -32768) {
      PutBE(b, 0xd1, static_cast<uint16_t>(n), 2);
    } else if (n >= -2147483648LL) {
      PutBE(b, 0xd2, static_cast<uint32_t>(n), 4);
    } else {
      PutBE(b, 0xd3, static_cast<uint64_t>(n), 8);
    }
  }
}

void EncodeNumber(Out* b, lua_Number n) {
  if (!std::isinf(n) && !std::isnan(n) && n >= -9223372036854775808.0 &&
      n < 9223372036854775808.0 && static_cast<lua_Number>(static_cast<int64_t>(n)) == n) {
    EncodeInt(b, static_cast<int64_t>(n));
    return;
  }
  const float f = static_cast<float>(n);
  if (static_cast<double>(f) == n) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    PutBE(b, 0xca, bits, 4);
  } else {
    uint64_t bits;
    std::memcpy(&bits, &n, 8);
    PutBE(b, 0xcb, bits, 8);
  }
}

void EncodeBytes(Out* b, const char* s, size_t len) {
  if (len < 32) {
    PutBE(b, static_cast<unsigned char>(0xa0 | len), 0, 0);
  } else if (len <= 0xff) {
    PutBE(b, 0xd9, len, 1);
  } else if (len <= 0xffff) {
    PutBE(b, 0xda, len, 2);
  } else {
    PutBE(b, 0xdb, len, 4);
  }
  b->append(s, len);
}

void EncodeHeader(Out* b, uint64_t n, unsigned char fix, unsigned char h16, unsigned char h32) {
  if (n <= 15) {
    PutBE(b, static_cast<unsigned char>(fix | n), 0, 0);
  } else if (n <= 0xffff) {
    PutBE(b, h16, n, 2);
  } else {
    PutBE(b, h32, n, 4);
  }
}

// Whether the table on top has exactly the keys 1..n.
bool IsArray(lua_State* L) {
  const int top = lua_gettop(L);
  int count = 0;
  int max = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TNUMBER) {
      lua_settop(L, top);
      return false;
    }
    const lua_Number n = lua_tonumber(L, -1);
    if (n <= 0 || std::isinf(n) || n > INT_MAX ||
        static_cast<lua_Number>(static_cast<int>(n)) != n) {
      lua_settop(L, top);
      return false;
    }
    max = std::max(max, static_cast<int>(n));
    ++count;
  }
  lua_settop(L, top);
  return max == count;
}

// Encodes the value on top and pops it. The luaL_Buffer keeps its own
// stack slots: everything here is balanced above them.
void Encode(lua_State* L, Out* b, int level);

void EncodeTable(lua_State* L, Out* b, int level) {
  if (IsArray(L)) {
    const size_t len = lua_objlen(L, -1);
    EncodeHeader(b, len, 0x90, 0xdc, 0xdd);
    luaL_checkstack(L, 1, "in function mp_encode_lua_table_as_array");
    for (size_t j = 1; j <= len; ++j) {
      lua_pushnumber(L, static_cast<lua_Number>(j));
      lua_gettable(L, -2);
      Encode(L, b, level + 1);
    }
    return;
  }
  luaL_checkstack(L, 3, "in function mp_encode_lua_table_as_map");
  size_t len = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    ++len;
  }
  EncodeHeader(b, len, 0x80, 0xde, 0xdf);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);
    Encode(L, b, level + 1);  // the key
    Encode(L, b, level + 1);  // the value
  }
}

void Encode(lua_State* L, Out* b, int level) {
  int t = lua_type(L, -1);
  if (t == LUA_TTABLE && level == kMaxNesting) t = LUA_TNIL;
  switch (t) {
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L, -1, &len);
      EncodeBytes(b, s, len);
      break;
    }
    case LUA_TBOOLEAN:
      PutBE(b, lua_toboolean(L, -1) ? 0xc3 : 0xc2, 0, 0);
      break;
    case LUA_TNUMBER:
      EncodeNumber(b, lua_tonumber(L, -1));
      break;
    case LUA_TTABLE:
      EncodeTable(L, b, level);
      break;
    default:
      PutBE(b, 0xc0, 0, 0);
      break;
  }
  lua_pop(L, 1);
}

// The work of pack, run protected so that Pack can cut the scratch bytes
// back whatever happens.
int PackInner(lua_State* L) {
  const int nargs = lua_gettop(L);
  for (int i = 1; i <= nargs; ++i) {
    luaL_checkstack(L, 1, "in function mp_check");
    lua_pushvalue(L, i);
    Encode(L, &Scratch(), 0);
  }
  return 0;
}

// pack(...): every argument encoded, concatenated.
int Pack(lua_State* L) {
  const int nargs = lua_gettop(L);
  if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
  if (!lua_checkstack(L, nargs + 1)) {
    return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
  }
  const size_t start = Scratch().size();
  lua_pushcfunction(L, PackInner);
  lua_insert(L, 1);
  if (lua_pcall(L, nargs, 0, 0) != 0) {
    Scratch().resize(start);
    return lua_error(L);
  }
  lua_pushlstring(L, Scratch().data() + start, Scratch().size() - start);
  Scratch().resize(start);
  return 1;
}

// --- Decoding ---

struct Cursor {
  const unsigned char* p;
  size_t left;
  int err;  // 0, kEof or kBadFormat
};
constexpr int kEof = 1;
constexpr int kBadFormat = 2;

bool Need(Cursor* c, size_t n) {
  if (c->left < n) {
    c->err = kEof;
    return false;
  }
  return true;
}

void Consume(Cursor* c, size_t n) {
  c->p += n;
  c->left -= n;
}

uint64_t BE(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | p[i];
  return v;
}

void Decode(lua_State* L, Cursor* c);

void DecodeArray(lua_State* L, Cursor* c, size_t len) {
  lua_newtable(L);
  luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
  for (size_t index = 1; index <= len; ++index) {
    lua_pushnumber(L, static_cast<lua_Number>(index));
    Decode(L, c);
    if (c->err) return;
    lua_settable(L, -3);
  }
}

void DecodeMap(lua_State* L, Cursor* c, size_t len) {
  lua_newtable(L);
  for (size_t i = 0; i < len; ++i) {
    Decode(L, c);
    if (c->err) return;
    Decode(L, c);
    if (c->err) return;
    lua_settable(L, -3);
  }
}

void DecodeString(lua_State* L, Cursor* c, int len_bytes) {
  if (!Need(c, 1 + len_bytes)) return;
  const size_t len = BE(c->p + 1, len_bytes);
  if (!Need(c, 1 + len_bytes + len)) return;
  lua_pushlstring(L, reinterpret_cast<const char*>(c->p) + 1 + len_bytes, len);
  Consume(c, 1 + len_bytes + len);
}

void Decode(lua_State* L, Cursor* c) {
  if (!Need(c, 1)) return;
  luaL_checkstack(L, 1, "too many return values at once; use unpack_one or unpack_limit instead.");
  const unsigned char type = c->p[0];
  switch (type) {
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
      const int bytes = 1 << (type - 0xcc);
      if (!Need(c, 1 + bytes)) return;
      lua_pushnumber(L, static_cast<lua_Number>(BE(c->p + 1, bytes)));
      Consume(c, 1 + bytes);
      return;
    }
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      const int bytes = 1 << (type - 0xd0);
      if (!Need(c, 1 + bytes)) return;
      const uint64_t raw = BE(c->p + 1, bytes);
      int64_t v;
      if (bytes == 1) {
        v = static_cast<int8_t>(raw);
      } else if (bytes == 2) {
        v = static_cast<int16_t>(raw);
      } else if (bytes == 4) {
        v = static_cast<int32_t>(raw);
      } else {
        v = static_cast<int64_t>(raw);
      }
      lua_pushnumber(L, static_cast<lua_Number>(v));
      Consume(c, 1 + bytes);
      return;
    }
    case 0xc0:
      lua_pushnil(L);
      Consume(c, 1);
      return;
    case 0xc3:
    case 0xc2:
      lua_pushboolean(L, type == 0xc3);
      Consume(c, 1);
      return;
    case 0xca: {
      if (!Need(c, 5)) return;
      const uint32_t bits = static_cast<uint32_t>(BE(c->p + 1, 4));
      float f;
      std::memcpy(&f, &bits, 4);
      lua_pushnumber(L, f);
      Consume(c, 5);
      return;
    }
    case 0xcb: {
      if (!Need(c, 9)) return;
      const uint64_t bits = BE(c->p + 1, 8);
      double d;
      std::memcpy(&d, &bits, 8);
      lua_pushnumber(L, d);
      Consume(c, 9);
      return;
    }
    case 0xd9:
      DecodeString(L, c, 1);
      return;
    case 0xda:
      DecodeString(L, c, 2);
      return;
    case 0xdb:
      DecodeString(L, c, 4);
      return;
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf: {
      const int bytes = (type == 0xdc || type == 0xde) ? 2 : 4;
      if (!Need(c, 1 + bytes)) return;
      const size_t len = BE(c->p + 1, bytes);
      Consume(c, 1 + bytes);
      if (type <= 0xdd) {
        DecodeArray(L, c, len);
      } else {
        DecodeMap(L, c, len);
      }
      return;
    }
    default:
      break;
  }
  if ((type & 0x80) == 0) {
    lua_pushnumber(L, type);
    Consume(c, 1);
  } else if ((type & 0xe0) == 0xe0) {
    lua_pushnumber(L, static_cast<int8_t>(type));
    Consume(c, 1);
  } else if ((type & 0xe0) == 0xa0) {
    const size_t len = type & 0x1f;
    if (!Need(c, 1 + len)) return;
    lua_pushlstring(L, reinterpret_cast<const char*>(c->p) + 1, len);
    Consume(c, 1 + len);
  } else if ((type & 0xf0) == 0x90) {
    Consume(c, 1);
    DecodeArray(L, c, type & 0xf);
  } else if ((type & 0xf0) == 0x80) {
    Consume(c, 1);
    DecodeMap(L, c, type & 0xf);
  } else {
    c->err = kBadFormat;
  }
}

int UnpackFull(lua_State* L, lua_Integer limit, lua_Integer offset) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  const bool decode_all = limit == 0 && offset == 0;
  if (offset < 0 || limit < 0) {
    return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                      static_cast<int>(offset), static_cast<int>(len));
  }
  if (static_cast<size_t>(offset) > len) {
    return luaL_error(L, "Start offset %d greater than input length %d.", static_cast<int>(offset),
                      static_cast<int>(len));
  }
  if (decode_all) limit = INT_MAX;
  Cursor c{reinterpret_cast<const unsigned char*>(s) + offset, len - offset, 0};
  int count = 0;
  for (; c.left > 0 && count < limit; ++count) {
    Decode(L, &c);
    if (c.err == kEof) return luaL_error(L, "Missing bytes in input.");
    if (c.err == kBadFormat) return luaL_error(L, "Bad data format in input.");
  }
  if (!decode_all) {
    luaL_checkstack(L, 1, "in function mp_unpack_full");
    lua_pushinteger(L, c.left == 0 ? -1 : static_cast<lua_Integer>(len - c.left));
    lua_insert(L, 2);
    ++count;
  }
  return count;
}

int Unpack(lua_State* L) { return UnpackFull(L, 0, 0); }

int UnpackOne(lua_State* L) {
  const lua_Integer offset = luaL_optinteger(L, 2, 0);
  lua_pop(L, lua_gettop(L) - 1);
  return UnpackFull(L, 1, offset);
}

int UnpackLimit(lua_State* L) {
  const lua_Integer limit = luaL_checkinteger(L, 2);
  const lua_Integer offset = luaL_optinteger(L, 3, 0);
  lua_pop(L, lua_gettop(L) - 1);
  return UnpackFull(L, limit, offset);
}

}  // namespace

int OpenCmsgpack(lua_State* L) {
  lua_newtable(L);
  lua_pushcfunction(L, Pack);
  lua_setfield(L, -2, "pack");
  lua_pushcfunction(L, Unpack);
  lua_setfield(L, -2, "unpack");
  lua_pushcfunction(L, UnpackOne);
  lua_setfield(L, -2, "unpack_one");
  lua_pushcfunction(L, UnpackLimit);
  lua_setfield(L, -2, "unpack_limit");
  lua_pushliteral(L, "cmsgpack");
  lua_setfield(L, -2, "_NAME");
  lua_pushliteral(L, "lua-cmsgpack 0.4.0");
  lua_setfield(L, -2, "_VERSION");
  lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");
  lua_setfield(L, -2, "_COPYRIGHT");
  lua_pushliteral(L, "MessagePack C implementation for Lua");
  lua_setfield(L, -2, "_DESCRIPTION");
  return 1;
}

}  // namespace shardnode::node::lua
