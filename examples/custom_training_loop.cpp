// Example: a training loop written against the engine and the layers
// directly. It trains a small MLP on synthetic 28×28 images of ten classes
// (draw_bar), prints the loss as it falls, and saves the model as a .gcm
// file for load_and_predict (which, unlike `gradcore predict`, does not move
// the ink to the centre as MNIST's digits are: here the place is the class).
// Usage: custom_training_loop [OUT.gcm]
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <random>
#include <vector>

#include "engine/ops.h"
#include "layers/layers.h"
#include "layers/optimizer.h"
#include "layers/sequential.h"
#include "serialize/model_store.h"

constexpr int kPixels = 28 * 28;

// Class k: a bright vertical bar of random length in columns 4+2k and 5+2k,
// among random specks.
static void draw_bar(int label, std::mt19937& rng, uint8_t* pixels) {
  const unsigned top = rng() % 8, bottom = 20 + rng() % 8;
  for (unsigned y = 0; y < 28; ++y)
    for (unsigned x = 0; x < 28; ++x) {
      bool bar = y >= top && y < bottom && (x == 4 + 2u * label || x == 5 + 2u * label);
      pixels[y * 28 + x] = static_cast<uint8_t>(bar ? 255 : rng() % 8 == 0 ? rng() % 256 : 0);
    }
}

int main(int argc, char** argv) {
  try {
    gc::Sequential model;  // flatten linear(784,32) relu linear(32,10)
    model.add(std::make_unique<gc::Flatten>());
    model.add(std::make_unique<gc::Linear>(kPixels, 32));
    model.add(std::make_unique<gc::ReLU>());
    model.add(std::make_unique<gc::Linear>(32, 10));
    model.reset_parameters(/*seed=*/1, "he");
    gc::Adam optimizer(model.parameters(), /*lr=*/1e-3, gc::AdamOptions{});

    gc::ModelInfo info;  // 1×28×28 inputs scaled like MNIST's, labels "0".."9"
    info.name = "bars";
    info.dataset = "synthetic bars";
    std::mt19937 rng(7);
    const int batch = 32;
    std::vector<uint8_t> pixels(kPixels);
    for (int step = 1; step <= 150; ++step) {
      std::vector<float> images(batch * kPixels);
      std::vector<int32_t> labels(batch);
      for (int i = 0; i < batch; ++i) {
        labels[i] = static_cast<int32_t>(rng() % 10);
        draw_bar(labels[i], rng, pixels.data());
        for (int p = 0; p < kPixels; ++p)  // the same normalisation a loaded model applies
          images[i * kPixels + p] = static_cast<float>((pixels[p] * info.input_scale - info.input_mean) / info.input_std);
      }
      gc::Tensor x = gc::Tensor::from_vector({batch, 1, 28, 28}, images);

      optimizer.zero_grad();
      gc::Tensor loss = gc::softmax_cross_entropy(model(x), labels);
      loss.backward();  // fills each parameter's .grad through the tape
      optimizer.step();
      if (step == 1 || step % 25 == 0) std::printf("step %3d  loss %.4f\n", step, loss.item());
    }
    if (argc > 1) {
      gc::save_model(argv[1], model, info);
      std::printf("saved %s\n", argv[1]);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "custom_training_loop: %s\n", e.what());
    return 1;
  }
  return 0;
}
