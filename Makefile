# Two entry points: `make test` and `make reproduce`. Both create .venv when it is missing and fetch the data sets
# first (`make data`: into $STARLIB_DATA, default data/; DATA_MIRROR=DIR copies them from a local mirror instead).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= cpu
NOTEBOOKS ?=
GPUS ?=
DEVICE ?= cpu
DATA_MIRROR ?=
ALLOW_TRAINING ?=

.PHONY: test reproduce bench lab venv clean-venv data nbfilter report

venv: $(STAMP) nbfilter

# Notebooks are committed without outputs: git's clean filter (named in .gitattributes) strips them, so a
# JupyterLab session leaves `git status` clean. Registered in this clone's .git/config (not in a fresh clone).
nbfilter:
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git config filter.nbclean.clean "$(PY) tools/nbtools.py clean" && git config filter.nbclean.smudge cat; fi

$(STAMP): requirements.txt requirements-published.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -r requirements-published.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

data: $(STAMP)
	$(PY) -m starlib data fetch --all $(if $(DATA_MIRROR),--mirror $(DATA_MIRROR),)

test: $(STAMP) nbfilter data
	$(PY) -m pytest

reproduce: $(STAMP) nbfilter data
	$(PY) -m starlib reproduce --profile $(PROFILE) $(if $(NOTEBOOKS),--notebooks $(NOTEBOOKS),) $(if $(GPUS),--gpus $(GPUS),) $(if $(filter 1,$(ALLOW_TRAINING)),--allow-training,)

# A static site of the executed notebooks of PROFILE (run `make reproduce` first): site/$(PROFILE)/index.html
report: $(STAMP)
	$(PY) -m starlib site --profile $(PROFILE)

bench: $(STAMP)
	$(PY) benchmarks/bench.py --profile $(PROFILE) --device $(DEVICE)

lab: $(STAMP) nbfilter
	$(VENV)/bin/jupyter lab --config=tools/jupyter_server_config.py --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root,) notebooks/

clean-venv:
	rm -rf $(VENV)
