"""``--notify URL`` and ``--notify-command CMD``: the result, sent by the head once it is
known (before the head's own stop commands, which may power it off).

The URL and the command are secrets: they are read from the job's private order and never put
in an argv (the command goes to ``bash`` as a 0600 file, the result on its stdin), a log or a
record; a report names them "url 1", "url 2", "command", and what it quotes of an error or of
the command's output is redacted in parts (jobwaiter.jobs.notify_target). A failed
notification is a note on the result, never a change of its outcome. Only a 2xx answer to the
POST itself counts as sent. Stdlib only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from jobwaiter.jobs.notify_target import redact, url_problem
from jobwaiter.transport.bounded import Bounded, feed, pump

#: What a notification carries: how the job ended, never its command, environment or log.
PAYLOAD_KEYS = ("outcome", "exit_status", "job", "started_at", "ended_at", "waiters", "stop",
                "message")
ATTEMPTS = 3
TIMEOUT = 10.0
#: 307/308 redirects followed for one delivery, each with the same POST.
MAX_HOPS = 5
#: How long a notify command may take, and what of its output is kept (its end).
COMMAND_TIMEOUT = 60.0
OUTPUT_TAIL = 4096
#: How long a TERM to a notify command's process group is given before KILL.
GROUP_GRACE = 5.0
POLL = 0.05


def payload(result: dict[str, Any], label: Any, cluster: str) -> bytes:
    data = {k: result.get(k) for k in PAYLOAD_KEYS}
    data.update(label=label, cluster=cluster, text=text_line(result, label, cluster))
    return json.dumps(data).encode()


def text_line(result: dict[str, Any], label: Any, cluster: str) -> str:
    """The result as one line for people: what chat webhooks (Slack, Discord, Teams) show of
    a ``text`` field, so that ``--notify URL`` works with them as it is."""
    job = f"{label} ({result.get('job')})" if label else str(result.get("job"))
    status = result.get("exit_status")
    line = f"jobwaiter: job {job} on cluster {cluster}: {result.get('outcome')}"
    if status is not None:
        line += f" (exit status {status})"
    stop = result.get("stop")
    if isinstance(stop, dict) and stop.get("detail"):
        line += f"; stop: {stop['detail']}"
    return line


def send(order: dict[str, Any], body: bytes, workdir: Path,
         sleep: Any = time.sleep) -> list[str]:
    """Send ``body`` everywhere the order says; returns notes on what failed ([] when all
    went through). A note never holds a URL or the command, nor any part of them: what it
    quotes (an error, the command's output) is redacted."""
    how = order.get("notify") or {}
    notes = []
    for index, url in enumerate(how.get("urls") or (), 1):
        url = str(url)
        problem = url_problem(url)  # an order written by an older client, or by hand
        why = f"the URL {problem}" if problem else _post(url, body, sleep)
        if why:
            notes.append(f"notify url {index}: not sent: {why}")
    command = how.get("command")
    if command:
        why = _run(str(command), body, workdir)
        if why:
            notes.append(f"notify command: {why}")
    return notes


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib would follow a 301/302/303 as a GET without the body and report the GET's
    answer: a notification "delivered" that nobody received. Every redirect comes back to
    ``_post`` as an HTTPError instead, which follows only 307/308 (same method, same body)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _post(url: str, body: bytes, sleep: Any) -> str:
    """POST with retries and backoff; "" when a 2xx came back, else why not. A redirect
    that is not 307/308, or a 4xx, is an answer: not tried again."""
    why = ""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    for attempt in range(ATTEMPTS):
        if attempt:
            sleep(2.0 ** (attempt - 1))
        why, final = _post_once(opener, url, body)
        if not why:
            return ""
        if final:
            return why
    return f"{why} (after {ATTEMPTS} tries)"


def _post_once(opener: urllib.request.OpenerDirector, url: str,
               body: bytes) -> tuple[str, bool]:
    """One delivery, following at most MAX_HOPS 307/308 redirects: ("", True) when a 2xx
    answered the POST, else why not and whether trying again could change that."""
    target = url
    for _ in range(MAX_HOPS + 1):
        request = urllib.request.Request(target, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with opener.open(request, timeout=TIMEOUT) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            location = exc.headers.get("Location") if exc.headers else None
            exc.close()
            if status in (307, 308) and location:
                target = urllib.parse.urljoin(target, location)
                problem = url_problem(target)
                if problem:
                    return f"HTTP {status} to a URL that {problem}", True
                continue
            if 300 <= status < 400:
                return (f"HTTP {status} (a redirect: only 307 and 308 are followed, with "
                        "the same POST)"), True
            return f"HTTP {status}", 400 <= status < 500 and status not in (408, 429)
        except Exception as exc:
            reason = getattr(exc, "reason", None) or exc
            text = str(getattr(reason, "strerror", None) or reason) or type(exc).__name__
            # An error may quote a part of the URL ("nonnumeric port: 'PASSWORD@host'").
            return redact(text, [url, target]), False
        if 200 <= status < 300:
            return "", True
        return f"HTTP {status}", False
    return f"more than {MAX_HOPS} redirects", True


def _run(command: str, body: bytes, workdir: Path, limit: float = COMMAND_TIMEOUT) -> str:
    """The command from a private file (not argv), the result on its stdin, in a process
    group of its own; "" when it exited 0, else why not with the tail of its output.

    Its output (stdout and stderr) is kept only as its last OUTPUT_TAIL bytes: the watcher
    stays small whatever it prints. Past ``limit`` seconds, or once it has exited, its
    group is ended (TERM, then KILL): nothing it started outlives it."""
    path = workdir / "notify.cmd"
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(command + "\n")
    output = Bounded(0, OUTPUT_TAIL)
    try:
        try:
            proc = subprocess.Popen(["bash", str(path)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=True, close_fds=True)
        except OSError as exc:
            return str(exc)
        assert proc.stdin is not None and proc.stdout is not None
        feed(proc.stdin, body)
        reader = pump(proc.stdout, output)
        ended = _wait_unreaped(proc.pid, limit)
        # The group is ended while its leader is still unreaped (a zombie at most), so its
        # id cannot have been given to another process meanwhile.
        _end_group(proc.pid)
        returncode = proc.wait()
        reader.join(timeout=5)
    finally:
        os.unlink(str(path))
    if not ended:
        why = f"did not finish within {limit:g} s (its process group was ended)"
    elif returncode == 0:
        return ""
    else:
        why = f"exit status {128 - returncode if returncode < 0 else returncode}"
    # Its output may quote the command (a token in a curl line, a URL): redacted in parts.
    tail = redact(_last_lines(output.value()), [command])
    return f"{why}: {tail}" if tail else why


def _wait_unreaped(pid: int, limit: float) -> bool:
    """Wait up to ``limit`` seconds for ``pid`` to exit, without reaping it; True if it did."""
    deadline = time.monotonic() + limit
    while True:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is not None and info.si_pid:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)


def _end_group(pgid: int) -> None:
    """TERM to the group, KILL to what is left of it after GROUP_GRACE seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not _members(pgid):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + GROUP_GRACE
        while _members(pgid) and time.monotonic() < deadline:
            time.sleep(POLL)


def _members(pgid: int) -> list[int]:
    """The live processes (not zombies) of process group ``pgid``, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 2 and fields[0] != b"Z" and int(fields[2]) == pgid:
            found.append(int(entry))
    return found


def _last_lines(data: bytes, lines: int = 3, limit: int = 300) -> str:
    """The end of a command's output as one line: its last non-empty lines, at most
    ``limit`` characters."""
    text = data.decode(errors="replace")
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    joined = " | ".join(kept)
    return joined if len(joined) <= limit else "..." + joined[-(limit - 3):]
