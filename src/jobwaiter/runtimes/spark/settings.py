"""The ``runtime.spark`` section of the cluster config: every key, its default and meaning.

This dataclass is the one definition of the keys. The config layer validates the YAML against
it (unknown keys are errors) and the runtime reads the validated dict back into it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

from jobwaiter.runtimes.base import check_settings
from jobwaiter.runtimes.settle import DEFAULT_SETTLE

CLUSTER_MANAGERS = ("standalone", "yarn")


@dataclass(frozen=True)
class SparkSettings:
    """Spark on the cluster.

    ``cluster_manager``: ``standalone`` (a Spark master on the head, started and stopped by
    jobwaiter) or ``yarn`` (an existing Hadoop YARN ResourceManager).

    Standalone: the master listens on ``master_host:master_port`` (the URL is
    ``spark://master_host:master_port``; ``master_host`` defaults to the head node's
    address), serves its web UI and ``/json/`` status on ``web_ui_port`` and, unless
    ``rest_port`` is null, the REST submission server (cluster-mode drivers, their status) on
    ``rest_port``. Each worker's web UI is on ``worker_web_ui_port``; ``worker_cores`` and
    ``worker_memory`` (e.g. ``4g``) are what a worker advertises (default: Spark's own, all
    cores and the node's memory less 1 GiB). Cluster-mode drivers take their cores from the
    workers, so advertise more cores than drivers you run at once.

    YARN: ``resource_manager`` is the ResourceManager's web address ``host:port`` (its REST
    API is under ``/ws/v1/cluster/``); default: the head node, port 8088.

    ``spark_home``: where Spark is installed on the nodes; default: the directory of the
    ``pyspark`` package of ``python`` there. ``python``: the Python that drivers and
    executors run (``spark.pyspark.python``).

    ``settle_seconds``: the spark waiter is not satisfied before this long after its first
    look (after the job's end), so that an application still starting up (a
    ``spark-submit`` sent to the background just before the job ended) is not missed (see
    ``runtimes.settle``).
    ``start_timeout``: how long ``jobwaiter start`` waits for the master to answer and every
    worker to register.
    """

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    cluster_manager: Literal["standalone", "yarn"] = "standalone"
    master_host: str | None = None
    master_port: int = 7077
    web_ui_port: int = 8080
    rest_port: int | None = 6066
    worker_web_ui_port: int = 8081
    worker_cores: int | None = None
    worker_memory: str | None = None
    resource_manager: str | None = None
    spark_home: str | None = None
    python: str = "python3"
    settle_seconds: float = DEFAULT_SETTLE
    start_timeout: float = 120.0

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        if self.cluster_manager not in CLUSTER_MANAGERS:
            problems.append(("cluster_manager", "cluster_manager must be one of "
                             f"{', '.join(CLUSTER_MANAGERS)}"))
        for key in ("master_port", "web_ui_port", "rest_port", "worker_web_ui_port"):
            port = getattr(self, key)
            if port is not None and not 1 <= port <= 65535:
                problems.append((key, f"{key} must be a port number (1-65535), not {port}"))
        if self.worker_cores is not None and self.worker_cores < 1:
            problems.append(("worker_cores", "worker_cores must be at least 1"))
        if self.settle_seconds < 0:
            problems.append(("settle_seconds", "settle_seconds must not be negative"))
        if self.start_timeout <= 0:
            problems.append(("start_timeout", "start_timeout must be positive"))
        for key in ("master_host", "resource_manager", "spark_home", "python",
                    "worker_memory"):
            value = getattr(self, key)
            if value is not None and (not value.strip() or any(c.isspace() for c in value)):
                problems.append((key, f"{key} must be a non-empty value without spaces"))
        check_settings(problems)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SparkSettings:
        """Read ``runtime.spark`` from a cluster config dict (absent: all defaults)."""
        section = (config.get("runtime") or {}).get("spark") or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ValueError(f"runtime.spark: unknown key {unknown[0]!r}")
        return cls(**section)
