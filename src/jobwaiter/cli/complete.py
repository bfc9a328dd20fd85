"""What shell completion offers beyond click's own (commands, options, file paths): waiter
names for ``--job-waiter`` and session names for the JOB of wait, logs, kill and attach.

A completion runs on every Tab, so it must be fast and must never fail loudly: anything
that goes wrong (no config yet, a bad file, a head that does not answer) offers nothing.
Records are read directly on the local provider; on an SSH cluster through the head with a
short timeout, inside a thread that is abandoned if even that is exceeded. Nothing here
imports the config schema unless the config names an SSH cluster.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

#: Bound of one look-up of session names on an SSH cluster's head, in seconds.
REMOTE_TIMEOUT = 3.0
#: The thread doing that look-up is abandoned after this long, whatever it is doing.
HARD_LIMIT = REMOTE_TIMEOUT + 2.0

_Jobs = list[tuple[str, str]]  # (session name, help shown by zsh and fish)


def complete_waiters(ctx: click.Context, param: click.Parameter,
                     incomplete: str) -> list[CompletionItem]:
    """Waiter names, including the runtimes' when a CONFIG is on the line; inside a chain,
    the name being typed (``chain[tmux, sp`` -> ``chain[tmux, spark``)."""
    prefix, typed = split_spec(incomplete)
    try:
        rows = _waiters(line_config(ctx))
    except Exception:  # a broken plugin must not break the user's shell
        return []
    return [CompletionItem(prefix + name, help=desc) for name, desc in rows
            if name.startswith(typed)]


def split_spec(text: str) -> tuple[str, str]:
    """``("chain[tmux, ", "sp")`` from ``"chain[tmux, sp"``: what stays, and the name typed."""
    cut = max(text.rfind("["), text.rfind(",")) + 1
    while cut < len(text) and text[cut] == " ":
        cut += 1
    return text[:cut], text[cut:]


def line_config(ctx: click.Context) -> str | None:
    """The CONFIG on the command line. While an option's value is being completed, click
    could not parse the line (the option has no value yet) and ``ctx.params`` is empty; so
    the line is parsed again without that option, from the words the shell gave."""
    config = ctx.params.get("config")
    if isinstance(config, str) and config:
        return config
    words = _words_before_cursor()
    if ctx.info_name not in words:
        return None
    rest = words[words.index(ctx.info_name) + 1:]
    if rest and rest[-1].startswith("-"):
        rest = rest[:-1]
    try:
        again = ctx.command.make_context(ctx.info_name, rest, parent=ctx.parent,
                                         resilient_parsing=True)
    except Exception:
        return None
    config = again.params.get("config")
    return config if isinstance(config, str) and config else None


def _words_before_cursor() -> list[str]:
    """The words before the one being completed, as click's completion scripts pass them:
    bash and zsh give the whole line and the cursor's word index, fish the line up to the
    cursor (whose last word is the one being completed, if any)."""
    from click.shell_completion import split_arg_string

    words = split_arg_string(os.environ.get("COMP_WORDS", ""))
    cword = os.environ.get("COMP_CWORD", "")
    return words[:int(cword)] if cword.isdigit() else words


def _waiters(config: str | None) -> list[tuple[str, str]]:
    from jobwaiter.waiters.registry import available

    runtime: dict[str, Any] = {}
    if config:
        try:
            from jobwaiter import runtimes

            data = _read_config(config)
            runtime = dict(runtimes.runtime_waiters(runtimes.configured_runtimes(data)))
        except Exception:
            runtime = {}
    return available(runtime)


def complete_jobs(ctx: click.Context, param: click.Parameter,
                  incomplete: str) -> list[CompletionItem]:
    """Session names of the jobs on the node of the CONFIG on the line, newest first (for
    attach, only jobs still running in a session)."""
    config = line_config(ctx)
    if config is None:
        return []
    attach = ctx.command.name == "attach"
    try:
        data = _read_config(config)
        provider = data.get("provider") or {}
        if isinstance(provider, dict) and provider.get("type") == "local":
            jobs = _local_jobs(attach)
        else:
            jobs = _bounded(lambda: _remote_jobs(config, ctx.params, attach))
    except Exception:
        return []
    return [CompletionItem(name, help=help_) for name, help_ in jobs
            if name.startswith(incomplete)]


def _read_config(path: str) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(Path(path).read_text())
    if not isinstance(data, dict):
        raise ValueError("not a mapping")
    return data


def _local_jobs(attach: bool) -> _Jobs:
    """The records under ~/.jobwaiter/jobs of this machine, read as files."""
    from jobwaiter.errors import UsageError
    from jobwaiter.records import JOBS_DIR, check_name

    found: list[tuple[float, str, str]] = []
    for d in (Path.home() / JOBS_DIR).iterdir():
        try:
            check_name(d.name)
        except UsageError:
            continue
        try:
            meta = json.loads((d / "meta.json").read_text())
        except (OSError, ValueError):
            meta = {}
        meta = meta if isinstance(meta, dict) else {}
        ended = (d / "status").exists()
        if attach and (ended or not meta.get("session")):
            continue
        found.append((_mtime(d), d.name, _help(meta.get("session"), ended,
                                              meta.get("command"))))
    return [(name, help_) for _, name, help_ in sorted(found, reverse=True)]


def _mtime(path: Path) -> float:
    try:
        return (path / "started").stat().st_mtime
    except OSError:
        return path.stat().st_mtime


def _help(session: object, ended: bool, command: object) -> str:
    text = " ".join(str(command or "").split())
    text = text if len(text) <= 50 else text[:47] + "..."
    return f"{session or 'foreground'}, {'ended' if ended else 'running'}: {text}"


def _remote_jobs(config: str, params: dict[str, Any], attach: bool) -> _Jobs:
    """The records on an SSH cluster's node, read through the head with a short timeout."""
    from jobwaiter.cluster.cluster import Cluster
    from jobwaiter.records.read import parse_dump
    from jobwaiter.sessions import dump_argv

    cluster = Cluster(config, cluster_name=params.get("cluster_name") or None)
    try:
        node = cluster.node(params.get("node_ip") or None)
        result = node.transport.run(dump_argv(), idempotent=True, timeout=REMOTE_TIMEOUT)
    finally:
        cluster.close()
    if not result.ok:
        return []
    records = sorted((r for r in parse_dump(result.stdout) if r.of_cluster(cluster.name)),
                     key=lambda r: r.started_at or 0.0, reverse=True)
    return [(r.name, _help(r.session, r.ended, r.meta.get("command"))) for r in records
            if not attach or (r.session and not r.ended and r.session_alive)]


def _bounded(lookup: Callable[[], _Jobs]) -> _Jobs:
    """``lookup()``, or nothing if it takes longer than HARD_LIMIT (the thread is a daemon:
    it cannot keep the completion from returning)."""
    answer: list[_Jobs] = []

    def run() -> None:
        with contextlib.suppress(Exception):
            answer.append(lookup())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HARD_LIMIT)
    return answer[0] if answer else []
