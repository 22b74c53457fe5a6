#include "node/keyspace/types/geohash.h"

#include <cmath>
#include <cstdio>

namespace shardnode::node::geo {
namespace {

constexpr double kDegToRad = M_PI / 180.0;
constexpr double kEarthRadius = 6372797.560856;  // metres, WGS-84 quadratic mean
constexpr double kMercatorMax = 20037726.37;

double ToRad(double deg) { return deg * kDegToRad; }
double ToDeg(double rad) { return rad / kDegToRad; }

// Spreads the 32 bits of v onto the even bits of the result: halves move
// apart by 16, 8, 4, 2 and 1 places in turn.
uint64_t Spread(uint32_t v) {
  uint64_t x = v;
  x = (x | (x << 16)) & 0x0000ffff0000ffffULL;
  x = (x | (x << 8)) & 0x00ff00ff00ff00ffULL;
  x = (x | (x << 4)) & 0x0f0f0f0f0f0f0f0fULL;
  x = (x | (x << 2)) & 0x3333333333333333ULL;
  x = (x | (x << 1)) & 0x5555555555555555ULL;
  return x;
}

// Gathers the even bits of v into 32 bits (Spread's inverse).
uint32_t Gather(uint64_t v) {
  uint64_t x = v & 0x5555555555555555ULL;
  x = (x | (x >> 1)) & 0x3333333333333333ULL;
  x = (x | (x >> 2)) & 0x0f0f0f0f0f0f0f0fULL;
  x = (x | (x >> 4)) & 0x00ff00ff00ff00ffULL;
  x = (x | (x >> 8)) & 0x0000ffff0000ffffULL;
  x = (x | (x >> 16)) & 0x00000000ffffffffULL;
  return static_cast<uint32_t>(x);
}

// Latitude index on the even bits, longitude index on the odd ones.
uint64_t Interleave(uint32_t lat_idx, uint32_t lon_idx) {
  return Spread(lat_idx) | (Spread(lon_idx) << 1);
}

struct Area {
  Range lon, lat;
};

bool DecodeCell(Range lon_range, Range lat_range, const Cell& cell, Area* area) {
  if (cell.empty()) return false;
  const uint32_t lat_idx = Gather(cell.bits);
  const uint32_t lon_idx = Gather(cell.bits >> 1);
  const double cells = static_cast<double>(uint64_t{1} << cell.step);
  const double lat_scale = lat_range.max - lat_range.min;
  const double lon_scale = lon_range.max - lon_range.min;
  area->lat.min = lat_range.min + (lat_idx * 1.0 / cells) * lat_scale;
  area->lat.max = lat_range.min + ((lat_idx + 1.0) * 1.0 / cells) * lat_scale;
  area->lon.min = lon_range.min + (lon_idx * 1.0 / cells) * lon_scale;
  area->lon.max = lon_range.min + ((lon_idx + 1.0) * 1.0 / cells) * lon_scale;
  return true;
}

constexpr Range kLonRange{kLonMin, kLonMax};
constexpr Range kLatRange{kLatMin, kLatMax};

// The cell `dlon` / `dlat` cells away (wrapping at the edges of the grid).
// A coordinate that does not move keeps its index as it is, even the one
// past the grid that the upper limits encode to (longitude 180), as Redis's
// neighbour arithmetic does.
Cell Move(const Cell& c, int dlon, int dlat) {
  const uint32_t mask = c.step >= 32 ? 0xffffffffu : ((uint32_t{1} << c.step) - 1);
  uint32_t lat_idx = Gather(c.bits);
  uint32_t lon_idx = Gather(c.bits >> 1);
  if (dlat != 0) lat_idx = (lat_idx + static_cast<uint32_t>(dlat)) & mask;
  if (dlon != 0) lon_idx = (lon_idx + static_cast<uint32_t>(dlon)) & mask;
  return Cell{Interleave(lat_idx, lon_idx), c.step};
}

// The precision whose cells are about as large as `radius` metres, coarser
// towards the poles.
int StepsForRadius(double radius, double lat) {
  if (radius == 0) return kMaxStep;
  int step = 1;
  while (radius < kMercatorMax) {
    radius *= 2;
    ++step;
  }
  step -= 2;
  if (lat > 66 || lat < -66) {
    --step;
    if (lat > 80 || lat < -80) --step;
  }
  if (step < 1) step = 1;
  if (step > kMaxStep) step = kMaxStep;
  return step;
}

double LatDistance(double lat1, double lat2) {
  return kEarthRadius * std::fabs(ToRad(lat2) - ToRad(lat1));
}

}  // namespace

bool Encode(Range lon_range, Range lat_range, double lon, double lat, int step, Cell* cell) {
  if (step > 32 || step == 0) return false;
  if (lon > kLonMax || lon < kLonMin || lat > kLatMax || lat < kLatMin) return false;
  if (lat < lat_range.min || lat > lat_range.max || lon < lon_range.min || lon > lon_range.max) {
    return false;
  }
  const double cells = static_cast<double>(uint64_t{1} << step);
  const double lat_off = (lat - lat_range.min) / (lat_range.max - lat_range.min) * cells;
  const double lon_off = (lon - lon_range.min) / (lon_range.max - lon_range.min) * cells;
  cell->bits = Interleave(static_cast<uint32_t>(lat_off), static_cast<uint32_t>(lon_off));
  cell->step = step;
  return true;
}

uint64_t ScoreOf(double lon, double lat) {
  Cell c;
  Encode(kLonRange, kLatRange, lon, lat, kMaxStep, &c);
  return c.bits;
}

bool Decode(double score, double* lon, double* lat) {
  Area a;
  if (!DecodeCell(kLonRange, kLatRange, Cell{static_cast<uint64_t>(score), kMaxStep}, &a)) {
    return false;
  }
  *lon = (a.lon.min + a.lon.max) / 2;
  if (*lon > kLonMax) *lon = kLonMax;
  if (*lon < kLonMin) *lon = kLonMin;
  *lat = (a.lat.min + a.lat.max) / 2;
  if (*lat > kLatMax) *lat = kLatMax;
  if (*lat < kLatMin) *lat = kLatMin;
  return true;
}

bool StandardHash(double score, std::string* out) {
  double lon, lat;
  if (!Decode(score, &lon, &lat)) return false;
  // Stored hashes use latitudes within +-85.05; the standard alphabet's
  // hashes span +-90, so re-encode.
  Cell c;
  Encode(Range{-180, 180}, Range{-90, 90}, lon, lat, kMaxStep, &c);
  static constexpr char kAlphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
  out->assign(11, '0');
  for (int i = 0; i < 10; ++i) (*out)[i] = kAlphabet[(c.bits >> (52 - (i + 1) * 5)) & 0x1f];
  return true;
}

double Distance(double lon1, double lat1, double lon2, double lat2) {
  const double v = std::sin((ToRad(lon2) - ToRad(lon1)) / 2);
  // Same meridian: the latitude difference is the whole distance.
  if (v == 0.0) return LatDistance(lat1, lat2);
  const double lat1r = ToRad(lat1);
  const double lat2r = ToRad(lat2);
  const double u = std::sin((lat2r - lat1r) / 2);
  const double a = u * u + std::cos(lat1r) * std::cos(lat2r) * v * v;
  return 2.0 * kEarthRadius * std::asin(std::sqrt(a));
}

bool Within(const Shape& s, double score, double* lon, double* lat, double* dist) {
  if (!Decode(score, lon, lat)) return false;
  if (!s.box) {
    *dist = Distance(s.lon, s.lat, *lon, *lat);
    return *dist <= s.radius * s.to_meters;
  }
  // The cheap latitude test first.
  if (LatDistance(*lat, s.lat) > s.height * s.to_meters / 2) return false;
  if (Distance(*lon, *lat, s.lon, *lat) > s.width * s.to_meters / 2) return false;
  *dist = Distance(s.lon, s.lat, *lon, *lat);
  return true;
}

std::array<Cell, 9> SearchCells(const Shape& s) {
  const double half_h = s.to_meters * (s.box ? s.height / 2 : s.radius);
  const double half_w = s.to_meters * (s.box ? s.width / 2 : s.radius);
  // The bounding box in degrees; the wider end of a longitude span is the
  // one nearer the pole.
  const double lat_delta = ToDeg(half_h / kEarthRadius);
  const double lon_delta_top = ToDeg(half_w / kEarthRadius / std::cos(ToRad(s.lat + lat_delta)));
  const double lon_delta_bottom = ToDeg(half_w / kEarthRadius / std::cos(ToRad(s.lat - lat_delta)));
  const bool south = s.lat < 0;
  const double min_lon = south ? s.lon - lon_delta_bottom : s.lon - lon_delta_top;
  const double max_lon = south ? s.lon + lon_delta_bottom : s.lon + lon_delta_top;
  const double min_lat = s.lat - lat_delta;
  const double max_lat = s.lat + lat_delta;

  // A box's reach is its half diagonal.
  double radius =
      s.box ? std::sqrt((s.width / 2) * (s.width / 2) + (s.height / 2) * (s.height / 2)) : s.radius;
  radius *= s.to_meters;
  int steps = StepsForRadius(radius, s.lat);

  Cell centre;
  Area area;
  auto at_step = [&] {
    Encode(kLonRange, kLatRange, s.lon, s.lat, steps, &centre);
    DecodeCell(kLonRange, kLatRange, centre, &area);
  };
  at_step();
  // One step coarser when a neighbour does not reach the bounding box.
  Area n, so, e, w;
  DecodeCell(kLonRange, kLatRange, Move(centre, 0, 1), &n);
  DecodeCell(kLonRange, kLatRange, Move(centre, 0, -1), &so);
  DecodeCell(kLonRange, kLatRange, Move(centre, 1, 0), &e);
  DecodeCell(kLonRange, kLatRange, Move(centre, -1, 0), &w);
  const bool coarser =
      n.lat.max < max_lat || so.lat.min > min_lat || e.lon.max < max_lon || w.lon.min > min_lon;
  if (steps > 1 && coarser) {
    --steps;
    at_step();
  }
  // Centre, N, S, E, W, NE, NW, SE, SW.
  std::array<Cell, 9> cells = {centre,
                               Move(centre, 0, 1),
                               Move(centre, 0, -1),
                               Move(centre, 1, 0),
                               Move(centre, -1, 0),
                               Move(centre, 1, 1),
                               Move(centre, -1, 1),
                               Move(centre, 1, -1),
                               Move(centre, -1, -1)};
  if (steps >= 2) {
    // Drop the neighbours on a side the bounding box does not reach.
    if (area.lat.min < min_lat) cells[2] = cells[8] = cells[7] = Cell{};
    if (area.lat.max > max_lat) cells[1] = cells[5] = cells[6] = Cell{};
    if (area.lon.min < min_lon) cells[4] = cells[8] = cells[6] = Cell{};
    if (area.lon.max > max_lon) cells[3] = cells[7] = cells[5] = Cell{};
  }
  return cells;
}

void ScoreRange(const Cell& cell, uint64_t* min, uint64_t* max) {
  const int shift = 52 - cell.step * 2;
  *min = cell.bits << shift;
  *max = (cell.bits + 1) << shift;
}

std::string FormatDistance(double d) {
  if (d == 0) return "0.0000";
  const long long scaled = std::llrint(d * 10000.0);
  const bool neg = scaled < 0;
  const unsigned long long v = neg ? 0ULL - static_cast<unsigned long long>(scaled)
                                   : static_cast<unsigned long long>(scaled);
  // "<integer part>.<four digits>", written from the end.
  char buf[32];
  char* const end = buf + sizeof(buf);
  char* p = end;
  unsigned long long frac = v % 10000;
  for (int i = 0; i < 4; ++i, frac /= 10) *--p = static_cast<char>('0' + frac % 10);
  *--p = '.';
  unsigned long long whole = v / 10000;
  do {
    *--p = static_cast<char>('0' + whole % 10);
    whole /= 10;
  } while (whole != 0);
  if (neg) *--p = '-';
  return std::string(p, end);
}

}  // namespace shardnode::node::geo
