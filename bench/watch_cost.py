#!/usr/bin/env python3
"""What does it cost to keep watch over background jobs: on the head, or from the client?

On the local provider (this machine is the head; a private HOME and tmux socket per part),
in the same run:

  cost       For 1 and N (50) jobs in tmux with --job-waiter=tmux, watched by the head
             (`jobwaiter exec CONFIG 'sleep ...' --tmux --job-waiter=tmux --detach`): the
             watcher processes (cmdline `run.py serve`) and their RSS, every process alive
             below them (its checks) and the processes started per minute of watching.
             Baseline: the same number of jobs waited for from the client, one
             `jobwaiter wait CONFIG JOB --watch client` process per job, as a user would run
             them. Then one client following all N jobs of the head (`jobwaiter wait CONFIG
             --all`): its processes and RSS.
  latency    Job end -> the first stop command (a head_stop_commands entry that writes a
             timestamp; the job writes its end timestamp as its last act), over R runs, for
             a job watched by the head (--stop --detach) and by the client (--stop --watch
             client), interleaved.
  ssh        The same N jobs followed over SSH (OpenSSH's sshd on 127.0.0.41, its sessions
             given the head's HOME), by one `wait --all` and by N separate `wait JOB`: new
             SSH connections ("Accepted publickey" in the sshd's log) and the client's
             processes and RSS (its ssh master included).

Processes started are counted from the last pid handed out in a private PID namespace (the
bench re-runs itself under `unshare --pid --fork --mount-proc`; every process of the bench,
tmux and the watcher included, lives there, so nothing else on the machine counts). A pid is
handed out for every process and every thread, short-lived ones included. Counts and RSS are
the peak of samples taken every 0.5 s during a window of W seconds.

    python bench/watch_cost.py              # 50 jobs, 30 s windows, 10 latency runs (~5 min)
    python bench/watch_cost.py --quick      # 10 jobs, 4 s windows, 3 latency runs (~1 min)

Needs root (PID namespace), tmux, and jobwaiter importable by this Python; the ssh part
needs openssh-server (skipped without it). `--part latency|cost|ssh` runs one part.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from jobwaiter.jobs.watch import FOLLOW_FOR
from jobwaiter.waiters.session import SessionWaiter

JOBWAITER = [sys.executable, "-m", "jobwaiter.cli.main"]
#: A session check blocks this long, a follow call lasts FOLLOW_FOR: a window shorter than
#: the longer of them can see no process start at all, so it reports no rate.
PERIOD = max(SessionWaiter.max_block, FOLLOW_FOR)
REPO = Path(__file__).resolve().parent.parent
SSH_ADDR = "127.0.0.41"  # the tests use .21-.23
SSHD = "/usr/sbin/sshd"
JOB_SECONDS = 3600  # cost jobs: longer than the bench; ended with their tmux server
SAMPLE_EVERY = 0.5
PARTS = ("latency", "cost", "ssh")
LAUNCHERS = 4  # jobs launched at a time
#: Variables that would tie a child to the caller's terminal multiplexer or jobs.
NOT_INHERITED = ("TMUX", "TMUX_PANE", "STY", "WINDOW", "JOBWAITER_JOB")


# -- processes -------------------------------------------------------------------------------

def forks() -> int:
    """Pids handed out so far in this PID namespace (in order: processes and threads)."""
    return int(Path("/proc/sys/kernel/ns_last_pid").read_text())


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    state: str
    argv: tuple[str, ...]


def procs() -> dict[int, Proc]:
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            raw = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        argv = tuple(a.decode(errors="replace") for a in raw.split(b"\0") if a)
        table[int(entry)] = Proc(int(entry), int(fields[1]), fields[0], argv)
    return table


def tree(roots: Iterable[int], table: dict[int, Proc]) -> set[int]:
    """The roots and every process below them."""
    kids: dict[int, list[int]] = {}
    for p in table.values():
        kids.setdefault(p.ppid, []).append(p.pid)
    found: set[int] = set()
    todo = [r for r in roots if r in table]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += kids.get(pid, [])
    return found


def status_kb(pid: int, key: str, name: str = "status") -> int:
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def rss_kb(pid: int) -> int:
    return status_kb(pid, "VmRSS")


def pss_kb(pid: int) -> int:
    return status_kb(pid, "Pss", "smaps_rollup")


def runs(p: Proc, command: str) -> bool:
    """A python running the head's ``run.py COMMAND`` (not the shell that started it, whose
    arguments hold the same words)."""
    return bool(p.argv) and os.path.basename(p.argv[0]).startswith("python") and any(
        a.endswith("run.py") and p.argv[i + 1:i + 2] == (command,)
        for i, a in enumerate(p.argv))


def is_watcher(p: Proc) -> bool:
    return runs(p, "serve")


def is_follow(p: Proc) -> bool:
    return runs(p, "follow")


def is_check(p: Proc) -> bool:
    """A session check blocking on a job's lock."""
    return p.argv[:1] == ("flock",) and any(a.endswith("/lock") for a in p.argv)


