"""Who did something, as the EHR knows them: a ``Person`` is a reference (``Practitioner/123``) with the name shown
beside it, and Ketalink itself is a ``Device``.

Why a reference and not a name: a name is not an identity (two clinicians share one; a typed name can be anyone's),
and an EHR links what a clinician did to their record only through a reference. Every author, signer, performer,
requester, recorder and witness Ketalink writes to the EHR is therefore ``Person.fhir_reference()``: the literal
reference with its display. Who the person is comes from the request's SMART context, never from a request body
(``shared.roles.acting_person``).

Records stored before people were references hold a plain name; ``Person.from_json_value`` reads such a name as
``Person(None, name)`` so old rows still load (they are written back to the EHR display-only, as they always were).

Ketalink's own acts (a rule that holds an order on an event, the series marked by the service) are the Ketalink
``Device``: one resource with a Ketalink identifier, sent in every message that names it (``build_message`` adds it)
under a fixed ``urn:uuid`` fullUrl, so the EHR's integration engine creates it once (update-as-create or conditional
create on the identifier, like every Ketalink resource) and resolves each reference to it in the same transaction.
A stand-alone Device, not a ``contained`` one: R4 allows a contained resource only for content that cannot be
identified on its own, and a Device the EHR keeps can be searched (``Provenance?agent=Device/<id>``).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, PrivateAttr

from shared.fhir.client import FhirNotFound
from shared.fhir.datatypes import FhirJson, identifier
from shared.records import JsonRecord, RecordError

#: What a reference to a person may name: a literal ``Type/id`` (relative) or the Ketalink Device's fullUrl.
ACTOR_TYPES = ("Practitioner", "PractitionerRole", "Patient", "RelatedPerson", "Organization", "Device")
CLINICIAN_TYPES = ("Practitioner", "PractitionerRole")  # who may act in a clinician's request
_LITERAL = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})$")
MAX_DISPLAY = 200

SOFTWARE_KIND = "software"  # the Ketalink identifier kind of the Device
KETALINK_DEVICE_VALUE = "ketalink"
KETALINK_DEVICE_URL = f"urn:uuid:{uuid.uuid5(uuid.UUID('3c4a8d1e-52b7-4f09-8e6a-7d2b9c0f1a34'), 'ketalink-device')}"


@dataclass(frozen=True)
class Person(JsonRecord):
    """A clinician (``Practitioner/<id>`` or ``PractitionerRole/<id>``), the patient, or Ketalink, by reference,
    with the name shown for them. ``reference`` is None only for a record stored before people were references, or
    where SMART is off (local runs: nobody signed in, the typed name is all there is)."""

    reference: str | None
    display: str

    def __post_init__(self) -> None:
        if self.reference is not None and not valid_reference(self.reference):
            raise ValueError(f"not a reference to a person: {self.reference[:80]!r}")
        if not isinstance(self.display, str) or not self.display.strip() or len(self.display) > MAX_DISPLAY:
            raise ValueError(f"a person's display is 1-{MAX_DISPLAY} characters")

    @classmethod
    def from_json_value(cls, data: Any, path: str) -> Person | None:
        """A stored value that is not an object: a plain name from before people were references (an empty name,
        as in a note not yet signed, is nobody)."""
        if isinstance(data, str):
            return cls(None, data.strip()) if data.strip() else None
        raise RecordError(path, "expected a person (reference and display) or a name")

    @classmethod
    def from_fhir(cls, reference: Any) -> Person | None:
        """A person from a FHIR Reference read from a message (None when it names nobody)."""
        if not isinstance(reference, dict):
            return None
        literal = reference.get("reference")
        display = reference.get("display")
        literal = literal if isinstance(literal, str) and valid_reference(literal) else None
        display = display.strip() if isinstance(display, str) and display.strip() else literal
        return cls(literal, display[:MAX_DISPLAY]) if display else None

    @property
    def resource_type(self) -> str | None:
        """``Practitioner`` for ``Practitioner/123``; ``Device`` for Ketalink; None without a reference."""
        if self.reference == KETALINK_DEVICE_URL:
            return "Device"
        found = _LITERAL.match(self.reference or "")
        return found.group("type") if found else None

    def fhir_reference(self) -> FhirJson:
        """The FHIR Reference: the literal reference (when known) and the display."""
        found: FhirJson = {"reference": self.reference} if self.reference else {}
        found["display"] = self.display
        return found

    def describe(self) -> str:
        """The display with the reference, for a note's text ("Grace Ng, RN (Practitioner/12)")."""
        return f"{self.display} ({self.reference})" if self.reference and self.reference != KETALINK_DEVICE_URL \
            else self.display

    def same_as(self, other: Person | None) -> bool:
        """The same person: the same reference, or (for records without one) the same name."""
        if other is None:
            return False
        if self.reference and other.reference:
            return self.reference == other.reference
        return self.display.strip().casefold() == other.display.strip().casefold()

    def __str__(self) -> str:
        return self.display


