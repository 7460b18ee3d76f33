# Two entry points (see README): `make lab` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
JOBS ?= 1
PROFILE ?= offline
PY := $(VENV)/bin/python
STAMP := $(VENV)/.labkit-installed

.PHONY: lab run book test clean

# Execute every notebook on the embedded offline data, then build the site from the executed copies.
lab: run book

run: $(STAMP)
	$(PY) -m labkit run --profile $(PROFILE) --jobs $(JOBS)

book: $(STAMP)
	$(PY) -m labkit book --profile $(PROFILE)

# Unit tests of labkit, end-to-end runs of the runner and the book, and every notebook under nbval (smoke).
test: $(STAMP)
	$(PY) -m pytest --nbval-lax tests notebooks

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

clean:
	rm -rf build .pytest_cache
