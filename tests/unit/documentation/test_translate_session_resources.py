import base64

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.adverse_events import (
    AdverseEventKind,
    AdverseEventOutcome,
    AdverseEventRecord,
    Severity,
)
from services.documentation.domain.cadss import CadssAssessment, CadssForm
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.flowsheet import AlertAction, AlertActionKind
from services.documentation.domain.note import amend_note, draft_note, sign_note
from services.documentation.translators.adverse_event_out import adverse_event_resource
from services.documentation.translators.document_reference_out import document_reference_from_note
from services.documentation.translators.encounter_out import encounter_from_session
from services.documentation.translators.flag_alert_out import alert_flag
from services.documentation.translators.medication_administration_out import medication_administration_from_session
from services.documentation.translators.observation_cadss_out import cadss_observation
from services.documentation.translators.procedure_out import procedure_from_session
from services.documentation.translators.provenance_signature_out import signature_provenance
from shared.fhir.codes import KETALINK_LOCAL
from shared.fhir.datatypes import find_identifier

from .builders import (
    DOCTOR,
    NURSE,
    SETTINGS,
    administration,
    at,
    checked_in,
    discharged,
    infusing,
    make_order,
    pre_checked,
    reading,
)

ORDER = make_order()


@pytest.mark.parametrize(
    "build, status",
    [
        (lambda: s.create_session(ORDER, 1), "planned"),
        (checked_in, "arrived"),
        (pre_checked, "triaged"),
        (infusing, "in-progress"),
        (discharged, "finished"),
        (lambda: s.defer(s.create_session(ORDER, 1), "patient unwell, rebooked", NURSE, at(8)), "cancelled"),
        (lambda: s.defer(pre_checked(), "BP high on recheck", NURSE, at(9, 20)), "finished"),
        (lambda: s.cancel(s.create_session(ORDER, 1), "order cancelled", NURSE, at(8)), "cancelled"),
    ],
)
def test_encounter_status_follows_the_session(build, status):
    assert encounter_from_session(build(), ORDER)["status"] == status


def test_encounter_of_a_discharged_session():
    encounter = encounter_from_session(discharged(), ORDER)
    assert find_identifier(encounter, "infusion-session") == "ord-1-1"
    assert encounter["class"]["code"] == "AMB"
    assert encounter["period"] == {"start": "2026-03-02T09:00:00+01:00", "end": "2026-03-02T10:25:00+01:00"}
    assert encounter["subject"] == {"reference": "Patient/pat-42"}
    assert encounter["reasonCode"] == [{"text": "Treatment-resistant depression"}]


@pytest.mark.parametrize(
    "build, status",
    [
        (pre_checked, "preparation"),
        (infusing, "in-progress"),
        (discharged, "completed"),
        (lambda: s.abort(infusing(), "emergence reaction", NURSE, at(9, 30)), "stopped"),
        (lambda: s.abort(pre_checked(), "patient declined", NURSE, at(9, 20)), "not-done"),
        (lambda: s.defer(pre_checked(), "HR 118", NURSE, at(9, 20)), "not-done"),
        (lambda: s.cancel(s.create_session(ORDER, 1), "order cancelled", NURSE, at(8)), "not-done"),
    ],
)
def test_procedure_status_follows_the_infusion(build, status):
    procedure = procedure_from_session(build(), ORDER)
    assert procedure["status"] == status
    if status in ("stopped", "not-done"):
        assert procedure["statusReason"]["text"]


def test_procedure_of_a_completed_infusion():
    session = s.record_adverse_event(
        infusing(),
        AdverseEventRecord(
            "ae-1", AdverseEventKind.HEADACHE, Severity.MILD, AdverseEventOutcome.RESOLVED, at(9, 20), NURSE
        ),
    )
    session = s.end_infusion(session, NURSE, at(9, 50))
    procedure = procedure_from_session(session, ORDER)
    assert procedure["code"]["coding"][0] == {
        "system": KETALINK_LOCAL,
        "code": "ketamine-infusion",
        "display": "Intravenous ketamine infusion",
    }
    assert procedure["performedPeriod"] == {"start": "2026-03-02T09:10:00+01:00", "end": "2026-03-02T09:50:00+01:00"}
    assert procedure["basedOn"][0]["identifier"]["value"] == "ser-1"
    assert procedure["encounter"]["identifier"]["value"] == "ord-1-1"
    assert procedure["complication"][0]["coding"][0]["code"] == "ae-headache"
    assert find_identifier(procedure, "infusion") == "ord-1-1"


