"""seqlib.LSTM's fast paths (impl="hoisted", impl="fast") against torch.nn.LSTM and the plain loop."""
import itertools

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence
from torch.testing import assert_close

import seqlib
from seqlib.nn.lstm_fast import LSTMFunction, lstm_direction_fast

I, H, B, T = 3, 4, 3, 5
IMPLS = ["hoisted", "fast", "cpp"]


@pytest.fixture(autouse=True)
def _cpp_or_skip(request):
    """impl="cpp" needs the compiled time loop: skipped, with the reason, where it cannot build."""
    spec = getattr(request.node, "callspec", None)
    if spec is not None and spec.params.get("impl") == "cpp":
        from seqlib.nn.lstm_fast import cpp_extension
        mod, why = cpp_extension()
        if mod is None:
            pytest.skip(why)
CONFIGS = [
    dict(num_layers=L, bidirectional=bi, batch_first=bf, bias=bias)
    for L, bi, bf, bias in itertools.product([1, 2], [False, True], [False, True], [True, False])
    if not (bf and not bias)
]


def _twins(impl, **cfg):
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(I, H, **cfg).double()
    ours = seqlib.LSTM(I, H, impl=impl, **cfg).double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _leaves(x):
    if isinstance(x, torch.nn.utils.rnn.PackedSequence):
        return [x.data]
    if isinstance(x, (tuple, list)):
        return [t for item in x for t in _leaves(item)]
    return [x]


def _run_and_grad(model, inp, hx, leaves):
    out, state = model(inp, hx)
    outs = _leaves(out) + _leaves(state)
    g = torch.Generator().manual_seed(7)
    loss = sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum() for t in outs)
    return outs, torch.autograd.grad(loss, leaves + list(model.parameters()))


def _clone(xs):
    return [x.detach().clone().requires_grad_() for x in xs]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_parity_with_torch_outputs_states_grads(impl, cfg):
    ours, theirs = _twins(impl, **cfg)
    D = 2 if cfg["bidirectional"] else 1
    shape = (B, T, I) if cfg["batch_first"] else (T, B, I)
    x = torch.randn(*shape, dtype=torch.float64)
    h0, c0 = torch.randn(2, cfg["num_layers"] * D, B, H, dtype=torch.float64)
    a, b = _clone([x, h0, c0]), _clone([x, h0, c0])
    outs_o, grads_o = _run_and_grad(ours, a[0], (a[1], a[2]), a)
    outs_t, grads_t = _run_and_grad(theirs, b[0], (b[1], b[2]), b)
    for u, v in zip(outs_o + list(grads_o), outs_t + list(grads_t)):
        assert_close(u, v)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_parity_bidirectional(impl, enforce_sorted):
    ours, theirs = _twins(impl, num_layers=2, bidirectional=True)
    lengths = torch.tensor([5, 3, 3, 1]) if enforce_sorted else torch.tensor([2, 5, 1, 4])
    x = torch.randn(T, len(lengths), I, dtype=torch.float64)
    h0, c0 = torch.randn(2, 4, len(lengths), H, dtype=torch.float64)
    a, b = _clone([x, h0, c0]), _clone([x, h0, c0])
    pa = pack_padded_sequence(a[0], lengths, enforce_sorted=enforce_sorted)
    pb = pack_padded_sequence(b[0], lengths, enforce_sorted=enforce_sorted)
    outs_o, grads_o = _run_and_grad(ours, pa, (a[1], a[2]), a)
    outs_t, grads_t = _run_and_grad(theirs, pb, (b[1], b[2]), b)
    for u, v in zip(outs_o + list(grads_o), outs_t + list(grads_t)):
        assert_close(u, v)


@pytest.mark.parametrize("impl", IMPLS)
def test_unbatched_default_state_and_float32(impl):
    ours, theirs = _twins(impl, num_layers=2, bidirectional=True)
    x = torch.randn(T, I, dtype=torch.float64)
    for u, v in zip(_leaves(ours(x)), _leaves(theirs(x))):
        assert_close(u, v)
    loop = seqlib.LSTM(I, H, num_layers=2).float()
    fast = seqlib.LSTM(I, H, num_layers=2, impl=impl).float()
    fast.load_state_dict(loop.state_dict())
    x = torch.randn(T, B, I)
    assert_close(fast(x)[0], loop(x)[0], rtol=1e-5, atol=1e-6)


def test_same_state_dict_and_switching_impl():
    loop = seqlib.LSTM(I, H, num_layers=2, bidirectional=True)
    fast = seqlib.LSTM(I, H, num_layers=2, bidirectional=True, impl="fast")
    assert list(loop.state_dict()) == list(fast.state_dict())
    assert "impl='fast'" in repr(fast) and "impl" not in repr(loop)
    fast.load_state_dict(loop.state_dict())
    x = torch.randn(T, B, I)
    loop.impl = "fast"  # a plain attribute: the same module switches path
    assert_close(loop(x)[0], fast(x)[0])


