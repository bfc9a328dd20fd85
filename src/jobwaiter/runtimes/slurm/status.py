"""Slurm jobs as ``squeue --json`` and the job history (``sacct``) report them.

Pure functions over the commands' output, so every rule here is tested without a cluster.
Stdlib only and Python 3.8-compatible, like the rest of the runtime.

``squeue --json`` shapes (``{"meta", "errors", "jobs": [...]}``):

- Slurm 22.05 (openapi v0.0.38): ``job_state`` is a string (``"RUNNING"``), ``exit_code`` the
  raw wait status as an int (768 is exit 3; 9 is signal 9), times are epoch ints. It exits 0
  even when it could not reach the controller: ``errors`` says so.
- Slurm 23.11+ (data_parser v0.0.40+): ``job_state`` is a list (the base state and flags:
  ``["RUNNING", "COMPLETING"]``), ``exit_code`` an object ``{"status": ["SUCCESS"],
  "return_code": {"set": true, "number": 0}, "signal": {"id": {"set": false, "number": 0},
  "name": ""}}`` and numbers are ``{"set": ..., "infinite": ..., "number": ...}``.

``sacct --parsable2 --noheader`` lines, with ``SLURM_TIME_FORMAT=%s`` (epoch seconds):
``JobID|JobName|UID|User|State|ExitCode|Submit|End``; ``ExitCode`` is ``exit:signal`` and
``State`` may read ``CANCELLED by 0``.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# States (base states and flags) in which a job is not done yet.
ACTIVE = frozenset({
    "PENDING", "RUNNING", "SUSPENDED", "COMPLETING", "CONFIGURING", "REQUEUED",
    "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "STOPPED", "SIGNALING", "STAGE_OUT",
    "RESV_DEL_HOLD", "POWER_UP_NODE", "UPDATE_DB",
})
# Ended states that fail the wait whatever the exit code says.
FAILED = frozenset({
    "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL",
    "DEADLINE", "REVOKED", "SPECIAL_EXIT", "LAUNCH_FAILED", "RECONFIG_FAIL",
})
SUCCESS = "COMPLETED"

HISTORY_FORMAT = "JobID,JobName,UID,User,State,ExitCode,Submit,End"


@dataclass(frozen=True)
class ExitCode:
    """How a job's batch script ended: an exit code or a signal (None: not known)."""

    code: int | None = None
    signal: int | None = None

    @property
    def ok(self) -> bool:
        return self.code == 0 and not self.signal

    def __str__(self) -> str:
        if self.signal is not None and self.signal < 0:
            return "killed by a signal"
        if self.signal:
            try:
                return f"signal {self.signal} ({signal.Signals(self.signal).name})"
            except ValueError:
                return f"signal {self.signal}"
        return "exit code ?" if self.code is None else f"exit code {self.code}"


@dataclass(frozen=True)
class SlurmJob:
    """One Slurm job (an array task or a het-job component is a job of its own)."""

    id: str
    name: str = ""
    state: str = ""  # the base state
    flags: tuple[str, ...] = ()
    exit: ExitCode = ExitCode()
    user_id: int | None = None
    user: str = ""
    submitted: float | None = None
    ended: float | None = None
    reason: str = ""
    #: Other ids the job answers to: its array job, its het job.
    parents: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        # A state not known here is not taken for an end: waiting longer is the safe side.
        known = self.state in ACTIVE or self.state in FAILED or self.state == SUCCESS
        return not known or any(s in ACTIVE for s in (self.state, *self.flags))

    @property
    def failed(self) -> bool:
        return not self.active and (self.state in FAILED or not self.exit.ok)

    def answers_to(self, ids: Iterable[str]) -> bool:
        wanted = set(ids)
        return self.id in wanted or any(p in wanted for p in self.parents)

    def describe(self) -> str:
        name = f" ({self.name})" if self.name else ""
        state = "+".join((self.state, *self.flags)) if self.flags else self.state
        if self.active:
            why = f" [{self.reason}]" if self.reason and self.reason != "None" else ""
            return f"{self.id}{name} {state}{why}"
        return f"{self.id}{name} {state}, {self.exit}"


def number(value: Any) -> int | None:
    """A number as any version writes it: ``3``, ``"3"``, ``{"set": true, "number": 3}``."""
    if isinstance(value, dict):
        if not value.get("set", True) or value.get("infinite"):
            return None
        value = value.get("number")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def wait_status(raw: int) -> ExitCode:
    """Decode a raw wait status (``exit_code`` of Slurm 22.05): 768 is exit 3, 9 signal 9."""
    sig = raw & 0x7F
    if sig:
        return ExitCode(code=None, signal=sig)
    return ExitCode(code=(raw >> 8) & 0xFF)


