from services.intake.domain.contraindications import ContraindicationAnswer, Presence
from services.intake.domain.recording import record_contraindications
from services.intake.translators.flag_out import contraindication_flags
from shared.fhir.codes import KETALINK_LOCAL

from .builders import T0, eligible_intake
from tests.unit.intake.builders import ADA


def test_one_flag_per_present_contraindication_only(settings):
    answers = [ContraindicationAnswer("uncontrolled-hypertension", Presence.PRESENT, "150/95 twice"),
               ContraindicationAnswer("ketamine-hypersensitivity", Presence.PRESENT),
               ContraindicationAnswer("pregnancy-or-breastfeeding", Presence.UNKNOWN),
               ContraindicationAnswer("active-psychosis", Presence.ABSENT)]
    intake = record_contraindications(eligible_intake(settings), answers, T0, ADA, settings)
    flags = contraindication_flags(intake, "pat-123")
    assert [f["code"]["coding"][0]["code"] for f in flags] == [
        "contraindication-uncontrolled-hypertension", "contraindication-ketamine-hypersensitivity"]
    first = flags[0]
    assert first["code"]["coding"][0]["system"] == KETALINK_LOCAL
    assert first["code"]["text"] == "Contraindication to IV ketamine: Uncontrolled hypertension (150/95 twice)"
    assert (first["status"], first["subject"], first["period"]) == (
        "active", {"reference": "Patient/pat-123"}, {"start": "2026-03-02T09:30:00+00:00"})
    assert first["category"][0]["coding"][0]["code"] == "clinical"
    assert first["identifier"] == [{"system": "https://ketalink.example.org/fhir/identifier/intake-flag",
                                    "value": "intake-0001-uncontrolled-hypertension"}]


def test_clear_screen_gives_no_flags(settings):
    assert contraindication_flags(eligible_intake(settings), "pat-123") == []
