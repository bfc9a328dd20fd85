"""Names and paths of job records, and the parsed form of one record."""

from __future__ import annotations

import json
import math
import re
import secrets
import signal
from dataclasses import dataclass, field
from typing import Any

from jobwaiter.errors import UsageError
from jobwaiter.outcome import Outcome

# Relative to $HOME on the head: every transport starts commands there.
JOBS_DIR = ".jobwaiter/jobs"
LOGS_DIR = "user/logs"
UPLOAD_DIR = "user/jobs"

_NAME = re.compile(r"jobwaiter-[0-9a-f]{12}")


def new_name() -> str:
    """A fresh job/session name. 48 random bits: two jobs in the same second never collide,
    and the launch refuses an existing record directory anyway."""
    return f"jobwaiter-{secrets.token_hex(6)}"


def is_name(text: str) -> bool:
    """Whether ``text`` is a job/session name as ``new_name`` makes them."""
    return _NAME.fullmatch(text) is not None


def check_name(name: str) -> str:
    """Validate a name a user typed; it reaches shells and file paths."""
    if not is_name(name):
        raise UsageError(f"not a jobwaiter session name: {name!r} (expected jobwaiter-<12 hex>)")
    return name


def record_dir(name: str) -> str:
    return f"{JOBS_DIR}/{name}"


def log_path(name: str) -> str:
    return f"{LOGS_DIR}/{name}.log"


def parse_stamp(text: str | None) -> tuple[int | None, float | None]:
    """Parse "<status> <time>" as written by the wrapper; ValueError if it is not that."""
    if not text:
        return None, None
    parts = text.split()
    if not parts or not parts[0].isdigit() or len(parts) > 2:
        raise ValueError(f"expected '<exit status> <time>', found {text[:60]!r}")
    status = int(parts[0])
    when = float(parts[1]) if len(parts) > 1 else None
    if status > 255 or (when is not None and not math.isfinite(when)):
        raise ValueError(f"expected '<exit status> <time>', found {text[:60]!r}")
    return status, when


