#!/usr/bin/env python3
"""How long does the CLI take to start? `jobwaiter --help`, `jobwaiter waiters` and
`jobwaiter jobs` (local provider, no jobs) against the floor of any click program,
`python -c "import click"`, in the same run: median, min and max over N runs each, and the
ratio to the floor.

    python bench/startup.py            # 10 runs each
    python bench/startup.py --runs 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = "cluster_name: bench\nprovider:\n  type: local\n"


def timed(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"{argv} failed: {proc.stderr.decode(errors='replace')}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jw-bench-") as tmp:
        home = Path(tmp)
        config = home / "cluster.yaml"
        config.write_text(CONFIG)
        env = {**os.environ, "HOME": str(home)}
        cli = [sys.executable, "-m", "jobwaiter.cli.main"]
        cases = [
            ('python -c "import click" (floor)', [sys.executable, "-c", "import click"]),
            ("jobwaiter --help", [*cli, "--help"]),
            ("jobwaiter waiters", [*cli, "waiters"]),
            ("jobwaiter jobs (local)", [*cli, "jobs", str(config)]),
        ]
        rows = []
        for label, argv in cases:
            timed(argv, env, 1)  # warm the page cache and bytecode
            rows.append((label, timed(argv, env, args.runs)))
    floor = statistics.median(rows[0][1])
    print(f"{'command':<34} {'median':>8} {'min':>8} {'max':>8} {'x floor':>8}")
    for label, times in rows:
        med = statistics.median(times)
        print(f"{label:<34} {med * 1000:7.0f}ms {min(times) * 1000:7.0f}ms "
              f"{max(times) * 1000:7.0f}ms {med / floor:8.1f}")
    print(f"({args.runs} runs each, python {sys.version.split()[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
