"""The SPEC grammar and name resolution: every problem is a SpecError before anything runs."""

from __future__ import annotations

import pytest

from jobwaiter.errors import SpecError
from jobwaiter.waiters.registry import available, resolve
from jobwaiter.waiters.session import ScreenWaiter, TmuxWaiter
from jobwaiter.waiters.spec import Spec, parse_spec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tmux", Spec("tmux")),
        ("  tmux  ", Spec("tmux")),
        ("chain[tmux, spark]", Spec("chain", (Spec("tmux"), Spec("spark")))),
        ("chain[ tmux ,spark[all] ]", Spec("chain", (Spec("tmux"), Spec("spark", (Spec("all"),))))),
        ("chain[a, chain[b]]", Spec("chain", (Spec("a"), Spec("chain", (Spec("b"),))))),
        ("pkg.mod.Waiter", Spec("pkg.mod.Waiter")),
        ("my-plugin", Spec("my-plugin")),
    ],
)
def test_parse(text: str, expected: Spec) -> None:
    assert parse_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("chain[]", "expected a waiter name"),
        ("chain[a,,b]", "expected a waiter name, found ','"),
        ("chain[a, b", "missing ']'"),
        ("chain[a]]", "unexpected ']'"),
        ("chain a", "unexpected 'a'"),
        ("sp ark", "unexpected 'ark'"),
        ("tmux,", "unexpected ','"),
        ("[tmux]", "expected a waiter name"),
        ("tm$ux", "unexpected character"),
        ("pkg..Cls", "unexpected character"),
        ("chain[a b]", "expected ',' or ']'"),
    ],
)
def test_syntax_errors(text: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    assert fragment in str(info.value)


def test_error_points_at_column() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec("chain[a,,b]")
    assert "column 9" in str(info.value)


def test_case_sensitive() -> None:
    with pytest.raises(SpecError, match="unknown job waiter 'TMUX'"):
        resolve("TMUX", {})


def test_bare_chain_is_an_error() -> None:
    with pytest.raises(SpecError, match="'chain' needs at least one waiter"):
        resolve("chain", {})


def test_unknown_name_lists_available() -> None:
    with pytest.raises(SpecError) as info:
        resolve("chain[tmux, nosuch]", {})
    msg = str(info.value)
    assert "unknown job waiter 'nosuch'" in msg
    assert "tmux" in msg and "screen" in msg and "chain" in msg


def test_chains_flatten_in_order() -> None:
    waiters = resolve("chain[tmux, chain[screen, tmux]]", {})
    assert [type(w) for w in waiters] == [TmuxWaiter, ScreenWaiter, TmuxWaiter]


def test_builtin_takes_no_parameters() -> None:
    with pytest.raises(SpecError, match="takes no parameters"):
        resolve("tmux[x]", {})


def test_dotted_path_that_does_not_import() -> None:
    with pytest.raises(SpecError, match="cannot import 'no_such_module_xyz'"):
        resolve("no_such_module_xyz.Waiter", {})


def test_dotted_path_to_a_non_waiter() -> None:
    with pytest.raises(SpecError, match="is not a JobWaiter class"):
        resolve("json.JSONDecoder", {})


def test_dotted_path_missing_attribute() -> None:
    with pytest.raises(SpecError, match="has no 'Nope'"):
        resolve("json.Nope", {})


def test_builtins_come_from_the_entry_point_group() -> None:
    names = [n for n, _ in available()]
    assert {"chain", "tmux", "screen"} <= set(names)
    assert all(desc for _, desc in available())
