"""Coming back to jobs: wait again, list, follow logs, kill, prune."""

from __future__ import annotations

import signal as _signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from jobwaiter.errors import CommandError, JobwaiterError, TransportError, UsageError
from jobwaiter.jobs import watch
from jobwaiter.jobs.autostop import AutostopState, parse_autostop
from jobwaiter.jobs.names import label_note, records_to_read, resolve_job
from jobwaiter.jobs.plan import JobPlan, plan_job
from jobwaiter.jobs.request import JobRequest
from jobwaiter.jobs.result import JobResult, Outcome, StopReport
from jobwaiter.jobs.run import finish_wait, follow_job, watched
from jobwaiter.jobs.site import JobSite
from jobwaiter.jobs.stop import DISARMED, STOP_AFTER, claim, stop_after
from jobwaiter.records import JobRecord
from jobwaiter.records.read import parse_dump, read_dump, read_records
from jobwaiter.sessions import follow_argv, kill_argv, prune_argv, rearm_argv
from jobwaiter.waiters.loop import WaitLoop

DAY = 86400.0


def cluster_records(site: JobSite, names: list[str] | None = None) -> list[JobRecord]:
    """The records of this cluster's jobs on the node (another config's are not seen)."""
    return [r for r in read_records(site.head, names) if r.of_cluster(site.cluster)]


def get_record(site: JobSite, name: str) -> JobRecord:
    """The record of the job ``name`` names: any form of JOB (``jobs/names.py``)."""
    records = cluster_records(site, records_to_read(name))
    record = resolve_job(name, records, site.cluster, site.where)
    note = label_note(name, records, record)
    if note:
        site.reporter.warn(note)
    return record


def wait_job(
    site: JobSite,
    name: str,
    job_waiter: str | None = None,
    timeout: float | None = None,
    stop: bool = False,
    loop: WaitLoop | None = None,
    watch_mode: str | None = None,
    detach: bool = False,
) -> JobResult:
    """Wait again for a job started earlier, with the SPEC it was started with unless another
    is given. A job that has ended returns at once with its recorded outcome. A job the head
    watches is followed there (and armed again if its watcher is gone); ``detach`` hands the
    job to the head's watch and returns."""
    record = get_record(site, name)
    result = _wait_record(site, record, job_waiter, timeout, stop, loop, watch_mode, detach)
    return labelled(result, record.label)


def labelled(result: JobResult, label: str | None) -> JobResult:
    """``result`` with the job's label (``--name``), wherever the result was made."""
    return replace(result, label=label) if label and result.label is None else result


def _wait_record(
    site: JobSite,
    record: JobRecord,
    job_waiter: str | None,
    timeout: float | None,
    stop: bool,
    loop: WaitLoop | None,
    watch_mode: str | None,
    detach: bool,
) -> JobResult:
    name = record.name
    meta = record.meta
    session = meta.get("session") or None
    if stop and record.stop_claim == DISARMED:
        site.head.run(rearm_argv(name), timeout=60).check(f"arming the stop after {name}")
        record = replace(record, stop_claim="")
    # A stop the head's watch has armed stays armed when this wait does not ask for one.
    stop = stop or record.watched_stop
    req = JobRequest(command=str(meta.get("command", "")), session=session,
                     job_waiter=job_waiter or meta.get("spec"), stop=stop, timeout=timeout,
                     watch=watch_mode, detach=detach)
    log = meta.get("log")
    plan = replace(plan_job(site, req, name=name), log=str(log) if log else None)
    base = JobResult(Outcome.STARTED, name, session=name if session else None,
                     session_kind=session, log_path=f"~/{log}" if log else None,
                     started_at=record.started_at, ended_at=record.ended_at,
                     exit_status=record.exit_status)
    if record.watched or detach or watch.mode_of(watch_mode, site) == "head":
        result = _wait_on_head(site, plan, req, record, base, loop)
        if result is not None:
            return result
    result = finish_wait(site, plan, base, loop, record.started_at)
    if not record.stop_in_session:
        return result
    return _with_session_stop(site, result)


