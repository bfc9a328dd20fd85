"""The job record kept on the head under ``~/.jobwaiter/jobs/<name>/``.

Files of a record (all written on the head; paths relative to ``$HOME``):

    meta.json    what was started: command, session kind, waiter SPEC, log path, the label
                 given with ``--name`` (one JSON line)
    command      the bash command the job runs
    env.0        the launching command's environment plus ``--env`` (NUL-separated), given
                 to the job with ``env -i``; removed by the wrapper as soon as it has read it
    run.sh       the wrapper that ran the job (a copy, so later upgrades do not matter)
    stop.sh      the cluster's stop commands, when the session itself must stop the cluster
    lock         held (flock) by the wrapper for as long as the job runs
    pid          the wrapper's pid, which is also the job's process group
    started      start time (epoch seconds, the head's clock)
    status       "<exit status> <end time>", written once, by whoever first knows the end
    stop_status  "<exit status> <end time>" of an in-session stop (its output: stop.log)
    stop.lock    held by the wrapper until the in-session stop has recorded its status
    kill.lock    held by ``jobwaiter kill`` while it kills, so readers wait for its status
    killed       the signal number ``jobwaiter kill`` sent to the running job
    waited       how the last wait ended when the status does not say it (an engine waiter
                 timed out or failed after the job exited 0)
    stop.claim   who runs the stop after the job (created once: the head's watch, a client,
                 the session, or "disarmed"); see ``jobwaiter.watch`` for the watch's files

Every file is private (0600, directories 0700). The job gets ``JOBWAITER_JOB=<name>`` in its
environment, which is how its processes are found once its wrapper is gone.

Stdlib only: this package may run on a head node that has nothing but python3.
"""

from jobwaiter.records.layout import (
    JOBS_DIR,
    LOGS_DIR,
    UPLOAD_DIR,
    JobRecord,
    check_name,
    is_name,
    log_path,
    new_name,
    parse_stamp,
    record_dir,
)

__all__ = [
    "JOBS_DIR",
    "LOGS_DIR",
    "UPLOAD_DIR",
    "JobRecord",
    "check_name",
    "is_name",
    "log_path",
    "new_name",
    "parse_stamp",
    "record_dir",
]
