#!/usr/bin/env python3
"""What does it cost to wait for a background job over SSH, and how soon is its end seen?

Each run starts a background job in tmux on a head reached over SSH and waits for it, two
ways side by side (at the same time, each with its own head):

  jobwaiter   `jobwaiter exec CONFIG JOB --tmux --job-waiter=tmux` (one master connection,
              checks that block on the job's lock)
  baseline    CloudTik-style polling: a new ssh connection running `tmux has-session` every
              5 s until the session is gone

Each head is a private sshd on loopback (127.0.0.41 / .42, free ports, own host keys, own
HOME/TMUX_TMPDIR through SetEnv) started in its own PID namespace, so that:

  connections  = "Accepted publickey" lines in that sshd's log (one per new SSH connection)
  processes    = tasks created in the head's PID namespace, from the namespace's pid
                 counter (/proc/sys/kernel/ns_last_pid, read from inside it with nsenter; pids
                 are handed out in order, so the difference counts every process or thread
                 started there, short-lived ones included; our own reads are subtracted). The
                 client side (jobwaiter, the ssh clients) runs outside and is not counted.
  latency      = the job's last act (it writes $EPOCHREALTIME to a file, then exits) to the
                 moment the waiting command returns (same machine, same clock)

"During the wait" starts 1 s after the launch returned (jobwaiter: its "waiting for" line),
so the launch's own processes are left out, and ends when the waiter returns. The job's end
falls inside it, so it includes what ending costs: jobwaiter's wrapper records the status
(a few processes); the baseline job records nothing.

    python bench/ssh_wait_cost.py             # 5 runs of a 60 s job (about 5 minutes)
    python bench/ssh_wait_cost.py --quick     # 5 runs of a 10 s job

Needs root (PID namespaces), openssh-server, tmux, and jobwaiter installed in this Python.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"
POLL_EVERY = 5.0  # the baseline's interval
SETTLE = 1.0  # seconds after the launch before the wait's counting starts


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True)


def free_port(addr: str) -> int:
    with socket.socket() as s:
        s.bind((addr, 0))
        return int(s.getsockname()[1])


@dataclass
class Head:
    """A private sshd in its own PID namespace."""

    addr: str
    root: Path
    key: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    sshd_pid: int = 0

    @property
    def home(self) -> Path:
        return self.root / "h"

    @property
    def log(self) -> Path:
        return self.root / "log"

    def start(self) -> None:
        self.root.mkdir(parents=True)
        self.home.mkdir()
        (self.root / "s").mkdir(mode=0o700)
        keygen(self.root / "hostkey")
        authorized = self.root / "authorized_keys"
        shutil.copy(f"{self.key}.pub", authorized)
        authorized.chmod(0o600)
        self.port = free_port(self.addr)
        config = self.root / "sshd_config"
        config.write_text(f"""\
Port {self.port}
ListenAddress {self.addr}
HostKey {self.root}/hostkey
PidFile {self.root}/sshd.pid
AuthorizedKeysFile {authorized}
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
MaxStartups 100:30:200
MaxSessions 100
SetEnv HOME={self.home} TMUX_TMPDIR={self.root} SCREENDIR={self.root}/s
""")
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--kill-child", "--", SSHD, "-D", "-f", str(config),
             "-E", str(self.log)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
            pids = children.read_text().split() if children.exists() else []
            if pids:
                try:
                    socket.create_connection((self.addr, self.port), timeout=0.5).close()
                    self.sshd_pid = int(pids[0])
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"sshd on {self.addr} did not start")

    def stop(self) -> None:
        subprocess.run(["tmux", "-S", str(self.root / f"tmux-{os.getuid()}" / "default"),
                        "kill-server"], capture_output=True, check=False)
        if self.sshd_pid:
            # sshd is the namespace's init: when it dies, everything in the namespace does.
            os.kill(self.sshd_pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def connections(self) -> int:
        return self.log.read_text().count("Accepted publickey") if self.log.exists() else 0

    def last_pid(self) -> int:
        """The namespace's pid counter, read by a process inside it (which is counted)."""
        out = subprocess.run(["nsenter", "-t", str(self.sshd_pid), "-p", "--", "cat",
                              "/proc/sys/kernel/ns_last_pid"], capture_output=True, text=True,
                             check=True).stdout
        return int(out)

    def mark(self) -> tuple[int, int]:
        return self.connections(), self.last_pid()

    def ssh(self, known_hosts: Path) -> list[str]:
        return ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
                "-o", "LogLevel=ERROR",
                "-o", f"UserKnownHostsFile={known_hosts}", "-o", "IdentitiesOnly=yes",
                "-i", str(self.key), "-p", str(self.port), "-n", f"root@{self.addr}"]


@dataclass
class Sample:
    latency: float
    conn_run: int
    conn_wait: int
    procs_wait: int
    wait_seconds: float


@dataclass
class Totals:
    samples: list[Sample] = field(default_factory=list)


def since(head: Head, start: tuple[int, int]) -> tuple[int, int]:
    conns, pid = head.mark()
    # Two counter reads happened in between (the start's and this one): not the wait's.
    return conns - start[0], pid - start[1] - 1


