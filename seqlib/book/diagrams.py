r"""The book's architecture pictures, drawn with matplotlib only.

One function per architecture; each returns a `matplotlib.figure.Figure` labelled with the symbols
of its chapter's equations (mathtext, so $W_{hh}$, $\sigma$, $\odot$ look as they do in the text).
The figures are not registered with pyplot, so a notebook shows each exactly once: make it the
cell's last expression (or call `IPython.display.display(fig)`); it renders itself as a PNG
(`DiagramFigure._repr_png_`). Save one with `fig.savefig(path)`. Nothing here calls `plt.show`.

Every picture uses one small toolkit (`_Canvas`: boxes for learned layers and states, circles for
pointwise operations, arrows, labels) and one colour per role:

    input      x_t, embedded tokens              hidden     h_t, s_t, encoder states
    cell       the LSTM cell state c_t           gate       learned layers: sigma, tanh, filters
    output     y_t, logits, the loss, gradients  attention  scores, weights alpha, context c_t
    op         pointwise operations (odot, +, 1 -), linear maps without a role of their own

Coordinates are inches (the axes fill the figure), so font sizes and spacing are easy to reason
about: every figure is at most 10 inches wide and no text is smaller than 9 pt.
"""
from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.path import Path

__all__ = ["ROLES", "DiagramFigure", "birnn_unrolled", "encoder_layer", "gru_cell", "linear_scan", "lstm_cell",
           "rnn_unrolled", "seq2seq_attention", "text_cells", "textcnn"]

# role -> (face colour, edge/line colour)
ROLES = {
    "input": ("#dbe8f7", "#2c5f9e"),
    "hidden": ("#dcefd9", "#2f7a34"),
    "cell": ("#fde3c3", "#c0561b"),
    "gate": ("#eadff5", "#6a3d9a"),
    "output": ("#f8d7d7", "#b2292e"),
    "attention": ("#fff1b3", "#a66f00"),
    "op": ("#ffffff", "#3c3c3c"),
}
FS = 11  # labels inside boxes
FS_SMALL = 9.5  # annotations; nothing is drawn below 9 pt
MAX_WIDTH = 10.0  # inches


def _fail(func: str, msg: str):
    raise ValueError(f"diagrams.{func}: {msg}")


def _check_T(func: str, T, name: str = "T") -> int:
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)):
        _fail(func, f"expected an integer {name} >= 1, got {T!r}")
    if T < 1:
        _fail(func, f"expected {name} >= 1, got {T}")
    return int(T)


def _shown_steps(T: int, max_shown: int = 5) -> list:
    """Time indices to draw (1-based); None marks an ellipsis column when T is long."""
    if T <= max_shown:
        return list(range(1, T + 1))
    head = max_shown // 2
    tail = max_shown - head - 1
    return list(range(1, head + 1)) + [None] + list(range(T - tail + 1, T + 1))


class DiagramFigure(Figure):
    """A matplotlib Figure that Jupyter displays as a PNG by itself (pyplot never sees it)."""

    repr_dpi = 130

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=self.repr_dpi)
        return buf.getvalue()


class _Canvas:
    """A figure whose single axes uses inches as data units, with the drawing primitives."""

    def __init__(self, width: float, height: float):
        self.w, self.h = float(width), float(height)
        self.fig = DiagramFigure(figsize=(self.w, self.h))
        ax = self.fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, self.w)
        ax.set_ylim(0, self.h)
        ax.set_aspect("equal")
        ax.axis("off")
        self.ax = ax

    # --- shapes -------------------------------------------------------------------------------
    def box(self, x, y, text, role="op", w=0.7, h=0.45, fontsize=FS, lw=1.3, dashed=False,
            round_=0.08, z=3, textcolor="black", alpha=1.0):
        """A rounded box centred at (x, y) with text; returns its (left, right, bottom, top)."""
        face, edge = ROLES[role]
        patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                               boxstyle=f"round,pad=0,rounding_size={round_}",
                               facecolor=face, edgecolor=edge, lw=lw, zorder=z, alpha=alpha,
                               linestyle="--" if dashed else "-")
        self.ax.add_patch(patch)
        if text:
            self.text(x, y, text, fontsize=fontsize, z=z + 1, color=textcolor)
        return (x - w / 2, x + w / 2, y - h / 2, y + h / 2)

    def rect(self, x0, y0, w, h, role="op", lw=0.8, z=2, alpha=1.0, fill=True):
        face, edge = ROLES[role]
        self.ax.add_patch(Rectangle((x0, y0), w, h, facecolor=face if fill else "none",
                                    edgecolor=edge, lw=lw, zorder=z, alpha=alpha))

    def op(self, x, y, sym, role="op", r=0.17, fontsize=FS + 1):
        """A circle for a pointwise operation (odot, +, tanh, 1-)."""
        face, edge = ROLES[role]
        self.ax.add_patch(Circle((x, y), r, facecolor=face, edgecolor=edge, lw=1.3, zorder=4))
        self.text(x, y, sym, fontsize=fontsize, z=5)

    def dot(self, x, y, role="op", r=0.045):
        self.ax.add_patch(Circle((x, y), r, facecolor=ROLES[role][1], edgecolor="none",
                                 zorder=4))

    def text(self, x, y, s, fontsize=FS, ha="center", va="center", color="black", z=6,
             bg=False, **kw):
        assert fontsize >= 9, "diagrams: no text below 9 pt"
        bbox = {"facecolor": "white", "edgecolor": "none", "pad": 1.0, "alpha": 0.9} if bg else None
        return self.ax.text(x, y, s, fontsize=fontsize, ha=ha, va=va, color=color, zorder=z,
                            bbox=bbox, **kw)

    # --- connections --------------------------------------------------------------------------
    def arrow(self, pts, role="op", head=True, dashed=False, lw=1.4, gap0=0.0, gap1=0.0,
              z=2, rad=None, head_size=1.0, color=None):
        """A polyline through pts (inches) with an arrow head at the end.

        gap0/gap1 shorten the first/last segment (to stop at a circle's rim or a box's edge);
        rad draws a single curved segment (arc3) between the first and last points instead.
        """
        pts = [tuple(map(float, p)) for p in pts]
        pts[0] = _shorten(pts[0], pts[1], gap0)
        pts[-1] = _shorten(pts[-1], pts[-2], gap1)
        colour = color if color is not None else ROLES[role][1]
        style = (f"-|>,head_length={0.4 * head_size:.2f},head_width={0.22 * head_size:.2f}"
                 if head else "-")
        kw = {"arrowstyle": style, "mutation_scale": 14, "color": colour, "lw": lw, "zorder": z,
              "linestyle": (0, (4, 2.5)) if dashed else "-", "shrinkA": 0, "shrinkB": 0,
              "joinstyle": "miter", "capstyle": "butt"}
        if rad is not None:
            patch = FancyArrowPatch(pts[0], pts[-1], connectionstyle=f"arc3,rad={rad}", **kw)
        else:
            codes = [Path.MOVETO] + [Path.LINETO] * (len(pts) - 1)
            patch = FancyArrowPatch(path=Path(pts, codes), **kw)
        self.ax.add_patch(patch)
        return patch

    def line(self, pts, role="op", **kw):
        return self.arrow(pts, role=role, head=False, **kw)


def _shorten(p, towards, d):
    """Move point p by d inches towards `towards`."""
    if d == 0:
        return p
    dx, dy = towards[0] - p[0], towards[1] - p[1]
    n = math.hypot(dx, dy)
    if n == 0:
        return p
    return (p[0] + dx / n * d, p[1] + dy / n * d)


