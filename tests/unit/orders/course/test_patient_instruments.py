"""The clinic's QIDS-SR16 Questionnaire file (``domain/patient_instruments.py``): the test placeholder file loads;
every structural fault (count, type, order, answers, scores, size, depth) is refused with the element named; the
setting is checked with the scales; a link score carries the clinic's answer codes, its QuestionnaireResponse names
the clinic's canonical, and the total stays the QIDS-SR16 domain rule's. HZ-173..HZ-175."""
from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import Flask

from services.orders.course.access import COURSE_SERVICE
from services.orders.course.domain.measurements import ScaleScore, ScoreContext, ScoreSource, scale_score
from services.orders.course.domain.patient_instruments import (
    ITEM_WEIGHT,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    InstrumentFileError,
    load_clinic_instruments,
    load_instrument,
    parse_instrument,
)
from services.orders.course.domain.patient_reports import LINK_SCALES, PatientReportSettings, link_scales
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.domain.suicidality import AlertSource
from services.orders.course.handlers import CourseService, CourseServiceSettings
from services.orders.course.repository import CourseRepository
from services.orders.course.translators.questionnaire_response_in import (
    questionnaire_instrument,
    score_from_questionnaire_response,
)
from services.orders.course.translators.questionnaire_response_out import questionnaire_response_from_score
from services.orders.course.ui import patient_blueprint
from services.orders.domain.settings import ProtocolSettings
from services.orders.ui import blueprint as orders_pages
from shared.config import SettingsError, load_settings
from shared.errors import FhirMappingError
from shared.events.consumer import MessageProcessor
from shared.events.kafka_clients import KafkaSettings
from shared.fhir.messaging import build_message
from shared.json_bounds import nesting_depth
from shared.people import Person
from shared.runtime import ServiceRuntime, ServiceSettings
from shared.scales import Scale, total_score
from shared.ui import install_ui
from shared.web import install_service

from tests.unit.orders.course.builders import COURSE, PATIENT, START, new_course

FIXTURE = Path(__file__).parents[3] / "fixtures" / "qids_sr16_test_placeholder_questionnaire.json"
GOOD = json.loads(FIXTURE.read_text())
AT = datetime(2026, 11, 26, 8, 30, tzinfo=timezone.utc)


def _parse(resource: dict) -> object:
    return parse_instrument(json.dumps(resource).encode(), Scale.QIDS_SR16)


def _changed(change) -> dict:
    resource = copy.deepcopy(GOOD)
    change(resource)
    return resource


def _refused(change, *expected: str) -> str:
    with pytest.raises(InstrumentFileError) as refused:
        _parse(_changed(change))
    for words in expected:
        assert words in str(refused.value)
    return str(refused.value)


class TestTheTestPlaceholderFile:
    def test_it_loads_with_16_items_of_four_answers_scored_0_to_3_in_order(self):
        instrument = load_instrument(FIXTURE, Scale.QIDS_SR16)
        assert instrument.title.startswith("Test placeholder") and instrument.stem.startswith("Test stem")
        assert len(instrument.items) == 16
        assert [[a.score for a in item.answers] for item in instrument.items] == [[0, 1, 2, 3]] * 16
        assert instrument.items[11].text.startswith("Test item 12")
        assert instrument.items[11].answer(2).text == "Test item 12 answer 2"
        assert instrument.canonical == ("https://clinic.test.example/fhir/Questionnaire/qids-sr16-test-placeholder"
                                        "|test-1")

    def test_its_texts_say_plainly_they_are_placeholders(self):
        texts = [item["text"] for item in GOOD["item"]]
        answers = [o["valueCoding"]["display"] for item in GOOD["item"] for o in item["answerOption"]]
        assert all(text.startswith("Test item ") and "placeholder" in text for text in texts)
        assert all(answer.startswith("Test item ") for answer in answers)

    def test_the_later_itemweight_extension_on_the_answer_option_is_the_same_rule(self):
        def item_weight(resource):
            for item in resource["item"]:
                for option in item["answerOption"]:
                    weight = option["valueCoding"].pop("extension")[0]["valueDecimal"]
                    option["extension"] = [{"url": ITEM_WEIGHT, "valueDecimal": weight}]
        instrument = _parse(_changed(item_weight))
        assert [a.score for a in instrument.items[0].answers] == [0, 1, 2, 3]

    def test_without_a_url_the_responses_use_ketalinks_own_codes(self):
        instrument = _parse(_changed(lambda r: (r.pop("url"), r.pop("version"))))
        assert instrument.canonical is None and instrument.answered((0,) * 16) is None

    def test_the_stem_is_optional(self):
        assert _parse(_changed(lambda r: r.pop("description"))).stem is None


