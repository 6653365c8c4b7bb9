"""A questionnaire's patient wording loaded from the clinic's own FHIR R4 ``Questionnaire`` file, for a scale whose
wording Ketalink does not hold (QIDS-SR16: each of its 16 items has its own four answers, and the clinic holds the
licensed text; Ketalink never invents or paraphrases it).

The file is named by a setting (``ORDERS_COURSE_PRO_QIDS_SR16_QUESTIONNAIRE``, a path) and read once at start-up;
any fault stops the start with a message naming the file's element. What is checked, and why:

- Size at most ``MAX_FILE_BYTES`` (checked on the file before it is read) and JSON nesting at most ``MAX_DEPTH``
  (scanned before it is parsed): a wrong file (an export of a whole server, a crafted one) is refused cheaply.
- The fhir.resources R4B ``Questionnaire`` model (``shared.fhir.validate``), then: ``status`` ``active`` (a draft or
  retired instrument is not sent to patients), a ``title``; ``description`` is optional and shown above the
  questions as the stem, as plain text.
- Exactly the scale's item count (16) of top-level items, each ``type`` ``choice``, ``required`` true, not
  ``repeats``, no ``enableWhen`` (every item is needed for the score), no nested items, a unique ``linkId`` and a
  ``text``.
- Item order: each item carries Ketalink's code of the item at its position (``item.code`` with system
  ``KETALINK_LOCAL`` and code ``qids-sr16-item-<n>``, as in ``shared.fhir.instrument_codes.SCALE_ITEMS``). The
  clinic's author confirms, item by item, which QIDS-SR16 item each of theirs is; a file whose items are out of
  order, or whose item 12 is not the suicide item, does not match (HZ-173, HZ-175). Ketalink cannot read the
  wording, so this is the only check of the items' identity it can make: position plus the author's own mapping.
- Exactly ``item_max + 1`` (4) ``answerOption``\\ s per item, each a ``valueCoding`` with ``system``, ``code`` and
  ``display`` (the answer's text the patient reads), and its score: the R4 extension ``ordinalValue``
  (``http://hl7.org/fhir/StructureDefinition/ordinalValue``, valueDecimal, on the Coding) or, the same rule under
  its later name, ``itemWeight`` (``http://hl7.org/fhir/StructureDefinition/itemWeight``, on the Coding or on the
  answerOption); exactly one score per answer, a whole number, and the four answers scored 0, 1, 2, 3 in that order
  (the instrument lists its answers from none to most; a swapped or repeated score is refused: HZ-174).

The score of an answer is only the item's value; the total is always ``shared.scales.total_score`` (the QIDS-SR16
domain rule), never anything in the file. Texts are kept as the clinic wrote them and rendered escaped (the page
shows no HTML from the file)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.orders.course.domain.measurements import AnsweredQuestionnaire, ChosenAnswer
from shared.fhir.codes import KETALINK_LOCAL
from shared.fhir.instrument_codes import SCALE_ITEMS
from shared.fhir.validate import FhirValidationError, validate_resource
from shared.json_bounds import too_deep
from shared.scales import DEFINITIONS, Scale

MAX_FILE_BYTES = 256 * 1024  # a 16-item Questionnaire is a few tens of kB; more is the wrong file
MAX_DEPTH = 16  # Questionnaire > item > answerOption > valueCoding > extension is 9 levels deep in JSON
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
SCORE_EXTENSIONS = (ORDINAL_VALUE, ITEM_WEIGHT)
# The scales whose wording the clinic may load, with the setting that names the file.
CLINIC_INSTRUMENT_SETTINGS = {Scale.QIDS_SR16: "qids_sr16_questionnaire"}


class InstrumentFileError(ValueError):
    """The clinic's Questionnaire file cannot be used; the message names the file and the element at fault."""


@dataclass(frozen=True)
class InstrumentAnswer:
    score: int
    text: str  # the Coding's display: what the patient reads
    system: str
    code: str


