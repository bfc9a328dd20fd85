"""Shared fixtures. Every test gets its own HOME, TMUX_TMPDIR and SCREENDIR in a short temp
path (unix socket paths are limited to about 107 bytes), so nothing of the machine's own
sessions or files is touched, and whatever a test started there is ended afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobwaiter.cli.main import run as cli_run
from tiers import tiers


def _hung_up(signum: int, frame: object) -> None:
    # A process the tests started signalled the whole process group of the test run (as
    # pyspark's worker daemon does with SIGHUP on its way out). The run goes on; the children
    # of the run keep the default action (a handler, unlike SIG_IGN, is not inherited).
    sys.stderr.write("\nconftest: the test run's process group got SIGHUP; going on\n")


signal.signal(signal.SIGHUP, _hung_up)

LOCAL_YAML = """\
cluster_name: test
provider:
  type: local
head_start_commands:
  - echo started >> ~/cluster.log
head_stop_commands:
  - echo stopped >> ~/cluster.log
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tiers (tests/tiers.py): from its module and its fixtures."""
    for item in items:
        for mark in sorted(tiers(item.path, getattr(item, "fixturenames", ()))):
            item.add_marker(mark)


@dataclass
class Env:
    """A private head: HOME, tmux and screen directories, and a local cluster file."""

    home: Path
    config: Path

    @property
    def jobs(self) -> Path:
        return self.home / ".jobwaiter" / "jobs"

    def record(self, name: str) -> Path:
        return self.jobs / name

    def status(self, name: str) -> str | None:
        p = self.record(name) / "status"
        return p.read_text().split()[0] if p.exists() else None

    def write_config(self, text: str, name: str = "cluster.yaml") -> Path:
        p = self.home / name
        p.write_text(text)
        return p


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    root = Path(tempfile.mkdtemp(prefix="jw", dir="/tmp"))
    home = root / "h"
    home.mkdir()
    screendir = root / "s"
    screendir.mkdir(mode=0o700)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMUX_TMPDIR", str(root))
    monkeypatch.setenv("SCREENDIR", str(screendir))
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("STY", raising=False)
    monkeypatch.chdir(home)
    config = home / "cluster.yaml"
    config.write_text(LOCAL_YAML)
    yield Env(home, config)
    subprocess.run(["tmux", "kill-server"], capture_output=True, check=False)
    ls = subprocess.run(["screen", "-ls"], capture_output=True, text=True, check=False)
    for line in ls.stdout.splitlines():
        parts = line.split()
        if parts and "." in parts[0] and parts[0].split(".")[0].isdigit():
            subprocess.run(["screen", "-S", parts[0], "-X", "quit"], capture_output=True,
                           check=False)
    # The head's watcher outlives every client by design; a test's ends with the test.
    watcher = home / ".jobwaiter" / "watch" / "watcher.pid"
    if watcher.exists():
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(watcher.read_text().split()[0]), 9)
    # Jobs that outlive their session (a test of exactly that) are ended by their record.
    for pid_file in (home / ".jobwaiter" / "jobs").glob("*/pid"):
        try:
            pgid = int(pid_file.read_text())
            if pgid > 1:
                os.killpg(pgid, 9)
        except (ValueError, OSError):
            pass
    shutil.rmtree(root, ignore_errors=True)


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.out)  # type: ignore[no-any-return]


@pytest.fixture
def cli(capfd: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run the CLI in-process; returns exit code, stdout and stderr (fd level, so a
    foreground job's own output is captured too)."""

    def invoke(*argv: str) -> CliResult:
        capfd.readouterr()
        code = cli_run(list(argv))
        out, err = capfd.readouterr()
        return CliResult(code, out, err)

    return invoke


@pytest.fixture
def jobwaiter_argv() -> list[str]:
    """The CLI as a separate process, independent of PATH (the venv's bin need not be on
    it)."""
    return [sys.executable, "-m", "jobwaiter.cli.main"]


@pytest.fixture
def oldest_python3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``python3`` on PATH is the oldest python3 a head may have (3.8, else 3.9): the one
    the head-side code then runs with. Skips where neither is installed."""
    from test_head_python import _oldest_python

    old = _oldest_python()
    if old is None:
        pytest.skip("no python3.8 or python3.9 on this machine")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(old)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return old