class TestStructuralFaultsAreRefused:
    def test_not_a_questionnaire(self):
        _refused(lambda r: r.update(resourceType="Observation"), "resourceType must be Questionnaire")

    def test_not_valid_fhir(self):
        _refused(lambda r: r["item"][0].update(required="yes"), "not a valid FHIR R4 Questionnaire")
        _refused(lambda r: r.update(colour="blue"), "not a valid FHIR R4 Questionnaire")

    def test_a_draft(self):
        _refused(lambda r: r.update(status="draft"), "Questionnaire.status", "must be active")

    def test_no_title(self):
        _refused(lambda r: r.pop("title"), "Questionnaire.title")

    @pytest.mark.parametrize("count", [15, 17, 0])
    def test_not_16_items(self, count):
        def items(resource):
            resource["item"] = (resource["item"] * 2)[:count]
        _refused(items, "Questionnaire.item", "16 items")

    def test_a_missing_suicide_item(self):  # HZ-175: item 12 left out, the rest moved up
        message = _refused(lambda r: r["item"].pop(11), "16 items")
        assert "15" in message

    def test_items_out_of_order(self):  # HZ-173: items 11 and 12 swapped
        def swap(resource):
            resource["item"][10], resource["item"][11] = resource["item"][11], resource["item"][10]
        _refused(swap, "item[10].code", "qids-sr16-item-11")

    def test_item_12_that_is_not_the_suicide_item(self):  # HZ-175
        def recode(resource):
            resource["item"][11]["code"][0]["code"] = "qids-sr16-item-13"
        _refused(recode, "item[11].code", "item 12 is the suicide item")

    def test_an_item_without_ketalinks_code(self):
        _refused(lambda r: r["item"][3].pop("code"), "item[3].code")

    def test_an_item_with_two_ketalink_codes(self):
        def two(resource):
            resource["item"][0]["code"].append(dict(resource["item"][0]["code"][0], code="qids-sr16-item-2"))
        _refused(two, "item[0].code", "one item, one code")

    @pytest.mark.parametrize("change, where", [
        (lambda item: item.update(type="string"), "type"),
        (lambda item: item.update(required=False), "required"),
        (lambda item: item.update(repeats=True), "repeats"),
        (lambda item: item.update(enableWhen=[{"question": "test-q1", "operator": "exists", "answerBoolean": True}]),
         "enableWhen"),
        (lambda item: item.update(item=[{"linkId": "sub", "type": "display", "text": "Test sub"}]), "item[4].item"),
        (lambda item: item.update(answerValueSet="http://example.org/ValueSet/x"), "answerValueSet"),
        (lambda item: item.pop("text"), "text"),
        (lambda item: item.update(text="   "), "text"),
    ])
    def test_an_item_that_is_not_one_required_choice(self, change, where):
        _refused(lambda r: change(r["item"][4]), f"item[4].{where}" if "." not in where else where)

    def test_repeated_link_ids(self):
        _refused(lambda r: r["item"][7].update(linkId="test-q1"), "item.linkId", "test-q1")

    @pytest.mark.parametrize("count", [3, 5])
    def test_not_four_answers(self, count):
        def answers(resource):
            options = resource["item"][2]["answerOption"]
            resource["item"][2]["answerOption"] = (options * 2)[:count]
        _refused(answers, "item[2].answerOption", "4 answers")

    def test_an_answer_that_is_not_a_coding(self):
        _refused(lambda r: r["item"][0]["answerOption"].__setitem__(1, {"valueString": "Test answer"}),
                 "item[0].answerOption[1]", "valueCoding")

    def test_an_answer_without_code_or_display(self):
        _refused(lambda r: r["item"][0]["answerOption"][2]["valueCoding"].pop("code"), "system and a code")
        _refused(lambda r: r["item"][0]["answerOption"][2]["valueCoding"].pop("display"), "display")

    def test_an_answer_without_a_score_or_with_two(self):
        _refused(lambda r: r["item"][5]["answerOption"][0]["valueCoding"].pop("extension"), "exactly one score")

        def two(resource):
            option = resource["item"][5]["answerOption"][0]
            option["extension"] = [{"url": ITEM_WEIGHT, "valueDecimal": 0}]
        _refused(two, "exactly one score", "has 2")

    def test_a_score_that_is_not_a_whole_number(self):
        def half(resource):
            resource["item"][5]["answerOption"][1]["valueCoding"]["extension"][0]["valueDecimal"] = 1.5
        _refused(half, "whole number")

    @pytest.mark.parametrize("scores", [[0, 2, 1, 3], [0, 1, 1, 3], [1, 2, 3, 4], [3, 2, 1, 0]])
    def test_answers_not_scored_0_1_2_3_in_order(self, scores):  # HZ-174
        def rescore(resource):
            for option, score in zip(resource["item"][9]["answerOption"], scores):
                option["valueCoding"]["extension"][0]["valueDecimal"] = score
        _refused(rescore, "item[9].answerOption", "scored 0, 1, 2, 3 in order")

    def test_a_version_without_a_url(self):
        _refused(lambda r: r.pop("url"), "Questionnaire.version")


