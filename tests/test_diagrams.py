"""seqlib.book.diagrams: every picture is a Figure that draws, labelled with its chapter's symbols,
shows live values when given them, keeps its labels apart and refuses bad input by name."""
import itertools

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

import seqlib
from seqlib.book import diagrams


def texts(fig):
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def joined(fig):
    return "\n".join(texts(fig))


def overlapping_labels(fig, tol=1.0):
    """Pairs of visible labels whose rendered boxes intersect by more than tol pixels (the
    drawing also parses every mathtext label, so a bad one fails here)."""
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
    assert overlapping_labels(fig) == []


def test_reachable_from_package():
    assert seqlib.book.diagrams is diagrams


def test_figures_show_themselves_in_notebooks():
    fig = diagrams.lstm_cell()
    png = fig._repr_png_()  # what IPython calls for a cell's last expression
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


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
    # arrays (a gate trace) are averaged
    s = joined(diagrams.lstm_cell({"f": np.array([[0.2, 0.4], [0.6, 0.8]]), "o": [0.25, 0.35]}))
    assert r"\bar{f}_t=0.50" in s and r"\bar{o}_t=0.30" in s and r"\bar{i}" not in s
    torch = pytest.importorskip("torch")
    s = joined(diagrams.lstm_cell({"i": torch.full((3, 4), 0.125, requires_grad=True)}))
    assert r"\bar{i}_t=0.12" in s or r"\bar{i}_t=0.13" in s


def test_gru_cell_torch_form():
    fig = diagrams.gru_cell()
    check_figure(fig)
    s = joined(fig)
    for sym in ["$r_t$", "$z_t$", "$n_t$", "$1-z_t$", r"(1-z_t)\odot n_t", r"z_t\odot h_{t-1}",
                r"W_{hn}h_{t-1}+b_{hn}", r"W_{in}x_t+b_{in}", r"r_t\odot(W_{hn}h_{t-1}"]:
        assert sym in s, sym


W_OK = np.full((2, 3), 1 / 3)


@pytest.mark.parametrize("func, kwargs, msg", [
    ("rnn_unrolled", {"T": 0}, "T >= 1"),
    ("rnn_unrolled", {"T": 2.5}, "integer"),
    ("lstm_cell", {"gates": {"q": 0.1}}, "unknown gates"),
    ("lstm_cell", {"gates": {"i": "high"}}, "must be a number"),
    ("lstm_cell", {"gates": {"i": []}}, "empty"),
    ("lstm_cell", {"gates": {"i": float("nan")}}, "finite"),
    ("lstm_cell", {"gates": [0.1, 0.2]}, "dict"),
    ("birnn_unrolled", {"T": 0}, "T >= 1"),
    ("birnn_unrolled", {"T": 9}, "at most T=8"),
    ("birnn_unrolled", {"T": 4, "lengths": [5, 3]}, "every length in 1..T=4"),
    ("birnn_unrolled", {"T": 4, "lengths": [0]}, "every length"),
    ("birnn_unrolled", {"T": 4, "lengths": ["a"]}, "integers"),
    ("textcnn", {"T": 0}, "T >= 1"),
    ("textcnn", {"widths": (2, 8), "T": 7}, "width an integer in 1..T=7"),
    ("textcnn", {"widths": ()}, "1 to 4 filter widths"),
    ("textcnn", {"widths": 3}, "sequence"),
    ("seq2seq_attention", {"src": "abc", "tgt": "xy", "weights": np.ones((3, 2)) / 2},
     r"shape \(len\(tgt\), len\(src\)\) = \(2, 3\), got \(3, 2\)"),
    ("seq2seq_attention", {"weights": W_OK}, "need src and tgt"),
    ("seq2seq_attention", {"src": "abc", "tgt": "xy", "weights": W_OK * 2}, "sum to 1"),
    ("seq2seq_attention", {"src": "abc", "tgt": "xy", "weights": -W_OK}, "non-negative"),
    ("seq2seq_attention", {"src": "abc", "tgt": "xy", "weights": W_OK, "step": 2}, "step in 0..1"),
    ("seq2seq_attention", {"src": "x" * 33}, "1 to 32 source tokens"),
    ("linear_scan", {"T": 0}, "T >= 1"),
    ("linear_scan", {"T": 17}, "at most T=16"),
])
def test_bad_input_names_the_function(func, kwargs, msg):
    with pytest.raises(ValueError, match=rf"diagrams\.{func}:.*{msg}"):
        getattr(diagrams, func)(**kwargs)


