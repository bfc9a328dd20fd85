"""Private OpenSSH servers on loopback addresses, one per "host", for the SSH tests.

Each host has its own listen address (127.0.0.21, .22, ...), a free port, its own host key,
sshd_config and log, and its own HOME, TMUX_TMPDIR and SCREENDIR given to every session with
``SetEnv`` (all hosts run as the same user on this machine, and would otherwise share the
home directory, the tmux server and the screen sessions). Nothing here touches the system's
sshd or its config; every process is stopped by its pid.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"  # sshd re-executes itself, so it needs an absolute path


def free_port(addr: str) -> int:
    with socket.socket() as s:
        s.bind((addr, 0))
        return int(s.getsockname()[1])


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "jobwaiter-test",
                    "-f", str(path)], check=True)


def user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


@dataclass
class Host:
    addr: str
    root: Path
    authorized_keys: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """How the cluster config names this host."""
        return f"{self.addr}:{self.port}"

    @property
    def home(self) -> Path:
        return self.root / "h"

    @property
    def screendir(self) -> Path:
        return self.root / "s"

    @property
    def tmux_socket(self) -> Path:
        return self.root / f"tmux-{os.getuid()}" / "default"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def hostkey(self) -> Path:
        return self.root / "hostkey"

    @property
    def jobs(self) -> Path:
        return self.home / ".jobwaiter" / "jobs"

    def setup(self) -> None:
        self.root.mkdir(parents=True)
        self.home.mkdir()
        self.screendir.mkdir(mode=0o700)
        keygen(self.hostkey)
        self.port = free_port(self.addr)
        (self.root / "sshd_config").write_text(f"""\
Port {self.port}
ListenAddress {self.addr}
HostKey {self.hostkey}
PidFile {self.root}/sshd.pid
AuthorizedKeysFile {self.authorized_keys} {self.home}/.ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
MaxStartups 100:30:200
MaxSessions 100
LogLevel VERBOSE
SetEnv HOME={self.home} TMUX_TMPDIR={self.root} SCREENDIR={self.screendir}
""")

    def start(self) -> None:
        config = str(self.root / "sshd_config")
        self.proc = subprocess.Popen([SSHD, "-D", "-f", config, "-E", str(self.log)],
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd for {self.addr} exited: {self.log.read_text()}")
            try:
                socket.create_connection((self.addr, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"sshd for {self.addr} did not start")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def sshd_pids(self) -> list[int]:
        """The listener and every sshd process below it (one or two per connection)."""
        if not self.running or self.proc is None:
            return []
        kids = _children()
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                continue
            if os.path.basename(exe) == "sshd":
                found.append(pid)
                todo += kids.get(pid, [])
        return found

    def kill_all(self) -> None:
        """Stop the listener and every connection it serves at once, like a host that drops
        off the network (sessions' own processes, such as a tmux server, live on)."""
        for pid in self.sshd_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)
            self.proc = None

    def accepted(self) -> int:
        """Logins so far: one per new SSH connection."""
        try:
            return self.log.read_text().count("Accepted publickey")
        except FileNotFoundError:
            return 0

    def records(self) -> list[Path]:
        return sorted(self.jobs.glob("jobwaiter-*")) if self.jobs.exists() else []

    def job_started(self) -> bool:
        """A job's wrapper runs here (it writes its pid once it holds its lock)."""
        return any((d / "pid").exists() for d in self.records())

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-S", str(self.tmux_socket), *args],
                              capture_output=True, text=True, check=False)

    def clean(self) -> None:
        """End whatever a test left on this host and empty its home."""
        self.tmux("kill-server")
        env = {**os.environ, "SCREENDIR": str(self.screendir)}
        ls = subprocess.run(["screen", "-ls"], capture_output=True, text=True, env=env,
                            check=False)
        for line in ls.stdout.splitlines():
            parts = line.split()
            if parts and "." in parts[0] and parts[0].split(".")[0].isdigit():
                subprocess.run(["screen", "-S", parts[0], "-X", "quit"], env=env,
                               capture_output=True, check=False)
        # The head's watcher outlives every client by design; a test's ends with the test.
        watcher = self.home / ".jobwaiter" / "watch" / "watcher.pid"
        if watcher.exists():
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(watcher.read_text().split()[0]), signal.SIGKILL)
        for pid_file in self.jobs.glob("*/pid") if self.jobs.exists() else []:
            try:
                pgid = int(pid_file.read_text())
                if pgid > 1:
                    os.killpg(pgid, signal.SIGKILL)
            except (ValueError, OSError):
                pass
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(exist_ok=True)


@dataclass
class Farm:
    """A few hosts sharing one client key."""

    root: Path
    key: Path
    hosts: list[Host]

    @property
    def head(self) -> Host:
        return self.hosts[0]

    @property
    def workers(self) -> list[Host]:
        return self.hosts[1:]

    def config(self, known_hosts: Path, workers: int = 2, key: Path | None = None,
               extra: str = "", head: str | None = None) -> str:
        worker_ips = ", ".join(f'"{h.address}"' for h in self.workers[:workers])
        return f"""\
cluster_name: t
provider:
  type: ssh
  head_ip: "{head or self.head.address}"
  worker_ips: [{worker_ips}]
auth:
  ssh_user: {user()}
  ssh_private_key: {key or self.key}
  known_hosts_file: {known_hosts}
  connect_timeout: 5
{extra}"""


def start_farm(root: Path, addrs: list[str]) -> Farm:
    if not os.path.isdir("/run/sshd"):
        os.makedirs("/run/sshd", exist_ok=True)  # sshd refuses to start without it
        os.chmod("/run/sshd", 0o755)
    key = root / "key"
    keygen(key)
    authorized = root / "authorized_keys"
    shutil.copy(root / "key.pub", authorized)
    authorized.chmod(0o600)
    hosts = [Host(a, root / a.rsplit(".", 1)[1], authorized) for a in addrs]
    farm = Farm(root, key, hosts)
    try:
        for h in hosts:
            h.setup()
            h.start()
    except BaseException:
        stop_farm(farm)
        raise
    return farm


def stop_farm(farm: Farm) -> None:
    for h in farm.hosts:
        h.kill_all()
        h.clean()
