"""What was given and who accounts for it: the administration record (checked against the chart and the order), the
review of given versus ordered, and the controlled-substance record."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.documentation.domain.administration import AdministrationRecord, complete_against_order
from services.documentation.domain.administration_review import review_administration
from services.documentation.domain.controlled_substance import (
    ControlledSubstanceRecord,
    check_controlled_substance,
    check_product_is_the_ordered_one,
)
from services.documentation.domain.checks import require_aware, require_person
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed, input_field
from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.pump import (
    SAME_MOMENT,
    missing_from_record,
)
from services.documentation.domain.plausibility import require_in_session
from services.documentation.domain.settings import SessionSettings

from services.documentation.domain.session.model import (
    Session, SessionStatus, require_order, require_status,
)
from shared.people import Person


def record_administration(
    session: Session, order: ActiveOrder, administration: AdministrationRecord, settings: SessionSettings
) -> Session:
    """Record (or correct, until discharge) what was given, checked against the ordered dose."""
    allowed = (SessionStatus.RECOVERING, SessionStatus.ABORTED)
    require_status(session, allowed, "record the administration for")
    require_in_session("started_at", administration.started_at, session.time_floor(settings))  # issue 13 defect 24
    if session.infusion_started_at is None:
        raise TransitionNotAllowed("no infusion was started in this session")
    _require_within_the_charted_infusion(session, administration)
    require_order(session, order, must_be_active=False)
    charted = session.charted_infusion(order, administration.stopped_at)
    if charted is not None:
        missing = missing_from_record(administration, charted)
        if missing:
            field, _message = missing[0]
            raise DocumentationInputError(
                field, "; ".join(message for _field, message in missing) + " (charted changes flow into the record)"
            )
    with input_field("administration"):
        completed = complete_against_order(administration, order, settings)
    review = session.administration_review
    if review is not None and not review.matches(completed):
        review = None  # the totals changed: given versus ordered must be reviewed again
    return replace(session, administration=completed, administration_review=review)


def _require_within_the_charted_infusion(session: Session, administration: AdministrationRecord) -> None:
    """The pump ran between the infusion's start and end as charted (within a typed minute): a record starting
    before the start or stopping after the end claims minutes, hence millilitres and milligrams, that the chart
    says were never given."""
    started_at, ended_at = session.infusion_started_at, session.infusion_ended_at
    if started_at is not None and administration.started_at < started_at - SAME_MOMENT:
        raise DocumentationInputError("started_at", f"before the infusion was started on the chart "
                                                    f"({started_at.isoformat(timespec='minutes')})")
    if ended_at is not None and administration.stopped_at > ended_at + SAME_MOMENT:
        raise DocumentationInputError("stopped_at", f"after the infusion ended on the chart "
                                                    f"({ended_at.isoformat(timespec='minutes')})")


def review_given_against_ordered(
    session: Session, by: Person, at: datetime, comment: str, settings: SessionSettings
) -> Session:
    """Record that a clinician reviewed the dose given against the order (discharge waits for it)."""
    require_status(session, (SessionStatus.RECOVERING, SessionStatus.ABORTED), "review the administration of")
    require_person(by, "by")
    require_aware(at, "at")
    review = review_administration(session.administration, by, at, comment,
                                   settings.administered_dose_tolerance_percent)
    return replace(session, administration_review=review)


def record_controlled_substance(
    session: Session, record: ControlledSubstanceRecord, settings: SessionSettings, order: ActiveOrder | None = None,
    note_signed: bool = False,
) -> Session:
    """The controlled-substance record of the infusion (after the administration record, until the note is
    signed: recovering, discharged or aborted sessions); recording it again corrects it. With the ``order``, the
    product must be the one it is drawn from. ``note_signed``: the session's note is signed, which quotes the
    record; a correction then would overwrite the legal record of a Schedule III drug with no trail (amend the
    note instead)."""
    allowed = (SessionStatus.RECOVERING, SessionStatus.DISCHARGED, SessionStatus.ABORTED)
    require_status(session, allowed, "record the controlled substance for")
    if note_signed:
        raise TransitionNotAllowed("the procedure note quoting the controlled-substance record is signed: the record "
                                   "can no longer be changed (amend the note to correct it)")
    started_at = session.infusion_started_at
    if started_at is None:
        raise TransitionNotAllowed("no infusion was started in this session: nothing was drawn for it")
    if order is not None:
        check_product_is_the_ordered_one(record, order.product_strength_mg_per_ml, order.product_rxnorm_code,
                                         order.product_text)
    administration = session.administration
    check_controlled_substance(
        record, started_at, administration.total_mg if administration else None,
        administration.lot_number if administration else None, settings.controlled_substance_tolerance_mg,
    )
    return replace(session, controlled_substance=record)
