#include "layers/module.h"

namespace gc {

Tensor Module::operator()(const Tensor& x) {
  Tensor y = forward(x);
  for (const ForwardHook& hook : hooks_) hook(*this, y);
  return y;
}

}  // namespace gc
