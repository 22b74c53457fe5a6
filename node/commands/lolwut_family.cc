// LOLWUT: Redis's computer art. Without VERSION (or with one other than 5 or
// 6) it names the version, as a 7.0 server does; VERSION 5 draws Georg
// Nees's "Schotter" in Braille dots, VERSION 6 a city skyline in the four
// grays of a colour terminal. The pictures are random, as Redis's are.
#include <cmath>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/resp/reply.h"

namespace shardnode::node {
namespace {

// A grid of small colour numbers; drawing outside it is ignored.
class Canvas {
 public:
  Canvas(int width, int height, uint8_t background)
      : width_(width), height_(height), pixels_(static_cast<size_t>(width) * height, background) {}

  int width() const { return width_; }
  int height() const { return height_; }

  void Set(int x, int y, uint8_t color) {
    if (Inside(x, y)) pixels_[static_cast<size_t>(y) * width_ + x] = color;
  }
  uint8_t Get(int x, int y) const {
    return Inside(x, y) ? pixels_[static_cast<size_t>(y) * width_ + x] : 0;
  }

  // Bresenham's line from (x0, y0) to (x1, y1), both ends included.
  void Line(int x0, int y0, int x1, int y1, uint8_t color) {
    const int dx = std::abs(x1 - x0), dy = std::abs(y1 - y0);
    const int step_x = x0 < x1 ? 1 : -1, step_y = y0 < y1 ? 1 : -1;
    int err = dx - dy;
    for (;;) {
      Set(x0, y0, color);
      if (x0 == x1 && y0 == y1) return;
      const int twice = 2 * err;
      if (twice > -dy) {
        err -= dy;
        x0 += step_x;
      }
      if (twice < dx) {
        err += dx;
        y0 += step_y;
      }
    }
  }

  // The outline of a square of side `side` centred on (cx, cy), turned by
  // `angle` radians: its corners lie on the circle through them.
  void Square(int cx, int cy, float side, float angle, uint8_t color) {
    const float radius = std::round(side / std::numbers::sqrt2_v<float>);
    int xs[4], ys[4];
    for (int i = 0; i < 4; ++i) {
      const float k = std::numbers::pi_v<float> / 4 + angle + i * std::numbers::pi_v<float> / 2;
      xs[i] = static_cast<int>(std::round(std::sin(k) * radius + cx));
      ys[i] = static_cast<int>(std::round(std::cos(k) * radius + cy));
    }
    for (int i = 0; i < 4; ++i) Line(xs[i], ys[i], xs[(i + 1) % 4], ys[(i + 1) % 4], color);
  }

 private:
  bool Inside(int x, int y) const { return x >= 0 && x < width_ && y >= 0 && y < height_; }

