"""``attach``: this terminal into a job's tmux or screen session."""

from __future__ import annotations

import os
import shlex
import sys

import click

from jobwaiter.cli.common import cluster_name_option, node_ip_option, open_cluster
from jobwaiter.cli.complete import complete_jobs
from jobwaiter.cli.output import EXIT_USAGE, Exit, TerminalReporter


@click.command("attach")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("job", required=False, shell_complete=complete_jobs)
@cluster_name_option
@node_ip_option
def attach_cmd(config: str, job: str | None, cluster_name: str | None,
               node_ip: str | None) -> None:
    """Attach this terminal to a job's tmux or screen session.

    JOB is a session name; without it, the newest job still running in a session on the
    node. On an SSH cluster this goes over ssh -t. Detaching (Ctrl-b d in tmux, Ctrl-a d in
    screen) leaves the job running. Refused (exit 2) without a terminal, and for a job that
    ran in the foreground or whose session is gone.

    \b
    Examples:
      jobwaiter attach cluster.yaml
      jobwaiter attach cluster.yaml jobwaiter-3f9c2a1b7d4e
    """
    # Before anything connects: without a terminal there is nothing to attach.
    if not sys.stdin.isatty():
        raise Exit(EXIT_USAGE, "jobwaiter: error: attach needs a terminal, and stdin is not "
                               "one (jobwaiter logs CONFIG JOB prints a job's output)")
    reporter = TerminalReporter()
    with open_cluster(config, cluster_name, reporter) as cluster:
        target = cluster.attach_target(job, node_ip=node_ip)
    # The cluster's own connections are closed: the attach is the user's ssh (or tmux), and
    # this process becomes it, so the exit status and the terminal are its own.
    reporter.phase(f"attaching to {target.session_kind} session {target.job} (detach with "
                   f"{target.detach_keys}; the job keeps running): {shlex.join(target.argv)}")
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(target.argv[0], list(target.argv))
    except OSError as exc:
        raise Exit(1, f"jobwaiter: error: cannot run {target.argv[0]}: {exc}") from None
