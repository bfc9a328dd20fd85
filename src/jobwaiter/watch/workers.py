"""The nodes as the watcher reaches them: the head it runs on, and the workers
(``head_to_workers``), to stop them and for autostop to read their jobs."""

from __future__ import annotations

import os
from typing import Any

from jobwaiter.transport.address import parse_host
from jobwaiter.transport.frame import FramedTransport
from jobwaiter.transport.local import LocalTransport
from jobwaiter.transport.node import Node
from jobwaiter.transport.ssh import SSHTarget, SSHTransport
from jobwaiter.watch import files

#: What the watcher keeps of each output stream of a command it runs (on the head or over ssh
#: on a worker): this many bytes from the start and as many from the end. It lives long, and
#: a stop command or a check printing without end must not grow it; the end marker of a
#: framed answer is in the tail kept.
CAPTURE_LIMIT = 4 << 20


def worker_node(access: dict[str, Any]) -> Node:
    """A worker as the head reaches it to stop it: over ssh, with the key and the host keys
    the client gave (strict host-key checking: a key not given is refused)."""
    host, port = parse_host(str(access["address"]))
    home = str(files.home())

    def on_head(path: Any) -> str | None:
        return None if not path else os.path.join(home, str(path))

    options = (("StrictHostKeyChecking", "yes"),
               *((str(k), str(v)) for k, v in access.get("options") or ()))
    target = SSHTarget(host=host, port=port or access.get("port"), user=access.get("user"),
                       identity_file=on_head(access.get("identity_file")),
                       known_hosts_file=on_head(access.get("known_hosts_file")),
                       connect_timeout=float(access.get("connect_timeout") or 10),
                       options=options,
                       credentials=str(access.get("credentials")
                                       or "auth.ssh_user and head_to_workers"))
    address = str(access["address"])
    transport = FramedTransport(SSHTransport(target, node=address, max_output=CAPTURE_LIMIT))
    return Node(str(access["id"]), address, transport)


def this_head() -> Node:
    """The head, as the watcher (which runs on it) reaches it."""
    return Node("head", "127.0.0.1",
                FramedTransport(LocalTransport("head", max_output=CAPTURE_LIMIT)), is_head=True)
