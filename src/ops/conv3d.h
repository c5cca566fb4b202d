// 3-D convolution (the video autoencoder's workhorse), forward and backward, on contiguous f32:
//   y[b, co, t, h, w] = bias[co] + sum_{ci, i, j, k} w[co, ci, i, j, k] *
//                       xpad[b, ci, t*st + i, h*sh + j, w*sw + k]
// x is [B, Ci, T, H, W], w is [Co, Ci, kt, kh, kw], bias is [Co] or undefined, y is
// [B, Co, T_out, H_out, W_out]. xpad is x padded with zeros by (ph, pw) on both sides in space and,
// in time, by one of:
//   kSymmetric:       pt zero frames before the first frame and pt after the last;
//   kCausalZeros:     kt - 1 zero frames before the first frame only (pt is ignored), so output
//                     frame t sees input frames t*st - kt + 1 .. t*st, never a later one;
//   kCausalReplicate: as kCausalZeros, but the kt - 1 added frames are copies of the first frame
//                     (what causal video VAEs do, so a still image encodes like a video of it).
// Output sizes, with floor division:
//   T_out = (T + pad_before + pad_after - kt) / st + 1, where (pad_before, pad_after) is (pt, pt)
//           when symmetric and (kt - 1, 0) when causal, i.e. causal gives (T - 1) / st + 1;
//   H_out = (H + 2*ph - kh) / sh + 1;   W_out = (W + 2*pw - kw) / sw + 1.
// Trailing input that no window reaches (when the division is not exact) is ignored, as in PyTorch.
//
// Two implementations share this interface:
//   kOneDnn:   oneDNN's convolution primitives (JIT AVX-512 direct convolution on blocked
//              layouts), cached by shape. The default: several times faster (docs/PERFORMANCE.md).
//   kVol2col:  unfolds the input into columns and calls ops::gemm, one block of output frames at
//              a time. Kept as the independent reference the tests compare against.
// Determinism: both give bitwise the same results on every call with the same shapes and thread
// count. With kOneDnn, y and dx were also bitwise the same for 1, 2, 3, 4 and 8 threads on every
// shape we tried (each output is reduced by one thread, in a fixed order), but dw is NOT: oneDNN
// splits the weight-gradient reduction over threads, so dw can differ in the last bits between
// runs with different thread counts (it is fixed for a fixed thread count). db is ours and always
// thread-count independent. kVol2col inherits ops::gemm's behaviour: OpenBLAS's results changed
// with the thread count on small shapes. Under ops::gemm_deterministic() (CUBIST_DETERMINISTIC=1)
// both compute dw by vol2col and ops::gemm's fixed blocks, so every gradient is the same for
// any thread count.
#pragma once

#include <array>
#include <cstdint>

#include "core/tensor.h"

namespace cubist::ops {

enum class TimePadding : uint8_t { kSymmetric, kCausalZeros, kCausalReplicate };
enum class ConvAlgo : uint8_t { kOneDnn, kVol2col };

struct Conv3dParams {
  std::array<int64_t, 3> stride{1, 1, 1};   // (st, sh, sw), each >= 1
  std::array<int64_t, 3> padding{0, 0, 0};  // (pt, ph, pw), each >= 0; pt unused when causal
  TimePadding time_padding = TimePadding::kSymmetric;
};

// The shape of conv3d's output for input shape x and weight shape w (checked as conv3d checks).
Dims conv3d_output_shape(const Dims& x, const Dims& w, const Conv3dParams& p);

// y = conv3d(x, w) + bias. `bias` may be undefined (no bias).
Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv3dParams& p,
              ConvAlgo algo = ConvAlgo::kOneDnn);

struct Conv3dGrads {
  Tensor dx, dw, db;  // each undefined unless asked for
};

// Gradients of L given dy = dL/dy:
//   dx[b, ci, ...] = sum over (co, taps) of w * dy scattered back to the input positions each
//                    tap read (a padded frame's gradient is dropped when zero-padded and added to
//                    the first frame when it replicates the first frame);
//   dw[co, ci, i, j, k] = sum_{b, t, h, w} dy[b, co, t, h, w] * xpad[b, ci, t*st+i, h*sh+j,
//   w*sw+k]; db[co] = sum_{b, t, h, w} dy[b, co, t, h, w].
Conv3dGrads conv3d_backward(const Tensor& dy, const Tensor& x, const Tensor& w,
                            const Conv3dParams& p, bool need_dx, bool need_dw, bool need_db,
                            ConvAlgo algo = ConvAlgo::kOneDnn);

}  // namespace cubist::ops
