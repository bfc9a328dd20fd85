"""Every problem of a cluster config file, each on one line: where it is (the key path and,
when the config came from a file, its line) and what is wrong, with the key probably meant
for an unknown one.

pydantic already collects every error of a validation; this module says them in the
config's own terms: key paths as written in the file (no discriminator tags), YAML lines, and
the keys a section defines for a did-you-mean.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from jobwaiter.runtimes import SettingsError, runtime_names

Loc = tuple[str | int, ...]
#: A key path as written in the file: mapping keys and list indexes.
KeyPath = list[str | int]

_UNKNOWN = ("extra_forbidden", "unexpected_keyword_argument")
_MISSING = ("missing", "missing_keyword_argument", "missing_argument")
_NOT_A_MAPPING = ("model_type", "model_attributes_type", "dict_type", "dataclass_type")


def describe(
    exc: ValidationError,
    model: type[BaseModel],
    node: yaml.Node | None = None,
    overridden: Mapping[str, str] | None = None,
) -> list[str]:
    """One line per problem, in the order of the file (those without a line first).

    ``node`` is the YAML document the data came from (for line numbers); ``overridden`` maps
    top-level keys whose value came from elsewhere to where (``--cluster-name``): no line of
    the file is blamed for them.
    """
    overridden = overridden or {}
    found: list[tuple[int, str]] = []
    odd_keys: dict[tuple[str | int, ...], int] = {}  # keys that are no strings, per mapping
    for err in exc.errors():
        loc = err["loc"]
        if err["type"] == "invalid_key" or loc[-1:] == ("[key]",):
            # A key YAML did not read as a string. pydantic shows it converted (yes: -> 1);
            # the file has its text.
            path, _ = _file_path(model, loc[:-1] if loc[-1:] == ("[key]",) else loc)
            section = tuple(path[:-1])
            nth = odd_keys[section] = odd_keys.get(section, -1) + 1
            found.append(_odd_key_problem(node, path, nth))
            continue
        path, parents = _file_path(model, loc)
        for shown, where, message in _messages(err, path, parents):
            origin = overridden.get(str(where[0])) if where else None
            line = None if origin else _line(node, where)
            text = f"{_render(shown)}: {message}" if shown else message
            text += f" (from {origin})" if origin else ""
            found.append((line or 0, f"line {line}: {text}" if line else text))
    found.sort(key=lambda item: item[0])
    return list(dict.fromkeys(text for _, text in found))


def _odd_key_problem(node: yaml.Node | None, path: KeyPath, nth: int) -> tuple[int, str]:
    """(line or 0, problem) for the ``nth`` key of the mapping at ``path[:-1]`` that is no
    string; ``path[-1]`` is that key as pydantic shows it."""
    section = f"{_render(path[:-1])}: " if path[:-1] else ""
    key = _odd_key(node, path[:-1], nth) if node is not None else None
    if key is None:
        return 0, f"{section}key {str(path[-1])!r} is not a string (quote it)"
    line = key.start_mark.line + 1
    kind = _YAML_TYPES.get(key.tag, "another type")
    return line, (f"line {line}: {section}key {key.value!r} is not a string: YAML reads it "
                  f"as {kind} (quote it)")


def _messages(err: ErrorDetails, path: KeyPath, parents: list[type]) -> Iterator[
    tuple[KeyPath, KeyPath, str]
]:
    """(the key path shown, the key path whose line is shown, message) for one pydantic
    error; a runtime's settings check may hold several."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in _UNKNOWN:
        yield path, path, "unknown key" + _unknown_hint(str(path[-1]), parents)
    elif kind in _MISSING:
        yield path, path, "required key is missing"
    elif kind == "value_error" and isinstance(ctx.get("error"), SettingsError):
        # The messages name their keys ("master_port must be ..."); the line is the key's.
        for key, message in ctx["error"].problems:
            yield path, [*path, key], message
    elif kind == "value_error":  # a ValueError of some other check
        yield path, path, err["msg"].removeprefix("Value error, ")
    elif kind == "string_pattern_mismatch" and path == ["cluster_name"]:
        yield path, path, f"{err.get('input')!r} must be lowercase letters, digits and '-'"
    elif kind == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        expected = [t.strip("' ") for t in str(ctx.get("expected_tags", "")).split(",")]
        where = [*path, "type"]
        yield where, where, (f"unknown provider type {tag!r} (expected "
                             f"{' or '.join(expected)})" + _did_you_mean(tag, expected))
    elif kind == "union_tag_not_found":
        where = [*path, "type"]
        yield where, where, "required key is missing (local or ssh)"
    elif kind in _NOT_A_MAPPING:
        yield path, path, f"expected a mapping (key: value lines), got {_kind(err.get('input'))}"
    else:
        yield path, path, err["msg"]


