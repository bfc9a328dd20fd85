"""The cluster config file: schema, validation and one-line errors.

Unknown keys are errors everywhere, so a typo never silently means "default".
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobwaiter.errors import ConfigError

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalProvider(_Strict):
    type: Literal["local"]


class SSHProvider(_Strict):
    type: Literal["ssh"]
    head_ip: str
    worker_ips: list[str] = Field(default_factory=list)


class Auth(_Strict):
    ssh_user: str | None = None
    ssh_private_key: str | None = None
    ssh_port: int = Field(default=22, ge=1, le=65535)
    known_hosts_file: str | None = None
    connect_timeout: float = Field(default=10, gt=0)
    ssh_options: dict[str, str | int] = Field(default_factory=dict)


class RuntimeSection(_Strict):
    types: list[str] = Field(default_factory=list)
    spark: dict[str, Any] | None = None


Provider = Annotated[LocalProvider | SSHProvider, Field(discriminator="type")]


class ClusterConfig(_Strict):
    cluster_name: str = Field(pattern=NAME_PATTERN, max_length=63)
    provider: Provider
    auth: Auth | None = None
    head_start_commands: list[str] = Field(default_factory=list)
    head_stop_commands: list[str] = Field(default_factory=list)
    worker_start_commands: list[str] = Field(default_factory=list)
    worker_stop_commands: list[str] = Field(default_factory=list)
    runtime: RuntimeSection | None = None


def load_config(path: str | Path, cluster_name: str | None = None) -> ClusterConfig:
    """Read and validate a cluster file; ``cluster_name`` overrides the file's name."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{p}: invalid YAML{line}: {problem}") from exc
    return validate_config(data, source=str(p), cluster_name=cluster_name)


def validate_config(
    data: Any, source: str = "<config>", cluster_name: str | None = None
) -> ClusterConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    if cluster_name is not None:
        data = {**data, "cluster_name": cluster_name}
    try:
        return ClusterConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = [str(x) for x in err["loc"]]
    # Drop the discriminator tag pydantic inserts ("provider.local.type" -> "provider.type").
    if len(loc) > 1 and loc[0] == "provider" and loc[1] in ("local", "ssh"):
        loc = [loc[0], *loc[2:]]
    key = ".".join(loc) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key"
    if kind == "missing":
        return f"{key}: required key is missing"
    if kind == "string_pattern_mismatch" and loc == ["cluster_name"]:
        return f"{key}: {err.get('input')!r} must be lowercase letters, digits and '-'"
    if kind == "union_tag_invalid":
        tag = (err.get("ctx") or {}).get("tag")
        return f"{key}.type: unknown provider type {tag!r} (expected local or ssh)"
    return f"{key}: {err['msg']}"
