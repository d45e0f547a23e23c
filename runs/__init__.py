"""Long runs of the book: named, parameterised, resumable scripts that write records.

    python -m runs.g2p                 # CMUdict G2P, attention encoder-decoder (chapter 6)
    python -m runs.steps_to_solve      # steps to solve adding / copy-memory vs T (chapters 1, 2, 3, 8)
    python -m runs.gpu_records         # every GPU experiment in runs/gpu/ (make gpu-records)

Each trains through `runs._runner.run` (tqdm bar with ETA, atomic checkpoints every few minutes
and at each epoch's end, resume after Ctrl-C or a crash) and writes a `seqlib.book.records` record
under chapters/results/<chapter>/; a chapter loads it with `seqlib.book.records.load_run_record` and
labels it with `describe_run_record`. Resume checkpoints live in runs/checkpoints/ (not committed).
"""
