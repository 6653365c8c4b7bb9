"""shared/pdf.py: the same document gives the same bytes, a document loads nothing from outside (a file or URL it
names is left out), and the FHIR Attachment of a PDF carries R4's size and base64 SHA-1 hash."""
from __future__ import annotations

import base64
import hashlib
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader

from shared.pdf import PDF_CONTENT_TYPE, PdfAttachment, render_pdf

CREATED = datetime(2026, 12, 7, 10, 30, tzinfo=timezone(timedelta(hours=-6)))


def _images(pdf: bytes) -> int:
    reader = PdfReader(io.BytesIO(pdf))
    return sum(len(page.images) for page in reader.pages)


def test_the_same_document_gives_the_same_bytes_and_another_key_another_identifier():
    html = "<p>Ketamine 35 mg IV over 40 min</p>"
    first = render_pdf(html, key="note/n-1", created=CREATED, title="Note")
    assert first == render_pdf(html, key="note/n-1", created=CREATED, title="Note")
    other = render_pdf(html, key="note/n-2", created=CREATED, title="Note")
    assert other != first
    reader = PdfReader(io.BytesIO(first))
    assert reader.metadata.title == "Note" and reader.metadata.creation_date == CREATED.astimezone(timezone.utc)
    assert "Ketamine 35 mg IV over 40 min" in reader.pages[0].extract_text()


def test_a_document_loads_no_file_or_url(tmp_path: Path):
    from PIL import Image
    from weasyprint import HTML

    image = tmp_path / "pixel.png"
    Image.new("RGB", (8, 8), "black").save(image)
    html = f'<img src="{image.as_uri()}" alt=""><img src="http://127.0.0.1:9/x.png" alt=""><p>text</p>'
    assert _images(HTML(string=html).write_pdf()) == 1  # WeasyPrint alone would embed the file
    assert _images(render_pdf(html, key="k", created=CREATED, title="t")) == 0
    chart = '<svg xmlns="http://www.w3.org/2000/svg" width="90" height="20"><text x="0" y="15">PHQ-9</text></svg>'
    assert "PHQ-9" in PdfReader(io.BytesIO(render_pdf(chart, key="k", created=CREATED, title="t"))).pages[0] \
        .extract_text()  # inline SVG (the score charts) is drawn without fetching anything


def test_a_creation_time_without_an_offset_is_refused():
    with pytest.raises(ValueError):
        render_pdf("<p>x</p>", key="k", created=datetime(2026, 12, 7, 10), title="t")


def test_the_attachment_has_the_size_and_sha1_hash_r4_defines():
    data = render_pdf("<p>x</p>", key="k", created=CREATED, title="t")
    attachment = PdfAttachment(data, "Note (PDF)", CREATED).to_fhir()
    assert attachment["contentType"] == PDF_CONTENT_TYPE
    assert base64.b64decode(attachment["data"]) == data and attachment["size"] == len(data)
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(data).digest()).decode()
    assert attachment["creation"] == "2026-12-07T10:30:00-06:00" and attachment["title"] == "Note (PDF)"
