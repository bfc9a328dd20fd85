"""``--tail-on-failure N``: a failed job's last log lines, read for the result's report."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from jobwaiter.cli.output import TerminalReporter
from jobwaiter.errors import JobwaiterError
from jobwaiter.jobs.result import JobResult
from jobwaiter.jobs.tail import DEFAULT_TAIL_LINES, wants_tail

if TYPE_CHECKING:
    from jobwaiter.cluster.cluster import Cluster

F = TypeVar("F", bound=Callable[..., Any])


def tail_option(f: F) -> F:
    return click.option("--tail-on-failure", "tail_on_failure", type=click.IntRange(min=0),
                        default=DEFAULT_TAIL_LINES, show_default=True, metavar="N",
                        help="When the job fails, show the last N lines of its log "
                             "(0: none).")(f)


def failure_tail(cluster: Cluster, result: JobResult, lines: int, output_shown: bool,
                 reporter: TerminalReporter, node_ip: str | None = None) -> list[str] | None:
    """The last ``lines`` lines of a failed job's log, or None when there is nothing to
    show. Reading them can fail or be interrupted; the job's result stands either way, so
    that is a warning, never the command's outcome."""
    if lines <= 0 or not wants_tail(result, output_shown):
        return None
    try:
        return cluster.log_tail(result, lines, node_ip=node_ip)
    except JobwaiterError as exc:
        reporter.warn(f"cannot show the end of the job's log: {exc}")
    except KeyboardInterrupt:
        reporter.warn("stopped reading the end of the job's log")
    return None