def in_namespace() -> bool:
    return os.getpid() == 1 and os.environ.get("JW_BENCH_PIDNS") == "1"


def reap(keep: Iterable[int] = ()) -> None:
    """As the namespace's init, collect orphans that ended (a watcher, a check whose client
    was ended); never a child a Popen of ours still waits for."""
    if not in_namespace():
        return
    keep = set(keep)
    for p in procs().values():
        if p.ppid == 1 and p.state == "Z" and p.pid not in keep:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(p.pid, os.WNOHANG)


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def end_pids(pids: Iterable[int], group: bool = True, grace: float = 3.0) -> None:
    """SIGTERM (each one's process group, if it leads one), then SIGKILL what is left after
    `grace` seconds: all at once, by pid."""
    pids = list(pids)
    kill = os.killpg if group else os.kill
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            if not gone(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not all(gone(p) for p in pids):
            time.sleep(0.05)
        pids = [p for p in pids if not gone(p)]
        if not pids:
            break
    reap()


def sweep() -> int:
    """In the private namespace every process is the bench's: end whatever a part left
    (orphaned checks, a job's shell), by pid. Returns how many there were."""
    if not in_namespace():
        return 0
    left = [pid for pid in procs() if pid != 1]
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(not gone(p) for p in left):
        time.sleep(0.05)
    reap()
    return len(left)


# -- a private home ----------------------------------------------------------------------------

@dataclass
class Place:
    """A private HOME (and tmux socket) on this machine, with a cluster config."""

    root: Path
    config_text: str
    clients: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True)
        (self.root / "bin").mkdir()
        (self.root / "bin" / "python3").symlink_to(head_python())
        self.config.write_text(self.config_text)
        env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        env.update(HOME=str(self.root), TMUX_TMPDIR=str(self.root),
                   SCREENDIR=str(self.root / "screen"),
                   PATH=f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}")
        self.env = env

    @property
    def config(self) -> Path:
        return self.root / "cluster.yaml"

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*JOBWAITER, *args], env=self.env, cwd=self.root, text=True,
                              capture_output=True, timeout=timeout, check=False)

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        """A client in a session of its own (ended with its process group)."""
        log = open(self.root / f"client-{len(self.clients)}.log", "wb")  # noqa: SIM115
        with log:
            proc = subprocess.Popen([*JOBWAITER, *args], env=self.env, cwd=self.root,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=log, start_new_session=True)
        self.clients.append(proc)
        return proc

    def live_clients(self) -> list[int]:
        return [c.pid for c in self.clients if c.poll() is None]

    def end_clients(self) -> None:
        end_pids(self.live_clients())
        for c in self.clients:
            with contextlib.suppress(subprocess.TimeoutExpired):
                c.wait(timeout=5)
        self.clients.clear()

    def launch(self, n: int, *extra: str) -> list[str]:
        """Start n jobs in tmux (LAUNCHERS at a time); their names."""

        def one(_: int) -> str:
            done = self.cli("exec", str(self.config), f"sleep {JOB_SECONDS}", "--tmux", *extra,
                            "--json")
            try:
                return str(json.loads(done.stdout)["job"])
            except (ValueError, KeyError) as exc:
                raise RuntimeError(f"exec failed ({done.returncode}): {done.stderr}") from exc

        with ThreadPoolExecutor(LAUNCHERS) as pool:
            return list(pool.map(one, range(n)))

    def watcher_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.root / ".jobwaiter/watch/watcher.pid").read_text().split()[0])
        return None

    def end_watcher(self) -> None:
        pid = self.watcher_pid()
        if pid is not None:
            end_pids([pid])  # its checks are in its process group (a session of its own)

    def end(self) -> None:
        self.end_clients()
        self.end_watcher()
        socket = self.root / f"tmux-{os.getuid()}" / "default"
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True,
                       check=False)