def test_dropout_between_layers_still_applies():
    model = seqlib.LSTM(I, H, num_layers=2, dropout=0.5, impl="fast").double()
    x = torch.randn(T, B, I, dtype=torch.float64)
    torch.manual_seed(0)
    a = model(x)[0]
    torch.manual_seed(1)
    b = model(x)[0]
    assert not torch.allclose(a, b)
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])


def test_lstm_function_gradcheck():
    g = torch.Generator().manual_seed(0)
    args = [torch.randn(*s, generator=g, dtype=torch.float64, requires_grad=True)
            for s in [(4, 2, 3), (2, 4), (2, 4), (16, 3), (16, 4), (16,)]]
    assert torch.autograd.gradcheck(lambda *a: LSTMFunction.apply(*a), args)
    last = torch.tensor([3, 1])  # sequences ending at different steps (packed input)
    assert torch.autograd.gradcheck(lambda *a: LSTMFunction.apply(*a, last), args)
    # bias=None, and a gradient through c_n only
    assert torch.autograd.gradcheck(lambda *a: LSTMFunction.apply(*a, None)[2], args[:5])
    assert torch.autograd.gradcheck(lambda *a: LSTMFunction.apply(*a, None, last)[2], args[:5])


def test_fast_direction_ignores_padding_values():
    torch.manual_seed(0)
    w = (torch.randn(16, 3), torch.randn(16, 4), torch.randn(16), torch.randn(16))
    x = torch.randn(5, 2, 3)
    state = (torch.zeros(2, 4), torch.zeros(2, 4))
    lengths = torch.tensor([5, 2])
    out1, (h1, c1) = lstm_direction_fast(x, state, w, lengths)
    x2 = x.clone()
    x2[2:, 1] = 1e3  # garbage past the second sequence's end
    out2, (h2, c2) = lstm_direction_fast(x2, state, w, lengths)
    assert_close(out1, out2) and assert_close(h1, h2) and assert_close(c1, c2)
    assert torch.all(out1[2:, 1] == 0)


def test_bad_impl_fails_early():
    with pytest.raises(ValueError, match=r"LSTM: expected impl to be one of \('loop', 'hoisted', 'fast', 'cpp'\), got 'cudnn'"):
        seqlib.LSTM(I, H, impl="cudnn")
    model = seqlib.LSTM(I, H)
    model.impl = "Fast"
    with pytest.raises(ValueError, match="LSTM: expected impl"):
        model(torch.randn(T, B, I))
    with pytest.raises(NotImplementedError, match="GRU: impl='hoisted' needs a `step` method"):
        gru = seqlib.GRU(I, H)
        gru.impl = "hoisted"
        gru(torch.randn(T, B, I))


def test_cuda_graphed_refuses_cpu_tensors():
    from seqlib.nn.lstm_fast import cuda_graphed
    with pytest.raises(ValueError, match="cuda_graphed: expected a CUDA tensor"):
        cuda_graphed(seqlib.LSTM(I, H, impl="fast"), torch.randn(T, B, I))


def test_benchmark_rows_and_op_counts():
    from seqlib.perf.lstm_speed import benchmark_lstm, count_ops
    rows = benchmark_lstm(dict(B=2, T=3, I=3, H=4), threads=1, rounds=2, min_run_time=0.01,
                          impls=["loop", "fast"])
    assert [r["impl"] for r in rows] == ["loop", "fast", "torch.nn.LSTM"]
    assert rows[-1]["fwd_ratio"] == 1.0 and rows[-1]["fwd_bwd_ratios"] == [1.0, 1.0]
    for r in rows:
        assert r["threads"] == 1 and len(r["fwd_rounds_ms"]) == 2 and r["fwd_iqr_ms"] >= 0
        assert r["fwd_ms"] > 0 and r["fwd_bwd_ms"] > 0
        lo, hi = sorted(r["fwd_bwd_ratios"])
        assert r["fwd_bwd_ratio"] == pytest.approx((lo + hi) / 2, rel=1e-12)  # median of two
    x = torch.randn(8, 2, 3)
    n = {impl: count_ops(lambda: seqlib.LSTM(3, 4, impl=impl)(x)) for impl in ("loop", "fast")}
    assert n["fast"] < 0.8 * n["loop"], n


@pytest.mark.parametrize("impl", ["loop", "hoisted", "fast"])
def test_counted_flops_match_the_formula(impl):
    from seqlib.perf.lstm_speed import lstm_timing_fns
    from seqlib.perf.roofline import count_flops, lstm_flops
    B_, T_, I_, H_ = 3, 5, 6, 8
    fns = lstm_timing_fns(seqlib.LSTM(I_, H_, impl=impl), torch.randn(T_, B_, I_))
    assert count_flops(fns["fwd"]) == lstm_flops(B_, T_, I_, H_, backward=False)
    assert count_flops(fns["fwd_bwd"]) == lstm_flops(B_, T_, I_, H_)
    assert lstm_flops(B_, T_, I_, H_) == 3 * lstm_flops(B_, T_, I_, H_, backward=False) - 2 * B_ * 4 * H_ * H_


