#include "autograd/attention.h"

#include "ops/attention.h"

namespace cubist {

Var attention(const Var& q, const Var& k, const Var& v, const std::vector<int64_t>& seqlens_q,
              const std::vector<int64_t>& seqlens_kv, float scale) {
  ops::AttentionResult r =
      ops::attention_forward(q.value(), k.value(), v.value(), seqlens_q, seqlens_kv, scale);
  return record("attention", r.out, {q, k, v},
                [qv = q.value(), kv = k.value(), vv = v.value(), out = r.out, lse = r.lse,
                 seqlens_q, seqlens_kv, scale](const Tensor& g) {
                  ops::AttentionGrads d = ops::attention_backward(
                      qv, kv, vv, out, lse, g.contiguous(), seqlens_q, seqlens_kv, scale);
                  return Grads{d.dq, d.dk, d.dv};
                });
}

}  // namespace cubist
