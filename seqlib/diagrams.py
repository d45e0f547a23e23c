r"""The book's architecture pictures, drawn with matplotlib only.

One function per architecture; each returns a `matplotlib.figure.Figure` labelled with the symbols
of its chapter's equations (mathtext, so $W_{hh}$, $\sigma$, $\odot$ look as they do in the text).
The figures are not registered with pyplot: show one as a cell's last expression (or with
`IPython.display.display(fig)`), save it with `fig.savefig(path)`. Nothing here calls `plt.show`.

Every picture uses one small toolkit (`_Canvas`: boxes for learned layers and states, circles for
pointwise operations, arrows, labels) and one colour per role:

    input      x_t, embedded tokens             hidden     h_t, s_t, encoder states
    cell       the LSTM cell state c_t          gate       learned layers: sigma / tanh boxes, filters
    output     y_t, logits, the loss, gradients attention  scores, weights alpha, context c_t

Coordinates are inches (the axes fill the figure), so font sizes and spacing are easy to reason
about: every figure is at most 10 inches wide and no text is smaller than 9 pt.
"""
from __future__ import annotations

import math
from numbers import Real

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.path import Path

__all__ = ["ROLES", "rnn_unrolled", "lstm_cell", "gru_cell", "birnn_unrolled", "textcnn",
           "seq2seq_attention", "encoder_layer", "linear_scan"]

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


class _Canvas:
    """A figure whose single axes uses inches as data units, with the drawing primitives."""

    def __init__(self, width: float, height: float):
        self.w, self.h = float(width), float(height)
        self.fig = Figure(figsize=(self.w, self.h))
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
        bbox = dict(facecolor="white", edgecolor="none", pad=1.0, alpha=0.9) if bg else None
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
        kw = dict(arrowstyle=style, mutation_scale=14, color=colour, lw=lw, zorder=z,
                  linestyle=(0, (4, 2.5)) if dashed else "-", shrinkA=0, shrinkB=0,
                  joinstyle="miter", capstyle="butt")
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


def _legend(cv: _Canvas, x, y, roles, fontsize=FS_SMALL, step=1.25):
    """A row of small colour swatches naming the roles used in a figure."""
    names = {"input": "input", "hidden": "hidden state", "cell": "cell state",
             "gate": "learned layer", "output": "output / loss", "attention": "attention",
             "op": "pointwise op"}
    for role in roles:
        face, edge = ROLES[role]
        cv.ax.add_patch(FancyBboxPatch((x, y - 0.08), 0.22, 0.16,
                                       boxstyle="round,pad=0,rounding_size=0.03",
                                       facecolor=face, edgecolor=edge, lw=1.0, zorder=3))
        cv.text(x + 0.3, y, names[role], fontsize=fontsize, ha="left")
        x += step


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
    width = max(6.4, min(MAX_WIDTH, cols[-1] + 1.05))
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
        try:
            f = float(v)
        except (TypeError, ValueError):
            _fail(func, f"{name}[{k!r}] must be a number, got {v!r}")
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
        gates: optional live values, a dict with keys from "i", "f", "g", "o" (e.g. the mean of
            each gate over a batch, from `seqlib.lstm_gates`); each is printed under its gate box.
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
