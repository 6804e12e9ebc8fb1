// The latency and batch-size histograms behind STATS and /metrics.
#include "serve/stats.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using gc::serve::LatencyHistogram;

TEST(ServeStats, BucketsCoverEveryValueWithinOneSixteenth) {
  for (uint64_t v : {0ull, 1ull, 15ull, 16ull, 17ull, 100ull, 1000ull, 123456ull, 1ull << 40}) {
    int bucket = LatencyHistogram::bucket_of(v);
    uint64_t upper = LatencyHistogram::bucket_upper_edge(bucket);
    EXPECT_GE(upper, v);
    EXPECT_LE(static_cast<double>(upper - v), static_cast<double>(v) / 16.0 + 1e-9) << v;
    if (bucket > 0) {
      EXPECT_LT(LatencyHistogram::bucket_upper_edge(bucket - 1), v) << v;
    }
  }
}

TEST(ServeStats, PercentilesOfAKnownDistribution) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile(0.5), 0u);
  for (uint64_t v = 1; v <= 1000; ++v) h.record(v);
  EXPECT_EQ(h.count(), 1000u);
  auto near = [](uint64_t got, double want) { return std::abs(static_cast<double>(got) - want) <= want / 16 + 1; };
  EXPECT_TRUE(near(h.percentile(0.50), 500)) << h.percentile(0.50);
  EXPECT_TRUE(near(h.percentile(0.90), 900)) << h.percentile(0.90);
  EXPECT_TRUE(near(h.percentile(0.99), 990)) << h.percentile(0.99);
  EXPECT_TRUE(near(h.percentile(0.999), 999)) << h.percentile(0.999);
}

TEST(ServeStats, JsonAndPrometheusReportTheCounters) {
  gc::serve::ServerStats stats;
  stats.count_request(1);
  stats.count_request(99);
  stats.count_error(gc::serve::protocol::Status::overloaded);
  stats.batch_sizes.record(3);
  stats.images += 3;
  auto j = nlohmann::json::parse(stats.to_json());
  EXPECT_EQ(j["requests"]["predict"], 1);
  EXPECT_EQ(j["requests"]["unknown"], 1);
  EXPECT_EQ(j["errors"]["OVERLOADED"], 1);
  EXPECT_EQ(j["batch_size_histogram"][0]["le"], 4);
  std::string text = stats.to_prometheus();
  EXPECT_NE(text.find("gradcore_requests_total{type=\"predict\"} 1"), std::string::npos);
  EXPECT_NE(text.find("gradcore_batch_size_bucket{le=\"4\"} 1"), std::string::npos);
}
