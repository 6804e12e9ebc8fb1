// Tensor views, copies and the caching allocator.
#include <gtest/gtest.h>

#include "engine/allocator.h"
#include "engine/ops.h"

namespace gc {
namespace {

TEST(Tensor, ReshapeAndFlattenShareStorage) {
  Tensor t = Tensor::zeros({2, 3, 4, 5});
  Tensor f = t.flatten();
  EXPECT_EQ(f.shape(), (Shape{2, 60}));
  EXPECT_EQ(f.raw_data(), t.raw_data());
  EXPECT_THROW(t.reshape({7, 7}), std::invalid_argument);
  EXPECT_THROW(Shape({1, 2, 3, 4, 5}), std::invalid_argument);
}

TEST(Tensor, CloneAndDtypeConversionCopy) {
  Tensor t = Tensor::from_vector({3}, std::vector<float>{1.5f, -2.0f, 3.25f});
  Tensor c = t.clone();
  EXPECT_NE(c.raw_data(), t.raw_data());
  Tensor d = t.to(DType::F64);
  EXPECT_EQ(d.dtype(), DType::F64);
  EXPECT_EQ(d.to_doubles(), (std::vector<double>{1.5, -2.0, 3.25}));
  EXPECT_THROW(t.data<double>(), std::invalid_argument);
}

TEST(Tensor, OtherDevicesAreAClearErrorWithoutABackend) {
  Tensor t = Tensor::zeros({2});
  EXPECT_THROW(t.to(Device::CUDA), std::runtime_error);
}

TEST(Allocator, BucketsRoundUpByAtMostAQuarter) {
  for (size_t bytes : {1ul, 257ul, 1000ul, 4097ul, 123457ul, 11075584ul}) {
    size_t b = CachingAllocator::bucket_size(bytes);
    EXPECT_GE(b, bytes);
    EXPECT_LE(b, bytes < 256 ? 256 : bytes + bytes / 4) << bytes;
  }
}

TEST(Allocator, ReusesFreedBlocksOfTheSameSize) {
  auto& alloc = CachingAllocator::host();
  void* first;
  {
    Tensor t = Tensor::empty({128, 32, 26, 26});
    first = t.raw_data();
  }
  int64_t hits = alloc.stats().cache_hits;
  Tensor again = Tensor::empty({128, 32, 26, 26});
  EXPECT_EQ(again.raw_data(), first);
  EXPECT_EQ(alloc.stats().cache_hits, hits + 1);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(again.raw_data()) % 64, 0u);
}

}  // namespace
}  // namespace gc
