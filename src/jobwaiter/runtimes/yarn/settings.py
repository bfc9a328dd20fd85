"""The ``runtime.yarn`` section of the cluster config: every key, its default and meaning.

This dataclass is the one definition of the keys. The config layer validates the YAML against
it (unknown keys are errors) and the runtime reads the validated dict back into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from jobwaiter.runtimes.base import check_settings


@dataclass(frozen=True)
class YarnSettings:
    """Hadoop YARN on the cluster: a ResourceManager on the head, a NodeManager on every node.

    Where Hadoop is on the nodes: ``hadoop_home`` (an unpacked Hadoop release: its
    ``share/hadoop/*`` jars) or ``jars`` (one directory holding every jar the daemons need, as
    ``mvn dependency:copy-dependencies`` makes it). Neither: the nodes' ``$HADOOP_HOME``.

    ``conf_dir``: Hadoop's configuration directory on the nodes (``yarn-site.xml``,
    ``core-site.xml``, ``capacity-scheduler.xml``); it goes first on the daemons' classpath,
    and is where their addresses and ports are set. Neither: the nodes' ``$HADOOP_CONF_DIR``.
    ``resource_manager``: the ResourceManager's web address ``host:port`` as set there
    (``yarn.resourcemanager.webapp.address``); jobwaiter reads ``/ws/v1/cluster/`` there.
    Default: the head node, port 8088.

    ``java_home``: the JDK the daemons run on, also passed to the containers the NodeManagers
    launch (default: the nodes' ``$JAVA_HOME``, else the ``java`` on their PATH). ``heap``:
    each daemon's maximum heap (``-Xmx``; Hadoop's own scripts default to 1000m).

    ``settle_seconds``: when the yarn waiter finds no application in its scope, it keeps
    looking this long before it is satisfied. ``start_timeout``: how long ``jobwaiter start``
    waits for the ResourceManager to answer STARTED and every NodeManager to register.
    """

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    hadoop_home: str | None = None
    jars: str | None = None
    conf_dir: str | None = None
    resource_manager: str | None = None
    java_home: str | None = None
    heap: str = "1000m"
    settle_seconds: float = 10.0
    start_timeout: float = 120.0

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        if self.hadoop_home is not None and self.jars is not None:
            problems.append(("jars", "set hadoop_home or jars, not both"))
        for key in ("hadoop_home", "jars", "conf_dir", "resource_manager", "java_home",
                    "heap"):
            value = getattr(self, key)
            if value is not None and (not value.strip() or any(c.isspace() for c in value)):
                problems.append((key, f"{key} must be a non-empty value without spaces"))
        if self.resource_manager is not None and ":" not in self.resource_manager:
            problems.append(("resource_manager", "resource_manager must be host:port"))
        if not re.fullmatch(r"[0-9]+[kKmMgG]?", self.heap):
            problems.append(("heap", f"heap must be a size such as 512m or 1g, not {self.heap}"))
        if self.settle_seconds < 0:
            problems.append(("settle_seconds", "settle_seconds must not be negative"))
        if self.start_timeout <= 0:
            problems.append(("start_timeout", "start_timeout must be positive"))
        check_settings(problems)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> YarnSettings:
        """Read ``runtime.yarn`` from a cluster config dict (absent: all defaults)."""
        section = (config.get("runtime") or {}).get("yarn") or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ValueError(f"runtime.yarn: unknown key {unknown[0]!r}")
        return cls(**section)
