# Two entry points: `make test` and `make reproduce`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= cpu
NOTEBOOKS ?=
GPUS ?=
DEVICE ?= cpu

.PHONY: test reproduce bench lab venv clean-venv

venv: $(STAMP)

$(STAMP): requirements.txt requirements-published.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -r requirements-published.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

reproduce: $(STAMP)
	$(PY) -m starlib.study.pipeline --profile $(PROFILE) $(if $(NOTEBOOKS),--notebooks $(NOTEBOOKS),) $(if $(GPUS),--gpus $(GPUS),)

bench: $(STAMP)
	$(PY) benchmarks/bench.py --profile $(PROFILE) --device $(DEVICE)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --config=tools/jupyter_server_config.py --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root,) notebooks/

clean-venv:
	rm -rf $(VENV)
