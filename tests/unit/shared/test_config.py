from dataclasses import dataclass
from enum import Enum

import pytest

from shared.config import SettingsError, load_settings


class Basis(Enum):
    ACTUAL = "actual"
    IDEAL = "ideal"


@dataclass(frozen=True)
class ExampleSettings:
    dose_mg_per_kg: float = 0.5
    basis: Basis = Basis.ACTUAL
    cap_mg: float | None = None
    enabled: bool = True
    items: tuple[str, ...] = ("a",)

    def validate(self) -> None:
        if not 0.1 <= self.dose_mg_per_kg <= 1.0:
            raise ValueError("dose_mg_per_kg must be within 0.1-1.0")


def test_defaults_when_nothing_is_set():
    assert load_settings(ExampleSettings, "X_", {}) == ExampleSettings()


def test_values_are_converted_by_type():
    settings = load_settings(ExampleSettings, "X_", {"X_DOSE_MG_PER_KG": "0.75", "X_BASIS": "IDEAL",
                                                     "X_CAP_MG": "70", "X_ENABLED": "no", "X_ITEMS": "a, b"})
    assert settings == ExampleSettings(0.75, Basis.IDEAL, 70.0, False, ("a", "b"))


@pytest.mark.parametrize("env, named", [
    ({"X_DOSE_MG_PER_KG": "lots"}, "X_DOSE_MG_PER_KG"),
    ({"X_BASIS": "lean"}, "X_BASIS"),
    ({"X_ENABLED": "maybe"}, "X_ENABLED"),
    ({"X_DOSE_MG_PER_KG": "2"}, "dose_mg_per_kg must be within 0.1-1.0"),
])
def test_bad_values_stop_start_up_with_the_variable_named(env, named):
    with pytest.raises(SettingsError, match=named):
        load_settings(ExampleSettings, "X_", env)
