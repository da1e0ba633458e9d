# Developer tasks, one command each. PY is the project's venv; `make venv` creates it.
PY ?= .venv/bin/python
PYTEST_ARGS ?=

.PHONY: venv demo test test-fast fmt lint typecheck wheel clean bench bench-load bench-compare

venv: .venv/.installed

.venv/.installed: pyproject.toml CMakeLists.txt $(wildcard _native/*.pyx)
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --disable-pip-version-check -U pip
	$(PY) -m pip install -q --disable-pip-version-check scikit-build-core cython
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation -e '.[dev]'
	touch $@

## Run the bundled example model once, in this environment (no container engine).
demo: venv
	cd examples/hello-world && ../../.venv/bin/cog predict --local -i text=world

## The whole test suite (unit, integration, reference and container tests).
test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

## Everything but the container and reference tests.
test-fast: venv
	$(PY) -m pytest -m "not container and not reference" $(PYTEST_ARGS)

fmt: venv
	$(PY) -m ruff format cog runtime _native benchmarks tests
	$(PY) -m ruff check --fix cog runtime _native benchmarks tests

lint: venv
	$(PY) -m ruff check cog runtime _native benchmarks tests
	$(PY) -m ruff format --check cog runtime _native benchmarks tests

# mypy sees the package as installed: cog/ with runtime/ and _native/ mapped into it.
typecheck: venv
	rm -rf build/typecheck && mkdir -p build/typecheck/cog
	for f in cog/*; do ln -s ../../../$$f build/typecheck/cog/; done
	ln -s ../../../runtime build/typecheck/cog/runtime
	ln -s ../../../_native build/typecheck/cog/_native
	cd build/typecheck && ../../$(PY) -m mypy --config-file ../../pyproject.toml -p cog

wheel: venv
	$(PY) -m pip wheel --no-deps -w dist .

## Micro benchmarks (pytest-benchmark).
bench: venv
	$(PY) -m pytest benchmarks --benchmark-only

## Side-by-side load benchmark against the reference Cog (docs/benchmarks.md).
bench-load: venv
	$(PY) -m benchmarks.load

## Compare the latest micro-benchmark run with the saved baseline.
bench-compare: venv
	$(PY) -m benchmarks.compare
	$(PY) -m benchmarks.compare --baseline benchmarks/baselines/native.json benchmarks/test_native.py

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache .benchmarks *.egg-info
	find . -name __pycache__ -prune -exec rm -rf {} +
