"""``exec --all-nodes``: every node's output, live, with the node in front of each line, then
one status line per node. Exit 0 when every node succeeded, else 1."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import click

from jobwaiter.cli.output import TerminalReporter, echo_json, error_line, stop_line
from jobwaiter.errors import UsageError

if TYPE_CHECKING:
    # Types only: completing an option of exec must not pay for importing the job layer.
    from jobwaiter.jobs.everywhere import NodesResult
    from jobwaiter.transport.node import Node


def check_options(
    all_nodes: bool, node_ip: str | None, no_parallel: bool, **job_options: object
) -> None:
    """Refuse combinations that have no meaning, before anything runs."""
    if not all_nodes:
        if no_parallel:
            raise UsageError("--no-parallel goes with --all-nodes")
        return
    if node_ip:
        raise UsageError("--node-ip and --all-nodes cannot be used together")
    used = [f"--{name.replace('_', '-')}" for name, value in job_options.items() if value]
    if used:
        raise UsageError(f"--all-nodes runs CMD in the foreground on every node; it cannot "
                         f"be combined with {', '.join(used)}")


class LinePrinter:
    """Prints each node's lines as they arrive, the node in front (``10.0.0.6: ...``; stderr
    lines on stderr). Nodes print from their own threads, so a lock keeps lines whole."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, node: Node, stream: str, line: str) -> None:
        with self._lock:
            click.echo(f"{node.ip}: {line}", err=stream == "stderr")


def finish(result: NodesResult, reporter: TerminalReporter, as_json: bool) -> int:
    reporter.done()
    if as_json:
        echo_json(result.to_dict())
    for run in result.runs:
        line = f"{run.node.ip}{' (head)' if run.node.is_head else ''}: {run.status}"
        if run.ok:
            reporter.phase(line)
        else:
            error_line(reporter, line)
    if result.stop is not None:
        stop_line(reporter, result.stop)
    failed = result.failed
    if not failed and result.ok:
        reporter.phase(f"result: succeeded on all {len(result.runs)} nodes")
        return 0
    if failed:
        names = ", ".join(r.node.ip for r in failed)
        error_line(reporter, f"result: failed on {len(failed)} of {len(result.runs)} nodes "
                         f"({names})")
    return 1

