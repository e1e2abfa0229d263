# The two front-door commands (see README):
#   make up     set up, then bring up the local three-province consortium (certreg dev up)
#   make test   set up, then lint, type-check and run every test
# Also: make down (stop the consortium), make walkthrough, make demo (a sample bundle, verified offline),
#   make fuzz (the parsers' fuzz targets, far longer than in make test; FUZZ_EXAMPLES=N)
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup up down walkthrough demo test lint typecheck pytest vectors rules contracts bench fuzz mutation clean

setup: $(STAMP)

$(STAMP): pyproject.toml package.json scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

up: setup
	$(VENV)/bin/certreg dev up

down: setup
	$(VENV)/bin/certreg dev down

walkthrough: setup
	$(VENV)/bin/certreg dev walkthrough

demo: setup
	$(VENV)/bin/certreg sample --out out/sample
	$(VENV)/bin/certreg verify out/sample/bundle.json --snapshot out/sample/snapshot.json
	$(VENV)/bin/certreg verify out/sample/bundle-redacted.json --snapshot out/sample/snapshot.json

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: setup
	$(VENV)/bin/mypy

pytest: setup
	$(VENV)/bin/pytest -q

test: lint typecheck pytest

vectors: setup
	$(PY) scripts/make_vectors.py

# The rule-id catalogue's copies: api/static/js/rules.js (the page) and docs/RULES.md.
rules: setup
	$(PY) scripts/make_rule_catalogue.py

contracts: setup
	$(PY) scripts/build_contracts.py

FUZZ_EXAMPLES ?= 20000

fuzz: setup
	CERTREG_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) CERTREG_FUZZ_RANDOM=1 $(VENV)/bin/pytest -q tests/fuzz

# Mutation testing of the three verifiers (not part of `make test`; ~1-2 h on two cores): mutmut
# over the Python core, scripts/mutate.py's operators over merkle.js/verify.js and the contract's
# Merkle and log code. Prints each module's kill rate and survivors (docs/TESTING.md).
mutation: setup
	$(PY) scripts/mutate.py python js solidity

bench: setup
	$(VENV)/bin/certreg bench core --json

clean:
	rm -rf $(VENV) node_modules out .certreg-dev
