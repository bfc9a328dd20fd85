"""The CLI starts fast: commands are imported when they run, and `--help` lists them from a
static table that must say what the commands themselves say."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from jobwaiter.cli.main import COMMANDS, cli

HEAVY = ("pydantic", "yaml", "rich", "jobwaiter.runtimes", "jobwaiter.transport.ssh",
         "jobwaiter.cluster.config")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_help_table_says_what_the_command_says(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.name == name
    shown = COMMANDS[name][2].removesuffix("...")
    assert " ".join((command.help or "").split()).startswith(shown), name


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["waiters"],
                                  ["waiters", "--json"]])
def test_commands_that_need_no_cluster_import_nothing_heavy(argv: list[str]) -> None:
    probe = ("import sys\nfrom jobwaiter.cli.main import run\ncode = run(sys.argv[1:])\n"
             f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
             "print(code, heavy, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True,
                          text=True, timeout=60)
    code, _, heavy = proc.stderr.strip().splitlines()[-1].partition(" ")
    assert (code, heavy) == ("0", "[]"), proc.stderr
