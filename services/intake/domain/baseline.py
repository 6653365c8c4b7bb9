"""The baseline parts a clinic can require before a decision; a missing one holds the intake at "needs review"."""
from __future__ import annotations

import enum


class BaselinePart(enum.Enum):
    BLOOD_PRESSURE = "blood-pressure"
    HEART_RATE = "heart-rate"
    SPO2 = "spo2"
    RESPIRATORY_RATE = "respiratory-rate"
    WEIGHT = "weight"
    HEIGHT = "height"
    PHQ9 = "phq9"
    MADRS = "madrs"
    CSSRS = "cssrs"


BASELINE_PART_LABELS: dict[BaselinePart, str] = {
    BaselinePart.BLOOD_PRESSURE: "blood pressure",
    BaselinePart.HEART_RATE: "heart rate",
    BaselinePart.SPO2: "oxygen saturation",
    BaselinePart.RESPIRATORY_RATE: "respiratory rate",
    BaselinePart.WEIGHT: "body weight",
    BaselinePart.HEIGHT: "body height",
    BaselinePart.PHQ9: "PHQ-9",
    BaselinePart.MADRS: "MADRS",
    BaselinePart.CSSRS: "C-SSRS screener",
}

ALL_BASELINE_PARTS: tuple[str, ...] = tuple(part.value for part in BaselinePart)
