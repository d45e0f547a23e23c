"""Checks a learner calls from a notebook to test an implementation exercise against seqlib.

    from seqlib.book.exercises import check_gru_cell
    check_gru_cell(MyGRUCell(5, 4))   # a module (or the class: it is built as MyGRUCell(5, 4))
    check_gru_cell(my_gru_step)       # or a function

A check runs the candidate and seqlib's reference on the same random inputs and parameters
(several seeds, batched and unbatched), then compares the output's type and shape, its values and
the gradients with respect to every input and parameter. It prints one line when everything
matches and raises `AssertionError` otherwise, with a message that says what differs and, when it
recognises it, which classic mistake produces exactly the candidate's numbers (a gate order, the
GRU's reset gate inside the matmul, a missing bias, sigmoid where tanh belongs, ...).

What a candidate may be, for the recurrent cells:
  * an `nn.Module` with torch's parameter names and shapes: `weight_ih` (G*H, I), `weight_hh`
    (G*H, H), `bias_ih` and `bias_hh` (G*H,) (or no biases, as with `bias=False`), rows in torch's
    gate order (G = 1 RNN; 4 LSTM: i, f, g, o; 3 GRU: r, z, n), called as `cell(x, h)` (LSTM:
    `cell(x, (h, c))`, returning `(h', c')`), like `torch.nn.GRUCell`. The check never changes the
    module: it calls it with its own parameters through `torch.func.functional_call`.
  * a class: built with `cls(input_size, hidden_size)` and checked as a module.
  * a function `fn(x, h, w_ih, w_hh, b_ih, b_hh)` returning h' (LSTM: `fn(x, (h, c), w_ih, w_hh,
    b_ih, b_hh)` returning `(h', c')`), the signature of `seqlib.nn.rnn.rnn_cell`,
    `seqlib.nn.lstm.lstm_cell` and `seqlib.nn.gru.gru_cell`.
x is (B, I) or, unbatched, (I,); h and c are (B, H) or (H,).

Adding a check (attention, TextCNN, ...) means writing an `ExerciseSpec`: how to draw a trial
(inputs + parameters), the reference, how to call a candidate, and optionally the known mistakes
(each a function that reproduces the mistake) and probes (a change to a trial under which a
specific kind of mistake disappears). `run_check(spec, candidate)` does the rest.

Shape legend: B batch, I input features, H hidden size, G gates.
"""
from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from seqlib.nn.gru import gru_cell
from seqlib.nn.lstm import lstm_cell
from seqlib.nn.rnn import rnn_cell

__all__ = ["check_rnn_cell", "check_lstm_cell", "check_gru_cell", "ExerciseSpec", "Mistake", "Probe",
           "Trial", "run_check"]

RTOL, ATOL = 1e-4, 1e-5  # float32; every mistake below moves outputs by ~1e-2 or more


# --------------------------------------------------------------------------------------------
# The generic machinery
# --------------------------------------------------------------------------------------------

