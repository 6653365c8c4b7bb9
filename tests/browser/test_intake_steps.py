"""The intake screen as steps on a 1024x768 chair-side screen, in Chromium against the real stack: every step's page
height is measured (the single page was about 6,400 px), a step saves and moves on to the next one that needs work,
what was saved is there when the nurse goes back to it, the step list is usable by keyboard, and axe passes; no
step scrolls sideways on a 390 px phone; leaving a step with unsaved input asks first. Screenshots at 1280,
1024x768 and phone size."""
from __future__ import annotations

import re

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.conftest import launch_from_chart, screenshot
from tests.browser.reflow import PHONE, TOLERANCE_PX, page_width

pytestmark = pytest.mark.integration
APP = "intake"
NURSE = "nurse.ng"
CHAIR_SIDE = {"width": 1024, "height": 768}
MAX_STEP_HEIGHT_PX = 2 * 768  # at most one more screen to scroll within a step
SIZES = {"1280": (1280, 900), "1024x768": (1024, 768), "phone": (390, 844)}
HEART_RATE = 'form[data-part=vitals] input[name="vitals.heart_rate_per_min.value"]'


@pytest.fixture(scope="module")
def intake_page(smart_stack, browser):
    """A nurse's new intake for KL-1004, on a 1024x768 screen."""
    context = browser.new_context(viewport=CHAIR_SIDE)
    context.set_default_timeout(15000)
    page = context.new_page()
    launch_from_chart(page, smart_stack, APP, smart_stack.patient_id("KL-1004"), NURSE)
    with page.expect_navigation():
        page.get_by_role("button", name="Start intake").click()
    base = re.fullmatch(r"(.*/ui/intakes/[0-9a-f-]+)", page.url).group(1)
    yield page, base
    context.close()


def _step_keys(page) -> list[str]:
    return [link.get_attribute("data-step") for link in page.locator("[data-step]").all()]


def test_each_step_fits_a_chair_side_screen(intake_page):
    page, base = intake_page
    assert page.locator('[aria-current="step"]').get_attribute("data-step") == "trials"  # a new intake: first step
    heights, widths = {}, {}
    for key in _step_keys(page):
        page.goto(f"{base}?step={key}")
        assert page.locator(f"section#{key}").is_visible()
        shown = {section.get_attribute("id") for section in page.locator("section.part:visible").all()}
        assert shown == ({"missing", "decide"} if key == "decide" else {key})  # one part at a time
        heights[key] = page.evaluate("() => document.documentElement.scrollHeight")
        screenshot(page, f"intake-step-{key}-1024x768")
        page.set_viewport_size(PHONE)  # the same step on a phone: it reflows, no sideways scrolling
        widths[key] = page_width(page)
        page.set_viewport_size(CHAIR_SIDE)
    page.goto(f"{base}?step=trials")
    print("intake step heights at 1024x768 (px):", heights)
    print("intake step widths at 390x844 (px):", widths)
    too_tall = {key: height for key, height in heights.items() if height > MAX_STEP_HEIGHT_PX}
    assert too_tall == {}, f"steps taller than {MAX_STEP_HEIGHT_PX} px at 1024x768: {too_tall}"
    too_wide = {key: width for key, width in widths.items() if width > PHONE["width"] + TOLERANCE_PX}
    assert too_wide == {}, f"steps wider than a {PHONE['width']} px phone: {too_wide}"
    assert_accessible(page, "intake-step-trials")
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"intake-step-trials-{size}")
    page.set_viewport_size(CHAIR_SIDE)


