"""The SSH provider: a head and workers reached with the system OpenSSH client."""

from __future__ import annotations

import shutil

from jobwaiter.cluster.config import Auth, ClusterConfig, parse_host
from jobwaiter.cluster.config import SSHProvider as SSHSection
from jobwaiter.cluster.providers.base import Node
from jobwaiter.errors import UsageError
from jobwaiter.transport.frame import FramedTransport
from jobwaiter.transport.ssh import ControlDir, SSHTarget, SSHTransport


class SSHProvider:
    """One node per address of the config. Nothing connects until a command runs; all the
    nodes' master connections share one private control directory, removed on ``close``."""

    def __init__(self, config: ClusterConfig) -> None:
        section = config.provider
        if not isinstance(section, SSHSection):
            raise TypeError("SSHProvider needs a config with provider.type ssh")
        if shutil.which("ssh") is None:
            raise UsageError("the ssh provider needs the OpenSSH client (ssh) on this machine")
        auth = config.auth or Auth()
        self._control = ControlDir()
        self._head = self._node(section.head_ip, auth, is_head=True)
        self._workers = [self._node(address, auth) for address in section.worker_ips]

    def _node(self, address: str, auth: Auth, is_head: bool = False) -> Node:
        host, port = parse_host(address)
        target = SSHTarget(
            host=host,
            port=port or auth.ssh_port,
            user=auth.ssh_user,
            identity_file=auth.ssh_private_key,
            known_hosts_file=auth.known_hosts_file,
            connect_timeout=auth.connect_timeout,
            options=tuple((k, str(v)) for k, v in auth.ssh_options.items()),
        )
        # Framed: what the node's start-up files print cannot change what we read back.
        transport = FramedTransport(SSHTransport(target, node=address, control=self._control))
        # The head keeps the id "head" on every provider; a worker is known by its address.
        return Node("head" if is_head else address, address, transport, is_head=is_head,
                    shell_prefix=target.shell_prefix())

    def head(self) -> Node:
        return self._head

    def workers(self) -> list[Node]:
        return list(self._workers)

    def close(self) -> None:
        for node in [self._head, *self._workers]:
            node.transport.close()
        self._control.remove()
