"""Choosing and describing job records: the ``--state`` vocabulary, the filter, and the row
that ``jobs --json`` prints for each record."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from jobwaiter.errors import UsageError
from jobwaiter.jobs.result import iso
from jobwaiter.outcome import Outcome
from jobwaiter.records import JobRecord
from jobwaiter.records.layout import signal_name

__all__ = ["JOB_STATES", "job_row", "parse_states", "select_jobs"]

#: The states a record can be in (``JobRecord.outcome``), in the order ``--help`` lists them.
JOB_STATES: tuple[Outcome, ...] = (
    Outcome.RUNNING,
    Outcome.STARTED,
    Outcome.SUCCEEDED,
    Outcome.FAILED,
    Outcome.KILLED,
    Outcome.LOST,
    Outcome.LOST_RUNNING,
)
_BY_NAME = {state.value: state for state in JOB_STATES}


def parse_states(values: str | Iterable[str]) -> frozenset[Outcome]:
    """The states named by ``values``: each item one state or several separated by commas
    (``"failed,killed"``). An unknown or empty name is a ``UsageError`` listing the valid
    ones; nothing is read from the head before that."""
    items = [values] if isinstance(values, str) else list(values)
    wanted: set[Outcome] = set()
    for item in items:
        for part in str(item).split(","):
            name = part.strip().lower()
            state = _BY_NAME.get(name)
            if state is None:
                what = (f"unknown job state {part.strip()!r}" if part.strip()
                        else f"empty job state in {str(item)!r}")
                raise UsageError(f"{what}; valid states: {', '.join(_BY_NAME)}")
            wanted.add(state)
    return frozenset(wanted)


def select_jobs(
    records: Sequence[JobRecord], states: frozenset[Outcome] | None
) -> list[JobRecord]:
    """The records whose state is one of ``states`` (all of them for None), order kept.
    ``running`` includes ``started``: a job in a session without a waiter runs too."""
    if states is None:
        return list(records)
    if Outcome.RUNNING in states:
        states = states | {Outcome.STARTED}
    return [r for r in records if r.outcome in states]


def job_row(record: JobRecord, now: float | None = None) -> dict[str, Any]:
    """One record as ``jobs --json`` prints it. ``state`` is the word of the one vocabulary
    (``killed``, ``failed``, ...), ``state_detail`` the text the table shows
    (``killed (TERM)``, ``succeeded, stop failed (1)``)."""
    now = time.time() if now is None else now
    start = record.started_at
    end = record.ended_at if record.ended_at is not None else (now if record.running else None)
    log = record.meta.get("log")
    return {
        "session": record.name,
        "label": record.label,
        "state": record.outcome.value,
        "state_detail": record.state,
        "exit_status": record.exit_status,
        "killed_by": None if record.killed_by is None else signal_name(record.killed_by),
        "session_kind": record.session,
        "started_at": iso(start),
        "ended_at": iso(record.ended_at),
        "duration": None if start is None or end is None else round(end - start, 3),
        "command": record.meta.get("command", ""),
        "waiter": record.meta.get("spec"),
        "log_path": f"~/{log}" if log else None,
        # A stop that ran inside the job's session, when one was asked for (None: not yet
        # or not asked).
        "stop_status": record.stop_status,
        # Who waits for the job: "head" (its watcher) or None (a client, if one still does).
        "watched_by": "head" if record.watched else None,
        "stop_armed": record.stop_armed,
        "stop_claim": record.stop_claim or None,
    }
