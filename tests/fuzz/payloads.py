"""Hypothesis strategies for records the services must survive on their Kafka topics: bytes that are not JSON,
JSON that is not a FHIR message, messages with event codes nobody handles, and, most of all, realistic messages of
the event codes the services do handle with their focus resources broken (a field removed, nulled, of another
type, a huge or exotic string, a reference to the wrong patient or to nothing).

Realistic templates come first (``message_templates``), shaped as docs/contracts.md says; the mutations start from
them, so the records get past the envelope checks into the handlers' own reading of the resources."""
from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from deploy.ehr_sandbox.ehr_events import EHR_ENDPOINT, referral, weight
from shared.events.topics import DOCUMENTATION_EVENTS, EHR_EVENTS, EHR_RESPONSES, INTAKE_EVENTS, ORDERS_EVENTS
from shared.fhir.codes import HEART_RATE, MESSAGE_EVENTS, OBSERVATION_CATEGORY
from shared.fhir.datatypes import coding, identifier, instant, quantity, reference, reference_by_identifier
from shared.fhir.messaging import ResponseCode, build_message, build_response, parse_message
from tests.integration.orders.support import cpoe_medication_request, eligibility_message

PHQ9_ITEM_CODES = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8")
NOBODY = "no-such-patient-0000"  # a patient id the EHR does not know


@dataclass(frozen=True)
class Template:
    """A valid message and the topic it travels on."""

    topic: str
    message: dict[str, Any]


def message_templates(patient_id: str, order_message: dict[str, Any]) -> dict[str, Template]:
    """One valid message per event code the services read, for ``patient_id`` (a seeded patient, so handlers
    reach the EHR and their domain checks). ``order_message`` is an ``order-signed`` message as orders sends it."""
    now = datetime.now(timezone.utc)
    order_id = _ketalink_identifier(order_message, "MedicationRequest", "order")
    series_id = _ketalink_identifier(order_message, "CarePlan", "series")
    ehr = {
        "referral-requested": build_message("referral-requested", EHR_ENDPOINT,
                                            [{**referral(patient_id), "id": "fuzz-referral"}], with_provenance=False),
        "cpoe-order-placed": build_message("cpoe-order-placed", EHR_ENDPOINT,
                                           [{**cpoe_medication_request(patient_id, dose_mg=34), "id": "fuzz-cpoe"}],
                                           with_provenance=False),
        "weight-recorded": build_message("weight-recorded", EHR_ENDPOINT,
                                         [{**weight(patient_id, 70.0), "id": "fuzz-weight"}], with_provenance=False),
        "vitals-recorded": build_message("vitals-recorded", EHR_ENDPOINT, [_heart_rate(patient_id, now)],
                                         with_provenance=False),
        "questionnaire-response-received": build_message("questionnaire-response-received", EHR_ENDPOINT,
                                                         [_phq9(patient_id, now)], with_provenance=False),
    }
    templates = {code: Template(EHR_EVENTS, message) for code, message in ehr.items()}
    templates["intake-eligibility-decided"] = Template(INTAKE_EVENTS, eligibility_message(patient_id))
    templates["order-signed"] = Template(ORDERS_EVENTS, order_message)
    templates["session-completed"] = Template(DOCUMENTATION_EVENTS, build_message(
        "session-completed", "urn:ketalink:documentation", _session_completed_focus(patient_id, order_id, series_id,
                                                                                    now)))
    answered = parse_message(order_message)
    templates["ehr-response"] = Template(EHR_RESPONSES, build_response(answered, ResponseCode.OK, EHR_ENDPOINT))
    return templates


def _ketalink_identifier(message: dict[str, Any], resource_type: str, kind: str) -> str:
    resource = parse_message(message).first(resource_type) or {}
    system = identifier(kind, "")["system"]
    return next(i["value"] for i in resource.get("identifier", []) if i.get("system") == system)