  int width_, height_;
  std::vector<uint8_t> pixels_;
};

std::minstd_rand& Rng() {
  static std::minstd_rand rng(std::random_device{}());
  return rng;
}

int RandBelow(int n) { return n <= 0 ? 0 : static_cast<int>(Rng()() % static_cast<unsigned>(n)); }
float RandUnit() { return std::uniform_real_distribution<float>(0.0f, 1.0f)(Rng()); }

// Each 2x4 block of pixels becomes one Braille character (U+2800 + dots).
std::string RenderBraille(const Canvas& c) {
  // Dot bit of each pixel of a block, by row then column.
  static constexpr int kBit[4][2] = {{0, 3}, {1, 4}, {2, 5}, {6, 7}};
  std::string out;
  for (int y = 0; y < c.height(); y += 4) {
    for (int x = 0; x < c.width(); x += 2) {
      int dots = 0;
      for (int row = 0; row < 4; ++row) {
        for (int col = 0; col < 2; ++col) {
          if (c.Get(x + col, y + row)) dots |= 1 << kBit[row][col];
        }
      }
      const int code = 0x2800 + dots;
      out.push_back(static_cast<char>(0xE0 | (code >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
    if (y != c.height() - 1) out.push_back('\n');
  }
  return out;
}

// Squares in rows, more disordered the lower the row.
Canvas Schotter(int cols, int per_row, int per_col) {
  const int width = cols * 2;
  const int padding = width > 4 ? 2 : 0;
  const float side = static_cast<float>(width - padding * 2) / per_row;
  Canvas canvas(width, static_cast<int>(side * per_col + padding * 2), 0);
  for (int row = 0; row < per_col; ++row) {
    for (int col = 0; col < per_row; ++col) {
      int cx = static_cast<int>(col * side + side / 2 + padding);
      int cy = static_cast<int>(row * side + side / 2 + padding);
      float angle = 0;
      if (row > 1) {
        auto jitter = [&] {
          const float r = RandUnit() / per_col * row;
          return RandBelow(2) ? -r : r;
        };
        angle = jitter();
        cx += static_cast<int>(jitter() * side / 3);
        cy += static_cast<int>(jitter() * side / 3);
      }
      canvas.Square(cx, cy, side, angle, 1);
    }
  }
  return canvas;
}

struct Building {
  int left, width, height;
  bool windows;
  uint8_t color;
};

void DrawBuilding(Canvas& canvas, const Building& b) {
  const int ground = canvas.height() - 1;
  const int roof = ground - b.height + 1;
  for (int y = ground; y >= roof; --y) {
    for (int x = b.left; x < b.left + b.width; ++x) {
      if (y == roof && (x <= b.left + 1 || x >= b.left + b.width - 2)) continue;
      uint8_t color = b.color;
      const bool inner =
          x > b.left + 1 && x < b.left + b.width - 2 && y > roof + 1 && y < ground - 1;
      if (b.windows && inner) {
        const int rx = x - (b.left + 1), ry = y - (roof + 1);
        if ((rx / 2) % 2 && ry % 2) {
          // A lit window: two pixels wide, one of the grays, never the wall's.
          do {
            color = static_cast<uint8_t>(1 + RandBelow(2));
          } while (color == b.color);
          if (rx % 2) color = canvas.Get(x - 1, y);
        }
      }
      canvas.Set(x, y, color);
    }
  }
}

Canvas Skyline(int cols, int rows) {
  Canvas canvas(cols, rows, 3);
  const int h = canvas.height();
  // Two rows of plain buildings behind, the lighter one farthest.
  for (uint8_t color = 2; color >= 1; --color) {
    for (int left = -10; left < canvas.width();) {
      left += RandBelow(8);
      Building b{left, 10 + RandBelow(9), 0, false, color};
      b.height = h / 2 + (color == 2 ? RandBelow(h) / 2 : RandBelow(h) / 3);
      DrawBuilding(canvas, b);
      left += color == 2 ? b.width / 2 : b.width + 1;
    }
  }
  for (int left = -10; left < canvas.width();) {
    left += RandBelow(8);
    Building b{left, 5 + RandBelow(14), h / 3 + RandBelow(h) / 2, true, 0};
    if (b.width % 4) b.width += b.width % 3;
    DrawBuilding(canvas, b);
    left += b.width + 5;
  }
  return canvas;
}

std::string RenderGrays(const Canvas& c) {
  static constexpr const char* kEscape[4] = {"0;30;40m", "0;90;100m", "0;37;47m", "0;97;107m"};
  std::string out;
  for (int y = 0; y < c.height(); ++y) {
    for (int x = 0; x < c.width(); ++x) {
      absl::StrAppend(&out, "\033[", kEscape[c.Get(x, y) & 3], " \033[0m");
    }
    if (y != c.height() - 1) out.push_back('\n');
  }
  return out;
}

// The optional numeric arguments after the version's, clamped to [1, max].
bool ReadSizes(CommandContext& ctx, Args args, size_t first, std::initializer_list<int64_t*> out,
               int64_t max_first, int64_t max_rest) {
  size_t i = first;
  for (int64_t* value : out) {
    if (i >= args.size()) break;
    if (!base::ParseStrictInt64(args[i], value)) {
      ctx.reply.Error(errors::kNotInteger);
      return false;
    }
    *value = std::clamp<int64_t>(*value, 1, i == first ? max_first : max_rest);
    ++i;
  }
  return true;
}

void Lolwut(CommandContext& ctx, Args args) {
  int64_t version = 7;
  size_t first = 1;
  if (args.size() >= 3 && base::EqualsIgnoreCase(args[1], "version")) {
    if (!base::ParseStrictInt64(args[2], &version)) {
      ctx.reply.Error(errors::kNotInteger);
      return;
    }
    first = 3;
  }
  const std::string signature = absl::StrCat("Redis ver. ", kRedisVersion, "\n");
  // Redis compares the version as the text "<n>.0.0" (an unsigned int).
  const unsigned v = static_cast<unsigned>(version);
  if (v == 5) {
    int64_t cols = 66, per_row = 8, per_col = 12;
    if (!ReadSizes(ctx, args, first, {&cols, &per_row, &per_col}, 1000, 200)) return;
    Canvas c =
        Schotter(static_cast<int>(cols), static_cast<int>(per_row), static_cast<int>(per_col));
    ctx.reply.Verbatim(absl::StrCat(
        RenderBraille(c), "\nGeorg Nees - schotter, plotter on paper, 1968. ", signature));
  } else if (v == 6) {
    int64_t cols = 80, rows = 20;
    if (!ReadSizes(ctx, args, first, {&cols, &rows}, 1000, 1000)) return;
    Canvas c = Skyline(static_cast<int>(cols), static_cast<int>(rows));
    ctx.reply.Verbatim(
        absl::StrCat(RenderGrays(c),
                     "\nDedicated to the 8 bit game developers of past and present.\n"
                     "Original 8 bit image from Plaguemon by hikikomori. ",
                     signature));
  } else {
    ctx.reply.Verbatim(signature);
  }
}

}  // namespace

void RegisterLolwutFamily(CommandTable& t) {
  t.Register({.name = "lolwut",
              .arity = -1,
              .flags = kCmdReadonly | kCmdFast,
              .handler = Lolwut,
              .group = "server",
              .summary = "Display some computer art and the Redis version",
              .since = "5.0.0"});
}

}  // namespace shardnode::node