@dataclass(frozen=True)
class JobRecord:
    """One job as its record on the head describes it."""

    name: str
    meta: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    exit_status: int | None = None
    ended_at: float | None = None
    pid: int | None = None
    stop_status: int | None = None
    wrapper_alive: bool = False
    session_alive: bool = False
    #: Processes of a job whose wrapper is gone without a status (None: not counted).
    survivors: int | None = None
    stop_running: bool = False
    #: The last line of an in-session stop's output.
    stop_log: str = ""
    #: What is wrong with the record's content, when something is ("" when nothing is).
    problem: str = ""
    #: The signal ``jobwaiter kill`` sent while the job ran (None: it was not killed).
    killed_by: int | None = None
    #: The head's watcher was given the job (``jobwaiter.watch``), and with a stop.
    watched: bool = False
    watched_stop: bool = False
    #: How the head's stop after the job went: a ``StopReport.state`` word ("done",
    #: "deferred", "failed", ...), or "" (none recorded yet).
    watch_stop: str = ""
    #: The head's watch has recorded the job's result (its stop may still be to come).
    watch_recorded: bool = False
    #: The head's watch of the job has ended (its result is recorded, its stop over).
    watch_done: bool = False
    #: How the last wait for the job ended when its exit status does not say it
    #: ("timeout", "waiter_failed"), else "".
    waited: str = ""
    #: Who claimed the stop after the job ("" nobody yet; "disarmed" by ``disarm``).
    stop_claim: str = ""

    def of_cluster(self, cluster: str) -> bool:
        """The job belongs to ``cluster`` (a record without a cluster name, from an older
        jobwaiter, belongs to any): two configs on one machine never see each other's."""
        return bool(self.meta.get("cluster", cluster) == cluster)

    @property
    def session(self) -> str | None:
        kind = self.meta.get("session")
        return str(kind) if kind else None

    @property
    def label(self) -> str | None:
        """The label given at launch (``--name``), if any."""
        label = self.meta.get("label")
        return label if isinstance(label, str) and label else None

    @property
    def ended(self) -> bool:
        return self.exit_status is not None

    @property
    def running(self) -> bool:
        """Whether the job may still record a status: its wrapper lives (holds the record's
        lock). Once the wrapper has started (``pid``), a session that outlives it, or a dead
        session's socket, proves nothing; before, a live session is a job still starting."""
        if self.ended:
            return False
        return self.wrapper_alive or (self.pid is None and self.session_alive)

    @property
    def outcome(self) -> Outcome:
        """The record's state in the one vocabulary of outcomes: running, started (a session
        without a waiter, still open), succeeded, failed, killed, lost or lost_running."""
        if self.problem:
            return Outcome.LOST
        if self.exit_status is not None:
            if self.killed_by is not None:
                return Outcome.KILLED
            return Outcome.SUCCEEDED if self.exit_status == 0 else Outcome.FAILED
        if self.running:
            return Outcome.STARTED if self.session and not self.meta.get("spec") \
                else Outcome.RUNNING
        return Outcome.LOST_RUNNING if self.survivors else Outcome.LOST

    @property
    def state(self) -> str:
        """The outcome as ``jobs`` shows it: ``failed (3)``, ``killed (TERM)``, ``lost (2
        processes still run)``, ``succeeded, stop failed (1)``."""
        outcome = self.outcome
        if self.problem:
            return "lost (corrupt record)"
        if outcome is Outcome.STARTED:
            # A session without a waiter: the job runs in it (the session stays open after).
            return "running (no waiter)"
        if outcome is Outcome.LOST_RUNNING:
            return f"lost ({self.survivors} processes still run)"
        if self.exit_status is None:
            return str(outcome)
        if outcome is Outcome.KILLED:
            state = f"killed ({signal_name(self.killed_by or 0)})"
        elif outcome is Outcome.FAILED:
            state = f"failed ({self.exit_status})"
        else:
            state = outcome.value
        if self.stop_running:
            return f"{state}, stopping"
        if self.stop_status is not None and self.stop_status != 0:
            return f"{state}, stop failed ({self.stop_status})"
        if self.watch_stop in ("failed", "interrupted", "deferred"):
            return f"{state}, stop {self.watch_stop}"
        if self.waited == "timeout":
            return f"{state}, waiter timed out"
        if self.waited == "waiter_failed":
            return f"{state}, waiter failed"
        return state

    @property
    def lost(self) -> bool:
        """Gone without a recorded status: never to be mistaken for success."""
        return not self.ended and not self.running

    @property
    def stop_armed(self) -> bool:
        """A ``--stop`` that will still run when the job ends: asked for, not yet claimed by
        anyone (nor disarmed), and the job not over."""
        if self.watched:
            # On the head: until its watch ends (a watch that gave up at --job-timeout does
            # not stop anything until a `wait` watches the job again).
            return self.watched_stop and not self.stop_claim and not self.watch_done
        return bool(self.meta.get("stop")) and not self.stop_claim and self.alive

    @property
    def stop_in_session(self) -> bool:
        """Whether the job's own session stops the cluster (``--stop`` without a waiter)."""
        return bool(self.meta.get("stop")) and not self.meta.get("spec") and bool(self.session)

    @property
    def alive(self) -> bool:
        """Whether anything of the job may still run: its wrapper, its session, or
        processes it left behind when it was lost."""
        return self.running or bool(self.survivors)

    @classmethod
    def from_fields(cls, name: str, fields: dict[str, str]) -> JobRecord:
        """Build from the ``key value`` lines the head's dump script prints."""
        try:
            meta = json.loads(fields.get("meta") or "{}")
        except ValueError:
            meta = {}
        problems: list[str] = []
        status, ended = _field_stamp(fields, "status", problems)
        stop_status, _ = _field_stamp(fields, "stop_status", problems)
        started = fields.get("started")
        pid = fields.get("pid")
        survivors = fields.get("survivors")
        return cls(
            name=name,
            meta=meta if isinstance(meta, dict) else {},
            started_at=float(started) if started and _is_float(started) else None,
            exit_status=status,
            ended_at=ended,
            pid=int(pid) if pid and pid.isdigit() else None,
            stop_status=stop_status,
            wrapper_alive=fields.get("wrapper") == "alive",
            session_alive=fields.get("session") == "alive",
            survivors=int(survivors) if survivors and survivors.isdigit() else None,
            stop_running=fields.get("stop") == "running",
            stop_log=fields.get("stop_log", ""),
            problem="; ".join(problems),
            killed_by=_small_int(fields.get("killed")),
            watched=fields.get("watched", "").startswith("head"),
            watched_stop=fields.get("watched") == "head stop",
            watch_stop=fields.get("watch_stop", "").strip(),
            watch_done=fields.get("watch_done") == "yes",
            watch_recorded=fields.get("watch_recorded") == "yes",
            waited=fields.get("waited", "").strip()[:20],
            stop_claim=fields.get("claim", "").strip(),
        )


def _field_stamp(
    fields: dict[str, str], key: str, problems: list[str]
) -> tuple[int | None, float | None]:
    try:
        return parse_stamp(fields.get(key))
    except ValueError as exc:
        problems.append(f"{key}: {exc}")
        return None, None


def _small_int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 4 else None


def signal_name(number: int) -> str:
    """``TERM`` for 15; the number itself when the head's signal is not one we know."""
    try:
        return signal.Signals(number).name[3:]
    except ValueError:
        return str(number)


def _is_float(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
