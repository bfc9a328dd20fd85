"""The one duration parser, and every CLI option that takes a duration."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobwaiter.durations import MAX_SECONDS, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("1.5", 1.5), (".5m", 30), ("30m", 1800), ("1h30m", 5400),
     ("1d12h", 129600), ("7d", 604800), ("2w", 1209600), ("1w2d3h4m5s", 788645),
     (" 12h ", 43200), ("2.5h", 9000)],
)
def test_forms(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", " ", "s", "m5", "-5", "-1s", "+5", "1e3", "1e309", "inf", "Infinity", "nan", "NaN",
     "1h 30m", "1h30", "30m1h", "1m1m", "5x", "5 s", "1.", "1..5", "0x10", "٣", "5S",
     "9" * 400, "1000000000w"],
)
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["0", "0s", "0.0", "0h0m", "0w"])
def test_zero_only_where_allowed(text: str) -> None:
    with pytest.raises(ValueError, match="more than zero"):
        parse_duration(text)
    assert parse_duration(text, allow_zero=True) == 0


@given(st.text())
def test_any_text_is_a_duration_or_a_value_error(text: str) -> None:
    try:
        seconds = parse_duration(text, allow_zero=True)
    except ValueError as exc:
        assert "\n" not in str(exc).replace(repr(text), "")
        return
    assert math.isfinite(seconds) and 0 <= seconds <= MAX_SECONDS


_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


@given(st.dictionaries(st.sampled_from(list(_UNITS)), st.integers(0, 1000), min_size=1))
def test_parts_add_up(parts: dict[str, int]) -> None:
    text = "".join(f"{parts[u]}{u}" for u in _UNITS if u in parts)
    expected = sum(n * _UNITS[u] for u, n in parts.items())
    assert parse_duration(text, allow_zero=True) == expected


@given(st.floats(min_value=0.001, max_value=1e6, allow_nan=False))
def test_bare_seconds(value: float) -> None:
    text = f"{value:.3f}"
    assert parse_duration(text) == pytest.approx(float(text))


@pytest.mark.parametrize(
    "argv",
    [["exec", "c.yaml", "true", "--job-timeout"],
     ["submit", "--job-timeout", "X", "c.yaml", "j.sh"],
     ["wait", "c.yaml", "s", "--job-timeout"], ["jobs", "c.yaml", "--older-than"],
     ["kill", "c.yaml", "s", "--grace"]],
)
@pytest.mark.parametrize("bad", ["1e309", "inf", "nan", "-1", "-5m", "soon", "1h30"])
def test_every_duration_option_refuses_bad_values(cli, env, argv: list[str], bad: str) -> None:
    argv = [bad if a == "X" else a for a in argv] + ([] if "X" in argv else [bad])
    r = cli(*argv)
    assert r.code == 2
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "is not a duration" in lines[0], r.err


@pytest.mark.parametrize("argv", [["exec", "c.yaml", "true", "--job-timeout", "0"],
                                  ["wait", "c.yaml", "s", "--job-timeout", "0s"]])
def test_zero_timeout_is_refused(cli, env, argv: list[str]) -> None:
    r = cli(*argv)
    assert r.code == 2 and "more than zero" in r.err and len(r.err.strip().splitlines()) == 1


def test_exec_takes_unit_durations(cli, env) -> None:
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux",
            "--job-timeout", "1h30m", "-q")
    assert r.code == 0, r.err
