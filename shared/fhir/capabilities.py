"""What a service needs of the EHR's FHIR API, checked against the EHR's CapabilityStatement (``GET [base]/metadata``)
when the service starts.

Each service declares its needs next to its reads (``EHR_NEEDS`` in its ``ehr_reads.py``; ``PAGE_NEEDS`` below for
the pages' banner and roles, which every service shows). A need the EHR does not list is logged as a WARNING that
names it, so whoever connects Ketalink to an EHR learns on the first start, not from a page that quietly shows
nothing. The service starts anyway: a CapabilityStatement may under-state what a server does, and each read fails
safe on its own. An EHR that cannot be read at start-up is warned about and never delays the start: the check runs
in a thread of its own."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from shared.fhir.client import FhirClient, FhirUnavailable
from shared.fhir.datatypes import FhirJson

log = logging.getLogger(__name__)

READ = "read"
SEARCH = "search-type"
# Search result parameters (R4 search.html): they shape the answer and a CapabilityStatement does not list them;
# a ``_sort`` needs its sort parameter listed, so the needs name that one (e.g. ``date``).
RESULT_PARAMETERS = frozenset({"_sort", "_count", "_include", "_revinclude", "_summary", "_total", "_elements",
                               "_contained", "_containedType"})


@dataclass(frozen=True)
class EhrNeed:
    """One interaction on one resource type (R4 TypeRestfulInteraction: ``read``, ``search-type``), with the search
    parameters it uses, and what the service uses it for (named in the warning)."""

    resource_type: str
    interaction: str
    search_parameters: tuple[str, ...] = ()
    purpose: str = ""


def read(resource_type: str, purpose: str) -> EhrNeed:
    return EhrNeed(resource_type, READ, (), purpose)


def search(resource_type: str, parameters: Iterable[str], purpose: str) -> EhrNeed:
    return EhrNeed(resource_type, SEARCH, tuple(p for p in parameters if p not in RESULT_PARAMETERS), purpose)


# The pages' own reads, made with the signed-in clinician's token in every service: the banner (shared/ui/banner.py)
# and the clinician's name and roles (shared/ui/clinician.py, shared/roles.py).
PAGE_NEEDS = (
    read("Patient", "the banner"),
    search("Observation", ("subject", "code", "date", "status"), "the banner's latest weight"),
    search("AllergyIntolerance", ("patient",), "the banner's allergies"),
    read("Practitioner", "the signed-in clinician's name"),
    read("PractitionerRole", "the signed-in clinician's role"),
    search("PractitionerRole", ("practitioner",), "the signed-in clinician's roles"),
)


def missing_capabilities(statement: FhirJson, needs: Iterable[EhrNeed]) -> list[str]:
    """Each need the CapabilityStatement does not list, one line per missing interaction or search parameter, in
    the order of ``needs`` (repeats once). ValueError when ``statement`` is not a CapabilityStatement."""
    if not isinstance(statement, dict) or statement.get("resourceType") != "CapabilityStatement":
        raise ValueError("the EHR's metadata is not a CapabilityStatement")
    servers = [rest for rest in statement.get("rest") or [] if isinstance(rest, dict) and rest.get("mode") == "server"]
    resources = {resource.get("type"): resource for rest in servers for resource in rest.get("resource") or []
                 if isinstance(resource, dict)}
    every_type_parameters = _names(rest.get("searchParam") for rest in servers)
    gaps: list[str] = []
    for need in needs:
        resource = resources.get(need.resource_type)
        if resource is None:
            gaps.append(f"{need.resource_type} is not listed: {need.interaction} is needed for {need.purpose}")
            continue
        interactions = {i.get("code") for i in resource.get("interaction") or [] if isinstance(i, dict)}
        if need.interaction not in interactions:
            gaps.append(f"{need.resource_type} {need.interaction} is not listed: needed for {need.purpose}")
        listed = every_type_parameters | _names([resource.get("searchParam")])
        gaps += [f"{need.resource_type} search parameter {name} is not listed: needed for {need.purpose}"
                 for name in need.search_parameters if name not in listed]
    return list(dict.fromkeys(gaps))


def warn_about_missing_capabilities(ehr: FhirClient, needs: Iterable[EhrNeed], *, attempts: int = 1,
                                    wait_s: float = 0.0) -> list[str] | None:
    """Read the EHR's CapabilityStatement and log a WARNING per need it does not list; the gaps, or None (and one
    WARNING) when the statement could not be read. An EHR that is not reachable yet (it may be starting beside the
    service) is asked again, up to ``attempts`` times ``wait_s`` apart. Never raises: nothing here may stop a
    service."""
    statement: FhirJson | None = None
    failure = ""
    for attempt in range(1, attempts + 1):
        try:
            statement = ehr.capabilities()
            break
        except FhirUnavailable as error:
            failure = type(error).__name__
            if attempt < attempts:
                time.sleep(wait_s)
        except Exception as error:  # noqa: BLE001 - refused, not JSON, not a CapabilityStatement: all only warn
            failure = type(error).__name__
            break
    try:
        gaps = missing_capabilities(statement, needs) if statement is not None else None
    except Exception as error:  # noqa: BLE001 - a statement of the wrong shape only warns
        failure, gaps = type(error).__name__, None
    if gaps is None:
        log.warning("the EHR's CapabilityStatement could not be read; what this service needs of the EHR is "
                    "unchecked", extra={"ehr": ehr.base_url, "error": failure})
        return None
    for gap in gaps:
        log.warning("the EHR's CapabilityStatement does not list something this service needs",
                    extra={"ehr": ehr.base_url, "ehr_need": gap})
    if not gaps:
        log.info("the EHR's CapabilityStatement lists everything this service needs", extra={"ehr": ehr.base_url})
    return gaps


def check_in_background(ehr: FhirClient, needs: Iterable[EhrNeed], *, attempts: int = 12,
                        wait_s: float = 5.0) -> threading.Thread:
    """``warn_about_missing_capabilities`` in a daemon thread, so a slow or absent EHR never delays the start; an
    EHR still starting (the local stack starts everything at once) is given about a minute."""
    thread = threading.Thread(target=warn_about_missing_capabilities, args=(ehr, tuple(needs)),
                              kwargs={"attempts": attempts, "wait_s": wait_s}, name="ehr-capabilities", daemon=True)
    thread.start()
    return thread


def _names(search_params: Iterable[object]) -> set[str]:
    return {str(p["name"]) for params in search_params if isinstance(params, list)
            for p in params if isinstance(p, dict) and p.get("name")}
