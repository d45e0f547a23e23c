"""Measuring speed: the one timing helper (`seqlib.perf.timing`), the roofline, and the LSTM and
scan speed suites. Imports `seqlib.nn`, never `seqlib.book`."""