# =============================================================================================
# Chapter 1: the RNN and backpropagation through time
# =============================================================================================
def rnn_unrolled(T: int = 4) -> Figure:
    r"""The Elman RNN folded (one cell with a self-loop $W_{hh}$) and unrolled over $T$ steps.

    Forward (solid): $h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$, $h_0 = 0$,
    with the same $W_{ih}$, $W_{hh}$ at every step; the loss $L$ reads $h_T$.
    Backward (dashed, right to left): BPTT carries $\partial L/\partial h_t$ back one step at a
    time through the Jacobian $\partial h_t/\partial h_{t-1} = \mathrm{diag}(1-h_t^2)\,W_{hh}$,
    i.e. $\partial L/\partial h_{t-1} = \partial L/\partial h_t\,\mathrm{diag}(1-h_t^2)\,W_{hh}$
    (gradients as row vectors, as in the chapter's product formula).

    Args:
        T: number of time steps to unroll (>= 1); beyond 5 the middle steps are drawn as an
            ellipsis.
    Returns:
        a matplotlib Figure.
    """
    T = _check_T("rnn_unrolled", T)
    steps = _shown_steps(T, 5)
    n = len(steps)
    x0 = 3.35  # first unrolled column
    sp = min(1.55, (MAX_WIDTH - x0 - 1.0) / max(n - 1, 1)) if n > 1 else 1.55
    cols = [x0 + k * sp for k in range(n)]
    width = max(7.0, min(MAX_WIDTH, cols[-1] + 1.05))
    cv = _Canvas(width, 4.6)
    yx, yh, yg, ytop = 1.05, 2.2, 3.2, 4.35
    bw, bh = 0.62, 0.48

    # folded view
    fx = 0.95
    cv.text(fx, ytop, "folded", fontsize=FS, style="italic")
    cv.box(fx, yx, "$x_t$", "input", w=bw, h=bh)
    cv.box(fx, yh, "$h_t$", "hidden", w=bw, h=bh)
    cv.arrow([(fx, yx + bh / 2), (fx, yh - bh / 2)], "input")
    cv.text(fx + 0.08, (yx + yh) / 2, "$W_{ih}$", ha="left", fontsize=FS_SMALL)
    lx, ly = fx + 0.62, yh + 0.62  # the self-loop: out of the right side, back into the left
    cv.arrow([(fx + bw / 2, yh), (lx, yh), (lx, ly), (fx - 0.62, ly), (fx - 0.62, yh),
              (fx - bw / 2, yh)], "hidden")
    cv.text(fx, ly + 0.17, "$W_{hh}$", fontsize=FS_SMALL)
    cv.text(2.15, yh, r"$\Longrightarrow$", fontsize=16)
    cv.text(2.15, yh - 0.3, "unroll", fontsize=FS_SMALL, style="italic")

    # unrolled chain
    cv.text((cols[0] + cols[-1]) / 2, ytop,
            f"unrolled over T = {T} step{'s' if T > 1 else ''} (shared $W_{{ih}}$, $W_{{hh}}$)",
            fontsize=FS, style="italic")
    cv.text(cols[0] - 0.62, yh + 0.1, "$h_0=0$", fontsize=FS_SMALL, va="bottom")
    cv.arrow([(cols[0] - 0.9, yh), (cols[0] - bw / 2, yh)], "hidden")
    for k, (x, t) in enumerate(zip(cols, steps)):
        if t is None:
            for y in (yx, yh, yg):
                cv.text(x, y, r"$\cdots$", fontsize=FS + 3)
        else:
            cv.box(x, yx, f"$x_{{{t}}}$", "input", w=bw, h=bh)
            cv.box(x, yh, f"$h_{{{t}}}$", "hidden", w=bw, h=bh)
            cv.arrow([(x, yx + bh / 2), (x, yh - bh / 2)], "input")
            cv.text(x + 0.07, (yx + yh) / 2, "$W_{ih}$", ha="left", fontsize=FS_SMALL)
            cv.text(x, yg, rf"$\partial L/\partial h_{{{t}}}$", fontsize=FS_SMALL,
                    color=ROLES["output"][1], bg=True)
        if k > 0:
            prev = steps[k - 1]
            g0 = 0.25 if prev is None else bw / 2
            g1 = 0.25 if t is None else bw / 2
            cv.arrow([(cols[k - 1], yh), (x, yh)], "hidden", gap0=g0, gap1=g1)
            if prev is not None and t is not None:
                cv.text((cols[k - 1] + x) / 2, yh + 0.14, "$W_{hh}$", fontsize=FS_SMALL,
                        va="bottom")
            # the backward step from column k to column k-1
            cv.arrow([(x, yg), (cols[k - 1], yg)], "output", dashed=True,
                     gap0=0.25 if t is None else 0.42, gap1=0.25 if prev is None else 0.42)
            if t is not None and prev is not None:
                cv.text((cols[k - 1] + x) / 2, yg + 0.2,
                        rf"$\mathrm{{diag}}(1-h_{{{t}}}^2)\,$" + "\n" + r"$W_{hh}$",
                        fontsize=FS_SMALL, va="bottom", color=ROLES["output"][1],
                        linespacing=1.1)
    # the loss reads h_T; its gradient enters the backward chain at the right
    xl = cols[-1] + 0.72
    cv.box(xl, yh, "$L$", "output", w=0.42, h=bh)
    cv.arrow([(cols[-1] + bw / 2, yh), (xl - 0.21, yh)], "output")
    cv.arrow([(xl, yh + bh / 2), (xl, yg), (cols[-1] + 0.45, yg)], "output", dashed=True)
    cv.text(0.25, 0.5, r"forward (solid): $h_t = \tanh(W_{ih}x_t + b_{ih} + W_{hh}h_{t-1}"
                       r" + b_{hh})$, the same $W_{ih}, W_{hh}$ at every step",
            fontsize=FS_SMALL, ha="left")
    cv.text(0.25, 0.18, r"backward (dashed): $\partial L/\partial h_{t-1} = "
                        r"\partial L/\partial h_t\;\mathrm{diag}(1-h_t^2)\,W_{hh}$",
            fontsize=FS_SMALL, ha="left", color=ROLES["output"][1])
    return cv.fig


# =============================================================================================
# Chapter 2: the LSTM cell
# =============================================================================================
_LSTM_GATES = ("i", "f", "g", "o")


def _check_values(func: str, values, allowed, name: str) -> dict:
    if values is None:
        return {}
    if not isinstance(values, dict):
        _fail(func, f"expected {name} as a dict with keys from {list(allowed)}, "
                    f"got {type(values).__name__}")
    bad = [k for k in values if k not in allowed]
    if bad:
        _fail(func, f"unknown {name} key(s) {bad}; expected keys from {list(allowed)}")
    out = {}
    for k, v in values.items():
        if hasattr(v, "detach"):  # a torch tensor, without importing torch here
            v = v.detach().cpu().double().numpy()
        try:
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            _fail(func, f"{name}[{k!r}] must be a number or an array of numbers, got {v!r}")
        if arr.size == 0:
            _fail(func, f"{name}[{k!r}] is empty")
        f = float(arr.mean())
        if not math.isfinite(f):
            _fail(func, f"{name}[{k!r}] must be finite, got {f}")
        out[k] = f
    return out


