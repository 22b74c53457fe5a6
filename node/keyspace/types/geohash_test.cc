#include "node/keyspace/types/geohash.h"

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace shardnode::node::geo {
namespace {

std::string Human(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17f", v);
  return buf;
}

// Figures from redis-server 7.0.15 (GEOADD Sicily ... Palermo / Catania).
TEST(GeoHashTest, ScoreAndDecodeMatchRedis) {
  EXPECT_EQ(ScoreOf(13.361389, 38.115556), 3479099956230698u);
  EXPECT_EQ(ScoreOf(15.087269, 37.502669), 3479447370796909u);
  double lon, lat;
  ASSERT_TRUE(Decode(3479099956230698.0, &lon, &lat));
  EXPECT_EQ(Human(lon), "13.36138933897018433");
  EXPECT_EQ(Human(lat), "38.11555639549629859");
}

TEST(GeoHashTest, StandardHashMatchesRedis) {
  std::string h;
  ASSERT_TRUE(StandardHash(3479099956230698.0, &h));
  EXPECT_EQ(h, "sqc8b49rny0");
  ASSERT_TRUE(StandardHash(3479447370796909.0, &h));
  EXPECT_EQ(h, "sqdtr74hyu0");
}

TEST(GeoHashTest, DistanceFormatsLikeRedis) {
  double lon1, lat1, lon2, lat2;
  ASSERT_TRUE(Decode(3479099956230698.0, &lon1, &lat1));
  ASSERT_TRUE(Decode(3479447370796909.0, &lon2, &lat2));
  EXPECT_EQ(FormatDistance(Distance(lon1, lat1, lon2, lat2) / 1000), "166.2742");
  EXPECT_EQ(FormatDistance(0), "0.0000");
  EXPECT_EQ(FormatDistance(0.00005), "0.0000");  // llrint: half to even
  EXPECT_EQ(FormatDistance(1.23456), "1.2346");
  EXPECT_EQ(FormatDistance(1234.5), "1234.5000");
  EXPECT_EQ(FormatDistance(20037508.3427), "20037508.3427");
  EXPECT_EQ(FormatDistance(0.0101), "0.0101");
  EXPECT_EQ(FormatDistance(-0.25), "-0.2500");
}

TEST(GeoHashTest, WithinRadiusAndBox) {
  Shape s{.lon = 15, .lat = 37, .radius = 200, .to_meters = 1000};
  double lon, lat, dist;
  EXPECT_TRUE(Within(s, 3479447370796909.0, &lon, &lat, &dist));
  EXPECT_EQ(FormatDistance(dist / 1000), "56.4413");
  s.radius = 50;
  EXPECT_FALSE(Within(s, 3479447370796909.0, &lon, &lat, &dist));
  Shape box{.box = true, .lon = 15, .lat = 37, .width = 400, .height = 400, .to_meters = 1000};
  EXPECT_TRUE(Within(box, 3479099956230698.0, &lon, &lat, &dist));
  box.height = 100;  // Palermo is ~124 km north of the centre
  EXPECT_FALSE(Within(box, 3479099956230698.0, &lon, &lat, &dist));
}

TEST(GeoHashTest, SearchCellsCoverTheCentreAndDropFarSides) {
  Shape s{.lon = 15, .lat = 37, .radius = 200, .to_meters = 1000};
  const auto cells = SearchCells(s);
  ASSERT_FALSE(cells[0].empty());
  uint64_t min, max;
  ScoreRange(cells[0], &min, &max);
  const uint64_t centre = ScoreOf(15, 37);
  EXPECT_LE(min, centre);
  EXPECT_LT(centre, max);
  // A zero radius searches at full precision.
  Shape tiny{.lon = 15, .lat = 37, .radius = 0, .to_meters = 1};
  EXPECT_EQ(SearchCells(tiny)[0].step, 26);
}

TEST(GeoHashTest, EncodeRefusesPointsOutsideTheLimits) {
  Cell c;
  EXPECT_FALSE(Encode({-180, 180}, {kLatMin, kLatMax}, 10, 86, 26, &c));
  EXPECT_FALSE(Encode({-180, 180}, {kLatMin, kLatMax}, 181, 0, 26, &c));
  EXPECT_TRUE(Encode({-180, 180}, {kLatMin, kLatMax}, 180, kLatMax, 26, &c));
}

}  // namespace
}  // namespace shardnode::node::geo
