"""The ``runtime.slurm`` section of the cluster config: every key, its default and meaning.

This dataclass is the one definition of the keys. The config layer validates the YAML against
it (unknown keys are errors) and the runtime reads the validated dict back into it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from jobwaiter.runtimes.base import check_settings
from jobwaiter.runtimes.settle import DEFAULT_SETTLE


@dataclass(frozen=True)
class SlurmSettings:
    """Slurm on the cluster (run by the site: jobwaiter starts no Slurm daemon).

    ``slurm_conf``: the ``slurm.conf`` the Slurm commands read on the head, exported as
    ``SLURM_CONF`` for every call (default: the head's own). ``bin_dir``: where ``sbatch``,
    ``squeue``, ``scontrol`` and ``sacct`` are on the head (default: ``PATH``).

    ``min_job_age``: seconds an ended job stays in the controller's list (Slurm's
    ``MinJobAge``); default: read once from ``scontrol show config``.

    ``history``: after a job has left the list, look it up in the job completion log
    (``JobCompType=jobcomp/filetxt``, read with ``sacct -c``) or in accounting (slurmdbd),
    whichever Slurm has. Off, or neither configured, such a job's outcome is unknown: the wait
    fails rather than guess.

    ``settle_seconds``: when the slurm waiter (scoped by user and time, not by the ids
    ``submit --runtime slurm`` captured) finds nothing left to wait for, it keeps looking
    this long after the job's end before it is satisfied, so that an ``sbatch`` sent to the
    background just before the job ended is waited for too.

    ``start_timeout``: how long ``jobwaiter start`` waits for the controller to answer.
    """

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    slurm_conf: str | None = None
    bin_dir: str | None = None
    min_job_age: float | None = None
    history: bool = True
    settle_seconds: float = DEFAULT_SETTLE
    start_timeout: float = 60.0

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        if self.min_job_age is not None and self.min_job_age < 0:
            problems.append(("min_job_age", "min_job_age must not be negative"))
        if self.settle_seconds < 0:
            problems.append(("settle_seconds", "settle_seconds must not be negative"))
        if self.start_timeout <= 0:
            problems.append(("start_timeout", "start_timeout must be positive"))
        for key in ("slurm_conf", "bin_dir"):
            value = getattr(self, key)
            if value is not None and not value.strip():
                problems.append((key, f"{key} must not be empty"))
        check_settings(problems)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SlurmSettings:
        """Read ``runtime.slurm`` from a cluster config dict (absent: all defaults)."""
        section = (config.get("runtime") or {}).get("slurm") or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ValueError(f"runtime.slurm: unknown key {unknown[0]!r}")
        return cls(**section)

    def probe_args(self) -> list[str]:
        """The SLURM_CONF and BIN_DIR arguments of the sh/ scripts ("" for the default)."""
        return [self.slurm_conf or "", self.bin_dir or ""]