def _wait_on_head(
    site: JobSite,
    plan: JobPlan,
    req: JobRequest,
    record: JobRecord,
    base: JobResult,
    loop: WaitLoop | None,
) -> JobResult | None:
    """``wait`` through the head's watch; None when this client must wait itself."""
    mode = watch.check_request(site, plan, req)
    path = None if mode == "client" else watch.prepare(site, mode)
    if path is None:
        return None
    rearm = req.detach or not record.watched or (plan.stop is not None
                                                 and not record.watched_stop)
    if not rearm:
        followed = follow_job(site, path, plan, base, req.timeout)
        unfinished = followed.from_head and followed.result is not None \
            and followed.result.outcome is Outcome.TIMEOUT and not followed.unwatched \
            and followed.result.exit_status is None
        if unfinished:
            # The head's last watch gave up at its --job-timeout: this wait watches anew.
            return watched(site, plan, base, path, req.detach, loop, req.timeout)
        if followed.result is not None and not followed.unwatched:
            result = followed.result
            if plan.stop is not None and result.stop is None:
                # Asked for now, after a watch that had no stop to run.
                result = stop_after(site, plan.stop, result)
            return result
        site.reporter.warn(f"the head's watch of {plan.name} ended without a result: "
                           f"{followed.unwatched}; arming it again")
    result = watched(site, plan, base, path, req.detach, loop, req.timeout)
    if plan.stop is not None and result.stop is None and result.outcome in STOP_AFTER:
        # The head's watch had ended before this stop was asked for: this client stops.
        result = stop_after(site, plan.stop, result)
    return result


def wait_jobs(
    site: JobSite,
    names: list[str] | None,
    on_result: Callable[[JobResult], None],
    job_waiter: str | None = None,
    timeout: float | None = None,
    stop: bool = False,
    watch_mode: str | None = None,
) -> list[JobResult]:
    """Wait for several jobs at once (None: every job running on the node), calling
    ``on_result`` as each ends; returns the results in the order of ``names``. The jobs the
    head watches are followed together, with one call at a time on the head; the others are
    waited for in threads that share the node's one connection."""
    if names is None:
        records = [r for r in cluster_records(site) if r.running]
    else:
        records = [get_record(site, n) for n in dict.fromkeys(names)]
    results: dict[str, JobResult] = {}
    lock = threading.Lock()

    labels = {r.name: r.label for r in records}

    def done(result: JobResult) -> None:
        result = labelled(result, labels.get(result.job))
        with lock:
            results[result.job] = result
            on_result(result)

    def one(name: str) -> None:
        try:
            done(wait_job(site, name, job_waiter, timeout, stop, None, watch_mode))
        except JobwaiterError as exc:  # one job's trouble is its result, not the others'
            done(JobResult(Outcome.UNREACHABLE if isinstance(exc, TransportError)
                           else Outcome.ERROR, name, message=str(exc)))

    plain = job_waiter is None and not stop and watch.mode_of(watch_mode, site) != "client"
    followed = [r.name for r in records if r.watched and plain]
    path = watch.prepare(site, "auto") if followed else None
    threads = [threading.Thread(target=one, args=(r.name,), daemon=True)
               for r in records if path is None or r.name not in followed]
    for thread in threads:
        thread.start()
    if path is not None:
        deadline = None if timeout is None else time.monotonic() + timeout
        again: list[str] = []

        def seen(name: str, got: watch.Followed) -> None:
            if got.result is not None and not got.unwatched:
                done(got.result)
            else:
                again.append(name)  # its watcher is gone: waited for alone, armed again

        left = watch.follow(site, path, followed, seen, deadline)
        for name in left:
            record = next(r for r in records if r.name == name)
            done(JobResult(Outcome.TIMEOUT, name, session=name,
                           session_kind=record.session,
                           message="stopped following (--job-timeout); the head keeps "
                                   "watching the job"))
        for name in again:
            one(name)
    for thread in threads:
        thread.join()
    return [results[r.name] for r in records if r.name in results]