def _heart_rate(patient_id: str, at: datetime) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": "fuzz-heart-rate",
            "identifier": [{"system": "https://ehr-sandbox.example.org/fhir/identifier/device-reading",
                            "value": "fuzz-hr-1"}],
            "status": "final", "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
            "code": {"coding": [coding(HEART_RATE)]}, "subject": reference("Patient", patient_id),
            "effectiveDateTime": instant(at - timedelta(minutes=5)), "valueQuantity": quantity(84, "/min")}


def _phq9(patient_id: str, at: datetime) -> dict[str, Any]:
    items = (2, 2, 1, 1, 1, 1, 1, 1, 0)
    return {"resourceType": "QuestionnaireResponse", "id": "fuzz-phq9", "status": "completed",
            "questionnaire": "http://loinc.org/q/44249-1", "subject": reference("Patient", patient_id),
            "authored": instant(at - timedelta(hours=1)),
            "item": [{"linkId": code, "answer": [{"valueInteger": value}]} for code, value in zip(PHQ9_ITEM_CODES,
                                                                                                 items)]}


def _session_completed_focus(patient_id: str, order_id: str, series_id: str, now: datetime) -> list[dict[str, Any]]:
    """Encounter, Procedure and MedicationAdministration of infusion 1, as documentation sends them."""
    session_id = f"{order_id}-1"
    started, ended = now - timedelta(hours=2), now - timedelta(hours=1, minutes=20)
    subject = reference("Patient", patient_id)
    return [
        {"resourceType": "Encounter", "identifier": [identifier("infusion-session", session_id)],
         "status": "finished", "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                         "code": "AMB"},
         "subject": subject, "period": {"start": instant(started), "end": instant(ended)},
         "basedOn": [reference_by_identifier("CarePlan", "series", series_id)]},
        {"resourceType": "Procedure", "identifier": [identifier("infusion", session_id)], "status": "completed",
         "subject": subject, "performedPeriod": {"start": instant(started), "end": instant(ended)},
         "encounter": reference_by_identifier("Encounter", "infusion-session", session_id)},
        {"resourceType": "MedicationAdministration",
         "identifier": [identifier("infusion-administration", session_id)], "status": "completed",
         "medicationCodeableConcept": {"text": "ketamine"}, "subject": subject,
         "effectivePeriod": {"start": instant(started), "end": instant(ended)},
         "request": reference_by_identifier("MedicationRequest", "order", order_id),
         "dosage": {"dose": quantity(34, "mg")}},
    ]


# --- the strategies ------------------------------------------------------------------------------------------------
HUGE = 200_000  # characters: far past any field a clinic would fill
EXOTIC_TEXT = st.text(st.characters(codec="utf-8"), min_size=0, max_size=40)  # any code point, surrogates excluded
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                         st.floats(allow_nan=False, allow_infinity=False), EXOTIC_TEXT)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(EXOTIC_TEXT, inner, max_size=4)), max_leaves=12)
WRONG_PATIENT_REFERENCES = st.sampled_from([
    {"reference": f"Patient/{NOBODY}"}, {"reference": "Group/1"}, {"reference": "Patient/"},
    {"reference": "Patient/../Observation/x"}, {"reference": "Patient/a?b=c"}, {"reference": "Patient/a b"},
    {"reference": "#contained"}, {"display": "a name, no reference"}, {"reference": ""},
    {"identifier": {"system": "urn:x", "value": "y"}}, {"reference": "Patient/" + "9" * 300},
])
REPLACEMENTS = st.one_of(
    st.none(), JSON_SCALARS, st.lists(JSON_SCALARS, max_size=3), st.dictionaries(EXOTIC_TEXT, JSON_SCALARS,
                                                                                 max_size=3),
    st.just("x" * HUGE), st.just("Ω≈ç√∫\u0000\u202e\U0001F489" * 20), WRONG_PATIENT_REFERENCES,
)


def raw_bytes() -> st.SearchStrategy[bytes]:
    return st.binary(max_size=300)


def not_json_text() -> st.SearchStrategy[bytes]:
    return st.text(max_size=200).filter(_not_json).map(lambda text: text.encode("utf-8", "surrogatepass"))