@dataclass
class Trial:
    """One random test case: named inputs and named parameters (all tensors), and a label."""
    inputs: dict[str, object]  # tensors, or tuples of tensors (an LSTM's (h, c))
    params: dict[str, torch.Tensor | None]
    label: str


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: `fn(trial) -> outputs` reproduces it; `what` says what it is."""
    what: str
    fn: Callable[[Trial], tuple]


@dataclass(frozen=True)
class Probe:
    """`change(trial) -> trial`; if the candidate matches the reference on changed trials but not
    on the originals, the mistake lives in what the change removed, and `what` says so."""
    what: str
    change: Callable[[Trial], Trial]


@dataclass
class ExerciseSpec:
    """Everything `run_check` needs for one exercise.

    trials: draws the test cases. reference(trial) -> tuple of output tensors. call(candidate,
    trial) -> whatever the candidate returns. normalise(raw, trial) -> tuple of tensors, or raises
    AssertionError saying what the output should look like. output_names name those tensors.
    """
    title: str
    reference_name: str
    trials: Callable[[], list[Trial]]
    reference: Callable[[Trial], tuple]
    call: Callable[[object, Trial], object]
    normalise: Callable[[object, Trial], tuple]
    output_names: Sequence[str]
    mistakes: Sequence[Mistake] = field(default_factory=tuple)
    probes: Sequence[Probe] = field(default_factory=tuple)


def _shape(t) -> str:
    return str(tuple(t.shape)) if isinstance(t, torch.Tensor) else type(t).__name__


def _describe_inputs(trial: Trial) -> str:
    parts = []
    for k, v in trial.inputs.items():
        if isinstance(v, (tuple, list)):
            names = ("h", "c") if len(v) == 2 else tuple(f"{k}[{i}]" for i in range(len(v)))
            parts += [f"{n} {_shape(t)}" for n, t in zip(names, v)]
        else:
            parts.append(f"{k} {_shape(v)}")
    parts += [f"{k} {_shape(v)}" for k, v in trial.params.items() if v is not None]
    return ", ".join(parts)


def _close(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(
        x.shape == y.shape and torch.allclose(x, y, rtol=RTOL, atol=ATOL) for x, y in zip(a, b))


def _leaves(trial: Trial) -> list[tuple[str, torch.Tensor]]:
    out = []
    for k, v in trial.inputs.items():
        if isinstance(v, (tuple, list)):
            names = ("h", "c") if len(v) == 2 else tuple(f"{k}[{i}]" for i in range(len(v)))
            out += [(n, t) for n, t in zip(names, v) if isinstance(t, torch.Tensor)]
        elif isinstance(v, torch.Tensor) and v.is_floating_point():
            out.append((k, v))
    out += [(k, v) for k, v in trial.params.items() if v is not None]
    return out


def _fresh(trial: Trial, grad: bool = False) -> Trial:
    """A copy of the trial with new leaf tensors (so candidate and reference never share a graph)."""
    def cp(v):
        if isinstance(v, (tuple, list)):
            return tuple(cp(t) for t in v)
        if isinstance(v, torch.Tensor):
            v = v.detach().clone()
            return v.requires_grad_() if grad and v.is_floating_point() else v
        return v
    return Trial({k: cp(v) for k, v in trial.inputs.items()},
                 {k: cp(v) for k, v in trial.params.items()}, trial.label)


def _run_candidate(spec: ExerciseSpec, candidate, trial: Trial) -> tuple:
    try:
        raw = spec.call(candidate, trial)
    except AssertionError:
        raise
    except Exception as e:  # the learner's code failed: say on what, and give the error
        hint = ""
        if "mat1 and mat2" in str(e) or "size of tensor" in str(e) or "shapes cannot be multiplied" in str(e):
            hint = ("\n  Hint: a shape error in a matmul often means a weight used untransposed: torch "
                    "stores weight_ih as (G*H, I), so the input term is x @ w_ih.T (or F.linear(x, w_ih, b_ih)).")
        raise AssertionError(
            f"{spec.title} check FAILED: your code raised {type(e).__name__}: {e}\n"
            f"  when called on the {trial.label} case: {_describe_inputs(trial)}.{hint}") from e
    return spec.normalise(raw, trial)


def _describe_difference(spec: ExerciseSpec, got: tuple, want: tuple) -> str:
    lines = []
    for name, g, w in zip(spec.output_names, got, want):
        if g.shape != w.shape:
            lines.append(f"{name}: shape {tuple(g.shape)}, expected {tuple(w.shape)}")
        elif not torch.allclose(g, w, rtol=RTOL, atol=ATOL):
            d = (g.detach() - w).abs()
            lines.append(f"{name}: max |difference| {d.max().item():.3g}, "
                         f"{(d > ATOL + RTOL * w.abs()).float().mean().item():.0%} of entries differ")
        else:
            lines.append(f"{name}: matches")
    return "; ".join(lines)


def _matches_on_all(spec: ExerciseSpec, candidate, trials: list[Trial], fn: Callable[[Trial], tuple]) -> bool:
    with torch.no_grad():
        for t in trials:
            try:
                got = _run_candidate(spec, candidate, t)
                want = fn(t)
            except AssertionError:
                return False
            if not _close(got, want):
                return False
    return True


def run_check(spec: ExerciseSpec, candidate, verbose: bool = True) -> None:
    """Compares `candidate` with `spec.reference` on `spec.trials()`: output structure and shape,
    values, then gradients. Prints a pass line; raises AssertionError saying what differs."""
    trials = spec.trials()
    # 1. Values, every trial (shape and structure errors surface here, from normalise).
    for trial in trials:
        with torch.no_grad():
            got = _run_candidate(spec, candidate, _fresh(trial))
            want = spec.reference(_fresh(trial))
        if _close(got, want):
            continue
        msg = (f"{spec.title} check FAILED on the {trial.label} case ({_describe_inputs(trial)}):\n"
               f"  {_describe_difference(spec, got, want)}.")
        shapes_ok = all(g.shape == w.shape for g, w in zip(got, want))
        if shapes_ok:
            diagnosis = _diagnose(spec, candidate, trials)
            msg += "\n  " + (diagnosis or "No known mistake reproduces your numbers: compare your code with "
                             f"the equations line by line (the reference is {spec.reference_name}).")
        raise AssertionError(msg)
    # 2. Gradients with respect to every input and parameter, on the first batched trial.
    trial = next((t for t in trials if "unbatched" not in t.label), trials[0])
    g_trial, r_trial = _fresh(trial, grad=True), _fresh(trial, grad=True)
    got, want = _run_candidate(spec, candidate, g_trial), spec.reference(r_trial)
    weights = [torch.randn_like(w) for w in want]  # a random direction: loss = sum <w_k, out_k>
    if not any(g.requires_grad for g in got):
        raise AssertionError(
            f"{spec.title} check FAILED: your outputs do not require grad, so nothing can be trained "
            "through them. Look for .detach(), .data, .item(), torch.no_grad() or numpy in your code.")
    sum(((g * w).sum() for g, w in zip(got, weights) if g.requires_grad)).backward()
    sum((o * w).sum() for o, w in zip(want, weights)).backward()
    bad = []
    for (name, mine), (_, ref) in zip(_leaves(g_trial), _leaves(r_trial)):
        if mine.grad is None:
            bad.append(f"{name}: no gradient reaches it (detached from the graph?)")
        elif not torch.allclose(mine.grad, ref.grad, rtol=1e-3, atol=1e-5):
            d = (mine.grad - ref.grad).abs().max().item()
            bad.append(f"{name}: gradient differs (max |difference| {d:.3g})")
    if bad:
        raise AssertionError(
            f"{spec.title} check FAILED: the outputs match but the gradients do not, on the "
            f"{trial.label} case:\n  " + "\n  ".join(bad) + "\n  Look for .detach(), .data, in-place "
            "updates of saved tensors, or a custom autograd.Function with a wrong backward.")
    if verbose:
        seeds = sorted({t.label.split(",")[0] for t in trials})
        kinds = sorted({t.label.split(", ")[-1] for t in trials})
        names = ", ".join(n for n, _ in _leaves(trial))
        print(f"✓ {spec.title} check passed.\n"
              f"  Outputs match {spec.reference_name} on {len(trials)} random cases "
              f"({len(seeds)} seeds x {' and '.join(kinds)});\n"
              f"  so do the gradients with respect to {names}.")


def _diagnose(spec: ExerciseSpec, candidate, trials: list[Trial]) -> str | None:
    for m in spec.mistakes:
        if _matches_on_all(spec, candidate, trials, m.fn):
            return f"Diagnosis: your numbers are exactly those of {m.what}"
    for p in spec.probes:
        changed = [p.change(_fresh(t)) for t in trials]
        if _matches_on_all(spec, candidate, changed, spec.reference):
            return f"Diagnosis: {p.what}"
    return None


# --------------------------------------------------------------------------------------------
# Recurrent cells
# --------------------------------------------------------------------------------------------

_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _cell_trials(num_gates: int, num_states: int, I: int, H: int, bias: bool,
                 seeds=(0, 1, 2), batch: int = 3) -> Callable[[], list[Trial]]:
    def make() -> list[Trial]:
        out = []
        for seed in seeds:
            g = torch.Generator().manual_seed(1000 + seed)
            rnd = lambda *s: torch.randn(*s, generator=g)
            params = {"weight_ih": 0.6 * rnd(num_gates * H, I), "weight_hh": 0.6 * rnd(num_gates * H, H),
                      "bias_ih": 0.5 * rnd(num_gates * H) if bias else None,
                      "bias_hh": 0.5 * rnd(num_gates * H) if bias else None}
            for batched in (True, False):
                lead = (batch,) if batched else ()
                state = tuple(rnd(*lead, H) for _ in range(num_states))
                inputs = {"x": rnd(*lead, I), "h": state if num_states > 1 else state[0]}
                label = f"seed {seed}, {'batched' if batched else 'unbatched'}"
                out.append(Trial(inputs, dict(params), label))
        return out
    return make


def _args(t: Trial):
    p = t.params
    return t.inputs["x"], t.inputs["h"], p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"]


def _cell_candidate(name: str, candidate, num_gates: int, input_size: int, hidden_size: int):
    """Returns (call, I, H, bias) for a module, a class or a function."""
    if inspect.isclass(candidate):
        try:
            candidate = candidate(input_size, hidden_size)
        except Exception as e:
            raise AssertionError(f"{name} check FAILED: could not build your class as "
                                 f"{candidate.__name__}({input_size}, {hidden_size}): {e}") from e
    if isinstance(candidate, nn.Module):
        own = dict(candidate.named_parameters())
        missing = [n for n in ("weight_ih", "weight_hh") if n not in own]
        if missing:
            raise AssertionError(
                f"{name} check FAILED: your module has parameters {sorted(own) or 'none'}; the check "
                f"needs torch's names weight_ih ({num_gates}*H, I), weight_hh ({num_gates}*H, H), "
                f"bias_ih and bias_hh ({num_gates}*H,), as in torch.nn.{name.split()[0]}Cell.")
        w_hh, w_ih = own["weight_hh"], own["weight_ih"]
        H = w_hh.shape[-1]
        if w_hh.dim() != 2 or w_hh.shape[0] != num_gates * H:
            raise AssertionError(f"{name} check FAILED: weight_hh has shape {tuple(w_hh.shape)}; expected "
                                 f"({num_gates}*H, H) = ({num_gates * H}, {H}) (all gates stacked row-wise).")
        if w_ih.dim() != 2 or w_ih.shape[0] != num_gates * H:
            raise AssertionError(f"{name} check FAILED: weight_ih has shape {tuple(w_ih.shape)}; expected "
                                 f"({num_gates}*H, I) = ({num_gates * H}, I): torch stores weights as "
                                 "(out_features, in_features).")
        bias = "bias_ih" in own and "bias_hh" in own
        module = candidate

        def call(_, t: Trial):
            params = {k: v for k, v in t.params.items() if v is not None}
            return torch.func.functional_call(module, params, (t.inputs["x"], t.inputs["h"]))
        return call, w_ih.shape[1], H, bias
    if callable(candidate):
        return (lambda fn, t: fn(*_args(t))), input_size, hidden_size, True
    raise AssertionError(f"{name} check: expected a module, a class or a function, got {type(candidate).__name__}")


def _normaliser(name: str, num_states: int):
    def normalise(raw, t: Trial) -> tuple:
        x = t.inputs["x"]
        H = t.params["weight_hh"].shape[1]
        want = (H,) if x.dim() == 1 else (x.shape[0], H)
        if num_states == 1:
            if isinstance(raw, (tuple, list)):
                raise AssertionError(f"{name} check FAILED: your cell returned a {type(raw).__name__} of "
                                     f"{len(raw)}; expected one tensor h' of shape {want}.")
            outs = (raw,)
        else:
            if not isinstance(raw, (tuple, list)) or len(raw) != num_states:
                got = f"a tensor of shape {_shape(raw)}" if isinstance(raw, torch.Tensor) else repr(type(raw).__name__)
                raise AssertionError(f"{name} check FAILED: your cell returned {got}; expected a tuple "
                                     f"(h', c') of two tensors of shape {want}.")
            outs = tuple(raw)
        for label, o in zip(("h'", "c'"), outs):
            if not isinstance(o, torch.Tensor):
                raise AssertionError(f"{name} check FAILED: {label} is a {type(o).__name__}, expected a tensor.")
            if tuple(o.shape) != want:
                case = "unbatched input x of shape" if x.dim() == 1 else "batched input x of shape"
                raise AssertionError(f"{name} check FAILED: output shape: {label} has shape {tuple(o.shape)}, "
                                     f"expected {want} for {case} {tuple(x.shape)} "
                                     f"({'no batch dimension' if x.dim() == 1 else 'B, H'}).")
        return outs
    return normalise


def _reorder(w: torch.Tensor | None, G: int, perm: Sequence[int]) -> torch.Tensor | None:
    """Gate blocks of a stacked weight or bias taken in the order `perm`: (G*H, ...) -> (G*H, ...)."""
    if w is None:
        return None
    blocks = w.chunk(G, dim=0)  # G x (H, ...)
    return torch.cat([blocks[i] for i in perm], dim=0)


def _gate_orders(ref: Callable, canonical: str, what: str) -> list[Mistake]:
    """A mistake per wrong gate order: the candidate reads row block k as gate `order[k]`."""
    G, out = len(canonical), []
    for order in itertools.permutations(canonical):
        if "".join(order) == canonical:
            continue
        perm = [order.index(c) for c in canonical]  # reference block j = candidate block perm[j]

        def fn(t, perm=perm):
            x, h, wi, wh, bi, bh = _args(t)
            return ref(x, h, _reorder(wi, G, perm), _reorder(wh, G, perm), _reorder(bi, G, perm),
                       _reorder(bh, G, perm))
        out.append(Mistake(f"{what} with the gate blocks read in the order {', '.join(order)}: torch and "
                           f"seqlib stack the rows as {', '.join(canonical)}.", fn))
    return out


def _bias_mistakes(ref: Callable) -> list[Mistake]:
    def drop(which):
        def fn(t):
            x, h, wi, wh, bi, bh = _args(t)
            return ref(x, h, wi, wh, None if "ih" in which else bi, None if "hh" in which else bh)
        return fn
    return [Mistake("a cell without biases (b_ih and b_hh both missing).", drop(("ih", "hh"))),
            Mistake("a cell missing the recurrent bias b_hh (only b_ih is added).", drop(("hh",))),
            Mistake("a cell missing the input bias b_ih (only b_hh is added).", drop(("ih",)))]


def _cell_probes(num_states: int) -> list[Probe]:
    def zero_bias(t):
        t.params = {k: (torch.zeros_like(v) if k.startswith("bias") and v is not None else v)
                    for k, v in t.params.items()}
        return t

    def zero_state(t):
        h = t.inputs["h"]
        t.inputs["h"] = tuple(torch.zeros_like(s) for s in h) if isinstance(h, tuple) else torch.zeros_like(h)
        return t

    def zero_x(t):
        t.inputs["x"] = torch.zeros_like(t.inputs["x"])
        return t
    return [Probe("your cell matches the reference whenever the biases are zero, so the bias terms "
                  "are wrong (one missing, one used twice, or added in the wrong place).", zero_bias),
            Probe("your cell matches the reference whenever the previous state is zero, so what you do "
                  "with the previous state is wrong (W_hh h, or how the old " +
                  ("h and c are" if num_states > 1 else "h is") + " carried over).", zero_state),
            Probe("your cell matches the reference whenever x is zero, so the input term "
                  "(W_ih x + b_ih) is wrong.", zero_x)]


def _cell_spec(title: str, ref: Callable, ref_name: str, num_gates: int, num_states: int,
               candidate, input_size: int, hidden_size: int, mistakes: Callable[[Callable], list[Mistake]]):
    call, I, H, bias = _cell_candidate(title, candidate, num_gates, input_size, hidden_size)
    reference = lambda t: _as_tuple(ref(*_args(t)))
    return ExerciseSpec(
        title=title, reference_name=ref_name,
        trials=_cell_trials(num_gates, num_states, I, H, bias), reference=reference,
        call=lambda _, t: call(candidate, t), normalise=_normaliser(title, num_states),
        output_names=("h'", "c'")[:num_states],
        mistakes=mistakes(ref) + (_bias_mistakes(ref) if bias else []),
        probes=_cell_probes(num_states))


def _as_tuple(o):
    return o if isinstance(o, tuple) else (o,)


# ---- Elman RNN

def _rnn_mistakes(ref) -> list[Mistake]:
    def act(f):
        def fn(t):
            x, h, wi, wh, bi, bh = _args(t)
            return (f(F.linear(x, wi, bi) + F.linear(h, wh, bh)),)
        return fn
    return [Mistake("h' = relu(...) instead of tanh(...).", act(torch.relu)),
            Mistake("h' = sigmoid(...) instead of tanh(...).", act(torch.sigmoid)),
            Mistake("a cell with no nonlinearity: h' = W_ih x + b_ih + W_hh h + b_hh, without the tanh.",
                    act(lambda z: z))]


def check_rnn_cell(candidate, input_size: int = 5, hidden_size: int = 4) -> None:
    r"""Checks an Elman RNN cell, h' = tanh(W_ih x + b_ih + W_hh h + b_hh), against
    `seqlib.nn.rnn.rnn_cell`.

    Args:
        candidate: a module with torch.nn.RNNCell's parameter names, called as `cell(x, h)`; or
            its class (built as `cls(input_size, hidden_size)`); or a function
            `fn(x, h, w_ih, w_hh, b_ih, b_hh) -> h'`.
        input_size, hidden_size: I and H for a function or a class (a module's own sizes are used).
    Prints a pass line, or raises AssertionError naming what differs.
    """
    spec = _cell_spec("RNN cell", lambda *a: (rnn_cell(*a),), "seqlib.nn.rnn.rnn_cell", 1, 1, candidate,
                      input_size, hidden_size, _rnn_mistakes)
    run_check(spec, candidate)


# ---- LSTM

def _lstm_variant(t: Trial, *, g_act=torch.tanh, cell_tanh=True, input_gate=True, old_c=False,
                  swap_out=False, forget=lambda f: f):
    x, (h, c), wi, wh, bi, bh = _args(t)
    gates = F.linear(x, wi, bi) + F.linear(h, wh, bh)  # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), forget(torch.sigmoid(f)), g_act(g), torch.sigmoid(o)
    c2 = f * c + (i * g if input_gate else g)
    h2 = o * (torch.tanh(c if old_c else c2) if cell_tanh else c2)
    return (c2, h2) if swap_out else (h2, c2)


def _lstm_mistakes(ref) -> list[Mistake]:
    v = lambda **kw: (lambda t: _lstm_variant(t, **kw))
    return _gate_orders(ref, "ifgo", "an LSTM") + [
        Mistake("an LSTM with sigmoid on the candidate g (torch: g = tanh(W_ig x + b_ig + W_hg h + b_hg)).",
                v(g_act=torch.sigmoid)),
        Mistake("an LSTM with h' = o * c', missing the tanh: h' = o * tanh(c').", v(cell_tanh=False)),
        Mistake("an LSTM with c' = f * c + g, missing the input gate: c' = f * c + i * g.", v(input_gate=False)),
        Mistake("an LSTM computing h' from the old cell state, o * tanh(c); it should be o * tanh(c').",
                v(old_c=True)),
        Mistake("an LSTM with the forget gate inverted, c' = (1 - f) * c + i * g.", v(forget=lambda f: 1 - f)),
        Mistake("an LSTM returning (c', h') instead of (h', c').", v(swap_out=True)),
    ]


def check_lstm_cell(candidate, input_size: int = 5, hidden_size: int = 4) -> None:
    r"""Checks an LSTM cell against `seqlib.nn.lstm.lstm_cell` (torch's gate order i, f, g, o):
    c' = f * c + i * g, h' = o * tanh(c'), with i, f, o sigmoids and g a tanh.

    Args:
        candidate: a module with torch.nn.LSTMCell's parameter names, called as `cell(x, (h, c))` and
            returning `(h', c')`; or its class; or a function
            `fn(x, (h, c), w_ih, w_hh, b_ih, b_hh) -> (h', c')`.
        input_size, hidden_size: I and H for a function or a class.
    Prints a pass line, or raises AssertionError naming what differs (gate order, a gate's
    nonlinearity, the cell update, biases, gradients, ...).
    """
    spec = _cell_spec("LSTM cell", lstm_cell, "seqlib.nn.lstm.lstm_cell", 4, 2, candidate,
                      input_size, hidden_size, _lstm_mistakes)
    run_check(spec, candidate)


# ---- GRU

def _gru_variant(t: Trial, *, r_inside=False, z_swapped=False, bias_outside_r=False, no_reset=False,
                 n_act=torch.tanh, gate_act=torch.sigmoid):
    x, h, wi, wh, bi, bh = _args(t)
    wi_r, wi_z, wi_n = wi.chunk(3)
    wh_r, wh_z, wh_n = wh.chunk(3)
    bi_r, bi_z, bi_n = bi.chunk(3) if bi is not None else (None,) * 3
    bh_r, bh_z, bh_n = bh.chunk(3) if bh is not None else (None,) * 3
    r = gate_act(F.linear(x, wi_r, bi_r) + F.linear(h, wh_r, bh_r))
    z = gate_act(F.linear(x, wi_z, bi_z) + F.linear(h, wh_z, bh_z))
    if no_reset:
        rec = F.linear(h, wh_n, bh_n)
    elif r_inside:
        rec = F.linear(r * h, wh_n, bh_n)  # Cho et al.'s form: W_hn (r * h) + b_hn
    elif bias_outside_r:
        rec = r * F.linear(h, wh_n) + (bh_n if bh_n is not None else 0)
    else:
        rec = r * F.linear(h, wh_n, bh_n)
    n = n_act(F.linear(x, wi_n, bi_n) + rec)
    return ((z * n + (1 - z) * h) if z_swapped else ((1 - z) * n + z * h),)


def _gru_mistakes(ref) -> list[Mistake]:
    v = lambda **kw: (lambda t: _gru_variant(t, **kw))
    return _gate_orders(ref, "rzn", "a GRU") + [
        Mistake("a GRU with r applied inside the matmul, n = tanh(W_in x + b_in + W_hn (r * h) + b_hn) "
                "(Cho et al. 2014's form); torch, cuDNN and seqlib apply it after: "
                "n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).", v(r_inside=True)),
        Mistake("a GRU with z and 1 - z swapped: h' = z * n + (1 - z) * h; torch's is "
                "h' = (1 - z) * n + z * h (z = 1 keeps the old state).", v(z_swapped=True)),
        Mistake("a GRU that adds b_hn outside the reset gate, r * (W_hn h) + b_hn; torch's is "
                "r * (W_hn h + b_hn).", v(bias_outside_r=True)),
        Mistake("a GRU without the reset gate in n (n = tanh(W_in x + b_in + W_hn h + b_hn)).", v(no_reset=True)),
        Mistake("a GRU with sigmoid for the candidate n instead of tanh.", v(n_act=torch.sigmoid)),
        Mistake("a GRU with tanh for the gates r and z instead of sigmoid.", v(gate_act=torch.tanh)),
    ]


def check_gru_cell(candidate, input_size: int = 5, hidden_size: int = 4) -> None:
    r"""Checks a GRU cell against `seqlib.nn.gru.gru_cell` (torch's gate order r, z, n, with the reset
    gate applied after the recurrent matmul): n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h' = (1 - z) * n + z * h.

    Args:
        candidate: a module with torch.nn.GRUCell's parameter names, called as `cell(x, h)`; or its
            class; or a function `fn(x, h, w_ih, w_hh, b_ih, b_hh) -> h'`.
        input_size, hidden_size: I and H for a function or a class.
    Prints a pass line, or raises AssertionError naming what differs.
    """
    spec = _cell_spec("GRU cell", lambda *a: (gru_cell(*a),), "seqlib.nn.gru.gru_cell", 3, 1, candidate,
                      input_size, hidden_size, _gru_mistakes)
    run_check(spec, candidate)
