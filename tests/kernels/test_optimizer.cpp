// SGD and Adam/AdamW updates over 3 steps against the formulas written out
// one element at a time (in double, as PyTorch documents them), plus two
// hand-computed scalar examples and argument checks.
//
// Tolerance: the kernel runs in float; each step's update differs from the
// double reference by a few float roundings, so we allow
// |w − ref| ≤ 1e-6·(1 + |ref|), |buf − ref|, |m − ref|, |v − ref| likewise.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/optimizer.h"
#include "kernels/cpu/rng.h"

namespace gc::cpu {
namespace {

std::vector<float> random_vector(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.uniform(-1, 1));
  return v;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_TRUE(std::fabs(got[i] - want[i]) <= 1e-6 * (1 + std::fabs(want[i])))
        << what << "[" << i << "] got " << got[i] << " want " << want[i];
}

struct SgdCase {
  const char* name;
  float momentum, weight_decay;
  bool nesterov;
};

TEST(Optimizer, SgdMatchesStepByStepFormulas) {
  const SgdCase cases[] = {{"plain", 0, 0, false},         {"weight decay", 0, 0.01f, false},
                           {"momentum", 0.9f, 0, false},   {"nesterov", 0.9f, 0, true},
                           {"all", 0.8f, 0.05f, true},     {"momentum+wd", 0.5f, 0.1f, false}};
  const float lr = 0.1f;
  for (int64_t n : {1, 7, 33, 40001}) {
    for (const SgdCase& c : cases) {
      SCOPED_TRACE(std::string(c.name) + " n=" + std::to_string(n));
      std::vector<float> w = random_vector(n, 1), velocity(n, 123.0f);  // stale buffer: step 1 must not read it
      std::vector<double> rw(w.begin(), w.end()), rbuf(n);
      for (int64_t step = 1; step <= 3; ++step) {
        const auto g = random_vector(n, 10 + step);
        sgd_update(n, w.data(), g.data(), c.momentum == 0 ? nullptr : velocity.data(), step, lr, c.momentum,
                   c.weight_decay, c.nesterov);
        for (int64_t i = 0; i < n; ++i) {
          const double gd = g[i] + double(c.weight_decay) * rw[i];  // g' = g + wd·w
          double direction = gd;
          if (c.momentum != 0) {
            rbuf[i] = step == 1 ? gd : double(c.momentum) * rbuf[i] + gd;  // buf
            direction = c.nesterov ? gd + double(c.momentum) * rbuf[i] : rbuf[i];
          }
          rw[i] -= double(lr) * direction;
        }
        SCOPED_TRACE("step " + std::to_string(step));
        expect_close(w, rw, "w");
        if (c.momentum != 0) expect_close(velocity, rbuf, "velocity");
      }
    }
  }
}

// w = 1, g = 0.5 each step, lr = 0.1, momentum 0.9:
//   buf: 0.5, 0.95, 1.355;  w: 0.95, 0.855, 0.7195.
TEST(Optimizer, SgdMomentumHandExample) {
  float w = 1, buf = 0;
  const float g = 0.5f;
  const float want[3] = {0.95f, 0.855f, 0.7195f};
  for (int step = 1; step <= 3; ++step) {
    sgd_update(1, &w, &g, &buf, step, 0.1f, 0.9f, 0, false);
    EXPECT_NEAR(w, want[step - 1], 1e-6) << "step " << step;
  }
  EXPECT_NEAR(buf, 1.355f, 1e-6);
}

struct AdamCase {
  const char* name;
  float weight_decay;
  bool decoupled;
};

TEST(Optimizer, AdamAndAdamWMatchStepByStepFormulas) {
  const AdamCase cases[] = {{"adam", 0, false}, {"adam l2", 0.1f, false}, {"adamw", 0.1f, true}};
  const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
  for (int64_t n : {1, 7, 33, 40001}) {
    for (const AdamCase& c : cases) {
      SCOPED_TRACE(std::string(c.name) + " n=" + std::to_string(n));
      std::vector<float> w = random_vector(n, 2), m(n, 0.0f), v(n, 0.0f);
      std::vector<double> rw(w.begin(), w.end()), rm(n, 0), rv(n, 0);
      for (int64_t step = 1; step <= 3; ++step) {
        const auto g = random_vector(n, 20 + step);
        adam_update(n, w.data(), g.data(), m.data(), v.data(), step, lr, b1, b2, eps, c.weight_decay,
                    c.decoupled);
        for (int64_t i = 0; i < n; ++i) {
          double gd = g[i];
          if (c.decoupled) rw[i] *= 1 - double(lr) * c.weight_decay;  // AdamW: w ← w·(1 − lr·wd)
          else gd += double(c.weight_decay) * rw[i];                 // Adam: g' = g + wd·w
          rm[i] = double(b1) * rm[i] + (1 - double(b1)) * gd;
          rv[i] = double(b2) * rv[i] + (1 - double(b2)) * gd * gd;
          const double m_hat = rm[i] / (1 - std::pow(double(b1), double(step)));
          const double v_hat = rv[i] / (1 - std::pow(double(b2), double(step)));
          rw[i] -= double(lr) * m_hat / (std::sqrt(v_hat) + eps);
        }
        SCOPED_TRACE("step " + std::to_string(step));
        expect_close(m, rm, "m");
        expect_close(v, rv, "v");
        expect_close(w, rw, "w");
      }
    }
  }
}

// Step 1 of Adam moves every weight by about lr·sign(g): m̂ = g, v̂ = g².
TEST(Optimizer, AdamFirstStepHandExample) {
  float w[2] = {1.0f, 1.0f}, m[2] = {}, v[2] = {};
  const float g[2] = {0.5f, -2.0f};
  adam_update(2, w, g, m, v, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0, false);
  EXPECT_NEAR(w[0], 0.9f, 1e-6);
  EXPECT_NEAR(w[1], 1.1f, 1e-6);
}

TEST(Optimizer, BadArgumentsThrow) {
  float w = 0, g = 0, buf = 0, m = 0, v = 0;
  EXPECT_THROW(sgd_update(1, &w, &g, &buf, 0, 0.1f, 0.9f, 0, false), std::invalid_argument);   // step 0
  EXPECT_THROW(sgd_update(1, &w, &g, nullptr, 1, 0.1f, 0.9f, 0, false), std::invalid_argument);  // no buffer
  EXPECT_THROW(sgd_update(1, &w, &g, nullptr, 1, 0.1f, 0.0f, 0, true), std::invalid_argument);   // nesterov, no momentum
  EXPECT_THROW(sgd_update(1, &w, &g, nullptr, 1, -0.1f, 0, 0, false), std::invalid_argument);   // lr < 0
  EXPECT_THROW(adam_update(1, &w, &g, &m, &v, 1, 0.1f, 1.0f, 0.999f, 1e-8f, 0, false), std::invalid_argument);
  EXPECT_THROW(adam_update(1, &w, &g, &m, &v, 1, 0.1f, 0.9f, 0.999f, 1e-8f, -1, true), std::invalid_argument);
  EXPECT_THROW(adam_update(1, &w, &g, &m, &v, 1, std::nanf(""), 0.9f, 0.999f, 1e-8f, 0, true), std::invalid_argument);
}

}  // namespace
}  // namespace gc::cpu
