"""``wait``, ``jobs``, ``logs`` and ``kill``: coming back to jobs started earlier."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from jobwaiter.cli.common import (
    Duration,
    Exit,
    SpecJoiningCommand,
    cluster_name_option,
    confirm,
    json_option,
    node_ip_option,
    open_cluster,
    quiet_option,
    resume_command,
    watch_options,
    yes_option,
)
from jobwaiter.cli.complete import complete_jobs, complete_waiters
from jobwaiter.cli.output import (
    EXIT_LOST,
    TerminalReporter,
    echo_json,
    exit_code,
    print_result,
)
from jobwaiter.cli.tail import failure_tail, tail_option
from jobwaiter.errors import UsageError
from jobwaiter.jobs.listing import JOB_STATES, job_row, parse_states
from jobwaiter.jobs.result import JobResult
from jobwaiter.outcome import Outcome

F = TypeVar("F", bound=Callable[..., Any])


#: How each command that takes JOB explains it (its --help).
JOB_FORMS = """JOB is the job's session name (jobwaiter-3f9c2a1b7d4e), the label it was
    started with (--name train), a unique prefix of at least 4 of its 12 hex digits (3f9c,
    jobwaiter-3f9c), or @last: the newest job of this cluster on the node."""


def _job_help(f: F) -> F:
    """Put JOB_FORMS into the command's docstring (which click reads for --help)."""
    f.__doc__ = (f.__doc__ or "").replace("{JOB_FORMS}", JOB_FORMS)
    return f


@click.command("wait", cls=SpecJoiningCommand)
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("jobs", nargs=-1, shell_complete=complete_jobs)
@click.option("--all", "every", is_flag=True, help="Every job running on the node.")
@click.option("--job-waiter", "job_waiter", metavar="SPEC", shell_complete=complete_waiters,
              help="Wait with this SPEC instead of the one the job was started with.")
@click.option("--job-timeout", type=Duration(), metavar="DURATION",
              help="Give up waiting after this long (exit 124): 90, 90s, 30m, 1h30m, 7d, 2w.")
@click.option("--stop", is_flag=True,
              help="Stop the cluster once the job has completed (arms it again after "
                   "disarm).")
@tail_option
@watch_options
@yes_option
@quiet_option
@json_option
@cluster_name_option
@node_ip_option
@_job_help
def wait_cmd(config: str, jobs: tuple[str, ...], every: bool, job_waiter: str | None,
             job_timeout: float | None, stop: bool, tail_on_failure: int, watch: str | None,
             detach: bool, yes: bool, quiet: bool, as_json: bool, cluster_name: str | None,
             node_ip: str | None) -> None:
    """Wait again for jobs started earlier (after a timeout, Ctrl-C or a dropped laptop).
    Exit codes are those of exec; a job that has ended returns at once. Several JOBs (or
    --all) are waited for at once over one connection, each result printed as it comes;
    the exit code is then 0 only if all succeeded, else the first failure's.

    {JOB_FORMS}

    \b
    Examples:
      jobwaiter wait cluster.yaml jobwaiter-3f9c2a1b7d4e
      jobwaiter wait cluster.yaml train --job-timeout 3600 --stop -y
      jobwaiter wait cluster.yaml 3f9c
      jobwaiter wait cluster.yaml @last
      jobwaiter wait cluster.yaml train --stop --detach -y
      jobwaiter wait cluster.yaml etl-1 etl-2 etl-3 --json
      jobwaiter wait cluster.yaml --all
    """
    if every == bool(jobs):
        raise click.UsageError("name the jobs to wait for, or give --all")
    if len(jobs) != 1 and (detach or stop):
        raise click.UsageError("--stop and --detach take one JOB")
    reporter = TerminalReporter(quiet)
    if len(jobs) != 1:
        raise Exit(_wait_many(config, None if every else list(jobs), job_waiter, job_timeout,
                              watch, reporter, as_json, cluster_name, node_ip))
    (job,) = jobs
    with open_cluster(config, cluster_name, reporter, yes) as cluster:
        if stop:
            confirm(f"stop cluster {cluster.name!r} once the job has completed", yes)
        result = cluster.wait(job, job_waiter=job_waiter, job_timeout=job_timeout,
                              stop=stop, node_ip=node_ip, watch=watch, detach=detach)
        # Nothing of the job's output has been shown by this command, foreground or not.
        tail = failure_tail(cluster, result, tail_on_failure, False, reporter, node_ip)
    # The full name: "@last" or a label may name another job by the time it is used.
    print_result(result, reporter, as_json,
                 resume_command(config, result.job, cluster_name, node_ip), tail,
                 resume_command(config, result.job, cluster_name, node_ip, "disarm"))
    raise Exit(exit_code(result))


