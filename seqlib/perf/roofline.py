"""How far from the machine's limit: counted FLOPs, measured peak and bandwidth, bytes per step.

A **roofline** bounds the rate of a computation by two numbers of the machine: its peak
arithmetic rate and its memory bandwidth. A kernel that does F FLOPs while moving Q bytes
(arithmetic intensity F / Q) cannot run faster than min(peak, bandwidth * F / Q).

The roof must be honest, or a kernel appears to beat the machine. `gemm_peak` measures the peak
as the best rate over several GEMM shapes (the square one and the LSTM's own shapes) through both
CPU libraries torch ships: MKL (`torch.mm`) and oneDNN (`torch.utils.mkldnn`: on an AMD CPU with
AVX-512, MKL's sgemm reaches about half of oneDNN's), on the thread count of the measurement;
`theoretical_peak` is lanes x 2 FMA units x 2 FLOPs x the nominal clock x threads, and the roof is
the larger of the two (`hierarchy`). The memory roofs are hierarchical: a copy sized to fit L2,
one to fit L3 (sizes read from the machine, `cache_sizes`) and one far larger than L3 (DRAM).
`above_roof` lists the points that lie above their roof: such a point means a wrong FLOP count or
a roof measured under other conditions, and the record is not shown as a result.

For an LSTM layer the FLOPs are those of its GEMMs (`lstm_flops`, which `count_flops` checks with
`torch.utils.flop_counter.FlopCounterMode`; the elementwise gate math adds O(B H) per step, which
the counter does not count and which is small beside the O(B H^2) products). `lstm_step_bytes`
is the traffic of one step if nothing stays in cache between steps: W_hh read once in the
forward and once in the backward, plus the step's activations. A persistent kernel (Diamos et
al. 2016) keeps W_hh on chip across steps and removes the first term.

Shape legend: B batch, T time, I input features, H hidden size.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from seqlib.perf.timing import benchmark


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of the matrix products `fn()` dispatches (forward and, if it runs one, backward),
    as `torch.utils.flop_counter.FlopCounterMode` counts them (2 per multiply-add)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def lstm_flops(B: int, T: int, I: int, H: int, backward: bool = True,
               input_grad: bool = True) -> int:
    """GEMM FLOPs of one LSTM layer and direction over T steps (2 per multiply-add).

    Forward: W_ih x_t and W_hh h_{t-1} for every step, 2 T B 4H (I + H). Backward, with h0 not
    requiring a gradient: dx (if ``input_grad``) and dW_ih, 2 T B 4H I each; dh_{t-1} for steps
    t = 1..T-1, 2 (T-1) B 4H H; dW_hh, 2 T B 4H H.
    """
    for name, v in (("B", B), ("T", T), ("I", I), ("H", H)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"roofline.lstm_flops: expected {name} >= 1 (an int), got {v!r}")
    G = 4 * H
    fwd = 2 * T * B * G * (I + H)
    if not backward:
        return fwd
    bwd = 2 * T * B * G * I * (2 if input_grad else 1) + 2 * (T - 1) * B * G * H + 2 * T * B * G * H
    return fwd + bwd


def lstm_step_bytes(B: int, I: int, H: int, bytes_per_value: int = 4) -> dict:
    """Bytes one time step moves if nothing stays in cache from the step before (float32).

    Forward: W_hh (4H x H), h_{t-1} (B x H), the gates read and written (2 x B x 4H), c_{t-1} read
    and c_t, tanh(c_t), h_t written (4 x B x H). Backward: W_hh again, dz_t written and read
    (2 x B x 4H), and about six (B x H) tensors (dh, dc, the saved activations).
    Returns weights, activations, total (bytes, forward + backward) and the share of W_hh.
    """
    w = 2 * 4 * H * H * bytes_per_value
    act = (B * H + 2 * B * 4 * H + 4 * B * H + 2 * B * 4 * H + 6 * B * H) * bytes_per_value
    return {"weights": w, "activations": act, "total": w + act, "weight_share": w / (w + act)}


def peak_gflops(threads: int, n: int = 1536, min_run_time: float = 0.5) -> dict:
    """The rate of one n x n x n float32 `torch.mm` (2 n^3 FLOPs) on ``threads`` threads, through
    `seqlib.perf.timing.benchmark`. Returns gflops, median_ms, iqr_ms. One shape through one
    library is not the machine's peak (oneDNN can be twice as fast as MKL): the roofline uses
    `gemm_peak` and `hierarchy`."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    r = benchmark(lambda: a @ b, threads=threads, min_run_time=min_run_time)
    return {"gflops": 2 * n**3 / r["median_ms"] / 1e6, "median_ms": r["median_ms"],
            "iqr_ms": r["iqr_ms"], "n": n, "threads": threads, "machine": r["machine"]}


