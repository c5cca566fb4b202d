#include "ops/conv3d.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <dnnl.hpp>

#include "core/parallel.h"
#include "ops/check.h"
#include "ops/gemm.h"

namespace cubist::ops {

namespace {

constexpr const char* kOp = "conv3d";

// Everything about one convolution's sizes, worked out once from the shapes and the params.
struct Geometry {
  int64_t B, Ci, T, H, W;
  int64_t Co, kt, kh, kw;
  int64_t st, sh, sw;
  int64_t pt0, pt1, ph, pw;  // padding before / after in time, symmetric in space
  int64_t To, Ho, Wo;
  bool replicate;  // padded frames before the first copy it (causal replicate)

  int64_t taps() const { return kt * kh * kw; }
  int64_t in_frame() const { return H * W; }
  int64_t out_frame() const { return Ho * Wo; }
};

Geometry make_geometry(const Dims& x, const Dims& w, const Conv3dParams& p) {
  CUBIST_CHECK(x.size() == 5, kOp, ": x must be 5-d [B, Ci, T, H, W], got shape ", x);
  CUBIST_CHECK(w.size() == 5, kOp, ": w must be 5-d [Co, Ci, kt, kh, kw], got shape ", w);
  CUBIST_CHECK(x[1] == w[1], kOp, ": x has ", x[1], " channels but w ", w, " expects ", w[1],
               " (x is [B, Ci, T, H, W], w is [Co, Ci, kt, kh, kw])");
  for (int i = 0; i < 3; ++i) {
    CUBIST_CHECK(p.stride[i] >= 1, kOp, ": strides must be >= 1, got ", p.stride[i]);
    CUBIST_CHECK(p.padding[i] >= 0, kOp, ": padding must be >= 0, got ", p.padding[i]);
    CUBIST_CHECK(w[2 + i] >= 1, kOp, ": kernel sizes must be >= 1, got w ", w);
  }
  for (int i = 0; i < 5; ++i)
    CUBIST_CHECK(x[i] >= 1, kOp, ": x must have no empty dimension, got ", x);
  Geometry g{};
  g.B = x[0], g.Ci = x[1], g.T = x[2], g.H = x[3], g.W = x[4];
  g.Co = w[0], g.kt = w[2], g.kh = w[3], g.kw = w[4];
  g.st = p.stride[0], g.sh = p.stride[1], g.sw = p.stride[2];
  const bool causal = p.time_padding != TimePadding::kSymmetric;
  g.pt0 = causal ? g.kt - 1 : p.padding[0];
  g.pt1 = causal ? 0 : p.padding[0];
  g.ph = p.padding[1], g.pw = p.padding[2];
  g.replicate = p.time_padding == TimePadding::kCausalReplicate;
  const int64_t Tp = g.T + g.pt0 + g.pt1, Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw;
  CUBIST_CHECK(g.kt <= Tp && g.kh <= Hp && g.kw <= Wp, kOp, ": kernel [", g.kt, ", ", g.kh, ", ",
               g.kw, "] is larger than the padded input [", Tp, ", ", Hp, ", ", Wp,
               "]; each kernel size must be at most the padded input size");
  g.To = (Tp - g.kt) / g.st + 1;
  g.Ho = (Hp - g.kh) / g.sh + 1;
  g.Wo = (Wp - g.kw) / g.sw + 1;
  return g;
}

void check_inputs(const Tensor& x, const Tensor& w, const Tensor& bias) {
  check_f32(kOp, "x", x);
  check_f32(kOp, "w", w);
  if (bias.defined()) {
    check_f32(kOp, "bias", bias);
    CUBIST_CHECK(bias.dim() == 1 && bias.size(0) == w.size(0), kOp, ": bias must be [Co] = [",
                 w.size(0), "], got ", bias.shape());
  }
}

Dims out_dims(const Geometry& g) { return {g.B, g.Co, g.To, g.Ho, g.Wo}; }

// db[co] = sum over b and all output positions of dy; per channel in a fixed order.
Tensor bias_grad(const Tensor& dy, const Geometry& g) {
  Tensor db = Tensor::empty({g.Co});
  const float* d = dy.data<float>();
  float* o = db.data<float>();
  const int64_t L = g.To * g.out_frame();
  parallel_for(g.Co, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t co = c0; co < c1; ++co) {
      double s = 0;
      for (int64_t b = 0; b < g.B; ++b) {
        const float* r = d + (b * g.Co + co) * L;
        float part = 0;
        for (int64_t i = 0; i < L; ++i) part += r[i];
        s += part;
      }
      o[co] = static_cast<float>(s);
    }
  });
  return db;
}

