"""The result of a job: one frozen type for the API, ``--json`` and the CLI's exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from jobwaiter.outcome import Outcome
from jobwaiter.waiters.loop import WaiterOutcome

__all__ = ["STOP_STATES", "JobResult", "NodeStep", "Outcome", "StopReport", "iso"]


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds")


def from_iso(text: Any) -> float | None:
    """``iso`` backwards (None for anything that is not such a time)."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


#: What became of a stop, in one word (``StopReport.state``): it ran and stopped the cluster
#: (or the cluster was already stopped by the stop it joined), it waits for other work to end,
#: it did not run and will not, it failed (the head stays up), it was cut off half-way, it
#: was cancelled, or none was asked for.
STOP_STATES = ("done", "deferred", "not_run", "failed", "interrupted", "disarmed", "none")


@dataclass(frozen=True)
class NodeStep:
    """One node's part of a stop: ``done``, ``failed``, ``interrupted`` (begun, not seen to
    end), or ``not_run`` (the head, kept up because a worker did not stop)."""

    node: str
    state: str
    exit_status: int | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "state": self.state, "exit_status": self.exit_status,
                "detail": self.detail}

    @classmethod
    def from_dict(cls, data: Any) -> NodeStep | None:
        if not isinstance(data, dict):
            return None
        status = data.get("exit_status")
        return cls(str(data.get("node") or ""), str(data.get("state") or ""),
                   status if isinstance(status, int) else None, str(data.get("detail") or ""))


@dataclass(frozen=True)
class StopReport:
    """What a stop did: whether this caller ran it, whether it worked (None: it did not run,
    or its end is unknown), one human line (``detail``), the state word (``STOP_STATES``)
    and each node's step."""

    ran: bool
    ok: bool | None
    detail: str = ""
    state: str = ""
    nodes: tuple[NodeStep, ...] = ()

    def __post_init__(self) -> None:
        if not self.state:
            state = ("done" if self.ok else "failed" if self.ok is False else "interrupted") \
                if self.ran else "not_run"
            object.__setattr__(self, "state", state)
        if self.state not in STOP_STATES:
            raise ValueError(f"unknown stop state {self.state!r}")

    @classmethod
    def declined(cls, why: str) -> StopReport:
        return cls(False, None, f"not stopped: {why}", "not_run")

    @classmethod
    def deferred(cls, waiting_for: str) -> StopReport:
        return cls(False, None, f"stop deferred: waiting for {waiting_for}", "deferred")

    @classmethod
    def disarmed(cls) -> StopReport:
        return cls(False, None, "not stopped: the stop was disarmed", "disarmed")

    @property
    def settled(self) -> bool:
        """Nothing more will happen to this stop (deferred is still to come)."""
        return self.state != "deferred"

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "ran": self.ran, "ok": self.ok, "detail": self.detail,
                "nodes": [n.to_dict() for n in self.nodes]}

    @classmethod
    def from_dict(cls, data: Any) -> StopReport | None:
        if not isinstance(data, dict):
            return None
        ok = data.get("ok")
        state = data.get("state")
        nodes = tuple(n for n in (NodeStep.from_dict(x) for x in data.get("nodes") or ())
                      if n is not None)
        return cls(bool(data.get("ran")), ok if isinstance(ok, bool) else None,
                   str(data.get("detail") or ""),
                   state if isinstance(state, str) and state in STOP_STATES else "", nodes)


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
    waiters: tuple[WaiterOutcome, ...] = field(default_factory=tuple)
    stop: StopReport | None = None
    message: str = ""
    #: What else happened that does not change the outcome (a notification that failed).
    notes: tuple[str, ...] = ()
    #: The job's label (``--name``), if it has one.
    label: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.SUCCEEDED, Outcome.STARTED, Outcome.DETACHED)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobResult:
        """``to_dict`` backwards: a result written down elsewhere (the head's watch). An
        outcome this version does not know raises ValueError."""
        status = data.get("exit_status")
        waiters = tuple(
            WaiterOutcome(str(w.get("name", "")), Outcome(w.get("outcome")),
                          str(w.get("detail") or ""))
            for w in data.get("waiters") or () if isinstance(w, dict))
        return cls(
            outcome=Outcome(data.get("outcome")),
            job=str(data.get("job", "")),
            exit_status=status if isinstance(status, int) else None,
            session=data.get("session"),
            session_kind=data.get("session_kind"),
            log_path=data.get("log_path"),
            started_at=from_iso(data.get("started_at")),
            ended_at=from_iso(data.get("ended_at")),
            waiters=waiters,
            stop=StopReport.from_dict(data.get("stop")),
            message=str(data.get("message") or ""),
            notes=tuple(str(n) for n in data.get("notes") or ()),
            label=data["label"] if isinstance(data.get("label"), str) else None,
        )

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
            "waiters": [w.as_dict() for w in self.waiters],
            "stop": None if self.stop is None else self.stop.to_dict(),
            "message": self.message,
            **({"notes": list(self.notes)} if self.notes else {}),
            "label": self.label,
        }
