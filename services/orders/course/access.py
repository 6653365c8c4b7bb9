"""SMART access to the treatment course, shared by its API and its page: which EHR patient a course belongs to (the
patient source of ``@requires`` for the operations on one course), who may take the de-identified outcomes export,
and the service layer the views act through (``bootstrap.install_course`` installs it on the app under
``COURSE_SERVICE``).

The outcomes export spans every patient's course, so a patient-bound context (a launch from one patient's chart)
is refused it (``shared/smart/access.py``). User-level data scopes are not enough either: a clinician may see
their patients' records in the EHR, but a clinic-wide data set is for whoever the clinic names for it. The export
needs an explicit grant, from the EHR, either a role of the user's (their ``PractitionerRole.code``, read as for
the prescriber check in ``shared/roles.py``) or a scope in the token (for a backend client the EHR registered
for the purpose). Settings ``ORDERS_COURSE_EXPORT_*``, validated at start-up.

A patient's questionnaire link (``patient_link_maker``) answers for a clinician: the link asks a patient with
treatment-resistant depression about suicide, and its answers raise the course's alerts. Scopes alone
(QuestionnaireResponse.c, Observation.c) let any user the EHR launches into the chart make one, IT support
included; so a clinical role is needed too, from the EHR's PractitionerRole (``ORDERS_COURSE_PATIENT_LINK_ROLE_CODES``,
default nurse, physician and nurse practitioner) or a token scope granted for it (``ORDERS_COURSE_PATIENT_LINK_SCOPES``,
e.g. for a backend client; default none). HZ-178."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask

from services.orders.course.handlers import CourseService
from shared.config import app_settings, install_app_settings, load_settings
from shared.roles import (
    PRACTITIONER_ROLE_SYSTEM, ROLE_DOCTOR, ROLE_NURSE, SNOMED_NURSE_PRACTITIONER, SNOMED_PHYSICIAN,
    SNOMED_REGISTERED_NURSE, missing_scope_and_role,
)
from shared.smart.access import SmartAuthError, SmartContext
from shared.web import app_service

COURSE_SERVICE = "ketalink.orders.course"  # app.extensions key of the CourseService
EXPORT_ACCESS = "ketalink.orders.course.export_access"  # app.extensions key of ExportAccessSettings
ROLE_RESEARCHER = f"{PRACTITIONER_ROLE_SYSTEM}|researcher"  # FHIR R4 practitioner-role value set
PATIENT_LINK_ACCESS = "ketalink.orders.course.patient_link_access"  # app.extensions key of PatientLinkAccessSettings
#: The clinical roles that send a patient a questionnaire: HL7 practitioner-role nurse and doctor, SNOMED CT
#: registered nurse, physician and nurse practitioner (the suite board's clinical roles too).
DEFAULT_PATIENT_LINK_ROLE_CODES = (ROLE_NURSE, ROLE_DOCTOR, SNOMED_REGISTERED_NURSE, SNOMED_PHYSICIAN,
                                   SNOMED_NURSE_PRACTITIONER)


def course_service() -> CourseService:
    """The current app's course service layer."""
    return app_service(COURSE_SERVICE, CourseService)


def course_patient(view_args: dict[str, Any]) -> str | None:
    """The patient of the course in the URL; None for an unknown course (the view then answers 404, and a
    patient-scoped token is refused first because the request names no patient)."""
    return course_service().course_patient(view_args["course_id"])


@dataclass(frozen=True)
class ExportAccessSettings:
    """``ORDERS_COURSE_EXPORT_ROLE_CODES`` (``system|code`` of ``PractitionerRole.code``, comma-separated; default
    HL7 practitioner-role ``researcher``) and ``ORDERS_COURSE_EXPORT_SCOPES`` (token scopes that grant the export,
    e.g. one the EHR gives a registered analytics client; default none)."""

    export_role_codes: tuple[str, ...] = (ROLE_RESEARCHER,)
    export_scopes: tuple[str, ...] = ()

    def validate(self) -> None:
        for code in self.export_role_codes:
            system, bar, value = code.partition("|")
            if not bar or not system.startswith(("http://", "https://", "urn:")) or not value or "|" in value:
                raise ValueError(f"export_role_codes: {code!r} is not system|code (system an http(s) or urn URI)")
        for scope in self.export_scopes:
            if not scope or any(ch.isspace() for ch in scope):
                raise ValueError(f"export_scopes: {scope!r} is not a scope")


def _check_role_codes(name: str, codes: tuple[str, ...]) -> None:
    for code in codes:
        system, bar, value = code.partition("|")
        if not bar or not system.startswith(("http://", "https://", "urn:")) or not value or "|" in value:
            raise ValueError(f"{name}: {code!r} is not system|code (system an http(s) or urn URI)")


