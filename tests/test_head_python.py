"""The code that runs, or will run, on the head (records, sessions, waiters, runtimes, the
transports) must work with the head's python3, which may be as old as 3.8. This imports it
and runs its pure parts under the oldest python3 on this machine (skipped where none older
than 3.10 is installed; `make lint` also runs vermin over the same packages)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
HEAD_MODULES = [
    "jobwaiter.errors", "jobwaiter.plugins", "jobwaiter.records", "jobwaiter.records.read",
    "jobwaiter.sessions", "jobwaiter.transport.frame", "jobwaiter.transport.ssh",
    "jobwaiter.transport.local", "jobwaiter.waiters.loop", "jobwaiter.waiters.registry",
    "jobwaiter.waiters.session", "jobwaiter.runtimes", "jobwaiter.runtimes.spark",
    "jobwaiter.runtimes.slurm", "jobwaiter.runtimes.slurm.status", "jobwaiter.runtimes.ray",
    "jobwaiter.runtimes.ray.jobs", "jobwaiter.runtimes.daemons",
    "jobwaiter.runtimes.spark.health", "jobwaiter.runtimes.ray.health",
    "jobwaiter.runtimes.slurm.health", "jobwaiter.runtimes.yarn", "jobwaiter.runtimes.yarn.health",
    "jobwaiter.outcome", "jobwaiter.jobs.plan",
    "jobwaiter.jobs.stop", "jobwaiter.jobs.transaction", "jobwaiter.jobs.run",
    "jobwaiter.jobs.watch", "jobwaiter.watch",
    "jobwaiter.watch.files", "jobwaiter.watch.watcher", "jobwaiter.watch.__main__",
    "jobwaiter.watch.notify", "jobwaiter.watch.autostop", "jobwaiter.watch.workers",
    "jobwaiter.sessions.present", "jobwaiter.jobs.autostop", "jobwaiter.durations",
    "jobwaiter.jobs.notify_target", "jobwaiter.transport.bounded",
    "jobwaiter.runtimes.settle", "jobwaiter.runtimes.ray.stop_jobs",
]
SMOKE = """
import sys
for name in sys.argv[1:]:
    __import__(name)
from jobwaiter.records import JobRecord
from jobwaiter.records.read import parse_dump
from jobwaiter.waiters.spec import parse_spec
from jobwaiter.plugins import entry_points
r = parse_dump("@@ jobwaiter-000000000001\\nstatus 3 1.5\\nstarted 1.0\\n")[0]
assert (r.exit_status, r.state) == (3, "failed (3)"), r
assert str(parse_spec("chain[tmux, spark[all]]")) == "chain[tmux, spark[all]]"
assert isinstance(entry_points("jobwaiter.waiters"), dict)
print("ok", sys.version_info[:2])
"""


def _oldest_python() -> str | None:
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    for version in ("3.8", "3.9"):
        candidates = [shutil.which(f"python{version}"),
                      *map(str, sorted(pyenv.glob(f"{version}*/bin/python{version}")))]
        for found in filter(None, candidates):
            if subprocess.run([found, "-c", ""], capture_output=True).returncode == 0:
                return found
    return None


def test_head_code_runs_on_the_oldest_python3() -> None:
    python = _oldest_python()
    if python is None:
        pytest.skip("no python3.8 or python3.9 on this machine")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run([python, "-c", SMOKE, *HEAD_MODULES], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok")
