import pytest

from services.intake.domain.settings import IntakeSettings


@pytest.fixture
def settings() -> IntakeSettings:
    return IntakeSettings()
