"""Printable documents: how long the signed note's PDF takes to make and how much memory it needs, and how large
the note's message gets, for docs/performance.md ("Printable documents").

    .venv/bin/python -m bench.pdf_phase [--runs 20]

A typical note (the unit tests' discharged session) is rendered once cold (WeasyPrint and pango loaded, fonts
found) and ``--runs`` times warm; then the longest note the API takes (100,000 characters, ASCII and 4-byte
characters) once each. Printed: times, the process's peak RSS before and after, the PDF's size and the size of the
``note-signed`` focus (DocumentReference with both attachments + Provenance) against the producer's 1 MiB limit."""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from dataclasses import replace


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs

    from services.documentation.domain.note import sign_note
    from services.documentation.handlers.note_pdf import MESSAGE_FOCUS_MAX_BYTES, PatientIdentity, signed_note_pdf
    from services.documentation.translators.message_out import note_signed_focus
    from tests.unit.documentation.builders import CLINIC_TZ, DOCTOR, at
    from tests.unit.documentation.test_translate_session_resources import notes

    identity = PatientIdentity("Avery Quinn", "1980-04-12", "KL-1001")
    draft = notes()[0]
    note = sign_note(draft, DOCTOR, at(10, 45))
    before = _peak_rss_mib()
    started = time.perf_counter()
    pdf = signed_note_pdf(note, identity, CLINIC_TZ)
    cold_s = time.perf_counter() - started
    warm = []
    for _ in range(runs):
        started = time.perf_counter()
        signed_note_pdf(note, identity, CLINIC_TZ)
        warm.append(time.perf_counter() - started)
    focus = len(json.dumps(note_signed_focus(note, pdf), separators=(",", ":")))
    print(f"typical note: text {len(note.text.encode())} B, PDF {pdf.size} B, focus {focus} B; cold {cold_s:.2f} s, "
          f"warm p50 {statistics.median(warm) * 1000:.0f} ms, max {max(warm) * 1000:.0f} ms ({runs} runs); "
          f"peak RSS {before:.0f} → {_peak_rss_mib():.0f} MiB")
    for label, line in (("ASCII", "Patient tolerated the infusion well; observations stable throughout. " * 2),
                        ("4-byte", "\U0001d400" * 79 + "\n")):
        text = (line * (100_000 // len(line) + 1))[:100_000]
        long_note = sign_note(replace(draft, text=text), DOCTOR, at(10, 45))
        started = time.perf_counter()
        long_pdf = signed_note_pdf(long_note, identity, CLINIC_TZ)
        took = time.perf_counter() - started
        size = len(json.dumps(note_signed_focus(long_note, long_pdf), separators=(",", ":")))
        print(f"100,000 characters ({label}): text {len(text.encode())} B, PDF {long_pdf.size} B, {took:.1f} s, "
              f"focus {size} B of {MESSAGE_FOCUS_MAX_BYTES} allowed; peak RSS {_peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
