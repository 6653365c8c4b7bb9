"""The sandbox EHR's chart page in a real browser: the seeded patients, each with a launch button per app."""
from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.integration


def test_chart_page_offers_each_app_for_each_seeded_patient(smart_stack, page):
    page.goto(smart_stack.chart_url)
    text = page.inner_text("body")
    for name in ("Gonzalez", "Okafor", "Lindqvist", "Chen"):
        assert name in text
    buttons = page.get_by_role("button").all_inner_texts()
    for app in ("intake", "orders", "documentation"):
        assert sum(app in b.lower() for b in buttons) >= 4, buttons
    screenshot(page, "ehr-chart")
