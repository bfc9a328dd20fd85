"""Start and stop commands as scripts that run on a node.

A small state file on the node (``~/.jobwaiter/clusters/<name>.state``) makes both
idempotent: starting a started cluster or stopping a stopped one runs nothing and says so.
The same stop script runs from the client and, for a job without a waiter, inside the session.
"""

from __future__ import annotations

import shlex


def _state_file(cluster: str) -> str:
    return f'"$HOME"/.jobwaiter/clusters/{shlex.quote(cluster + ".state")}'


def control_script(cluster: str, action: str, commands: list[str]) -> str:
    """bash text that runs ``commands`` unless the cluster is already in the target state.

    start stops at the first failing command (what follows may depend on it); stop runs
    every command and fails if any failed (stop as much as possible).
    """
    target = "started" if action == "start" else "stopped"
    state = _state_file(cluster)
    lines = [
        f"f={state}",
        'mkdir -p "$(dirname "$f")"',
        f'if [ "$(cat "$f" 2>/dev/null)" = {target} ]; then echo "already {target}"; exit 0; fi',
        "rc=0",
    ]
    for cmd in commands:
        q = shlex.quote(cmd)
        if action == "start":
            lines.append(f"bash -c {q} || {{ echo \"failed: \"{q} >&2; exit 1; }}")
        else:
            lines.append(f"bash -c {q} || {{ echo \"failed: \"{q} >&2; rc=1; }}")
    n = len(commands)
    lines += [
        '[ "$rc" = 0 ] || exit "$rc"',
        f'echo {target} > "$f"',
        f'echo "ran {n} {action} command{"s" if n != 1 else ""}"',
    ]
    return "\n".join(lines) + "\n"


#: What the state file may say; anything else (no file, a stray line) is "unknown".
STATES = ("started", "stopped")


def state_argv(cluster: str) -> list[str]:
    """Print the cluster's recorded state on a node (nothing when there is none)."""
    return ["bash", "-c", f"cat {_state_file(cluster)} 2>/dev/null; exit 0"]


def parse_state(text: str) -> str:
    """``started``, ``stopped`` or ``unknown``, from what ``state_argv`` printed."""
    lines = text.strip().splitlines()
    return lines[0].strip() if len(lines) == 1 and lines[0].strip() in STATES else "unknown"