// ---------------------------------------------------------------------------------------------
// vol2col + GEMM. Columns hold, for a block of output frames [t0, t1) of one batch item, one row
// per (ci, i, j, k) and one column per output position: col[r, (t - t0)*Ho*Wo + h*Wo + w] =
// xpad[b, ci, t*st + i, h*sh + j, w*sw + k]. Then y_block[Co, N] = w[Co, R] * col[R, N].

// Input frame for padded time index tp, or -1 for a zero frame.
inline int64_t source_frame(const Geometry& g, int64_t tp) {
  const int64_t t = tp - g.pt0;
  if (t < 0) return g.replicate ? 0 : -1;
  return t < g.T ? t : -1;
}

// How many output frames one column block holds: enough columns for an efficient GEMM, few
// enough that the block stays within about 64 MB.
int64_t frames_per_block(const Geometry& g) {
  const int64_t rows = g.Ci * g.taps();
  const int64_t budget = (int64_t{16} << 20) / std::max<int64_t>(1, rows * g.out_frame());
  return std::clamp<int64_t>(budget, 1, g.To);
}

void vol2col(const Geometry& g, const float* xb, int64_t t0, int64_t t1, float* col) {
  const int64_t N = (t1 - t0) * g.out_frame();
  const int64_t rows = g.Ci * g.taps();
  parallel_for(rows, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t ci = r / g.taps(), i = r / (g.kh * g.kw) % g.kt;
      const int64_t j = r / g.kw % g.kh, k = r % g.kw;
      float* dst = col + r * N;
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t src = source_frame(g, t * g.st + i);
        const float* xf = src < 0 ? nullptr : xb + (ci * g.T + src) * g.in_frame();
        for (int64_t ho = 0; ho < g.Ho; ++ho, dst += g.Wo) {
          const int64_t hi = ho * g.sh - g.ph + j;
          if (!xf || hi < 0 || hi >= g.H) {
            std::fill(dst, dst + g.Wo, 0.0f);
            continue;
          }
          const float* xr = xf + hi * g.W;
          for (int64_t wo = 0; wo < g.Wo; ++wo) {
            const int64_t wi = wo * g.sw - g.pw + k;
            dst[wo] = (wi >= 0 && wi < g.W) ? xr[wi] : 0.0f;
          }
        }
      }
    }
  });
}

// The adjoint of vol2col: adds each column entry into the input position it was read from.
// Parallel over input channels (each owns its rows), serial within, so the order is fixed.
void col2vol_add(const Geometry& g, const float* col, int64_t t0, int64_t t1, float* dxb) {
  const int64_t N = (t1 - t0) * g.out_frame();
  parallel_for(g.Ci, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t ci = c0; ci < c1; ++ci) {
      for (int64_t tap = 0; tap < g.taps(); ++tap) {
        const int64_t i = tap / (g.kh * g.kw), j = tap / g.kw % g.kh, k = tap % g.kw;
        const float* src = col + (ci * g.taps() + tap) * N;
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t f = source_frame(g, t * g.st + i);
          if (f < 0) {
            src += g.out_frame();
            continue;
          }
          float* xf = dxb + (ci * g.T + f) * g.in_frame();
          for (int64_t ho = 0; ho < g.Ho; ++ho, src += g.Wo) {
            const int64_t hi = ho * g.sh - g.ph + j;
            if (hi < 0 || hi >= g.H) continue;
            float* xr = xf + hi * g.W;
            for (int64_t wo = 0; wo < g.Wo; ++wo) {
              const int64_t wi = wo * g.sw - g.pw + k;
              if (wi >= 0 && wi < g.W) xr[wi] += src[wo];
            }
          }
        }
      }
    }
  });
}