@dataclass(frozen=True)
class InstrumentItem:
    link_id: str
    text: str
    answers: tuple[InstrumentAnswer, ...]  # scored 0, 1, 2, 3 in this order

    def answer(self, score: int) -> InstrumentAnswer:
        return self.answers[score]


@dataclass(frozen=True)
class PatientInstrument:
    """The clinic's wording of one scale, checked (see the module's docstring)."""

    scale: Scale
    title: str
    stem: str | None
    items: tuple[InstrumentItem, ...]
    url: str | None
    version: str | None

    @property
    def canonical(self) -> str | None:
        """``url|version`` (or the url alone) for ``QuestionnaireResponse.questionnaire``; None without a url."""
        if not self.url:
            return None
        return f"{self.url}|{self.version}" if self.version else self.url

    def answered(self, item_scores: tuple[int, ...]) -> AnsweredQuestionnaire | None:
        """What the patient chose, in the file's codes, for the score's QuestionnaireResponse; None when the file
        has no url to name (the response is then written in Ketalink's own item codes)."""
        if self.canonical is None:
            return None
        return AnsweredQuestionnaire(self.canonical, tuple(
            ChosenAnswer(item.link_id, answer.system, answer.code, answer.text)
            for item, answer in ((item, item.answer(score)) for item, score in zip(self.items, item_scores))))


def load_instrument(path: str | os.PathLike[str], scale: Scale) -> PatientInstrument:
    """The checked instrument in the file at ``path``; InstrumentFileError naming what is wrong."""
    where = Path(path)
    try:
        size = where.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InstrumentFileError(f"{where}: {size} bytes, more than {MAX_FILE_BYTES}: not a single "
                                      "Questionnaire")
        with where.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat
    except OSError as error:
        raise InstrumentFileError(f"{where}: cannot be read ({error.strerror or type(error).__name__})") from None
    try:
        return parse_instrument(raw, scale)
    except InstrumentFileError as error:
        raise InstrumentFileError(f"{where}: {error}") from None


def parse_instrument(raw: bytes, scale: Scale) -> PatientInstrument:
    if len(raw) > MAX_FILE_BYTES:
        raise InstrumentFileError(f"more than {MAX_FILE_BYTES} bytes: not a single Questionnaire")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InstrumentFileError("not UTF-8 text") from None
    if too_deep(text, MAX_DEPTH):
        raise InstrumentFileError(f"JSON nested more than {MAX_DEPTH} deep: not a Questionnaire")
    try:
        resource = json.loads(text)
    except ValueError as error:
        raise InstrumentFileError(f"not JSON ({error})") from None
    if not isinstance(resource, dict) or resource.get("resourceType") != "Questionnaire":
        raise InstrumentFileError("resourceType must be Questionnaire")
    try:
        validate_resource(resource)
    except FhirValidationError as error:
        raise InstrumentFileError(f"not a valid FHIR R4 Questionnaire: {error}") from None
    return _instrument(resource, scale)


def _instrument(resource: dict[str, Any], scale: Scale) -> PatientInstrument:
    definition = DEFINITIONS[scale]
    _require(resource.get("status") == "active", "status",
             f"must be active (is {resource.get('status')!r}): a draft or retired questionnaire is not sent")
    title = _text(resource, "title", "title")
    stem = resource.get("description")
    _require(stem is None or (isinstance(stem, str) and stem.strip() != ""), "description", "empty")
    items = resource.get("item") or []
    _require(len(items) == definition.item_count, "item",
             f"{definition.name} has {definition.item_count} items; the file has {len(items)} at the top level")
    parsed = tuple(_item(item, number, scale) for number, item in enumerate(items, start=1))
    link_ids = [item.link_id for item in parsed]
    duplicates = sorted({link_id for link_id in link_ids if link_ids.count(link_id) > 1})
    _require(not duplicates, "item.linkId", f"repeated: {', '.join(duplicates)}")
    url = resource.get("url")
    version = resource.get("version")
    _require(version is None or url, "version", "given without a url: the responses could not name the file")
    return PatientInstrument(scale, title, stem.strip() if stem else None, parsed, url, version)


