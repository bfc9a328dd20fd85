"""Naming a job: what a user may type where a command takes JOB, and the labels ``--name``
gives. Pure functions over the records read from a node; nothing here runs anything.

A JOB is, tried in this order:

1. a session name, ``jobwaiter-3f9c2a1b7d4e``;
2. a label given at launch with ``--name``;
3. a unique prefix of at least 4 of the name's 12 hex digits, with or without
   ``jobwaiter-`` (``3f9c``, ``jobwaiter-3f9c2a``);
4. ``@last``: the newest record of this config's cluster on the node.

Labels are refused at launch when they could be read as one of the other forms, so a name
never means two things: see ``check_label``. A label may be given again (``--name train``
every night): it names the job with it that runs, when exactly one does, else the newest of
those running (or, with none running, of them all); ``label_note`` names the others.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from jobwaiter.errors import UsageError
from jobwaiter.jobs.result import iso
from jobwaiter.records import JobRecord, is_name

LAST = "@last"
NAME_PREFIX = "jobwaiter-"
HEX_DIGITS = 12
#: Fewer digits would match too many jobs to be useful, and hide typos.
MIN_PREFIX = 4
#: Long enough for "nightly-etl-2024-05-01-retry", short enough for a table column.
MAX_LABEL = 64
#: At most this many matches are listed when a JOB is ambiguous (the line stays readable).
MAX_LISTED = 10

_PREFIX = re.compile(r"(?:jobwaiter-)?([0-9a-f]+)", re.IGNORECASE)
_HEX = re.compile(r"[0-9a-f]+", re.IGNORECASE)

FORMS = ("a session name (jobwaiter-<12 hex>), a --name label, at least 4 hex digits of "
         "the name, or @last")


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot be a job's label, or None when it can."""
    if not label:
        return "it is empty"
    if len(label) > MAX_LABEL:
        return f"it has {len(label)} characters; at most {MAX_LABEL}"
    if not label.isprintable():
        # Also refuses newlines, tabs, escape sequences, non-ASCII spaces and the bytes of a
        # command line that were not UTF-8 (surrogate escapes): a label is shown in tables.
        return "it holds a character that is not printable (control, newline, tab, or " \
               "bytes that are not UTF-8)"
    if label != label.strip():
        return "it starts or ends with a space"
    if label.startswith("@"):
        return "a leading '@' is kept for references such as @last"
    if label.startswith("-"):
        return "a leading '-' would be read as an option where a JOB is typed"
    if label.lower().startswith(NAME_PREFIX):
        return "it would look like a session name (jobwaiter-...)"
    if _HEX.fullmatch(label):
        return "made of hex digits only, it would look like a prefix of a session name"
    return None


def check_label(label: str) -> str:
    """Validate a ``--name`` label: 1 to 64 printable characters, no leading or trailing
    space, not starting with ``@``, ``-`` or ``jobwaiter-``, and not made of hex digits only.
    Anything else is allowed: a label travels in the record's ``meta.json`` (JSON on the
    launch's stdin) and never reaches a shell."""
    problem = label_problem(label)
    if problem is not None:
        raise UsageError(f"--name {label!r} is not a usable label: {problem}")
    return label


def records_to_read(text: str) -> list[str] | None:
    """Which records ``resolve_job`` needs: only that one for a session name (the common,
    cheap case), every record on the node otherwise (None)."""
    return [text] if is_name(text) else None


def resolve_job(
    text: str, records: Sequence[JobRecord], cluster: str, where: str = "the head"
) -> JobRecord:
    """The one record ``text`` names among ``records`` (those of one node, ``where``), tried
    in the order of the module's docstring. Raises ``UsageError`` when nothing matches, when
    several records match at the first form that matches any (listing them), and for text
    that cannot name a job at all."""
    place = f"{where} of cluster {cluster}"
    if is_name(text):
        exact = [r for r in records if r.name == text]
        if exact:
            return exact[0]
    labelled = [r for r in records if r.label == text]
    if labelled:
        return by_label(labelled)
    prefix = _PREFIX.fullmatch(text)
    if prefix is not None and len(prefix.group(1)) <= HEX_DIGITS:
        digits = prefix.group(1).lower()
        if len(digits) < MIN_PREFIX:
            raise UsageError(f"job {text!r} is too short: give at least {MIN_PREFIX} of the "
                             f"{HEX_DIGITS} hex digits of its session name")
        matches = [r for r in records if _hex_part(r.name).startswith(digits)]
        if not matches:
            raise UsageError(f"no job {_shown(text)} on {place}")
        return _one(text, matches)
    if text == LAST:
        mine = [r for r in records if r.meta.get("cluster") == cluster]
        if not mine:
            raise UsageError(f"no job of cluster {cluster} on {where} (@last)")
        return max(mine, key=_newness)
    if text.startswith("@"):
        raise UsageError(f"unknown job reference {text!r}: the only one is {LAST}")
    if label_problem(text) is not None:
        raise UsageError(f"not a job: {text!r} (a JOB is {FORMS})")
    raise UsageError(f"no job {text!r} on {place} (no session name, label or prefix "
                     f"matches)")


def by_label(labelled: Sequence[JobRecord]) -> JobRecord:
    """Of the jobs with one label: the running one, else the newest running, else the
    newest."""
    running = [r for r in labelled if r.running]
    return max(running or labelled, key=_newness)


def label_note(text: str, records: Sequence[JobRecord], chosen: JobRecord) -> str:
    """What to say when ``text`` is a label that other jobs have too ("" when none do)."""
    others = [r for r in records if r.label == text and r is not chosen]
    if not others or chosen.label != text:
        return ""
    listed = ", ".join(_describe(r) for r in sorted(others, key=_newness,
                                                    reverse=True)[:MAX_LISTED])
    return (f"{text!r} names {_describe(chosen)}; also labelled so: {listed} (name another "
            "by its session name)")


def _hex_part(name: str) -> str:
    return name[len(NAME_PREFIX):] if name.startswith(NAME_PREFIX) else ""


def _shown(text: str) -> str:
    return text if is_name(text) else repr(text)


def _newness(record: JobRecord) -> tuple[float, float, str]:
    """Newest first by start time (the head's clock), then by when the record was made, for a
    job whose wrapper never recorded its start."""
    created = record.meta.get("created_at")
    made = float(created) if isinstance(created, (int, float)) else 0.0
    started = record.started_at if record.started_at is not None else made
    return started, made, record.name


def _one(text: str, matches: list[JobRecord]) -> JobRecord:
    if len(matches) == 1:
        return matches[0]
    matches = sorted(matches, key=_newness, reverse=True)
    listed = ", ".join(_describe(r) for r in matches[:MAX_LISTED])
    more = len(matches) - MAX_LISTED
    if more > 0:
        listed += f", and {more} more"
    raise UsageError(f"job {text!r} is ambiguous: {listed}; name one by its session name "
                     f"or a longer prefix")


def _describe(record: JobRecord) -> str:
    when = iso(_newness(record)[0] or None)
    started = f"started {when[:19].replace('T', ' ')} UTC" if when else "not started"
    return f"{record.name} ({started}, {record.state})"
