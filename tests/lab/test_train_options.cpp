// --conv-algo is one of the training options a checkpoint stores, so a
// resume continues with the method the run started with; checkpoints
// written before the option existed resume with auto.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tools/training/trainer.h"

namespace gc::training {
namespace {

TEST(TrainOptions, ConvAlgoTravelsWithTheCheckpointOptions) {
  TrainOptions o;
  EXPECT_EQ(o.conv_algo, "auto");
  o.conv_algo = "direct";
  EXPECT_EQ(TrainOptions::from_json(o.to_json()).conv_algo, "direct");

  nlohmann::json older = nlohmann::json::parse(o.to_json());
  older.erase("conv_algo");
  EXPECT_EQ(TrainOptions::from_json(older.dump()).conv_algo, "auto");
}

}  // namespace
}  // namespace gc::training
