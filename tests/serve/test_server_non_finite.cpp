// No answer marked OK carries a NaN or an infinity: float32 pixels outside
// the model's normalised range are refused, and a request whose logits are
// not all finite is answered INTERNAL, counted and logged, while the other
// requests of the same batch keep their right answers.
#include "server_fixture.h"

#include <nlohmann/json.hpp>

#include <limits>

using namespace gc::serve;
using namespace gc::serve::test;
using protocol::Status;

namespace {

// The linear test model, except that an image whose first pixel is 255
// gets NaN logits: a model failing on one input that is in range.
class PoisonedModel : public gc::serve::testing::LinearTestModel {
 public:
  PoisonedModel() : LinearTestModel(1, 11) {}
  void forward(const float* images, int n, float* logits) const override {
    LinearTestModel::forward(images, n, logits);
    for (int i = 0; i < n; ++i)
      if (images[static_cast<size_t>(i) * kPixels] > 2.8f)
        for (int k = 0; k < kClasses; ++k) logits[i * kClasses + k] = std::numeric_limits<float>::quiet_NaN();
  }
};

std::shared_ptr<const InferenceModel> load_poisoned(const std::string&) { return std::make_shared<PoisonedModel>(); }

std::vector<uint8_t> poisoned_images(int count, uint32_t seed) {
  auto pixels = random_images(count, seed);
  for (int i = 0; i < count; ++i) pixels[static_cast<size_t>(i) * kPixels] = 255;
  return pixels;
}

std::vector<uint8_t> good_images(int count, uint32_t seed) {
  auto pixels = random_images(count, seed);
  for (int i = 0; i < count; ++i) pixels[static_cast<size_t>(i) * kPixels] = 0;
  return pixels;
}

}  // namespace

TEST(ServeNonFinite, AHugeFloat32PixelIsRefusedNotAnsweredWithNaN) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  Client client = server.client();
  std::vector<float> image(kPixels, 0.0f);
  image[100] = 3e38f;  // finite, but no normalised pixel
  auto response = client.predict_normalised(image, 1, true);
  EXPECT_EQ(response.status, Status::malformed);
  EXPECT_NE(response.message.find("pixel 100"), std::string::npos) << response.message;

  // The ends of the range INFO reports are accepted, and the answer is finite.
  auto info = nlohmann::json::parse(client.info().json);
  double low = info["input"]["float32_range"][0], high = info["input"]["float32_range"][1];
  EXPECT_NEAR(info["input"]["normalisation"]["scale"].get<double>(), 1.0 / 255, 1e-12);
  EXPECT_LT(low, (0 - 0.1307) / 0.3081);
  EXPECT_GT(high, (1 - 0.1307) / 0.3081);
  const float black = static_cast<float>((0 - 0.1307) / 0.3081), white = static_cast<float>((1 - 0.1307) / 0.3081);
  for (int i = 0; i < kPixels; ++i) image[i] = i % 2 ? black : white;
  response = client.predict_normalised(image, 1, true);
  ASSERT_EQ(response.status, Status::ok) << response.message;
  for (float v : response.predictions[0].logits) EXPECT_TRUE(std::isfinite(v));
  image[5] = static_cast<float>(high * 1.5 + 1);
  EXPECT_EQ(client.predict_normalised(image, 1).status, Status::malformed);
}

TEST(ServeNonFinite, NonFiniteLogitsAreAnsweredInternalAndCounted) {
  ModelFiles files;  // the path is only a name: the poisoned loader ignores it
  Server poisoned(test_options(), load_poisoned, files.v1);
  std::thread runner([&] { poisoned.run(); });
  Client client("127.0.0.1", poisoned.port(), 5000);

  auto response = client.predict(poisoned_images(1, 1), 1);
  EXPECT_EQ(response.status, Status::internal);
  EXPECT_NE(response.message.find("non-finite"), std::string::npos) << response.message;
  EXPECT_EQ(client.health().status, Status::ok);  // the connection stays open

  // Three requests in one write, so they share a batch: the middle one has a
  // poisoned second image; the other two are answered as the model answers alone.
  auto first = good_images(2, 2), middle = good_images(2, 3), last = good_images(3, 4);
  std::copy_n(poisoned_images(1, 5).begin(), kPixels, middle.begin() + kPixels);
  std::vector<uint8_t> frames;
  protocol::append_predict_request(frames, 10, protocol::PixelFormat::uint8, true, 2, {1, 28, 28}, first);
  protocol::append_predict_request(frames, 11, protocol::PixelFormat::uint8, true, 2, {1, 28, 28}, middle);
  protocol::append_predict_request(frames, 12, protocol::PixelFormat::uint8, true, 3, {1, 28, 28}, last);
  client.send_bytes(frames);
  for (int i = 0; i < 3; ++i) {
    Frame frame = client.read_frame();
    auto answer = protocol::decode_predict_response(frame.payload);
    ASSERT_TRUE(answer);
    if (frame.header.request_id == 11) {
      EXPECT_EQ(answer->status, Status::internal);
      EXPECT_NE(answer->message.find("image 1 of 2"), std::string::npos) << answer->message;
      continue;
    }
    ASSERT_EQ(answer->status, Status::ok) << answer->message;
    const auto& pixels = frame.header.request_id == 10 ? first : last;
    Reference ref = reference_answers(files.v1, pixels);  // PoisonedModel is the v1 weights
    ASSERT_EQ(answer->predictions.size(), ref.classes.size());
    for (size_t k = 0; k < ref.classes.size(); ++k) {
      EXPECT_EQ(answer->predictions[k].predicted_class, ref.classes[k]);
      for (int c = 0; c < 10; ++c) {
        EXPECT_NEAR(answer->predictions[k].logits[c], ref.logits[k * 10 + c], 1e-4);
        EXPECT_TRUE(std::isfinite(answer->predictions[k].probabilities[c]));
      }
    }
  }

  const ServerStats& stats = poisoned.stats();
  EXPECT_EQ(stats.non_finite_answers.load(), 2u);
  EXPECT_EQ(stats.errors[static_cast<int>(Status::internal)].load(), 2u);
  auto json = nlohmann::json::parse(client.stats().json);
  EXPECT_EQ(json["non_finite_answers"], 2);
  EXPECT_EQ(json["errors"]["INTERNAL"], 2);
  EXPECT_NE(stats.to_prometheus().find("gradcore_non_finite_answers_total 2\n"), std::string::npos);
  poisoned.stop();
  runner.join();
}