def lstm_cell(gates: dict | None = None) -> Figure:
    r"""One LSTM step, with torch's gates $i_t, f_t, g_t, o_t$.

    $[h_{t-1}, x_t]$ feeds four learned layers ($\sigma$, $\sigma$, $\tanh$, $\sigma$), and the
    cell state runs along the top:
    $c_t = f_t \odot c_{t-1} + i_t \odot g_t$, $h_t = o_t \odot \tanh(c_t)$.

    Args:
        gates: optional live values, a dict with keys from "i", "f", "g", "o"; each value is a
            number or an array/tensor of gate activations whose mean is printed under its gate
            box as $\bar i_t$, ... (e.g. `{k: trace[k] for k in "ifgo"}` with
            `trace = seqlib.lstm_gate_trace(lstm, x)`).
    Returns:
        a matplotlib Figure.
    """
    vals = _check_values("lstm_cell", gates, _LSTM_GATES, "gates")
    cv = _Canvas(9.0, 4.7)
    yc, yop, yg, ybus, yh = 3.95, 3.0, 1.95, 0.85, 1.95
    xin, xf, xplus, xi, xg, xo, xtanh, xout = 0.35, 2.55, 4.35, 3.75, 4.95, 6.05, 7.05, 8.65
    cv.ax.add_patch(FancyBboxPatch((1.55, 0.45), 6.05, 4.0,
                                   boxstyle="round,pad=0,rounding_size=0.15",
                                   facecolor="#f6f6f6", edgecolor="#b0b0b0", lw=1.0, zorder=0))
    # cell state line
    cv.text(xin, yc, "$c_{t-1}$", fontsize=FS, ha="left", va="bottom")
    cv.arrow([(xin, yc), (xf, yc)], "cell", gap1=0.17, lw=2.2)
    cv.op(xf, yc, r"$\odot$", "cell")
    cv.arrow([(xf, yc), (xplus, yc)], "cell", gap0=0.17, gap1=0.17, lw=2.2)
    cv.op(xplus, yc, "$+$", "cell")
    cv.arrow([(xplus, yc), (xout, yc)], "cell", gap0=0.17, lw=2.2)
    cv.text(xout, yc + 0.08, "$c_t$", fontsize=FS, ha="right", va="bottom")
    # input bus: h_{t-1} from the left, x_t from below, concatenated
    cv.text(xin, ybus, "$h_{t-1}$", fontsize=FS, ha="left", va="bottom")
    xcat = 1.95
    cv.line([(xin, ybus), (xcat, ybus)], "hidden", lw=1.6)
    cv.text(xcat, 0.08, "$x_t$", fontsize=FS, va="bottom")
    cv.line([(xcat, 0.32), (xcat, ybus)], "input", lw=1.6)
    cv.dot(xcat, ybus)
    cv.line([(xcat, ybus), (xo, ybus)], "op", lw=1.6)
    cv.text(xcat + 0.12, ybus - 0.06, "$[h_{t-1}, x_t]$", fontsize=FS_SMALL, va="top",
            ha="left")
    bw, bh = 0.74, 0.48
    for name, x, fn in (("f", xf, r"$\sigma$"), ("i", xi, r"$\sigma$"), ("g", xg, r"$\tanh$"),
                        ("o", xo, r"$\sigma$")):
        cv.box(x, yg, fn, "gate", w=bw, h=bh)
        cv.dot(x, ybus) if x != xo else None
        cv.arrow([(x, ybus), (x, yg - bh / 2)], "op")
        if name in vals:
            cv.text(x, (ybus + yg - bh / 2) / 2, rf"$\bar{{{name}}}_t={vals[name]:.2f}$",
                    fontsize=FS_SMALL, color=ROLES["gate"][1], bg=True)
    # forget gate into the cell line
    cv.arrow([(xf, yg + bh / 2), (xf, yc)], "gate", gap1=0.17)
    cv.text(xf + 0.08, (yg + yc) / 2, "$f_t$", ha="left")
    # i_t * g_t
    cv.op(xplus, yop, r"$\odot$")
    cv.arrow([(xi, yg + bh / 2), (xi, yop), (xplus, yop)], "gate", gap1=0.17)
    cv.arrow([(xg, yg + bh / 2), (xg, yop), (xplus, yop)], "gate", gap1=0.17)
    cv.text(xi - 0.08, yg + 0.5, "$i_t$", ha="right")
    cv.text(xg + 0.08, yg + 0.5, "$g_t$", ha="left")
    cv.arrow([(xplus, yop), (xplus, yc)], "gate", gap0=0.17, gap1=0.17)
    cv.text(xplus + 0.08, (yop + yc) / 2, r"$i_t\odot g_t$", ha="left", fontsize=FS_SMALL)
    # h_t = o_t * tanh(c_t)
    cv.dot(xtanh, yc, "cell")
    cv.op(xtanh, yop, r"$\tanh$", "cell", r=0.27, fontsize=FS_SMALL)
    cv.arrow([(xtanh, yc), (xtanh, yop)], "cell", gap1=0.27)
    cv.op(xtanh, yh, r"$\odot$")
    cv.arrow([(xtanh, yop), (xtanh, yh)], "cell", gap0=0.27, gap1=0.17)
    cv.arrow([(xo + bw / 2, yh), (xtanh, yh)], "gate", gap1=0.17)
    cv.text((xo + bw / 2 + xtanh - 0.17) / 2, yh + 0.07, "$o_t$", va="bottom")
    cv.arrow([(xtanh, yh), (xout, yh)], "hidden", gap0=0.17, lw=1.8)
    cv.text(xout, yh + 0.08, "$h_t$", fontsize=FS, ha="right", va="bottom")
    cv.text(4.575, 0.08,
            r"$c_t = f_t\odot c_{t-1} + i_t\odot g_t \qquad h_t = o_t\odot\tanh(c_t)$",
            fontsize=FS_SMALL, va="bottom", ha="center")
    return cv.fig


# =============================================================================================
# Chapter 3: the GRU cell (torch form)
# =============================================================================================
def gru_cell() -> Figure:
    r"""One GRU step in torch's form, gates $r_t$, $z_t$ and candidate $n_t$.

    $r_t = \sigma(W_{ir}x_t + b_{ir} + W_{hr}h_{t-1} + b_{hr})$,
    $z_t = \sigma(W_{iz}x_t + b_{iz} + W_{hz}h_{t-1} + b_{hz})$,
    $n_t = \tanh(W_{in}x_t + b_{in} + r_t \odot (W_{hn}h_{t-1} + b_{hn}))$,
    $h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$.
    The reset gate multiplies $W_{hn}h_{t-1} + b_{hn}$ (torch, cuDNN), not $h_{t-1}$ before the
    product (Cho et al.). The hidden state runs along the top; the update gate $z_t$ mixes it
    with the candidate through the $1 - z_t$ branch.

    Returns:
        a matplotlib Figure.
    """
    cv = _Canvas(9.6, 5.0)
    ytop, ymix, ycand, yg, ybus = 4.35, 3.45, 2.5, 1.6, 0.75
    xin, xcat, xz, xone, xr, xA, xB, xn, xout = 0.3, 0.85, 1.85, 3.0, 3.2, 4.75, 6.35, 7.95, 9.3
    cv.ax.add_patch(FancyBboxPatch((1.3, 0.35), 7.25, 4.35,
                                   boxstyle="round,pad=0,rounding_size=0.15",
                                   facecolor="#f6f6f6", edgecolor="#b0b0b0", lw=1.0, zorder=0))
    # the hidden state line: h_{t-1} -> (z_t ⊙ h_{t-1}) -> + -> h_t
    cv.text(xin, ytop + 0.08, "$h_{t-1}$", ha="left", va="bottom")
    cv.arrow([(xin, ytop), (xz, ytop)], "hidden", lw=2.2, gap1=0.17)
    cv.op(xz, ytop, r"$\odot$", "hidden")
    cv.arrow([(xz, ytop), (xn, ytop)], "hidden", lw=2.2, gap0=0.17, gap1=0.17)
    cv.text((xz + xn) / 2, ytop + 0.08, r"$z_t\odot h_{t-1}$", va="bottom", fontsize=FS_SMALL)
    cv.op(xn, ytop, "$+$", "hidden")
    cv.arrow([(xn, ytop), (xout, ytop)], "hidden", lw=2.2, gap0=0.17)
    cv.text(xout, ytop + 0.08, "$h_t$", ha="right", va="bottom")
    # the bus [h_{t-1}, x_t]
    cv.dot(xcat, ytop, "hidden")
    cv.line([(xcat, ytop), (xcat, ybus)], "hidden", lw=1.6)
    cv.text(xin, ybus - 0.45, "$x_t$", ha="left", va="center")
    cv.line([(xin + 0.3, ybus - 0.45), (xcat, ybus - 0.45), (xcat, ybus)], "input", lw=1.6)
    cv.dot(xcat, ybus)
    cv.line([(xcat, ybus), (xB, ybus)], "op", lw=1.6)
    cv.text(xcat + 0.15, ybus - 0.06, "$[h_{t-1}, x_t]$", fontsize=FS_SMALL, va="top",
            ha="left")
    bw, bh = 0.7, 0.48
    cv.box(xz, yg, r"$\sigma$", "gate", w=bw, h=bh)
    cv.box(xr, yg, r"$\sigma$", "gate", w=bw, h=bh)
    Aw, Bw = 1.55, 1.35
    cv.box(xA, yg, r"$W_{hn}h_{t-1}+b_{hn}$", "op", w=Aw, h=bh, fontsize=FS_SMALL)
    cv.box(xB, yg, r"$W_{in}x_t+b_{in}$", "op", w=Bw, h=bh, fontsize=FS_SMALL)
    for x in (xz, xr, xA, xB):
        if x != xB:
            cv.dot(x, ybus)
        cv.arrow([(x, ybus), (x, yg - bh / 2)], "op")
    cv.text(xA + 0.07, (ybus + yg - bh / 2) / 2, "$h_{t-1}$", ha="left", fontsize=FS_SMALL)
    cv.text(xB + 0.07, (ybus + yg - bh / 2) / 2, "$x_t$", ha="left", fontsize=FS_SMALL)
    # candidate: n_t = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    cv.op(xA, ycand, r"$\odot$")
    cv.arrow([(xr, yg + bh / 2), (xr, ycand), (xA, ycand)], "gate", gap1=0.17)
    cv.text(xr + 0.08, (yg + ycand) / 2 + 0.05, "$r_t$", ha="left")
    cv.arrow([(xA, yg + bh / 2), (xA, ycand)], "op", gap1=0.17)
    cv.op(xB, ycand, "$+$")
    cv.arrow([(xA, ycand), (xB, ycand)], "op", gap0=0.17, gap1=0.17)
    cv.arrow([(xB, yg + bh / 2), (xB, ycand)], "op", gap1=0.17)
    cv.box(xn, ycand, r"$\tanh$", "gate", w=bw, h=bh)
    cv.arrow([(xB, ycand), (xn - bw / 2, ycand)], "op", gap0=0.17)
    cv.op(xn, ymix, r"$\odot$")
    cv.arrow([(xn, ycand + bh / 2), (xn, ymix)], "gate", gap1=0.17)
    cv.text(xn + 0.08, (ycand + ymix) / 2, "$n_t$", ha="left")
    # update gate: z_t -> (z ⊙ h_{t-1}) on top, and 1 - z_t -> ((1 - z) ⊙ n_t)
    cv.dot(xz, ymix, "gate")
    cv.arrow([(xz, yg + bh / 2), (xz, ytop)], "gate", gap1=0.17)
    cv.text(xz - 0.08, (yg + ymix) / 2, "$z_t$", ha="right")
    cv.op(xone, ymix, r"$1-$", r=0.22, fontsize=FS_SMALL + 0.5)
    cv.arrow([(xz, ymix), (xone, ymix)], "gate", gap1=0.22)
    cv.arrow([(xone, ymix), (xn, ymix)], "gate", gap0=0.22, gap1=0.17)
    cv.text((xone + xn) / 2, ymix + 0.07, "$1-z_t$", va="bottom", fontsize=FS_SMALL)
    cv.arrow([(xn, ymix), (xn, ytop)], "op", gap0=0.17, gap1=0.17)
    cv.text(xn + 0.08, (ymix + ytop) / 2, r"$(1-z_t)\odot n_t$", ha="left", fontsize=FS_SMALL)
    cv.text(xout, 0.08, r"$n_t = \tanh(W_{in}x_t + b_{in} + r_t\odot(W_{hn}h_{t-1}"
                        r" + b_{hn}))\qquad h_t = (1-z_t)\odot n_t + z_t\odot h_{t-1}$",
            fontsize=FS_SMALL, ha="right", va="bottom")
    return cv.fig


