"""Whether a command line asks for ``--json``, decided before the command runs.

The answer must be known before parsing fails: a usage error answers with a JSON object too.
It must also be exact: ``--json`` counts only where the command itself reads it as its own
option, not as a value (``--env --json``), nor as a script's argument (``submit c.yaml x.py
-- --json``). So the command's own parser decides, in click's resilient mode (no errors, no
prompts, no eager --help); whatever that parser does with a SCRIPT and ``--`` holds here too.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from jobwaiter.errors import JobwaiterError

_GROUP_FLAGS = ("-h", "--help", "--version")  # the group's options: none takes a value


def json_requested(group: click.Group, argv: Sequence[str]) -> bool:
    """True when ``argv`` (without the program name) runs a command of ``group`` that has
    ``--json`` and gives it."""
    args = list(argv)
    i = 0
    while i < len(args) and args[i] in _GROUP_FLAGS:
        i += 1
    if i == len(args) or args[i].startswith("-"):
        return False  # no command, or an option the group does not have
    command = group.get_command(click.Context(group), args[i])
    if command is None or not any(p.name == "as_json" for p in command.params):
        return False
    rest = args[i + 1:]
    # The group's context as parent: a command caches its help option on first use, so a
    # context without the group's help_option_names would take -h away from the command.
    parent = click.Context(group, info_name="jobwaiter", **group.context_settings)
    try:
        ctx = command.make_context(args[i], list(rest), parent=parent,
                                   resilient_parsing=True, ignore_unknown_options=True)
    except (click.ClickException, JobwaiterError, ValueError):
        # Older click versions still raise for an option that lacks its value, and a
        # command's own argv rules may refuse a line. It is a usage error then; --json typed
        # before any `--` is taken as meant.
        before = rest[: rest.index("--")] if "--" in rest else rest
        return "--json" in before
    return bool(ctx.params.get("as_json"))
