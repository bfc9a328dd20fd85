"""How output looks: which streams are terminals, which get colour, the colour of each
outcome, and the rich Console that draws on them.

rich is imported only by ``console``, which only the commands that draw call: ``--help``,
``--json`` and most piped output never load it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["OUTCOME_STYLES", "console", "is_terminal", "printable", "terminal_width",
           "wants_colour"]

#: The colour of each outcome word (jobwaiter.outcome.Outcome values).
OUTCOME_STYLES = {
    "succeeded": "green",
    "started": "yellow",
    "running": "yellow",
    "detached": "yellow",
    "timeout": "yellow",
    "interrupted": "yellow",
    "skipped": "dim",
    "failed": "red",
    "killed": "red",
    "lost": "red",
    "lost_running": "red",
    "waiter_failed": "red",
    "stop_failed": "red",
    "launch_failed": "red",
    "unreachable": "red",
    "usage_error": "red",
}


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal that understands cursor movement and colour: a tty
    whose ``TERM`` is not ``dumb`` (nor ``unknown``, which rich treats alike)."""
    if os.environ.get("TERM", "").lower() in ("dumb", "unknown"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def wants_colour(stream: Any) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set to anything but the
    empty string (https://no-color.org)."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR")


def terminal_width(stream: Any) -> int | None:
    """The width to fit: ``COLUMNS`` when it is set (as shells and ``shutil`` read it), else
    the terminal's own when ``stream`` is one; None (no limit) when piped."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns or None
    except (AttributeError, ValueError, OSError):
        pass
    return None


def printable(text: str) -> str:
    """``text`` on one line with nothing a terminal would act on: runs of whitespace become
    one space, and other unprintable characters (escape sequences a command may contain,
    bytes that were not UTF-8) are shown as Python escapes."""
    flat = " ".join(text.split())
    if flat.isprintable():
        return flat
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in flat)


def console(stream: Any, width: int | None = None) -> Console:
    """A rich Console on ``stream`` that decides colour as ``wants_colour`` does (and not by
    rich's own reading of the environment), never interprets markup, emoji codes or
    "interesting" substrings of what it prints, and never adds control codes when piped."""
    from rich.console import Console

    colour = wants_colour(stream)
    return Console(
        file=stream,
        width=width,
        force_terminal=is_terminal(stream),
        force_interactive=False,
        color_system="auto" if colour else None,
        no_color=not colour,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
    )
