"""The ``jobwaiter`` entry point: commands, and the mapping of errors to exit codes."""

from __future__ import annotations

import sys

import click

from jobwaiter import __version__
from jobwaiter.cli.cluster import start_cmd, stop_cmd, waiters_cmd
from jobwaiter.cli.common import Exit
from jobwaiter.cli.inspect import jobs_cmd, kill_cmd, logs_cmd, wait_cmd
from jobwaiter.cli.output import EXIT_UNREACHABLE, EXIT_USAGE
from jobwaiter.cli.run import exec_cmd, submit_cmd
from jobwaiter.errors import CommandError, JobwaiterError, TransportError, UsageError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


for command in (exec_cmd, submit_cmd, start_cmd, stop_cmd, waiters_cmd, wait_cmd, jobs_cmd,
                logs_cmd, kill_cmd):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    code = run(argv)
    sys.exit(code)


def run(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="jobwaiter", standalone_mode=False)
    except Exit as exc:
        if exc.message:
            say(exc.message)
        return exc.code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        # A bare `jobwaiter` or `jobwaiter exec`: the help is what was asked for.
        say(exc.format_message())
        return EXIT_USAGE
    except click.UsageError as exc:
        say(f"jobwaiter: error: {usage_message(exc, sys.argv[1:] if argv is None else argv)}")
        return EXIT_USAGE
    except click.ClickException as exc:
        say(f"jobwaiter: error: {exc.format_message()}")
        return exc.exit_code
    except click.Abort:
        say("jobwaiter: aborted")
        return 130
    except UsageError as exc:
        say(f"jobwaiter: error: {exc}")
        return EXIT_USAGE
    except TransportError as exc:
        say(f"jobwaiter: error: {exc}")
        return EXIT_UNREACHABLE
    except CommandError as exc:
        say(f"jobwaiter: error: {exc}")
        return 1
    except JobwaiterError as exc:
        say(f"jobwaiter: error: {exc}")
        return 1
    except KeyboardInterrupt:
        say("jobwaiter: interrupted")
        return 130
    return 0


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
    return f"jobwaiter {name}" if name in cli.commands else "jobwaiter"


def say(message: str) -> None:
    """Print on stderr. Arguments with bytes that are not UTF-8 reach us surrogate-escaped;
    an error quoting one must still print, so such bytes become U+FFFD."""
    text = message.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    click.echo(text, err=True)


if __name__ == "__main__":
    main()
