import time

import pytest

import seqlib
from seqlib.perf.timing import time_ms
from seqlib.book.display import show_source, table


def test_time_ms_measures_sleep():
    r = time_ms(lambda: time.sleep(0.01), repeats=3, warmup=1)
    assert 9 <= r["median_ms"] < 200 and r["min_ms"] <= r["median_ms"] <= r["max_ms"]
    with pytest.raises(ValueError, match="time_ms: expected repeats >= 1"):
        time_ms(lambda: None, repeats=0)


def test_show_source_and_table():
    md = show_source(seqlib.nn.rnn.rnn_cell).data
    assert "def rnn_cell" in md and "seqlib.nn.rnn" in md
    t = table([{"model": "rnn", "mse": 0.1234567}]).data
    assert "| model | mse |" in t and "0.1235" in t
