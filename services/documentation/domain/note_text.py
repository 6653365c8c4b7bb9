"""The procedure note's text, generated as plain text from the session record: indication and dose as the order
gives them, times, the pre-infusion check, the day's safety checks (the C-SSRS screeners with their risk, each
clinician's suicide-risk review with the alerts it covered, and the site-readiness checklist as confirmed: issue 13
defect 5), administration and the controlled-substance record, vitals with peaks and every missed due reading,
alerts and events, CADSS with every unrated scheduled timepoint, adverse events, and discharge."""

from __future__ import annotations

from datetime import datetime

from services.documentation.domain.errors import (
    DocumentationInputError,
)
from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.pre_check import PreCheckAttempt, PregnancyCheck
from services.documentation.domain.schedule import DueState, due_cadss, due_vital_readings
from services.documentation.domain.session import Session
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.vitals import VitalsReading
from shared.clinic_time import current_clinic_zone, format_clinic_time
from collections.abc import Callable

from services.documentation.domain.site_readiness import item_label
from services.documentation.domain.suicide_risk import ReviewDecision


def generate_note(
    session: Session, order: ActiveOrder, settings: SessionSettings | None = None, now: datetime | None = None
) -> str:
    """The plain-text note: indication and dose as the order gives them, times, pre-check, administration (its
    review and the controlled-substance record), vitals with peaks and every missed due reading, alerts and
    actions, pump changes, events, CADSS with every unrated scheduled timepoint, adverse events, discharge
    criteria, instructions and the follow-up call. ``settings`` (the clinic's; defaults otherwise) and ``now``
    (for a session still open) say what was due."""
    if order.order_id != session.order_id:
        raise DocumentationInputError(
            "order.order_id", f"session {session.session_id} belongs to order {session.order_id}"
        )
    settings = settings or SessionSettings()
    as_of = session.ended_at or now or (session.transitions[-1].at if session.transitions else session.scheduled_end)
    sections = [
        _header(session, order),
        _times(session),
        _pre_check(session),
        _safety(session, _when),
        _administration(session),
        controlled_substance_section(session),
        _vitals(session),
        _missed_readings(session, as_of, settings),
        _alerts_and_events(session),
        _cadss(session),
        _unrated_cadss(session, as_of, settings),
        _adverse_events(session),
        _discharge(session),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _pregnancy_basis(attempt: PreCheckAttempt) -> str:
    """Why "not applicable" was allowed (the EHR record's sex and age on the day), so a reviewer can see it."""
    applicability = attempt.pregnancy_applicability
    if attempt.confirmations.pregnancy_check is not PregnancyCheck.NOT_APPLICABLE or applicability is None:
        return ""
    return f" ({applicability.basis})"


def _when(moment: datetime | None) -> str:
    """A time in the note as on every page: 24-hour clinic time with its zone and offset, ``2026-12-07 05:43 CST
    (UTC−06:00)`` (``shared/clinic_time.py``; the zone is the process's clinic zone, KETALINK_CLINIC_TIMEZONE)."""
    return format_clinic_time(moment, current_clinic_zone())


def _vitals_text(reading: VitalsReading) -> str:
    parts = []
    if reading.has_blood_pressure:
        parts.append(f"BP {reading.blood_pressure_text()}")
    if reading.heart_rate_per_min is not None:
        parts.append(f"HR {reading.heart_rate_per_min}/min")
    if reading.spo2_percent is not None:
        parts.append(f"SpO2 {reading.spo2_percent:g}%")
    if reading.respiratory_rate_per_min is not None:
        parts.append(f"RR {reading.respiratory_rate_per_min}/min")
    if reading.rass_score is not None:
        parts.append(f"RASS {reading.rass_score:+d}")
    return ", ".join(parts)


def _header(session: Session, order: ActiveOrder) -> str:
    lines = [
        "KETAMINE INFUSION PROCEDURE NOTE",
        f"Order {order.order_id}, series {order.series_id}, infusion {session.occurrence_number} of "
        f"{order.infusion_count}; session {session.session_id} ({session.status.value})",
        f"Indication: {order.indication or 'not stated in the order'}",
        f"Ordered dose: {order.dose_mg_per_kg:g} mg/kg = {order.dose_mg:g} mg IV over {order.duration_min} min "
        f"at {order.rate_ml_per_h:g} mL/h",
        f"Product: {order.product_text}",
        f"Dose calculation (as given in the order): {order.dose_calculation_text or 'not given'}",
    ]
    if order.signed_by:
        lines.append(f"Ordered by: {order.signed_by}")
    return "\n".join(lines)


def _times(session: Session) -> str:
    lines = ["Times:"]
    for transition in session.transitions:
        line = f"  {transition.to_status.value}: {_when(transition.at)} by {transition.by}"
        if transition.reason:
            line += f" (reason: {transition.reason})"
        lines.append(line)
    if len(lines) == 1:
        lines.append("  none recorded")
    override = session.check_in_override
    if override is not None:
        lines.append(f"  Check-in overridden by {override.overridden_by} at {_when(override.overridden_at)}: "
                     f"{override.reason} (set aside: {'; '.join(override.rules)})")
    return "\n".join(lines)


def _pre_check(session: Session) -> str:
    if not session.pre_checks:
        return ""
    lines = ["Pre-infusion check:"]
    for number, attempt in enumerate(session.pre_checks, start=1):
        confirmations = attempt.confirmations
        lines.append(
            f"  Check {number} at {_when(attempt.checked_at)} by {attempt.checked_by}: {_vitals_text(attempt.reading)}"
            f" — {attempt.result.outcome.value}"
        )
        confirmed = [
            ("ride home", confirmations.ride_home_confirmed),
            ("no new contraindication", confirmations.no_new_contraindication_since_intake),
            ("no new interacting drug", confirmations.no_new_interacting_drug_since_intake),
        ]
        if not confirmations.fasting_times_recorded:  # a check recorded before the fasting times: its yes/no
            confirmed.insert(0, ("fasting", bool(confirmations.fasting_confirmed)))
        lines.append(
            "    "
            + "; ".join(f"{what} {'confirmed' if ok else 'NOT confirmed'}" for what, ok in confirmed)
            + f"; pregnancy check {confirmations.pregnancy_check.value}"
            + _pregnancy_basis(attempt)
        )
        if confirmations.fasting_times_recorded:
            lines.append(f"    fasting: last solid food {_when(confirmations.last_solid_food_at)}, last clear fluids "
                         f"{_when(confirmations.last_clear_fluids_at)}")
        if confirmations.findings:
            lines.append(f"    findings: {confirmations.findings}")
        lines.append(f"    weight {attempt.order_weight_kg:g} kg at order, {attempt.latest_weight_kg:g} kg latest")
        result = attempt.result
        for reason in result.vital_sign_holds + result.recheck_reasons + result.confirmation_holds:
            lines.append(f"    hold: {reason}")
        if result.dose_recalculation:
            lines.append(f"    {result.dose_recalculation.describe()}")
        if attempt.override:
            lines.append(
                f"    override by {attempt.override.overridden_by} at {_when(attempt.override.overridden_at)}: "
                f"{attempt.override.reason}"
            )
    return "\n".join(lines)


def _administration(session: Session) -> str:
    record = session.administration
    if record is None:
        return "Administration: not recorded" if session.infusion_started_at else ""
    lines = [
        "Administration:",
        f"  Started {_when(record.started_at)}, stopped {_when(record.stopped_at)}; "
        f"pump running {record.running_min:.0f} min, paused {record.paused_min:.0f} min",
        "  Rates: " + "; ".join(f"{c.rate_ml_per_h:g} mL/h from {_when(c.at)}" for c in record.rate_changes),
    ]
    for pause in record.pauses:
        lines.append(f"  Paused {_when(pause.paused_at)} to {_when(pause.resumed_at)}: {pause.reason}")
    how = "entered" if record.totals_entered else "computed from pump rates and pauses"
    lines.append(
        f"  Given: {record.total_mg:.1f} mg in {record.total_ml:.1f} mL ({how}) at "
        f"{record.concentration_mg_per_ml:g} mg/mL; ordered {record.ordered_dose_mg:g} mg "
        f"({record.dose_deviation_percent:+.1f}%)"
    )
    if record.dose_discrepancy_reason:
        lines.append(f"  Dose difference reason: {record.dose_discrepancy_reason}")
    lines.append(f"  Ketamine lot {record.lot_number}, expiry {record.lot_expiry.isoformat()}")
    review = session.administration_review
    if review is None or not review.matches(record):
        lines.append("  Given versus ordered: NOT REVIEWED")
    else:
        lines.append(
            f"  Given versus ordered: given {review.given_mg:.1f} mg vs ordered {review.ordered_mg:g} mg "
            f"({review.deviation_percent:+.1f}%) reviewed by {review.reviewed_by} at {_when(review.reviewed_at)}"
            + (f": {review.comment}" if review.comment else "")
        )
    return "\n".join(lines)


def controlled_substance_section(session: Session) -> str:
    record = session.controlled_substance
    if record is None:
        return "Controlled substance: NOT RECORDED" if session.infusion_started_at else ""
    nurse = record.recorded_by.describe()
    lines = [
        "Controlled substance:",
        f"  {record.describe()}",
        f"  Waste witnessed at {_when(record.witnessed_at)} by {record.witness.describe()}; recorded by {nurse}"
        + (f"; method: {record.waste_method}" if record.waste_method else ""),
    ]
    return "\n".join(lines)


def _missed_readings(session: Session, as_of: datetime, settings: SessionSettings) -> str:
    missed = [due for due in due_vital_readings(session, as_of, settings) if due.state is DueState.MISSED]
    if not missed:
        return "Missed readings: none" if session.infusion_started_at else ""
    lines = [f"Missed readings: {len(missed)}"]
    lines += [f"  {_when(due.due_at)} ({due.phase.value}): no reading within {settings.vitals_grace_min} min"
              for due in missed]
    return "\n".join(lines)


def _unrated_cadss(session: Session, as_of: datetime, settings: SessionSettings) -> str:
    lines = [f"  {n.timepoint_text()}: not rated ({n.reason}; {n.recorded_by} at {_when(n.recorded_at)})"
             for n in session.cadss_not_rated]
    lines += [f"  {due.label} (due {_when(due.due_at)}): NOT RATED, no reason recorded"
              for due in due_cadss(session, as_of, settings)]
    return "\n".join(["Scheduled CADSS not rated:"] + lines) if lines else ""


def _vitals(session: Session) -> str:
    lines = [f"Vitals: {len(session.readings)} flowsheet readings"]
    if session.baseline_reading:
        lines.append(f"  Baseline (pre-infusion): {_vitals_text(session.baseline_reading)}")
    extremes = [  # (label, field, True for the highest / False for the lowest, unit)
        ("Peak systolic", "systolic_mmhg", True, " mmHg"),
        ("Peak diastolic", "diastolic_mmhg", True, " mmHg"),
        ("Peak heart rate", "heart_rate_per_min", True, "/min"),
        ("Lowest SpO2", "spo2_percent", False, "%"),
    ]
    for label, name, highest, unit in extremes:
        measured = sorted((r for r in session.readings if getattr(r, name) is not None), key=lambda r: getattr(r, name))
        if measured:
            extreme = measured[-1] if highest else measured[0]
            lines.append(f"  {label}: {getattr(extreme, name):g}{unit} at {_when(extreme.measured_at)}")
    for reading in session.readings:
        lines.append(f"  {_when(reading.measured_at)}: {_vitals_text(reading)}")
    return "\n".join(lines)


def _alerts_and_events(session: Session) -> str:
    lines = []
    for alert in session.alerts:
        action = (
            f"{alert.action.describe()} by {alert.action.taken_by} at {_when(alert.action.taken_at)}"
            if alert.action
            else "NO ACTION RECORDED"
        )
        lines.append(f"  Alert {_when(alert.raised_at)}: {'; '.join(alert.crossings)} — {action}")
    for change in session.pump_changes:
        source = f" (action on alert {change.alert_id})" if change.alert_id else ""
        lines.append(f"  Pump {_when(change.at)}: {change.describe()} by {change.recorded_by}{source}")
    for event in session.events:
        coded = f" [{event.code_display or event.code}]" if event.code else ""
        lines.append(f"  Event {_when(event.occurred_at)}{coded}: {event.text}")
    return "\n".join(["Alerts and events:"] + lines) if lines else "Alerts and events: none"


def _cadss(session: Session) -> str:
    if not session.cadss:
        return "CADSS: not rated"
    lines = ["CADSS:"]
    for assessment in session.cadss:
        lines.append(
            f"  {assessment.timepoint_text()} ({_when(assessment.assessed_at)}): {assessment.form.value} total "
            f"{assessment.total}/{assessment.form.max_total}"
        )
    return "\n".join(lines)


def _adverse_events(session: Session) -> str:
    if not session.adverse_events:
        return "Adverse events: none"
    lines = ["Adverse events:"]
    for event in session.adverse_events:
        line = (
            f"  {event.label()}: {event.severity.value}{', serious' if event.serious else ''}, onset "
            f"{_when(event.onset_at)}, outcome {event.outcome.value}"
        )
        if event.action_taken:
            line += f"; action: {event.action_taken}"
        lines.append(line)
    return "\n".join(lines)


def _discharge(session: Session) -> str:
    record = session.discharge_record
    if record is None:
        return ""
    lines = [
        f"Discharge criteria (assessed {_when(record.assessment.assessed_at)} by {record.assessment.assessed_by}):"
    ]
    for criterion in record.criteria:
        lines.append(f"  [{'met' if criterion.met else 'NOT MET'}] {criterion.name}: {criterion.detail}")
    if record.override_reason:
        lines.append(f"  Discharged despite failing criteria by {record.discharged_by}: {record.override_reason}")
    if record.assessment.instructions_given:
        acknowledged = "acknowledged by the patient" if record.assessment.instructions_acknowledged else \
            "NOT acknowledged"
        lines.append(f"Discharge instructions given ({acknowledged}):")
        lines += [f"  - {text}" for text in record.assessment.instructions_given]
        if record.contact:
            lines.append(f"  - Who to call: {record.contact}")
    call = record.follow_up
    if call is not None:
        line = f"Follow-up call: due {call.due_on.isoformat()}, owner {call.owner}: {call.status.value}"
        if call.outcome is not None:
            line += f", {call.outcome.value} ({call.completed_by} at {_when(call.completed_at)})"
            line += f": {call.outcome_note}" if call.outcome_note else ""
        lines.append(line)
    return "\n".join(lines)


def _safety(session: Session, when: Callable[[datetime | None], str]) -> str:
    lines = []
    for screen in session.cssrs_screens:
        endorsed = ", ".join(screen.endorsed()) or "none"
        lines.append(f"  C-SSRS screener at {when(screen.screened_at)} by {screen.screened_by}: risk "
                     f"{screen.risk.value} (yes to: {endorsed})")
    for review in session.suicide_risk_reviews:
        decision = "proceed" if review.decision is ReviewDecision.PROCEED else "do not proceed"
        alerts = "; ".join(f"{a.alert_id} ({a.level.value})" for a in review.alerts)
        lines.append(f"  Suicide-risk review by {review.reviewed_by} at {when(review.reviewed_at)}: {decision} — "
                     f"{review.note}" + (f" (open suicidality alerts reviewed: {alerts})" if alerts else ""))
    readiness = next((a.site_readiness for a in reversed(session.pre_checks) if a.site_readiness), None)
    if readiness is not None:
        items = "; ".join(f"{item_label(i.item).lower()} {'confirmed' if i.confirmed else 'NOT confirmed'}"
                          for i in readiness.items)
        lines.append(f"  Site readiness at {when(readiness.confirmed_at)} by {readiness.confirmed_by}: {items}")
    return "\n".join(["Safety checks before the infusion:", *lines]) if lines else ""