def test_a_step_saves_moves_on_and_keeps_what_was_saved(intake_page):
    page, base = intake_page
    page.goto(f"{base}?step=phq9")
    for index, score in enumerate([1, 1, 2, 0, 1, 1, 0, 1, 0]):
        page.fill(f"#phq9-items-{index}", str(score))
    with page.expect_navigation():
        page.keyboard.press("Enter")  # the focused item's form: Enter saves
    assert "step=madrs" in page.url and "PHQ-9 saved: total 7 of 27." in page.get_by_test_id("notice").inner_text()
    assert "recorded" in page.locator("[data-step=phq9]").text_content()  # its state in the step list
    assert "of" in page.get_by_test_id("step-progress").inner_text()
    assert_accessible(page, "intake-step-madrs")
    screenshot(page, "intake-step-madrs-1024x768")

    # Back to the PHQ-9 by keyboard from the step list: what was saved is there.
    page.locator("[data-step=phq9]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator('[aria-current="step"]').get_attribute("data-step") == "phq9"
    assert [page.locator(f"#phq9-items-{i}").input_value() for i in range(9)] == list("112011010")
    assert page.get_by_test_id("phq9-total").inner_text().startswith("Total: 7 of 27")


def test_a_refused_step_is_shown_again_with_its_errors(intake_page):
    page, base = intake_page
    page.goto(f"{base}?step=madrs")
    for index in range(9):  # item 10 left empty, past the browser's own check
        page.fill(f"#madrs-items-{index}", "2")
    page.eval_on_selector("form[data-part=madrs]", "f => { f.noValidate = true; }")
    with page.expect_navigation():
        page.locator("form[data-part=madrs] button[type=submit]").click()
    assert page.locator('[aria-current="step"]').get_attribute("data-step") == "madrs"
    assert "MADRS item 10" in page.get_by_test_id("error-summary").inner_text()
    assert page.locator("#madrs-items-0").input_value() == "2"  # as typed
    assert page.locator("section#madrs").is_visible()


def test_leaving_a_step_with_unsaved_input_asks_first(intake_page):
    """Typed and not saved: a step-list link asks (by mouse or keyboard); Cancel stays with the input kept, OK
    leaves; a reload asks with the browser's leave-page dialog; after a save, nothing asks."""
    page, base = intake_page
    dialogs: list[tuple[str, str]] = []

    def answer_with(accept: bool):
        def answer(dialog) -> None:
            dialogs.append((dialog.type, dialog.message))
            dialog.accept() if accept else dialog.dismiss()
        return answer

    page.goto(f"{base}?step=vitals")
    with page.expect_navigation():  # nothing typed: the step list just moves
        page.locator("[data-step=consent]").click()
    assert dialogs == [] and "step=consent" in page.url
    page.goto(f"{base}?step=vitals")

    page.fill(HEART_RATE, "72")
    page.once("dialog", answer_with(False))
    page.locator("[data-step=phq9]").click()  # Cancel: still on the vitals step, the reading still typed
    assert dialogs[-1][0] == "confirm" and "Baseline vital signs" in dialogs[-1][1], dialogs
    assert "step=vitals" in page.url and page.locator(HEART_RATE).input_value() == "72"
    assert page.locator("section#vitals").is_visible()

    page.once("dialog", answer_with(False))
    with page.expect_event("dialog"):  # a reload: the browser's own leave-page dialog; dismissed, the page stays
        page.evaluate("() => { setTimeout(() => location.reload(), 0); }")
    assert dialogs[-1][0] == "beforeunload", dialogs
    assert page.locator(HEART_RATE).input_value() == "72"

    page.once("dialog", answer_with(True))
    page.locator("[data-step=phq9]").focus()
    with page.expect_navigation():  # by keyboard, and OK: the nurse leaves the step
        page.keyboard.press("Enter")
    assert dialogs[-1][0] == "confirm" and len(dialogs) == 3
    assert page.locator('[aria-current="step"]').get_attribute("data-step") == "phq9"

    page.goto(f"{base}?step=vitals")
    assert page.locator(HEART_RATE).input_value() == ""  # what was left unsaved is gone
    page.fill(HEART_RATE, "72")
    with page.expect_navigation():  # saving asks nothing
        page.locator("form[data-part=vitals] button[type=submit]").click()
    assert "72 /min" in page.get_by_test_id("vitals-recorded").inner_text()
    with page.expect_navigation():  # and after the save, leaving asks nothing
        page.locator("[data-step=phq9]").click()
    assert len(dialogs) == 3, dialogs


def test_saving_one_override_asks_when_another_has_unsaved_input(intake_page):
    """The overrides step has a form per item: saving one would lose a reason typed in another, so it asks."""
    page, base = intake_page
    page.goto(f"{base}?step=contraindications")
    rows = page.locator("form[data-part=contraindications] tbody tr")
    relative = [index for index in range(rows.count()) if rows.nth(index).locator(".absolute-tag").count() == 0][:2]
    for index in range(rows.count()):
        page.check(f"#contraindications-answers-{index}-presence-{'unknown' if index in relative else 'absent'}")
    with page.expect_navigation():
        page.locator("form[data-part=contraindications] button[type=submit]").click()
    page.goto(f"{base}?step=overrides")
    forms = page.locator("form[data-override]")
    assert forms.count() == 2
    for number in range(2):
        forms.nth(number).get_by_label("Reason for the override").fill(f"reviewed with the prescriber ({number})")
    dialogs: list[str] = []

    def answer_with(accept: bool):
        def answer(dialog) -> None:
            dialogs.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return answer

    page.once("dialog", answer_with(False))
    forms.nth(0).get_by_role("button", name="Override").click()  # Cancel: nothing sent, both reasons kept
    assert len(dialogs) == 1 and "other 1 form(s)" in dialogs[0], dialogs
    assert "step=overrides" in page.url and forms.nth(1).get_by_label("Reason for the override").input_value()
    page.once("dialog", answer_with(True))
    with page.expect_navigation():  # OK: the first is saved, the other reason is dropped as the nurse was told
        forms.nth(0).get_by_role("button", name="Override").click()
    assert len(dialogs) == 2
    assert "Overridden" in page.locator("form[data-override]").nth(0).inner_text()
    assert page.locator("form[data-override]").nth(1).get_by_label("Reason for the override").input_value() == ""
