"""``exec`` and ``submit``."""

from __future__ import annotations

import os
from typing import Any

import click

from jobwaiter.cli import nodes
from jobwaiter.cli.argv import ArgvError, read_exec, read_submit
from jobwaiter.cli.common import (
    Duration,
    Exit,
    SpecJoiningCommand,
    cluster_name_option,
    confirm,
    json_option,
    open_cluster,
    option_table,
    quiet_option,
    resume_command,
    watch_options,
    yes_option,
)
from jobwaiter.cli.complete import complete_waiters
from jobwaiter.cli.output import TerminalReporter, echo_json, exit_code, print_result
from jobwaiter.cli.tail import failure_tail, tail_option
from jobwaiter.errors import UsageError
from jobwaiter.jobs.names import check_label
from jobwaiter.jobs.request import JobRequest
from jobwaiter.jobs.result import JobResult
from jobwaiter.jobs.watch import DryRun


def _check_label(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A bad --name is refused before anything else happens (a prompt, a connection)."""
    return None if value is None else check_label(value)


#: Stand-ins for --notify and --notify-command that keep them out of the client's argv
#: (readable by every user in /proc/PID/cmdline for as long as the client follows the job).
NOTIFY_VARIABLE = "JOBWAITER_NOTIFY"
NOTIFY_COMMAND_VARIABLE = "JOBWAITER_NOTIFY_COMMAND"


def _read_secret_file(option: str, value: str) -> str:
    """The text of FILE for ``option @FILE``, read once here (the file stays as it is)."""
    path = os.path.expanduser(value[1:])  # after @, no shell expands a ~
    if not path:
        raise UsageError(f"{option} @FILE: no file named after the @")
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError as exc:
        raise UsageError(f"{option} {value}: cannot read it ({exc.strerror or exc})") from None


def _read_notify_urls(ctx: click.Context, param: click.Parameter,
                      value: tuple[str, ...] | None) -> tuple[str, ...]:
    urls: list[str] = []
    for item in value or ():
        if not item.startswith("@"):
            urls.append(item)
            continue
        lines = [line.strip() for line in _read_secret_file("--notify", item).splitlines()]
        found = [line for line in lines if line and not line.startswith("#")]
        if not found:
            raise UsageError(f"--notify {item}: the file holds no URL")
        urls += found
    return tuple(urls)


def _read_notify_command(ctx: click.Context, param: click.Parameter,
                         value: str | None) -> str | None:
    if value is None or not value.startswith("@"):
        return value
    return _read_secret_file("--notify-command", value).rstrip("\n")


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
        tail_option,
        click.option("--name", "label", metavar="LABEL", callback=_check_label,
                     help="A label to name the job by in wait, logs and kill (shown by "
                          "jobs): printable, at most 64 characters, not only hex digits, "
                          "not starting with @, - or jobwaiter-."),
        watch_options,
        click.option("--max-runtime", "max_runtime", type=Duration(), metavar="DURATION",
                     help="The head kills the job once it has run this long (recorded as "
                          "killed; --stop then stops the cluster). Needs the head's watch."),
        click.option("--notify", "notify", multiple=True, metavar="URL|@FILE",
                     envvar=NOTIFY_VARIABLE, callback=_read_notify_urls,
                     help="The head POSTs the result (JSON) to URL once it is known, before "
                          "its own stop commands (repeatable); only a 2xx answer counts. "
                          "@FILE reads the URLs from FILE (one a line), and "
                          f"${NOTIFY_VARIABLE} (URLs apart by spaces) stands in for the "
                          "option: both keep the URL out of the client's argv. Kept private "
                          "on the head; shown only as scheme://host:port/***."),
        click.option("--notify-command", "notify_command", metavar="CMD|@FILE",
                     envvar=NOTIFY_COMMAND_VARIABLE, callback=_read_notify_command,
                     help="The head runs CMD with bash, the result (JSON) on its stdin (60 s "
                          "at most, then its process group is ended). @FILE reads CMD from "
                          f"FILE, ${NOTIFY_COMMAND_VARIABLE} stands in for the option."),
        click.option("--dry-run", "dry_run", is_flag=True,
                     help="Print what would run (the job's plan: waiters, where it is "
                          "watched, the stop per node) and run nothing."),
        yes_option,
        quiet_option,
        json_option,
        cluster_name_option,
    ]):
        f = opt(f)
    return f


def _finish(result: JobResult, reporter: TerminalReporter, as_json: bool, config: str,
            cluster_name: str | None, node_ip: str | None = None,
            log_tail: list[str] | None = None) -> None:
    resume = resume_command(config, result.session, cluster_name, node_ip)
    disarm = resume_command(config, result.session, cluster_name, node_ip, "disarm")
    print_result(result, reporter, as_json, resume, log_tail, disarm)
    raise Exit(exit_code(result))


def _confirm_costly(start: bool, stop: bool, yes: bool, name: str) -> None:
    if start:
        confirm(f"start cluster {name!r} first", yes)
    if stop:
        confirm(f"stop cluster {name!r} once the job has completed", yes)


class ExecCommand(SpecJoiningCommand):
    """``exec``: CMD is one argument, or the words after ``--`` (jobwaiter.cli.argv)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            args = read_exec(args, option_table(self, ctx), ctx.command_path)
        except ArgvError as exc:
            if not ctx.resilient_parsing:  # completion and --json detection read on
                raise click.UsageError(str(exc), ctx) from None
        return super().parse_args(ctx, args)


@click.command("exec", cls=ExecCommand, context_settings={"show_default": True})
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("cmd", metavar="CMD")
@job_options
@click.option("--node-ip", metavar="IP",
              help="Run on this node (an address of the config) instead of the head.")
@click.option("--all-nodes", is_flag=True,
              help="Run CMD in the foreground on every node; output lines start with the node.")
@click.option("--no-parallel", is_flag=True, help="With --all-nodes: one node at a time.")
def exec_cmd(config: str, cmd: str, tail_on_failure: int, dry_run: bool, yes: bool,
             quiet: bool, as_json: bool, cluster_name: str | None, all_nodes: bool,
             no_parallel: bool, **options: Any) -> None:
    """Run CMD with bash on the head node, in $HOME there.

    CMD is one argument (quote it), or the command's words after --, each passed as it is.

    \b
    Examples:
      jobwaiter exec cluster.yaml 'python3 train.py --epochs 3'
      jobwaiter exec cluster.yaml --tmux -- python3 -c 'print(1)'
      jobwaiter exec cluster.yaml 'sleep 60; echo done' --tmux --job-waiter=tmux
      jobwaiter exec cluster.yaml 'python3 train.py' --tmux --name train
      jobwaiter exec cluster.yaml "spark-submit --deploy-mode cluster app.py" \\
          --tmux --job-waiter='chain[tmux, spark]' --stop -y
      jobwaiter exec cluster.yaml 'nvidia-smi -L' --all-nodes
      jobwaiter exec cluster.yaml 'python3 train.py' --tmux --job-waiter=tmux \\
          --notify @~/.config/hook.url      # the URL kept out of this argv
    """
    req = JobRequest.of(cmd, **options)
    nodes.check_options(all_nodes, req.node_ip, no_parallel, tmux=req.session == "tmux",
                        screen=req.session == "screen", job_waiter=req.job_waiter,
                        job_log=req.job_log, job_timeout=req.timeout, name=req.label,
                        detach=req.detach, watch=req.watch, dry_run=dry_run,
                        max_runtime=req.max_runtime, notify=req.notify or req.notify_command)
    reporter = TerminalReporter(quiet)
    cluster = open_cluster(config, cluster_name, reporter, yes)
    with cluster:
        if dry_run:
            raise Exit(_dry_run(cluster.dry_run(req), as_json))
        _confirm_costly(req.start, req.stop, yes, cluster.name)
        if all_nodes:
            done = cluster.exec_all(cmd, parallel=not no_parallel, stop=req.stop,
                                    start=req.start, env=dict(req.env),
                                    on_line=None if as_json else nodes.LinePrinter())
            raise Exit(nodes.finish(done, reporter, as_json))
        result = cluster.exec(req)
        # A foreground job's output has just been shown; a session's went to its log.
        tail = failure_tail(cluster, result, tail_on_failure, result.session_kind is None,
                            reporter, req.node_ip)
    _finish(result, reporter, as_json, config, cluster_name, req.node_ip, tail)


def _dry_run(plan: DryRun, as_json: bool) -> int:
    """What would run, and nothing run: the plan as JSON, or as lines on stdout."""
    if as_json:
        echo_json(plan.to_dict())
        return 0
    job = plan.plan
    click.echo(f"job:       {job.name} on {job.node}, "
               f"{job.session or 'foreground'}" + (f", log ~/{job.log}" if job.log else ""))
    click.echo(f"command:   {job.command}")
    click.echo("waiters:   " + (", ".join(s.spec for s in job.waiters) or "none"))
    click.echo("timeout:   " + (f"{job.timeout:g}s" if job.timeout else "none"))
    click.echo(f"watched:   {plan.watch}" + (f" ({plan.why})" if plan.why else ""))
    if plan.workers_via:
        click.echo(f"workers:   stopped from the head with {plan.workers_via}")
    if job.stop is None:
        click.echo("stop:      none")
        return 0
    for part in [*job.stop.workers, job.stop.head]:
        for step in part.commands:
            said = step.describe()
            what = (f"{said['runtime']}: its daemons" if "runtime" in said
                    else "; ".join(said["commands"]) or "(no stop commands)")
            click.echo(f"stop:      {part.node}: {what}")
    return 0


#: Where SubmitCommand leaves the names of our options that came after SCRIPT.
AFTER_SCRIPT = "jobwaiter.after_script"


class SubmitCommand(click.Command):
    """CloudTik's order: our long options may also come after SCRIPT; everything after ``--``
    belongs to the script, verbatim (the rules: jobwaiter.cli.argv)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            submission = read_submit(args, option_table(self, ctx), ctx.command_path)
        except ArgvError as exc:
            raise click.UsageError(str(exc), ctx) from None
        rest = super().parse_args(ctx, submission.argv)
        ctx.meta[AFTER_SCRIPT] = submission.after_script
        return rest


@click.command("submit", cls=SubmitCommand)
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("script")
@click.argument("script_args", nargs=-1, type=click.UNPROCESSED, metavar="[ARGS]... [-- ARGS...]")
@job_options
@click.option("--runtime", metavar="NAME",
              help="Run SCRIPT with a configured runtime: spark runs .py with spark-submit "
                   "and .scala with spark-shell -i.")
def submit_cmd(config: str, script: str, script_args: tuple[str, ...],
               tail_on_failure: int, dry_run: bool, yes: bool, quiet: bool, as_json: bool,
               cluster_name: str | None, runtime: str | None, **options: Any) -> None:
    """Upload SCRIPT to ~/user/jobs/ on the head and run it by type (.sh with bash, .py with
    python3; an http(s):// URL is downloaded on the head).

    Options may come before SCRIPT, and long options also after it (as in CloudTik).
    Everything after -- is the script's, verbatim, never expanded on the head. After SCRIPT,
    an option that is not one of these, or any short option (there, use --yes, --quiet,
    --cluster-name), is an error that shows where it should go: the script's own options
    go after --.

    \b
    Examples:
      jobwaiter submit cluster.yaml train.py --tmux --job-log
      jobwaiter submit cluster.yaml train.py --tmux --job-waiter=tmux --stop -- --epochs 3
      jobwaiter submit -y cluster.yaml train.py --tmux --job-waiter=tmux --stop
      jobwaiter submit cluster.yaml https://example.org/job.sh 'a b' '$literal'
      jobwaiter submit --tmux --name nightly-etl cluster.yaml etl.sh
      jobwaiter submit --runtime spark cluster.yaml etl.py --job-waiter=spark -- 2024 -v
    """
    JobRequest.of("", **options)  # every option checked before the config is read
    reporter = TerminalReporter(quiet)
    taken = click.get_current_context().meta.get(AFTER_SCRIPT)
    if taken:
        reporter.phase(f"{', '.join(dict.fromkeys(taken))} after SCRIPT: taken as options of "
                       "jobwaiter (arguments for the script go after --)")
    cluster = open_cluster(config, cluster_name, reporter, yes)
    with cluster:
        if dry_run:
            raise Exit(_dry_run(cluster.dry_run(JobRequest.of("", **options), script,
                                                list(script_args), runtime), as_json))
        _confirm_costly(options["start"], options["stop"], yes, cluster.name)
        result = cluster.submit(script, list(script_args), runtime=runtime, **options)
        tail = failure_tail(cluster, result, tail_on_failure, result.session_kind is None,
                            reporter)
    _finish(result, reporter, as_json, config, cluster_name, log_tail=tail)
