#!/usr/bin/env python3
"""How fast and how cheaply does jobwaiter notice that a background job ended?

For N background jobs on the local provider, each job writes a timestamp as its very last act;
we measure the time from that timestamp to the `jobwaiter exec ... --job-waiter=tmux` process
returning, and the processes started on the machine per second of waiting. Processes come from
the last pid handed out in a private PID namespace (the bench re-runs itself under
`unshare --pid`, so other activity on the machine does not count), less the cost of starting
jobwaiter and launching the job (measured by runs that give up at once with --job-timeout), so
what remains is the cost of the wait itself.

The baseline, in the same run, is the approach of CloudTik's tmux waiter: poll for the session
every 5 seconds (`tmux has-session`), then read the status.

    python bench/detect_latency.py            # 10 jobs of 10 s each
    python bench/detect_latency.py --jobs 5 --job-seconds 2 --baseline-interval 5
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The CLI of the Python running this bench (run it with the venv's python).
JOBWAITER = [sys.executable, "-m", "jobwaiter.cli.main"]
CONFIG = "cluster_name: bench\nprovider:\n  type: local\n"


def forks() -> int:
    """Processes created so far in this PID namespace (pids are handed out in order)."""
    return int(Path("/proc/sys/kernel/ns_last_pid").read_text())


def in_private_namespace() -> bool:
    return os.environ.get("JW_BENCH_PIDNS") == "1"


def reexec_in_private_namespace() -> int:
    env = {**os.environ, "JW_BENCH_PIDNS": "1"}
    argv = ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, *sys.argv]
    return subprocess.run(argv, env=env, check=False).returncode


def idle_fork_rate(seconds: float = 3.0) -> float:
    before = forks()
    time.sleep(seconds)
    return (forks() - before) / seconds


def jobwaiter_run(home: Path, job_seconds: float) -> tuple[float, float, int]:
    """One job through jobwaiter: (latency, wait seconds, forks during the wait)."""
    end = home / "end"
    end.unlink(missing_ok=True)
    cmd = f"sleep {job_seconds}; date +%s.%N > {end}"
    t_start = time.time()
    f0 = forks()
    subprocess.run([*JOBWAITER, "exec", str(home / "c.yaml"), cmd, "--tmux", "--job-waiter=tmux",
                    "-q"], check=True)
    returned = time.time()
    f1 = forks()
    return returned - float(end.read_text()), returned - t_start, f1 - f0


def launch_cost(home: Path, runs: int = 3) -> float:
    """Forks of starting jobwaiter and launching a job, without the wait."""
    total = 0
    for _ in range(runs):
        f0 = forks()
        subprocess.run([*JOBWAITER, "exec", str(home / "c.yaml"), "sleep 1", "--tmux",
                        "--job-waiter=tmux", "--job-timeout", "0.001", "-q"], check=False,
                       stderr=subprocess.DEVNULL)
        total += forks() - f0
    subprocess.run(["tmux", "kill-server"], capture_output=True)
    return total / runs


def baseline_run(home: Path, job_seconds: float, interval: float) -> tuple[float, float, int]:
    """The same job in a plain tmux session, polled like CloudTik: has-session every
    `interval` seconds."""
    end = home / "end"
    end.unlink(missing_ok=True)
    name = f"base{time.monotonic_ns()}"
    cmd = f"sleep {job_seconds}; echo $? > {home}/rc; date +%s.%N > {end}"
    t_start = time.time()
    f0 = forks()
    subprocess.run(["tmux", "new-session", "-d", "-s", name, cmd], check=True)
    # A poller's phase relative to the job's end is arbitrary (it starts whenever the submit
    # returned); a fixed phase would make a job length that is a multiple of the interval look
    # instantly detected.
    time.sleep(random.uniform(0, interval))
    while subprocess.run(["tmux", "has-session", "-t", f"={name}"],
                         capture_output=True).returncode == 0:
        time.sleep(interval)
    (home / "rc").read_text()
    returned = time.time()
    f1 = forks()
    return returned - float(end.read_text()), returned - t_start, f1 - f0


def row(label: str, runs: list[tuple[float, float, int]], idle: float, launch: float) -> str:
    lat = [r[0] for r in runs]
    wait = sum(r[1] for r in runs)
    spawned = sum(r[2] for r in runs) - idle * wait - launch * len(runs)
    rate = max(spawned, 0) / wait
    return (f"| {label:<28} | {len(runs):>4} | {min(lat):7.3f} | {statistics.median(lat):7.3f} "
            f"| {max(lat):7.3f} | {rate:9.1f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=10)
    ap.add_argument("--job-seconds", type=float, default=10.0)
    ap.add_argument("--baseline-interval", type=float, default=5.0)
    ap.add_argument("--baseline-jobs", type=int, default=5)
    args = ap.parse_args()
    if not in_private_namespace():
        if os.geteuid() == 0 and shutil.which("unshare"):
            return reexec_in_private_namespace()
        print("note: not root or no unshare: counting every process on the machine",
              file=sys.stderr)

    root = Path(tempfile.mkdtemp(prefix="jwb", dir="/tmp"))
    env_keep = {k: os.environ.get(k) for k in ("HOME", "TMUX_TMPDIR", "SCREENDIR")}
    os.environ.update(HOME=str(root), TMUX_TMPDIR=str(root))
    (root / "c.yaml").write_text(CONFIG)
    try:
        idle = idle_fork_rate()
        launch = launch_cost(root)
        ours = [jobwaiter_run(root, args.job_seconds) for _ in range(args.jobs)]
        base = [baseline_run(root, args.job_seconds, args.baseline_interval)
                for _ in range(args.baseline_jobs)]
    finally:
        subprocess.run(["tmux", "kill-server"], capture_output=True)
        for k, v in env_keep.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(root, ignore_errors=True)

    print(f"detection latency: job's last act -> waiter returns; job length {args.job_seconds}s;"
          f" idle machine {idle:.1f} forks/s (subtracted)")
    print("| waiter                       | jobs | min s   | median s| max s   | procs/s   |")
    print("|------------------------------|------|---------|---------|---------|-----------|")
    print(row("jobwaiter --job-waiter=tmux", ours, idle, launch))
    print(row(f"baseline: poll every {args.baseline_interval:g}s", base, idle, 2.0))
    print(f"procs/s counts the wait only: jobwaiter's start and the job's launch ({launch:.0f} "
          "processes) are subtracted, and so are the baseline's tmux new-session and job shell.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
