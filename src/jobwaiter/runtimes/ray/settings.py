"""The ``runtime.ray`` section of the cluster config: every key, its default and meaning."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from jobwaiter.runtimes.base import check_settings
from jobwaiter.runtimes.settle import DEFAULT_SETTLE

PORT_KEYS = (
    "gcs_port", "dashboard_port", "client_server_port", "node_manager_port",
    "object_manager_port", "dashboard_agent_listen_port", "dashboard_agent_grpc_port",
    "runtime_env_agent_port", "metrics_export_port", "min_worker_port", "max_worker_port",
)


@dataclass(frozen=True)
class RaySettings:
    """Ray on the cluster: a head on the head node, a worker on every other node.

    Every port is pinned (Ray picks several at random otherwise, and two clusters on one
    machine would collide): ``gcs_port`` (the cluster address, ``head:gcs_port``),
    ``dashboard_port`` (dashboard and Jobs REST API), ``client_server_port``,
    ``node_manager_port``, ``object_manager_port``, ``dashboard_agent_listen_port`` (http)
    and ``dashboard_agent_grpc_port``, ``runtime_env_agent_port``, ``metrics_export_port``,
    and the range ``min_worker_port``-``max_worker_port`` of worker processes (both 0: any
    free port).

    ``ray_bin``: the ``ray`` executable on the nodes. ``python``: the Python that
    ``submit --runtime ray`` runs files with (an entrypoint's ``python`` is otherwise
    whatever is first on the PATH of ``ray start``). ``temp_dir``: Ray's session directory on
    every node; it holds unix sockets, whose paths are limited to about 107 bytes, so it
    must be short (default ``/tmp/jwray-<cluster_name>``). ``num_cpus``: what each node
    advertises (default: Ray's own, all cores). ``start_timeout``: how long ``jobwaiter
    start`` waits for the dashboard to answer and every node to join.

    ``settle_seconds``: when the ray waiter (scoped by time, not by ids) finds nothing left
    to wait for, it keeps looking this long after the job's end before it is satisfied, so
    that a ``ray.init()`` driver started in the background, which registers a few seconds
    later, is waited for too.
    """

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    ray_bin: str = "ray"
    python: str = "python3"
    gcs_port: int = 6379
    dashboard_port: int = 8265
    client_server_port: int = 10001
    node_manager_port: int = 6380
    object_manager_port: int = 6381
    dashboard_agent_listen_port: int = 52365
    dashboard_agent_grpc_port: int = 6382
    runtime_env_agent_port: int = 6383
    metrics_export_port: int = 6384
    min_worker_port: int = 10002
    max_worker_port: int = 19999
    temp_dir: str | None = None
    num_cpus: int | None = None
    settle_seconds: float = DEFAULT_SETTLE
    start_timeout: float = 120.0

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        for key in PORT_KEYS:
            port = getattr(self, key)
            low = 0 if key.endswith("worker_port") else 1  # 0: any free port
            if not low <= port <= 65535:
                problems.append((key, f"{key} must be a port number (1-65535), not {port}"))
        if self.min_worker_port > self.max_worker_port:
            problems.append(("min_worker_port",
                             "min_worker_port must not be above max_worker_port"))
        if self.num_cpus is not None and self.num_cpus < 0:
            problems.append(("num_cpus", "num_cpus must not be negative"))
        if self.settle_seconds < 0:
            problems.append(("settle_seconds", "settle_seconds must not be negative"))
        if self.start_timeout <= 0:
            problems.append(("start_timeout", "start_timeout must be positive"))
        if self.temp_dir is not None and (not self.temp_dir.startswith("/")
                                          or len(self.temp_dir) > 60):
            problems.append(("temp_dir", "temp_dir must be an absolute path of at most 60 "
                             "characters (Ray puts unix sockets in it)"))
        for key in ("ray_bin", "python", "temp_dir"):
            value = getattr(self, key)
            if value is not None and (not value.strip() or any(c.isspace() for c in value)):
                problems.append((key, f"{key} must be a non-empty value without spaces"))
        check_settings(problems)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RaySettings:
        """Read ``runtime.ray`` from a cluster config dict (absent: all defaults)."""
        section = (config.get("runtime") or {}).get("ray") or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ValueError(f"runtime.ray: unknown key {unknown[0]!r}")
        return cls(**section)
