"""A clinic day's controlled-substance reconciliation: for every infusion started that day (in the clinic's time
zone), the amounts drawn, given and wasted totalled per product and lot, and each discrepancy listed: an infusion
with no controlled-substance record, a record that does not add up or whose "given" no longer matches the
administration record (corrected afterwards), a lot that differs from the administration record's. What the
clinic compares with its controlled-substance register at the end of the day (CLINICAL.md: Schedule III)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, tzinfo
from typing import Any

from services.documentation.domain.session import Session

_TOLERANCE_MG = 0.1  # matches shown to one decimal


@dataclass(frozen=True)
class LotTotals:
    product: str
    product_code: str
    lot_number: str
    infusions: int
    drawn_mg: float
    given_mg: float
    wasted_mg: float


@dataclass(frozen=True)
class Discrepancy:
    session_id: str
    patient_id: str
    problem: str


@dataclass(frozen=True)
class DayReconciliation:
    day: date
    time_zone: str
    infusions: int
    lots: tuple[LotTotals, ...]
    discrepancies: tuple[Discrepancy, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "time_zone": self.time_zone, "infusions": self.infusions,
                "lots": [asdict(lot) for lot in self.lots],
                "discrepancies": [asdict(d) for d in self.discrepancies],
                "reconciled": not self.discrepancies}


def reconcile_day(sessions: list[Session], day: date, zone: tzinfo) -> DayReconciliation:
    """Totals and discrepancies of the infusions started on ``day`` in ``zone``."""
    started = sorted(
        (s for s in sessions if s.infusion_started_at and s.infusion_started_at.astimezone(zone).date() == day),
        key=lambda s: s.infusion_started_at,  # type: ignore[arg-type, return-value]
    )
    totals: dict[tuple[str, str, str], list[float]] = {}
    discrepancies: list[Discrepancy] = []
    for session in started:
        record = session.controlled_substance

        def problem(text: str, session: Session = session) -> None:
            discrepancies.append(Discrepancy(session.session_id, session.patient_id, text))

        if record is None:
            problem("no controlled-substance record for an infusion that was started")
            continue
        key = (record.product, record.product_code, record.lot_number)
        row = totals.setdefault(key, [0, 0.0, 0.0, 0.0])
        row[0] += 1
        row[1] += record.drawn_mg
        row[2] += record.given_mg
        row[3] += record.wasted_mg
        if abs(record.unaccounted_mg) > _TOLERANCE_MG:
            problem(f"drawn {record.drawn_mg:g} mg ≠ given + wasted ({record.unaccounted_mg:+g} mg unaccounted)")
        administration = session.administration
        if administration is None:
            problem("no administration record to compare the amount given with")
        else:
            if abs(round(administration.total_mg, 1) - record.given_mg) > _TOLERANCE_MG:
                problem(f"given {record.given_mg:g} mg but the administration record says "
                        f"{administration.total_mg:.1f} mg")
            if administration.lot_number.strip() != record.lot_number.strip():
                problem(f"lot {record.lot_number} but the administration record names lot "
                        f"{administration.lot_number}")
    lots = tuple(
        LotTotals(product, code, lot, int(row[0]), round(row[1], 2), round(row[2], 2), round(row[3], 2))
        for (product, code, lot), row in sorted(totals.items())
    )
    return DayReconciliation(day, str(zone), len(started), lots, tuple(discrepancies))
