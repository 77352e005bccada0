# Two entry points: `make test` and `make reproduce`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= cpu
NOTEBOOKS ?=

.PHONY: test reproduce bench venv clean-venv

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

reproduce: $(STAMP)
	$(PY) -m starlib.study.pipeline --profile $(PROFILE) $(if $(NOTEBOOKS),--notebooks $(NOTEBOOKS),)

bench: $(STAMP)
	$(PY) benchmarks/bench.py --profile $(PROFILE)

clean-venv:
	rm -rf $(VENV)
