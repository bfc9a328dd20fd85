"""``autostop``: the head stops the cluster once it has been idle."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

import click

from jobwaiter.cli.common import (
    Duration,
    cluster_name_option,
    json_option,
    open_cluster,
    quiet_option,
)
from jobwaiter.cli.output import TerminalReporter, echo_json
from jobwaiter.jobs.autostop import WAIT_FOR

if TYPE_CHECKING:
    from jobwaiter.jobs.autostop import AutostopState



@click.command("autostop")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("-i", "--idle", type=Duration(unit_required=True), metavar="DURATION",
              help="Stop the cluster once it has been idle this long, with a unit (30m, "
                   "2h, 90s; a bare number is refused). Arming again restarts the idle "
                   "clock.")
@click.option("--wait-for", type=click.Choice(WAIT_FOR), default=WAIT_FOR[0],
              show_default=True,
              help="jobs_and_ssh: an attached tmux/screen client or an interactive login on "
                   "the head keeps the cluster up too; jobs: only jobs and runtime work.")
@click.option("--cancel", is_flag=True, help="Disarm autostop.")
@click.option("-y", "--yes", is_flag=True,
              help="Accepted as `stop` accepts it; autostop asks nothing: it stops nothing "
                   "now, and --cancel undoes it.")
@json_option
@cluster_name_option
@quiet_option
def autostop_cmd(config: str, idle: float | None, wait_for: str, cancel: bool, yes: bool,
                 as_json: bool, cluster_name: str | None, quiet: bool) -> None:
    """Arm the head to stop the whole cluster once it has been idle for a while.

    Idle means: no jobwaiter job running on any node, no runtime (Spark, Ray, Slurm) with
    work pending or running, and, unless --wait-for jobs, no tmux/screen client attached
    and nobody logged in on the head with a terminal. Anything that cannot be told counts
    as busy. The head's watcher keeps the clock and runs the same stop as `jobwaiter stop`,
    once; `jobwaiter stop` disarms it. With neither --idle nor --cancel, show autostop as
    the head keeps it (`status` shows it too). After a reboot of the head nothing counts
    until autostop is armed again.

    Exit 0 when armed, cancelled or shown; 2 for bad input (nothing armed); 1 when the head
    cannot run it (no python3 3.8+); 255 when the head is unreachable.

    \b
    Examples:
      jobwaiter autostop cluster.yaml --idle 30m
      jobwaiter autostop cluster.yaml -i 2h --wait-for jobs
      jobwaiter autostop cluster.yaml
      jobwaiter autostop cluster.yaml --cancel
    """
    if cancel and idle is not None:
        raise click.UsageError("--cancel disarms autostop; --idle arms it: give one")
    reporter = TerminalReporter(quiet)
    with open_cluster(config, cluster_name, reporter, yes) as cluster:
        if cancel:
            was = cluster.autostop_cancel()
            if as_json:
                echo_json({"cancelled": was})
            else:
                reporter.phase("autostop cancelled" if was else "autostop was not armed")
            return
        state: AutostopState | None
        if idle is not None:
            reporter.phase(f"arming autostop on cluster {cluster.name}")
            state = cluster.autostop(idle, wait_for)
        else:
            state = cluster.autostop_state()
    if as_json:
        echo_json(state.to_dict() if state is not None else {"armed": False})
    else:
        click.echo(state.describe(shlex.quote(config)) if state is not None
                   else "autostop: not armed")
