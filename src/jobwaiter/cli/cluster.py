"""``start``, ``stop`` and ``waiters``."""

from __future__ import annotations

import click

from jobwaiter.cli.common import (
    cluster_name_option,
    confirm,
    json_option,
    open_cluster,
    quiet_option,
    yes_option,
)
from jobwaiter.cli.output import TerminalReporter, echo_json, stop_line
from jobwaiter.plugins import runtime_names
from jobwaiter.waiters.registry import available


@click.command("start")
@click.argument("config", type=click.Path(dir_okay=False))
@cluster_name_option
@quiet_option
def start_cmd(config: str, cluster_name: str | None, quiet: bool) -> None:
    """Run the cluster's start commands (nothing if it is already started).

    \b
    Example:
      jobwaiter start cluster.yaml
    """
    reporter = TerminalReporter(quiet)
    with open_cluster(config, cluster_name, reporter) as cluster:
        reporter.phase(f"starting cluster {cluster.name}")
        for line in cluster.start():
            reporter.phase(line)


@click.command("stop")
@click.argument("config", type=click.Path(dir_okay=False))
@cluster_name_option
@yes_option
@quiet_option
@json_option
def stop_cmd(config: str, cluster_name: str | None, yes: bool, quiet: bool,
             as_json: bool) -> None:
    """Stop the cluster: its runtimes and stop commands, the workers' first, then the head's
    (only if every worker stopped). Nothing runs if it is already stopped; a stop already
    running is waited for; steps of an interrupted stop run again.

    Exit codes: 0 stopped (or already stopped), 1 the stop failed or was cut off (the
    head stays up when a worker did not stop), 2 usage, 255 the head cannot be reached.

    \b
    Examples:
      jobwaiter stop cluster.yaml -y
      jobwaiter stop cluster.yaml -y --json
    """
    reporter = TerminalReporter(quiet or as_json)
    with open_cluster(config, cluster_name, reporter) as cluster:
        busy = [] if yes else cluster.other_work()
        question = f"stop cluster {cluster.name!r}"
        if busy:
            question += f" while work still runs on it ({', '.join(busy)})"
        confirm(question, yes)
        reporter.phase(f"stopping cluster {cluster.name}")
        report = cluster.stop()
        reporter.done()
        if as_json:
            echo_json({"cluster": cluster.name, "stop": report.to_dict()})
        for step in report.nodes:
            if step.detail:
                reporter.phase(f"{step.node}: {step.detail}")
        stop_line(reporter, report)
        if report.state in ("failed", "interrupted"):
            raise click.exceptions.Exit(1)


@click.command("waiters")
@click.argument("config", type=click.Path(dir_okay=False), required=False)
@cluster_name_option
@json_option
def waiters_cmd(config: str | None, cluster_name: str | None, as_json: bool) -> None:
    """List the job waiters that --job-waiter can name; with CONFIG, include the waiters of
    its runtimes.

    Runtime waiters (spark, ray, slurm, yarn) are listed only with a CONFIG that names their
    runtime in runtime.types.

    \b
    Examples:
      jobwaiter waiters
      jobwaiter waiters cluster.yaml --json
    """
    configured: list[str] = []
    if config:
        with open_cluster(config, cluster_name, TerminalReporter(True)) as cluster:
            rows = cluster.waiters()
            configured = cluster.config.runtime.types if cluster.config.runtime else []
    else:
        rows = available()
    if as_json:
        echo_json([{"name": n, "description": d} for n, d in rows])
        return
    width = max(len(n) for n, _ in rows)
    for name, desc in rows:
        click.echo(f"{name.ljust(width)}  {desc}")
    click.echo("\nA dotted name (package.module.Class) loads your own JobWaiter subclass.")
    missing = [name for name in runtime_names() if name not in configured]
    if not missing:
        return
    # Runtime names, not waiter names: what a runtime provides is known only once it is
    # loaded for a config.
    if config:
        click.echo(click.wrap_text(
            f"Runtimes installed but not in this config's runtime.types: {', '.join(missing)}. "
            "Add one there to use its waiters.", width=88))
    else:
        click.echo(click.wrap_text(
            f"Runtimes installed: {', '.join(missing)}. Their waiters are listed for a CONFIG "
            "that names them in runtime.types:", width=88))
        click.echo("  jobwaiter waiters cluster.yaml")