def _check_scopes(name: str, scopes: tuple[str, ...]) -> None:
    for scope in scopes:
        if not scope or any(ch.isspace() for ch in scope):
            raise ValueError(f"{name}: {scope!r} is not a scope")


@dataclass(frozen=True)
class PatientLinkAccessSettings:
    """``ORDERS_COURSE_PATIENT_LINK_ROLE_CODES`` (``system|code`` of ``PractitionerRole.code``, comma-separated;
    default ``DEFAULT_PATIENT_LINK_ROLE_CODES``) and ``ORDERS_COURSE_PATIENT_LINK_SCOPES`` (token scopes that let
    the bearer make links; default none). Both empty would let nobody make a link: refused at start-up."""

    patient_link_role_codes: tuple[str, ...] = DEFAULT_PATIENT_LINK_ROLE_CODES
    patient_link_scopes: tuple[str, ...] = ()

    def validate(self) -> None:
        _check_role_codes("patient_link_role_codes", self.patient_link_role_codes)
        _check_scopes("patient_link_scopes", self.patient_link_scopes)
        if not self.patient_link_role_codes and not self.patient_link_scopes:
            raise ValueError("patient_link_role_codes and patient_link_scopes are both empty: nobody could make a "
                             "patient's questionnaire link")


def install_patient_link_access(app: Flask,
                                settings: PatientLinkAccessSettings | None = None) -> PatientLinkAccessSettings:
    """Load ``ORDERS_COURSE_PATIENT_LINK_*`` at start-up (a bad value stops the process naming it)."""
    return install_app_settings(app, PatientLinkAccessSettings, "ORDERS_COURSE_", PATIENT_LINK_ACCESS, settings)


def missing_link_role(context: SmartContext | None) -> str | None:
    """None when ``context`` may make a patient link (or SMART is off); else the roles the EHR gives the user, in
    words, for the screen to say why it offers no form (the post is refused by ``patient_link_maker`` anyway)."""
    if context is None:
        return None
    settings = app_settings(PATIENT_LINK_ACCESS, lambda: load_settings(PatientLinkAccessSettings, "ORDERS_COURSE_"))
    roles = missing_scope_and_role(context, settings.patient_link_scopes, settings.patient_link_role_codes)
    return None if roles is None else roles.describe()


def patient_link_maker(context: SmartContext | None) -> None:
    """``@guarded_by(patient_link_maker)``: refuse (403, nothing stored) unless the EHR gives the signed-in user a
    clinical role the clinic names for links or the token carries a scope granted for it. No context only where
    SMART is off (local runs): nobody to check."""
    roles = missing_link_role(context)
    if roles is None:
        return
    raise SmartAuthError(403, "A patient's questionnaire link is sent by a clinician: it needs a clinical role the "
                              "clinic names for it (ORDERS_COURSE_PATIENT_LINK_ROLE_CODES) or a token scope granted "
                              f"for it (ORDERS_COURSE_PATIENT_LINK_SCOPES). The EHR gives you: {roles}. "
                              "No link was made.",
                         oauth_error="insufficient_scope", title="Clinical role needed", page="not-link-maker")


def install_export_access(app: Flask, settings: ExportAccessSettings | None = None) -> ExportAccessSettings:
    """Load ``ORDERS_COURSE_EXPORT_*`` at start-up (a bad value stops the process naming it)."""
    return install_app_settings(app, ExportAccessSettings, "ORDERS_COURSE_", EXPORT_ACCESS, settings)


def outcomes_exporter(context: SmartContext | None) -> None:
    """``@guarded_by(outcomes_exporter)``: refuse (403) unless the token carries an export scope or the EHR gives
    the signed-in user an export role. No context only where SMART is off (local runs): nobody to check."""
    if context is None:
        return
    settings = app_settings(EXPORT_ACCESS, lambda: load_settings(ExportAccessSettings, "ORDERS_COURSE_"))
    roles = missing_scope_and_role(context, settings.export_scopes, settings.export_role_codes)
    if roles is None:
        return
    raise SmartAuthError(403, "The de-identified outcomes export covers every patient of the clinic: it needs a role "
                              "the clinic names for it (ORDERS_COURSE_EXPORT_ROLE_CODES) or a token scope granted for "
                              f"it (ORDERS_COURSE_EXPORT_SCOPES). The EHR gives you: {roles.describe()}.",
                         oauth_error="insufficient_scope", title="Export role needed", page="not-exporter")