class TestTheFileItself:
    def test_an_oversized_file_is_refused_before_it_is_read(self, tmp_path):
        big = tmp_path / "big.json"
        big.write_text(json.dumps(GOOD) + " " * MAX_FILE_BYTES)
        with pytest.raises(InstrumentFileError, match=f"more than {MAX_FILE_BYTES}"):
            load_instrument(big, Scale.QIDS_SR16)

    def test_deep_nesting_is_refused_before_it_is_parsed(self):
        deep = '{"resourceType": "Questionnaire", "x": ' + "[" * 5000 + "]" * 5000 + "}"
        with pytest.raises(InstrumentFileError, match=f"more than {MAX_DEPTH}"):
            parse_instrument(deep.encode(), Scale.QIDS_SR16)

    def test_brackets_inside_strings_are_not_nesting(self):
        assert nesting_depth('{"a": "[[[{{{\\"]]]"}') == 1
        assert nesting_depth(FIXTURE.read_text()) < MAX_DEPTH

    def test_not_utf8_not_json_and_no_file(self, tmp_path):
        with pytest.raises(InstrumentFileError, match="not UTF-8"):
            parse_instrument(b"\xff\xfe{}", Scale.QIDS_SR16)
        with pytest.raises(InstrumentFileError, match="not JSON"):
            parse_instrument(b'{"resourceType": "Questionnaire",', Scale.QIDS_SR16)
        with pytest.raises(InstrumentFileError, match="cannot be read"):
            load_instrument(tmp_path / "missing.json", Scale.QIDS_SR16)

    def test_the_message_names_the_setting_and_the_file(self, tmp_path):
        bad = tmp_path / "qids.json"
        bad.write_text(json.dumps(_changed(lambda r: r.update(status="retired"))))
        with pytest.raises(InstrumentFileError) as refused:
            load_clinic_instruments({Scale.QIDS_SR16: str(bad)})
        assert str(refused.value).startswith(f"ORDERS_COURSE_PRO_QIDS_SR16_QUESTIONNAIRE: {bad}: ")
        assert "Questionnaire.status" in str(refused.value)


class TestTheSetting:
    def test_unset_qids_sr16_is_scheduled_but_has_no_link(self):
        settings = load_settings(PatientReportSettings, "P_", {"P_SCALES": "phq-9,qids-sr16"})
        assert settings.clinic_questionnaire_files == {}
        assert Scale.QIDS_SR16 not in link_scales(load_clinic_instruments(settings.clinic_questionnaire_files))

    def test_set_it_makes_qids_sr16_a_link_scale(self):
        settings = load_settings(PatientReportSettings, "P_", {"P_SCALES": "phq-9,qids-sr16",
                                                               "P_QIDS_SR16_QUESTIONNAIRE": str(FIXTURE)})
        instruments = load_clinic_instruments(settings.clinic_questionnaire_files)
        assert link_scales(instruments) == LINK_SCALES + (Scale.QIDS_SR16,)

    def test_a_file_for_a_scale_the_clinic_does_not_schedule_is_refused(self):
        with pytest.raises(SettingsError, match="qids-sr16 is not in scales"):
            load_settings(PatientReportSettings, "P_", {"P_QIDS_SR16_QUESTIONNAIRE": str(FIXTURE)})