def test_medication_administration_carries_lot_in_a_contained_medication():
    administration_resource = medication_administration_from_session(discharged(), ORDER)
    (medication,) = administration_resource["contained"]
    assert administration_resource["medicationReference"] == {"reference": f"#{medication['id']}"}
    assert medication["batch"] == {"lotNumber": "KET-2291", "expirationDate": "2027-05-31"}
    # The order's own product (10 mg/mL, coded by ingredient + strength), not a hard-coded 100 mg/mL product.
    assert medication["code"]["text"] == "ketamine 10 mg/mL injection"
    assert medication["ingredient"][0]["strength"]["numerator"]["value"] == 10
    assert administration_resource["request"] == {
        "type": "MedicationRequest",
        "identifier": {"system": "https://ketalink.example.org/fhir/identifier/order", "value": "ord-1"},
    }
    dosage = administration_resource["dosage"]
    assert dosage["dose"] == {"value": 40.0, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    assert dosage["rateQuantity"]["value"] == 75.0 and dosage["rateQuantity"]["code"] == "mL/h"
    assert dosage["route"]["coding"][0]["code"] == "47625008"
    assert administration_resource["effectivePeriod"] == {
        "start": "2026-03-02T09:10:00+01:00",
        "end": "2026-03-02T09:50:00+01:00",
    }
    assert administration_resource["status"] == "completed"
    assert find_identifier(administration_resource, "infusion-administration") == "ord-1-1"


def test_administration_stopped_by_an_abort_says_so_with_the_reason_and_short_dose():
    aborted = s.abort(infusing(), "severe emergence reaction", NURSE, at(9, 30))
    record = administration(stopped_at=at(9, 30), dose_discrepancy_reason="stopped at 20 min")
    aborted = s.record_administration(aborted, ORDER, record, SETTINGS)
    resource = medication_administration_from_session(aborted, ORDER)
    assert resource["status"] == "stopped"
    assert resource["statusReason"] == [{"text": "severe emergence reaction"}]
    assert resource["dosage"]["dose"]["value"] == 20.0
    assert resource["note"] == [{"text": "Dose differs from the order (40 mg): stopped at 20 min"}]


def test_medication_administration_needs_the_record():
    with pytest.raises(DocumentationInputError):
        medication_administration_from_session(infusing(), ORDER)


@pytest.mark.parametrize(
    "form, code, items", [(CadssForm.FULL, "cadss-total", 23), (CadssForm.SHORT, "cadss6-total", 6)]
)
def test_cadss_observation_has_total_and_item_components(form, code, items):
    scores = tuple(i % 3 for i in range(items))
    rating = CadssAssessment("c1", form, scores, at(9, 50), NURSE, scheduled_minute=40)
    observation = cadss_observation("ord-1-1", "pat-42", rating)
    assert observation["code"]["coding"][0]["code"] == code
    assert observation["category"][0]["coding"][0]["code"] == "survey"
    assert observation["valueQuantity"]["value"] == sum(scores)
    assert len(observation["component"]) == items
    last = observation["component"][-1]
    assert last["code"]["coding"][0]["code"] == ("cadss-item-23" if items == 23 else "cadss-item-22")
    assert last["valueInteger"] == scores[-1]
    assert observation["note"] == [{"text": "Timepoint: 40 min after start"}]
    assert find_identifier(observation, "cadss") == "ord-1-1/c1"


def test_adverse_event_in_r4_shape():
    event = AdverseEventRecord(
        "ae-1",
        AdverseEventKind.EMERGENCE_REACTION,
        Severity.SEVERE,
        AdverseEventOutcome.RECOVERING,
        at(9, 28),
        NURSE,
        description="agitation, visual distortions",
        action_taken="infusion stopped, midazolam 1 mg IV",
        serious=True,
    )
    resource = adverse_event_resource("ord-1-1", "pat-42", event)
    assert resource["actuality"] == "actual"
    assert resource["identifier"] == {
        "system": "https://ketalink.example.org/fhir/identifier/adverse-event",
        "value": "ord-1-1/ae-1",
    }
    assert resource["event"]["coding"][0]["code"] == "ae-emergence-reaction"
    assert resource["event"]["text"] == (
        "emergence reaction: agitation, visual distortions (action: infusion stopped, midazolam 1 mg IV)"
    )
    assert resource["seriousness"]["coding"][0]["code"] == "serious"
    assert resource["severity"]["coding"][0]["code"] == "severe"
    assert resource["outcome"]["coding"][0]["code"] == "recovering"
    assert resource["date"] == "2026-03-02T09:28:00+01:00"
    assert resource["suspectEntity"][0]["instance"]["identifier"]["value"] == "ord-1-1"
    assert resource["suspectEntity"][0]["instance"]["type"] == "MedicationAdministration"


def test_flag_is_active_until_an_action_closes_it():
    session = s.record_vitals(infusing(), reading("r-0940", at(9, 40), 186, 112), SETTINGS)
    open_flag = alert_flag("ord-1-1", "pat-42", session.alerts[0])
    assert open_flag["status"] == "active" and open_flag["period"] == {"start": "2026-03-02T09:40:00+01:00"}
    assert open_flag["code"]["text"] == "systolic 186 mmHg ≥ 180 mmHg; diastolic 112 mmHg ≥ 110 mmHg"
    session = s.record_action(session, "r-0940-alert", AlertAction(AlertActionKind.STOPPED, DOCTOR, at(9, 41)))
    closed = alert_flag("ord-1-1", "pat-42", session.alerts[0])
    assert closed["status"] == "inactive" and closed["period"]["end"] == "2026-03-02T09:41:00+01:00"
    assert closed["code"]["text"].endswith("— action: stopped")


def notes():
    draft = draft_note(discharged(), ORDER, "note-1", DOCTOR, at(10, 40))
    signed = sign_note(draft, DOCTOR, at(10, 45))
    amendment = sign_note(
        amend_note(signed, "note-1-v2", signed.text + "Addendum.\n", DOCTOR, at(14)), DOCTOR, at(14, 5)
    )
    return draft, signed, amendment


def test_document_reference_carries_the_note_text_and_status():
    draft, signed, amendment = notes()
    draft_doc, signed_doc, amended_doc = (document_reference_from_note(n) for n in (draft, signed, amendment))
    assert [d["docStatus"] for d in (draft_doc, signed_doc, amended_doc)] == ["preliminary", "final", "amended"]
    attachment = signed_doc["content"][0]["attachment"]
    assert attachment["contentType"].startswith("text/plain")
    assert base64.b64decode(attachment["data"]).decode("utf-8") == signed.text
    assert signed_doc["type"]["coding"][0]["code"] == "28570-0"
    assert signed_doc["category"][0]["coding"][0]["code"] == "clinical-note"
    assert signed_doc["authenticator"] == DOCTOR.fhir_reference() and "authenticator" not in draft_doc
    assert signed_doc["date"] == "2026-03-02T10:45:00+01:00"
    assert "relatesTo" not in signed_doc
    assert amended_doc["relatesTo"] == [
        {
            "code": "replaces",
            "target": {
                "type": "DocumentReference",
                "identifier": {
                    "system": "https://ketalink.example.org/fhir/identifier/procedure-note",
                    "value": "note-1",
                },
            },
        }
    ]
    assert find_identifier(amended_doc, "procedure-note") == "note-1-v2"
    assert amended_doc["context"]["encounter"][0]["identifier"]["value"] == "ord-1-1"


def test_signature_provenance_targets_the_document_and_signs_as_author():
    _, signed, _ = notes()
    provenance = signature_provenance(signed)
    assert provenance["target"][0]["identifier"]["value"] == "note-1"
    assert provenance["recorded"] == "2026-03-02T10:45:00+01:00"
    assert provenance["agent"][0]["who"] == DOCTOR.fhir_reference()
    assert provenance["agent"][0]["type"]["coding"][0]["code"] == "author"
    (signature,) = provenance["signature"]
    assert signature["type"][0]["code"] == "1.2.840.10065.1.12.1.1"
    assert signature["type"][0]["system"] == "urn:iso-astm:E1762-95:2013"
    assert signature["when"] == "2026-03-02T10:45:00+01:00" and signature["who"] == DOCTOR.fhir_reference()
    assert "identifier" not in provenance


def test_unsigned_note_has_no_signature_provenance():
    draft, _, _ = notes()
    with pytest.raises(TransitionNotAllowed):
        signature_provenance(draft)