def _wait_many(config: str, jobs: list[str] | None, job_waiter: str | None,
               job_timeout: float | None, watch: str | None, reporter: TerminalReporter,
               as_json: bool, cluster_name: str | None, node_ip: str | None) -> int:
    def show(result: JobResult) -> None:
        rest = "" if result.exit_status is None else f" (exit status {result.exit_status})"
        rest += f": {result.message}" if result.message else ""
        if result.ok:
            reporter.phase(f"{result.job}: result: ", result.outcome, rest)
        else:
            reporter.error(f"{result.job}: result: ", result.outcome, rest)

    with open_cluster(config, cluster_name, reporter) as cluster:
        results = cluster.wait_all(jobs, on_result=show, job_waiter=job_waiter,
                                   job_timeout=job_timeout, node_ip=node_ip, watch=watch)
    reporter.done()
    failed = [r for r in results if not r.ok]
    if as_json:
        echo_json({"outcome": failed[0].outcome.value if failed else "succeeded",
                   "jobs": [r.to_dict() for r in results]})
    if not results:
        reporter.phase("no job is running")
    elif not failed:
        reporter.phase(f"all {len(results)} jobs succeeded")
    else:
        reporter.error(f"{len(failed)} of {len(results)} jobs did not succeed")
    return exit_code(failed[0]) if failed else 0


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
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="Only the newest N jobs (after --state).")
@click.option("--prune", is_flag=True, help="Remove records and logs of ended jobs.")
@click.option("--older-than", "older_than", default="7d", show_default=True,
              type=Duration(allow_zero=True), metavar="DURATION",
              help="With --prune: only jobs started longer ago than this (e.g. 12h, 7d; "
                   "0 for every ended job).")
@json_option
@cluster_name_option
@node_ip_option
def jobs_cmd(config: str, show_all: bool, states: tuple[frozenset[Outcome], ...],
             limit: int | None, prune: bool, older_than: float, as_json: bool,
             cluster_name: str | None, node_ip: str | None) -> None:
    """List the jobs on the cluster's head, newest first.

    The table fits the terminal (the command is shortened in the middle first, then columns
    are left out), one line per job; piped, it is plain text with columns separated by
    spaces. Times are UTC. The STATE column is coloured on a terminal unless NO_COLOR is
    set. --state running includes jobs running in a session without a waiter.

    \b
    Examples:
      jobwaiter jobs cluster.yaml
      jobwaiter jobs cluster.yaml --state failed,killed
      jobwaiter jobs cluster.yaml --limit 5
      jobwaiter jobs cluster.yaml --all --state running --json
      jobwaiter jobs cluster.yaml --prune --older-than 7d
    """
    if prune and (states or limit):
        raise click.UsageError("--state and --limit choose what jobs lists; --prune removes "
                               "every ended job older than --older-than")
    wanted = frozenset().union(*states) if states else None
    reporter = TerminalReporter()
    with open_cluster(config, cluster_name, reporter) as cluster:
        if prune:
            lines = cluster.prune(older_than, node_ip=node_ip)
            if as_json:
                echo_json({"pruned": [ln.split()[1] for ln in lines
                                       if ln.startswith("removed ")]})
            for line in lines:
                reporter.phase(line)
            if not lines:
                reporter.phase(f"nothing to prune (no ended job older than {older_than:g}s)")
            return
        records, autostop = cluster.jobs_and_autostop(include_old=show_all, states=wanted,
                                                      node_ip=node_ip)
    now = time.time()
    hidden = 0 if limit is None else max(len(records) - limit, 0)
    rows = [job_row(r, now) for r in records[:limit]]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        reporter.phase(_nothing_listed(show_all, wanted))
    else:
        from jobwaiter.cli import jobs_table  # imports rich: only for a table to draw

        jobs_table.draw(rows, sys.stdout)
    if hidden:
        reporter.phase(f"{hidden} older job{'s' if hidden > 1 else ''} not shown (--limit "
                       f"{limit})")
    if autostop is not None and autostop.armed:
        # Beside the table, not in it: what reads the table never sees this line.
        reporter.phase(autostop.describe(shlex.quote(config)))


def _nothing_listed(show_all: bool, states: frozenset[Outcome] | None) -> str:
    what = "no jobs"
    if states is not None:
        what += " " + " or ".join(s.value for s in JOB_STATES if s in states)
    return what + ("" if show_all else " in the last day (--all for older)")


@click.command("logs")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("job", required=False, default="@last", shell_complete=complete_jobs)
@click.option("-f", "--follow", is_flag=True,
              help="Keep printing until the job ends, then exit with its outcome code.")
@click.option("--tail", "lines", type=click.IntRange(min=0), metavar="N",
              help="Only the last N lines.")