Tensor forward_vol2col(const Geometry& g, const Tensor& x, const Tensor& w, const Tensor& bias) {
  Tensor y = Tensor::empty(out_dims(g));
  const int64_t R = g.Ci * g.taps(), L = g.To * g.out_frame(), fpb = frames_per_block(g);
  Tensor col = Tensor::empty({R * fpb * g.out_frame()});
  for (int64_t b = 0; b < g.B; ++b) {
    const float* xb = x.data<float>() + b * g.Ci * g.T * g.in_frame();
    float* yb = y.data<float>() + b * g.Co * L;
    for (int64_t t0 = 0; t0 < g.To; t0 += fpb) {
      const int64_t t1 = std::min(g.To, t0 + fpb), N = (t1 - t0) * g.out_frame();
      vol2col(g, xb, t0, t1, col.data<float>());
      gemm(false, false, g.Co, N, R, 1.0f, w.data<float>(), R, col.data<float>(), N, 0.0f,
           yb + t0 * g.out_frame(), L);
    }
  }
  if (bias.defined()) {
    const float* bp = bias.data<float>();
    float* yp = y.data<float>();
    parallel_for(g.B * g.Co, 1, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t i = 0; i < L; ++i) yp[r * L + i] += bp[r % g.Co];
    });
  }
  return y;
}

