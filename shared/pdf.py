"""Printable documents: HTML rendered to PDF with WeasyPrint (pango and cairo underneath; the service images install
them, deploy/docker/Dockerfile), and the FHIR R4 Attachment that carries a PDF.

Why deterministic: the signed note's PDF is made once at signing, stored and sent; the same document rendered again
(a test, a rebuilt image) must give the same bytes, so the bytes, their SHA-1 and the EHR's copy can be compared.
WeasyPrint writes a random file identifier and the current time unless told otherwise: the identifier here is
derived from the document's own key and the creation time is the document's own (``created``), never the clock.
Only local fonts and the given HTML are used: ``url_fetcher`` refuses every URL, so a document can never reach out
to the network (or a file) while it is rendered.

One render at a time per process (``_RENDERING``): the web processes serve requests on threads (gunicorn gthread),
and pango and fontconfig underneath are not documented as safe to drive from several threads at once; a render takes
~0.3 s, so a second signature waits that long rather than risk it."""
from __future__ import annotations

import base64
import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

PDF_CONTENT_TYPE = "application/pdf"
_RENDERING = threading.Lock()
# WeasyPrint and fontTools log what they skip or subset with bits of the document (a URL, a glyph, a CSS value);
# documents hold PHI and the logs may not, so their warnings are not logged (errors are: a render that fails).
for _name in ("weasyprint", "weasyprint.progress", "fontTools"):
    logging.getLogger(_name).setLevel(logging.ERROR)


def _no_fetching() -> Any:
    """A WeasyPrint URL fetcher that loads nothing: a URL in a document (image, stylesheet, font) is left out,
    never fetched."""
    from weasyprint.urls import URLFetcher

    class NoFetching(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"a printable document loads nothing ({url[:40]!r})")

    return NoFetching()


def render_pdf(html: str, *, key: str, created: datetime, title: str) -> bytes:
    """The PDF of ``html``: ``key`` names the document (its PDF file identifier is derived from it), ``created``
    its creation time in the PDF's metadata, ``title`` its title. The same arguments give the same bytes."""
    from weasyprint import HTML  # imported here: loading pango/cairo costs ~0.3 s, only the PDF paths pay it

    if created.tzinfo is None:
        raise ValueError("created needs an offset")
    identifier = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32].encode("ascii")
    with _RENDERING:
        document = HTML(string=html, url_fetcher=_no_fetching()).render()
        document.metadata.title = title
        document.metadata.created = created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        document.metadata.modified = document.metadata.created
        document.metadata.generator = "Ketalink"
        return document.write_pdf(pdf_identifier=identifier)


@dataclass(frozen=True)
class PdfAttachment:
    """A PDF as FHIR R4 ``Attachment`` describes it: ``hash`` is the base64 SHA-1 of the bytes and ``size`` their
    count, as the R4 datatype defines them (Attachment.hash, Attachment.size)."""

    data: bytes
    title: str
    created: datetime

    @property
    def sha1_base64(self) -> str:
        return base64.b64encode(hashlib.sha1(self.data).digest()).decode("ascii")

    @property
    def size(self) -> int:
        return len(self.data)

    def to_fhir(self) -> dict[str, Any]:
        return {
            "contentType": PDF_CONTENT_TYPE,
            "data": base64.b64encode(self.data).decode("ascii"),
            "size": self.size,
            "hash": self.sha1_base64,
            "title": self.title,
            "creation": self.created.isoformat(timespec="seconds"),
        }