def _unknown_hint(key: str, parents: list[type]) -> str:
    known = {k for cls in parents for k in _keys(cls)}
    # The runtime section's keys are the names of runtimes, most of them not loaded.
    if any(getattr(cls, "holds_runtimes", False) for cls in parents):
        runtimes = runtime_names()
        if key in runtimes:
            # Registered, but _config_model added no field for it.
            return f" (the {key} runtime has no settings)"
        known.update(runtimes)
    return _did_you_mean(key, sorted(known))


def closest(word: str, choices: Sequence[str]) -> str | None:
    """The choice ``word`` probably misspells, compared without case (``Cluster_Name`` means
    ``cluster_name``); None when none is close."""
    lowered = {c.lower(): c for c in choices if c != word}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    hint = closest(word, choices)
    return f"; did you mean {hint}?" if hint else ""


# -- key paths ---------------------------------------------------------------------------------


def _file_path(model: type[BaseModel], loc: Loc) -> tuple[KeyPath, list[type]]:
    """pydantic's location as the key path of the file, and the classes that define the keys
    of the mapping holding its last key. pydantic puts the tag of a discriminated union in
    the location (``provider.ssh.head_ip``); the file has no such key."""
    path: KeyPath = []
    classes: list[type] = [model]
    parents = classes
    for part in loc:
        if isinstance(part, int):  # a list item: its classes are those of the list
            path.append(part)
            continue
        tagged = [cls for cls in classes if _tag(cls) == part]
        if tagged and not any(part in _keys(cls) for cls in classes):
            classes = tagged
            continue
        path.append(part)
        parents = classes
        classes = [sub for cls in classes for sub in _classes_in(_annotation(cls, part))]
    return path, parents


def _render(path: Sequence[str | int]) -> str:
    """``provider.worker_ips[1]``; a key with spaces or control characters in quotes, so that
    every problem stays one line."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        key = part if part.isprintable() and part.split() == [part] else repr(part)
        text += f".{key}" if text else key
    return text


def _keys(cls: type) -> list[str]:
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return list(cls.model_fields)
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls)]
    return []


def _annotation(cls: type, key: str) -> Any:
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        field = cls.model_fields.get(key)
        return field.annotation if field is not None else None
    return None  # a runtime's settings are flat: nothing below them


def _classes_in(annotation: Any) -> list[type]:
    """The models and dataclasses a field's annotation can hold (through Optional, unions,
    lists and Annotated)."""
    if isinstance(annotation, type) and (issubclass(annotation, BaseModel)
                                         or dataclasses.is_dataclass(annotation)):
        return [annotation]
    return [cls for arg in typing.get_args(annotation) for cls in _classes_in(arg)]


def _tag(cls: type) -> str | None:
    """The ``type`` a member of a discriminated union is chosen by."""
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        return None
    field = cls.model_fields.get("type")
    if field is None or typing.get_origin(field.annotation) is not Literal:
        return None
    values = typing.get_args(field.annotation)
    return str(values[0]) if len(values) == 1 else None


# -- lines ---------------------------------------------------------------------------------------


def _line(node: yaml.Node | None, path: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest key of ``path`` the document has: the key itself, or,
    for a key that is missing, the section that lacks it (None at the top level)."""
    line = None
    for part in path:
        mark, node = _child(node, part)
        if mark is None:
            break
        line = mark.line + 1
    return line


def _child(node: yaml.Node | None, part: str | int) -> tuple[yaml.Mark | None, yaml.Node | None]:
    """Where the key or list item ``part`` of ``node`` starts, and its value (None, None when
    there is none)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key.start_mark, value
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
            and 0 <= part < len(node.value):
        return node.value[part].start_mark, node.value[part]
    return None, None


_YAML_TYPES = {"tag:yaml.org,2002:bool": "a boolean", "tag:yaml.org,2002:int": "a number",
               "tag:yaml.org,2002:float": "a number", "tag:yaml.org,2002:null": "null",
               "tag:yaml.org,2002:timestamp": "a date"}


def _odd_key(node: yaml.Node | None, path: Sequence[str | int], nth: int) -> yaml.Node | None:
    """The ``nth`` key of the mapping at ``path`` that YAML does not read as a string."""
    for part in path:
        _, node = _child(node, part)
    if not isinstance(node, yaml.MappingNode):
        return None
    odd = [key for key, _ in node.value if key.tag != "tag:yaml.org,2002:str"]
    return odd[nth] if nth < len(odd) else None


def _kind(value: Any) -> str:
    """What YAML made of a value, in YAML's words."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
