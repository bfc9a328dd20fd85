"""The SSH provider: a head and workers reached with the system OpenSSH client."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

from jobwaiter.cluster.config import Auth, ClusterConfig, SSHSection
from jobwaiter.cluster.providers.base import Node
from jobwaiter.errors import UsageError
from jobwaiter.transport.address import parse_host
from jobwaiter.transport.frame import FramedTransport
from jobwaiter.transport.ssh import ControlDir, SSHTarget, SSHTransport

#: Effective StrictHostKeyChecking values (as ``ssh -G`` prints them) under which a changed
#: host key stops the connection. "false" (no/off) accepts it.
_CHECKED = ("true", "ask", "accept-new")
#: UserKnownHostsFile values that keep no key: with jobwaiter's accept-new, every key would
#: then be "new", accepted and forgotten, so any host could answer.
_NO_FILE = ("/dev/null", "none")


class SSHProvider:
    """One node per address of the config. Nothing connects until a command runs; all the
    nodes' master connections share one private control directory, removed on ``close``.
    Building it refuses a config under which ssh would not verify host keys."""

    def __init__(self, config: ClusterConfig) -> None:
        section = config.provider
        if not isinstance(section, SSHSection):
            raise TypeError("SSHProvider needs a config with provider.type ssh")
        ssh = shutil.which("ssh")
        if ssh is None:
            raise UsageError("the ssh provider needs the OpenSSH client (ssh) on this machine")
        auth = config.auth or Auth()
        targets = {address: _target(address, auth)
                   for address in [section.head_ip, *section.worker_ips]}
        for address, target in targets.items():
            check_host_key_policy(ssh, target, address)
        self._control = ControlDir()
        self._head = self._node(section.head_ip, targets[section.head_ip], is_head=True)
        self._workers = [self._node(address, targets[address])
                         for address in section.worker_ips]

    def _node(self, address: str, target: SSHTarget, is_head: bool = False) -> Node:
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


def _target(address: str, auth: Auth) -> SSHTarget:
    host, port = parse_host(address)
    return SSHTarget(
        host=host,
        port=port or auth.ssh_port,
        user=auth.ssh_user,
        identity_file=auth.ssh_private_key,
        known_hosts_file=auth.known_hosts_file,
        connect_timeout=auth.connect_timeout,
        options=tuple((k, str(v)) for k, v in auth.ssh_options.items()),
    )


def check_host_key_policy(ssh: str, target: SSHTarget, address: str) -> None:
    """Ask ssh what it will do for ``target`` (``ssh -G`` prints the effective settings and
    connects nowhere), with the very options jobwaiter's connections use, so ~/.ssh/config,
    Match blocks and first-value-wins all count. Raise UsageError if it would not verify the
    host key. If ssh cannot tell us, refuse too: an unverifiable policy is not a safe one."""
    argv = [ssh, "-G", *target.options_for_jobwaiter(), "--", target.host]
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"host {address}: cannot check its host-key policy with ssh -G: "
                         f"{exc}") from None
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        why = lines[-1] if lines else f"exited with status {proc.returncode}"
        raise UsageError(f"host {address}: ssh -G rejected the ssh settings: {why}")
    problem = host_key_problem(effective_settings(proc.stdout))
    if problem:
        raise UsageError(f"host {address}: {problem}, so a changed host key would be "
                         "accepted; jobwaiter refuses to connect without host-key checking")


def effective_settings(text: str) -> dict[str, str]:
    """``ssh -G`` output (``keyword value`` lines) as a dict; the first line of a keyword
    wins, as in ssh."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            settings.setdefault(key.lower(), value.strip())
    return settings


def host_key_problem(settings: dict[str, str]) -> str | None:
    """What in the effective settings turns host-key verification off, or None."""
    strict = settings.get("stricthostkeychecking", "").lower()
    if strict not in _CHECKED:
        return f"the effective StrictHostKeyChecking is {strict or 'unset'!r}"
    if settings.get("nohostauthenticationforlocalhost", "no").lower() == "yes":
        return "NoHostAuthenticationForLocalhost is yes (no check for loopback addresses)"
    files = settings.get("userknownhostsfile", "").split()
    # ssh records a new key in the first file only; if that keeps nothing, accept-new
    # accepts whatever key answers, on every connection.
    first = files[0] if files else "none"
    if first.lower() in _NO_FILE or _keeps_nothing(first):
        return f"the effective UserKnownHostsFile is {first} (no key is ever remembered)"
    return None


def _keeps_nothing(path: str) -> bool:
    """A device (/dev/null under another name) or a directory cannot hold known keys."""
    try:
        st = os.stat(os.path.expanduser(path))
    except OSError:
        return False  # not there yet: ssh creates it on the first new key
    return not stat.S_ISREG(st.st_mode)