def test_roofline_helpers():
    from seqlib.perf.roofline import lstm_flops, lstm_step_bytes, profile_ops, roof
    b = lstm_step_bytes(32, 128, 256)
    assert b["weights"] == 2 * 4 * 256 * 256 * 4 and b["total"] == b["weights"] + b["activations"]
    assert 0 < b["weight_share"] < 1
    assert roof(1.0, 100.0, 10.0) == 10.0 and roof(100.0, 100.0, 10.0) == 100.0
    with pytest.raises(ValueError, match="roofline.lstm_flops: expected T >= 1"):
        lstm_flops(2, 0, 3, 4)
    rows = profile_ops(lambda: torch.randn(8, 8) @ torch.randn(8, 8), threads=1, top=2, runs=2)
    assert len(rows) == 3 and abs(sum(r["share"] for r in rows) - 1) < 1e-6


def test_benchmark_protocol_twin_and_sanity():
    from seqlib.perf.lstm_speed import benchmark_lstm, sanity
    info = {}
    rows = benchmark_lstm(dict(B=2, T=3, I=3, H=4), threads=1, rounds=10, min_run_time=0.0,
                          impls=["fast"], protocol=True, twin=True, timing=info)
    assert [r["impl"] for r in rows] == ["fast", "torch.nn.LSTM", "torch.nn.LSTM (copy)"]
    assert info["skipped"] is None and all(t["calls"] >= 10 for t in info["times"].values())
    assert "fwd_ms" not in rows[-1] and len(rows[-1]["fwd_bwd_ratios"]) == info["rounds"]
    # the sanity checks fire on a bad record and pass a good one
    good = [dict(impl="x", B=1, T=1, I=1, H=1, threads=1, fwd_ms=1.0, fwd_bwd_ms=3.0),
            dict(impl="x", B=1, T=1, I=1, H=1, threads=2, fwd_ms=0.8, fwd_bwd_ms=2.5)]
    assert sanity(good) == [] and all(r["valid"] for r in good)
    bad = [dict(impl="x", B=1, T=1, I=1, H=1, threads=1, fwd_ms=2.0, fwd_bwd_ms=1.5),
           dict(impl="x", B=1, T=1, I=1, H=1, threads=2, fwd_ms=60.0, fwd_bwd_ms=90.0)]
    problems = sanity(bad)
    assert not bad[0]["valid"] and "not slower than forward" in bad[0]["problems"][0]
    assert not bad[1]["valid"] and any("far slower than at 1" in p for p in bad[1]["problems"])
    assert len(problems) == 3


def test_roofline_hierarchy_helpers(monkeypatch):
    from seqlib.perf import roofline
    g = roofline.gemm_peak(1, shapes=((64, 32, 48),), min_run_time=0.01)
    libs = {r["library"] for r in g["rows"]}
    assert "mkl" in libs and g["gflops"] == max(r["gflops"] for r in g["rows"]) > 0
    caches = roofline.cache_sizes()
    assert all(isinstance(v, int) and v > 0 for v in caches.values())
    t = roofline.theoretical_peak(2)
    assert t is None or t["gflops"] == pytest.approx(2 * roofline.theoretical_peak(1)["gflops"])
    pts = [{"name": "a", "gflops": 50.0}, {"name": "b", "gflops": 120.0}]
    assert roofline.above_roof(pts, 100.0) == ["b: 120 GFLOP/s above the roof of 100"]
    assert roofline.above_roof(pts, 130.0) == []


def test_cpp_function_gradcheck_and_matches_fast():
    from seqlib.nn.lstm_fast import LSTMCppFunction, cpp_extension
    if cpp_extension()[0] is None:
        pytest.skip(cpp_extension()[1])
    g = torch.Generator().manual_seed(0)
    args = [torch.randn(*s, generator=g, dtype=torch.float64, requires_grad=True)
            for s in [(4, 2, 3), (2, 4), (2, 4), (16, 3), (16, 4), (16,)]]
    assert torch.autograd.gradcheck(lambda *a: LSTMCppFunction.apply(*a), args)
    last = torch.tensor([3, 1])
    assert torch.autograd.gradcheck(lambda *a: LSTMCppFunction.apply(*a, last), args)
    assert torch.autograd.gradcheck(lambda *a: LSTMCppFunction.apply(*a, None)[2], args[:5])
    for extra in ((), (last,)):
        a = [t.detach().clone().requires_grad_() for t in args]
        b = [t.detach().clone().requires_grad_() for t in args]
        outs_a = LSTMCppFunction.apply(*a, *extra)
        outs_b = LSTMFunction.apply(*b, *extra)
        sum(o.sum() * (k + 1) for k, o in enumerate(outs_a)).backward()
        sum(o.sum() * (k + 1) for k, o in enumerate(outs_b)).backward()
        for u, v in zip([*outs_a, *(t.grad for t in a)], [*outs_b, *(t.grad for t in b)]):
            assert_close(u, v)


def test_cpp_unavailable_says_why(monkeypatch):
    from seqlib.nn import lstm_fast
    monkeypatch.setattr(lstm_fast, "_CPP", (None, "no compiled time loop here (test)"))
    model = seqlib.LSTM(I, H, impl="cpp")
    with pytest.raises(RuntimeError, match=r"impl='cpp' needs the compiled time loop: no compiled"):
        model(torch.randn(T, B, I))
