"""How things end: one vocabulary for a job, each of its waiters and the CLI's exit code.

A waiter ends ``succeeded``, ``failed``, ``lost``, ``timeout``, ``unreachable`` or (not run
after an earlier one failed) ``skipped``; a job's outcome adds what only a whole run can say,
and a job record's state (``JobRecord.outcome``) uses the same words, with ``running``.
``exit_code`` is the README's exit-code table, in one place. Stdlib only.
"""

from __future__ import annotations

import enum


class Outcome(str, enum.Enum):
    SUCCEEDED = "succeeded"          # recorded status 0 and every waiter succeeded
    FAILED = "failed"                # the job's recorded status was not 0
    LOST = "lost"                    # the session ended without recording a status
    LOST_RUNNING = "lost_running"    # lost, and processes of the job still run
    WAITER_FAILED = "waiter_failed"  # the job exited 0 but a waiter failed
    TIMEOUT = "timeout"              # --job-timeout reached; the job keeps running
    INTERRUPTED = "interrupted"      # Ctrl-C while waiting; the job keeps running
    UNREACHABLE = "unreachable"      # the head could not be reached; state unknown
    STARTED = "started"              # a session without a waiter: started, not waited for
    STOP_FAILED = "stop_failed"      # the job succeeded but stopping the cluster failed
    LAUNCH_FAILED = "launch_failed"  # the job could not be started (nothing ran)
    SKIPPED = "skipped"              # a waiter not run: an earlier one in the chain failed
    KILLED = "killed"                # ended by `jobwaiter kill` (recorded status 128+N)
    RUNNING = "running"              # a record's state: the job has not ended yet
    DETACHED = "detached"            # the head watches the job; the client returned
    USAGE_ERROR = "usage_error"      # bad arguments or config; nothing ran (--json's outcome)
    ERROR = "error"                  # a command jobwaiter ran failed (e.g. --start); no job result

    def __str__(self) -> str:
        return self.value


EXIT_USAGE = 2
EXIT_TIMEOUT = 124
EXIT_LOST = 125
EXIT_WAITER_FAILED = 126
EXIT_INTERRUPTED = 130
EXIT_UNREACHABLE = 255

_EXIT = {
    Outcome.SUCCEEDED: 0,
    Outcome.STARTED: 0,
    Outcome.DETACHED: 0,
    Outcome.USAGE_ERROR: EXIT_USAGE,
    Outcome.STOP_FAILED: 1,
    Outcome.LAUNCH_FAILED: 1,
    Outcome.ERROR: 1,
    Outcome.TIMEOUT: EXIT_TIMEOUT,
    Outcome.LOST: EXIT_LOST,
    Outcome.LOST_RUNNING: EXIT_LOST,
    Outcome.WAITER_FAILED: EXIT_WAITER_FAILED,
    Outcome.INTERRUPTED: EXIT_INTERRUPTED,
    Outcome.UNREACHABLE: EXIT_UNREACHABLE,
}


def exit_code(outcome: Outcome, exit_status: int | None = None) -> int:
    """The CLI's exit code: the job's own status when it failed, else the table's."""
    if outcome is Outcome.FAILED:
        status = exit_status or 1
        return status if 1 <= status <= 255 else 1
    if outcome is Outcome.KILLED:
        # 128+N as recorded; a job that caught the signal and exited 0 was still killed.
        return exit_status if exit_status is not None and 1 <= exit_status <= 255 else 137
    return _EXIT.get(outcome, 1)
