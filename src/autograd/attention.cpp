#include "autograd/attention.h"

#include "ops/attention.h"

namespace cubist {

Var attention(const Var& q, const Var& k, const Var& v, const std::vector<int64_t>& seqlens_q,
              const std::vector<int64_t>& seqlens_kv, float scale) {
  // The kernels read contiguous memory; a view is copied once here and the copy kept for backward.
  const Tensor qv = q.value().contiguous(), kv = k.value().contiguous(),
               vv = v.value().contiguous();
  ops::AttentionResult r = ops::attention_forward(qv, kv, vv, seqlens_q, seqlens_kv, scale);
  return record(
      "attention", r.out, {q, k, v},
      [qv, kv, vv, out = r.out, lse = r.lse, seqlens_q, seqlens_kv, scale](const Tensor& g) {
        ops::AttentionGrads d = ops::attention_backward(qv, kv, vv, out, lse, g.contiguous(),
                                                        seqlens_q, seqlens_kv, scale);
        return Grads{d.dq, d.dk, d.dv};
      });
}

}  // namespace cubist
