// Example: classify one blank 28×28 image with the C++ client and print the
// answer. Usage: gradcore_client_example [port]   (server on 127.0.0.1)
#include "serve/client.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

int main(int argc, char** argv) {
  int port = argc > 1 ? std::atoi(argv[1]) : 7878;
  try {
    gc::serve::Client client("127.0.0.1", port);
    std::vector<uint8_t> image(28 * 28, 0);
    for (int y = 4; y < 24; ++y) image[y * 28 + 14] = 255;  // a vertical stroke, roughly a "1"
    auto answer = client.predict(image, 1, /*want_logits=*/true);
    if (answer.status != gc::serve::protocol::Status::ok) {
      std::fprintf(stderr, "server refused: %s %s\n", gc::serve::protocol::status_name(answer.status),
                   answer.message.c_str());
      return 1;
    }
    const auto& p = answer.predictions[0];
    std::printf("model version %lld predicts %d\n", static_cast<long long>(answer.model_version), p.predicted_class);
    for (size_t k = 0; k < p.probabilities.size(); ++k)
      std::printf("  class %zu  p=%.4f  logit=%.3f\n", k, p.probabilities[k], p.logits[k]);
    std::printf("health model version %lld\n", static_cast<long long>(client.health().model_version));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
