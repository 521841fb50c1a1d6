# kyc-service developer commands. Each target builds .venv from the requirements
# files when they changed, so a fresh clone needs nothing but Python 3.11.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAGE ?= dev
REQS := requirements.txt requirements-dev.txt requirements-engines.txt
STAMP := $(VENV)/.installed

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: venv checkov-venv test test-fast lint browser screenshots run bench package deploy clean

venv: $(STAMP)

# checkov (the IaC scanner run over the packaged templates by tests/test_deploy.py) in its own
# virtualenv: its pins clash with the project's. Built from the same package index as .venv.
checkov-venv: $(CHECKOV_STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

$(STAMP): $(REQS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<26.3"  # chalice 1.34 packages with pip < 26.3
	$(PY) -m pip install --quiet -r requirements-dev.txt -r requirements-engines.txt
	touch $(STAMP)

# Lint (ruff), types (mypy on chalicelib), the import contracts (import-linter), then every test.
# pytest exits 5 when it collects no test: that is a failure here, not a pass.
test: lint browser checkov-venv
	$(PY) -m pytest -q -p no:cacheprovider tests

# The review console's browser test drives Debian's Chromium and its driver: installed here when
# missing and running as root (CI, a fresh machine); otherwise that test skips and says why.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || echo "could not install chromium: the console's browser test will skip"; \
	else echo "chromium or chromedriver missing (not root): the console's browser test will skip"; fi

# Screenshots of the review console, wide and narrow, into docs/console/ (docs/console.md).
screenshots: $(STAMP) browser
	$(PY) -m kyc_service console-screenshots

# The fast tier alone (no AWS, no server, no subprocess): seconds, for every edit.
test-fast: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -m unit tests

lint: $(STAMP)
	$(PY) -m ruff check --no-cache .
	$(PY) -m ruff format --no-cache --check .
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
	rm -rf $(VENV) $(CHECKOV_VENV) dist