# =============================================================================================
# Chapter 4: bidirectional RNNs
# =============================================================================================
def _check_lengths(func: str, lengths, T: int) -> list[int] | None:
    if lengths is None:
        return None
    if isinstance(lengths, (int, np.integer)) and not isinstance(lengths, bool):
        lengths = [lengths]
    try:
        vals = [v for v in np.asarray(lengths).reshape(-1).tolist()]
    except Exception:  # noqa: BLE001 - anything that is not a sequence of numbers
        _fail(func, f"expected lengths as a sequence of integers, got {lengths!r}")
    if not vals or not all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        _fail(func, f"expected lengths as a non-empty sequence of integers, got {lengths!r}")
    if min(vals) < 1 or max(vals) > T:
        _fail(func, f"expected every length in 1..T={T}, got {vals}")
    return vals


def birnn_unrolled(T: int = 4, lengths=None) -> Figure:
    r"""A bidirectional RNN unrolled over $x_1..x_T$.

    The forward chain $\overrightarrow{h}_t = f(x_t, \overrightarrow{h}_{t-1})$ runs left to
    right above the inputs, the backward chain $\overleftarrow{h}_t = g(x_t,
    \overleftarrow{h}_{t+1})$ right to left below them, with separate weights; each output is
    the concatenation $y_t = [\overrightarrow{h}_t; \overleftarrow{h}_t] \in \mathbb{R}^{2H}$.
    Each column reads: input $x_t$ (left), both states (above, below), output $y_t$ (right).

    Args:
        T: number of positions (1 to 8).
        lengths: optional lengths of a padded batch (each 1..T). The figure then draws the
            shortest sequence, of length $n$, padded to $T$: the backward chain starts from
            $\overleftarrow{h}_{n+1} = 0$ at the sequence's own last token $x_n$, not at the last
            padded position (flipping the padded batch would feed it padding first).
    Returns:
        a matplotlib Figure.
    """
    T = _check_T("birnn_unrolled", T)
    if T > 8:
        _fail("birnn_unrolled", f"draws at most T=8 positions legibly, got T={T}")
    lens = _check_lengths("birnn_unrolled", lengths, T)
    n = min(lens) if lens else T
    sp = min(1.75, 7.4 / T)
    x0 = 1.6
    cols = [x0 + k * sp for k in range(T)]
    width = max(6.5, cols[-1] + 1.15)
    height = 4.45 if lens else 4.1
    cv = _Canvas(width, height)
    base = 0.75 if lens else 0.35  # room for the padding note
    yf, ym, yb = base + 2.45, base + 1.45, base + 0.45
    bh = 0.5
    bw = min(0.68, 0.75 * sp)  # state boxes
    dx = min(0.38, 0.25 * sp)  # input / output offset from the column centre
    iw = min(0.52, 0.34 * sp)  # input / output boxes
    ex = min(0.12, 0.5 * dx)  # where the diagonals meet the state boxes
    grey = "#9a9a9a"
    cv.text(0.12, yf, "forward", fontsize=FS_SMALL, ha="left", style="italic")
    cv.text(0.12, yb, "backward", fontsize=FS_SMALL, ha="left", style="italic")
    for k, x in enumerate(cols):
        t = k + 1
        pad = t > n
        if pad:
            cv.box(x - dx, ym, "pad", "op", w=iw, h=bh, fontsize=9, dashed=True,
                   textcolor=grey)
        else:
            cv.box(x - dx, ym, f"$x_{{{t}}}$", "input", w=iw, h=bh)
            cv.box(x + dx, ym, f"$y_{{{t}}}$", "output", w=iw, h=bh)
            cv.box(x, yf, rf"$\overrightarrow{{h}}_{{{t}}}$", "hidden", w=bw, h=bh)
            cv.box(x, yb, rf"$\overleftarrow{{h}}_{{{t}}}$", "hidden", w=bw, h=bh)
            # x_t feeds both chains, both states feed y_t
            cv.arrow([(x - dx, ym + bh / 2), (x - ex, yf - bh / 2)], "input")
            cv.arrow([(x - dx, ym - bh / 2), (x - ex, yb + bh / 2)], "input")
            cv.arrow([(x + ex, yf - bh / 2), (x + dx, ym + bh / 2)], "hidden")
            cv.arrow([(x + ex, yb + bh / 2), (x + dx, ym - bh / 2)], "hidden")
        if k > 0 and not pad:
            cv.arrow([(cols[k - 1] + bw / 2, yf), (x - bw / 2, yf)], "hidden")
        if k + 1 < n:
            cv.arrow([(cols[k + 1] - bw / 2, yb), (x + bw / 2, yb)], "hidden")
    cv.text(cols[0] - 0.6, yf + 0.33, r"$\overrightarrow{h}_0=0$", fontsize=FS_SMALL)
    cv.arrow([(cols[0] - 0.75, yf), (cols[0] - bw / 2, yf)], "hidden")
    last = cols[n - 1]
    cv.text(last + 0.6, yb - 0.33, rf"$\overleftarrow{{h}}_{{{n + 1}}}=0$", fontsize=FS_SMALL)
    cv.arrow([(last + 0.75, yb), (last + bw / 2, yb)], "hidden")
    cv.text(width / 2, yf + 0.72,
            r"$y_t = [\overrightarrow{h}_t\,;\,\overleftarrow{h}_t] \in \mathbb{R}^{2H}$"
            r"$\qquad \overrightarrow{h}_t = f(x_t, \overrightarrow{h}_{t-1}) \qquad"
            r"\overleftarrow{h}_t = g(x_t, \overleftarrow{h}_{t+1})$", fontsize=FS_SMALL + 0.5)
    if lens:
        note = (f"lengths = {lens}: this sequence has n = {n}, padded to T = {T}. "
                if n < T else f"lengths = {lens}: no padding in this sequence (n = T = {T}). ")
        cv.text(0.12, 0.5, note, fontsize=FS_SMALL, ha="left", color=ROLES["output"][1])
        cv.text(0.12, 0.2, f"The backward chain must start at its own last token $x_{{{n}}}$, "
                           f"not at position T: flipping the padded batch would read padding "
                           f"first.", fontsize=FS_SMALL, ha="left", color=ROLES["output"][1])
    return cv.fig


