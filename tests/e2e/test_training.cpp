// Training on a fixed subset of the real MNIST: the loss falls and accuracy
// rises past a bound; runs are bitwise reproducible; a checkpoint resumes
// bit-exactly, also after the training process is killed with SIGKILL.
#include <gtest/gtest.h>
#include <omp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "tests/e2e/mnist_fixture.h"
#include "tools/data/dataset.h"
#include "tools/training/trainer.h"

namespace gc::training {
namespace {

struct Mnist {
  data::Dataset train, test;
};

const Mnist& mnist() {
  static Mnist m{data::load_mnist(mnist_dir(), data::Split::train), data::load_mnist(mnist_dir(), data::Split::test)};
  return m;
}

TrainOptions small_run() {
  TrainOptions o;
  o.model = "seed-cnn";
  o.batch = 64;
  o.epochs = 1;
  o.train_limit = 64 * 300;
  o.test_limit = 1000;
  o.seed = 11;
  return o;
}

std::vector<std::vector<double>> weights(Trainer& t) {
  std::vector<std::vector<double>> w;
  for (ParamRef p : t.model().parameters()) w.push_back(p.tensor->to_doubles());
  return w;
}

// 300 Adam steps of batch 64 on seed-cnn: measured 95.0% on the first 1,000
// test images; the bound leaves room for the seed and for rounding-level
// kernel changes, which move it by about a point (93.9% with Winograd
// grad-weight blocks of 144 columns instead of 128). The loss is compared as
// means over 100 steps: one batch's loss moves by ±30% from batch to batch.
TEST(Training, LossFallsAndAccuracyPasses94PercentIn300Steps) {
  REQUIRE_MNIST();
  omp_set_num_threads(2);
  TrainOptions o = small_run();
  o.log_every = 1;
  Trainer t(o, mnist().train, mnist().test);
  std::vector<double> losses;
  TrainCallbacks cb;
  cb.on_step = [&](int64_t, int64_t, double loss, double) { losses.push_back(loss); };
  auto results = t.run(cb);
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(losses.size(), 300u);
  auto mean = [&](size_t begin, size_t end) {
    double sum = 0;
    for (size_t i = begin; i < end; ++i) sum += losses[i];
    return sum / double(end - begin);
  };
  const double first = mean(0, 100), last = mean(200, 300);
  EXPECT_LT(last, first * 0.5) << "mean loss of steps 1-100: " << first << ", of 201-300: " << last;
  EXPECT_GT(results[0].test.accuracy(), 0.94);
}

TEST(Training, SameSeedAndThreadsGiveBitwiseIdenticalRuns) {
  REQUIRE_MNIST();
  omp_set_num_threads(2);
  TrainOptions o = small_run();
  o.max_steps = 40;
  o.augment = true;
  o.model = "conv(1,8,3) relu maxpool(2) flatten dropout(0.25) linear(1352,10)";
  Trainer a(o, mnist().train, mnist().test), b(o, mnist().train, mnist().test);
  std::vector<double> la, lb;
  TrainCallbacks ca, cb;
  ca.on_batch = [&](int64_t, int64_t, double l) { la.push_back(l); };
  cb.on_batch = [&](int64_t, int64_t, double l) { lb.push_back(l); };
  a.run(ca);
  b.run(cb);
  EXPECT_EQ(la, lb);
  EXPECT_EQ(weights(a), weights(b));
}

std::filesystem::path temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("gradcore-e2e-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

// N steps, checkpoint, resume for M more == N + M uninterrupted, across an
// epoch boundary, with augmentation and dropout in play.
TEST(Training, ResumeFromCheckpointIsBitExact) {
  REQUIRE_MNIST();
  omp_set_num_threads(2);
  TrainOptions o = small_run();
  o.model = "conv(1,8,3) relu maxpool(2) flatten dropout(0.25) linear(1352,10)";
  o.train_limit = 64 * 5;
  o.test_limit = 200;
  o.epochs = 2;
  o.augment = true;
  o.schedule = "onecycle";

  Trainer whole(o, mnist().train, mnist().test);
  whole.run();

  TrainOptions first = o;
  first.max_steps = 3;
  Trainer part(first, mnist().train, mnist().test);
  part.run();
  auto ckpt = part.checkpoint();
  auto path = temp_path("resume.gcm");
  save_model(path, part.model(), part.model_info(), &ckpt);

  Trainer rest(o, mnist().train, mnist().test);
  rest.resume(load_model(path));
  EXPECT_EQ(rest.step(), 3);
  rest.run();
  EXPECT_EQ(rest.step(), whole.step());
  EXPECT_EQ(weights(rest), weights(whole));
}

// A training process killed with SIGKILL between checkpoints leaves its last
// checkpoint loadable and resumable.
TEST(Training, CheckpointSurvivesKill9) {
  REQUIRE_MNIST();
  auto out = temp_path("killed.gcm");
  auto ckpt = temp_path("killed.ckpt.gcm");
  std::filesystem::remove(ckpt);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string data = mnist_dir();
    execl(GRADCORE_BINARY, GRADCORE_BINARY, "train", "--model", "mlp", "--epochs", "1000", "--train-limit", "2000",
          "--test-limit", "200", "--batch", "100", "--threads", "1", "--data", data.c_str(), "--out", out.c_str(),
          "--checkpoint", ckpt.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait for the first checkpoint, then let it run into later epochs and kill it mid-write or mid-epoch.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(ckpt) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(std::filesystem::exists(ckpt)) << "no checkpoint within 60 s";
  LoadedModel loaded = load_model(ckpt);
  ASSERT_TRUE(loaded.checkpoint.has_value());
  EXPECT_GE(loaded.checkpoint->epoch, 1);

  TrainOptions o = TrainOptions::from_json(loaded.checkpoint->options);
  o.epochs = loaded.checkpoint->epoch + 1;
  Trainer resumed(o, mnist().train, mnist().test);
  resumed.resume(std::move(loaded));
  auto results = resumed.run();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_GT(results[0].test.accuracy(), 0.8);
}

}  // namespace
}  // namespace gc::training
