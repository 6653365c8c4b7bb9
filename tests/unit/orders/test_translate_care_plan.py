import copy
from datetime import date

import pytest

from shared.fhir.validate import validate_resource
from services.orders.domain.lifecycle import cancel_order
from services.orders.domain.series import (
    InfusionStatus, SeriesStatus, plan_induction, plan_maintenance, record_infusion, with_status,
)
from services.orders.translators.care_plan_in import series_from_care_plan
from services.orders.translators.care_plan_out import care_plan_from_series
from shared.errors import FhirMappingError
from tests.unit.orders.builders import NOW, PATIENT, draft, settings, signed
from shared.people import Person


def test_series_out_has_the_contract_shape():
    series = signed().series
    resource = care_plan_from_series(series)
    assert resource["identifier"] == [{"system": "https://ketalink.example.org/fhir/identifier/series",
                                       "value": "series-1"}]
    assert (resource["status"], resource["intent"], resource["subject"]) == (
        "active", "plan", {"reference": f"Patient/{PATIENT}"})
    assert resource["category"] == [{"text": "ketamine-induction"}]
    assert resource["created"] == "2026-11-20T09:00:00+00:00"
    assert len(resource["activity"]) == 6
    first = resource["activity"][0]["detail"]
    assert first["kind"] == "MedicationRequest"
    assert first["code"]["coding"][0] == {"system": "https://ketalink.example.org/fhir/CodeSystem/ketalink",
                                          "code": "ketamine-infusion", "display": "Intravenous ketamine infusion"}
    assert (first["status"], first["scheduledPeriod"]) == (
        "scheduled", {"start": "2026-11-23T00:00:00+00:00", "end": "2026-11-25T23:59:59+00:00"})
    assert resource["activity"][5]["detail"]["scheduledPeriod"] == {"start": "2026-12-10T00:00:00+00:00",
                                                                    "end": "2026-12-13T23:59:59+00:00"}
    assert "replaces" not in resource
    assert validate_resource(resource) is resource


def test_a_cancelled_order_sends_a_revoked_plan_with_cancelled_infusions():
    result = signed()
    given_one = record_infusion(result.series, 1, InfusionStatus.COMPLETED)
    cancelled = cancel_order(result.__class__(result.order, given_one), Person("Practitioner/dr-a", "Dr A"), "patient withdrew",
                             now=NOW.replace(hour=11))
    resource = care_plan_from_series(cancelled.series)
    assert resource["status"] == "revoked"
    assert [a["detail"]["status"] for a in resource["activity"]] == ["completed"] + ["cancelled"] * 5


def _maintenance():
    induction = with_status(signed().series, SeriesStatus.COMPLETED)
    return plan_maintenance(induction, date(2026, 12, 28), 28, 3, settings(), series_id="series-2", now=NOW)


def test_a_maintenance_plan_says_so_and_replaces_the_induction():
    resource = care_plan_from_series(_maintenance())
    assert resource["category"] == [{"text": "ketamine-maintenance"}]
    assert resource["replaces"][0]["identifier"]["value"] == "series-1"


@pytest.mark.parametrize("build", [
    lambda: draft().series,
    lambda: signed().series,
    lambda: record_infusion(signed().series, 1, InfusionStatus.COMPLETED),
    lambda: with_status(record_infusion(signed().series, 1, InfusionStatus.CANCELLED), SeriesStatus.REVOKED),
    _maintenance,
])
def test_round_trip_out_then_in_gives_the_same_series(build):
    series = build()
    assert series_from_care_plan(care_plan_from_series(series)) == series


def test_windows_are_whole_days_in_the_clinics_time_zone():
    resource = care_plan_from_series(signed().series, "America/Los_Angeles")
    assert resource["activity"][0]["detail"]["scheduledPeriod"] == {"start": "2026-11-23T00:00:00-08:00",
                                                                    "end": "2026-11-25T23:59:59-08:00"}
    assert series_from_care_plan(resource, "America/Los_Angeles") == signed().series


def test_a_window_crossing_the_end_of_summer_time_keeps_each_days_offset():
    series = plan_induction(PATIENT, date(2026, 10, 22), settings(clinic_timezone="Europe/London"),
                            now=NOW.replace(month=10, day=20))
    periods = [a["detail"]["scheduledPeriod"] for a in care_plan_from_series(series, "Europe/London")["activity"]]
    assert periods[1] == {"start": "2026-10-25T00:00:00+01:00", "end": "2026-10-28T23:59:59+00:00"}
    assert series_from_care_plan(care_plan_from_series(series, "Europe/London"), "Europe/London") == series


@pytest.mark.parametrize("start, end", [("2026-11-23", "2026-11-25"),
                                        ("2026-11-23T08:00:00+00:00", "2026-11-25T17:00:00+00:00")])
def test_a_window_written_as_dates_or_other_times_keeps_its_days(start, end):
    resource = care_plan_from_series(signed().series)
    resource["activity"][0]["detail"]["scheduledPeriod"] = {"start": start, "end": end}
    infusion = series_from_care_plan(resource).infusions[0]
    assert (infusion.window_start, infusion.window_end) == (date(2026, 11, 23), date(2026, 11, 25))


def _changed(change):
    resource = copy.deepcopy(care_plan_from_series(signed().series))
    change(resource)
    return resource


@pytest.mark.parametrize("change, expression", [
    (lambda r: r.update(identifier=[]), "CarePlan.identifier"),
    (lambda r: r.update(status="entered-in-error"), "CarePlan.status"),
    (lambda r: r.update(category=[{"text": "ketamine-rescue"}]), "CarePlan.category"),
    (lambda r: r.pop("created"), "CarePlan.created"),
    (lambda r: r.update(activity=[]), "CarePlan.activity"),
    (lambda r: r["activity"][2]["detail"].update(status="in-progress"), "CarePlan.activity[2].detail.status"),
    (lambda r: r["activity"][1]["detail"]["code"]["coding"][0].update(code="esketamine"),
     "CarePlan.activity[1].detail.code"),
    (lambda r: r["activity"][0]["detail"].pop("scheduledPeriod"), "CarePlan.activity[0].detail.scheduledPeriod.start"),
    (lambda r: r["activity"][0]["detail"]["scheduledPeriod"].update(end="2026-11-01T23:59:59+00:00"),
     "CarePlan.activity[0].detail.scheduledPeriod"),
    (lambda r: r.update(subject={"reference": "Group/g1"}), "CarePlan.subject"),
])
def test_a_plan_outside_the_contract_is_refused_naming_the_element(change, expression):
    with pytest.raises(FhirMappingError) as caught:
        series_from_care_plan(_changed(change))
    assert caught.value.field == expression
