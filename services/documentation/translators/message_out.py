"""Focus resources of each event the documentation service publishes (the glue wraps them in the message Bundle
with MessageHeader and Provenance, docs/contracts.md). Readings that came from the EHR are already there and are
never sent back; alerts they raised are."""

from __future__ import annotations

from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.note import ProcedureNote
from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.session import ENDED_STATUSES, Session
from services.documentation.domain.vitals import VitalsReading, VitalsSource
from services.documentation.translators.adverse_event_out import adverse_event_resource
from services.documentation.translators.document_reference_out import document_reference_from_note
from services.documentation.translators.encounter_out import encounter_from_session
from services.documentation.translators.flag_alert_out import alert_flag
from services.documentation.translators.medication_administration_out import medication_administration_from_session
from services.documentation.translators.medication_administration_rescue_out import rescue_administration
from services.documentation.translators.observation_cadss_out import cadss_observation
from services.documentation.translators.observation_vitals_out import vitals_observations
from services.documentation.translators.procedure_out import procedure_from_session
from services.documentation.translators.provenance_signature_out import signature_provenance
from services.documentation.translators.provenance_waste_witness_out import waste_witness_provenance
from services.documentation.translators.task_follow_up_out import follow_up_task
from shared.fhir.datatypes import FhirJson
from shared.pdf import PdfAttachment


def session_started_focus(session: Session, order: ActiveOrder) -> list[FhirJson]:
    """Encounter, and the Procedure once the infusion has started."""
    focus = [encounter_from_session(session, order)]
    if session.infusion_started_at:
        focus.append(procedure_from_session(session, order))
    return focus


def vitals_recorded_focus(session: Session, reading_id: str) -> list[FhirJson]:
    """The reading's Observations; empty for a reading that came from the EHR."""
    return _reading_observations(session, _reading(session, reading_id))


def pre_check_vitals_focus(session: Session, reading_id: str) -> list[FhirJson]:
    """The Observations of a pre-infusion check's reading (the baseline the discharge vitals are compared with)."""
    attempt = next((a for a in session.pre_checks if a.reading.reading_id == reading_id), None)
    if attempt is None:
        raise DocumentationInputError(
            "reading_id", f"no pre-infusion reading {reading_id} in session {session.session_id}"
        )
    return _reading_observations(session, attempt.reading)


def alert_raised_focus(session: Session, alert_id: str) -> list[FhirJson]:
    """The alert's Flag, then the Observations of the reading that raised it (when Ketalink recorded it)."""
    alert = next((a for a in session.alerts if a.alert_id == alert_id), None)
    if alert is None:
        raise DocumentationInputError("alert_id", f"no alert {alert_id} in session {session.session_id}")
    return [alert_flag(session.session_id, session.patient_id, alert)] + _reading_observations(
        session, _reading(session, alert.reading_id)
    )


def session_completed_focus(session: Session, order: ActiveOrder) -> list[FhirJson]:
    """Encounter, Procedure, MedicationAdministration (when recorded; first, the course reads it), vitals and
    CADSS Observations, AdverseEvents, the alert Flags (now closed), a MedicationAdministration per rescue
    medication, the waste-witness Provenance of the controlled-substance record, and the follow-up call's Task."""
    if session.status not in ENDED_STATUSES:
        raise TransitionNotAllowed(f"session {session.session_id} has not ended (it is {session.status.value})")
    focus = [encounter_from_session(session, order), procedure_from_session(session, order)]
    if session.administration is not None:
        focus.append(medication_administration_from_session(session, order))
    for reading in session.readings:
        focus += _reading_observations(session, reading)
    focus += [cadss_observation(session.session_id, session.patient_id, a) for a in session.cadss]
    administered = session.administration is not None
    focus += [
        adverse_event_resource(session.session_id, session.patient_id, e, administered) for e in session.adverse_events
    ]
    focus += [alert_flag(session.session_id, session.patient_id, a) for a in session.alerts]
    focus += [rescue_administration(session.session_id, session.patient_id, a) for a in session.alerts
              if a.action is not None and a.action.rescue is not None]
    if session.controlled_substance is not None and session.administration is not None:
        focus.append(waste_witness_provenance(session))
    if session.discharge_record is not None and session.discharge_record.follow_up is not None:
        focus.append(follow_up_task(session))
    return focus


def note_signed_focus(note: ProcedureNote, pdf: PdfAttachment | None = None) -> list[FhirJson]:
    """The DocumentReference (with the note's PDF beside its text) and the Provenance that carries the signature."""
    return [document_reference_from_note(note, pdf), signature_provenance(note)]


def _reading(session: Session, reading_id: str) -> VitalsReading:
    reading = session.reading(reading_id)
    if reading is None:
        raise DocumentationInputError("reading_id", f"no reading {reading_id} in session {session.session_id}")
    return reading


def _reading_observations(session: Session, reading: VitalsReading) -> list[FhirJson]:
    if reading.source is VitalsSource.EHR:
        return []
    return vitals_observations(session.session_id, session.patient_id, reading)
