"""Runs on the head (python3 3.8+, standard library only), as the command of a job that
``submit --runtime ray`` starts: submit a file to the Ray Jobs API, then follow the
submission until it has ended, so that the job's own outcome is the submission's.

Usage: python3 -c SOURCE DASHBOARD_URL PYTHON FILE [ARGS...]

The submission id is the jobwaiter job's name and the file's (recorded in the job's record
as ``ray-jobs``); outside a jobwaiter job, the file's name, the time and the process id.
The exit status is the driver's exit code, or 1 when the submission FAILED or was STOPPED
without one (a null ``driver_exit_code`` is unknown, not 0). An unreachable dashboard is
retried, never read as success. SIGTERM/SIGINT stop the submission.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sys
import time
import urllib.error
import urllib.request
from typing import Any

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(url: str, data: dict[str, Any] | None = None) -> Any:
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, method="GET" if data is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with OPENER.open(req, timeout=10) as r:
        return json.loads(r.read().decode("utf-8", "replace") or "null")


def main(argv: list[str]) -> int:
    base, python, path = argv[0].rstrip("/"), argv[1], argv[2]
    entrypoint = " ".join(shlex.quote(a) for a in [python, os.path.abspath(path), *argv[3:]])
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", os.path.splitext(os.path.basename(path))[0])
    job = os.environ.get("JOBWAITER_JOB", "")
    record = os.path.join(os.path.expanduser("~"), ".jobwaiter", "jobs", job)
    if re.fullmatch(r"jobwaiter-[0-9a-f]{12}", job) and os.path.isdir(record):
        # Derived from the jobwaiter job, and recorded with it: `jobs` and a later reader
        # can tell which Ray submission this job made.
        sid = f"{job}-{stem[:40]}"
        with open(os.path.join(record, "ray-jobs"), "a") as f:
            f.write(sid + "\n")
    else:
        sid = f"jobwaiter-{stem[:40]}-{int(time.time() * 1000)}-{os.getpid()}"
    call(base + "/api/jobs/", {"entrypoint": entrypoint, "submission_id": sid})
    print(f"ray: submitted {sid}", flush=True)

    def stop(signum: int, frame: Any) -> None:
        try:
            call(base + f"/api/jobs/{sid}/stop", {})
        finally:
            sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    last = ""
    while True:
        try:
            job = call(base + f"/api/jobs/{sid}")
        except (OSError, ValueError) as e:  # the dashboard may be down for a while
            problem = "dashboard unreachable ({}), retrying".format(getattr(e, "reason", e))
            if problem != last:
                print("ray: " + problem, file=sys.stderr, flush=True)
                last = problem
            time.sleep(2)
            continue
        status = job.get("status")
        if status not in ("PENDING", "RUNNING"):
            break
        time.sleep(1)
    try:
        logs = call(base + f"/api/jobs/{sid}/logs").get("logs") or ""
        sys.stdout.write(logs)
    except (OSError, ValueError, AttributeError):
        pass
    code = job.get("driver_exit_code")
    print("ray: {} {} (error_type {}, driver_exit_code {}){}".format(
        sid, status, job.get("error_type") or "-", "unknown" if code is None else code,
        ": " + job["message"] if status != "SUCCEEDED" and job.get("message") else ""),
        file=sys.stderr, flush=True)
    if status == "SUCCEEDED":
        return 0
    return code if isinstance(code, int) and 0 < code < 256 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
