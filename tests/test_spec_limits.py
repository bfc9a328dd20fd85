"""SPEC limits (depth, length) and properties of the parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobwaiter.errors import SpecError
from jobwaiter.waiters.spec import MAX_DEPTH, MAX_LENGTH, Spec, parse_spec


def nested(depth: int, name: str = "chain") -> str:
    return f"{name}[" * depth + "tmux" + "]" * depth


def test_deepest_allowed_nesting_parses() -> None:
    spec = parse_spec(nested(MAX_DEPTH - 1))
    assert str(spec) == nested(MAX_DEPTH - 1)


@pytest.mark.parametrize("text", [nested(MAX_DEPTH), nested(200, "a"), "a[" * 1500,
                                  "chain[" * 3000])
def test_too_deep_or_too_long_is_one_spec_error(text: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    message = str(info.value)
    assert "\n" not in message
    assert "nested more than" in message or f"at most {MAX_LENGTH}" in message


def test_length_limit() -> None:
    name = "a" * MAX_LENGTH
    assert parse_spec(name) == Spec(name)
    with pytest.raises(SpecError, match=f"{MAX_LENGTH + 1} characters long"):
        parse_spec(name + "b")


_ALPHABET = st.sampled_from([*"ab_.-[], \t\n0é\udcff", "chain", "tmux", "spark"])


@given(st.text(alphabet=st.characters(), max_size=300) | st.lists(_ALPHABET, max_size=200)
       .map("".join))
def test_any_text_parses_or_raises_spec_error(text: str) -> None:
    try:
        spec = parse_spec(text)
    except SpecError as exc:
        assert "\n" not in str(exc)
        return
    assert parse_spec(str(spec)) == spec


_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,6}(\.[A-Za-z_][A-Za-z0-9_-]{0,6}){0,2}",
                      fullmatch=True)
_SPECS = st.recursive(_NAME.map(Spec), lambda inner: st.builds(
    Spec, _NAME, st.lists(inner, min_size=1, max_size=4).map(tuple)), max_leaves=30)


def _depth(spec: Spec) -> int:
    return 1 + max((_depth(a) for a in spec.args), default=0)


@given(_SPECS)
def test_valid_specs_round_trip(spec: Spec) -> None:
    if _depth(spec) > MAX_DEPTH or len(str(spec)) > MAX_LENGTH:
        return
    assert parse_spec(str(spec)) == spec