@pytest.mark.parametrize("T", [1, 4, 8])
def test_birnn_unrolled(T):
    fig = diagrams.birnn_unrolled(T)
    check_figure(fig)
    s = joined(fig)
    for t in range(1, T + 1):
        for sym in [rf"$\overrightarrow{{h}}_{{{t}}}$", rf"$\overleftarrow{{h}}_{{{t}}}$",
                    f"$x_{{{t}}}$", f"$y_{{{t}}}$"]:
            assert sym in s, sym
    assert r"[\overrightarrow{h}_t\,;\,\overleftarrow{h}_t]" in s
    assert rf"\overleftarrow{{h}}_{{{T + 1}}}=0" in s
    assert "pad" not in s


def test_birnn_padded_lengths_start_backward_at_own_last_token():
    fig = diagrams.birnn_unrolled(5, lengths=[5, 3])
    check_figure(fig)
    s = joined(fig)
    assert "lengths = [5, 3]" in s and "n = 3" in s
    assert r"\overleftarrow{h}_{4}=0" in s  # the backward chain starts after x_3
    assert r"$\overleftarrow{h}_{4}$" not in s and "$x_{3}$" in s and "$x_{4}$" not in s
    assert texts(fig).count("pad") == 2


@pytest.mark.parametrize("widths, T", [((2, 3, 4), 7), ((1,), 1), ((3, 4, 5, 6), 12)])
def test_textcnn(widths, T):
    fig = diagrams.textcnn(widths=widths, T=T)
    check_figure(fig)
    s = joined(fig)
    for k in widths:
        assert f"$k={k}$" in s
    for sym in [r"\hat c", r"\max_t", "$z$", r"\mathrm{dropout}(z)", "logits", "$E$",
                r"\mathrm{ReLU}", f"T = {T}", f"$K = {len(widths)}$"]:
        assert sym in s, sym
    # one feature map cell per window position, per width
    from matplotlib.patches import Rectangle
    cells = [p for p in fig.axes[0].patches if type(p) is Rectangle]
    E = 4
    assert len(cells) == T * E + sum(T - k + 1 for k in widths)


def test_seq2seq_attention_generic():
    fig = diagrams.seq2seq_attention()
    check_figure(fig)
    s = joined(fig)
    for sym in [r"e_{it} = v^\top\tanh(W_q s_{i-1} + W_k h_t + b)", r"\alpha_{it} = \exp e_{it}",
                r"c_i = \sum_t \alpha_{it} h_t", "$s_{i-1}$", "$s_i$", "$y_i$", r"E\,y_{i-1}",
                r"W_o[s_i; c_i; E y_{i-1}]", r"$\alpha_{i1}$", "$h_{T_x}$"]:
        assert sym in s, sym


def _arrow_widths(fig):
    from matplotlib.colors import to_hex
    from matplotlib.patches import FancyArrowPatch

    edge = diagrams.ROLES["attention"][1]
    return [p.get_linewidth() for p in fig.axes[0].patches
            if isinstance(p, FancyArrowPatch) and to_hex(p.get_edgecolor()) == edge
            and p.get_linestyle() == "-"]


