"""The ``jobwaiter`` entry point: commands, and the mapping of errors to exit codes.

Commands are imported only when they run: ``jobwaiter --help`` must not pay for the config
schema (pydantic), the runtimes or the SSH transport.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from jobwaiter import __version__
from jobwaiter.cli.jsonmode import json_requested
from jobwaiter.cli.output import (
    EXIT_INTERRUPTED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    Exit,
    echo_json,
    stdout_for_json,
)
from jobwaiter.errors import JobwaiterError, TransportError, UsageError
from jobwaiter.outcome import Outcome

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

#: name -> (module, attribute, the one line --help shows; tests/test_cli_startup.py checks it
#: is the command's own first docstring line).
COMMANDS = {
    "exec": ("jobwaiter.cli.run", "exec_cmd",
             "Run CMD with bash on the head node, in $HOME there."),
    "submit": ("jobwaiter.cli.run", "submit_cmd",
               "Upload SCRIPT to ~/user/jobs/ on the head and run it by type (.sh with bash,..."),
    "start": ("jobwaiter.cli.cluster", "start_cmd",
              "Run the cluster's start commands (nothing if it is already started)."),
    "stop": ("jobwaiter.cli.cluster", "stop_cmd",
             "Stop the cluster: its runtimes and stop commands, the workers' first, then..."),
    "status": ("jobwaiter.cli.status", "status_cmd",
               "Show the cluster at a glance: reachable, state, runtimes, jobs, armed stops."),
    "waiters": ("jobwaiter.cli.cluster", "waiters_cmd",
                "List the job waiters that --job-waiter can name; with CONFIG, include the..."),
    "wait": ("jobwaiter.cli.manage", "wait_cmd",
             "Wait again for jobs started earlier (after a timeout, Ctrl-C or a dropped..."),
    "jobs": ("jobwaiter.cli.manage", "jobs_cmd",
             "List the jobs on the cluster's head, newest first."),
    "logs": ("jobwaiter.cli.manage", "logs_cmd",
             "Print a job's log (~/user/logs/SESSION.log on the head)."),
    "attach": ("jobwaiter.cli.attach", "attach_cmd",
               "Attach this terminal to a job's tmux or screen session."),
    "kill": ("jobwaiter.cli.manage", "kill_cmd",
             "Stop a job: signal its process group (the job and its children), send KILL..."),
    "autostop": ("jobwaiter.cli.autostop", "autostop_cmd",
                 "Arm the head to stop the whole cluster once it has been idle for a while."),
    "disarm": ("jobwaiter.cli.manage", "disarm_cmd",
               "Cancel the stop armed after a job (--stop), wherever it would run: on the..."),
}


#: Other tools' verbs (SkyPilot, Ray, Slurm, tail, ps) and the command of ours that does it.
OTHER_VERBS = {
    "cancel": "kill", "scancel": "kill", "queue": "jobs", "squeue": "jobs", "ls": "jobs",
    "list": "jobs", "ps": "jobs", "down": "stop", "teardown": "stop", "up": "start",
    "tail": "logs", "log": "logs", "run": "exec", "sbatch": "submit",
    "info": "status", "show": "status", "ssh": "attach", "autodown": "autostop",
}


def suggest_command(name: str) -> str | None:
    """The command ``name`` probably meant: another tool's verb for it, or a close spelling."""
    import difflib  # only on this error path: start-up time matters on every command

    if name.lower() in OTHER_VERBS:
        return OTHER_VERBS[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(COMMANDS), n=1, cutoff=0.7)
    return close[0] if close else None


class LazyGroup(click.Group):
    """A group whose commands are imported when they are looked up, with a static table for
    the command list of ``--help``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and name not in COMMANDS and not name.startswith("-") \
                and not ctx.resilient_parsing:
            meant = suggest_command(name)
            if meant is not None:
                ctx.fail(f"No such command {name!r}; did you mean {meant!r}?")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, _, help_) in COMMANDS.items()])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Command names from the static table (importing every command to ask it would
        cost a Tab press the config schema), then the group's own options."""
        from click.shell_completion import CompletionItem

        names = [CompletionItem(name, help=help_) for name, (_, _, help_) in COMMANDS.items()
                 if name.startswith(incomplete)]
        return names + click.Command.shell_complete(self, ctx, incomplete)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jobwaiter")
def cli() -> None:
    """Run long jobs on a cluster's head node and know when they are really done.

    \b
    Examples:
      jobwaiter exec cluster.yaml 'python3 train.py' --tmux --job-waiter=tmux
      jobwaiter submit --screen --job-waiter=screen cluster.yaml job.sh arg1 'arg 2'
      jobwaiter waiters cluster.yaml

    Exit codes: 0 success; 1-255 the job's own status when it failed; 2 usage or config
    error (nothing run); 124 --job-timeout reached; 125 session lost; 126 a waiter failed;
    130 interrupted while waiting; 255 head unreachable. See the README for details.
    """