void backward_vol2col(const Geometry& g, const Tensor& dy, const Tensor& x, const Tensor& w,
                      Conv3dGrads& out, bool need_dx, bool need_dw) {
  const int64_t R = g.Ci * g.taps(), L = g.To * g.out_frame(), fpb = frames_per_block(g);
  Tensor col = Tensor::empty({R * fpb * g.out_frame()});
  if (need_dx) out.dx = Tensor::zeros({g.B, g.Ci, g.T, g.H, g.W});
  if (need_dw) out.dw = Tensor::zeros({g.Co, g.Ci, g.kt, g.kh, g.kw});
  for (int64_t b = 0; b < g.B; ++b) {
    const float* xb = x.data<float>() + b * g.Ci * g.T * g.in_frame();
    const float* dyb = dy.data<float>() + b * g.Co * L;
    for (int64_t t0 = 0; t0 < g.To; t0 += fpb) {
      const int64_t t1 = std::min(g.To, t0 + fpb), N = (t1 - t0) * g.out_frame();
      const float* dyt = dyb + t0 * g.out_frame();
      if (need_dw) {  // dw[Co, R] += dy[Co, N] * col[R, N]^T
        vol2col(g, xb, t0, t1, col.data<float>());
        gemm(false, true, g.Co, R, N, 1.0f, dyt, L, col.data<float>(), N, 1.0f,
             out.dw.data<float>(), R);
      }
      if (need_dx) {  // dcol[R, N] = w[Co, R]^T * dy[Co, N], then scattered back
        gemm(true, false, R, N, g.Co, 1.0f, w.data<float>(), R, dyt, L, 0.0f, col.data<float>(), N);
        col2vol_add(g, col.data<float>(), t0, t1,
                    out.dx.data<float>() + b * g.Ci * g.T * g.in_frame());
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// oneDNN. Causal replicate padding is materialised (the first frame copied kt - 1 times in front)
// and then convolved without time padding; causal zero padding is oneDNN's asymmetric padding.

using dnnl::memory;
using Tag = memory::format_tag;

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// The primitives for one geometry (and thread count: oneDNN fixes its partition at creation).
struct DnnlConv {
  memory::desc x_user, w_user, y_user, b_user;
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  std::once_flag bwd_data_once, bwd_weights_once;
  dnnl::convolution_backward_data::primitive_desc bwd_data_pd;
  dnnl::convolution_backward_data bwd_data;
  dnnl::convolution_backward_weights::primitive_desc bwd_weights_pd;
  dnnl::convolution_backward_weights bwd_weights;
  memory::dims strides, pad_l, pad_r;
};

// The geometry oneDNN sees: replicate padding already applied to the input it is given.
Geometry dnnl_geometry(Geometry g) {
  if (g.replicate) {
    g.T += g.pt0;
    g.pt0 = 0;
    g.replicate = false;
  }
  return g;
}

std::shared_ptr<DnnlConv> dnnl_conv(const Geometry& g, bool has_bias) {
  static std::mutex mu;
  static std::map<std::array<int64_t, 19>, std::shared_ptr<DnnlConv>> cache;
  const std::array<int64_t, 19> key{g.B,  g.Ci, g.T,      g.H,           g.W,  g.Co,  g.kt,
                                    g.kh, g.kw, g.st,     g.sh,          g.sw, g.pt0, g.pt1,
                                    g.ph, g.pw, has_bias, num_threads(), 0};
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[key];
  if (slot) return slot;
  auto c = std::make_shared<DnnlConv>();
  const auto f32 = memory::data_type::f32;
  c->x_user = memory::desc({g.B, g.Ci, g.T, g.H, g.W}, f32, Tag::ncdhw);
  c->w_user = memory::desc({g.Co, g.Ci, g.kt, g.kh, g.kw}, f32, Tag::oidhw);
  c->y_user = memory::desc({g.B, g.Co, g.To, g.Ho, g.Wo}, f32, Tag::ncdhw);
  c->b_user = memory::desc({g.Co}, f32, Tag::x);
  c->strides = {g.st, g.sh, g.sw};
  c->pad_l = {g.pt0, g.ph, g.pw};
  c->pad_r = {g.pt1, g.ph, g.pw};
  const memory::desc x_any({g.B, g.Ci, g.T, g.H, g.W}, f32, Tag::any);
  const memory::desc w_any({g.Co, g.Ci, g.kt, g.kh, g.kw}, f32, Tag::any);
  const memory::desc y_any({g.B, g.Co, g.To, g.Ho, g.Wo}, f32, Tag::any);
  const auto algo = dnnl::algorithm::convolution_direct;
  const auto d =
      has_bias
          ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, x_any, w_any,
                                            c->b_user, y_any, c->strides, c->pad_l, c->pad_r)
          : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, x_any, w_any,
                                            y_any, c->strides, c->pad_l, c->pad_r);
  c->fwd_pd = dnnl::convolution_forward::primitive_desc(d, cpu_engine());
  c->fwd = dnnl::convolution_forward(c->fwd_pd);
  slot = c;
  return c;
}

// A oneDNN memory over a Tensor from our allocator, in layout `md`.
struct DnnlBuffer {
  Tensor t;
  memory m;
};

DnnlBuffer dnnl_buffer(const memory::desc& md) {
  DnnlBuffer b;
  b.t = Tensor::empty({static_cast<int64_t>(md.get_size() / sizeof(float))});
  b.m = memory(md, cpu_engine(), b.t.raw());
  return b;
}

// `user` (plain layout, our data) as a memory in layout `want`: a view if they agree, else a copy.
memory to_layout(dnnl::stream& s, const memory::desc& user_md, const Tensor& user,
                 const memory::desc& want, DnnlBuffer& keep) {
  memory um(user_md, cpu_engine(), user.raw());
  if (want == user_md) return um;
  keep = dnnl_buffer(want);
  dnnl::reorder(um, keep.m).execute(s, um, keep.m);
  return keep.m;
}

// Writes a result computed in layout `have` (memory m) into the plain tensor `user`.
void from_layout(dnnl::stream& s, memory m, const memory::desc& user_md, const Tensor& user) {
  memory um(user_md, cpu_engine(), user.raw());
  if (m.get_desc() == user_md) {
    if (m.get_data_handle() != user.raw())
      std::memcpy(user.raw(), m.get_data_handle(), user.nbytes());
    return;
  }
  dnnl::reorder(m, um).execute(s, m, um);
}

// x with the first frame copied kt - 1 times in front: [B, Ci, T + kt - 1, H, W].
Tensor replicate_pad(const Geometry& g, const Tensor& x) {
  const int64_t Tp = g.T + g.pt0, F = g.in_frame();
  Tensor xp = Tensor::empty({g.B, g.Ci, Tp, g.H, g.W});
  const float* s = x.data<float>();
  float* d = xp.data<float>();
  parallel_for(g.B * g.Ci, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* sr = s + r * g.T * F;
      float* dr = d + r * Tp * F;
      for (int64_t t = 0; t < g.pt0; ++t) std::memcpy(dr + t * F, sr, F * sizeof(float));
      std::memcpy(dr + g.pt0 * F, sr, g.T * F * sizeof(float));
    }
  });
  return xp;
}