class TestALinkScore:
    ITEMS = (1, 0, 3, 0, 2, 1, 0, 0, 0, 1, 2, 2, 1, 1, 0, 3)

    def _score(self) -> ScaleScore:
        instrument = load_instrument(FIXTURE, Scale.QIDS_SR16)
        score = scale_score("patient-link-l1", Scale.QIDS_SR16, self.ITEMS, AT, ScoreSource.PATIENT_LINK,
                            ScoreContext.FOLLOW_UP)
        return replace(score, answered_on=instrument.answered(score.item_scores))

    def test_the_total_is_the_domain_rule_not_the_sum(self):
        score = self._score()
        # sleep max(1,0,3,0)=3, sad 2, appetite/weight max(1,0,0,0)=1, concentration 1, self 2, suicide 2,
        # interest 1, energy 1, psychomotor max(0,3)=3
        assert score.total_score == total_score(Scale.QIDS_SR16, self.ITEMS) == 16 != sum(self.ITEMS)
        assert score.suicidality_item == 2

    def test_the_response_names_the_clinics_questionnaire_and_its_answer_codes(self):
        resource = questionnaire_response_from_score(self._score(), PATIENT, COURSE)
        assert resource["questionnaire"] == ("https://clinic.test.example/fhir/Questionnaire/"
                                             "qids-sr16-test-placeholder|test-1")
        assert [item["linkId"] for item in resource["item"]] == [f"test-q{n}" for n in range(1, 17)]
        assert resource["item"][11]["answer"] == [{"valueCoding": {
            "system": "https://ketalink.example.org/fhir/CodeSystem/test-placeholder-answers", "code": "q12-a2",
            "display": "Test item 12 answer 2"}}]
        assert resource["source"] == {"reference": f"Patient/{PATIENT}"}

    def test_the_answers_are_kept_with_the_score(self):
        score = self._score()
        assert ScaleScore.from_dict(json.loads(json.dumps(score.to_dict()))) == score
        old = {key: value for key, value in score.to_dict().items() if key != "answered_on"}
        assert ScaleScore.from_dict(old).answered_on is None  # scores stored before the field still read


class TestTheServiceLayer:
    """The real course service on SQLite (as test_patient_reports.py), with and without the clinic's file."""

    @staticmethod
    def _service(tmp_path, questionnaire: str = "") -> tuple[CourseService, ServiceRuntime]:
        runtime = ServiceRuntime("orders", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'orders.db'}"),
                                 KafkaSettings())
        service = CourseService(runtime, CourseSettings(), ProtocolSettings(),
                                CourseServiceSettings(alert_send_wait_s=0), clock=lambda: START + timedelta(days=10),
                                pro_settings=PatientReportSettings(scales=("phq-9", "qids-sr16"),
                                                                   qids_sr16_questionnaire=questionnaire))
        return service, runtime

    def test_a_positive_item_12_raises_the_alert_and_a_restart_without_the_file_closes_the_link(self, tmp_path):
        service, runtime = self._service(tmp_path, str(FIXTURE))
        with runtime.transaction() as conn:
            CourseRepository().add(conn, new_course())
        doctor = Person("Practitioner/dr-okoye", "Dr. Adaeze Okoye")
        assert Scale.QIDS_SR16 in service.link_scales
        _, token = service.create_patient_link(COURSE, Scale.QIDS_SR16, doctor)
        _, later = service.create_patient_link(COURSE, Scale.QIDS_SR16, doctor)
        submission = service.submit_patient_link(token, TestALinkScore.ITEMS)
        [score] = submission.change.course.scores
        assert score.total_score == 16 and score.answered_on.canonical.endswith("|test-1")
        assert submission.suicide_item_positive
        assert [a.source for a in submission.change.course.alerts] == [AlertSource.QIDS_SR16_ITEM12]

        restarted, _ = self._service(tmp_path)  # the clinic unset the file: the open link has no wording
        assert Scale.QIDS_SR16 not in restarted.link_scales
        app = Flask("orders-test")
        install_service(app, COURSE_SERVICE, restarted)
        install_ui(app, "Orders")
        app.register_blueprint(orders_pages)
        app.register_blueprint(patient_blueprint)
        client = app.test_client()
        assert client.get(f"/q/{later}").status_code == 404
        assert client.post(f"/q/{later}", data={f"item-{n}": "0" for n in range(1, 17)}).status_code == 404
        assert len(restarted.course(COURSE).course.scores) == 1  # nothing recorded


