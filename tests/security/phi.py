"""The seeded patients' PHI (names, birth dates in the formats people and libraries write them, MRNs) as patterns,
and a scan of text or log files that reports where each kind was found without repeating the value itself: a
failing test's message must not become the leak."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from deploy.ehr_sandbox.seed import SEED_PATIENTS, SeedPatient

LETTER_BOUNDARY = r"(?<![A-Za-z]){}(?![A-Za-z])"
DIGIT_BOUNDARY = r"(?<![0-9]){}(?![0-9])"


@dataclass(frozen=True)
class PhiPattern:
    patient_key: str  # "seed patient 2 of 4": names the patient without naming them
    kind: str  # "family name", "given name", "birth date", "MRN"
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Finding:
    where: str  # file:line, or a label for text
    kind: str
    patient_key: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind} of {self.patient_key}"


def birth_date_spellings(born: date) -> list[str]:
    """ISO, day-first and month-first with / - . separators, compact, and written-out months."""
    day, month, year = f"{born.day:02d}", f"{born.month:02d}", str(born.year)
    numeric = [f"{year}-{month}-{day}", f"{year}/{month}/{day}", f"{year}{month}{day}"]
    for separator in "/-.":
        numeric += [separator.join((day, month, year)), separator.join((month, day, year))]
    numeric += [f"{born.day}/{born.month}/{year}", f"{born.month}/{born.day}/{year}"]  # without leading zeros
    worded = [f"{born.day} {born:%b} {year}", f"{born.day} {born:%B} {year}", f"{born:%b} {born.day}, {year}",
              f"{born:%B} {born.day}, {year}", f"{born.day}-{born:%b}-{year}"]
    return sorted(set(numeric + worded))


def patterns_for(patient: SeedPatient, key: str) -> list[PhiPattern]:
    found = [PhiPattern(key, "family name", _word(patient.family))]
    found += [PhiPattern(key, "given name", _word(given)) for given in patient.given]
    found += [PhiPattern(key, "birth date", re.compile(DIGIT_BOUNDARY.format(re.escape(text)), re.IGNORECASE))
              for text in birth_date_spellings(patient.birth_date)]
    mrn_digits = re.escape(patient.mrn.split("-")[-1])
    found.append(PhiPattern(key, "MRN", re.compile(
        r"(?<![A-Za-z0-9])" + re.escape(patient.mrn.split("-")[0]) + r"[-_ ]?" + mrn_digits + r"(?![0-9])",
        re.IGNORECASE)))
    return found


def seeded_phi() -> list[PhiPattern]:
    return [pattern for number, patient in enumerate(SEED_PATIENTS, start=1)
            for pattern in patterns_for(patient, f"seed patient {number} of {len(SEED_PATIENTS)}")]


def _word(text: str) -> re.Pattern[str]:
    return re.compile(LETTER_BOUNDARY.format(re.escape(text)), re.IGNORECASE)


def scan_lines(lines: Iterable[str], where: str, patterns: list[PhiPattern]) -> Iterator[Finding]:
    """One finding per line, kind and patient (two spellings of one birth date on a line are one finding)."""
    for number, line in enumerate(lines, start=1):
        found = {(p.kind, p.patient_key): None for p in patterns if p.regex.search(line)}
        for kind, patient_key in found:
            yield Finding(f"{where}:{number}", kind, patient_key)


def scan_text(text: str, label: str, patterns: list[PhiPattern] | None = None) -> list[Finding]:
    return list(scan_lines(text.splitlines(), label, patterns or seeded_phi()))


def scan_files(paths: Iterable[Path], root: Path, patterns: list[PhiPattern] | None = None) -> list[Finding]:
    patterns = patterns or seeded_phi()
    findings: list[Finding] = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as log:
            findings += scan_lines(log, str(path.relative_to(root)), patterns)
    return findings


def report(findings: list[Finding], limit: int = 40) -> str:
    """One line per finding (kind and patient key, never the value), at most ``limit`` lines."""
    lines = [str(finding) for finding in findings[:limit]]
    if len(findings) > limit:
        lines.append(f"... and {len(findings) - limit} more")
    return "\n".join(lines)