@cluster_name_option
@node_ip_option
@_job_help
def logs_cmd(config: str, job: str, follow: bool, lines: int | None,
             cluster_name: str | None, node_ip: str | None) -> None:
    """Print a job's log (~/user/logs/SESSION.log on the head).

    {JOB_FORMS} Without JOB: @last. An empty log is said so on stderr.

    -n is --cluster-name, as in every command (and in CloudTik): the last 50 lines are
    --tail 50.

    \b
    Examples:
      jobwaiter logs cluster.yaml jobwaiter-3f9c2a1b7d4e --tail 50
      jobwaiter logs cluster.yaml train -f
      jobwaiter logs cluster.yaml 3f9c --tail 20
      jobwaiter logs cluster.yaml
    """
    if cluster_name is not None and cluster_name.isascii() and cluster_name.isdigit():
        # `-n 50` is a line count in tail and journalctl; here it would name a cluster
        # "50" and print the whole log, or not find the job.
        raise click.UsageError(f"-n {cluster_name} names a cluster (as in CloudTik); for "
                               f"the last {cluster_name} lines, use --tail {cluster_name}")
    with open_cluster(config, cluster_name, TerminalReporter()) as cluster:
        shown = cluster.print_log(job, follow=follow, lines=lines, node_ip=node_ip)
    record = shown.record
    if shown.empty:
        TerminalReporter().phase(f"the log of job {record.name} is empty")
    if not follow:
        return
    if record.exit_status is not None:
        raise Exit(record.exit_status if record.exit_status <= 255 else 1)
    if record.running:
        raise Exit(130, "jobwaiter: stopped following; the job keeps running")
    raise Exit(EXIT_LOST, f"jobwaiter: job {record.name} is lost: it ended without "
                          "recording an exit status")


@click.command("kill")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("job", shell_complete=complete_jobs)
@click.option("--signal", "sig", default="TERM", show_default=True, metavar="SIGNAL",
              help="Signal to send first (name or number).")
@click.option("--grace", default="10s", show_default=True, type=Duration(allow_zero=True),
              metavar="DURATION", help="Then wait this long before sending KILL (0: at once).")
@click.option("--stop", "keep_stop", is_flag=True,
              help="Keep the --stop armed after the job: the cluster is stopped once it has "
                   "ended (without it, kill disarms that stop).")
@quiet_option
@cluster_name_option
@node_ip_option
@_job_help
def kill_cmd(config: str, job: str, sig: str, grace: float, keep_stop: bool, quiet: bool,
             cluster_name: str | None, node_ip: str | None) -> None:
    """Stop a job: signal its process group (the job and its children), send KILL after the
    grace period, end its session and record 128+N as its status. A --stop armed after the
    job is disarmed first: killing a job never stops the cluster, unless --stop says so.

    {JOB_FORMS}

    \b
    Examples:
      jobwaiter kill cluster.yaml jobwaiter-3f9c2a1b7d4e
      jobwaiter kill cluster.yaml train --signal INT --grace 30
      jobwaiter kill cluster.yaml 3f9c
      jobwaiter kill cluster.yaml @last
      jobwaiter kill cluster.yaml train --stop     # and stop the cluster once it ended
    """
    reporter = TerminalReporter(quiet)
    with open_cluster(config, cluster_name, reporter) as cluster:
        # Resolved once, so that the messages name the job that was signalled.
        session = cluster.resolve_job(job, node_ip=node_ip)
        done = cluster.kill(session, sig, grace, node_ip=node_ip, stop=keep_stop)
    if done.stop == "disarmed":
        reporter.phase(f"stop: disarmed the --stop armed after {session} (kill --stop keeps "
                       "it)")
    elif done.stop == "kept":
        reporter.phase(f"stop: kept: the cluster is stopped once {session} has ended and "
                       "nothing else runs")
    elif done.stop:
        reporter.warn(f"stop: {done.stop}")
    if done.state == "killed":
        reporter.phase(f"killed {session}; recorded exit status {done.exit_status}")
    elif done.state == "ended":
        reporter.phase(f"{session} had already ended with status {done.exit_status}")
    else:
        reporter.phase(f"{session} was lost (no recorded exit status); signalled "
                       f"{done.leftovers} process(es) of it that still ran")


@click.command("disarm")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("jobs", nargs=-1, shell_complete=complete_jobs)
@click.option("--all", "every", is_flag=True, help="Every job with a stop armed.")
@json_option
@quiet_option
@cluster_name_option
@node_ip_option
def disarm_cmd(config: str, jobs: tuple[str, ...], every: bool, as_json: bool, quiet: bool,
               cluster_name: str | None, node_ip: str | None) -> None:
    """Cancel the stop armed after a job (--stop), wherever it would run: on the head's
    watch, in a client that waits, or in the job's session. Exit 1 when a stop has already
    begun ("too late"); disarming twice is fine. wait --stop arms it again.

    \b
    Examples:
      jobwaiter disarm cluster.yaml train
      jobwaiter disarm cluster.yaml --all
    """
    if bool(jobs) == every:
        raise click.UsageError("name the jobs to disarm, or give --all")
    reporter = TerminalReporter(quiet)
    with open_cluster(config, cluster_name, reporter) as cluster:
        done = cluster.disarm(None if every else list(jobs), node_ip=node_ip)
    if as_json:
        echo_json({"jobs": [{"job": job, "result": what} for job, what in done]})
    late = [job for job, what in done if what.startswith("too late")]
    for job, what in done:
        if job in late:
            reporter.error(f"{job}: {what}")
        else:
            reporter.phase(f"{job}: {what}")
    if not done:
        reporter.phase("no job has a stop armed")
    raise Exit(1 if late else 0)