# =============================================================================================
# Chapter 5: TextCNN
# =============================================================================================
def textcnn(widths=(2, 3, 4), T: int = 7) -> Figure:
    r"""The one-layer TextCNN of Kim (2014) on $T$ embedded tokens.

    The embedded text is a $T \times E$ grid ($x_1..x_T \in \mathbb{R}^E$, time left to right).
    A filter $w \in \mathbb{R}^{k \times E}$ of width $k$ slides over every window of $k$ tokens,
    $c_t = \mathrm{ReLU}(\sum_{i=0}^{k-1} w_i \cdot x_{t+i} + b)$ for $t = 1..T-k+1$ (one
    feature map per filter, drawn under the windows it scores), max-over-time pooling keeps
    $\hat c = \max_t c_t$, the pooled values of all $K$ widths ($F$ filters each) are
    concatenated into $z \in \mathbb{R}^{KF}$, and a linear layer gives the logits,
    $W\,\mathrm{dropout}(z) + b_{\mathrm{out}}$.

    Args:
        widths: the filter widths $k$ (1 to 4 of them, each 1..T).
        T: number of tokens drawn (1 to 12).
    Returns:
        a matplotlib Figure.
    """
    T = _check_T("textcnn", T)
    if T > 12:
        _fail("textcnn", f"draws at most T=12 tokens legibly, got T={T}")
    try:
        ws = [w for w in widths]
    except TypeError:
        _fail("textcnn", f"expected widths as a sequence of integers, got {widths!r}")
    if not ws or len(ws) > 4:
        _fail("textcnn", f"expected 1 to 4 filter widths, got {len(ws)}")
    for w in ws:
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or not 1 <= w <= T:
            _fail("textcnn", f"expected each width an integer in 1..T={T}, got {w!r}")
    ws = [int(w) for w in ws]
    E = 4  # rows of the embedding grid drawn (E is symbolic)
    cw = min(0.44, 3.9 / T)  # token column width
    ch = 0.24  # grid row height
    gx = 0.95  # grid left
    band = 0.78  # height of one width's band
    K = len(ws)
    height = 1.2 + E * ch + K * band + 0.55
    cv = _Canvas(9.6, height)
    gtop = height - 0.55
    gbot = gtop - E * ch
    # the embedded text: T x E
    for t in range(T):
        for e in range(E):
            cv.rect(gx + t * cw, gbot + e * ch, cw, ch, "input", lw=0.7)
        if cw >= 0.33 or t in (0, T - 1):
            cv.text(gx + (t + 0.5) * cw, gtop + 0.18, f"$x_{{{t + 1}}}$", fontsize=FS_SMALL)
    cv.text(gx - 0.12, (gtop + gbot) / 2, "$E$", ha="right")
    cv.text(gx + T * cw / 2, gtop + 0.45, f"embedded tokens, T = {T}", fontsize=FS_SMALL,
            style="italic")
    gate_edge = ROLES["gate"][1]
    xmax = gx + T * cw + 1.05  # pooled column
    for j, k in enumerate(ws):
        ytop = gbot - 0.25 - j * band
        ymap = ytop - 0.52
        t0 = min(j, T - k)  # the window highlighted in this band (0-based start)
        nmap = T - k + 1
        cv.text(gx - 0.12, ymap + 0.05, f"$k={k}$", ha="right", color=gate_edge)
        # the window: a bracket over k token columns, with its arrow to c_{t0+1}
        xa, xb = gx + t0 * cw + 0.03, gx + (t0 + k) * cw - 0.03
        cv.line([(xa, ytop - 0.08), (xa, ytop), (xb, ytop), (xb, ytop - 0.08)], "gate", lw=1.8)
        # the feature map, cell t centred under its window
        for t in range(nmap):
            xc = gx + (t + k / 2) * cw
            hot = t == t0
            cv.rect(xc - cw / 2 + 0.02, ymap - 0.14, cw - 0.04, 0.28, "gate" if hot else "op",
                    lw=1.2 if hot else 0.7)
        xc0 = gx + (t0 + k / 2) * cw
        cv.arrow([(xc0, ytop), (xc0, ymap + 0.14)], "gate", head_size=0.8)
        if j == 0:
            cv.text(xb + 0.06, ytop - 0.02, r"$w \in \mathbb{R}^{k\times E}$ slides $\rightarrow$",
                    fontsize=FS_SMALL, ha="left", va="bottom", color=gate_edge)
        # max over time
        xend = gx + (nmap - 1 + k / 2) * cw + cw / 2
        cv.box(xmax, ymap, r"$\hat c$", "gate", w=0.42, h=0.32, fontsize=FS_SMALL)
        cv.arrow([(xend + 0.05, ymap), (xmax - 0.21, ymap)], "op")
        cv.text((xend + xmax) / 2 - 0.05, ymap + 0.1, r"$\max_t$", fontsize=FS_SMALL,
                va="bottom")
    ytop_map = gbot - 0.25 - 0.52
    ybot_map = gbot - 0.25 - (K - 1) * band - 0.52
    # concatenation: the pooled values form z
    zx = xmax + 0.85
    zh = ytop_map - ybot_map + 0.5
    zy = (ytop_map + ybot_map) / 2
    cv.box(zx, zy, "", "hidden", w=0.42, h=zh, round_=0.05)
    for j in range(K):
        y = ytop_map - j * band
        cv.arrow([(xmax + 0.21, y), (zx - 0.21, y)], "op")
        if j:
            cv.line([(zx - 0.21, y + band / 2), (zx + 0.21, y + band / 2)], "hidden", lw=0.8)
    cv.text(zx, zy + zh / 2 + 0.18, "$z$", va="bottom")
    cv.text(zx, zy - zh / 2 - 0.1, r"$\mathbb{R}^{KF}$", va="top", fontsize=FS_SMALL)
    wx = zx + 1.6
    cv.box(wx, zy, r"$W\,\mathrm{dropout}(z)$" + "\n" + r"$+\,b_{\mathrm{out}}$", "gate",
           w=1.55, h=0.8, fontsize=FS_SMALL)
    cv.arrow([(zx + 0.21, zy), (wx - 0.775, zy)], "hidden")
    ox = wx + 1.3
    cv.box(ox, zy, "logits", "output", w=0.8, h=0.45, fontsize=FS_SMALL)
    cv.text(ox, zy - 0.35, r"$\mathbb{R}^{C}$", va="top", fontsize=FS_SMALL)
    cv.arrow([(wx + 0.775, zy), (ox - 0.4, zy)], "gate")
    cv.text(zx + 0.25, zy + zh / 2 + 0.25,
            f"concatenate: $K = {K}$ widths " + r"$\times$ $F$ filters", fontsize=FS_SMALL,
            ha="left", va="bottom")
    cv.text(0.15, 0.2, r"$c_t = \mathrm{ReLU}(\sum_{i=0}^{k-1} w_i\cdot x_{t+i} + b),\ "
                       r"t = 1..T-k+1 \qquad \hat c = \max_t c_t$   (one filter per width drawn;"
                       r" each has $F$)", fontsize=FS_SMALL, ha="left")
    return cv.fig


# =============================================================================================
# Chapter 6: additive attention in an encoder-decoder
# =============================================================================================
def _token_text(tok) -> str:
    s = str(tok)
    if s == " ":
        return "\u2423"  # a visible space
    return s.replace("$", r"\$")


def _text_width(s: str, fontsize: float) -> float:
    """Width in inches of s rendered at fontsize (no figure needed)."""
    from matplotlib.textpath import TextPath

    return TextPath((0, 0), s, size=fontsize).get_extents().width / 72.0


def _as_array(func: str, weights) -> np.ndarray:
    if hasattr(weights, "detach"):  # a torch tensor, without importing torch here
        weights = weights.detach().cpu().numpy()
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        _fail(func, f"expected weights as a 2-D array of numbers, got {type(weights).__name__}")
    return w


