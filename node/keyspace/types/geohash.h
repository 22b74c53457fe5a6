// Geohash arithmetic for the GEO commands, as Redis 7.0.15 computes it: a
// point is stored as a sorted-set score holding its 52-bit interleaved
// geohash (26 bits of latitude on the even bits, 26 of longitude on the odd
// ones) over longitude [-180, 180] and latitude [-85.05112878, 85.05112878];
// distances are haversine on a sphere of radius 6372797.560856 m. A search
// covers the 3x3 geohash cells around its centre at a precision chosen from
// the radius, as Redis does, so that results and their order match.
//
// Pure functions; no state.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace shardnode::node::geo {

inline constexpr double kLonMin = -180;
inline constexpr double kLonMax = 180;
inline constexpr double kLatMin = -85.05112878;
inline constexpr double kLatMax = 85.05112878;
inline constexpr int kMaxStep = 26;  // 52 bits

// A geohash of `step` bits per coordinate. step == 0 with bits == 0 is "no
// cell" (a neighbour a search dropped).
struct Cell {
  uint64_t bits = 0;
  int step = 0;
  bool empty() const { return bits == 0 && step == 0; }
  bool operator==(const Cell&) const = default;
};

struct Range {
  double min, max;
};

// Encodes (lon, lat) with `step` bits per coordinate over the given ranges.
// Returns false when the point lies outside the Redis geo limits or the
// ranges.
bool Encode(Range lon_range, Range lat_range, double lon, double lat, int step, Cell* cell);
// Encodes over Redis's ranges at full precision and returns the 52-bit score.
// REQUIRES: the point is within the limits (the caller checked).
uint64_t ScoreOf(double lon, double lat);
// The centre of the cell a score names (clamped to the limits), as GEOPOS
// reports it. Returns false for a score that is not a geohash.
bool Decode(double score, double* lon, double* lat);
// The standard base-32 geohash (11 characters) of a stored score, GEOHASH's
// reply. Returns false when the score does not decode.
bool StandardHash(double score, std::string* out);

// Haversine distance in metres.
double Distance(double lon1, double lat1, double lon2, double lat2);

// The area a search covers: a circle of `radius` or a box of `width` x
// `height` (in the unit whose size in metres is `to_meters`) around
// (lon, lat).
struct Shape {
  bool box = false;
  double lon = 0, lat = 0;
  double radius = 0;
  double width = 0, height = 0;
  double to_meters = 1;
};

// Whether the point of `score` is inside `shape`; when it is, fills its
// coordinates and its distance from the centre (metres).
bool Within(const Shape& shape, double score, double* lon, double* lat, double* dist);

// The cells to scan for `shape`, in Redis's order (centre, N, S, E, W, NE,
// NW, SE, SW), with dropped neighbours empty.
std::array<Cell, 9> SearchCells(const Shape& shape);

// The score range [min, max) of the members inside `cell`.
void ScoreRange(const Cell& cell, uint64_t* min, uint64_t* max);

// A distance as Redis prints it: rounded to 4 decimals ("12.3457").
std::string FormatDistance(double d);

}  // namespace shardnode::node::geo