// The adjoint of replicate_pad: the padded frames' gradients are added to the first frame.
Tensor replicate_unpad(const Geometry& g, const Tensor& dxp) {
  const int64_t Tp = g.T + g.pt0, F = g.in_frame();
  Tensor dx = Tensor::empty({g.B, g.Ci, g.T, g.H, g.W});
  const float* s = dxp.data<float>();
  float* d = dx.data<float>();
  parallel_for(g.B * g.Ci, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* sr = s + r * Tp * F;
      float* dr = d + r * g.T * F;
      std::memcpy(dr, sr + g.pt0 * F, g.T * F * sizeof(float));
      for (int64_t t = 0; t < g.pt0; ++t)
        for (int64_t i = 0; i < F; ++i) dr[i] += sr[t * F + i];
    }
  });
  return dx;
}

Tensor forward_dnnl(const Geometry& g0, const Tensor& x0, const Tensor& w, const Tensor& bias) {
  const Geometry g = dnnl_geometry(g0);
  const Tensor x = g0.replicate ? replicate_pad(g0, x0) : x0;
  auto c = dnnl_conv(g, bias.defined());
  dnnl::stream s(cpu_engine());
  DnnlBuffer xk, wk, yk;
  std::unordered_map<int, memory> args;
  args[DNNL_ARG_SRC] = to_layout(s, c->x_user, x, c->fwd_pd.src_desc(), xk);
  args[DNNL_ARG_WEIGHTS] = to_layout(s, c->w_user, w, c->fwd_pd.weights_desc(), wk);
  if (bias.defined()) args[DNNL_ARG_BIAS] = memory(c->b_user, cpu_engine(), bias.raw());
  Tensor y = Tensor::empty(out_dims(g));
  const bool plain_y = c->fwd_pd.dst_desc() == c->y_user;
  if (!plain_y) yk = dnnl_buffer(c->fwd_pd.dst_desc());
  const memory ym = plain_y ? memory(c->y_user, cpu_engine(), y.raw()) : yk.m;
  args[DNNL_ARG_DST] = ym;
  c->fwd.execute(s, args);
  from_layout(s, ym, c->y_user, y);
  s.wait();
  return y;
}

