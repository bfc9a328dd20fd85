"""``--notify URL`` and ``--notify-command CMD``: the result, sent by the head once it is
known (before the head's own stop commands, which may power it off).

The URL and the command are secrets: they are read from the job's private order and never put
in an argv (the command goes to ``bash`` as a 0600 file, the result on its stdin), a log or a
record; a report names them "url 1", "url 2", "command". A failed notification is a note on
the result, never a change of its outcome. Stdlib only.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

#: What a notification carries: how the job ended, never its command, environment or log.
PAYLOAD_KEYS = ("outcome", "exit_status", "job", "started_at", "ended_at", "waiters", "stop",
                "message")
ATTEMPTS = 3
TIMEOUT = 10.0


def payload(result: dict[str, Any], label: Any, cluster: str) -> bytes:
    data = {k: result.get(k) for k in PAYLOAD_KEYS}
    data.update(label=label, cluster=cluster)
    return json.dumps(data).encode()


def send(order: dict[str, Any], body: bytes, workdir: Path,
         sleep: Any = time.sleep) -> list[str]:
    """Send ``body`` everywhere the order says; returns notes on what failed ([] when all
    went through)."""
    how = order.get("notify") or {}
    notes = []
    for index, url in enumerate(how.get("urls") or (), 1):
        why = _post(str(url), body, sleep)
        if why:
            notes.append(f"notify url {index}: not sent: {why.replace(str(url), '<url>')}")
    command = how.get("command")
    if command:
        why = _run(str(command), body, workdir)
        if why:
            notes.append(f"notify command: {why}")
    return notes


def _post(url: str, body: bytes, sleep: Any) -> str:
    """POST with retries and backoff; "" when a 2xx came back, else why not."""
    why = ""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for attempt in range(ATTEMPTS):
        if attempt:
            sleep(2.0 ** (attempt - 1))
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with opener.open(request, timeout=TIMEOUT) as answer:
                if 200 <= answer.status < 300:
                    return ""
                why = f"HTTP {answer.status}"
        except urllib.error.HTTPError as exc:
            why = f"HTTP {exc.code}"
        except Exception as exc:
            reason = getattr(exc, "reason", None) or exc
            why = str(getattr(reason, "strerror", None) or reason) or type(exc).__name__
    return f"{why} (after {ATTEMPTS} tries)"


def _run(command: str, body: bytes, workdir: Path) -> str:
    """The command from a private file (not argv), the result on its stdin."""
    path = workdir / "notify.cmd"
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(command + "\n")
    try:
        done = subprocess.run(["bash", str(path)], input=body, capture_output=True,
                              timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return "did not finish within 60 s"
    except OSError as exc:
        return str(exc)
    finally:
        os.unlink(str(path))
    return "" if done.returncode == 0 else f"exit status {done.returncode}"
