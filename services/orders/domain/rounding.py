"""Rounding to a clinic's increments (dose to 1 mg, volume to 0.1 mL, rate to 0.1 mL/h).

Decimal half-up, not Python's ``round``: binary floats and banker's rounding would turn 40.5 mg into 40 mg and
4.45 mL into 4.4 mL, which a nurse checking the order by hand would not reproduce."""
from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal


def exact(value: float | Decimal) -> Decimal:
    """A Decimal of the number as written (``str``), so 0.1 is 0.1 and not its binary approximation."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def round_to_increment(value: float | Decimal, increment: float) -> float:
    """``value`` rounded half-up to the nearest multiple of ``increment``."""
    step = exact(increment)
    steps = (exact(value) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return float(steps * step)


def floor_to_increment(value: float | Decimal, increment: float) -> float:
    """``value`` rounded down to a multiple of ``increment`` (used where rounding up would exceed a limit)."""
    step = exact(increment)
    steps = (exact(value) / step).quantize(Decimal(1), rounding=ROUND_FLOOR)
    return float(steps * step)


def decimals_of(increment: float) -> int:
    """How many decimals an increment shows: 1 → 0, 0.1 → 1, 0.25 → 2."""
    exponent = exact(increment).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def format_amount(value: float, increment: float) -> str:
    """``value`` printed with as many decimals as its rounding increment, e.g. 156 at 0.1 → ``156.0``."""
    return f"{value:.{decimals_of(increment)}f}"