def main(argv: list[str] | None = None) -> int:
    code = run(argv)
    sys.exit(code)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code. Every error is one line on stderr; with ``--json``
    it is also the one JSON object on stdout, unless the command had printed its own."""
    args = sys.argv[1:] if argv is None else argv
    with stdout_for_json(json_requested(cli, args)) as channel:
        try:
            rv = cli.main(args=args, prog_name="jobwaiter", standalone_mode=False)
        except (Exception, KeyboardInterrupt) as exc:
            failure = failure_of(exc, args)
            if failure is None:  # not an error of ours: a bug, shown with its traceback
                if channel is not None and not channel.printed:
                    echo_json(_error_object(Outcome.ERROR, f"internal error: {exc!r}", 1))
                raise
        else:
            # click returns --help's and --version's exit code; our commands return None.
            return rv if isinstance(rv, int) else 0
        if failure.line:
            say(failure.line)
        if channel is not None and not channel.printed and failure.outcome is not None:
            echo_json(_error_object(failure.outcome, failure.message, failure.code))
        return failure.code


@dataclass(frozen=True)
class Failure:
    """How the CLI ends on an exception: its code, the line on stderr, and what ``--json``
    says (no ``outcome``: nothing to say, e.g. the command's result was already printed)."""

    code: int
    line: str
    outcome: Outcome | None
    message: str


def failure_of(exc: BaseException, args: list[str]) -> Failure | None:
    """The exit code and messages for an exception that ends the CLI; None for one that is
    not an error jobwaiter reports (a bug)."""
    if isinstance(exc, Exit):
        # Raised after the command printed its result (no message), or with an error line.
        message = exc.message.removeprefix("jobwaiter: ").removeprefix("error: ")
        outcome = _outcome_for_code(exc.code) if exc.code else None
        return Failure(exc.code, exc.message, outcome, message)
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        # A bare `jobwaiter exec`: the help is what was asked for.
        return Failure(EXIT_USAGE, exc.format_message(), Outcome.USAGE_ERROR,
                       f"no arguments (see '{_command_path(exc, args)} --help')")
    if isinstance(exc, click.UsageError):
        return _error(EXIT_USAGE, Outcome.USAGE_ERROR, usage_message(exc, args))
    if isinstance(exc, click.ClickException):
        return _error(exc.exit_code, _outcome_for_code(exc.exit_code), exc.format_message())
    if isinstance(exc, (click.Abort, KeyboardInterrupt)):
        # click turns Ctrl-C (and end of input at a prompt) into Abort.
        return Failure(EXIT_INTERRUPTED, "jobwaiter: interrupted", Outcome.INTERRUPTED,
                       "interrupted")
    if isinstance(exc, UsageError):
        return _error(EXIT_USAGE, Outcome.USAGE_ERROR, str(exc))
    if isinstance(exc, TransportError):  # AccessError too: a refused login, a changed key
        return _error(EXIT_UNREACHABLE, Outcome.UNREACHABLE, str(exc))
    if isinstance(exc, JobwaiterError):  # CommandError: a command of ours failed on a node
        return _error(1, Outcome.ERROR, str(exc))
    return None


def _error(code: int, outcome: Outcome, message: str) -> Failure:
    return Failure(code, f"jobwaiter: error: {message}", outcome, message)


def _outcome_for_code(code: int) -> Outcome:
    return {EXIT_USAGE: Outcome.USAGE_ERROR, EXIT_INTERRUPTED: Outcome.INTERRUPTED,
            EXIT_UNREACHABLE: Outcome.UNREACHABLE}.get(code, Outcome.ERROR)


def _error_object(outcome: Outcome, message: str, code: int) -> dict[str, object]:
    """--json's answer when there is no job result: what ended the command, and how."""
    return {"outcome": outcome.value, "message": _printable(message), "exit_code": code}


def usage_message(exc: click.UsageError, argv: list[str]) -> str:
    """Click's four-line usage error as one line, like every other error:
    ``<message> (see 'jobwaiter exec --help')``."""
    message = " ".join(exc.format_message().split())
    return f"{message} (see '{_command_path(exc, argv)} --help')"


def _command_path(exc: click.UsageError, argv: list[str]) -> str:
    if exc.ctx is not None and exc.ctx.command is not cli:
        return exc.ctx.command_path
    # Click reports an option's missing value with the group's context, not the command's.
    name = next((a for a in argv if not a.startswith("-")), None)
    return f"jobwaiter {name}" if name in COMMANDS else "jobwaiter"


def say(message: str) -> None:
    """Print on stderr (see ``_printable``)."""
    click.echo(_printable(message), err=True)


def _printable(message: str) -> str:
    """Arguments with bytes that are not UTF-8 reach us surrogate-escaped; an error quoting
    one must still print (and be valid JSON), so such bytes become U+FFFD."""
    return message.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


if __name__ == "__main__":
    main()
