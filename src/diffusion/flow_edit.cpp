#include "diffusion/flow_edit.h"

#include "core/error.h"

namespace cubist::flow {

Tensor edit(const EditVelocityFn& velocity_difference, const Tensor& source,
            const std::vector<float>& times, Generator& gen, const StepFn& on_step) {
  CUBIST_CHECK(times.size() >= 2, "flow edit: a schedule needs at least two times");
  const Tensor src = source.contiguous();
  const int64_t n = src.numel();
  const float* ps = src.data<float>();
  Tensor z = src.clone();
  Tensor noise = Tensor::empty(src.shape());
  Tensor z_src = Tensor::empty(src.shape()), z_tar = Tensor::empty(src.shape());
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    const float t = times[i], dt = times[i + 1] - t;
    gen.normal_(noise);
    const float* pn = noise.data<float>();
    float *pz = z.data<float>(), *pzs = z_src.data<float>(), *pzt = z_tar.data<float>();
    for (int64_t k = 0; k < n; ++k) {
      pzs[k] = (1.0f - t) * ps[k] + t * pn[k];
      pzt[k] = pz[k] + pzs[k] - ps[k];
    }
    const Tensor v = velocity_difference(z_tar, z_src, t).contiguous();
    CUBIST_CHECK(v.shape() == src.shape(), "flow edit: the velocity difference ", v.shape(),
                 " must have the source's shape ", src.shape());
    const float* pv = v.data<float>();
    for (int64_t k = 0; k < n; ++k) pz[k] += dt * pv[k];
    if (on_step) on_step(static_cast<int>(i + 1), static_cast<int>(times.size() - 1));
  }
  return z;
}

}  // namespace cubist::flow
