// The LSTM time loop in C++ (seqlib.nn.lstm_fast, impl="cpp"): per step one ATen GEMM for the
// recurrent product and the gate math (forward: ATen's vectorised activations; backward: one
// fused elementwise pass), so no Python runs per step.
// Shapes: T time, B batch, H hidden; gates (T, B, 4H) in torch's order i, f, g, o.
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <vector>

namespace {

// One step backward, fused: dc (B, H) in: dL/dc_t from step t+1, out: dL/dc_{t-1};
// dh (B, H): dL/dh_t; writes dg (B, 4H), the gradient of the pre-activations.
template <typename scalar_t>
void step_backward(const scalar_t* act, const scalar_t* c_prev, const scalar_t* tc,
                   const scalar_t* dh, scalar_t* dc, scalar_t* dg, int64_t B, int64_t H) {
  at::parallel_for(0, B, 16, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const scalar_t* ab = act + b * 4 * H;
      scalar_t* db = dg + b * 4 * H;
      const int64_t o = b * H;
      for (int64_t j = 0; j < H; ++j) {
        const scalar_t i = ab[j], f = ab[H + j], g = ab[2 * H + j], og = ab[3 * H + j];
        const scalar_t t = tc[o + j], d_h = dh[o + j];
        const scalar_t d_c = dc[o + j] + d_h * og * (scalar_t(1) - t * t);  // through h = o tanh(c)
        db[j] = d_c * g * i * (scalar_t(1) - i);
        db[H + j] = d_c * c_prev[o + j] * f * (scalar_t(1) - f);
        db[2 * H + j] = d_c * i * (scalar_t(1) - g * g);
        db[3 * H + j] = d_h * t * og * (scalar_t(1) - og);
        dc[o + j] = d_c * f;  // to c_{t-1}
      }
    }
  });
}

}  // namespace

// gates (T, B, 4H) contiguous: W_ih x_t + b for every t (the hoisted product), overwritten with
// the activations. Returns hs (T+1, B, H) (hs[0] = h0), cs (T+1, B, H), tcs (T, B, H).
std::vector<at::Tensor> forward_loop(at::Tensor gates, at::Tensor h0, at::Tensor c0,
                                     at::Tensor w_hh) {
  TORCH_CHECK(gates.dim() == 3 && gates.is_contiguous(),
              "lstm_cpp.forward_loop: expected contiguous gates of shape (T, B, 4H)");
  const int64_t T = gates.size(0), B = gates.size(1), H = gates.size(2) / 4;
  auto hs = at::empty({T + 1, B, H}, gates.options());
  auto cs = at::empty({T + 1, B, H}, gates.options());
  auto tcs = at::empty({T, B, H}, gates.options());
  hs[0].copy_(h0);
  cs[0].copy_(c0);
  const auto w_t = w_hh.t();  // (H, 4H)
  for (int64_t t = 0; t < T; ++t) {
    auto g = gates[t];  // (B, 4H)
    g.addmm_(hs[t], w_t);  // (B, 4H) += (B, H) @ (H, 4H): the one dependent GEMM
    // the activations through ATen's vectorised kernels (SLEEF): a scalar loop of std::exp and
    // std::tanh, compiled without the CPU's vector flags, is about twice as slow
    g.narrow(1, 0, 2 * H).sigmoid_();  // i, f
    g.narrow(1, 2 * H, H).tanh_();  // g
    g.narrow(1, 3 * H, H).sigmoid_();  // o
    auto c = cs[t + 1];
    at::mul_out(c, g.narrow(1, H, H), cs[t]);  // c_t = f * c_{t-1} + i * g
    c.addcmul_(g.narrow(1, 0, H), g.narrow(1, 2 * H, H));
    auto tc = tcs[t];
    at::tanh_out(tc, c);
    auto h = hs[t + 1];
    at::mul_out(h, g.narrow(1, 3 * H, H), tc);  // h_t = o * tanh(c_t)
  }
  return {hs, cs, tcs};
}

// The backward time loop. act (T, B, 4H) activations, cs (T+1, B, H), tcs (T, B, H); dhs (T, B, H)
// dL/dh_t from the outputs; dcs (T, B, H) or None: dL/dc_t from outside (packed input);
// dh, dc (B, H): dL/dh_{T-1} and dL/dc_{T-1}, all paths. Returns dG (T, B, 4H), dh0 (B, H)
// (empty unless need_dh0) and dc0 (B, H).
std::vector<at::Tensor> backward_loop(at::Tensor act, at::Tensor cs, at::Tensor tcs,
                                      at::Tensor dhs, c10::optional<at::Tensor> dcs,
                                      at::Tensor dh, at::Tensor dc, at::Tensor w_hh,
                                      bool need_dh0) {
  const int64_t T = act.size(0), B = act.size(1), H = act.size(2) / 4;
  auto dG = at::empty({T, B, 4 * H}, act.options());
  dh = dh.contiguous();
  dc = dc.contiguous().clone();
  at::Tensor dh0 = at::empty({0}, act.options());
  AT_DISPATCH_FLOATING_TYPES(act.scalar_type(), "lstm_backward_loop", [&] {
    for (int64_t t = T - 1; t >= 0; --t) {
      auto dg = dG[t];
      step_backward<scalar_t>(act[t].data_ptr<scalar_t>(), cs[t].data_ptr<scalar_t>(),
                              tcs[t].data_ptr<scalar_t>(), dh.data_ptr<scalar_t>(),
                              dc.data_ptr<scalar_t>(), dg.data_ptr<scalar_t>(), B, H);
      if (t > 0) {
        dh = at::addmm(dhs[t - 1], dg, w_hh);  // (B, 4H) @ (4H, H) -> (B, H), plus dL/dy_{t-1}
        if (dcs.has_value()) dc.add_((*dcs)[t - 1]);
      } else if (need_dh0) {
        dh0 = at::mm(dg, w_hh);
      }
    }
  });
  return {dG, dh0, dc};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward_loop", &forward_loop, "LSTM forward time loop (seqlib.nn.lstm_fast)");
  m.def("backward_loop", &backward_loop, "LSTM backward time loop (seqlib.nn.lstm_fast)");
}
