"""argv builders for the head-side scripts in ``sh/``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_DIR = Path(__file__).with_name("sh")


@cache
def _script(name: str) -> str:
    return (_DIR / name).read_text()


def wrapper_text() -> str:
    """The job wrapper; the launch copies it into the record as ``run.sh``."""
    return _script("wrapper.sh")


def launch_argv(
    name: str,
    kind: str,
    meta_json: str,
    env_extra: str,
    stop_script: str,
    log: str,
    tee: bool,
    hold: bool,
) -> list[str]:
    """Create the record of job ``name`` and start it; the job's command goes on stdin."""
    return [
        "bash", "-c", _script("launch.sh"), "jw", name, kind, meta_json, wrapper_text(),
        env_extra, stop_script, log, "1" if tee else "0", "1" if hold else "0",
    ]  # fmt: skip


def check_argv(name: str, block: float) -> list[str]:
    """One poll of a job, blocking up to ``block`` seconds for it to end."""
    return ["bash", "-c", _script("check.sh"), "jw", name, f"{max(block, 0.0):.3f}"]


def dump_argv(names: list[str] | None = None) -> list[str]:
    """Print the records of ``names`` (all records when None)."""
    return ["bash", "-c", _script("dump.sh"), "jw", *(names or [])]


def kill_argv(name: str, signum: int, grace: float) -> list[str]:
    """Signal a job's process group, escalating to KILL after ``grace`` seconds."""
    return ["bash", "-c", _script("kill.sh"), "jw", name, str(signum), f"{grace:g}"]


def follow_argv(name: str, log: str, follow: bool, lines: int | None) -> list[str]:
    """Print a job's log (all of it, or the last ``lines``), following it until the job ends."""
    count = "all" if lines is None else str(lines)
    return ["bash", "-c", _script("follow.sh"), "jw", name, log, "1" if follow else "0", count]


def prune_argv(names: list[str]) -> list[str]:
    """Remove the records and logs of these jobs, unless one is still running."""
    return ["bash", "-c", _script("prune.sh"), "jw", *names]
