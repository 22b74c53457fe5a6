// struct: binary packing for scripts, with the API and behaviour of Roberto
// Ierusalimschy's struct library as Redis 7.0.15 bundles it (Debian has no
// package of it): struct.pack(fmt, ...), struct.unpack(fmt, s [, pos]),
// struct.size(fmt). Format: '>' big endian, '<' little endian, '![n]'
// alignment, 'x' padding, b/B h/H l/L T i/In integers (signed/unsigned,
// In of n bytes up to 32), 'cn' n chars (c0: the whole string when
// packing, the previous number as length when unpacking), 's' a
// zero-terminated string, f/d float/double, ' ' ignored. Integers are
// carried in a 64-bit long, as on Redis's Linux builds.
//
// Only the Lua C API is used and no C++ object lives while Lua may raise.
#include <cctype>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "node/lua/lua_env.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

namespace shardnode::node::lua {
namespace {

constexpr int kMaxIntSize = 32;
constexpr int kBig = 0;
constexpr int kLittle = 1;
// The alignment of a double after a char, the default for '!'.
constexpr int kMaxAlign = alignof(double) > sizeof(int) ? alignof(double) : sizeof(int);

struct Header {
  int endian = kLittle;  // x86-64 is little-endian
  int align = 1;
};

bool IsPowerOf2(int x) { return x > 0 && (x & (x - 1)) == 0; }

int ReadNumber(lua_State* L, const char** fmt, int def) {
  if (!std::isdigit(static_cast<unsigned char>(**fmt))) return def;
  int a = 0;
  do {
    const int digit = **fmt - '0';
    if (a > INT_MAX / 10 || a * 10 > INT_MAX - digit) luaL_error(L, "integral size overflow");
    a = a * 10 + digit;
    ++*fmt;
  } while (std::isdigit(static_cast<unsigned char>(**fmt)));
  return a;
}

size_t OptionSize(lua_State* L, char opt, const char** fmt) {
  switch (opt) {
    case 'B':
    case 'b':
      return sizeof(char);
    case 'H':
    case 'h':
      return sizeof(short);
    case 'L':
    case 'l':
      return sizeof(long);
    case 'T':
      return sizeof(size_t);
    case 'f':
      return sizeof(float);
    case 'd':
      return sizeof(double);
    case 'x':
      return 1;
    case 'c':
      return static_cast<size_t>(ReadNumber(L, fmt, 1));
    case 'i':
    case 'I': {
      const int size = ReadNumber(L, fmt, sizeof(int));
      if (size > kMaxIntSize) {
        luaL_error(L, "integral size %d is larger than limit of %d", size, kMaxIntSize);
      }
      return static_cast<size_t>(size);
    }
    default:
      return 0;
  }
}

// Padding bytes to align an item of `size` at `len`.
size_t Padding(size_t len, const Header& h, int opt, size_t size) {
  if (size == 0 || opt == 'c') return 0;
  if (size > static_cast<size_t>(h.align)) size = static_cast<size_t>(h.align);
  return (size - (len & (size - 1))) & (size - 1);
}

void ControlOption(lua_State* L, int opt, const char** fmt, Header* h) {
  switch (opt) {
    case ' ':
      return;
    case '>':
      h->endian = kBig;
      return;
    case '<':
      h->endian = kLittle;
      return;
    case '!': {
      const int a = ReadNumber(L, fmt, kMaxAlign);
      if (!IsPowerOf2(a)) luaL_error(L, "alignment %d is not a power of 2", a);
      h->align = a;
      return;
    }
    default:
      luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
  }
}

void PutInteger(lua_State* L, luaL_Buffer* b, int arg, int endian, int size) {
  const lua_Number n = luaL_checknumber(L, arg);
  unsigned long value =
      n < 0 ? static_cast<unsigned long>(static_cast<long>(n)) : static_cast<unsigned long>(n);
  char buf[kMaxIntSize];
  for (int i = 0; i < size; ++i) {
    buf[endian == kLittle ? i : size - 1 - i] = static_cast<char>(value & 0xff);
    value = i + 1 < static_cast<int>(sizeof(value)) ? value >> 8 : 0;
  }
  luaL_addlstring(b, buf, size);
}

// Reverses `size` bytes when `endian` is not the machine's (little).
void FixBytes(char* p, int size, int endian) {
  if (endian == kLittle) return;
  for (int i = 0, j = size - 1; i < j; ++i, --j) {
    const char t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
}

int Pack(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  Header h;
  int arg = 2;
  size_t total = 0;
  lua_pushnil(L);  // separates the arguments from the buffer's slots
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  while (*fmt != '\0') {
    const int opt = *fmt++;
    size_t size = OptionSize(L, static_cast<char>(opt), &fmt);
    size_t pad = Padding(total, h, opt, size);
    total += pad;
    while (pad-- > 0) luaL_addchar(&b, '\0');
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I':
        PutInteger(L, &b, arg++, h.endian, static_cast<int>(size));
        break;
      case 'x':
        luaL_addchar(&b, '\0');
        break;
      case 'f': {
        float f = static_cast<float>(luaL_checknumber(L, arg++));
        FixBytes(reinterpret_cast<char*>(&f), sizeof(f), h.endian);
        luaL_addlstring(&b, reinterpret_cast<char*>(&f), size);
        break;
      }
      case 'd': {
        double d = luaL_checknumber(L, arg++);
        FixBytes(reinterpret_cast<char*>(&d), sizeof(d), h.endian);
        luaL_addlstring(&b, reinterpret_cast<char*>(&d), size);
        break;
      }
      case 'c':
      case 's': {
        size_t len;
        const char* s = luaL_checklstring(L, arg++, &len);
        if (size == 0) size = len;
        luaL_argcheck(L, len >= size, arg, "string too short");
        luaL_addlstring(&b, s, size);
        if (opt == 's') {
          luaL_addchar(&b, '\0');
          ++size;
        }
        break;
      }
      default:
        ControlOption(L, opt, &fmt, &h);
    }
    total += size;
  }
  luaL_pushresult(&b);
  return 1;
}

lua_Number GetInteger(const char* p, int endian, bool is_signed, int size) {
  unsigned long v = 0;
  for (int i = 0; i < size; ++i) {
    const unsigned char byte = static_cast<unsigned char>(p[endian == kBig ? i : size - 1 - i]);
    v = (v << 8) | byte;
  }
  if (!is_signed) return static_cast<lua_Number>(v);
  const int bits = size * 8 - 1;
  const unsigned long mask = bits < 64 ? (~0UL) << bits : 0;
  if (v & mask) v |= mask;
  return static_cast<lua_Number>(static_cast<long>(v));
}

int Unpack(lua_State* L) {
  Header h;
  const char* fmt = luaL_checkstring(L, 1);
  size_t ld;
  const char* data = luaL_checklstring(L, 2, &ld);
  size_t pos = static_cast<size_t>(luaL_optinteger(L, 3, 1));
  luaL_argcheck(L, pos > 0, 3, "offset must be 1 or greater");
  --pos;
  int n = 0;
  while (*fmt) {
    const int opt = *fmt++;
    size_t size = OptionSize(L, static_cast<char>(opt), &fmt);
    pos += Padding(pos, h, opt, size);
    luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
    luaL_checkstack(L, 2, "too many results");
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I':
        lua_pushnumber(
            L, GetInteger(data + pos, h.endian, std::islower(opt) != 0, static_cast<int>(size)));
        ++n;
        break;
      case 'x':
        break;
      case 'f': {
        float f;
        std::memcpy(&f, data + pos, size);
        FixBytes(reinterpret_cast<char*>(&f), sizeof(f), h.endian);
        lua_pushnumber(L, f);
        ++n;
        break;
      }
      case 'd': {
        double d;
        std::memcpy(&d, data + pos, size);
        FixBytes(reinterpret_cast<char*>(&d), sizeof(d), h.endian);
        lua_pushnumber(L, d);
        ++n;
        break;
      }
      case 'c': {
        if (size == 0) {
          if (n == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
          size = static_cast<size_t>(lua_tonumber(L, -1));
          lua_pop(L, 1);
          --n;
          luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
        }
        lua_pushlstring(L, data + pos, size);
        ++n;
        break;
      }
      case 's': {
        const char* e = static_cast<const char*>(std::memchr(data + pos, '\0', ld - pos));
        if (e == nullptr) luaL_error(L, "unfinished string in data");
        size = static_cast<size_t>(e - (data + pos)) + 1;
        lua_pushlstring(L, data + pos, size - 1);
        ++n;
        break;
      }
      default:
        ControlOption(L, opt, &fmt, &h);
    }
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos + 1));
  return n + 1;
}

int Size(lua_State* L) {
  Header h;
  const char* fmt = luaL_checkstring(L, 1);
  size_t pos = 0;
  while (*fmt) {
    const int opt = *fmt++;
    const size_t size = OptionSize(L, static_cast<char>(opt), &fmt);
    pos += Padding(pos, h, opt, size);
    if (opt == 's') {
      luaL_argerror(L, 1, "option 's' has no fixed size");
    } else if (opt == 'c' && size == 0) {
      luaL_argerror(L, 1, "option 'c0' has no fixed size");
    }
    if (!std::isalnum(opt)) ControlOption(L, opt, &fmt, &h);
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos));
  return 1;
}

}  // namespace

int OpenStruct(lua_State* L) {
  lua_newtable(L);
  lua_pushcfunction(L, Pack);
  lua_setfield(L, -2, "pack");
  lua_pushcfunction(L, Unpack);
  lua_setfield(L, -2, "unpack");
  lua_pushcfunction(L, Size);
  lua_setfield(L, -2, "size");
  return 1;
}

}  // namespace shardnode::node::lua
