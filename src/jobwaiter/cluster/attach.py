"""``jobwaiter attach``: which job's session to attach to, and the command that does it.

The command is the one printed when a job starts (``Cluster.attach_command``): ``tmux
attach-session -t =NAME`` or ``screen -r NAME``, behind ``ssh -t ...`` on an SSH cluster.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobwaiter.errors import UsageError
from jobwaiter.jobs import manage
from jobwaiter.records import JobRecord

if TYPE_CHECKING:
    from jobwaiter.cluster.cluster import Cluster

NO_TERMINAL = "attach needs a terminal, and stdin is not one"

#: How to leave a session without ending the job, by kind (the default key bindings).
DETACH_KEYS = {"tmux": "Ctrl-b d", "screen": "Ctrl-a d"}


@dataclass(frozen=True)
class AttachTarget:
    """A job's session and the command (argv, run on this machine) that attaches to it."""

    job: str
    session_kind: str
    argv: tuple[str, ...]

    @property
    def detach_keys(self) -> str:
        return DETACH_KEYS.get(self.session_kind, "")


def find_job(cluster: Cluster, job: str | None, node_ip: str | None = None) -> JobRecord:
    """The job to attach to: the one ``job`` names (any JOB form), or the newest job still
    running in a session on the node. Every name the user typed goes through this one call."""
    site = cluster.site(node_ip)
    if job is not None:
        return manage.get_record(site, job)
    candidates = [r for r in manage.cluster_records(site)
                  if r.session and not r.ended and r.session_alive]
    if not candidates:
        raise UsageError(f"no job is running in a tmux or screen session on {site.where} "
                         f"of cluster {cluster.name}; name one ('jobwaiter jobs' lists them)")
    return max(candidates, key=lambda r: r.started_at or 0.0)


def attach_target(
    cluster: Cluster, job: str | None = None, node_ip: str | None = None
) -> AttachTarget:
    """The job's session and the command that attaches a terminal to it. UsageError when the
    job has no session (it ran in the foreground) or its session is gone. A session kept
    open after its job ended (no waiter) can still be attached to: that is what it is for."""
    record = find_job(cluster, job, node_ip)
    kind = record.session
    if kind is None:
        raise UsageError(f"job {record.name} ran in the foreground: it has no session to "
                         "attach to")
    if not record.session_alive:
        what = f"has ended ({record.state})" if record.ended else f"is {record.state}"
        raise UsageError(f"job {record.name} {what} and its {kind} session is gone; "
                         "nothing to attach to")
    return AttachTarget(record.name, kind,
                        tuple(cluster.attach_command(kind, record.name, node_ip)))


def attach_session(cluster: Cluster, job: str | None = None, node_ip: str | None = None) -> int:
    """Attach this process's terminal to the job's session until the user detaches (or the
    session ends); returns the attach command's exit status."""
    if not sys.stdin.isatty():
        raise UsageError(NO_TERMINAL)
    return subprocess.call(attach_target(cluster, job, node_ip).argv)