void backward_dnnl(const Geometry& g0, const Tensor& dy, const Tensor& x0, const Tensor& w,
                   Conv3dGrads& out, bool need_dx, bool need_dw) {
  const Geometry g = dnnl_geometry(g0);
  auto c = dnnl_conv(g, false);
  const auto algo = dnnl::algorithm::convolution_direct;
  const memory::desc x_any({g.B, g.Ci, g.T, g.H, g.W}, memory::data_type::f32, Tag::any);
  const memory::desc w_any({g.Co, g.Ci, g.kt, g.kh, g.kw}, memory::data_type::f32, Tag::any);
  const memory::desc y_any({g.B, g.Co, g.To, g.Ho, g.Wo}, memory::data_type::f32, Tag::any);
  dnnl::stream s(cpu_engine());
  if (need_dx) {
    std::call_once(c->bwd_data_once, [&] {
      c->bwd_data_pd = dnnl::convolution_backward_data::primitive_desc(
          dnnl::convolution_backward_data::desc(algo, x_any, w_any, y_any, c->strides, c->pad_l,
                                                c->pad_r),
          cpu_engine(), c->fwd_pd);
      c->bwd_data = dnnl::convolution_backward_data(c->bwd_data_pd);
    });
    DnnlBuffer dyk, wk, dxk;
    const memory dym = to_layout(s, c->y_user, dy, c->bwd_data_pd.diff_dst_desc(), dyk);
    const memory wm = to_layout(s, c->w_user, w, c->bwd_data_pd.weights_desc(), wk);
    Tensor dx = Tensor::empty({g.B, g.Ci, g.T, g.H, g.W});
    const bool plain = c->bwd_data_pd.diff_src_desc() == c->x_user;
    if (!plain) dxk = dnnl_buffer(c->bwd_data_pd.diff_src_desc());
    const memory dxm = plain ? memory(c->x_user, cpu_engine(), dx.raw()) : dxk.m;
    c->bwd_data.execute(
        s, {{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DIFF_SRC, dxm}});
    from_layout(s, dxm, c->x_user, dx);
    s.wait();
    out.dx = g0.replicate ? replicate_unpad(g0, dx) : dx;
  }
  if (need_dw) {
    std::call_once(c->bwd_weights_once, [&] {
      c->bwd_weights_pd = dnnl::convolution_backward_weights::primitive_desc(
          dnnl::convolution_backward_weights::desc(algo, x_any, w_any, y_any, c->strides, c->pad_l,
                                                   c->pad_r),
          cpu_engine(), c->fwd_pd);
      c->bwd_weights = dnnl::convolution_backward_weights(c->bwd_weights_pd);
    });
    const Tensor x = g0.replicate ? replicate_pad(g0, x0) : x0;
    DnnlBuffer dyk, xk, dwk;
    const memory dym = to_layout(s, c->y_user, dy, c->bwd_weights_pd.diff_dst_desc(), dyk);
    const memory xm = to_layout(s, c->x_user, x, c->bwd_weights_pd.src_desc(), xk);
    out.dw = Tensor::empty({g.Co, g.Ci, g.kt, g.kh, g.kw});
    const bool plain = c->bwd_weights_pd.diff_weights_desc() == c->w_user;
    if (!plain) dwk = dnnl_buffer(c->bwd_weights_pd.diff_weights_desc());
    const memory dwm = plain ? memory(c->w_user, cpu_engine(), out.dw.raw()) : dwk.m;
    c->bwd_weights.execute(
        s, {{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_WEIGHTS, dwm}});
    from_layout(s, dwm, c->w_user, out.dw);
    s.wait();
  }
}

}  // namespace

Dims conv3d_output_shape(const Dims& x, const Dims& w, const Conv3dParams& p) {
  return out_dims(make_geometry(x, w, p));
}

Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv3dParams& p,
              ConvAlgo algo) {
  check_inputs(x, w, bias);
  const Geometry g = make_geometry(x.shape(), w.shape(), p);
  return algo == ConvAlgo::kOneDnn ? forward_dnnl(g, x, w, bias) : forward_vol2col(g, x, w, bias);
}

Conv3dGrads conv3d_backward(const Tensor& dy, const Tensor& x, const Tensor& w,
                            const Conv3dParams& p, bool need_dx, bool need_dw, bool need_db,
                            ConvAlgo algo) {
  check_inputs(x, w, Tensor());
  check_f32(kOp, "dy", dy);
  const Geometry g = make_geometry(x.shape(), w.shape(), p);
  CUBIST_CHECK(dy.shape() == out_dims(g), kOp, ": dy must have the output's shape ", out_dims(g),
               ", got ", dy.shape());
  Conv3dGrads out;
  if (need_db) out.db = bias_grad(dy, g);
  if (!need_dx && !need_dw) return out;
  if (algo == ConvAlgo::kVol2col) {
    backward_vol2col(g, dy, x, w, out, need_dx, need_dw);
  } else if (need_dw && gemm_deterministic()) {
    // oneDNN splits dw's reduction by the thread count; ops::gemm's fixed blocks do not.
    backward_dnnl(g, dy, x, w, out, need_dx, false);
    backward_vol2col(g, dy, x, w, out, false, true);
  } else {
    backward_dnnl(g, dy, x, w, out, need_dx, need_dw);
  }
  return out;
}

}  // namespace cubist::ops
