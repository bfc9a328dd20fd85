"""The job waiter SPEC grammar.

    spec := name ['[' spec {',' spec} ']']
    name := ident {'.' ident}

Whitespace is allowed only between tokens; names are case-sensitive. ``chain[...]`` and
parameterised waiters (``spark[all]``) share this one parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jobwaiter.errors import SpecError

#: Limits that keep a hostile or mistyped SPEC from costing a RecursionError or much time;
#: real specs are a few names deep and a few dozen characters long.
MAX_DEPTH = 32
MAX_LENGTH = 4096

_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)|(?P<punct>[\[\],]))"
)


@dataclass(frozen=True)
class Spec:
    name: str
    args: tuple[Spec, ...] = ()

    @property
    def dotted(self) -> bool:
        return "." in self.name

    def names(self) -> set[str]:
        """Every waiter name this SPEC mentions, chains included."""
        names = {self.name}
        for arg in self.args:
            names |= arg.names()
        return names

    def __str__(self) -> str:
        if not self.args:
            return self.name
        return f"{self.name}[{', '.join(str(a) for a in self.args)}]"


def parse_spec(text: str) -> Spec:
    """Parse a SPEC or raise SpecError pointing at the offending column."""
    if len(text) > MAX_LENGTH:
        raise SpecError(f"--job-waiter SPEC is {len(text)} characters long "
                        f"(at most {MAX_LENGTH})")
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    stripped_end = len(text.rstrip())
    while pos < stripped_end:
        m = _TOKEN.match(text, pos)
        if not m:
            raise _error(text, _skip_space(text, pos), "unexpected character")
        group = "name" if m.group("name") else "punct"
        kind = "name" if group == "name" else m.group("punct")
        tokens.append((kind, m.group(group), m.start(group)))
        pos = m.end()
    if not tokens:
        raise SpecError("empty --job-waiter SPEC")
    spec, i = _parse(text, tokens, 0, 1)
    if i != len(tokens):
        raise _error(text, tokens[i][2], f"unexpected {tokens[i][1]!r}")
    return spec


def _parse(
    text: str, tokens: list[tuple[str, str, int]], i: int, depth: int
) -> tuple[Spec, int]:
    if i >= len(tokens):
        raise _error(text, len(text), "expected a waiter name")
    kind, value, col = tokens[i]
    if kind != "name":
        raise _error(text, col, f"expected a waiter name, found {value!r}")
    i += 1
    if i >= len(tokens) or tokens[i][0] != "[":
        return Spec(value), i
    if depth >= MAX_DEPTH:
        raise _error(text, tokens[i][2], f"nested more than {MAX_DEPTH} deep")
    args: list[Spec] = []
    i += 1
    while True:
        arg, i = _parse(text, tokens, i, depth + 1)
        args.append(arg)
        if i >= len(tokens):
            raise _error(text, len(text), "missing ']'")
        if tokens[i][0] == "]":
            return Spec(value, tuple(args)), i + 1
        if tokens[i][0] != ",":
            raise _error(text, tokens[i][2], f"expected ',' or ']', found {tokens[i][1]!r}")
        i += 1


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _error(text: str, col: int, what: str) -> SpecError:
    return SpecError(f"bad --job-waiter {text!r}: {what} at column {col + 1}")