def seq2seq_attention(src=None, tgt=None, weights=None, step: int | None = None) -> Figure:
    r"""One decoder step of an encoder-decoder with additive (Bahdanau) attention.

    The encoder turns $x_1..x_{T_x}$ into states $h_t$. At output step $i$ the scorer reads the
    previous decoder state and every encoder state,
    $e_{it} = v^\top \tanh(W_q s_{i-1} + W_k h_t + b)$, the softmax over $t$ gives the weights
    $\alpha_{it}$, and the context is $c_i = \sum_t \alpha_{it} h_t$ (the fan of arrows). The
    decoder then computes $s_i = \mathrm{GRU}([E y_{i-1}; c_i], s_{i-1})$ and
    $p(y_i \mid y_{<i}, x) = \mathrm{softmax}(W_o [s_i; c_i; E y_{i-1}] + b_o)$.

    Args:
        src: optional source tokens (a string or a list; at most 32).
        tgt: optional target tokens (what the decoder wrote).
        weights: optional attention weights, an array of shape (len(tgt), len(src)) whose rows
            sum to 1 (e.g. from `Seq2Seq.greedy(..., return_weights=True)`, cut to the real
            tokens). With them the arrows of one output step are drawn with thickness
            proportional to $\alpha_{it}$ and labelled with the values (live values); without
            them the figure is generic.
        step: which output step (0-based row of `weights`) to draw; default 0.
    Returns:
        a matplotlib Figure.
    """
    func = "seq2seq_attention"
    src = list(src) if src is not None else None
    tgt = list(tgt) if tgt is not None else None
    if src is not None and not 1 <= len(src) <= 32:
        _fail(func, f"draws 1 to 32 source tokens legibly, got {len(src)}")
    if tgt is not None and len(tgt) < 1:
        _fail(func, "expected at least one target token")
    W = None
    if weights is not None:
        if src is None or tgt is None:
            _fail(func, "weights need src and tgt (the tokens they align)")
        W = _as_array(func, weights)
        if W.shape != (len(tgt), len(src)):
            _fail(func, f"expected weights of shape (len(tgt), len(src)) = "
                        f"({len(tgt)}, {len(src)}), got {tuple(W.shape)}")
        if not np.all(np.isfinite(W)) or W.min() < 0:
            _fail(func, "expected finite, non-negative attention weights")
        if not np.allclose(W.sum(1), 1.0, atol=1e-2):
            _fail(func, f"expected each row of weights to sum to 1 (a softmax over the source), "
                        f"got row sums {np.round(W.sum(1), 3).tolist()}")
    i = 0 if step is None else step
    if tgt is not None:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < len(tgt):
            _fail(func, f"expected step in 0..{len(tgt) - 1}, got {step!r}")
    elif step is not None:
        _fail(func, "step needs tgt")
    i = int(i)

    # source columns: real tokens, or a generic 1, 2, 3, ..., T_x
    if src is not None:
        labels = [str(t + 1) for t in range(len(src))]
        toks = [_token_text(s) for s in src]
    else:
        labels, toks = ["1", "2", "3", None, "T_x"], None
    S = len(labels)
    x_lo, x_hi = 0.95, 5.05
    sp = (x_hi - x_lo) / max(S - 1, 1)
    cols = [x_lo + k * sp for k in range(S)] if S > 1 else [(x_lo + x_hi) / 2]
    bw = min(0.62, sp * 0.86)
    bh = 0.42
    att_edge = ROLES["attention"][1]
    # which labels fit
    wide = sp >= 0.55
    if toks is not None:
        tw = max(_text_width(s, FS_SMALL) for s in toks)
        tok_w = min(max(bw, tw + 0.14), sp * 0.92)
        rotate = tw > tok_w - 0.03
        th = min(tw + 0.14, 1.1) if rotate else bh
        if rotate:
            toks = [s if _text_width(s, FS_SMALL) < 0.95 else s[:9] + "\u2026" for s in toks]
    else:
        tok_w, rotate, th = bw, False, bh
    dy = th - bh  # tall (rotated) tokens push the rest of the picture up
    cv = _Canvas(9.6, 5.75 + dy)
    ytok = 0.45
    yh, ysum, ydec, yout = 1.35 + dy, 3.35 + dy, 4.45 + dy, 5.3 + dy
    cv.text(0.08, ytok - bh / 2 + th / 2, "$x_t$", ha="left")
    cv.text(0.08, yh, "$h_t$", ha="left")
    alphas = W[i] if W is not None else None
    if alphas is not None:  # label the largest weights whose labels do not collide
        top = set()
        for k in np.argsort(-alphas, kind="stable")[:3].tolist():
            if all(abs(k - j) * sp * (1 - 0.34) >= 0.42 for j in top):
                top.add(k)
    xc = (x_lo + x_hi) / 2
    for k, (x, lab) in enumerate(zip(cols, labels)):
        if lab is None:
            for y in (ytok, yh):
                cv.text(x, y, r"$\cdots$", fontsize=FS + 2)
            continue
        if toks is not None:
            cv.box(x, ytok + (th - bh) / 2, "", "input", w=tok_w, h=th)
            cv.text(x, ytok + (th - bh) / 2, toks[k], fontsize=FS_SMALL,
                    rotation=90 if rotate else 0)
        else:
            cv.box(x, ytok, f"$x_{{{lab}}}$", "input", w=bw, h=bh, fontsize=FS_SMALL)
        cv.box(x, yh, f"$h_{{{lab}}}$" if wide else "", "hidden", w=bw, h=bh)
        y0 = ytok - bh / 2 + th
        cv.arrow([(x, y0), (x, yh - bh / 2)], "input", head_size=0.8)
        # the fan: h_t -> c_i, thickness from alpha_it
        a = None if alphas is None else float(alphas[k])
        lw = 1.3 if a is None else 0.4 + 7.0 * a
        cv.arrow([(x, yh + bh / 2), (xc, ysum)], "attention", gap1=0.24, lw=lw,
                 head=wide or (a is not None and a >= 0.05 and k in top), head_size=0.8)
        f = 0.34
        lx, ly = x + (xc - x) * f, yh + bh / 2 + (ysum - yh - bh / 2) * f
        if a is None:
            if wide:
                cv.text(lx, ly, rf"$\alpha_{{i{lab}}}$" if lab != "T_x" else
                        r"$\alpha_{iT_x}$", fontsize=FS_SMALL, color=att_edge, bg=True)
        elif wide or (k in top and a >= 0.05):
            cv.text(lx, ly, f"{a:.2f}", fontsize=FS_SMALL, color=att_edge, bg=True)
    cv.op(xc, ysum, r"$\Sigma$", "attention", r=0.24)
    cv.text(xc - 0.35, ysum, r"$c_i = \sum_t \alpha_{it} h_t$", ha="right", fontsize=FS_SMALL)
    # the scorer
    sx, sy, sw, sh = 7.75, 1.8 + dy, 3.45, 1.05
    cv.box(sx, sy, "", "attention", w=sw, h=sh)
    cv.text(sx, sy + 0.22, r"$e_{it} = v^\top\tanh(W_q s_{i-1} + W_k h_t + b)$",
            fontsize=FS_SMALL)
    cv.text(sx, sy - 0.22, r"$\alpha_{it} = \exp e_{it} \,/\, \sum_{t'} \exp e_{it'}$",
            fontsize=FS_SMALL)
    cv.arrow([(cols[-1] + bw / 2, yh - 0.05), (sx - sw / 2, yh - 0.05)], "hidden")
    cv.text((cols[-1] + bw / 2 + sx - sw / 2) / 2, yh - 0.12, "all $h_t$", va="top",
            fontsize=FS_SMALL)
    xa_end = cols[-1] + (xc - cols[-1]) * 0.62
    ya_end = yh + bh / 2 + (ysum - yh - bh / 2) * 0.62
    cv.arrow([(sx - sw / 2, ya_end), (xa_end + 0.1, ya_end)], "attention", dashed=True)
    cv.text((sx - sw / 2 + xa_end) / 2 + 0.1, ya_end + 0.07, r"$\alpha_{it}$", va="bottom",
            fontsize=FS_SMALL, color=att_edge)
    # the decoder step
    gx, gw, gh = 7.35, 1.2, 0.72
    cv.box(gx, ysum, "$s_{i-1}$", "hidden", w=0.75, h=bh)
    cv.arrow([(gx, ysum - bh / 2), (gx, sy + sh / 2)], "hidden")
    cv.box(gx, ydec, "GRU", "hidden", w=gw, h=gh, fontsize=FS_SMALL)
    cv.arrow([(gx, ysum + bh / 2), (gx, ydec - gh / 2)], "hidden")
    cv.arrow([(xc, ysum + 0.24), (xc, ydec - 0.15), (gx - gw / 2, ydec - 0.15)], "attention")
    cv.text((xc + gx - gw / 2) / 2, ydec - 0.08, "$c_i$", va="bottom")
    ex = 5.35
    cv.box(ex, ydec + 0.55, r"$E\,y_{i-1}$", "input", w=0.95, h=bh, fontsize=FS_SMALL)
    cv.arrow([(ex + 0.475, ydec + 0.55), (gx - gw / 2 - 0.25, ydec + 0.55),
              (gx - gw / 2 - 0.25, ydec + 0.17), (gx - gw / 2, ydec + 0.17)], "input")
    cv.box(8.85, ydec, "$s_i$", "hidden", w=0.55, h=bh)
    cv.arrow([(gx + gw / 2, ydec), (8.85 - 0.275, ydec)], "hidden")
    if tgt is not None:
        prev = _token_text(tgt[i - 1]) if i > 0 else "<s>"
        out_text = _token_text(tgt[i])
        cv.text(ex, ydec + 0.55 + bh / 2 + 0.06, f"$y_{{i-1}}$ = {prev}", va="bottom",
                fontsize=FS_SMALL)
        cv.text(0.1, yout + 0.2, f"output step i = {i + 1} of {len(tgt)}"
                + (": arrow width ∝ $\\alpha_{it}$" if W is not None else ""),
                ha="left", fontsize=FS_SMALL, style="italic")
    else:
        out_text = "$y_i$"
    cv.box(8.85, yout, out_text, "output", w=max(0.55, 0.1 * len(out_text) + 0.25), h=bh,
           fontsize=FS_SMALL if tgt is not None else FS)
    cv.arrow([(8.85, ydec + bh / 2), (8.85, yout - bh / 2)], "output")
    cv.text(8.6, (ydec + yout) / 2 + 0.06,
            r"$\mathrm{softmax}(W_o[s_i; c_i; E y_{i-1}] + b_o)$", ha="right",
            fontsize=FS_SMALL)
    return cv.fig