def json_not_a_bundle() -> st.SearchStrategy[bytes]:
    return JSON_VALUES.filter(lambda value: not (isinstance(value, dict) and value.get("resourceType") == "Bundle")
                              ).map(_encode)


def bundles_not_messages(templates: dict[str, Template]) -> st.SearchStrategy[bytes]:
    """Bundles of another type, with no entries, or with the MessageHeader missing or not first."""
    template = next(iter(templates.values())).message

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        bundle = copy.deepcopy(template)
        damage = draw(st.sampled_from(("type", "no-entries", "header-last", "no-header", "entry-not-object")))
        if damage == "type":
            bundle["type"] = draw(st.sampled_from(("collection", "transaction", "searchset", "document", "")))
        elif damage == "no-entries":
            bundle.pop("entry")
        elif damage == "header-last":
            bundle["entry"] = bundle["entry"][1:] + bundle["entry"][:1]
        elif damage == "no-header":
            bundle["entry"] = bundle["entry"][1:]
        else:
            bundle["entry"] = [draw(JSON_SCALARS)] + bundle["entry"]
        return _encode(bundle)

    return build()


@st.composite
def unknown_event(draw: st.DrawFn, templates: dict[str, Template]) -> tuple[str, bytes]:
    """A well-formed message whose event code no service handles."""
    template = draw(st.sampled_from(sorted(templates.values(), key=lambda t: t.topic)))
    message = _fresh(template.message, draw(st.uuids()))
    code = draw(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), min_size=1, max_size=30))
    message["entry"][0]["resource"]["eventCoding"] = {"system": MESSAGE_EVENTS, "code": f"fuzz-{code}"}
    return template.topic, _encode(message)


@st.composite
def broken_known_event(draw: st.DrawFn, templates: dict[str, Template]) -> tuple[str, bytes]:
    """A message of a handled event code with one to three of its values (header or focus) removed or replaced."""
    code = draw(st.sampled_from(sorted(templates)))
    template = templates[code]
    message = _fresh(template.message, draw(st.uuids()))
    for _ in range(draw(st.integers(1, 3))):
        paths = sorted(_paths(message), key=repr)
        if not paths:  # an earlier change replaced the entries themselves
            break
        path = draw(st.sampled_from(paths))
        if draw(st.booleans()) and isinstance(path[-1], str):
            _parent(message, path).pop(path[-1], None)
        else:
            _parent(message, path)[path[-1]] = draw(REPLACEMENTS)
    return template.topic, _encode(message)


def bad_records(templates: dict[str, Template]) -> st.SearchStrategy[tuple[str, bytes]]:
    """(topic, value) of a record no service may crash on; the topic is any the services read for the
    shapeless ones, the template's own for messages."""
    topics = st.sampled_from(sorted({t.topic for t in templates.values()}))
    shapeless = st.one_of(raw_bytes(), not_json_text(), json_not_a_bundle(), bundles_not_messages(templates))
    return st.one_of(st.tuples(topics, shapeless), unknown_event(templates), broken_known_event(templates),
                     broken_known_event(templates))


def _fresh(message: dict[str, Any], message_id: uuid.UUID) -> dict[str, Any]:
    """A copy under a new message id, so an earlier example's id does not make this one a duplicate."""
    copied = copy.deepcopy(message)
    copied["entry"][0]["resource"]["id"] = str(message_id)
    copied["entry"][0]["fullUrl"] = f"urn:uuid:{message_id}"
    return copied


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key or index path under the message's entries (the envelope's own fields are left whole)."""
    found: list[tuple[Any, ...]] = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        path = prefix + (key,)
        if len(path) > 2:  # ("entry", i) itself stays; below it, everything is fair game
            found.append(path)
        if path[0] == "entry" or not prefix:
            found += _paths(child, path)
    return [p for p in found if p[0] == "entry"]


def _parent(message: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = message
    for key in path[:-1]:
        node = node[key]
    return node


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def _encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
