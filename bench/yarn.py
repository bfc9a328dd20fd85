#!/usr/bin/env python3
"""What a real YARN costs on this machine, and how fast jobwaiter sees a YARN application end.

Runs the YARN of the tests (tests/yarn_rig.py: Hadoop YARN 3.5.0's ResourceManager and
NodeManager from Maven Central, `make yarn-jars` first; Spark from pyspark in cluster mode)
in a private HOME and measures:

- `jobwaiter start`: until the ResourceManager answers STARTED and the NodeManager is
  registered; the daemons' resident memory then and after the applications;
- one Spark application's submit-to-end: a blocking `spark-submit` in cluster mode;
- detection latency: N jobs that each submit one application with
  spark.yarn.submit.waitAppCompletion=false, waited for with chain[tmux, yarn]; the time from
  the application's finishedTime (the ResourceManager's record, same machine clock) to
  `jobwaiter exec` returning;
- `jobwaiter stop` (NodeManager, then ResourceManager).

    python bench/yarn.py --apps 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from yarn_rig import HOST, JARS, WEB, write_rig

JOBWAITER = [sys.executable, "-m", "jobwaiter.cli.main"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def get(path: str) -> dict:  # type: ignore[type-arg]
    req = urllib.request.Request(f"http://{HOST}:{WEB}/ws/v1/cluster/{path}",
                                 headers={"Accept": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=10).read())  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=3, help="applications for the latency")
    args = parser.parse_args()
    if not (JARS / ".fetched").exists():
        sys.exit(f"no Hadoop jars in {JARS}: run make yarn-jars")
    root = Path(tempfile.mkdtemp(prefix="jwyb", dir="/tmp"))
    home = root / "h"
    home.mkdir()
    config, env = write_rig(root, home)
    env = {**os.environ, **env, "HOME": str(home), "TMUX_TMPDIR": str(root)}
    env.pop("TMUX", None)
    state = home / ".jobwaiter" / "runtimes" / "yarn-test" / "yarn"

    def run(*argv: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), cwd=home, env=env, capture_output=True, text=True,
                              check=False, **kw)  # type: ignore[call-overload,no-any-return]

    try:
        t0 = time.monotonic()
        started = run(*JOBWAITER, "start", str(config))
        start_s = time.monotonic() - t0
        assert started.returncode == 0, started.stderr
        pids = {p.stem: int(p.read_text()) for p in state.glob("*.pid")}
        idle = {role: rss_mb(pid) for role, pid in pids.items()}
        print(f"start (RM STARTED + NM registered, via jobwaiter start): {start_s:.1f} s")
        print("RSS idle: " + ", ".join(f"{r} {m:.0f} MB" for r, m in sorted(idle.items())))

        t0 = time.monotonic()
        submit = run(f"{env['SPARK_HOME']}/bin/spark-submit", "--name", "blocking", "app.py",
                     "ok")
        print(f"submit-to-end, one blocking cluster-mode spark-submit: "
              f"{time.monotonic() - t0:.1f} s (exit {submit.returncode})")

        latencies: list[float] = []
        head_latencies: list[float] = []
        for i in range(args.apps):
            cmd = (f'"$SPARK_HOME"/bin/spark-submit --name lat-{i} --conf '
                   f"spark.yarn.submit.waitAppCompletion=false app.py ok > lat-{i}.log 2>&1")
            r = run(*JOBWAITER, "exec", str(config), cmd, "--tmux", "--job-waiter",
                    "chain[tmux, yarn]")
            returned = time.time()
            assert r.returncode == 0, r.stderr
            app_id = re.findall(r"application_\d+_\d+", (home / f"lat-{i}.log").read_text())[0]
            finished = get(f"apps/{app_id}")["app"]["finishedTime"] / 1000
            # The head's watch writes the job's result.json as soon as its wait has ended.
            (record,) = [r for r in (home / ".jobwaiter" / "jobs").iterdir()
                         if f"lat-{i}.log" in (r / "command").read_text()]
            decided = (record / "result.json").stat().st_mtime
            latencies.append(returned - finished)
            head_latencies.append(decided - finished)
            print(f"  {app_id}: the head's watch decided {decided - finished:.2f} s and "
                  f"jobwaiter exec returned {returned - finished:.2f} s after the "
                  "ResourceManager recorded its end")
        print(f"detection latency over {len(latencies)} apps: the head's watch mean "
              f"{statistics.mean(head_latencies):.2f} s (max {max(head_latencies):.2f} s); "
              f"jobwaiter exec returning mean {statistics.mean(latencies):.2f} s "
              f"(max {max(latencies):.2f} s)")
        busy = {role: rss_mb(pid) for role, pid in pids.items()}
        print("RSS after the applications: " +
              ", ".join(f"{r} {m:.0f} MB" for r, m in sorted(busy.items())))
        t0 = time.monotonic()
        stopped = run(*JOBWAITER, "stop", str(config), "-y")
        print(f"stop (NM, then RM): {time.monotonic() - t0:.1f} s (exit {stopped.returncode})")
    finally:
        run(*JOBWAITER, "stop", str(config), "-y")
        subprocess.run(["tmux", "kill-server"], env=env, capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
