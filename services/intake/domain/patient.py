"""PHI-minimal view of the patient and the referral that starts an intake.

Only id, age in whole years, administrative sex and a display name are kept: the birth date, address and other
identifiers stay in the EHR. The name is for display on screens only, never for logs or matching.
"""
from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass
from datetime import date, datetime

from shared.records import JsonRecord


class AdministrativeSex(enum.Enum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PatientSummary(JsonRecord):
    ehr_patient_id: str
    age_years: int | None
    sex: AdministrativeSex
    display_name: str | None


def age_in_years(birth_year: int, birth_month: int | None, birth_day: int | None, as_of: date) -> int:
    """Whole years on ``as_of``. With a partial birth date the latest possible birthday is assumed, so the age is
    never overstated (e.g. an 18-year-old is never shown older than they may be)."""
    month = birth_month or 12
    day = birth_day or _last_day(birth_year, month)
    had_birthday = (as_of.month, as_of.day) >= (month, day)
    return as_of.year - birth_year - (0 if had_birthday else 1)


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


class ReferralSource(enum.Enum):
    EHR = "ehr"  # a ServiceRequest from the EHR
    CLINICIAN = "clinician"  # started in Ketalink by a clinician


@dataclass(frozen=True)
class Referral(JsonRecord):
    patient_id: str
    source: ReferralSource
    requested_at: datetime
    requester_display: str | None = None
    reason_text: str | None = None
    ehr_service_request_id: str | None = None
    ehr_status: str | None = None
