"""Options and helpers shared by the commands."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from jobwaiter.cli.argv import ArgvError, OptionTable, join_split_specs
from jobwaiter.cli.output import EXIT_USAGE, Exit, TerminalReporter
from jobwaiter.durations import parse_duration

if TYPE_CHECKING:
    from jobwaiter.cluster.cluster import Cluster

__all__ = ["Duration", "Exit", "SpecJoiningCommand", "cluster_name_option", "confirm",
           "json_option", "node_ip_option", "open_cluster", "option_table", "quiet_option",
           "resume_command", "yes_option"]

F = TypeVar("F", bound=Callable[..., Any])


class Duration(click.ParamType[float, Any]):
    """A duration option (see jobwaiter.durations); a bad one is a usage error."""

    name = "duration"

    def __init__(self, allow_zero: bool = False, unit_required: bool = False) -> None:
        self.allow_zero = allow_zero
        #: A bare number is refused: where other tools read it in other units (SkyPilot's
        #: ``autostop -i 30`` is 30 minutes), guessing would be off by a factor of 60.
        self.unit_required = unit_required

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            value = str(value)
        # Named by the option alone (not click's "Invalid value for '-i' / '--idle': "):
        # the line stays short enough to read.
        name = max(param.opts, key=len) if param is not None and param.opts else "duration"
        if self.unit_required and is_bare_number(value):
            number = value.strip()
            raise click.UsageError(f"{name} {number}: give a unit: {number}m or {number}s",
                                   ctx)
        try:
            return parse_duration(value, allow_zero=self.allow_zero)
        except ValueError as exc:
            message = str(exc)
            if self.unit_required and "is not a duration" in message:
                message = f"{value!r} is not a duration (e.g. 30m, 2h, 90s)"  # no bare 90
            raise click.UsageError(f"{name} {message}", ctx) from None


def is_bare_number(text: str) -> bool:
    """A duration typed without a unit (``30``, ``1.5``); zero is zero in any unit."""
    number = text.strip()
    return number.replace(".", "", 1).isdigit() and float(number) != 0


def option_table(command: click.Command, ctx: click.Context) -> OptionTable:
    """The command's options (--help included) by every name, for jobwaiter.cli.argv."""
    takes_value: set[str] = set()
    flags: set[str] = set()
    for param in command.get_params(ctx):
        if isinstance(param, click.Option):
            names = [*param.opts, *param.secondary_opts]
            (flags if param.is_flag or param.count else takes_value).update(names)
    return OptionTable(frozenset(takes_value), frozenset(flags))


class SpecJoiningCommand(click.Command):
    """A command whose --job-waiter SPEC may arrive split by the shell at its spaces
    (``--job-waiter=chain[tmux, spark]`` unquoted): joined again where that is certain."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            args = join_split_specs(args, option_table(self, ctx))
        except ArgvError as exc:
            raise click.UsageError(str(exc), ctx) from None
        return super().parse_args(ctx, args)


def cluster_name_option(f: F) -> F:
    return click.option("-n", "--cluster-name", metavar="NAME",
                        help="Override the cluster_name of the config file.")(f)


def node_ip_option(f: F) -> F:
    return click.option("--node-ip", metavar="IP",
                        help="The job is on this node (an address of the config), not the "
                             "head.")(f)


def watch_options(f: F) -> F:
    """--watch and --detach (exec, submit, wait)."""
    f = click.option("--detach", is_flag=True,
                     help="Return once the head watches the job (its waiters, --job-timeout "
                          "and --stop run there); needs --tmux or --screen.")(f)
    return click.option("--watch", "watch", type=click.Choice(["auto", "head", "client"]),
                        default=None,
                        help="Where the job is watched: on the head (it survives this "
                             "client), here, or auto: the head when it can [the config's "
                             "watch; default auto].")(f)


def yes_option(f: F) -> F:
    return click.option("-y", "--yes", is_flag=True,
                        help="Do not ask for confirmation.")(f)


def quiet_option(f: F) -> F:
    return click.option("-q", "--quiet", is_flag=True, help="Print errors only.")(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True,
                        help="Print one JSON object on stdout at the end.")(f)


def open_cluster(
    config: str, cluster_name: str | None, reporter: TerminalReporter, yes: bool = False
) -> Cluster:
    def ask(question: str) -> bool:
        if yes:
            reporter.warn(f"{question}: yes (-y)")
            return True
        if not sys.stdin.isatty():
            reporter.warn(f"{question}: no (no terminal to ask, and no -y)")
            return False
        return click.confirm(f"jobwaiter: {question}?", default=False, err=True)

    # Imported here: the config schema (pydantic) is the CLI's slowest import, and commands
    # that need no cluster (`--help`, `waiters` without CONFIG) should not pay for it.
    from jobwaiter.cluster.cluster import Cluster

    cluster = Cluster(config, cluster_name=cluster_name, reporter=reporter, confirm=ask)
    cluster.flag_names = True  # errors name --tmux, as typed here, not tmux=True
    return cluster


def confirm(what: str, yes: bool) -> None:
    """Ask before something that costs or destroys; never guess without a terminal."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise Exit(EXIT_USAGE, f"jobwaiter: error: {what} needs confirmation; "
                               "add -y to proceed without a terminal")
    if not click.confirm(f"jobwaiter: {what}?", default=False, err=True):
        raise Exit(1, "jobwaiter: cancelled, nothing was run")


def resume_command(
    config: str,
    session: str | None,
    cluster_name: str | None,
    node_ip: str | None = None,
    command: str = "wait",
) -> str:
    if not session:
        return ""
    argv = ["jobwaiter", command, config, session]
    if cluster_name:
        argv += ["-n", cluster_name]
    if node_ip:
        argv += ["--node-ip", node_ip]
    return shlex.join(argv)
