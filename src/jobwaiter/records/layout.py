"""Names and paths of job records, and the parsed form of one record."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from jobwaiter.errors import UsageError

# Relative to $HOME on the head: every transport starts commands there.
JOBS_DIR = ".jobwaiter/jobs"
LOGS_DIR = "user/logs"
UPLOAD_DIR = "user/jobs"

_NAME = re.compile(r"jobwaiter-[0-9a-f]{12}")


def new_name() -> str:
    """A fresh job/session name. 48 random bits: two jobs in the same second never collide,
    and the launch refuses an existing record directory anyway."""
    return f"jobwaiter-{secrets.token_hex(6)}"


def check_name(name: str) -> str:
    """Validate a name a user typed; it reaches shells and file paths."""
    if not _NAME.fullmatch(name):
        raise UsageError(f"not a jobwaiter session name: {name!r} (expected jobwaiter-<12 hex>)")
    return name


def record_dir(name: str) -> str:
    return f"{JOBS_DIR}/{name}"


def log_path(name: str) -> str:
    return f"{LOGS_DIR}/{name}.log"


def _stamp(text: str | None) -> tuple[int | None, float | None]:
    """Parse "<status> <time>" as written by the wrapper."""
    if not text:
        return None, None
    parts = text.split()
    try:
        status = int(parts[0])
        when = float(parts[1]) if len(parts) > 1 else None
    except (ValueError, IndexError):
        return None, None
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

    @property
    def session(self) -> str | None:
        kind = self.meta.get("session")
        return str(kind) if kind else None

    @property
    def ended(self) -> bool:
        return self.exit_status is not None

    @property
    def running(self) -> bool:
        return not self.ended and (self.wrapper_alive or self.session_alive)

    @property
    def state(self) -> str:
        """running / succeeded / failed (N) / lost / started-no-waiter, as ``jobs`` shows it."""
        if self.exit_status is not None:
            return "succeeded" if self.exit_status == 0 else f"failed ({self.exit_status})"
        if self.running:
            return "started-no-waiter" if self.session and not self.meta.get("spec") else "running"
        return "lost"

    @property
    def lost(self) -> bool:
        """Gone without a recorded status: never to be mistaken for success."""
        return not self.ended and not self.wrapper_alive and not self.session_alive

    @classmethod
    def from_fields(cls, name: str, fields: dict[str, str]) -> JobRecord:
        """Build from the ``key value`` lines the head's dump script prints."""
        try:
            meta = json.loads(fields.get("meta") or "{}")
        except ValueError:
            meta = {}
        status, ended = _stamp(fields.get("status"))
        stop_status, _ = _stamp(fields.get("stop_status"))
        started = fields.get("started")
        pid = fields.get("pid")
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
        )


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
