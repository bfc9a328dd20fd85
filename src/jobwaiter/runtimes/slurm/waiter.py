"""The ``slurm`` waiter: done when no Slurm job in scope is pending, running or completing;
fails when one did not complete with exit code 0, or when its outcome cannot be known.

Each check runs one probe on the head (``sh/probe.sh poll``: the user's uid, the ids
``submit --runtime slurm`` recorded for the job, ``squeue --json``), plus a history look-up
(``sacct -c`` or ``sacct``) once nothing in scope is active. The wait loop paces the checks.

An ended job stays in the controller's list for only ``MinJobAge`` seconds. So the waiter
remembers every job in scope as it last saw it: a job seen running that then vanished is
looked up in the completion log or accounting, and where Slurm keeps neither its outcome is
unknown, which fails the wait. A controller that does not answer is "not yet", never
"no jobs, so done" (``squeue --json`` of 22.05 exits 0 then; its ``errors`` say so).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from jobwaiter.errors import SpecError
from jobwaiter.records import record_dir
from jobwaiter.runtimes.base import BUSY, IDLE, UNKNOWN, Activity
from jobwaiter.runtimes.settle import SettleWindow
from jobwaiter.runtimes.slurm.settings import SlurmSettings
from jobwaiter.runtimes.slurm.status import (
    SlurmJob,
    number,
    parse_history,
    parse_squeue,
    plural,
    show_config,
    summary,
)
from jobwaiter.runtimes.slurm.status import min_job_age as config_min_job_age
from jobwaiter.transport.base import CommandResult, Transport
from jobwaiter.waiters.base import Check, JobContext, Waiter
from jobwaiter.waiters.spec import Spec

ALL = "all"
#: The file in the job's record where submit --runtime slurm appends the job ids.
CAPTURED = "slurm-jobs"
# A job submitted up to this long before the job's start still counts as the job's: Slurm
# keeps whole seconds, and the controller's clock may lag the head's a little.
CLOCK_SLACK = 2.0
# Polls a vanished job may stay missing from the history before its outcome is unknown:
# the completion log is written as the job ends, but not in the same instant.
HISTORY_GRACE_POLLS = 3
# Consecutive failures to read the history before the outcomes it should tell are unknown.
HISTORY_TRIES = 5


@lru_cache(maxsize=None)
def script(name: str) -> str:
    """One of the ``sh/`` scripts, run on the head as ``bash -c SCRIPT jw ARGS...``."""
    return (Path(__file__).with_name("sh") / f"{name}.sh").read_text()


class SlurmWaiter(Waiter):
    """Wait until the Slurm jobs the job submitted have ended (slurm[all]: every job in the
    queue); fail if one did not complete with exit code 0 or its outcome is unknown."""

    name = "slurm"
    describe = ("wait until the Slurm jobs the job submitted have ended "
                "(slurm[all]: every job in the queue); fails if one failed")
    max_block: ClassVar[float] = 0.0

    def __init__(self, settings: SlurmSettings, scope_all: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.settle = SettleWindow(settings.settle_seconds, clock)
        self.scope_all = scope_all
        # Read once from `scontrol show config`: where ended jobs can be looked up, and how
        # long they stay in the queue.
        self.source: str | None = None
        self.min_job_age: float | None = settings.min_job_age
        self._first_look: float | None = None  # head clock of the first good poll
        self._seen: dict[str, SlurmJob] = {}  # every job in scope, as last seen
        self._missing_polls = 0
        self._history_failures = 0

    @classmethod
    def create(cls, args: tuple[Spec, ...], config: dict[str, Any]) -> Waiter:
        if len(args) > 1 or any(a.name != ALL or a.args for a in args):
            given = ", ".join(str(a) for a in args)
            raise SpecError(f"waiter 'slurm' takes one optional parameter, 'all' "
                            f"(slurm[all]); got slurm[{given}]")
        return cls(SlurmSettings.from_config(config), scope_all=bool(args))

    @property
    def label(self) -> str:
        return f"{self.name}[{ALL}]" if self.scope_all else self.name

    def _probe(self, job: JobContext, *args: str) -> CommandResult:
        return job.head.run(["bash", "-c", script("probe"), "jw",
                             *self.settings.probe_args(), *args], idempotent=True, timeout=60)

    # -- one check ---------------------------------------------------------------------------

    def check(self, job: JobContext, block: float) -> Check:
        self.settle.start()
        if self.source is None:
            problem = self._read_config(job)
            if problem:
                return Check.pending(f"{problem}, retrying")
        result = self._probe(job, "poll", f"{record_dir(job.name)}/{CAPTURED}")
        poll, problem = read_poll(result)
        if problem:
            return Check.pending(f"{problem}, retrying")
        if self._first_look is None:
            self._first_look = poll.now
        scope = Scope(self.scope_all, poll.uid, poll.captured, job.started_at)
        visible = [j for j in poll.jobs if scope.covers(j)]
        self._seen.update((j.id, j) for j in visible)
        active = [j for j in visible if j.active]
        if active:
            self._missing_polls = 0
            return Check.pending(f"{plural(len(active), 'Slurm job')} in progress: "
                                 f"{summary(active)}")
        verdict = self._settle(job, scope, {j.id for j in visible})
        if scope.exact:  # the captured ids are known; nothing else is to register
            return verdict
        return self.settle.hold(verdict, "Slurm job")

    def _read_config(self, job: JobContext) -> str:
        result = self._probe(job, "config")
        if not result.ok:
            return f"scontrol show config failed ({result.exit_status}): {result.tail(1)}"
        config = show_config(result.stdout)
        if self.min_job_age is None:
            age = config_min_job_age(result.stdout)
            self.min_job_age = float(age) if age is not None else 300.0
        source = ""
        if self.settings.history:
            if config.get("JobCompType", "").endswith("/filetxt"):
                source = "jobcomp"
            elif config.get("AccountingStorageType", "").endswith("/slurmdbd"):
                source = "accounting"
        self.source = source
        return ""

    def _settle(self, job: JobContext, scope: Scope, visible: set[str]) -> Check:
        """Nothing in scope is active in the queue: decide from what was seen, the history,
        and what cannot be known."""
        # Seen pending or running, then gone before the waiter saw it end.
        vanished = {i for i, j in self._seen.items() if j.active and i not in visible}
        unseen = [c for c in scope.captured
                  if not any(j.answers_to([c]) for j in self._seen.values())]
        if self.source:
            history, problem = self._history(job, scope)
            if problem:
                self._history_failures += 1
                if self._history_failures < HISTORY_TRIES:
                    return Check.pending(f"{problem}, retrying")
            else:
                self._history_failures = 0
                for h in history:
                    if h.id not in self._seen or self._seen[h.id].active:
                        self._seen[h.id] = h
                vanished = {i for i in vanished if self._seen[i].active}
                unseen = [c for c in unseen
                          if not any(j.answers_to([c]) for j in self._seen.values())]
        missing = sorted(vanished) + unseen
        if missing and self._missing_polls < HISTORY_GRACE_POLLS and self.source:
            self._missing_polls += 1
            return Check.pending(f"{plural(len(missing), 'Slurm job')} left the queue "
                                 f"({', '.join(missing)}); looking for "
                                 f"{'it' if len(missing) == 1 else 'them'} in the history")
        ended = sorted((j for j in self._seen.values() if not j.active), key=_order)
        failed = [j for j in ended if j.failed]
        unknown = [SlurmJob(i, self._seen[i].name if i in self._seen else "", "UNKNOWN")
                   for i in missing]
        why = self._why_unknown()
        if failed or unknown:
            parts = []
            if failed:
                parts.append(f"{plural(len(failed), 'Slurm job')} did not succeed: "
                             f"{summary(failed, limit=8)}")
            if unknown:
                parts.append(f"outcome unknown of {', '.join(j.describe() for j in unknown)} "
                             f"(it left the queue {why})")
            return Check.failure("; ".join(parts))
        blind = self._blind(scope, job.started_at)
        if blind:
            return Check.failure(blind)
        if not ended:
            return Check.success("no Slurm job in scope")
        return Check.success(f"{plural(len(ended), 'Slurm job')} completed: "
                             f"{summary(ended, limit=8)}")

    def _history(self, job: JobContext, scope: Scope) -> tuple[list[SlurmJob], str]:
        since = scope.since
        if since is None:  # no start time: as far back as anything seen
            times = [j.submitted for j in self._seen.values() if j.submitted]
            since = min(times) if times else (self._first_look or 0.0) - 86400
        result = self._probe(job, "history", str(self.source), str(int(since)))
        if not result.ok:
            what = "the job completion log" if self.source == "jobcomp" else "accounting"
            return [], f"reading {what} failed ({result.exit_status}): {result.tail(1)}"
        return [j for j in parse_history(result.stdout) if scope.covers(j)], ""

    def _why_unknown(self) -> str:
        if not self.settings.history:
            return "and runtime.slurm.history is off"
        if self.source:
            return "and is not in the job completion log or accounting"
        return ("and this Slurm keeps neither a job completion log (JobCompType=jobcomp/"
                "filetxt) nor accounting")

    def _blind(self, scope: Scope, started: float | None) -> str:
        """Why jobs may have come and gone unseen, where nothing else can tell of them."""
        if self.source or scope.exact or started is None or self._first_look is None:
            return ""
        age = self.min_job_age if self.min_job_age is not None else 300.0
        late = self._first_look - started
        if age == 0 or late <= age:  # MinJobAge=0 keeps every job record
            return ""
        return (f"outcome unknown: the waiter first looked {late:.0f}s after the job started, "
                f"later than MinJobAge ({age:.0f}s), so jobs that ended before then have left "
                f"the queue {self._why_unknown()}")


def _order(job: SlurmJob) -> tuple[int, str]:
    return (number(job.id.split("_")[0].split("+")[0]) or 0, job.id)


class Scope:
    """Which jobs a wait covers.

    ``slurm``: the ids submit --runtime slurm captured for the job, exactly, if there are
    any; otherwise the head user's jobs submitted at or after the job's start. ``slurm[all]``:
    every job in the queue that had not ended before the job started, and the captured ids.
    """

    def __init__(self, all: bool, uid: int | None, captured: Sequence[str],
                 started: float | None) -> None:
        self.all = all
        self.uid = uid
        self.captured = list(captured)
        self.since = None if started is None else started - CLOCK_SLACK
        self.exact = bool(self.captured) and not all

    def covers(self, job: SlurmJob) -> bool:
        if self.captured and job.answers_to(self.captured):
            return True
        if self.exact:
            return False
        if self.all:
            return self.since is None or job.active or job.ended is None or \
                job.ended >= self.since
        if job.user_id != self.uid:
            return False
        return self.since is None or (job.submitted is not None and job.submitted >= self.since)


class Poll:
    def __init__(self, uid: int | None, now: float, captured: list[str],
                 jobs: list[SlurmJob]) -> None:
        self.uid = uid
        self.now = now
        self.captured = captured
        self.jobs = jobs


def read_poll(result: CommandResult) -> tuple[Poll, str]:
    """The probe's ``poll`` answer: header lines, then squeue's JSON."""
    empty = Poll(None, 0.0, [], [])
    lines = result.stdout.split("\n", 4)
    heads = [line.split() for line in lines[:4]]
    # Each header line is its word, then its values: read by word, never by position alone.
    if not result.ok or len(lines) < 5 or \
            [h[:1] for h in heads] != [["uid"], ["now"], ["captured"], ["squeue"]]:
        return empty, f"the Slurm probe failed ({result.exit_status}): {result.tail(1)}"
    uid = number(heads[0][1] if len(heads[0]) > 1 else None)
    now = float(number(heads[1][-1]) or 0)
    captured = heads[2][1:]
    if any(not c.isdigit() for c in captured):
        return empty, f"the Slurm probe read unexpected job ids: {' '.join(captured)[:200]}"
    rc = heads[3][-1]
    if rc != "0":
        first = lines[4].strip().splitlines()[:1]
        return empty, f"squeue failed ({rc}): {first[0][:200] if first else 'no output'}"
    jobs, problem = parse_squeue(lines[4])
    return Poll(uid, now, captured, jobs), problem


def slurm_activity(settings: SlurmSettings, transport: Transport) -> Activity:
    """Any Slurm job pending, running or completing in the queue (any user's)."""
    argv = ["bash", "-c", script("probe"), "jw", *settings.probe_args(), "poll", ""]
    result = transport.run(argv, idempotent=True, timeout=60)
    if result.exit_status == 127:
        return Activity("slurm", IDLE, "the Slurm client commands are not installed")
    poll, problem = read_poll(result)
    if problem:
        return Activity("slurm", UNKNOWN, problem)
    active = [j for j in poll.jobs if j.active]
    if active:
        return Activity("slurm", BUSY, f"{plural(len(active), 'Slurm job')} in progress: "
                                       f"{summary(active)}")
    return Activity("slurm", IDLE, "no Slurm job in progress")
