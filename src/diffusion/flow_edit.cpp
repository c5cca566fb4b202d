#include "diffusion/flow_edit.h"

#include "core/error.h"
#include "ops/elementwise.h"

namespace cubist::flow {

Tensor edit(const EditVelocityFn& velocity_difference, const Tensor& source,
            const std::vector<float>& times, Generator& gen, const StepFn& on_step) {
  CUBIST_CHECK(times.size() >= 2, "flow edit: a schedule needs at least two times");
  const Tensor src = source.contiguous();
  Tensor z = src.clone();
  Tensor noise = Tensor::empty(src.shape());
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    const float t = times[i];
    gen.normal_(noise);
    const Tensor z_src = noisy(src, noise, t);
    const Tensor z_tar = ops::sub(ops::add(z, z_src), src);
    const Tensor v = velocity_difference(z_tar, z_src, t).contiguous();
    CUBIST_CHECK(v.shape() == src.shape(), "flow edit: the velocity difference ", v.shape(),
                 " must have the source's shape ", src.shape());
    ops::axpy_(z, times[i + 1] - t, v);
    if (on_step) on_step(static_cast<int>(i + 1), static_cast<int>(times.size() - 1));
  }
  return z;
}

}  // namespace cubist::flow