@functools.cache
def head_python() -> str:
    """The head's python3: the system's (a pyenv shim would add a few processes per call)."""
    candidates = ["/usr/bin/python3", os.path.realpath(sys.executable)]
    return next(c for c in candidates if os.path.exists(c))


# -- measuring ---------------------------------------------------------------------------------

@dataclass
class Window:
    """What a window of watching showed (peaks over its samples)."""

    seconds: float = 0.0
    pids: int = 0
    main: int = 0
    main_rss: int = 0
    main_pss: int = 0
    alive: int = 0
    alive_rss: int = 0
    alive_pss: int = 0
    #: Follow calls that began during the window (each a bash and a python3 on the head).
    follow_calls: int = 0

    @property
    def per_minute(self) -> float | None:
        """Pids handed out per minute; None when the window is too short to tell."""
        return 60.0 * self.pids / self.seconds if self.seconds >= PERIOD else None


def settle(place: Place, roots: Callable[[dict[int, Proc]], list[int]],
           ready: Callable[[Proc], bool], need: int, timeout: float = 120.0) -> None:
    """Wait until `need` processes below the roots are `ready` (each client in its first
    check or follow), then one more second. RuntimeError if they never are: a window of
    fewer watchers than said would measure the wrong thing."""
    deadline = time.monotonic() + timeout
    count = 0
    while count < need:
        if time.monotonic() > deadline:
            logs = sorted(place.root.glob("client-*.log"))
            tail = logs[-1].read_text(errors="replace")[-300:] if logs else ""
            raise RuntimeError(f"only {count} of {need} watches began in {timeout:g} s "
                               f"(last client's log: {tail!r})")
        reap(place.live_clients())
        time.sleep(0.1)
        table = procs()
        count = sum(1 for pid in tree(roots(table), table) if ready(table[pid]))
    time.sleep(1.0)


def settle_watched(place: Place, need: int, timeout: float = 120.0) -> None:
    """Wait until the head's watcher has taken `need` jobs (each record's `watching` file:
    the watcher waits on a job's lock in a thread, with no process to count), then one more
    second."""
    jobs = place.root / ".jobwaiter" / "jobs"
    deadline = time.monotonic() + timeout
    while len(list(jobs.glob("*/watching"))) < need:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(list(jobs.glob('*/watching')))} of {need} "
                               f"watches began in {timeout:g} s")
        reap(place.live_clients())
        time.sleep(0.1)
    time.sleep(1.0)


def window(place: Place, seconds: float,
           main: Callable[[dict[int, Proc]], list[int]]) -> Window:
    """Watch for `seconds`: the pids handed out, and the peak count and RSS of the `main`
    processes and of everything below them. Nothing here starts a process."""
    w = Window()
    f0 = forks()
    t0 = time.monotonic()
    follows: set[int] = set()
    first: set[int] | None = None
    while True:
        table = procs()
        now = {p.pid for p in table.values() if is_follow(p) and p.state != "Z"}
        first = now if first is None else first
        follows |= now
        mains = [p for p in main(table) if p in table and table[p].state != "Z"]
        below = tree(mains, table)
        w.main = max(w.main, len(mains))
        w.main_rss = max(w.main_rss, sum(rss_kb(p) for p in mains))
        w.main_pss = max(w.main_pss, sum(pss_kb(p) for p in mains))
        w.alive = max(w.alive, len(below))
        w.alive_rss = max(w.alive_rss, sum(rss_kb(p) for p in below))
        w.alive_pss = max(w.alive_pss, sum(pss_kb(p) for p in below))
        reap(place.live_clients())
        if time.monotonic() - t0 >= seconds:
            break
        time.sleep(SAMPLE_EVERY)
    w.seconds = time.monotonic() - t0
    w.pids = forks() - f0
    w.follow_calls = len(follows - (first or set()))
    return w


def watchers(table: dict[int, Proc]) -> list[int]:
    return [p.pid for p in table.values() if is_watcher(p) and p.state != "Z"]


# -- the parts ---------------------------------------------------------------------------------

@dataclass
class Cost:
    rows: list[tuple[str, int, Window]] = field(default_factory=list)
    follow_jobs: int = 0
    idle_per_minute: float = 0.0


