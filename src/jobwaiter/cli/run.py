"""``exec`` and ``submit``."""

from __future__ import annotations

from typing import Any

import click

from jobwaiter.cli import nodes
from jobwaiter.cli.common import (
    Duration,
    Exit,
    cluster_name_option,
    confirm,
    json_option,
    open_cluster,
    quiet_option,
    resume_command,
    yes_option,
)
from jobwaiter.cli.complete import complete_waiters
from jobwaiter.cli.output import TerminalReporter, exit_code, print_result
from jobwaiter.jobs.result import JobResult


def job_options(f: Any) -> Any:
    """Options shared by exec and submit (CloudTik's names)."""
    for opt in reversed([
        click.option("--tmux", is_flag=True, help="Run in a detached tmux session."),
        click.option("--screen", is_flag=True, help="Run in a detached GNU screen session."),
        click.option("--job-waiter", "job_waiter", metavar="SPEC",
                     shell_complete=complete_waiters,
                     help="What decides the job is complete, e.g. tmux or "
                          "'chain[tmux, spark]' (see `jobwaiter waiters`)."),
        click.option("--job-log", is_flag=True,
                     help="Send the job's output to ~/user/logs/<session>.log."),
        click.option("--stop", is_flag=True, help="Stop the cluster once the job completed."),
        click.option("--start", is_flag=True, help="Start the cluster first."),
        click.option("--job-timeout", type=Duration(), metavar="DURATION",
                     help="Give up waiting after this long (exit 124): 90, 90s, 30m, "
                          "1h30m, 7d, 2w."),
        click.option("--env", "env", multiple=True, metavar="KEY=VALUE",
                     help="Set a variable for the job (repeatable)."),
        yes_option,
        quiet_option,
        json_option,
        cluster_name_option,
    ]):
        f = opt(f)
    return f


def _finish(result: JobResult, reporter: TerminalReporter, as_json: bool, config: str,
            cluster_name: str | None, node_ip: str | None = None) -> None:
    resume = resume_command(config, result.session, cluster_name, node_ip)
    print_result(result, reporter, as_json, resume)
    raise Exit(exit_code(result))


def _confirm_costly(start: bool, stop: bool, yes: bool, name: str) -> None:
    if start:
        confirm(f"start cluster {name!r} first", yes)
    if stop:
        confirm(f"stop cluster {name!r} once the job has completed", yes)


@click.command("exec", context_settings={"show_default": True})
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("cmd")
@job_options
@click.option("--node-ip", metavar="IP",
              help="Run on this node (an address of the config) instead of the head.")
@click.option("--all-nodes", is_flag=True,
              help="Run CMD in the foreground on every node; output lines start with the node.")
@click.option("--no-parallel", is_flag=True, help="With --all-nodes: one node at a time.")
def exec_cmd(config: str, cmd: str, tmux: bool, screen: bool, job_waiter: str | None,
             job_log: bool, stop: bool, start: bool, job_timeout: float | None,
             env: tuple[str, ...], yes: bool, quiet: bool, as_json: bool,
             cluster_name: str | None, node_ip: str | None, all_nodes: bool,
             no_parallel: bool) -> None:
    """Run CMD with bash on the head node, in $HOME there.

    \b
    Examples:
      jobwaiter exec cluster.yaml 'python3 train.py --epochs 3'
      jobwaiter exec cluster.yaml 'sleep 60; echo done' --tmux --job-waiter=tmux
      jobwaiter exec cluster.yaml "spark-submit --deploy-mode cluster app.py" \\
          --tmux --job-waiter='chain[tmux, spark]' --stop -y
      jobwaiter exec cluster.yaml 'nvidia-smi -L' --all-nodes
    """
    nodes.check_options(all_nodes, node_ip, no_parallel, tmux=tmux, screen=screen,
                        job_waiter=job_waiter, job_log=job_log, job_timeout=job_timeout)
    reporter = TerminalReporter(quiet)
    cluster = open_cluster(config, cluster_name, reporter, yes)
    with cluster:
        _confirm_costly(start, stop, yes, cluster.name)
        if all_nodes:
            done = cluster.exec_all(cmd, parallel=not no_parallel, stop=stop, start=start,
                                    env=list(env),
                                    on_line=None if as_json else nodes.LinePrinter())
            raise Exit(nodes.finish(done, reporter, as_json))
        result = cluster.exec(cmd, tmux=tmux, screen=screen, job_waiter=job_waiter,
                              job_log=job_log, stop=stop, start=start,
                              job_timeout=job_timeout, env=list(env), node_ip=node_ip)
    _finish(result, reporter, as_json, config, cluster_name, node_ip)


class SubmitCommand(click.Command):
    """Everything after SCRIPT belongs to the script, verbatim (like ``docker run IMAGE
    ARGS``); our options may come anywhere before SCRIPT."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value = {
            name
            for p in self.params
            if isinstance(p, click.Option) and not p.is_flag
            for name in p.opts
        }
        positionals = 0
        i = 0
        while i < len(args):
            a = args[i]
            if a == "--":
                positionals += len(args) - i - 1
                break
            if a.startswith("-") and a != "-":
                if a in takes_value:
                    i += 1
                i += 1
                continue
            positionals += 1
            if positionals == 2:  # SCRIPT: stop option parsing right here
                args = [*args[:i], "--", *args[i:]]
                break
            i += 1
        return super().parse_args(ctx, args)


@click.command("submit", cls=SubmitCommand)
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("script")
@click.argument("script_args", nargs=-1, type=click.UNPROCESSED)
@job_options
@click.option("--runtime", metavar="NAME",
              help="Run SCRIPT with a configured runtime: spark runs .py with spark-submit "
                   "and .scala with spark-shell -i.")
def submit_cmd(config: str, script: str, script_args: tuple[str, ...], tmux: bool,
               screen: bool, job_waiter: str | None, job_log: bool, stop: bool,
               start: bool, job_timeout: float | None, env: tuple[str, ...], yes: bool,
               quiet: bool, as_json: bool, cluster_name: str | None,
               runtime: str | None) -> None:
    """Upload SCRIPT to ~/user/jobs/ on the head and run it by type (.sh with bash, .py with
    python3; an http(s):// URL is downloaded on the head). Options go before SCRIPT;
    everything after it is passed to the script verbatim, never expanded on the head.

    \b
    Examples:
      jobwaiter submit --tmux --job-waiter=tmux cluster.yaml train.py --epochs 3
      jobwaiter submit cluster.yaml https://example.org/job.sh 'a b' '$literal'
      jobwaiter submit --runtime spark --tmux --job-waiter=spark cluster.yaml etl.py 2024
    """
    reporter = TerminalReporter(quiet)
    cluster = open_cluster(config, cluster_name, reporter, yes)
    with cluster:
        _confirm_costly(start, stop, yes, cluster.name)
        result = cluster.submit(script, list(script_args), tmux=tmux, screen=screen,
                                job_waiter=job_waiter, job_log=job_log, stop=stop,
                                start=start, job_timeout=job_timeout, env=list(env),
                                runtime=runtime)
    _finish(result, reporter, as_json, config, cluster_name)
