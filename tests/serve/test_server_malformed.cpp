// Malformed input gets the specified error frame (and a close after a framing
// error), and the server keeps serving everyone else.
#include "server_fixture.h"

#include <random>

using namespace gc::serve;
using namespace gc::serve::test;
using protocol::Status;

namespace {

class ServeMalformed : public ::testing::Test {
 protected:
  ServeMalformed() : server_(options(), files_.v1) {}
  static ServerOptions options() {
    auto o = test_options();
    o.max_batch = 8;
    o.idle_timeout_ms = 300;
    return o;
  }

  // A well-behaved client on a fresh connection still gets the right answer.
  void expect_still_serving() {
    Client client = server_.client();
    auto images = random_images(1, 9);
    auto response = client.predict(images, 1);
    ASSERT_EQ(response.status, Status::ok) << response.message;
    EXPECT_EQ(response.predictions[0].predicted_class, reference_answers(files_.v1, images).classes[0]);
  }

  // Sends bytes and reads one error frame back.
  protocol::ResponseBase send_and_read_error(Client& client, const std::vector<uint8_t>& bytes, Frame* frame_out = nullptr) {
    client.send_bytes(bytes);
    Frame frame = client.read_frame();
    if (frame_out) *frame_out = frame;
    auto response = protocol::decode_health_response(frame.payload);  // any decoder reads an error payload
    EXPECT_TRUE(response);
    return response ? static_cast<protocol::ResponseBase>(*response) : protocol::ResponseBase{};
  }

  std::vector<uint8_t> predict_frame(int count, int pixel_bytes_per_image = kPixels,
                                     std::array<int, 3> shape = {1, 28, 28}) {
    std::vector<uint8_t> pixels(static_cast<size_t>(count) * pixel_bytes_per_image, 1);
    std::vector<uint8_t> out;
    protocol::append_predict_request(out, 77, protocol::PixelFormat::uint8, false, count, shape, pixels);
    return out;
  }