def job_end(head: Head, name: str) -> float:
    path = head.home / name
    for _ in range(100):
        if path.exists() and path.read_text().strip():
            return float(path.read_text())
        time.sleep(0.05)
    raise RuntimeError(f"the job did not write {path}")


def jobwaiter_run(head: Head, config: Path, seconds: float, i: int) -> Sample:
    end = f"end-jw-{i}"
    cmd = f"sleep {seconds}; echo $EPOCHREALTIME > ~/{end}"
    before = head.connections()
    proc = subprocess.Popen([sys.executable, "-m", "jobwaiter.cli.main", "exec", str(config),
                             cmd, "--tmux", "--job-waiter=tmux"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "waiting for" in line:
            break
    time.sleep(SETTLE)
    start = head.mark()
    t_start = time.time()
    drain = threading.Thread(target=proc.stderr.read, daemon=True)
    drain.start()
    code = proc.wait()
    returned = time.time()
    conns, procs = since(head, start)
    if code != 0:
        raise RuntimeError(f"jobwaiter exited {code}")
    return Sample(returned - job_end(head, end), head.connections() - before, conns, procs,
                  returned - t_start)


def baseline_run(head: Head, known_hosts: Path, seconds: float, i: int) -> Sample:
    end = f"end-base-{i}"
    name = f"base-{secrets.token_hex(4)}"
    ssh = head.ssh(known_hosts)
    before = head.connections()
    job = f"sleep {seconds}; echo $EPOCHREALTIME > ~/{end}"
    subprocess.run([*ssh, "tmux", "new-session", "-d", "-s", name, "bash", "-c",
                    f"'{job}'"], check=True)
    time.sleep(SETTLE)
    start = head.mark()
    t_start = time.time()
    while True:
        time.sleep(POLL_EVERY)
        alive = subprocess.run([*ssh, "tmux", "has-session", "-t", f"={name}"],
                               capture_output=True, check=False)
        if alive.returncode != 0:
            break
    returned = time.time()
    conns, procs = since(head, start)
    return Sample(returned - job_end(head, end), head.connections() - before, conns, procs,
                  returned - t_start)


def spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values),
                                                max(values)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s jobs instead of 60 s")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--job-seconds", type=float)
    args = parser.parse_args()
    seconds = args.job_seconds or (10.0 if args.quick else 60.0)
    for tool in ("unshare", "nsenter", "tmux", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            sys.exit(f"needs {tool}")
    if not os.path.exists(SSHD):
        sys.exit("needs the OpenSSH server (apt-get install openssh-server)")
    os.makedirs("/run/sshd", exist_ok=True)
    os.chmod("/run/sshd", 0o755)

    root = Path(tempfile.mkdtemp(prefix="jwb", dir="/tmp"))
    key = root / "key"
    keygen(key)
    known_hosts = root / "known_hosts"
    heads = [Head("127.0.0.41", root / "jw", key), Head("127.0.0.42", root / "base", key)]
    jw = Totals()
    base = Totals()
    try:
        for head in heads:
            head.start()
        config = root / "cluster.yaml"
        config.write_text(f"""\
cluster_name: bench
provider: {{type: ssh, head_ip: "{heads[0].addr}:{heads[0].port}"}}
auth: {{ssh_user: root, ssh_private_key: {key}, known_hosts_file: {known_hosts}}}
""")
        print(f"{args.runs} runs of a {seconds:g} s background job in tmux, over SSH to a "
              "private sshd on loopback", flush=True)
        for i in range(args.runs):
            with ThreadPoolExecutor(max_workers=2) as pool:  # side by side, one head each
                ours = pool.submit(jobwaiter_run, heads[0], config, seconds, i)
                theirs = pool.submit(baseline_run, heads[1], known_hosts, seconds, i)
                jw.samples.append(ours.result())
                base.samples.append(theirs.result())
            print(f"  run {i + 1}: jobwaiter {jw.samples[-1].latency:.3f} s, "
                  f"baseline {base.samples[-1].latency:.3f} s", flush=True)
    finally:
        for head in heads:
            head.stop()
        shutil.rmtree(root, ignore_errors=True)

    rows = [
        ("new SSH connections, whole run", lambda s: float(s.conn_run), ".0f"),
        ("new SSH connections, during the wait", lambda s: float(s.conn_wait), ".0f"),
        ("processes started on the head, wait", lambda s: float(s.procs_wait), ".0f"),
        ("  per minute of waiting", lambda s: 60 * s.procs_wait / s.wait_seconds, ".1f"),
        ("detection latency, seconds", lambda s: s.latency, ".3f"),
    ]
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'min / median / max':<{width}}  {'jobwaiter':<24}  baseline (new ssh + "
          f"has-session every {POLL_EVERY:g} s)")
    for label, get, fmt in rows:
        print(f"{label:<{width}}  {spread([get(s) for s in jw.samples], fmt):<24}  "
              f"{spread([get(s) for s in base.samples], fmt)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
