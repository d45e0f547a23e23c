# Neural Architectures for NLP: `make test`, `make book`, `make serve`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# The torch that is installed when none is: 2.13.0 lies on this course's lab machines as a CPU
# build; elsewhere pip takes PyPI's wheel (a CUDA build on Linux). Override: make TORCH=torch==2.5.1
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed
PORT   ?= 8000
NBVAL_TIMEOUT ?= 900

.PHONY: setup test test-lib test-chapters book serve clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q "$(TORCH)" || $(PIP) install -q "torch>=2.2,<3"
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q -e . --no-deps
	touch $(STAMP)

# TQDM_DISABLE: no progress-bar widgets in CI runs (they flood the kernel's output channel)
test: setup
	TQDM_DISABLE=1 $(PY) -m pytest tests chapters --nbval-lax --nbval-cell-timeout=$(NBVAL_TIMEOUT) --durations=0 -q

test-lib: setup
	$(PY) -m pytest tests -q

test-chapters: setup
	TQDM_DISABLE=1 $(PY) -m pytest chapters --nbval-lax --nbval-cell-timeout=$(NBVAL_TIMEOUT) --durations=0 -q

book: setup
	rm -rf _build/html _build/jupyter_execute
	TQDM_DISABLE=1 $(VENV)/bin/jupyter-book build . -W --keep-going

serve:
	@test -d _build/html || { echo "No _build/html yet: run 'make book' first"; exit 1; }
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

clean:
	rm -rf _build .pytest_cache
