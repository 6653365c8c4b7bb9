"""Issue 8, logs: after the journey (every service, every seeded patient, refused requests, unreadable records) and
the token tests, no log file of this test session holds a seeded patient's name, birth date or MRN.

Every file under the run's logs (``run_log_dir``: under xdist, every worker's ``log_dir``) is scanned: the three
services, the broker, the EHR sandbox (the EHR is allowed to hold PHI in its store, not in its log) and whatever else
the tests before these started (under xdist these are handed out last: tests/conftest.py). Findings name
the file, line, kind of PHI and which seeded patient, never the value."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from deploy.ehr_sandbox.seed import SeedPatient
from tests.security.conftest import Stack, Tokens
from tests.security.journey import Journey
from tests.security.phi import birth_date_spellings, patterns_for, report, scan_files, scan_text, seeded_phi

pytestmark = pytest.mark.integration

EXAMPLE = SeedPatient("KL-1001", "Gonzalez", ("Maria", "Elena"), "female", date(1961, 3, 4), 68.4, "kg", 2, 165.0, ())


def test_the_scan_finds_every_kind_in_every_spelling_and_only_there():
    """The scan can fail: each spelling is found once, with its kind, and near misses are not."""
    patterns = patterns_for(EXAMPLE, "example")
    lines = {"family name": ['{"msg": "patient GONZALEZ"}'], "given name": ["given=elena"],
             "MRN": ["mrn kl-1001", "KL1001", "(KL_1001)"],
             "birth date": [f"born {spelling}!" for spelling in birth_date_spellings(EXAMPLE.birth_date)]}
    assert {"1961-03-04", "04/03/1961", "03/04/1961", "4/3/1961", "19610304", "4 Mar 1961", "March 4, 1961"} \
        <= set(birth_date_spellings(EXAMPLE.birth_date))
    for kind, texts in lines.items():
        for text in texts:
            assert [f.kind for f in scan_text(text, "line", patterns)] == [kind], text
    near_misses = ["Gonzalezes", "KL-10010", "XKL-1001", "Marianne", "119610304", "1961-03-045", "14/03/1961",
                   "a uuid 9f1c1d7e-3f5b-4c55-9a0e-6b1f4e1d2c3a"]
    assert scan_text("\n".join(near_misses), "near misses", patterns) == []
    found = scan_text("Gonzalez 04/03/1961", "line", patterns)[0]
    assert "Gonzalez" not in str(found) and "1961" not in str(found) and "example" in str(found)


def test_no_log_of_this_session_holds_a_seeded_patients_phi(journey: Journey, stack: Stack, log_dir: Path,
                                                            run_log_dir: Path):
    logs = sorted(path for path in run_log_dir.rglob("*") if path.is_file())  # under xdist: every worker's logs
    # The session's own logs by name (other suites keep theirs in subdirectories, e.g. faults/: scanned as well).
    by_name = {path.name: path.read_text(errors="replace") for path in logs if path.parent == log_dir}
    # The scan reads the logs this journey wrote, with their ids and its error paths in them.
    assert journey.intake_ids[journey.patient_mrn] in by_name["intake.log"]
    assert journey.order_id in by_name["orders.log"]
    assert journey.session_id in by_name["documentation.log"]
    assert "message dead-lettered" in by_name["documentation.log"] and "message dead-lettered" in by_name["intake.log"]
    assert "ehr.log" in by_name and len(seeded_phi()) >= 4 * 10

    findings = scan_files(logs, run_log_dir)
    assert not findings, "PHI of the seeded patients in the logs:\n" + report(findings)


def test_no_log_holds_a_bearer_token(stack: Stack, tokens: Tokens, run_log_dir: Path):
    """Not PHI, but it opens the patient's record: the tokens the token tests sent are in no log either."""
    secrets = [issued[key] for by_service in (tokens.mine, tokens.theirs_read_only) for issued in by_service.values()
               for key in ("access_token", "id_token") if key in issued]
    secrets += [token.split(".")[2] for token in secrets]  # the signature alone would do
    leaks = [path.name for path in sorted(run_log_dir.rglob("*")) if path.is_file()
             and any(secret in path.read_text(errors="replace") for secret in secrets)]
    assert not leaks, f"a bearer token is in {leaks}"
