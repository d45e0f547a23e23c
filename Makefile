# Neural Architectures for NLP: `make test`, `make book`, `make serve`, `make browser-test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# The torch that is installed when none is: 2.13.0 lies on this course's lab machines as a CPU
# build; elsewhere pip takes PyPI's wheel (a CUDA build on Linux). Override: make TORCH=torch==2.5.1
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed
PORT   ?= 8000
NBVAL_TIMEOUT ?= 900

# The real-browser test drives Debian's chromium through its chromedriver (no downloads by Selenium).
CHROMIUM     ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup test test-nbval test-lib test-chapters vendor book serve browser-deps browser-test lint dist wheel-check gpu-records gpu-records-dry clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q "$(TORCH)" || $(PIP) install -q "torch>=2.2,<3"
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q -e . --no-deps
	touch $(STAMP)

# TQDM_DISABLE: no progress-bar widgets in CI runs (they flood the kernel's output channel).
# The chapters run once, under nbval (every cell must run; outputs are compared only in cells tagged
# nbval-check-output), in the book's order; _ext/nbval_cache.py stores each notebook nbval executed
# in the jupyter-cache that `make book` reads, so CI executes no chapter twice.
NBVAL = TQDM_DISABLE=1 $(PY) -m pytest -p _ext.nbval_cache --nbval-lax --nbval-current-env \
	--nbval-cell-timeout=$(NBVAL_TIMEOUT) --durations=10 -q $(shell $(PY) _ext/execute_chapters.py --list)

test: setup
	$(PY) -m pytest tests -q
	$(NBVAL)

# The chapters alone, as the nbval suite above (their runs also land in the book's cache).
test-nbval: setup
	$(NBVAL)

test-lib: setup
	$(PY) -m pytest tests -q

# The chapters with jupyter-cache's own executor (nbclient), into the same cache.
test-chapters: setup
	TQDM_DISABLE=1 $(PY) _ext/execute_chapters.py --timeout $(NBVAL_TIMEOUT)

# MathJax, require.js and the ipywidgets embedder, fetched once with npm (pinned, sha256-checked)
# into _vendor/, which the site serves from _static/: the built site needs no network.
# npm comes from Debian's package when it is missing (as browser-deps does for Chromium).
vendor:
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm; }
	python3 _ext/bundled_assets.py

book: setup vendor
	rm -rf _build/html _build/jupyter_execute
	$(PY) _ext/execute_chapters.py --prune
	TQDM_DISABLE=1 $(VENV)/bin/jupyter-book build . -W --keep-going

serve:
	@test -d _build/html || { echo "No _build/html yet: run 'make book' first"; exit 1; }
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

# Installs chromium + chromedriver (Debian) only when they are missing.
browser-deps:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then echo "browser-deps: $(CHROMIUM) and $(CHROMEDRIVER) are installed"; \
	else $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; fi

# Opens every page of _build/html (run `make book` first) in headless Chromium: math rendered,
# images loaded, no console errors, no request off the machine, internal links resolve.
# Screenshots go to _build/screenshots/.
browser-test: setup browser-deps
	@test -d _build/html || { echo "No _build/html yet: run 'make book' first"; exit 1; }
	$(PY) -c "import selenium" 2>/dev/null || $(PIP) install -q "selenium>=4.11,<5"
	CHROMIUM=$(CHROMIUM) CHROMEDRIVER=$(CHROMEDRIVER) $(PY) -m pytest tests_browser -q

# JupyterLab from .venv with chapters/ open, on 127.0.0.1 (a learner's way to run the chapters).
.PHONY: lab lab-test
LAB_PORT ?= 8888
lab: setup
	$(PY) -m jupyter lab --ip=127.0.0.1 --port=$(LAB_PORT) --ServerApp.root_dir=chapters $(if $(SUDO),,--allow-root)

# The same in headless Chromium: cut-down chapters 1 and 6 run in a live kernel; a slider moved and
# a word typed must change the figures, progress bars must be widgets (1.5-2 min on 2 busy cores).
# `make browser-test` runs it too (it collects every test in tests_browser/).
lab-test: setup browser-deps
	$(PY) -c "import selenium" 2>/dev/null || $(PIP) install -q "selenium>=4.11,<5"
	CHROMIUM=$(CHROMIUM) CHROMEDRIVER=$(CHROMEDRIVER) $(PY) -m pytest tests_browser/test_lab.py -q

# Code lines in the chapters stay within the site's column (88 characters); seqlib is linted too.
lint: setup
	$(PY) -c "import ruff" 2>/dev/null || $(PIP) install -q "ruff>=0.5"
	$(VENV)/bin/ruff check --select E501,F401,F811,F821 --line-length 88 chapters/*.ipynb
	$(VENV)/bin/ruff check --select F --line-length 110 seqlib runs tests
	$(PY) -m pytest tests/test_layout.py -q  # imports run one way (book -> train/perf -> nn/data -> device/io/tokens), no circle

# A wheel of seqlib in dist/, for a reader who downloaded a chapter: pip install dist/seqlib-*.whl
# (seqlib[data] adds the data sources, seqlib[book] the book's machinery, seqlib[all] both).
dist: setup
	$(PIP) wheel --no-deps --no-build-isolation -q -w dist .
	rm -rf build
	@ls dist/*.whl

# The wheel installs and runs: built, installed into a fresh venv holding only its declared
# requirements (torch linked from .venv, not downloaded), `import seqlib`, an LSTM, seqlib.data, fit;
# then with the data and book extras, a data source and the claims catalogue shipped in the wheel.
wheel-check: setup
	$(PY) _ext/wheel_check.py

# Every GPU experiment (runs/gpu/*.py) on a CUDA machine, writing records under chapters/results/.
gpu-records: setup
	$(PY) -m runs.gpu_records

# The same experiments at a tiny size on any machine, writing nothing: a check that they run.
gpu-records-dry: setup
	$(PY) -m runs.gpu_records --dry-run

clean:
	rm -rf _build .pytest_cache
