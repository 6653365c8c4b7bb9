"""What the production process model showed (issue 16, "The production process model was tried by hand"), checked
on the model the tests run: under ``make test-prod`` (``KETALINK_TEST_PROCESS_MODEL=prod``) each service is
gunicorn with 2 workers and a worker process on PostgreSQL with its runtime role; otherwise one process on SQLite.

- An id with a NUL byte in the URL path is a 400 OperationOutcome (it was a 500 on PostgreSQL, which refuses NUL in
  text, while SQLite answered 404); so is a NUL byte in a request body (SQLite stored it and it went on to the EHR).
- ``/metrics`` counts the requests every gunicorn worker served, on every scrape (it answered from one worker at a
  time: counters jumped 29 → 11 → 29).
- Under the production model: the web part really is 2 gunicorn workers, and the service's role reads and writes
  rows but cannot change the schema."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from tests.support.prod_model import WEB_WORKERS, database_url, prod_model
from tests.support.service_stack import services_reading_from_the_end

pytestmark = pytest.mark.integration

SERVICES = ("intake", "orders", "documentation")
NUL_PATHS = {"documentation": ["/sessions/abc%00def"], "intake": ["/intakes/abc%00def"],
             "orders": ["/orders/abc%00def", "/patients/abc%00/eligibility"]}
REQUESTS = 40


@pytest.fixture(scope="module")
def stack(broker, ehr, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str],
                                                                                                   Path]]:
    data_dir = tmp_path_factory.mktemp("process-model")
    with services_reading_from_the_end(SERVICES, "model", broker.bootstrap, ehr.base_url, log_dir,
                                       data_dir) as urls:
        yield urls, data_dir


@pytest.mark.parametrize("name, path", [(n, p) for n, paths in NUL_PATHS.items() for p in paths])
def test_an_id_with_a_nul_byte_in_the_url_is_a_400_not_a_500(stack: tuple[dict[str, str], Path], name: str,
                                                             path: str):
    urls, _ = stack
    answer = requests.get(urls[name] + path, timeout=15)
    assert answer.status_code == 400, f"{name} {path}: {answer.status_code} {answer.text[:300]}"
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_a_nul_byte_in_a_body_is_a_400_naming_the_field(stack: tuple[dict[str, str], Path]):
    """PostgreSQL refuses NUL in text; the body is refused before any store or the EHR is asked (SQLite stored it
    and it went on to the EHR)."""
    urls, _ = stack
    answer = requests.post(f"{urls['intake']}/intakes", timeout=15, json={
        "patient_id": "abc\u0000def", "started_by": "Nurse Test"})
    assert answer.status_code == 400, f"{answer.status_code} {answer.text[:300]}"
    assert [issue.get("expression") for issue in answer.json()["issue"]] == [["patient_id"]], answer.text


def test_metrics_count_the_requests_of_every_worker_on_every_scrape(stack: tuple[dict[str, str], Path]):
    urls, _ = stack
    base = urls["documentation"]
    before = _requests_counted(base)
    http = requests.Session()
    for _ in range(REQUESTS):  # a fresh connection each: gunicorn hands them to either worker
        assert requests.get(f"{base}/patients/no-such-patient/sessions", timeout=15).status_code in (200, 404)
    scrapes = [_requests_counted(base, http) for _ in range(10)]
    assert all(later >= earlier for earlier, later in zip(scrapes, scrapes[1:])), f"a counter went back: {scrapes}"
    assert scrapes[0] - before >= REQUESTS, f"{scrapes[0] - before} of {REQUESTS} requests counted ({scrapes})"


@pytest.mark.skipif(not prod_model(), reason="the production process model only (make test-prod)")
def test_the_web_part_is_two_gunicorn_workers_and_the_role_cannot_change_the_schema(
        stack: tuple[dict[str, str], Path]):
    urls, data_dir = stack
    port = urls["orders"].rsplit(":", 1)[1]
    ours = [pid for pid in _pids() if "services.orders.wsgi:app" in _cmdline(pid) and _environ(pid).get(
        "HTTP_PORT") == port]
    masters = {pid for pid in ours if _ppid(pid) not in ours}
    assert len(masters) == 1, f"gunicorn masters for orders on {port}: {masters}"
    workers = [pid for pid in ours if _ppid(pid) in masters]
    assert len(workers) == WEB_WORKERS, f"{len(workers)} gunicorn workers"

    url = make_url(database_url("orders", data_dir))
    dsn = f"host={url.host} port={url.port} user={url.username} dbname={url.database}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() is not None
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE not_allowed (i integer)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE outbox ADD COLUMN not_allowed integer")


def _requests_counted(base_url: str, http: requests.Session | None = None) -> float:
    body = (http or requests).get(f"{base_url}/metrics", timeout=15).text
    return sum(sample.value for family in text_string_to_metric_families(body)
               if family.name == "ketalink_http_requests" for sample in family.samples
               if sample.name == "ketalink_http_requests_total")


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _environ(pid: int) -> dict[str, str]:
    try:
        pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return {}
    return dict(p.decode(errors="replace").split("=", 1) for p in pairs if b"=" in p)


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1
