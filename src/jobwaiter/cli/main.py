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
            click.echo(exc.message, err=True)
        return exc.code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except click.Abort:
        click.echo("jobwaiter: aborted", err=True)
        return 130
    except UsageError as exc:
        click.echo(f"jobwaiter: error: {exc}", err=True)
        return EXIT_USAGE
    except TransportError as exc:
        click.echo(f"jobwaiter: error: {exc}", err=True)
        return EXIT_UNREACHABLE
    except CommandError as exc:
        click.echo(f"jobwaiter: error: {exc}", err=True)
        return 1
    except JobwaiterError as exc:
        click.echo(f"jobwaiter: error: {exc}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("jobwaiter: interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    main()
