// Optimizer updates: one fused pass over a parameter tensor, float only.
// The formulas follow PyTorch's torch.optim.SGD and torch.optim.Adam/AdamW
// (dampening 0, amsgrad off), so a model trained here can be checked step by
// step against a PyTorch run. step counts from 1.
#pragma once

#include <cstdint>

namespace gc::cpu {

// SGD with momentum (Sutskever et al. 2013 form, as in PyTorch):
//   g' = g + wd·w
//   buf = g'                       at step 1
//   buf = momentum·buf + g'        at later steps
//   d = g' + momentum·buf  (nesterov)   or   d = buf   (otherwise);  d = g' when momentum = 0
//   w −= lr·d
// velocity holds buf and may be null when momentum == 0. Bad arguments
// (step < 1, negative lr/momentum/weight_decay, nesterov without momentum,
// missing velocity) throw std::invalid_argument.
void sgd_update(int64_t n, float* w, const float* g, float* velocity, int64_t step, float lr,
                float momentum, float weight_decay, bool nesterov);

// Adam (Kingma & Ba 2015) and, with decoupled = true, AdamW (Loshchilov &
// Hutter 2019):
//   Adam:  g' = g + wd·w             AdamW:  g' = g,  w ← w·(1 − lr·wd)
//   m = β1·m + (1 − β1)·g'
//   v = β2·v + (1 − β2)·g'²
//   m̂ = m/(1 − β1^t),  v̂ = v/(1 − β2^t)
//   w −= lr·m̂/(√v̂ + eps)
// m and v start at zero. Bad arguments throw std::invalid_argument.
void adam_update(int64_t n, float* w, const float* g, float* m, float* v, int64_t step, float lr,
                 float beta1, float beta2, float eps, float weight_decay, bool decoupled);

}  // namespace gc::cpu
