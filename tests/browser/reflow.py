"""Reflow on a phone (WCAG 1.4.10): a page at 390 CSS px must not scroll sideways. A data table is exempt (the
criterion allows it, and ketalink.css lets a wide one widen the page rather than add a keyboard stop), so a page
with one is held to the rest: nothing outside a table may reach past the viewport."""
from __future__ import annotations

from typing import Any

PHONE = {"width": 390, "height": 844}
TOLERANCE_PX = 1  # sub-pixel rounding of the layout

_WIDEST_OUTSIDE_TABLES = """() => {
  let widest = {right: 0, what: ''};
  for (const element of document.body.querySelectorAll('*')) {
    if (element.closest('table')) continue;
    const box = element.getBoundingClientRect();
    if (box.width > 0 && box.right + window.scrollX > widest.right) {
      widest = {right: Math.round(box.right + window.scrollX),
                what: element.tagName.toLowerCase() + (element.id ? '#' + element.id : '')
                      + (element.className && typeof element.className === 'string' ? '.' + element.className.trim().split(/\\s+/).join('.') : '')};
    }
  }
  return widest;
}"""


def page_width(page: Any) -> int:
    """The document's width in CSS px (more than the viewport: the page scrolls sideways)."""
    return page.evaluate("() => document.documentElement.scrollWidth")


def assert_fits(page: Any, name: str) -> None:
    """The page does not scroll sideways at its current viewport."""
    viewport = page.viewport_size["width"]
    width = page_width(page)
    assert width <= viewport + TOLERANCE_PX, f"{name}: {width} px wide at a {viewport} px viewport"


def assert_fits_beside_tables(page: Any, name: str) -> None:
    """Nothing but a data table reaches past the viewport (the table may still widen the page)."""
    viewport = page.viewport_size["width"]
    widest = page.evaluate(_WIDEST_OUTSIDE_TABLES)
    assert widest["right"] <= viewport + TOLERANCE_PX, (
        f"{name}: {widest['what']} reaches {widest['right']} px at a {viewport} px viewport")
