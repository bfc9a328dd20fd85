"""Where the head's watch keeps its state, and how it writes it (see the package docstring)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from jobwaiter.records import JOBS_DIR

WATCH_DIR = ".jobwaiter/watch"
ORDER = "watch.json"
WATCHING = "watching"
PROGRESS = "progress"
RESULT = "result.json"
CLAIM = "stop.claim"
HEAD_STOP = "head_stop"
#: What became of the stop after the job, one ``StopReport.state`` word.
STOP_STATE = "stop_state"
#: Held (a shared flock) by each ``follow`` of the job for as long as its client reads it,
#: and what it last sent on of the result.
FOLLOWING = "following"
SEEN = "seen"

#: What a stop claim says when ``disarm`` made it: the stop will not run (``wait --stop``
#: removes it again).
DISARMED = "disarmed"


def home() -> Path:
    return Path(os.environ.get("HOME") or os.path.expanduser("~"))


def watch_dir() -> Path:
    return home() / WATCH_DIR


def job_dir(name: str) -> Path:
    return home() / JOBS_DIR / name


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once (a reader sees the old or the new file, never a
    part), readable by its owner only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(str(tmp), str(path))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(str(tmp))
        raise


def touch(path: Path) -> None:
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    os.utime(str(path))


def read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def read_json(path: Path) -> Any:
    text = read_text(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def read_checked_json(path: Path) -> tuple[Any, str]:
    """``path`` as JSON, and what is wrong with it ("" when nothing is; None and "" when it
    does not exist): a file that cannot be read, or is not JSON, is said, not taken for
    missing."""
    try:
        with open(str(path), "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, f"{path.name} cannot be read: {exc.strerror or exc}"
    try:
        return json.loads(raw.decode("utf-8")), ""
    except ValueError:
        return None, f"{path.name} is not JSON ({len(raw)} bytes)"


def boot_id() -> str:
    """This boot of the head (Linux): a watcher recorded under another boot is gone."""
    text = read_text(Path("/proc/sys/kernel/random/boot_id"))
    return text.strip() if text else "unknown"


def ensure_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(str(path), 0o700)


def watcher_running() -> bool:
    """Whether a watcher holds the watcher lock (it does for its whole life)."""
    lock = watch_dir() / "watcher.lock"
    try:
        fd = os.open(str(lock), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return True
        raise
    finally:
        os.close(fd)
    return False


def nudge() -> None:
    """Tell the running watcher that an order was written (SIGUSR1: it looks at once). Only a
    process proven to be the watcher is signalled: the lock is held and the pid's command
    line is a watcher's."""
    pid = (read_text(watch_dir() / "watcher.pid") or "").split()[:1]
    if not pid or not pid[0].isdigit() or not watcher_running():
        return
    try:
        with open(f"/proc/{pid[0]}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return
    if b"serve" in argv and any(a.endswith(b"run.py") for a in argv):
        with contextlib.suppress(OSError):
            os.kill(int(pid[0]), signal.SIGUSR1)


def followed(path: Path) -> bool:
    """Whether a follower holds ``path`` (``FOLLOWING``): a client reads the job right now. A
    follower whose client went away ends at its next write, and its lock with it."""
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def log(message: str) -> None:
    """One line in the watcher's log (none when ``~/.jobwaiter`` is gone)."""
    if not watch_dir().parent.is_dir():
        return
    ensure_dir(watch_dir())
    path = watch_dir() / "watcher.log"
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} [{os.getpid()}] {message}\n")
