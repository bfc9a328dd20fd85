"""Runs on the head (python3 3.8+, standard library only) before the Ray head is stopped:
stop every Ray job still PENDING or RUNNING through the Jobs API, and say which.

Usage: python3 -c SOURCE DASHBOARD_URL [WAIT_SECONDS]

Why: on SIGTERM, ``ray start --block`` first drains the node, for as long as any work holds
it (up to ``RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S``, 30 s by default), and only then stops
its processes. A running submission holds it the whole time. Stopped through the Jobs API
(SIGTERM to the entrypoint, SIGKILL after ``RAY_JOB_STOP_WAIT_TIME_S``), it ends in seconds
and is recorded STOPPED, and the drain is over at once.

DRIVER jobs (a ``ray.init()`` script run outside the Jobs API) cannot be stopped this way;
they are named, and Ray's own shutdown ends them. Prints one line per job; exits 0 even
when the dashboard does not answer (a head already down has nothing to stop): stopping the
daemon must not depend on it.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
ACTIVE = ("PENDING", "RUNNING")


def call(url: str, post: bool = False) -> Any:
    req = urllib.request.Request(url, data=b"{}" if post else None,
                                 method="POST" if post else "GET",
                                 headers={"Content-Type": "application/json"})
    with OPENER.open(req, timeout=10) as r:
        return json.loads(r.read().decode("utf-8", "replace") or "null")


def active(base: str) -> list[dict[str, Any]]:
    rows = call(base + "/api/jobs/")
    if not isinstance(rows, list):
        raise ValueError("the Jobs API did not answer a list")
    return [r for r in rows if isinstance(r, dict) and r.get("status") in ACTIVE]


def main(argv: list[str]) -> int:
    base = argv[0].rstrip("/")
    wait = float(argv[1]) if len(argv) > 1 else 15.0
    try:
        jobs = active(base)
    except (OSError, ValueError) as e:
        print("no Ray job stopped: the Jobs API did not answer ({})".format(
            getattr(e, "reason", e)))
        return 0
    submissions = [j["submission_id"] for j in jobs if j.get("submission_id")]
    for j in jobs:
        if not j.get("submission_id"):
            print("Ray driver {} still {}: Ray's shutdown ends it".format(
                j.get("job_id"), j.get("status")))
    for sid in submissions:
        try:
            call(base + "/api/jobs/" + sid + "/stop", post=True)
        except (OSError, ValueError) as e:
            print("Ray job {}: the stop request failed ({})".format(
                sid, getattr(e, "reason", e)))
    deadline = time.monotonic() + wait
    left = list(submissions)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            still = {j.get("submission_id") for j in active(base)}
        except (OSError, ValueError):
            break
        left = [s for s in left if s in still]
    for sid in submissions:
        if sid in left:
            print(f"Ray job {sid} asked to stop; still running after {wait:.0f}s")
        else:
            print(f"stopped Ray job {sid} through the Jobs API")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