def test_seq2seq_attention_live_weights():
    src, tgt = ["the", "cat", "sat", "<eos>"], ["le", "chat", "assis"]
    w = np.array([[.7, .2, .05, .05], [.1, .8, .05, .05], [.05, .1, .8, .05]])
    fig = diagrams.seq2seq_attention(src, tgt, w, step=1)
    check_figure(fig)
    s = joined(fig)
    for tok in src + ["chat"]:
        assert tok in texts(fig), tok
    assert "$y_{i-1}$ = le" in s and "output step i = 2 of 3" in s
    for v in ["0.10", "0.80", "0.05"]:
        assert v in texts(fig), v
    # the fan's widths follow the weights of the drawn row
    widths = _arrow_widths(fig)[:4]
    assert np.argmax(widths) == 1 and widths[1] > widths[0] > widths[2]
    # a torch tensor is accepted too, and a long character source still draws cleanly
    torch = pytest.importorskip("torch")
    chars = list("mercredi 24 novembre 2026 Mmmmm")  # 30 characters, some wide
    ww = torch.softmax(torch.randn(4, len(chars)), -1)
    check_figure(diagrams.seq2seq_attention(chars, list("2026"), ww, step=3))


def test_encoder_layer():
    fig = diagrams.encoder_layer()
    check_figure(fig)
    s = joined(fig)
    for sym in ["$W_Q$", "$W_K$", "$W_V$", "$Q$", "$K$", "$V$", r"QK^\top/\sqrt{D_h} + M",
                "$M$", r"D_h = E/N", "W_O", r"W_2\,\mathrm{relu}(W_1 x)", r"$\mathrm{LN}$",
                "add & norm", "multi-head", "post-norm", r"\mathrm{LN}(x + \mathrm{MHA}(x))"]:
        assert sym in s, sym
    assert texts(fig).count(r"$\mathrm{LN}$") == 2 and texts(fig).count("$+$") == 2


@pytest.mark.parametrize("T, levels, combines", [(1, 0, 0), (4, 2, 5), (8, 3, 17), (13, 4, 37)])
def test_linear_scan(T, levels, combines):
    fig = diagrams.linear_scan(T)
    check_figure(fig)
    s = joined(fig)
    assert f"{T} dependent step" in s
    assert f"{levels} level" in s and f"{combines} combine" in s
    assert r"(a_2 a_1,\ a_2 b_1 + b_2)" in s and r"h_t = a_t\odot h_{t-1} + b_t" in s
    assert f"$h_{{{T}}}$" in s
    # one combine circle per (level, position) with position > 2^(level-1)
    from matplotlib.patches import Circle
    circles = [p for p in fig.axes[0].patches if type(p) is Circle and p.get_radius() > 0.05]
    assert len(circles) == combines


def test_linear_scan_combine_rule_is_the_recurrence():
    """The rule the figure prints composes steps correctly: scanning (a_t, b_t) with it
    level by level, as drawn, gives h_t of the sequential loop."""
    rng = np.random.default_rng(0)
    T = 13
    a, b = rng.uniform(-1, 1, T), rng.normal(size=T)
    h, hs = 0.0, []
    for t in range(T):
        h = a[t] * h + b[t]
        hs.append(h)
    A, B = a.copy(), b.copy()
    off = 1
    while off < T:
        A2, B2 = A.copy(), B.copy()
        for t in range(off, T):  # (A[t-off], B[t-off]) is the earlier element
            A2[t], B2[t] = A[t] * A[t - off], A[t] * B[t - off] + B[t]
        A, B, off = A2, B2, 2 * off
    np.testing.assert_allclose(B, hs)


def test_text_cells_colours_each_character_by_its_value():
    text = "f(a, b)\nx"
    up = np.linspace(-1, 1, len(text))
    fig = diagrams.text_cells(text, {"cell 3": up, "cell 7": -up}, width=5)
    check_figure(fig)
    drawn = texts(fig)
    assert "cell 3" in drawn and "cell 7" in drawn and drawn.count("¶") == 2
    faces = [p.get_facecolor() for p in fig.axes[0].patches]
    assert len(faces) == 2 * len(text)
    assert faces[0][0] < faces[0][2] and faces[len(text) - 1][0] > faces[len(text) - 1][2]
    assert faces[0] == faces[2 * len(text) - 1]  # -1 in one cell is -1 in the other
    with pytest.raises(ValueError, match="text_cells: cell 'c' has 2 values for 3"):
        diagrams.text_cells("abc", {"c": [0.1, 0.2]})
    with pytest.raises(ValueError, match="not finite"):
        diagrams.text_cells("ab", {"c": [0.1, float("nan")]})
