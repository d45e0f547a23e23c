"""GPU experiments of the chapters, one module each (`main(argv)`, `--dry-run`); `python -m
runs.gpu_records` runs them all on a CUDA machine and each writes the record its chapter loads."""
