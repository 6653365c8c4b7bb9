# Ketalink: the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-install
include deploy/tools.mk

.PHONY: run test install browser-deps test-unit test-integration test-kafka bench clean

$(STAMP): requirements.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's Chromium (no browser can be downloaded here); installed once, as root.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

run: install
	$(PY) -m deploy.local.stack

test: install browser-deps
	$(PY) -m pytest -q

test-unit: install
	$(PY) -m pytest -q tests/unit

test-integration: install
	$(PY) -m pytest -q tests/integration

# The end-to-end, EHR-engine and fault tests against Apache Kafka itself (jars from Maven Central via
# deploy/kafka/pom.xml, KRaft combined mode, Java 17) instead of Tansu; tests/support/apache_kafka.py starts and stops
# it (the fault test restarts its own instance mid-stream: its log is on disk).
test-kafka: install
	KETALINK_TEST_BROKER=kafka $(PY) -m pytest -q tests/integration/course tests/integration/orders \
	  tests/integration/test_patient_journey.py tests/integration/test_ehr_integration_engine.py \
	  tests/integration/test_consumer_loop.py tests/fault

# The benchmark (not part of `make test`): its own broker, EHR sandbox and services on free ports, one table on
# stdout and JSON in var/bench/; parameters as BENCH_* variables or flags (`$(PY) -m bench --help`), see
# docs/performance.md.
bench: install
	$(PY) -m bench

clean:
	rm -rf var test-artifacts .pytest_cache
