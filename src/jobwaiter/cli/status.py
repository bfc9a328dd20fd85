"""``status``: the cluster at a glance."""

from __future__ import annotations

import shlex
import time
from typing import TYPE_CHECKING

import click

from jobwaiter.cli.common import cluster_name_option, json_option, open_cluster
from jobwaiter.cli.output import EXIT_UNREACHABLE, Exit, TerminalReporter, echo_json

if TYPE_CHECKING:
    from jobwaiter.cluster.status import ClusterStatus


@click.command("status")
@click.argument("config", type=click.Path(dir_okay=False))
@json_option
@cluster_name_option
def status_cmd(config: str, as_json: bool, cluster_name: str | None) -> None:
    """Show the cluster at a glance: reachable, state, runtimes, jobs, armed stops.

    Every node is asked at once, each within a time limit. The state is what start and
    stop recorded (started, stopped or unknown); a runtime component is up, down or unknown;
    a stop is armed when a running job was started with --stop. Exit 0 when the head
    answers, 255 when it does not.

    \b
    Examples:
      jobwaiter status cluster.yaml
      jobwaiter status cluster.yaml --json
    """
    with open_cluster(config, cluster_name, TerminalReporter(True)) as cluster:
        status = cluster.status()
    if as_json:
        echo_json(status.to_dict())
    else:
        for line in describe(status, config=shlex.quote(config)):
            click.echo(line)
    if not status.reachable:
        raise Exit(EXIT_UNREACHABLE, f"jobwaiter: error: the head of cluster {status.cluster} "
                                     f"is unreachable: {status.head.error}")


def describe(status: ClusterStatus, now: float | None = None,
             config: str = "CONFIG") -> list[str]:
    """The status as lines for people, in the order they are asked about."""
    now = time.time() if now is None else now
    head = status.head
    if not status.reachable:  # why: on stderr, as the error line
        return [f"cluster {status.cluster} ({status.provider}): unreachable "
                f"(head {head.address})"]
    lines = [f"cluster {status.cluster} ({status.provider}): {status.state}, head reachable"]
    if len(status.nodes) > 1:
        lines.append("nodes:")
        for n in status.nodes:
            role = "head" if n.is_head else "worker"
            if n.reachable:
                lines.append(_row(role, n.address, "reachable", f"{n.state} {n.error}".strip()))
            else:
                lines.append(_row(role, n.address, "unreachable", n.error))
    elif head.error:
        lines.append(f"  head: {head.error}")
    lines.append("runtimes:" if status.runtimes else "runtimes: none configured")
    for r in status.runtimes:
        lines.append(_row(f"{r.runtime} {r.component}", r.node or "-", r.state, r.detail))
    lines.append(f"jobs running: {len(status.jobs) or 'none'}")
    for j in status.jobs:
        since = "" if j.started_at is None else f" for {_short(now - j.started_at)}"
        where = "" if j.node == "head" else f" on {j.node}"
        command = " ".join(j.command.split())
        command = command if len(command) <= 60 else command[:57] + "..."
        lines.append(f"  {j.name}  {j.session_kind or 'foreground'}  {j.state}{since}{where}"
                     f"  {command}")
    lines.append(f"stops armed: {len(status.stops_armed) or 'none'}")
    for a in status.stops_armed:
        where = "" if a.node == "head" else f" (on {a.node})"
        lines.append(f"  {a.job}{where}: {a.detail}")
    if status.last_stop is not None:
        lines.append(status.last_stop.describe())
    if status.autostop is not None:
        lines.append(status.autostop.describe(config))
    return lines


def _row(name: str, node: str, state: str, detail: str) -> str:
    return f"  {name:<18} {node:<16} {state:<11}" + (f" {detail}" if detail else "")


def _short(seconds: float) -> str:
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
