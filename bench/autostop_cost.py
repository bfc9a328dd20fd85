#!/usr/bin/env python3
"""What does autostop's watching cost the head?

While autostop is armed, the head's watcher looks every tenth of the idle time (2 s to 30 s):
it reads every job record (``dump.sh``), asks each configured runtime, and (``--wait-for
jobs_and_ssh``) looks for attached tmux/screen clients and interactive logins
(``present.sh``, a scan of /proc). This times one look, part by part, on this machine (the
local provider: the watcher's own transport), with 0, 10 and N jobs running in tmux, against
a baseline in the same run: one ``bash -c true`` through the same transport (the least any
look costs).

Processes started per look are counted from ``/proc/sys/kernel/ns_last_pid`` (every process
and thread on the machine gets a pid: run it on a quiet machine; threads of this bench do not
count, it starts none while timing).

    python bench/autostop_cost.py            # 0, 10, 50 jobs; 20 looks each
    python bench/autostop_cost.py --quick    # 0, 10 jobs; 5 looks each

Needs tmux and jobwaiter importable by this Python.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

JOBWAITER = [sys.executable, "-m", "jobwaiter.cli.main"]
CONFIG = "cluster_name: bench\nprovider:\n  type: local\n"


def last_pid() -> int:
    return int(Path("/proc/sys/kernel/ns_last_pid").read_text())


def timed(call: Callable[[], object], looks: int) -> tuple[list[float], float]:
    """Milliseconds per call, and processes started per call (median of ``looks``)."""
    times, started = [], []
    call()  # warm: the first call reads the scripts from disk
    for _ in range(looks):
        before, t0 = last_pid(), time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
        started.append(last_pid() - before)
    return times, statistics.median(started)


def launch(home: Path, jobs: int) -> None:
    config = home / "cluster.yaml"
    for _ in range(jobs):
        subprocess.run([*JOBWAITER, "exec", str(config), "sleep 600", "--tmux", "-q"],
                       check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    counts, looks = ([0, 10], 5) if args.quick else ([0, 10, 50], 20)
    root = Path(tempfile.mkdtemp(prefix="jwab", dir="/tmp"))
    home = root / "h"
    home.mkdir()
    os.environ.update(HOME=str(home), TMUX_TMPDIR=str(root))
    os.environ.pop("TMUX", None)
    (home / "cluster.yaml").write_text(CONFIG)

    from jobwaiter.records.read import read_records
    from jobwaiter.watch import autostop  # both read HOME at call time

    look = autostop.lookout({"config": {"cluster_name": "bench", "provider": {"type": "local"}},
                             "wait_for": "jobs_and_ssh"})
    transport = look.head.transport
    rows: list[tuple[str, int | str, list[float], float]] = []
    try:
        rows.append(("baseline: bash -c true", "-", *timed(
            lambda: transport.run(["bash", "-c", "true"]), looks)))
        launched = 0
        for n in counts:
            launch(home, n - launched)
            launched = n
            running = sum(1 for r in read_records(transport) if r.alive)
            assert running == n, f"{running} jobs running, expected {n}"
            rows.append(("jobs (dump.sh)", n, *timed(look.jobs, looks)))
            rows.append(("people (present.sh)", n, *timed(look.people, looks)))
            rows.append(("a whole look", n, *timed(look.busy, looks)))
    finally:
        subprocess.run(["tmux", "kill-server"], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)

    print(f"\nOne autostop look on this machine ({os.cpu_count()} cores), {looks} looks each")
    print(f"{'part':<26}{'jobs':>6}{'median ms':>12}{'p90 ms':>9}{'processes':>11}")
    for name, count, times, started in rows:
        p90 = sorted(times)[max(0, int(len(times) * 0.9) - 1)]
        print(f"{name:<26}{count!s:>6}{statistics.median(times):>12.1f}{p90:>9.1f}"
              f"{started:>11.0f}")
    whole = [r for r in rows if r[0] == "a whole look"][-1]
    base = rows[0]
    for idle in (20.0, 30 * 60.0):
        per_min = 60.0 / autostop.every(idle)
        print(f"--idle {idle:g}s: a look every {autostop.every(idle):g}s -> "
              f"{per_min * whole[3]:.0f} processes and {per_min * statistics.median(whole[2]):.0f}"
              f" ms of looking per minute with {whole[1]} jobs "
              f"({statistics.median(whole[2]) / statistics.median(base[2]):.1f}x the baseline "
              "per look)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