def bandwidth_gbs(threads: int, mbytes: int = 128, min_run_time: float = 0.5) -> dict:
    """Memory bandwidth: one copy of an ``mbytes`` MB float32 tensor (read + write = 2x bytes)
    on ``threads`` threads, through `seqlib.perf.timing.benchmark`. Returns gbs, median_ms, iqr_ms."""
    n = mbytes * 2**20 // 4
    src, dst = torch.randn(n), torch.empty(n)
    r = benchmark(lambda: dst.copy_(src), threads=threads, min_run_time=min_run_time)
    return {"gbs": 2 * n * 4 / r["median_ms"] / 1e6, "median_ms": r["median_ms"],
            "iqr_ms": r["iqr_ms"], "mbytes": mbytes, "threads": threads}


GEMM_SHAPES = ((1536, 1536, 1536), (2048, 128, 1024), (2048, 256, 1024), (1024, 2048, 256))


def _mkldnn_linear(k: int, n: int, w: torch.Tensor):
    import torch.utils.mkldnn as mkldnn

    lin = torch.nn.Linear(k, n, bias=False)
    with torch.no_grad():
        lin.weight.copy_(w)
    return mkldnn.to_mkldnn(lin)


def gemm_peak(threads: int, shapes=GEMM_SHAPES, libraries=("mkl", "onednn"),
              min_run_time: float = 0.2) -> dict:
    """The best measured float32 GEMM rate (fastest block) on ``threads`` threads over ``shapes``
    (M, K, N) and
    ``libraries`` ("mkl": `torch.mm`; "onednn": an inner product through `torch.utils.mkldnn`,
    skipped where torch has no oneDNN). Returns gflops (the best), where (library and shape of the
    best) and rows (every library and shape)."""
    rows = []
    for (m, k, n) in shapes:
        a, w = torch.randn(m, k), torch.randn(n, k)
        for lib in libraries:
            if lib == "mkl":
                wt = w.t().contiguous()
                fn = lambda a=a, wt=wt: torch.mm(a, wt)  # (M, K) @ (K, N) -> (M, N)
            elif lib == "onednn":
                if not torch.backends.mkldnn.is_available():
                    continue
                lin, am = _mkldnn_linear(k, n, w), a.to_mkldnn()

                def fn(lin=lin, am=am):
                    with torch.no_grad():
                        lin(am)  # (M, K) @ (K, N) -> (M, N), in oneDNN's layout
            else:
                raise ValueError(f"roofline.gemm_peak: expected libraries in mkl, onednn, got {lib!r}")
            r = benchmark(fn, threads=threads, min_run_time=min_run_time)
            # a peak is the best the machine did: the fastest block, not the median (on a
            # shared machine the median falls with the load, and kernels timed at a quieter
            # moment would lie above it)
            rows.append({"library": lib, "M": m, "K": k, "N": n,
                         "gflops": 2 * m * k * n / r["min_ms"] / 1e6, "min_ms": r["min_ms"],
                         "median_ms": r["median_ms"]})
    best = max(rows, key=lambda r: r["gflops"])
    return {"gflops": best["gflops"], "where": f"{best['library']} {best['M']}x{best['K']}x{best['N']}",
            "rows": rows, "threads": threads}


def _nominal_ghz() -> float | None:
    for path in ("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq",):
        try:
            with open(path) as f:
                return int(f.read().strip()) / 1e6
        except (OSError, ValueError):
            pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1]) / 1e3
    except (OSError, ValueError):
        pass
    return None


def theoretical_peak(threads: int) -> dict | None:
    """lanes (float32 per vector: 16 for AVX-512, 8 for AVX2) x 2 FMA units x 2 FLOPs per FMA x
    the nominal clock x ``threads``: an upper bound read from the machine (None where the clock
    or the instruction set is unknown). A boosted clock can exceed the nominal one, so a measured
    rate may lie above it; the roof is the larger of the two."""
    isa = torch.backends.cpu.get_cpu_capability()
    lanes = {"AVX512": 16, "AVX2": 8}.get(isa)
    ghz = _nominal_ghz()
    if lanes is None or ghz is None:
        return None
    return {"gflops": lanes * 2 * 2 * ghz * threads, "isa": isa, "ghz": ghz, "threads": threads,
            "assumes": "2 FMA units per core at the nominal clock"}