def exit_code(value: Any) -> ExitCode:
    """``exit_code`` in either shape."""
    if isinstance(value, dict):  # data_parser v0.0.40+
        sig_obj = value.get("signal") or {}
        sig = number(sig_obj.get("id", sig_obj.get("signal_id"))) if isinstance(
            sig_obj, dict) else None
        code = number(value.get("return_code"))
        status = [str(s) for s in value.get("status") or []]
        if sig or "SIGNALED" in status or "CORE_DUMPED" in status:
            return ExitCode(code=code, signal=sig if sig else -1)
        if "PENDING" in status or "INVALID" in status:
            return ExitCode()
        return ExitCode(code=code)
    raw = number(value)
    return ExitCode() if raw is None else wait_status(raw)


def _states(value: Any) -> tuple[str, tuple[str, ...]]:
    if isinstance(value, list):
        names = [str(v).upper() for v in value if v]
    else:
        names = [str(value or "").upper()]
    names = names or [""]
    # The base state leads the list; flags (COMPLETING, CONFIGURING, ...) follow it.
    return names[0], tuple(names[1:])


def squeue_job(raw: dict[str, Any]) -> SlurmJob:
    state, flags = _states(raw.get("job_state"))
    parents = []
    array_job = number(raw.get("array_job_id"))
    if array_job:
        parents.append(str(array_job))
    het_job = number(raw.get("het_job_id"))
    if het_job:
        parents.append(str(het_job))
    job_id = str(number(raw.get("job_id")))
    return SlurmJob(
        id=job_id, name=str(raw.get("name") or ""), state=state, flags=flags,
        exit=exit_code(raw.get("exit_code")), user_id=number(raw.get("user_id")),
        user=str(raw.get("user_name") or ""), submitted=_time(raw.get("submit_time")),
        ended=_time(raw.get("end_time")), reason=str(raw.get("state_reason") or ""),
        parents=tuple(p for p in parents if p != job_id),
    )


def _time(value: Any) -> float | None:
    n = number(value)
    return float(n) if n else None


def parse_squeue(text: str) -> tuple[list[SlurmJob], str]:
    """The jobs in ``squeue --json`` output, or why there are none to trust ("" if fine).

    A non-empty ``errors`` list means the answer is not the queue (22.05 still exits 0)."""
    try:
        data = json.loads(text)
    except ValueError:
        first = text.strip().splitlines()[:1]
        return [], f"squeue did not answer JSON ({first[0][:200] if first else 'no output'})"
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
        return [], "squeue answered JSON without a job list"
    errors = data.get("errors") or []
    if errors:
        return [], "squeue: " + "; ".join(_error(e) for e in errors[:3])
    jobs = [squeue_job(j) for j in data["jobs"] if isinstance(j, dict)]
    return [j for j in jobs if j.id != "None"], ""


def _error(entry: Any) -> str:
    if isinstance(entry, dict):
        text = entry.get("description") or entry.get("error") or ""
        code = entry.get("error_number", entry.get("errno"))
        return f"{text} (error {code})" if code not in (None, 0) else str(text or entry)
    return str(entry)


def parse_history(text: str) -> list[SlurmJob]:
    """Ended jobs in ``sacct --parsable2 --noheader --format=HISTORY_FORMAT`` output (the
    completion log with ``-c``, or accounting). Steps (``12.batch``) are skipped."""
    jobs = []
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 8 or not parts[0] or "." in parts[0]:
            continue
        job_id, name, uid, user, state, code, submitted, ended = parts[:8]
        words = state.split()  # "CANCELLED by 0"
        exit_, _, sig = code.partition(":")
        parents = []
        if "_" in job_id:  # an array task, "12_3"
            parents.append(job_id.split("_", 1)[0])
        if "+" in job_id:  # a het job component, "12+1"
            parents.append(job_id.split("+", 1)[0])
        jobs.append(SlurmJob(
            id=job_id, name=name, state=words[0].upper() if words else "",
            exit=ExitCode(code=number(exit_), signal=number(sig) or None),
            user_id=number(uid), user=user, submitted=_time(submitted),
            ended=_time(ended), parents=tuple(parents),
        ))
    return jobs


def min_job_age(config_text: str) -> int | None:
    """``MinJobAge`` from ``scontrol show config`` (``MinJobAge = 300 sec``)."""
    value = show_config(config_text).get("MinJobAge", "")
    return number(value.split()[0]) if value.split() else None


def show_config(text: str) -> dict[str, str]:
    """``Key = value`` lines of ``scontrol show config``."""
    found = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and " " not in key.strip():
            found[key.strip()] = value.strip()
    return found


def plural(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def summary(jobs: list[SlurmJob], limit: int = 5) -> str:
    shown = [j.describe() for j in jobs[:limit]]
    if len(jobs) > limit:
        shown.append(f"and {len(jobs) - limit} more")
    return "; ".join(shown)
