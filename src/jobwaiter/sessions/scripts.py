"""argv builders for the head-side scripts in ``sh/``."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

_DIR = Path(__file__).with_name("sh")


@lru_cache(maxsize=None)
def _script(*names: str) -> str:
    return "\n".join((_DIR / name).read_text() for name in names)


def script_text(*names: str) -> str:
    """The text of these head-side scripts, joined (``lib.sh`` first when it is needed)."""
    return _script(*names)


def wrapper_text() -> str:
    """The job wrapper; the launch copies it into the record as ``run.sh``."""
    return _script("clean.sh", "wrapper.sh")


def launch_argv(
    name: str, kind: str, stop_script: str, log: str, tee: bool, hold: bool, lib: str = ""
) -> list[str]:
    """Create the record of job ``name`` and start it; ``launch_input`` is its stdin.
    ``lib``: where the head's watch code is (relative to ``$HOME``), when the launch also
    hands the job to the head's watcher."""
    return [
        "bash", "-c", _script("clean.sh", "launch.sh"), "jw", name, kind, wrapper_text(),
        stop_script, log, "1" if tee else "0", "1" if hold else "0", lib,
    ]


def launch_input(command: bytes, meta_json: str, env: Sequence[tuple[bytes, bytes]],
                 order: str = "") -> bytes:
    """What the launch reads on stdin: the command, its meta.json, the head's watch order
    (JSON; empty: not watched there) and the ``--env`` entries, NUL-separated (none of them
    can hold a NUL: they are C strings on the head)."""
    entries = b"".join(key + b"=" + value + b"\0" for key, value in env)
    return (command + b"\0" + meta_json.encode() + b"\0" + order.encode() + b"\0"
            + entries)


def check_argv(name: str, block: float) -> list[str]:
    """One poll of a job, blocking up to ``block`` seconds for it to end."""
    return ["bash", "-c", _script("lib.sh", "check.sh"), "jw", name,
            f"{max(block, 0.0):.3f}"]


def dump_argv(names: list[str] | None = None) -> list[str]:
    """Print the records of ``names`` (all records when None)."""
    return ["bash", "-c", _script("lib.sh", "dump.sh"), "jw", *(names or [])]


def kill_argv(name: str, signum: int, grace: float) -> list[str]:
    """Signal a job's processes, escalating to KILL after ``grace`` seconds."""
    return ["bash", "-c", _script("lib.sh", "kill.sh"), "jw", name, str(signum), f"{grace:g}"]


def claim_argv(name: str, by: str) -> list[str]:
    """Claim the stop after job ``name`` (prints ``claimed`` or ``taken <by>``)."""
    return ["bash", "-c", _script("claim.sh"), "jw", name, by]


def rearm_argv(name: str) -> list[str]:
    """Remove a ``disarmed`` stop claim of job ``name`` (``wait --stop`` arms it again)."""
    return ["bash", "-c", _script("rearm.sh"), "jw", name]


def waited_argv(name: str, outcome: str) -> list[str]:
    """Note in the record how waiting for the job ended (``waited``)."""
    return ["bash", "-c", _script("waited.sh"), "jw", name, outcome]


def survivors_argv(name: str) -> list[str]:
    """Count the processes of a job that still run (prints ``alive <n>``)."""
    return ["bash", "-c", _script("lib.sh", "survivors.sh"), "jw", name]


def follow_argv(name: str, log: str, follow: bool, lines: int | None) -> list[str]:
    """Print a job's log (all of it, or the last ``lines``), following it until the job ends."""
    count = "all" if lines is None else str(lines)
    return ["bash", "-c", _script("clean.sh", "follow.sh"), "jw", name, log,
            "1" if follow else "0", count]


def prune_argv(names: list[str]) -> list[str]:
    """Remove the records and logs of these jobs, unless one is still running."""
    return ["bash", "-c", _script("lib.sh", "prune.sh"), "jw", *names]
