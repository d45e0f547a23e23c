"""seqlib.diagrams: every picture is a Figure that draws, labelled with its chapter's symbols,
shows live values when given them, keeps its labels apart and refuses bad input by name."""
import io
import itertools

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

import seqlib
from seqlib import diagrams


def texts(fig):
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def joined(fig):
    return "\n".join(texts(fig))


def draw(fig):
    """Renders to PNG (this parses every mathtext label, so a bad one fails here)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    assert buf.getvalue()[:4] == b"\x89PNG"


def overlapping_labels(fig, tol=1.0):
    """Pairs of visible labels whose rendered boxes intersect by more than tol pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer))
             for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
    bad = []
    for (s1, b1), (s2, b2) in itertools.combinations(boxes, 2):
        w = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
        h = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
        if w > tol and h > tol:
            bad.append((s1, s2))
    return bad


def check_figure(fig):
    assert isinstance(fig, Figure)
    w, h = fig.get_size_inches()
    assert w <= 10.0 + 1e-9 and h <= 10.0
    assert all(t.get_fontsize() >= 9 for t in fig.findobj(Text) if t.get_text())
    draw(fig)
    assert overlapping_labels(fig) == []


def test_reachable_from_package():
    assert seqlib.diagrams is diagrams


@pytest.mark.parametrize("T", [1, 4, 9])
def test_rnn_unrolled(T):
    fig = diagrams.rnn_unrolled(T)
    check_figure(fig)
    s = joined(fig)
    for sym in ["W_{ih}", "W_{hh}", r"\mathrm{diag}(1-h", r"\partial L/\partial h", "h_0",
                "$x_t$", "$h_t$"]:
        assert sym in s, sym
    assert f"$h_{{{T}}}$" in s and f"$x_{{{T}}}$" in s
    assert f"T = {T}" in s
    if T == 9:  # long chains elide the middle steps
        assert "$h_{5}$" not in s and r"$\cdots$" in s


def test_lstm_cell_symbols_and_live_values():
    fig = diagrams.lstm_cell()
    check_figure(fig)
    s = joined(fig)
    for sym in ["$i_t$", "$f_t$", "$g_t$", "$o_t$", "$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$h_t$",
                "$x_t$", r"$\sigma$", r"$\tanh$", r"$\odot$"]:
        assert sym in s, sym
    assert s.count(r"$\sigma$") == 3
    assert "0.87" not in s
    live = diagrams.lstm_cell(gates={"i": 0.41, "f": 0.873, "g": -0.03, "o": 0.5549})
    check_figure(live)
    s = joined(live)
    for v in ["0.41", "0.87", "-0.03", "0.55"]:
        assert v in s, v


def test_gru_cell_torch_form():
    fig = diagrams.gru_cell()
    check_figure(fig)
    s = joined(fig)
    for sym in ["$r_t$", "$z_t$", "$n_t$", "$1-z_t$", r"(1-z_t)\odot n_t", r"z_t\odot h_{t-1}",
                r"W_{hn}h_{t-1}+b_{hn}", r"W_{in}x_t+b_{in}", r"r_t\odot(W_{hn}h_{t-1}"]:
        assert sym in s, sym


@pytest.mark.parametrize("func, kwargs, msg", [
    ("rnn_unrolled", {"T": 0}, "T >= 1"),
    ("rnn_unrolled", {"T": 2.5}, "integer"),
    ("lstm_cell", {"gates": {"q": 0.1}}, "unknown gates"),
    ("lstm_cell", {"gates": {"i": "high"}}, "must be a number"),
    ("lstm_cell", {"gates": {"i": float("nan")}}, "finite"),
    ("lstm_cell", {"gates": [0.1, 0.2]}, "dict"),
])
def test_bad_input_names_the_function(func, kwargs, msg):
    with pytest.raises(ValueError, match=rf"diagrams\.{func}:.*{msg}"):
        getattr(diagrams, func)(**kwargs)
