"""The result of a job: one frozen type for the API, ``--json`` and the CLI's exit code."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


class Outcome(str, enum.Enum):
    SUCCEEDED = "succeeded"          # recorded status 0 and every waiter succeeded
    FAILED = "failed"                # the job's recorded status was not 0
    LOST = "lost"                    # the session ended without recording a status
    LOST_RUNNING = "lost_running"    # lost, and processes of the job still run
    LAUNCH_FAILED = "launch_failed"  # the job could not be started (nothing ran)
    WAITER_FAILED = "waiter_failed"  # the job exited 0 but a waiter failed
    TIMEOUT = "timeout"              # --job-timeout reached; the job keeps running
    INTERRUPTED = "interrupted"      # Ctrl-C while waiting; the job keeps running
    UNREACHABLE = "unreachable"      # the head could not be reached; state unknown
    STARTED = "started"              # a session without a waiter: started, not waited for
    STOP_FAILED = "stop_failed"      # the job succeeded but stopping the cluster failed

    def __str__(self) -> str:
        return self.value


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class JobResult:
    outcome: Outcome
    job: str
    exit_status: int | None = None
    session: str | None = None
    session_kind: str | None = None
    log_path: str | None = None
    started_at: float | None = None
    ended_at: float | None = None
    waiters: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    stop: dict[str, Any] | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.SUCCEEDED, Outcome.STARTED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "exit_status": self.exit_status,
            "job": self.job,
            "session": self.session,
            "session_kind": self.session_kind,
            "log_path": self.log_path,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "waiters": list(self.waiters),
            "stop": self.stop,
            "message": self.message,
        }
