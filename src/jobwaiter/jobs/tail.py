"""The last lines of a job's log: what makes "exit 127" readable ("command not found").

One call on the node, ``tail -c`` of the log (exit 3: no such file): it reads only the end
of the file however big the log is, and a window of bytes (not lines) bounds the answer even
when the job wrote a huge line (a progress bar rewritten with carriage returns, binary
output).
"""

from __future__ import annotations

from jobwaiter.errors import CommandError, UsageError
from jobwaiter.jobs.result import JobResult, Outcome
from jobwaiter.jobs.site import JobSite
from jobwaiter.records import check_name, log_path

#: How many lines a failure shows unless told otherwise (``--tail-on-failure``).
DEFAULT_TAIL_LINES = 20

#: Outcomes whose job ended badly, so its last words explain it. Not timeout, interrupted or
#: unreachable: the job may still be running, and nothing about it is known to be wrong.
FAILED_OUTCOMES = frozenset({Outcome.FAILED, Outcome.LOST, Outcome.LOST_RUNNING,
                             Outcome.WAITER_FAILED, Outcome.KILLED})

_MIN_WINDOW = 64 * 1024
_MAX_WINDOW = 8 * 1024 * 1024
_LINE_ALLOWANCE = 1024  # bytes per asked-for line before the window grows past its minimum
# $1: the window in bytes, $2: the log, relative to $HOME (where commands start).
_TAIL = '[ -f "$2" ] || exit 3; exec tail -c "$1" -- "$2"'


def log_tail(site: JobSite, job: str | JobResult, lines: int = DEFAULT_TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of the log of ``job`` (a session name or a ``JobResult``) on
    the cluster's job node, without their line ends. Raises ``UsageError`` if the job has no
    log (or it was removed) and ``TransportError`` if the node cannot be reached."""
    if isinstance(lines, bool) or not isinstance(lines, int) or lines < 0:
        raise UsageError(f"lines must be a whole number >= 0, not {lines!r}")
    if isinstance(job, JobResult):
        name = job.job
        if not job.log_path:
            raise UsageError(f"job {name} has no log (start it with --job-log, or use a "
                             "waiter)")
        log = job.log_path.removeprefix("~/")
    else:
        name = check_name(job)
        log = log_path(name)  # a job's log, when it has one, is always at this path
    if lines == 0:
        return []
    window = min(max(_MIN_WINDOW, lines * _LINE_ALLOWANCE), _MAX_WINDOW)
    answer = site.head.run(["bash", "-c", _TAIL, "jw", str(window), log], idempotent=True,
                              timeout=60)
    if not answer.ok:
        if answer.exit_status == 3:
            raise UsageError(f"job {name} has no log at ~/{log}")
        raise CommandError(answer, f"reading the log of job {name}")
    return last_lines(answer.stdout, lines)


def last_lines(text: str, lines: int) -> list[str]:
    """The last ``lines`` lines of ``text``, split at newlines only (a carriage return is part
    of its line, as ``tail -n`` counts), each without its ``\\n`` and a CRLF's ``\\r``."""
    if lines <= 0 or not text:
        return []
    parts = text.removesuffix("\n").split("\n")
    return [p.removesuffix("\r") for p in parts[-lines:]]


def wants_tail(result: JobResult, output_shown: bool) -> bool:
    """Whether a failed job's log should be shown: it ended badly, it has a log, and its
    output has not just been shown (a foreground job's went to the terminal as it ran)."""
    return result.outcome in FAILED_OUTCOMES and bool(result.log_path) and not output_shown