HEAD_ROW = "head: the watcher (`exec --detach`)"


def cost_on_head(base: Path, jobs: int, seconds: float, cost: Cost, local: bool = True,
                 ssh: bool = False) -> tuple[list[SSHRow], str]:
    """The head's watch of 1, then `jobs` jobs, and one client following them all; then (ssh)
    the same jobs followed over SSH: its rows, or why there are none."""
    place = Place(base / "head", "cluster_name: bench\nprovider:\n  type: local\n")
    rows: list[SSHRow] = []
    note = "not run (--part)"
    try:
        place.launch(1, "--job-waiter=tmux", "--detach")
        if local:
            settle_watched(place, 1)
            cost.rows.append((HEAD_ROW, 1, window(place, seconds, watchers)))
        place.launch(jobs - 1, "--job-waiter=tmux", "--detach")
        settle_watched(place, jobs)
        if local:
            cost.rows.append((HEAD_ROW, jobs, window(place, seconds, watchers)))
            client = place.spawn("wait", str(place.config), "--all")
            settle(place, lambda _: [client.pid], is_follow, 1)
            table = procs()
            cost.follow_jobs = max(
                (sum(1 for a in table[p].argv if a.startswith("jobwaiter-"))
                 for p in tree([client.pid], table) if is_follow(table[p])), default=0)
            cost.rows.append(("follow: one `wait --all`", jobs,
                              window(place, seconds, lambda _: place.live_clients())))
            place.end_clients()
        if ssh:
            try:
                # One follow call again over the same connection: FOLLOW_FOR and a second.
                rows = over_ssh(base, place, jobs, min(seconds, FOLLOW_FOR + 1.0),
                                min(seconds, 10.0))
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                note = (f"the part over SSH failed ({type(exc).__name__}: {exc}); the client "
                        "was measured on the local provider only")
    finally:
        place.end()
        sweep()
    return rows, note


def cost_from_client(base: Path, jobs: int, seconds: float, cost: Cost) -> None:
    place = Place(base / "client", "cluster_name: bench\nprovider:\n  type: local\n")
    try:
        names = place.launch(1)
        before = forks()
        time.sleep(1.0)  # nobody watching: what the jobs and tmux cost by themselves
        cost.idle_per_minute = 60.0 * (forks() - before) / 1.0
        for count in (1, jobs):
            names += place.launch(count - len(names))
            for name in names:
                place.spawn("wait", str(place.config), name, "--job-waiter=tmux",
                            "--watch", "client")
            settle(place, lambda _: place.live_clients(), is_check, count)
            label = "client: one `wait --watch client` per job"
            cost.rows.append((label, count,
                              window(place, seconds, lambda _: place.live_clients())))
            place.end_clients()
            reap()
    finally:
        place.end()
        sweep()


@dataclass
class Latency:
    claimed: list[float] = field(default_factory=list)
    stopped: list[float] = field(default_factory=list)


STOP_CONFIG = """\
cluster_name: bench
provider:
  type: local
head_stop_commands: ["date +%s.%N >> ~/stopped"]
"""


def latency(base: Path, runs: int, job_seconds: float) -> dict[str, Latency]:
    place = Place(base / "latency", STOP_CONFIG)
    home = place.root
    found = {"head": Latency(), "client": Latency()}
    how = {"head": ("--detach",), "client": ("--watch", "client")}
    try:
        for _ in range(runs):
            for who in ("head", "client"):
                for name in ("stopped", "end", ".jobwaiter/clusters/bench.state"):
                    (home / name).unlink(missing_ok=True)
                job = f"sleep {job_seconds}; date +%s.%N > ~/end"
                done = place.cli("exec", str(place.config), job, "--tmux", "--job-waiter=tmux",
                                 "--stop", "-y", *how[who], "--json")
                try:
                    name = str(json.loads(done.stdout)["job"])
                except (ValueError, KeyError) as exc:
                    raise RuntimeError(f"exec ({who}) failed: {done.stderr}") from exc
                record = home / ".jobwaiter/jobs" / name
                deadline = time.monotonic() + 60
                # The head's watch: until the stop is recorded (the next run's stop must not
                # find this job still running).
                while time.monotonic() < deadline and not _stop_recorded(record):
                    time.sleep(0.05)
                    reap()
                stopped = (home / "stopped").read_text().split() if (
                    home / "stopped").exists() else []
                if not stopped:
                    raise RuntimeError(f"no stop command ran after job {name} ({who}): "
                                       f"{done.stderr}")
                end = float((home / "end").read_text())
                found[who].stopped.append(float(stopped[0]) - end)
                found[who].claimed.append((record / "stop.claim").stat().st_mtime - end)
    finally:
        place.end()
        sweep()
    return found