def _item(item: dict[str, Any], number: int, scale: Scale) -> InstrumentItem:
    at = f"item[{number - 1}]"
    definition = DEFINITIONS[scale]
    link_id = item.get("linkId", "")
    _require(item.get("type") == "choice", f"{at}.type", f"must be choice (is {item.get('type')!r})")
    _require(item.get("required") is True, f"{at}.required", "must be true: every item counts in the score")
    _require(not item.get("repeats"), f"{at}.repeats", "must not be true: one answer per item")
    _require(not item.get("enableWhen"), f"{at}.enableWhen", "not allowed: every item is asked")
    _require(not item.get("item"), f"{at}.item", "nested items are not allowed")
    _require(not item.get("answerValueSet"), f"{at}.answerValueSet", "give the answers as answerOption")
    text = _text(item, "text", f"{at}.text")
    expected = SCALE_ITEMS[scale][number - 1]
    codes = [(c.get("system"), c.get("code")) for c in item.get("code") or []]
    _require((KETALINK_LOCAL, expected.code) in codes, f"{at}.code",
             f"item {number} must carry Ketalink's code {expected.code} ({expected.display}; system "
             f"{KETALINK_LOCAL}): the file's items must be the {definition.name} items in their order"
             + (f" (item {definition.suicidality_item} is the suicide item)"
                if number == definition.suicidality_item else ""))
    others = [code for system, code in codes if system == KETALINK_LOCAL and code != expected.code]
    _require(not others, f"{at}.code", f"also carries Ketalink's code {', '.join(others)}: one item, one code")
    options = item.get("answerOption") or []
    _require(len(options) == definition.item_max + 1, f"{at}.answerOption",
             f"must have {definition.item_max + 1} answers (has {len(options)})")
    answers = tuple(_answer(option, f"{at}.answerOption[{index}]") for index, option in enumerate(options))
    scores = [answer.score for answer in answers]
    _require(scores == list(range(definition.item_max + 1)), f"{at}.answerOption",
             f"answers must be scored {', '.join(map(str, range(definition.item_max + 1)))} in order "
             f"(are {', '.join(map(str, scores))})")
    return InstrumentItem(link_id, text, answers)


def _answer(option: dict[str, Any], at: str) -> InstrumentAnswer:
    coding = option.get("valueCoding")
    _require(isinstance(coding, dict), at, "must be a valueCoding")
    system, code = coding.get("system"), coding.get("code")
    _require(bool(system) and bool(code), f"{at}.valueCoding", "needs a system and a code")
    text = _text(coding, "display", f"{at}.valueCoding.display")
    weights = [ext for ext in (coding.get("extension") or []) + (option.get("extension") or [])
               if ext.get("url") in SCORE_EXTENSIONS]
    _require(len(weights) == 1, f"{at}.valueCoding.extension",
             f"needs exactly one score ({ORDINAL_VALUE}), has {len(weights)}")
    value = weights[0].get("valueDecimal", weights[0].get("valueInteger"))
    _require(isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer(),
             f"{at}.valueCoding.extension", f"the score must be a whole number (is {value!r})")
    return InstrumentAnswer(int(value), text, system, code)


def _text(element: dict[str, Any], name: str, at: str) -> str:
    value = element.get(name)
    _require(isinstance(value, str) and value.strip() != "", at, "missing or empty")
    return value.strip()


def _require(condition: object, at: str, message: str) -> None:
    if not condition:
        raise InstrumentFileError(f"Questionnaire.{at}: {message}")


def load_clinic_instruments(files: dict[Scale, str]) -> dict[Scale, PatientInstrument]:
    """Each scale's instrument from the clinic's file (``PatientReportSettings.clinic_questionnaire_files``), read
    and checked at start-up; InstrumentFileError names the setting, the file and the fault."""
    instruments = {}
    for scale, path in files.items():
        try:
            instruments[scale] = load_instrument(path, scale)
        except InstrumentFileError as error:
            setting = CLINIC_INSTRUMENT_SETTINGS.get(scale, scale.value).upper()
            raise InstrumentFileError(f"ORDERS_COURSE_PRO_{setting}: {error}") from None
    return instruments