# =============================================================================================
# Chapter 8: the Transformer encoder layer
# =============================================================================================
def _bracket(cv: _Canvas, x, y0, y1, text, fontsize=FS_SMALL):
    """A right-hand bracket from y0 to y1 with a label."""
    cv.line([(x - 0.08, y0), (x, y0), (x, y1), (x - 0.08, y1)], "op", lw=1.0)
    cv.text(x + 0.12, (y0 + y1) / 2, text, fontsize=fontsize, ha="left")


def encoder_layer() -> Figure:
    r"""A Transformer encoder layer, post-norm (as `torch.nn.TransformerEncoderLayer`'s default).

    From the input rows $X$: $Q = XW_Q^\top$, $K = XW_K^\top$, $V = XW_V^\top$; each of $N$
    heads computes $\mathrm{softmax}(QK^\top/\sqrt{D_h} + M)\,V$ on $D_h = E/N$ features
    ($M$: 0 where reading is allowed, $-\infty$ for padding or the future); the heads are
    concatenated and projected by $W_O$. Then, post-norm:
    $x \leftarrow \mathrm{LN}(x + \mathrm{MHA}(x))$,
    $x \leftarrow \mathrm{LN}(x + W_2\,\mathrm{relu}(W_1 x))$.

    Returns:
        a matplotlib Figure.
    """
    cv = _Canvas(8.8, 7.0)
    cx, lane = 3.3, 0.8
    yx, ytap, yqkv, yatt, ycat, yadd1, yln1, ytap2, yffn, yadd2, yln2, yout = (
        0.35, 0.78, 1.25, 2.25, 3.1, 3.65, 4.15, 4.6, 5.1, 5.65, 6.15, 6.68)
    cv.box(cx, yx, r"$x \in \mathbb{R}^{T\times E}$", "input", w=1.5, h=0.42)
    cv.line([(cx, yx + 0.21), (cx, ytap)], "input")
    cv.dot(cx, ytap, "input")
    # Q, K, V projections
    bw, bh = 0.9, 0.42
    xs = {"Q": cx - 1.15, "K": cx, "V": cx + 1.15}
    cv.line([(xs["Q"], ytap), (xs["V"], ytap)], "input")
    aw, ah = 3.4, 0.72
    for name, x in xs.items():
        cv.box(x, yqkv, f"$W_{name}$", "gate", w=bw, h=bh)
        cv.arrow([(x, ytap), (x, yqkv - bh / 2)], "input")
        cv.arrow([(x, yqkv + bh / 2), (x, yatt - ah / 2)], "gate")
        cv.text(x + 0.08, (yqkv + bh / 2 + yatt - ah / 2) / 2, f"${name}$", ha="left")
    # the heads: shadows behind the attention box
    for off in (0.16, 0.08):
        cv.box(cx + off, yatt + off, "", "attention", w=aw, h=ah, lw=1.0, z=2 - off)
    cv.box(cx, yatt, r"$\mathrm{softmax}(QK^\top/\sqrt{D_h} + M)\,V$",
           "attention", w=aw, h=ah)
    cv.arrow([(cx + aw / 2 + 0.95, yatt - 0.12), (cx + aw / 2, yatt - 0.12)], "op")
    cv.text(cx + aw / 2 + 1.0, yatt - 0.12, "$M$", ha="left")
    cv.text(cx + aw / 2 + 0.3, yatt + ah / 2 + 0.1, r"$N$ heads, $D_h = E/N$",
            fontsize=FS_SMALL, ha="left", va="bottom")
    cv.box(cx, ycat, r"concatenate heads, $W_O$", "gate", w=2.5, h=bh, fontsize=FS_SMALL)
    cv.arrow([(cx, yatt + ah / 2), (cx, ycat - bh / 2)], "attention")
    # add & norm 1 (residual lane on the left)
    cv.op(cx, yadd1, "$+$")
    cv.arrow([(cx, ycat + bh / 2), (cx, yadd1)], "gate", gap1=0.17)
    cv.arrow([(cx, ytap), (lane, ytap), (lane, yadd1), (cx, yadd1)], "input", gap1=0.17)
    cv.box(cx, yln1, r"$\mathrm{LN}$", "op", w=0.9, h=0.38)
    cv.arrow([(cx, yadd1), (cx, yln1 - 0.19)], "op", gap0=0.17)
    cv.line([(cx, yln1 + 0.19), (cx, ytap2)], "hidden")
    cv.dot(cx, ytap2, "hidden")
    # feed-forward, add & norm 2
    cv.box(cx, yffn, r"$W_2\,\mathrm{relu}(W_1 x)$", "gate", w=2.2, h=bh)
    cv.arrow([(cx, ytap2), (cx, yffn - bh / 2)], "hidden")
    cv.op(cx, yadd2, "$+$")
    cv.arrow([(cx, yffn + bh / 2), (cx, yadd2)], "gate", gap1=0.17)
    cv.arrow([(cx, ytap2), (lane, ytap2), (lane, yadd2), (cx, yadd2)], "hidden", gap1=0.17)
    cv.box(cx, yln2, r"$\mathrm{LN}$", "op", w=0.9, h=0.38)
    cv.arrow([(cx, yadd2), (cx, yln2 - 0.19)], "op", gap0=0.17)
    cv.box(cx, yout, r"$x' \in \mathbb{R}^{T\times E}$", "output", w=1.5, h=0.42)
    cv.arrow([(cx, yln2 + 0.19), (cx, yout - 0.21)], "output")
    cv.text(lane - 0.1, (ytap + yadd1) / 2, "residual", rotation=90, fontsize=FS_SMALL,
            ha="right")
    cv.text(lane - 0.1, (ytap2 + yadd2) / 2, "residual", rotation=90, fontsize=FS_SMALL,
            ha="right")
    # what each part is
    bx = 6.55
    _bracket(cv, bx, yqkv - bh / 2, ycat + bh / 2, "multi-head\nself-attention")
    _bracket(cv, bx, yadd1 - 0.17, yln1 + 0.19, "add & norm")
    _bracket(cv, bx, yffn - bh / 2, yffn + bh / 2, "feed-forward")
    _bracket(cv, bx, yadd2 - 0.17, yln2 + 0.19, "add & norm")
    cv.text(4.5, yout + 0.02, r"post-norm: $x \leftarrow \mathrm{LN}(x + \mathrm{MHA}(x))$"
            + "\n" + r"$x \leftarrow \mathrm{LN}(x + W_2\,\mathrm{relu}(W_1 x))$",
            fontsize=FS_SMALL, ha="left", va="center", linespacing=1.5)
    cv.text(4.5, yx, r"$Q = XW_Q^\top,\ K = XW_K^\top,\ V = XW_V^\top$", fontsize=FS_SMALL,
            ha="left")
    return cv.fig


