# kyc-service developer commands. Each target builds .venv from the requirements
# files when they changed, so a fresh clone needs nothing but Python 3.11.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAGE ?= dev
REQS := requirements.txt requirements-dev.txt requirements-engines.txt
STAMP := $(VENV)/.installed

.PHONY: venv test test-fast lint run bench package deploy clean

venv: $(STAMP)

$(STAMP): $(REQS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<26.3"  # chalice 1.34 packages with pip < 26.3
	$(PY) -m pip install --quiet -r requirements-dev.txt -r requirements-engines.txt
	touch $(STAMP)

# Lint (ruff), types (mypy on chalicelib), the import contracts (import-linter), then every test.
# pytest exits 5 when it collects no test: that is a failure here, not a pass.
test: lint
	$(PY) -m pytest -q -p no:cacheprovider tests

# The fast tier alone (no AWS, no server, no subprocess): seconds, for every edit.
test-fast: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -m unit tests

lint: $(STAMP)
	$(PY) -m ruff check --no-cache .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache --no-logo

run: $(STAMP)
	$(PY) -m kyc_service run --api-port 8000 --aws-port 5000 --stage local

bench: $(STAMP)
	$(PY) -m kyc_service.bench $(SECTIONS)

package: $(STAMP)
	$(PY) -m kyc_service package --stage $(STAGE)

deploy: $(STAMP)
	$(PY) -m kyc_service deploy --stage $(STAGE)

clean:
	rm -rf $(VENV) dist
