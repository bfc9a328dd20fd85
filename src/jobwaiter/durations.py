"""Durations as people type them: one parser for every timeout, age and grace period.

    90  90s  1.5  2.5m  30m  1h30m  1d12h  7d  2w

A bare number is seconds. Otherwise one or more NUMBER UNIT parts, units from largest to
smallest, each at most once: w (weeks), d, h, m, s. Refused: zero (unless the caller allows
it), negatives, inf/nan, exponents, and anything else. Stdlib only, so the library can use it.
"""

from __future__ import annotations

import math
import re

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_NUMBER = r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+"  # ASCII only: \d takes any script
_PART = re.compile(rf"({_NUMBER})([wdhms])")
_BARE = re.compile(_NUMBER)
#: Longer than any sensible wait, and far inside what float and time.monotonic() handle.
MAX_SECONDS = 100 * 365 * 86400.0
EXAMPLES = "90, 90s, 1.5, 30m, 1h30m, 7d, 2w"


def parse_duration(text: str, allow_zero: bool = False) -> float:
    """Seconds for ``text``; ValueError (one line, quoting ``text``) when it is not a
    duration of the forms above."""
    seconds = _seconds(text.strip())
    if seconds is None:
        raise ValueError(f"{text!r} is not a duration (examples: {EXAMPLES})")
    if seconds == 0 and not allow_zero:
        raise ValueError(f"{text!r}: the duration must be more than zero")
    if not math.isfinite(seconds) or seconds > MAX_SECONDS:
        raise ValueError(f"{text!r}: the duration must be at most 100 years")
    return seconds


def _seconds(text: str) -> float | None:
    if _BARE.fullmatch(text):
        return float(text)
    total = 0.0
    pos = 0
    last = -1  # index in _UNITS of the previous part's unit: each must be smaller
    order = list(_UNITS)
    while pos < len(text):
        m = _PART.match(text, pos)
        if m is None:
            return None
        rank = order.index(m.group(2))
        if rank <= last:
            return None
        last = rank
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return total if text else None

