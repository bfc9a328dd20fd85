"""``wait``, ``jobs``, ``logs`` and ``kill``: coming back to jobs started earlier."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from jobwaiter.cli.common import (
    Duration,
    Exit,
    cluster_name_option,
    confirm,
    json_option,
    node_ip_option,
    open_cluster,
    quiet_option,
    resume_command,
    yes_option,
)
from jobwaiter.cli.output import (
    EXIT_LOST,
    TerminalReporter,
    echo_json,
    exit_code,
    print_result,
)
from jobwaiter.errors import UsageError
from jobwaiter.jobs.listing import JOB_STATES, job_row, parse_states
from jobwaiter.outcome import Outcome


@click.command("wait")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("session")
@click.option("--job-waiter", "job_waiter", metavar="SPEC",
              help="Wait with this SPEC instead of the one the job was started with.")
@click.option("--job-timeout", type=Duration(), metavar="DURATION",
              help="Give up waiting after this long (exit 124): 90, 90s, 30m, 1h30m, 7d, 2w.")
@click.option("--stop", is_flag=True, help="Stop the cluster once the job has completed.")
@yes_option
@quiet_option
@json_option
@cluster_name_option
@node_ip_option
def wait_cmd(config: str, session: str, job_waiter: str | None, job_timeout: float | None,
             stop: bool, yes: bool, quiet: bool, as_json: bool, cluster_name: str | None,
             node_ip: str | None) -> None:
    """Wait again for a job started earlier (after a timeout, Ctrl-C or a dropped laptop).
    Exit codes are those of exec; a job that has ended returns at once.

    \b
    Examples:
      jobwaiter wait cluster.yaml jobwaiter-3f9c2a1b7d4e
      jobwaiter wait cluster.yaml jobwaiter-3f9c2a1b7d4e --job-timeout 3600 --stop -y
    """
    reporter = TerminalReporter(quiet)
    with open_cluster(config, cluster_name, reporter, yes) as cluster:
        if stop:
            confirm(f"stop cluster {cluster.name!r} once the job has completed", yes)
        result = cluster.on_node(node_ip).wait(session, job_waiter=job_waiter,
                                               job_timeout=job_timeout, stop=stop)
    print_result(result, reporter, as_json,
                 resume_command(config, session, cluster_name, node_ip))
    raise Exit(exit_code(result))


class StateList(click.ParamType[frozenset[Outcome], Any]):
    """``--state``: one state or several separated by commas; an unknown one is a usage
    error that lists the valid ones."""

    name = "state"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> frozenset[Outcome]:
        if isinstance(value, frozenset):
            return value
        try:
            return parse_states(str(value))
        except UsageError as exc:
            self.fail(str(exc), param, ctx)


@click.command("jobs")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--all", "show_all", is_flag=True, help="Include jobs older than a day.")
@click.option("--state", "states", multiple=True, type=StateList(), metavar="STATE",
              help="Only jobs in this state (repeatable, or comma-separated): "
                   f"{', '.join(JOB_STATES)}.")
@click.option("--prune", is_flag=True, help="Remove records and logs of ended jobs.")
@click.option("--older-than", "older_than", default="7d", show_default=True,
              type=Duration(allow_zero=True), metavar="DURATION",
              help="With --prune: only jobs started longer ago than this (e.g. 12h, 7d; "
                   "0 for every ended job).")
@json_option
@cluster_name_option
@node_ip_option
def jobs_cmd(config: str, show_all: bool, states: tuple[frozenset[Outcome], ...], prune: bool,
             older_than: float, as_json: bool, cluster_name: str | None,
             node_ip: str | None) -> None:
    """List the jobs on the cluster's head, newest first.

    The table fits the terminal (the command is shortened first, then columns are left
    out), one line per job; piped, it is plain text with columns separated by spaces. The
    STATE column is coloured on a terminal unless NO_COLOR is set.

    \b
    Examples:
      jobwaiter jobs cluster.yaml
      jobwaiter jobs cluster.yaml --state failed,killed
      jobwaiter jobs cluster.yaml --all --state running --json
      jobwaiter jobs cluster.yaml --prune --older-than 7d
    """
    if prune and states:
        raise click.UsageError("--state chooses what jobs lists; --prune removes every ended "
                               "job older than --older-than")
    wanted = frozenset().union(*states) if states else None
    reporter = TerminalReporter()
    with open_cluster(config, cluster_name, reporter) as whole:
        cluster = whole.on_node(node_ip)
        if prune:
            lines = cluster.prune(older_than)
            if as_json:
                echo_json({"pruned": [ln.split()[1] for ln in lines
                                       if ln.startswith("removed ")]})
            for line in lines:
                reporter.phase(line)
            if not lines:
                reporter.phase(f"nothing to prune (no ended job older than {older_than:g}s)")
            return
        records = cluster.jobs(include_old=show_all, states=wanted)
    now = time.time()
    rows = [job_row(r, now) for r in records]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        reporter.phase(_nothing_listed(show_all, wanted))
        return
    from jobwaiter.cli import jobs_table  # imports rich: only when there is a table to draw

    jobs_table.draw(rows, sys.stdout)


def _nothing_listed(show_all: bool, states: frozenset[Outcome] | None) -> str:
    what = "no jobs"
    if states is not None:
        what += " " + " or ".join(s.value for s in JOB_STATES if s in states)
    return what + ("" if show_all else " in the last day (--all for older)")


@click.command("logs")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("session")
@click.option("-f", "--follow", is_flag=True,
              help="Keep printing until the job ends, then exit with its outcome code.")
@click.option("--tail", "lines", type=click.IntRange(min=0), metavar="N",
              help="Only the last N lines.")
@cluster_name_option
@node_ip_option
def logs_cmd(config: str, session: str, follow: bool, lines: int | None,
             cluster_name: str | None, node_ip: str | None) -> None:
    """Print a job's log (~/user/logs/SESSION.log on the head).

    \b
    Examples:
      jobwaiter logs cluster.yaml jobwaiter-3f9c2a1b7d4e --tail 50
      jobwaiter logs cluster.yaml jobwaiter-3f9c2a1b7d4e -f
    """
    with open_cluster(config, cluster_name, TerminalReporter()) as cluster:
        record = cluster.on_node(node_ip).logs(session, follow=follow, lines=lines)
    if not follow:
        return
    if record.exit_status is not None:
        raise Exit(record.exit_status if record.exit_status <= 255 else 1)
    if record.running:
        raise Exit(130, "jobwaiter: stopped following; the job keeps running")
    raise Exit(EXIT_LOST, f"jobwaiter: job {session} is lost: it ended without recording "
                          "an exit status")


@click.command("kill")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("session")
@click.option("--signal", "sig", default="TERM", show_default=True, metavar="SIGNAL",
              help="Signal to send first (name or number).")
@click.option("--grace", default="10s", show_default=True, type=Duration(allow_zero=True),
              metavar="DURATION", help="Then wait this long before sending KILL (0: at once).")
@quiet_option
@cluster_name_option
@node_ip_option
def kill_cmd(config: str, session: str, sig: str, grace: float, quiet: bool,
             cluster_name: str | None, node_ip: str | None) -> None:
    """Stop a job: signal its process group (the job and its children), send KILL after the
    grace period, end its session and record 128+N as its status.

    \b
    Examples:
      jobwaiter kill cluster.yaml jobwaiter-3f9c2a1b7d4e
      jobwaiter kill cluster.yaml jobwaiter-3f9c2a1b7d4e --signal INT --grace 30
    """
    reporter = TerminalReporter(quiet)
    with open_cluster(config, cluster_name, reporter) as cluster:
        done = cluster.on_node(node_ip).kill(session, sig, grace)
    if done.state == "killed":
        reporter.phase(f"killed {session}; recorded exit status {done.exit_status}")
    elif done.state == "ended":
        reporter.phase(f"{session} had already ended with status {done.exit_status}")
    else:
        reporter.phase(f"{session} was lost (no recorded exit status); signalled "
                       f"{done.leftovers} process(es) of it that still ran")