def _with_session_stop(site: JobSite, result: JobResult) -> JobResult:
    """A stop that ran inside the session is part of the job's result: a failed one is never
    reported as plain success. (The record is read again: the stop ended during the wait.)"""
    if result.stop is not None or result.outcome not in (Outcome.SUCCEEDED, Outcome.FAILED):
        return result
    records = read_records(site.head, [result.job])
    record = records[0] if records else None
    if record is None or (stop := _session_stop(record)) is None:
        return result
    if result.outcome is Outcome.SUCCEEDED and not stop.ok:
        return replace(result, outcome=Outcome.STOP_FAILED, stop=stop,
                       message=f"the job succeeded but stopping the cluster failed: "
                               f"{stop.detail}")
    return replace(result, stop=stop)


def _session_stop(record: JobRecord) -> StopReport | None:
    """The stop that ran inside the job's session, when one was asked for and has ended."""
    if record.stop_status is None or not record.stop_in_session:
        return None
    detail = f"stopped inside the session (exit status {record.stop_status})"
    if record.stop_log:
        detail += f": {record.stop_log}"
    return StopReport(True, record.stop_status == 0, detail)


def list_jobs(site: JobSite, include_old: bool = False) -> list[JobRecord]:
    """Jobs on the node, newest first; without ``include_old`` only those of the last day
    (and any still running)."""
    return list_jobs_and_autostop(site, include_old)[0]


def list_jobs_and_autostop(
    site: JobSite, include_old: bool = False
) -> tuple[list[JobRecord], AutostopState | None]:
    """``list_jobs``, and autostop as the node shows it (read in the same call)."""
    text = read_dump(site.head)
    records = [r for r in parse_dump(text) if r.of_cluster(site.cluster)]
    records.sort(key=_started, reverse=True)
    if not include_old:
        cutoff = time.time() - DAY
        records = [r for r in records if r.running or _started(r) >= cutoff]
    return records, parse_autostop(text, site.cluster)


def _started(record: JobRecord) -> float:
    created = record.meta.get("created_at")
    if record.started_at is not None:
        return record.started_at
    return float(created) if isinstance(created, (int, float)) else 0.0


def prune_jobs(site: JobSite, older_than: float) -> list[str]:
    """Remove the records and logs of ended jobs started more than ``older_than`` seconds
    ago. Running jobs are never removed (the head checks again before removing)."""
    cutoff = time.time() - older_than
    names = [r.name for r in cluster_records(site)
             if not r.running and _started(r) < cutoff]
    if not names:
        return []
    result = site.head.run(prune_argv(names))
    if not result.ok:
        raise CommandError(result, "pruning job records")
    return result.stdout.splitlines()


@dataclass(frozen=True)
class LogShown:
    """What ``follow_log`` printed: the job's record afterwards, and whether its log was
    empty (nothing printed)."""

    record: JobRecord
    empty: bool = False


def follow_log(site: JobSite, name: str, follow: bool, lines: int | None) -> LogShown:
    """Print the job's log to our stdout; with ``follow``, until the job ends."""
    record = get_record(site, name)
    result = site.head.run(_log_argv(record, follow, lines), capture=False)
    _check_log(record, result.exit_status)
    return LogShown(get_record(site, record.name), result.exit_status == _EMPTY_LOG)


def read_log(site: JobSite, name: str, follow: bool, lines: int | None) -> str:
    """The job's log as text (with ``follow``, once the job has ended)."""
    record = get_record(site, name)
    result = site.head.run(_log_argv(record, follow, lines))
    _check_log(record, result.exit_status)
    if result.exit_status not in (0, _EMPTY_LOG):
        raise CommandError(result, f"reading the log of job {record.name}")
    return result.stdout if result.exit_status == 0 else ""


_EMPTY_LOG = 4  # follow.sh: the log is there and empty


