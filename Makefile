# BucketAccess operator. `make help` lists the targets; nothing needs installing by hand first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ENVTEST := .cache/envtest
PYTEST_ARGS ?=

export PYTHONDONTWRITEBYTECODE := 1

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

.PHONY: venv
venv: $(STAMP) ## create .venv with the operator and its dev tools (pinned by constraints.txt)

.PHONY: envtest
envtest: $(STAMP) ## build (once per machine) or find kube-apiserver + etcd; honours $KUBEBUILDER_ASSETS
	$(PY) operator/devenv/envtest_build.py --link $(ENVTEST)

.PHONY: tools
tools: $(STAMP) ## build (once per machine) or find helm and promtool, from their Go modules
	$(PY) operator/devenv/gotools.py --link .cache/tools

.PHONY: lint
lint: $(STAMP) ## ruff check + format, mypy --strict on the whole package, import-linter contracts
	$(VENV)/bin/ruff check operator tests bench
	$(VENV)/bin/ruff format --check operator tests bench
	$(VENV)/bin/mypy operator/bucketaccess
	$(VENV)/bin/lint-imports

.PHONY: test
test: lint envtest tools ## lint, then every test: unit, AWS (moto server), e2e and faults (real kube-apiserver + etcd), helm and promtool
	$(VENV)/bin/pytest $(PYTEST_ARGS)

.PHONY: unit
unit: $(STAMP) ## only the pure unit tests (no processes started)
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

.PHONY: faults
faults: envtest ## only the fault tests (tests/faults); prints the fault table, writes bench/results/faults.json
	FAULTS_RESULTS=bench/results/faults.json $(VENV)/bin/pytest tests/faults $(PYTEST_ARGS)

.PHONY: bench
bench: envtest ## benchmarks; each prints JSON and writes bench/results/
	$(PY) -m pip install --quiet -c constraints.txt -e '.[bench]'
	$(PY) bench/evaluate.py
	$(PY) bench/fuzz.py --examples 20000
	$(PY) bench/scale.py --n 1000 5000 10000 --no-baseline
	$(PY) bench/failover.py --rounds 5
	$(PY) bench/impact.py --n 5000
	$(PY) bench/detect.py --objects 1000 --buckets 50 --changes 100

.PHONY: demo
demo: envtest ## local control plane + moto + operator + samples, print their status (ONCE=1: print and exit)
	PYTHONPATH=operator $(PY) -m devenv.demo $(if $(ONCE),--once,)

.PHONY: clean
clean: ## remove .venv and .cache (the built binaries stay in ~/.cache/bucketaccess)
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