def valid_reference(text: str) -> bool:
    found = _LITERAL.match(text)
    return text == KETALINK_DEVICE_URL or bool(found and found.group("type") in ACTOR_TYPES)


def ketalink(display: str = "Ketalink") -> Person:
    """Ketalink itself (the Device), as the actor of what a service does on its own; ``display`` says which part
    ("Ketalink orders service")."""
    return Person(KETALINK_DEVICE_URL, display)


def ketalink_device() -> FhirJson:
    """The Device resource that stands for Ketalink in the EHR (R4 Device: identifier, status, deviceName, type)."""
    return {
        "resourceType": "Device",
        "identifier": [identifier(SOFTWARE_KIND, KETALINK_DEVICE_VALUE)],
        "status": "active",
        "deviceName": [{"name": "Ketalink", "type": "user-friendly-name"}],
        "type": {"text": "Clinical software (ketamine infusion clinic workflow)"},
    }


def name_of(resource: FhirJson) -> str | None:
    """The display name of a Practitioner, Patient or RelatedPerson resource: the official name's text, else its
    given and family names; a PractitionerRole's practitioner display. None when it has none."""
    if resource.get("resourceType") == "PractitionerRole":
        practitioner = resource.get("practitioner")
        display = practitioner.get("display") if isinstance(practitioner, dict) else None
        return display if isinstance(display, str) and display.strip() else None
    names = resource.get("name") or []
    if isinstance(names, dict):
        names = [names]
    if not isinstance(names, list) or not names:
        return None
    name = next((n for n in names if isinstance(n, dict) and n.get("use") == "official"), names[0])
    if not isinstance(name, dict):
        return None
    given = [part for part in name.get("given") or [] if isinstance(part, str)]
    family = name.get("family") if isinstance(name.get("family"), str) else ""
    text = name.get("text") if isinstance(name.get("text"), str) else ""
    return (text or " ".join([*given, family])).strip() or None


class UnknownClinician(ValueError):
    """A reference that names no active Practitioner (or PractitionerRole) of the EHR; the message says why."""


def clinician_in_ehr(reference: str, ehr: Any) -> Person:
    """The clinician ``reference`` names (``Practitioner/<id>`` or ``PractitionerRole/<id>``), read with the EHR
    client ``ehr`` (the service's own), with the name the EHR gives. ``UnknownClinician`` for a malformed
    reference, one the EHR does not have, or an inactive one; ``FhirUnavailable``/``FhirError`` pass on (the EHR
    could not say)."""
    reference = reference.strip()
    resource_type, _, resource_id = reference.partition("/")
    if not valid_reference(reference) or resource_type not in CLINICIAN_TYPES:
        raise UnknownClinician('expected "Practitioner/<id>" or "PractitionerRole/<id>"')
    try:
        resource = ehr.read(resource_type, resource_id)
    except FhirNotFound:
        raise UnknownClinician(f"the EHR has no {reference}") from None
    if resource.get("resourceType") != resource_type or resource.get("active") is False:
        raise UnknownClinician(f"{reference} is not an active {resource_type} in the EHR")
    return Person(reference, (name_of(resource) or reference)[:MAX_DISPLAY])


class ActedRequest(BaseModel):
    """Mixin for a request body that records an act: who acts is set on it from the request's SMART context
    (``act_as``, by the API view or the page: ``shared.roles.acting_person``), never read from its fields; a body
    cannot carry it (a private attribute, not a field). The service layer reads ``actor``."""

    _actor: Person | None = PrivateAttr(None)

    def act_as(self, person: Person) -> None:
        self._actor = person

    @property
    def actor(self) -> Person:
        if self._actor is None:  # a view that forgot to say who acts: fail loudly, never fall back to a typed name
            raise RuntimeError(f"{type(self).__name__}: who acts was not set from the request's context")
        return self._actor