class TestAResponseReadBack:
    """A QuestionnaireResponse naming the clinic's Questionnaire (Ketalink's own, or an EHR portal's on the same file)
    is read by the file's linkIds and answer codes; the total is the domain rule's."""

    INSTRUMENTS = {Scale.QIDS_SR16: load_instrument(FIXTURE, Scale.QIDS_SR16)}

    def _response(self) -> dict:
        return questionnaire_response_from_score(TestALinkScore()._score(), PATIENT, COURSE)

    def test_ketalinks_own_response_reads_back_as_the_same_score(self):
        received = score_from_questionnaire_response(self._response(), clinic_instruments=self.INSTRUMENTS)
        assert received.score == TestALinkScore()._score()
        assert questionnaire_instrument(self._response(), self.INSTRUMENTS) is Scale.QIDS_SR16

    def test_an_ehr_portals_response_is_scored_by_the_domain_rule(self):
        resource = self._response()
        resource.pop("identifier")
        resource["id"] = "portal-1"
        received = score_from_questionnaire_response(resource, clinic_instruments=self.INSTRUMENTS)
        assert received.score.source is ScoreSource.EHR_MESSAGE and received.score.total_score == 16
        assert received.score.suicidality_item == 2

    def test_an_unknown_answer_code_another_version_or_no_file_are_refused(self):
        resource = self._response()
        resource["item"][11]["answer"][0]["valueCoding"]["code"] = "q11-a2"  # item 11's answer on item 12
        with pytest.raises(FhirMappingError, match=r"item\[test-q12\]\.answer"):
            score_from_questionnaire_response(resource, clinic_instruments=self.INSTRUMENTS)
        resource = self._response()
        resource["questionnaire"] = resource["questionnaire"].replace("|test-1", "|test-2")
        with pytest.raises(FhirMappingError, match="version 'test-2'"):
            score_from_questionnaire_response(resource, clinic_instruments=self.INSTRUMENTS)
        with pytest.raises(FhirMappingError, match="not a questionnaire the course scores"):
            score_from_questionnaire_response(self._response())

    def test_a_missing_item_is_named_by_the_files_link_id(self):
        resource = self._response()
        del resource["item"][11]
        with pytest.raises(FhirMappingError, match=r"item\[test-q12\]"):
            score_from_questionnaire_response(resource, clinic_instruments=self.INSTRUMENTS)


def test_an_ehr_portal_response_on_the_clinics_questionnaire_is_a_score_with_its_alert(tmp_path):
    """The EHR's ``questionnaire-response-received`` naming the clinic's QIDS-SR16 file: recorded on the course
    (domain total, item 12 alert) instead of dead-lettered as an unknown questionnaire; a redelivery is a duplicate."""
    service, runtime = TestTheServiceLayer._service(tmp_path, str(FIXTURE))
    with runtime.transaction() as conn:
        CourseRepository().add(conn, new_course())
    resource = questionnaire_response_from_score(TestALinkScore()._score(), PATIENT, COURSE)
    resource.pop("identifier")
    resource["id"] = "portal-qids-1"
    message = json.dumps(build_message("questionnaire-response-received", "urn:ehr-sandbox:interface-engine",
                                       [resource], with_provenance=False)).encode()
    processor = MessageProcessor(runtime.engine, {"questionnaire-response-received": service.on_questionnaire_response})
    assert processor.process("ehr.events", message) == "done"
    assert processor.process("ehr.events", message) == "duplicate"
    course = service.course(COURSE).course
    [score] = course.scores
    assert (score.measurement_id, score.total_score) == ("ehr-questionnaire-response-portal-qids-1", 16)
    assert [alert.source for alert in course.alerts] == [AlertSource.QIDS_SR16_ITEM12]
