"""A card's ``detail`` as HTML. CDS Hooks says ``detail`` is GitHub Flavored Markdown, and it comes from a CDS
service, not from the EHR: so it is rendered by markdown-it-py (CommonMark, plus GFM's tables and strikethrough) with
raw HTML off (any tag in it is shown as text, escaped), no images (an image would be fetched from wherever the
service names, unseen), and links only to absolute http(s) URLs (``javascript:``, ``data:``, relative and other
links stay plain text), each opening in a new tab without the opener. Headings are moved under the card's own
heading (h2), so a card cannot put an h1 on the EHR's page."""
from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

LINK_SCHEMES = ("http://", "https://")
CARD_HEADING_LEVEL = 2  # the card's summary is an h2; its detail's headings go below it
MAX_DETAIL_CHARS = 20000  # a longer detail is cut: a CDS service cannot make the page unbounded


def _safe_link(url: str) -> bool:
    return url.strip().lower().startswith(LINK_SCHEMES)


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"]).disable("image")
    md.validateLink = _safe_link  # type: ignore[method-assign]

    def link_open(self: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("target", "_blank")
        tokens[idx].attrSet("rel", "noopener noreferrer")
        return str(self.renderToken(tokens, idx, options, env))

    def heading(self: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
        level = int(tokens[idx].tag[1])
        tokens[idx].tag = f"h{min(6, level + CARD_HEADING_LEVEL)}"
        return str(self.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("heading_open", heading)
    md.add_render_rule("heading_close", heading)
    return md


_MARKDOWN = _renderer()


def render_detail(detail: Any) -> Markup:
    """The detail as safe HTML; a detail that is not a string shows nothing."""
    if not isinstance(detail, str) or not detail.strip():
        return Markup("")
    return Markup(_MARKDOWN.render(detail[:MAX_DETAIL_CHARS]))
