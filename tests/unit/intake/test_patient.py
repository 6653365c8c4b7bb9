from datetime import date

from services.intake.domain.patient import age_in_years


def test_age_turns_on_the_birthday():
    assert age_in_years(1990, 3, 2, date(2026, 3, 1)) == 35
    assert age_in_years(1990, 3, 2, date(2026, 3, 2)) == 36


def test_leap_day_birthday():
    assert age_in_years(2008, 2, 29, date(2026, 2, 28)) == 17
    assert age_in_years(2008, 2, 29, date(2026, 3, 1)) == 18


def test_partial_birth_dates_never_overstate_the_age():
    assert age_in_years(2008, None, None, date(2026, 12, 30)) == 17  # born in 2008: maybe on 31 December
    assert age_in_years(2008, None, None, date(2026, 12, 31)) == 18
    assert age_in_years(2008, 6, None, date(2026, 6, 29)) == 17
    assert age_in_years(2008, 6, None, date(2026, 6, 30)) == 18
