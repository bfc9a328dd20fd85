"""Start and stop commands as one idempotent call per node (``sh/control.sh``).

A small state file on the node (``~/.jobwaiter/clusters/<name>.state``) makes both
idempotent: starting a started cluster or stopping a stopped one runs nothing and says so.
The commands travel as arguments, each run by ``bash -c`` on the node: nothing is pasted
into script text.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def _script() -> str:
    return Path(__file__).with_name("sh").joinpath("control.sh").read_text()


def control_argv(state: str, action: str, commands: list[str]) -> list[str]:
    """argv that runs ``commands`` unless the node is already in the target state; ``state``
    names the state file (the cluster's name, or one per worker). start stops at the first
    failing command; stop runs every command and fails if any failed."""
    if action not in ("start", "stop"):
        raise ValueError(f"unknown action {action!r}")
    return ["bash", "-c", _script(), "jw", state, action, *commands]


#: What the state file may say; anything else (no file, a stray line) is "unknown".
STATES = ("started", "stopped")


def state_argv(cluster: str) -> list[str]:
    """Print the cluster's recorded state on a node (nothing when there is none)."""
    return ["bash", "-c", 'cat "$HOME/.jobwaiter/clusters/$1.state" 2>/dev/null; exit 0', "jw",
            cluster]


def parse_state(text: str) -> str:
    """``started``, ``stopped`` or ``unknown``, from what ``state_argv`` printed."""
    lines = text.strip().splitlines()
    return lines[0].strip() if len(lines) == 1 and lines[0].strip() in STATES else "unknown"
