# Two entry points (see README): `make lab` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
JOBS ?=
FORCE ?=
PROFILE ?= offline
PY := $(VENV)/bin/python
STAMP := $(VENV)/.labkit-installed

.PHONY: lab run book test rehearse clean

# Execute every notebook on the embedded offline data, then build the site from the executed copies.
# A second `make lab` runs only the notebooks that changed (source, parameters, the labkit code they
# import); `make lab FORCE=1` runs them all; `make lab JOBS=2` two at a time (default: the measured faster).
lab: run book

run: $(STAMP)
	$(PY) -m labkit run --profile $(PROFILE) $(if $(JOBS),--jobs $(JOBS)) $(if $(FORCE),--force)

book: $(STAMP)
	$(PY) -m labkit book --profile $(PROFILE)

# Unit tests of labkit, end-to-end runs of the runner and the book, and every notebook under nbval (smoke),
# on TEST_JOBS processes (pytest-xdist; each test module and each notebook stays in one process).
TEST_JOBS ?= 2
test: $(STAMP)
	$(PY) -m pytest -n $(TEST_JOBS) --dist loadscope --nbval-lax tests notebooks

# The full profile's code paths (downloads with checksums, the real formats, traced fits, grid sweeps) on
# every notebook, against a local mirror of its datasets on 127.0.0.1: CI runs it after the tests.
rehearse: $(STAMP)
	$(PY) -m labkit rehearse $(if $(JOBS),--jobs $(JOBS))

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

clean:
	rm -rf build .pytest_cache
