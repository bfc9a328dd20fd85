"""The job record kept on the head under ``~/.jobwaiter/jobs/<name>/``.

Files of a record (all written on the head; paths relative to ``$HOME``):

    meta.json    what was started: command, session kind, waiter SPEC, log path (one JSON line)
    command      the bash command the job runs
    env.sh       the launching command's environment plus ``--env``, sourced by the wrapper
    run.sh       the wrapper that ran the job (a copy, so later upgrades do not matter)
    stop.sh      the cluster's stop commands, when the session itself must stop the cluster
    lock         held (flock) by the wrapper for as long as the job runs
    pid          the wrapper's pid, which is also the job's process group
    started      start time (epoch seconds, the head's clock)
    status       "<exit status> <end time>", written once, by whoever first knows the end
    stop_status  "<exit status> <end time>" of an in-session stop

Stdlib only: this package may run on a head node that has nothing but python3.
"""

from jobwaiter.records.layout import (
    JOBS_DIR,
    LOGS_DIR,
    UPLOAD_DIR,
    JobRecord,
    check_name,
    log_path,
    new_name,
    record_dir,
)

__all__ = [
    "JOBS_DIR",
    "LOGS_DIR",
    "UPLOAD_DIR",
    "JobRecord",
    "check_name",
    "log_path",
    "new_name",
    "record_dir",
]