# =============================================================================================
# Linear recurrences and the parallel scan
# =============================================================================================
def linear_scan(T: int = 8) -> Figure:
    r"""A linear recurrence $h_t = a_t \odot h_{t-1} + b_t$ ($h_0 = 0$), computed two ways.

    Left: the sequential chain, $T$ dependent steps. Right: a parallel prefix scan
    (Hillis-Steele / Kogge-Stone): each step is an element $(a_t, b_t)$ of the associative
    operation $(a_1, b_1) \circ (a_2, b_2) = (a_2 a_1,\ a_2 b_1 + b_2)$ (elementwise; the
    later step on the right). At level $d = 1..\lceil\log_2 T\rceil$ position $t$ combines with
    position $t - 2^{d-1}$, all positions at once; after the last level position $t$ holds
    $(a_t \cdots a_1,\ h_t)$. Depth $\lceil\log_2 T\rceil$ instead of $T$, at the price of more
    combines in all.

    Args:
        T: sequence length (1 to 16).
    Returns:
        a matplotlib Figure.
    """
    T = _check_T("linear_scan", T)
    if T > 16:
        _fail("linear_scan", f"draws at most T=16 steps legibly, got T={T}")
    L = math.ceil(math.log2(T)) if T > 1 else 0
    combines = sum(T - 2 ** (d - 1) for d in range(1, L + 1))
    # right panel geometry
    rx0, rx1 = 3.35, 9.7
    sp = (rx1 - rx0) / T
    cols = [rx0 + (k + 0.5) * sp for k in range(T)]
    yleaf = 0.95
    # left panel geometry: the chain top to bottom
    steps = _shown_steps(T, 8)
    ch_sp = min(0.62, 4.3 / len(steps))
    height = max(3.9, 0.95 + len(steps) * ch_sp + 1.25)
    lvl = min(1.1, (height - yleaf - 1.75) / max(L, 1))
    cv = _Canvas(9.8, height)
    # --- left: the sequential chain
    lx = 1.25
    ytitle = height - 0.3
    cv.text(lx + 0.3, ytitle, f"sequential: {T} dependent step{'s' if T > 1 else ''}",
            fontsize=FS_SMALL + 0.5, style="italic")
    y = ytitle - 0.55
    cv.box(lx, y, "$h_0=0$", "hidden", w=0.7, h=0.34, fontsize=FS_SMALL)
    prev_y = y
    for t in steps:
        y -= ch_sp
        if t is None:
            cv.text(lx, y, r"$\vdots$", fontsize=FS + 1)
            cv.line([(lx, prev_y - 0.17), (lx, y + 0.15)], "hidden")
            prev_y = y + 0.0
            continue
        cv.box(lx, y, f"$h_{{{t}}}$", "hidden", w=0.7, h=0.34, fontsize=FS_SMALL)
        cv.arrow([(lx, prev_y - 0.17), (lx, y + 0.17)], "hidden")
        cv.text(lx + 0.45, y + ch_sp / 2, rf"$a_{{{t}}}\odot\cdot + b_{{{t}}}$",
                fontsize=FS_SMALL, ha="left", color=ROLES["gate"][1])
        prev_y = y
    cv.line([(2.85, 0.35), (2.85, height - 0.15)], "op", lw=0.8, dashed=True)
    # --- right: the scan
    plural = "s" if combines != 1 else ""
    cv.text((rx0 + rx1) / 2, ytitle, f"parallel scan: {L} level{'s' if L != 1 else ''}"
            f" (depth $\\lceil\\log_2 T\\rceil$), {combines} combine{plural}",
            fontsize=FS_SMALL + 0.5, style="italic")
    leaf_lab = (lambda t: f"$a_{{{t}}},b_{{{t}}}$") if sp >= 0.62 else (lambda t: f"${t}$")
    for k, x in enumerate(cols):
        cv.box(x, yleaf, leaf_lab(k + 1), "input", w=min(0.7, sp * 0.9), h=0.36,
               fontsize=FS_SMALL)
    node_r = min(0.13, sp * 0.3)
    for d in range(1, L + 1):
        y0, y1 = yleaf + (d - 1) * lvl, yleaf + d * lvl
        off = 2 ** (d - 1)
        for k, x in enumerate(cols):
            g0 = 0.18 if d == 1 else node_r + 0.01
            if k >= off:  # combine with position k - off from the level below
                cv.arrow([(cols[k - off], y0), (x, y1)], "op", lw=1.1, gap0=g0,
                         gap1=node_r + 0.01, head_size=0.7)
                cv.arrow([(x, y0), (x, y1)], "input", lw=1.1, gap0=g0, gap1=node_r + 0.01,
                         head_size=0.7)
                cv.ax.add_patch(Circle((x, y1), node_r, facecolor=ROLES["op"][0],
                                       edgecolor=ROLES["op"][1], lw=1.2, zorder=4))
            else:  # already final: pass through
                cv.line([(x, y0), (x, y1)], "input", lw=1.1, gap0=g0, dashed=True)
                cv.dot(x, y1, "input", r=0.035)
        cv.text(rx0 - 0.1, y1, f"$d={d}$", ha="right", fontsize=FS_SMALL)
    ytop = yleaf + L * lvl
    for k, x in enumerate(cols):
        cv.arrow([(x, ytop + (node_r if L else 0.18)), (x, ytop + 0.55)], "output",
                 head_size=0.7)
        if sp >= 0.45 or k in (0, T - 1):
            cv.text(x, ytop + 0.72, f"$h_{{{k + 1}}}$", fontsize=FS_SMALL)
    cv.text(rx0, 0.48, r"leaves $(a_t, b_t)$; each circle: $(a_1, b_1) \circ (a_2, b_2) = "
                       r"(a_2 a_1,\ a_2 b_1 + b_2)$", fontsize=FS_SMALL, ha="left")
    cv.text(rx0, 0.18, "the diagonal input is the earlier one; dashed: already final",
            fontsize=FS_SMALL, ha="left")
    cv.text(0.15, 0.48, r"$h_t = a_t\odot h_{t-1} + b_t$", fontsize=FS_SMALL, ha="left")
    return cv.fig


def text_cells(text: str, cells: dict, width: int = 64, vmax: float = 1.0,
               what: str = "the cell's value") -> Figure:
    """Karpathy's picture of interpretable cells: the text, once per cell, each character on a
    background coloured by that cell's value as it reads the character (blue -1, white 0, red +1).

    Args:
        text: the characters (a newline is drawn as ``¶``).  cells: label -> one value per
        character (for example tanh(c) of one unit).  width: characters per line.
        vmax: the value drawn at full colour (values are clipped to [-vmax, vmax]).
        what: what the colour shows, for the legend line under the panels.
    """
    from matplotlib import colormaps

    if not isinstance(text, str) or not text:
        _fail("text_cells", f"expected a non-empty string, got {text!r:.40}")
    if not isinstance(cells, dict) or not cells:
        _fail("text_cells", "expected a dict label -> per-character values, got none")
    width = _check_T("text_cells", width, "width")
    rows = {}
    for label, vals in cells.items():
        a = _as_array("text_cells", vals).reshape(-1)
        if a.size != len(text):
            _fail("text_cells", f"cell {label!r} has {a.size} values for {len(text)} characters")
        if not np.isfinite(a).all():
            _fail("text_cells", f"cell {label!r} has values that are not finite")
        rows[label] = np.clip(a / vmax, -1, 1)
    lines = [text[k:k + width] for k in range(0, len(text), width)]
    cw, lh, title_h = min(0.135, 9.4 / width), 0.24, 0.3
    panel_h = title_h + lh * len(lines) + 0.12
    cv = _Canvas(min(MAX_WIDTH, 0.3 + cw * width + 0.3), panel_h * len(rows) + 0.35)
    cmap = colormaps["RdBu_r"]
    y = cv.h - 0.1
    for label, vals in rows.items():
        cv.text(0.3, y - title_h / 2, label, fontsize=FS_SMALL + 0.5, ha="left", style="italic")
        y -= title_h
        for n, line in enumerate(lines):
            for k, ch in enumerate(line):
                v = vals[n * width + k]
                x0 = 0.3 + k * cw
                face = cmap(0.5 + 0.42 * v)  # the ends stay light enough to read on
                cv.ax.add_patch(Rectangle((x0, y - lh), cw, lh, facecolor=face,
                                          edgecolor=face, lw=0.3, zorder=2))
                if ch.strip() or ch == "\n":
                    cv.text(x0 + cw / 2, y - lh / 2, "¶" if ch == "\n" else ch, fontsize=9,
                            family="monospace", z=3, color="white" if abs(v) > 0.75 else "black")
            y -= lh
        y -= 0.12
    cv.text(0.3, 0.18, f"background: {what}, blue = {-vmax:g}, white = 0, "
                       f"red = {vmax:g}", fontsize=FS_SMALL, ha="left")
    return cv.fig
