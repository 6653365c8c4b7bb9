"""Accessibility: axe-core on every clinician page of the three services and the sandbox chart, with screenshots
at a desktop width, a 1024x768 chair-side screen and a phone (test-artifacts/screenshots/<page>-<size>.png)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.axe import assert_accessible

BROKEN_PAGE = """<!doctype html><html><head><title>Broken</title></head><body>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<form><input type="text" name="weight"><button></button></form>
<p style="color:#bbb;background:#fff">Pale text</p></body></html>"""


@pytest.fixture
def blank_page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_the_axe_check_fails_on_a_page_with_an_unlabelled_image_field_and_button(blank_page) -> None:
    blank_page.set_content(BROKEN_PAGE)
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_accessible(blank_page, "deliberately-broken")
    message = str(failure.value)
    for rule in ("image-alt", "label", "button-name", "color-contrast"):
        assert f"- {rule} [" in message, message
    assert "help: https://dequeuniversity.com/rules/axe/" in message


def test_the_axe_check_passes_the_same_page_made_accessible(blank_page) -> None:
    fixed = (BROKEN_PAGE.replace("<html>", '<html lang="en">').replace("<img ", '<img alt="Clinic logo" ')
             .replace('<input type="text"', '<label for="w">Weight (kg)</label><input id="w" type="text"')
             .replace("<button></button>", "<button>Save</button>").replace("#bbb", "#555")
             .replace("<body>", "<body><main><h1>Fixed</h1>").replace("</body>", "</main></body>"))
    blank_page.set_content(fixed)
    result = assert_accessible(blank_page, "deliberately-fixed")
    assert {rule["id"] for rule in result["passes"]} >= {"image-alt", "label", "button-name", "color-contrast"}