def _log_argv(record: JobRecord, follow: bool, lines: int | None) -> list[str]:
    log = record.meta.get("log")
    if not log:
        raise UsageError(f"job {record.name} has no log (start it with --job-log, or use a "
                         "waiter)")
    return follow_argv(record.name, str(log), follow, lines)


def _check_log(record: JobRecord, exit_status: int | None) -> None:
    if exit_status == 3:
        raise UsageError(f"the log of job {record.name} (~/{record.meta.get('log')}) is gone")


def parse_signal(text: str) -> int:
    name = text.upper()
    if name.isdigit():
        num = int(name)
        if num in {s.value for s in _signal.Signals}:
            return num
    else:
        name = name if name.startswith("SIG") else "SIG" + name
        if name in _signal.Signals.__members__:
            return int(_signal.Signals[name])
    raise UsageError(f"unknown signal {text!r}")


@dataclass(frozen=True)
class KillReport:
    """What ``kill`` did. ``state``: "killed" (it ran; ``exit_status`` is what is recorded
    now), "ended" (it had ended before with ``exit_status``), or "lost" (its wrapper was
    gone without a status; ``leftovers`` processes of it were found and signalled).
    ``stop``: what became of a ``--stop`` armed after the job: "" (none), "disarmed" (a kill
    never stops the cluster as a side effect), "kept" (``kill --stop``), or "too late: ..."
    (a stop that had begun)."""

    state: str
    exit_status: int | None = None
    leftovers: int = 0
    stop: str = ""

    @property
    def was_running(self) -> bool:
        return self.state == "killed"


def kill_job(site: JobSite, name: str, signum: int, grace: float = 10.0,
             keep_stop: bool = False) -> KillReport:
    """Signal the job's processes, escalate to KILL after ``grace`` seconds, end its
    session. Only processes proven to be the job's are signalled (see ``sh/kill.sh``). A
    stop armed after the job is disarmed first, unless ``keep_stop``."""
    record = get_record(site, name)
    name = record.name
    stop = ""
    if (record.meta.get("stop") or record.watched_stop) and record.stop_claim != DISARMED:
        if keep_stop:
            stop = "kept" if not record.stop_claim else f"too late: the stop was claimed " \
                                                        f"by {record.stop_claim}"
        else:
            taken = claim(site, name, DISARMED)
            stop = "disarmed" if taken in (None, DISARMED) else \
                f"too late: the stop was claimed by {taken}"
    result = site.head.run(kill_argv(name, signum, grace))
    if result.exit_status == 2:
        raise UsageError(result.stderr.strip().splitlines()[-1] if result.stderr.strip()
                         else f"no job {name}")
    if not result.ok:
        raise CommandError(result, f"killing job {name}")
    words = result.stdout.split()
    if len(words) != 2 or not words[1].isdigit() or words[0] not in ("status", "already",
                                                                      "lost"):
        raise CommandError(result, f"killing job {name}: unexpected answer")
    number = int(words[1])
    if words[0] == "lost":
        return KillReport("lost", None, number, stop)
    return KillReport("killed" if words[0] == "status" else "ended", number, stop=stop)


def disarm_jobs(site: JobSite, names: list[str] | None) -> list[tuple[str, str]]:
    """Cancel the stops armed after these jobs (None: every job with one on the node); a
    stop already claimed by whoever runs it is too late. Returns ``(job, what)``, ``what``
    one of "disarmed", "already disarmed", "nothing armed", "too late: ..."."""
    if names is None:
        records = [r for r in cluster_records(site) if r.stop_armed]
    else:
        records = [get_record(site, n) for n in names]
    done = []
    for record in records:
        if not (record.meta.get("stop") or record.watched_stop):
            done.append((record.name, "nothing armed"))
            continue
        taken = claim(site, record.name, DISARMED)
        if taken is None:
            done.append((record.name, "disarmed"))
        elif taken == DISARMED:
            done.append((record.name, "already disarmed"))
        else:
            done.append((record.name, f"too late: the stop was claimed by {taken}"))
    return done