def cache_sizes() -> dict:
    """Data cache sizes in bytes by level ({"L1": ..., "L2": ..., "L3": ...}) from sysfs; the
    levels the machine does not report are missing."""
    out = {}
    base = "/sys/devices/system/cpu/cpu0/cache"
    for i in range(8):
        try:
            with open(f"{base}/index{i}/level") as f:
                level = int(f.read())
            with open(f"{base}/index{i}/type") as f:
                kind = f.read().strip()
            with open(f"{base}/index{i}/size") as f:
                txt = f.read().strip()
        except (OSError, ValueError):
            continue
        if kind == "Instruction":
            continue
        mult = {"K": 1024, "M": 2**20, "G": 2**30}.get(txt[-1], 1)
        out[f"L{level}"] = int(txt.rstrip("KMG")) * mult
    return out


def bandwidths(threads: int, min_run_time: float = 0.2) -> dict:
    """Copy bandwidth (read + write) at each level of the memory hierarchy on ``threads``
    threads: a copy whose source and destination together fill half of L2, half of L3, and one
    of 8x L3 (at least 256 MiB: DRAM). Returns {level: {gbs, bytes}}."""
    caches = cache_sizes()
    sizes = {}
    if "L2" in caches:
        sizes["L2"] = caches["L2"] // 4
    if "L3" in caches:
        sizes["L3"] = caches["L3"] // 4
    sizes["DRAM"] = max(4 * caches.get("L3", 0), 2**27)
    out = {}
    for level, nbytes in sizes.items():
        n = nbytes // 4
        src, dst = torch.randn(n), torch.empty(n)
        r = benchmark(lambda src=src, dst=dst: dst.copy_(src), threads=threads,
                      min_run_time=min_run_time)
        out[level] = {"gbs": 2 * n * 4 / r["median_ms"] / 1e6, "bytes": 2 * n * 4}
    return out


def hierarchy(threads: int, min_run_time: float = 0.2) -> dict:
    """The roofs on ``threads`` threads: peak (the larger of the measured GEMM peak and the
    theoretical one), gemm (`gemm_peak`), theoretical (`theoretical_peak`, or None) and
    bandwidths (`bandwidths`)."""
    g = gemm_peak(threads, min_run_time=min_run_time)
    t = theoretical_peak(threads)
    return {"peak": max(g["gflops"], t["gflops"] if t else 0.0), "gemm": g, "theoretical": t,
            "bandwidths": bandwidths(threads, min_run_time), "threads": threads}


def above_roof(points: list[dict], peak: float, tolerance: float = 1.0) -> list[str]:
    """The points ({"name", "gflops"}) whose rate exceeds ``tolerance`` x ``peak``: a record
    with any of them is not a result (a wrong count, or a roof measured under other load)."""
    return [f"{p['name']}: {p['gflops']:.3g} GFLOP/s above the roof of {peak:.3g}"
            for p in points if p["gflops"] > tolerance * peak]


def roof(intensity: float, peak: float, bandwidth: float) -> float:
    """The roofline: the highest GFLOP/s at ``intensity`` FLOP/byte, min(peak, bandwidth * AI)."""
    return min(peak, bandwidth * intensity)


def profile_ops(fn: Callable[[], object], threads: int, top: int = 8, runs: int = 3) -> list[dict]:
    """Where ``fn()``'s CPU time goes: `torch.profiler` over ``runs`` calls (after one warm-up)
    on ``threads`` threads; rows of operator, calls per run, self ms per run and share of the
    total, the ``top`` operators by self time, then one row "(all other operators)"."""
    from torch.profiler import ProfilerActivity, profile

    from seqlib.device import use_threads

    with use_threads(threads):
        fn()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(runs):
                fn()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    rows = [{"operator": e.key, "calls per run": e.count / runs,
             "self ms per run": e.self_cpu_time_total / 1e3 / runs,
             "share": e.self_cpu_time_total / total} for e in events[:top]]
    rest = sum(e.self_cpu_time_total for e in events[top:])
    rows.append({"operator": "(all other operators)",
                 "calls per run": sum(e.count for e in events[top:]) / runs,
                 "self ms per run": rest / 1e3 / runs, "share": rest / total})
    return rows
