# Ketalink: the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-install
include deploy/tools.mk

.PHONY: run test install browser-deps asyncapi-tools axe-tools contract test-unit test-integration test-kafka test-hapi test-prod bench fuzz clean

$(STAMP): requirements.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

# The official AsyncAPI parser (Node.js, pinned in tools/asyncapi/package-lock.json) that the unit tests validate
# docs/asyncapi.yaml with; `npm ci` installs exactly the lock file, without install scripts.
ASYNCAPI_STAMP := tools/asyncapi/node_modules/.stamp-install
$(ASYNCAPI_STAMP): tools/asyncapi/package.json tools/asyncapi/package-lock.json
	cd tools/asyncapi && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(ASYNCAPI_STAMP)

asyncapi-tools: $(ASYNCAPI_STAMP)

# axe-core (pinned in tools/axe/package-lock.json), the accessibility engine tests/browser/axe.py injects into each
# page the browser tests open; `npm ci` from the lock file, without install scripts, like the AsyncAPI parser.
AXE_STAMP := tools/axe/node_modules/.stamp-install
$(AXE_STAMP): tools/axe/package.json tools/axe/package-lock.json
	cd tools/axe && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(AXE_STAMP)

axe-tools: $(AXE_STAMP)

# Regenerate the event contract (docs/asyncapi.yaml) from shared/events/topics.py and shared/events/catalogue.py.
contract: install asyncapi-tools
	$(PY) -m shared.events.asyncapi --write
	node tools/asyncapi/validate.mjs docs/asyncapi.yaml

# The browser tests drive Debian's Chromium (no browser can be downloaded here); installed once, as root.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

run: install
	$(PY) -m deploy.local.stack

# Two pytest-xdist workers, each with its own broker, EHR sandbox and services on free ports; a test file, or a
# directory whose servers are shared (tests/conftest.py, ONE_WORKER_DIRECTORIES), runs on one worker.
# TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: install browser-deps asyncapi-tools axe-tools deploy-tools
	$(PY) -m pytest -q $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test-unit: install asyncapi-tools
	$(PY) -m pytest -q tests/unit

test-integration: install
	$(PY) -m pytest -q tests/integration

# The end-to-end, EHR-engine and fault tests against Apache Kafka itself (jars from Maven Central via
# deploy/kafka/pom.xml, KRaft combined mode, Java 17) instead of Tansu; tests/support/apache_kafka.py starts and stops
# it (the fault test restarts its own instance mid-stream: its log is on disk).
test-kafka: install
	KETALINK_TEST_BROKER=kafka $(PY) -m pytest -q tests/integration/course tests/integration/orders \
	  tests/integration/test_patient_journey.py tests/integration/test_ehr_integration_engine.py \
	  tests/integration/test_consumer_loop.py tests/integration/test_held_records.py \
	  tests/integration/test_ehr_engine_poison_record.py tests/fault

# The integration, course and journey tests, and the Provenance audit of every EHR write, against a stock HAPI
# FHIR JPA server (jars from Maven Central via deploy/hapi/pom.xml, R4, H2 in memory, Java 17) as the EHR instead of
# the sandbox's own FHIR server; the first run builds it into var/hapi/ (tests/support/hapi.py), later runs reuse it.
test-hapi: install
	KETALINK_TEST_FHIR=hapi $(PY) -m pytest -q tests/integration/course tests/integration/orders \
	  tests/integration/documentation tests/integration/intake tests/integration/test_patient_journey.py \
	  tests/integration/test_ehr_integration_engine.py tests/integration/test_intake_reopen_reaches_orders.py \
	  tests/integration/test_hapi_ehr.py tests/security/test_ehr_writes_audited.py

# Fuzzing campaign (not part of `make test`): schemathesis against the three services as tests/fuzz starts them,
# with a fresh seed each run (printed first and last; KETALINK_FUZZ_SEED=N repeats one), KETALINK_FUZZ_EXAMPLES
# (default 100) examples per operation and the stateful phase following the documents' links (tests/fuzz/campaign.py).
fuzz: install
	@seed=$${KETALINK_FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	  echo "make fuzz: seed $$seed (repeat with KETALINK_FUZZ_SEED=$$seed)"; \
	  KETALINK_FUZZ=1 KETALINK_FUZZ_SEED=$$seed $(PY) -m pytest -q -s -p no:cacheprovider tests/fuzz/test_openapi.py

# The journey, fault, fuzz, process-model and concurrent-append tests (the latter take PostgreSQL's row locks) on
# the production process model (not part of `make test`; about 7-8 minutes): each service on PostgreSQL (a
# throwaway cluster, bench/postgres.py) with its migrator and
# DML-only runtime roles, gunicorn with 2 workers and a separate worker process (tests/support/prod_model.py;
# by hand: docs/operations.md, "The production process model by hand").
test-prod: install
	KETALINK_TEST_PROCESS_MODEL=prod $(PY) -m pytest -q tests/integration/test_patient_journey.py \
	  tests/integration/test_process_model.py tests/integration/documentation/test_concurrent_readings.py \
	  tests/integration/course/test_concurrent_scores.py tests/fault tests/fuzz

# The benchmark (not part of `make test`): its own broker, EHR sandbox and services on free ports, one table on
# stdout and JSON in var/bench/; parameters as BENCH_* variables or flags (`$(PY) -m bench --help`), see
# docs/performance.md.
bench: install
	$(PY) -m bench

clean:
	rm -rf var test-artifacts .pytest_cache
