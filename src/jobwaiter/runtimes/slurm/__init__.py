"""The Slurm runtime: the ``slurm`` waiter, and ``submit --runtime slurm`` for batch scripts.

Slurm is run by the site, so ``jobwaiter start`` only checks that the controller answers and
``stop`` stops nothing (the cluster's own start/stop commands do whatever else is needed).
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from jobwaiter.errors import TransportError
from jobwaiter.runtimes.base import (
    STATUS_TIMEOUT,
    UNKNOWN,
    Activity,
    NodeLike,
    Runtime,
    RuntimeStartError,
    RuntimeStatus,
)
from jobwaiter.runtimes.slurm.health import controller_status
from jobwaiter.runtimes.slurm.settings import SlurmSettings
from jobwaiter.runtimes.slurm.waiter import SlurmWaiter, script, slurm_activity
from jobwaiter.waiters.base import Waiter

__all__ = ["SlurmRuntime", "SlurmSettings", "SlurmWaiter"]


class SlurmRuntime(Runtime):
    """Slurm, as the site runs it."""

    name = "slurm"
    describe = "Slurm: batch jobs on the site's Slurm cluster (sbatch, squeue)"
    submit_types: ClassVar[Mapping[str, str]] = {".sh": "sbatch"}
    config_section = SlurmSettings
    #: sbatch returns as soon as the job is queued: its exit 0 says "submitted", not "done".
    submit_detaches = True

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.settings = SlurmSettings.from_config(dict(config))

    def waiters(self) -> dict[str, type[Waiter]]:
        return {SlurmWaiter.name: SlurmWaiter}

    def start(self, head: NodeLike, workers: Sequence[NodeLike]) -> list[str]:
        """Nothing to start: wait until the site's controller answers ``scontrol ping``."""
        deadline = time.monotonic() + self.settings.start_timeout
        argv = ["bash", "-c", script("probe"), "jw", *self.settings.probe_args(), "ping"]
        while True:
            result = head.transport.run(argv, timeout=30)
            if result.ok:
                return [f"{head.id}: slurm: {line}" for line in result.stdout.splitlines()
                        if line.strip()]
            if result.exit_status == 127 or time.monotonic() >= deadline:
                raise RuntimeStartError(
                    f"the Slurm controller did not answer within "
                    f"{self.settings.start_timeout:.0f}s: {result.tail(2)}")
            time.sleep(1.0)

    def status(self, head: NodeLike, workers: Sequence[NodeLike]) -> list[RuntimeStatus]:
        """The site's controller: ``scontrol ping`` and the partitions, run on the head."""
        argv = ["bash", "-c", script("probe"), "jw", *self.settings.probe_args(), "ping"]
        try:
            result = head.transport.run(argv, idempotent=True, timeout=STATUS_TIMEOUT)
        except TransportError as exc:
            return [RuntimeStatus(self.name, "controller", "", UNKNOWN, str(exc))]
        return [controller_status(result)]

    def activity(self, head: NodeLike) -> Activity:
        return slurm_activity(self.settings, head.transport)

    def submit_command(self, path: str, args: Sequence[str]) -> str:
        # The job's JOBWAITER_JOB names the record where the job id goes.
        rest = [*self.settings.probe_args(), path, *args]
        return f"bash -c {shlex.quote(script('submit'))} jw " + shlex.join(rest)