def _stop_recorded(record: Path) -> bool:
    """The stop after the job is over: recorded by the head's watch (result.json no longer
    pending), or, for a client's, the claim is there and the client has returned."""
    result = record / "result.json"
    if not result.exists():
        return (record / "stop.claim").exists()
    with contextlib.suppress(OSError, ValueError):
        return not json.loads(result.read_text()).get("stop_pending", True)
    return False


@dataclass
class SSHRow:
    label: str
    jobs: int
    connections: int
    window: Window


def over_ssh(base: Path, head: Place, jobs: int, seconds: float,
             short: float) -> list[SSHRow]:
    """The head's jobs followed over SSH: an sshd on loopback whose sessions get the head's
    HOME and tmux directory. `seconds`: the window of the one client following all jobs (long
    enough to see it call again over its connection); `short`: the N clients' (each opens a
    connection of its own)."""
    sys.path.insert(0, str(REPO / "tests" / "ssh"))
    from sshd import Host, keygen  # the tests' private sshd on loopback

    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd refuses to start without it
    root = base / "sshd"
    root.mkdir()
    keygen(root / "key")
    authorized = root / "authorized_keys"
    shutil.copy(root / "key.pub", authorized)
    authorized.chmod(0o600)
    host = Host(SSH_ADDR, root / "41", authorized)
    host.setup()
    config = host.root / "sshd_config"
    config.write_text("\n".join(
        f"SetEnv HOME={head.root} TMUX_TMPDIR={head.root} SCREENDIR={head.root}/screen"
        if line.startswith("SetEnv ") else line for line in config.read_text().splitlines()))
    place = Place(base / "sshclient", f"""\
cluster_name: bench
provider: {{type: ssh, head_ip: "{host.address}"}}
auth: {{ssh_user: root, ssh_private_key: {root / 'key'}, known_hosts_file: {root / 'known'}}}
""")
    names = sorted(p.name for p in (head.root / ".jobwaiter/jobs").glob("jobwaiter-*"))
    rows = []
    try:
        host.start()
        before = set(procs())

        def client_side(_: dict[int, Proc]) -> list[int]:
            table = procs()
            masters = [p.pid for p in table.values() if p.pid not in before
                       and "ControlMaster=yes" in p.argv and p.state != "Z"]
            return place.live_clients() + masters

        def following(table: dict[int, Proc]) -> list[int]:
            # A follow of an ended client may linger on the head until its call's end.
            return [p.pid for p in table.values() if is_follow(p) and p.pid not in before]

        for label, count in (("1 `wait --all`", 1), (f"{jobs} `wait JOB`", jobs)):
            accepted = host.accepted()
            for args in [["--all"]] if count == 1 else [[name] for name in names]:
                place.spawn("wait", str(place.config), *args)
            # The follow runs on the head, below the sshd: found anywhere in the namespace.
            settle(place, following, lambda p: True, count)
            w = window(place, seconds if count == 1 else short, client_side)
            rows.append(SSHRow(label, len(names), host.accepted() - accepted, w))
            masters = client_side(procs())
            place.end_clients()
            end_pids(masters, group=False)
            before = set(procs())
    finally:
        place.end()
        end_pids([p.pid for p in procs().values() if "ControlMaster=yes" in p.argv],
                 group=False)
        host.kill_all()
    return rows


# -- the report --------------------------------------------------------------------------------

def rate(w: Window) -> str:
    return "-" if w.per_minute is None else f"{w.per_minute:.0f}"


def mb(kb: int) -> str:
    return f"{kb / 1024:.0f}"


def spread(values: list[float]) -> str:
    return (f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"
            if values else "-")


