"""The intake store on a real SQLite file: what ``add`` and ``save`` hand back is what a later read finds (they
return the intake they were given instead of decoding what they just encoded, docs/performance.md, issue 19)."""
from dataclasses import replace

import pytest

from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.model import Intake, IntakeStatus
from services.intake.domain.patient import AdministrativeSex, PatientSummary
from services.intake.domain.recording import record_patient
from services.intake.repository import IntakeRepository
from shared.db import StaleRecordError, create_database

from .builders import DECIDED_AT, PATIENT_ID, eligible_intake


@pytest.fixture
def engine(tmp_path):
    engine = create_database(f"sqlite:///{tmp_path / 'intake.db'}")
    yield engine
    engine.dispose()


def test_what_add_and_save_return_is_what_is_read_back(engine, settings):
    repository = IntakeRepository()
    intake = record_patient(eligible_intake(settings),
                            PatientSummary(PATIENT_ID, 44, AdministrativeSex.FEMALE, "Ada Example"))
    with engine.begin() as conn:
        added = repository.add(conn, intake)
    with engine.connect() as conn:
        read = repository.get(conn, intake.intake_id)
    assert added.version == read.version == 1
    assert added.intake == read.intake == intake

    decided = decide_eligibility(read.intake, settings, DECIDED_AT)
    with engine.begin() as conn:
        saved = repository.save(conn, read, decided)
    with engine.connect() as conn:
        read_again = repository.get(conn, intake.intake_id)
    assert saved.version == read_again.version == 2
    assert saved.intake == read_again.intake == decided
    assert read_again.intake.status is IntakeStatus.DECIDED and read_again.intake.decision is not None


def test_add_of_an_existing_intake_and_save_of_a_stale_one_are_refused(engine, settings):
    repository = IntakeRepository()
    intake = eligible_intake(settings)
    with engine.begin() as conn:
        first = repository.add(conn, intake)
    with pytest.raises(StaleRecordError), engine.begin() as conn:
        repository.add(conn, intake)
    with engine.begin() as conn:
        repository.save(conn, first, replace(intake, trials=()))
    with pytest.raises(StaleRecordError), engine.begin() as conn:
        repository.save(conn, first, replace(intake, trials=None))
    with engine.connect() as conn:
        assert repository.get(conn, intake.intake_id).intake.trials == ()
        assert isinstance(repository.get(conn, intake.intake_id).intake, Intake)