  ModelFiles files_;
  RunningServer server_;
};

TEST_F(ServeMalformed, BadMagicGetsAnErrorThenClose) {
  Client client = server_.client();
  Frame frame;
  auto error = send_and_read_error(client, raw_header(0x12345678, 1, 1, 5, 0), &frame);
  EXPECT_EQ(error.status, Status::bad_magic);
  EXPECT_EQ(frame.header.type, protocol::kFramingErrorType);
  EXPECT_EQ(frame.header.request_id, 5u);  // the header was complete
  EXPECT_TRUE(closed_by_server(client));
  expect_still_serving();
}

TEST_F(ServeMalformed, WrongVersionGetsAnErrorThenClose) {
  Client client = server_.client();
  EXPECT_EQ(send_and_read_error(client, raw_header(protocol::kMagic, 9, 2, 5, 0)).status, Status::unsupported_version);
  EXPECT_TRUE(closed_by_server(client));
  expect_still_serving();
}

TEST_F(ServeMalformed, LengthOverTheLimitGetsAnErrorThenClose) {
  Client client = server_.client();
  Frame frame;
  auto error = send_and_read_error(client, raw_header(protocol::kMagic, 1, 1, 31, 0xFFFFFFF0u), &frame);
  EXPECT_EQ(error.status, Status::frame_too_large);
  EXPECT_EQ(frame.header.request_id, 31u);
  EXPECT_TRUE(closed_by_server(client));
  expect_still_serving();
}

TEST_F(ServeMalformed, GarbageBytesGetBadMagicThenClose) {
  Client client = server_.client();
  std::vector<uint8_t> garbage(1000);
  std::mt19937 rng(5);
  for (auto& b : garbage) b = static_cast<uint8_t>(rng());
  garbage[0] = 'x';
  EXPECT_EQ(send_and_read_error(client, garbage).status, Status::bad_magic);
  EXPECT_TRUE(closed_by_server(client));
  expect_still_serving();
}

TEST_F(ServeMalformed, ZeroOrTooManyImagesKeepTheConnectionOpen) {
  Client client = server_.client();
  EXPECT_EQ(send_and_read_error(client, predict_frame(0)).status, Status::wrong_image_count);
  EXPECT_EQ(send_and_read_error(client, predict_frame(9)).status, Status::wrong_image_count);
  EXPECT_EQ(client.predict(random_images(8, 1), 8).status, Status::ok);  // same connection
}

TEST_F(ServeMalformed, WrongPixelCountOrShapeKeepTheConnectionOpen) {
  Client client = server_.client();
  auto short_frame = predict_frame(2, kPixels);
  // Drop one pixel, and fix up the payload length so the frame itself is whole.
  short_frame.pop_back();
  short_frame[16] -= 1;
  EXPECT_EQ(send_and_read_error(client, short_frame).status, Status::wrong_image_size);
  EXPECT_EQ(send_and_read_error(client, predict_frame(1, 32 * 32, {1, 32, 32})).status, Status::wrong_image_size);
  EXPECT_EQ(client.predict(random_images(1, 1), 1).status, Status::ok);
}

TEST_F(ServeMalformed, UnknownTypeKeepsTheConnectionOpen) {
  Client client = server_.client();
  Frame frame;
  EXPECT_EQ(send_and_read_error(client, raw_header(protocol::kMagic, 1, 42, 8, 0), &frame).status,
            Status::unknown_type);
  EXPECT_EQ(frame.header.type, 42 | protocol::kResponseBit);
  EXPECT_EQ(frame.header.request_id, 8u);
  EXPECT_EQ(client.health().status, Status::ok);
}

TEST_F(ServeMalformed, InfoHealthAndStatsWithAPayloadAreMalformed) {
  Client client = server_.client();
  for (uint16_t type : {2, 3, 4}) {
    auto bytes = raw_header(protocol::kMagic, 1, type, 60 + type, 3);
    bytes.insert(bytes.end(), {1, 2, 3});
    Frame frame;
    auto error = send_and_read_error(client, bytes, &frame);
    EXPECT_EQ(error.status, Status::malformed) << type;
    EXPECT_NE(error.message.find("empty payload"), std::string::npos) << error.message;
    EXPECT_EQ(frame.header.type, type | protocol::kResponseBit);
    EXPECT_EQ(frame.header.request_id, 60u + type);
  }
  EXPECT_EQ(client.health().status, Status::ok);  // the connection stays open
}

TEST_F(ServeMalformed, NonFiniteFloatsAreRefused) {
  Client client = server_.client();
  std::vector<float> image(kPixels, 0.0f);
  image[3] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(client.predict_normalised(image, 1).status, Status::malformed);
}

TEST_F(ServeMalformed, TruncatedFrameIsDroppedByTheReadTimeout) {
  Client client = server_.client();
  auto frame = predict_frame(1);
  frame.resize(frame.size() / 2);
  client.send_bytes(frame);
  expect_still_serving();
  EXPECT_TRUE(closed_by_server(client, 3000));  // idle timeout 300 ms
}

TEST_F(ServeMalformed, ClientDisconnectingMidFrameDoesNotHurtOthers) {
  for (int i = 0; i < 20; ++i) {
    Client client = server_.client();
    auto frame = predict_frame(4);
    frame.resize(frame.size() * i / 20 + 1);
    client.send_bytes(frame);
    client.close();
  }
  expect_still_serving();
}

TEST_F(ServeMalformed, RandomFramesWithAValidHeaderNeverBreakTheServer) {
  std::mt19937 rng(17);
  for (int i = 0; i < 200; ++i) {
    Client client = server_.client();
    uint16_t type = static_cast<uint16_t>(rng() % 8);
    std::vector<uint8_t> payload(rng() % 64);
    for (auto& b : payload) b = static_cast<uint8_t>(rng());
    auto bytes = raw_header(protocol::kMagic, 1, type, i, static_cast<uint32_t>(payload.size()));
    bytes.insert(bytes.end(), payload.begin(), payload.end());
    client.send_bytes(bytes);
    Frame frame = client.read_frame();  // every such frame is answered (an error, or INFO/HEALTH/STATS)
    EXPECT_EQ(frame.header.request_id, static_cast<uint64_t>(i));
  }
  expect_still_serving();
}

}  // namespace