def report(args: argparse.Namespace, cost: Cost, lat: dict[str, Latency],
           ssh: list[SSHRow] | None, ssh_note: str, elapsed: float, load: float) -> None:
    today = datetime.date.today().isoformat()
    print(f"\nwatch cost, local provider (this machine is the head), {os.cpu_count()} cores, "
          f"{today}; head python3 {head_python()}; windows of {args.window:g} s; "
          f"whole run {elapsed:.0f} s; load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")
    print()
    if cost.rows:
        cost_table(cost)
    if lat["head"].stopped or lat["client"].stopped:
        latency_table(args, lat)
    if ssh:
        ssh_table(ssh)
    else:
        print(f"ssh: {ssh_note}")
        print()
    targets(cost, lat, ssh)


def cost_table(cost: Cost) -> None:
    print("| who watches | jobs | watching processes | their RSS MB (PSS) | alive, with "
          "children | their RSS MB (PSS) | pids started /min |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, jobs, w in cost.rows:
        started = rate(w)
        if label.startswith("follow") and w.per_minute is not None:
            started += f" ({w.follow_calls} follow call{'s' * (w.follow_calls != 1)})"
        print(f"| {label} | {jobs} | {w.main} | {mb(w.main_rss)} ({mb(w.main_pss)}) | "
              f"{w.alive} | {mb(w.alive_rss)} ({mb(w.alive_pss)}) | {started} |")
    print()
    print("watching processes: the watcher (`run.py serve`), or the clients (`jobwaiter wait`)."
          " Alive, with children: with their checks (bash, flock) and follows (python3) at the"
          " peak; RSS sums count shared pages once per process, PSS shares them out. Pids"
          " started: every process and thread started in the bench's PID namespace"
          f" during the window (nobody watching: {cost.idle_per_minute:.0f}/min); the follow"
          " row includes the head's watcher, which goes on watching the same jobs, and the"
          " follow calls that began in the window (each a bash and a python3 on the head).")
    if any(w.per_minute is None for _, _, w in cost.rows):
        print(f"-: the window was shorter than a check ({PERIOD:g} s), so it cannot tell.")
    if cost.follow_jobs:
        print(f"The `wait --all` client followed {cost.follow_jobs} jobs in one `run.py follow`"
              " call at a time.")
    print()


def latency_table(args: argparse.Namespace, lat: dict[str, Latency]) -> None:
    print(f"job end -> stop (seconds, min / median / max over {args.runs} runs of a "
          f"{args.job_seconds:g} s job)")
    print()
    print("| who watches | end -> stop claimed | end -> first stop command |")
    print("| --- | --- | --- |")
    for who, label in (("head", "head (`--stop --detach`)"),
                       ("client", "client (`--stop --watch client`)")):
        print(f"| {label} | {spread(lat[who].claimed)} | {spread(lat[who].stopped)} |")
    print()


def ssh_table(ssh: list[SSHRow]) -> None:
    windows = " and ".join(f"{r.window.seconds:.0f}" for r in ssh)
    print(f"over SSH (OpenSSH sshd on {SSH_ADDR}), windows of {windows} s")
    print()
    print("| following the head's watch | new SSH connections | client processes | "
          "client RSS MB (PSS) |")
    print("| --- | ---: | ---: | ---: |")
    for row in ssh:
        w = row.window
        print(f"| {row.label} | {row.connections} | {w.alive} | {mb(w.alive_rss)} "
              f"({mb(w.alive_pss)}) |")
    print()
    print("connections: from the client's start to the end of its window; client "
          "processes: `jobwaiter wait` with its ssh master and calls.")
    print()


def targets(cost: Cost, lat: dict[str, Latency], ssh: list[SSHRow] | None) -> None:
    head = [w for label, jobs, w in cost.rows if label.startswith("head") and jobs > 1]
    follow = [(jobs, w) for label, jobs, w in cost.rows if label.startswith("follow")]
    lines: list[tuple[str, str, str]] = []
    if head:
        w = head[-1]
        jobs = max(j for label, j, _ in cost.rows if label.startswith("head"))
        lines.append((f"1 watcher, <= 60 MB, for {jobs} jobs",
                      f"{w.main} watcher(s), {mb(w.main_rss)} MB RSS",
                      "yes" if w.main == 1 and w.main_rss <= 60 * 1024 else "no"))
        lines.append(("0 process starts per minute (tmux)",
                      f"{rate(w)} pids/min" if w.per_minute is not None
                      else f"not measured (window < {PERIOD:g} s)",
                      "-" if w.per_minute is None else
                      "yes" if round(w.per_minute) == 0 else "no"))
    if lat["head"].stopped:
        median = statistics.median(lat["head"].stopped)
        lines.append(("job end -> first stop command, median <= 0.2 s", f"{median:.3f} s",
                      "yes" if median <= 0.2 else "no"))
    if ssh:
        conns, rss = ssh[0].connections, ssh[0].window.alive_rss
        lines.append((f"client following {ssh[0].jobs}: 1 connection, <= 80 MB",
                      f"{conns} connection(s), {mb(rss)} MB (over SSH)",
                      "yes" if conns == 1 and rss <= 80 * 1024 else "no"))
    elif follow:
        jobs, w = follow[-1]
        lines.append((f"client following {jobs}: 1 connection, <= 80 MB",
                      f"{mb(w.alive_rss)} MB (local provider only; connections not measured)",
                      ("yes" if w.alive_rss <= 80 * 1024 else "no") + " (RSS only)"))
    if not lines:
        return
    print("| target (issue) | measured | met |")
    print("| --- | --- | --- |")
    for target, measured, met in lines:
        print(f"| {target} | {measured} | {met} |")


def step(started: float, what: str) -> None:
    print(f"[{time.monotonic() - started:5.0f} s] {what} ...", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="10 jobs, 4 s windows, 3 latency runs of a 1 s job")
    parser.add_argument("--jobs", type=int, help="jobs watched at once (default 50)")
    parser.add_argument("--window", type=float, help="seconds per measured window (30)")
    parser.add_argument("--runs", type=int, help="latency runs per side (10)")
    parser.add_argument("--job-seconds", type=float, help="latency job length (1.5)")
    parser.add_argument("--part", action="append", choices=PARTS,
                        help="run only this part (repeatable; default: all)")
    args = parser.parse_args()
    quick = args.quick
    args.jobs = args.jobs or (10 if quick else 50)
    args.window = args.window or (4.0 if quick else 30.0)
    args.runs = args.runs or (3 if quick else 10)
    args.job_seconds = args.job_seconds or (1.0 if quick else 1.5)
    if args.jobs < 2:
        parser.error("--jobs must be 2 or more")
    if shutil.which("tmux") is None:
        sys.exit("needs tmux")
    if os.environ.get("JW_BENCH_PIDNS") != "1":
        if os.geteuid() == 0 and shutil.which("unshare"):
            env = {**os.environ, "JW_BENCH_PIDNS": "1"}
            argv = ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, *sys.argv]
            return subprocess.run(argv, env=env, check=False).returncode
        print("note: not root or no unshare: every process on the machine is counted",
              file=sys.stderr)

    parts = args.part or list(PARTS)
    base = Path(tempfile.mkdtemp(prefix="jwc", dir="/tmp"))  # short: tmux sockets live below
    started = time.monotonic()
    load = os.getloadavg()[0]
    lat: dict[str, Latency] = {"head": Latency(), "client": Latency()}
    cost = Cost()
    ssh: list[SSHRow] | None = None
    ssh_note = "not run (--part)"
    try:
        if "latency" in parts:
            step(started, f"latency: {args.runs} runs each")
            lat = latency(base, args.runs, args.job_seconds)
        have_ssh = os.path.exists(SSHD) and shutil.which("ssh") is not None
        if "ssh" in parts and not have_ssh:
            ssh_note = ("no OpenSSH server here; the client was measured on the local "
                        "provider only")
        if "cost" in parts or ("ssh" in parts and have_ssh):
            step(started, f"cost: 1 and {args.jobs} jobs watched by the head"
                 + (", then followed over SSH" if "ssh" in parts and have_ssh else ""))
            rows, note = cost_on_head(base, args.jobs, args.window, cost, "cost" in parts,
                                      "ssh" in parts and have_ssh)
            if "ssh" in parts and have_ssh:
                ssh, ssh_note = rows or None, note
        if "cost" in parts:
            step(started, f"cost: 1 and {args.jobs} jobs watched from the client")
            cost_from_client(base, args.jobs, args.window, cost)
            # Baselines next to what they are compared with.
            order = {"head": 0, "client": 1, "follow": 2}
            cost.rows.sort(key=lambda r: (order[r[0].split(":")[0]], r[1]))
    finally:
        sweep()
        shutil.rmtree(base, ignore_errors=True)
    report(args, cost, lat, ssh, ssh_note, time.monotonic() - started, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
