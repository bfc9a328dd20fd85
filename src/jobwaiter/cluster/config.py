"""The cluster config file: schema and validation.

Unknown keys are errors everywhere, so a typo never silently means "default". A bad file is
reported with every problem it has (config_errors.py), not only the first.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from jobwaiter.cluster.config_errors import closest, describe
from jobwaiter.errors import ConfigError
from jobwaiter.runtimes import runtime_class, runtime_names
from jobwaiter.runtimes.base import check_settings
from jobwaiter.transport.address import parse_host

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalSection(_Strict):
    type: Literal["local"]


def _invalid(message: str) -> PydanticCustomError:
    # The message is the whole text after "key: " in the one-line error.
    return PydanticCustomError("invalid", "{message}", {"message": message})


class SSHSection(_Strict):
    type: Literal["ssh"]
    head_ip: str
    worker_ips: list[str] = Field(default_factory=list)

    @field_validator("head_ip")
    @classmethod
    def _head(cls, value: str) -> str:
        try:
            parse_host(value)
        except ValueError as exc:
            raise _invalid(str(exc)) from None
        return value

    @field_validator("worker_ips")
    @classmethod
    def _workers(cls, value: list[str]) -> list[str]:
        problems: list[tuple[str | int, str]] = []
        for i, host in enumerate(value):
            try:
                parse_host(host)
            except ValueError as exc:
                problems.append((i, f"[{i}]: {exc}"))
        check_settings(problems)
        return value

    @model_validator(mode="after")
    def _distinct(self) -> SSHSection:
        seen: set[tuple[str, int | None]] = set()
        for host in [self.head_ip, *self.worker_ips]:
            key = parse_host(host)
            if key in seen:
                raise _invalid(f"{host} is listed more than once (head_ip and worker_ips "
                               "must all differ)")
            seen.add(key)
        return self


# Options jobwaiter itself sets on every connection: overriding them would break waits
# (ControlMaster ...) or has its own key in `auth`.
_MANAGED_OPTIONS = {
    "controlmaster": "jobwaiter manages its own master connections",
    "controlpath": "jobwaiter manages its own master connections",
    "controlpersist": "jobwaiter manages its own master connections",
    "batchmode": "jobwaiter never prompts (BatchMode=yes)",
    "port": "use auth.ssh_port or host:port",
    "user": "use auth.ssh_user",
    "identityfile": "use auth.ssh_private_key",
    "userknownhostsfile": "use auth.known_hosts_file",
    "connecttimeout": "use auth.connect_timeout",
}
_OPTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# StrictHostKeyChecking values that still stop at a changed key (case-insensitive). An
# allow-list: ssh also reads "false", "off" and "no" as off, and may learn more spellings.
_STRICT_VALUES = ("yes", "true", "ask", "accept-new")


class HeadToWorkers(_Strict):
    """How the head's watch reaches the workers to stop them (docs/watch.md): the head's own
    ``~/.ssh`` (``head_ssh: true``), or a key of its own that jobwaiter puts on the head
    (``key_file``; never ``auth.ssh_private_key``)."""

    key_file: str | None = None
    head_ssh: bool = False

    @field_validator("key_file")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return None if value is None else Auth._key(value)

    @model_validator(mode="after")
    def _one_way(self) -> HeadToWorkers:
        if (self.key_file is None) == (not self.head_ssh):
            raise ValueError("give key_file or head_ssh: true (one of them)")
        return self


class Auth(_Strict):
    ssh_user: str | None = None
    ssh_private_key: str | None = None
    ssh_port: int | None = Field(default=None, ge=1, le=65535)
    known_hosts_file: str | None = None
    connect_timeout: float = Field(default=10, gt=0, le=3600)
    ssh_options: dict[str, str | int] = Field(default_factory=dict)

    @field_validator("ssh_user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]*", value):
            raise _invalid(f"{value!r} is not a user name")
        return value

    @field_validator("ssh_private_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = os.path.abspath(os.path.expanduser(value))
        try:
            st = os.stat(path)
        except OSError as exc:
            raise _invalid(f"{path}: {exc.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            raise _invalid(f"{path}: not a file")
        if not os.access(path, os.R_OK):
            raise _invalid(f"{path}: not readable")
        if st.st_uid == os.getuid() and st.st_mode & 0o077:
            # ssh refuses such a key ("UNPROTECTED PRIVATE KEY FILE"); say so before connecting.
            raise _invalid(f"{path}: permissions {stat.S_IMODE(st.st_mode):04o} are too open "
                           "(ssh refuses it; chmod 600 it)")
        return path

    @field_validator("known_hosts_file")
    @classmethod
    def _known_hosts(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = os.path.abspath(os.path.expanduser(value))
        if os.path.realpath(path) == os.devnull or value.strip().lower() == "none":
            raise _invalid(f"{value} keeps no host keys, so any host key would be accepted")
        if os.path.exists(path) and not os.path.isfile(path):
            raise _invalid(f"{path}: not a file (a known_hosts file must be a regular file)")
        if not os.path.isdir(os.path.dirname(path)):
            raise _invalid(f"{path}: its directory does not exist")
        return path

    @field_validator("ssh_options", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any) -> Any:
        # YAML reads an unquoted yes/no/true/off as a boolean; ssh means the word.
        if isinstance(value, dict):
            return {k: ("yes" if v else "no") if isinstance(v, bool) else v
                    for k, v in value.items()}
        return value

    @field_validator("ssh_options")
    @classmethod
    def _options(cls, value: dict[str, str | int]) -> dict[str, str | int]:
        check_settings([(name, problem) for name, raw in value.items()
                        if (problem := _option_problem(name, str(raw)))])
        _check_with_ssh(value)
        return value


def _option_problem(name: str, text: str) -> str | None:
    if not _OPTION_NAME.fullmatch(name):
        return f"{name!r} is not an ssh option name"
    why = _MANAGED_OPTIONS.get(name.lower())
    if why:
        return f"{name} cannot be set here: {why}"
    if not text or any(c in text for c in "\n\r\0"):
        return f"{name}: the value must be one non-empty line"
    if name.lower() == "stricthostkeychecking" and text.lower() not in _STRICT_VALUES:
        return (f"StrictHostKeyChecking={text} is refused: a changed host key must stop "
                f"jobwaiter, not be accepted (allowed: {', '.join(_STRICT_VALUES)})")
    return None


def _check_with_ssh(options: dict[str, str | int]) -> None:
    """Let the local ssh client parse the options (``ssh -G`` connects nowhere), so a typo is
    an error now rather than a failed connection later."""
    ssh = shutil.which("ssh")
    if not options or ssh is None:
        return
    argv = [ssh, "-G"]
    for name, value in options.items():
        argv += ["-o", f"{name}={value}"]
    try:
        proc = subprocess.run([*argv, "--", "jobwaiter.invalid"], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        why = lines[-1] if lines else f"ssh -G exited with status {proc.returncode}"
        raise _invalid(f"rejected by ssh: {why}")


class RuntimeSection(_Strict):
    """The engines installed on the cluster: ``types`` names them (runtimes registered in the
    ``jobwaiter.runtimes`` entry-point group). Each runtime's own settings sit beside it under
    its name (``runtime.spark``), with the keys of the runtime's ``config_section``; the keys
    a config uses are added by ``_config_model``, so only the runtimes it names are loaded."""

    #: Its keys besides ``types`` are runtime names (for the did-you-mean of config_errors).
    holds_runtimes: ClassVar[bool] = True

    types: list[str] = Field(default_factory=list)

    @field_validator("types")
    @classmethod
    def _known_runtimes(cls, value: list[str]) -> list[str]:
        known = runtime_names()
        problems: list[tuple[str | int, str]] = []
        for i, name in enumerate(value):
            if name not in known:
                hint = closest(name, known)
                problems.append((i, f"unknown runtime {name!r} (available: {', '.join(known)})"
                                 + (f"; did you mean {hint}?" if hint else "")))
        check_settings(problems)
        return value

    @model_validator(mode="after")
    def _sections_named(self) -> RuntimeSection:
        check_settings([(name, f"has a {name} section but {name!r} is not in runtime.types")
                        for name in type(self).model_fields
                        if name != "types" and getattr(self, name) is not None
                        and name not in self.types])
        return self


ProviderSection = Annotated[LocalSection | SSHSection, Field(discriminator="type")]


class ClusterConfig(_Strict):
    cluster_name: str = Field(pattern=NAME_PATTERN, max_length=63)
    provider: ProviderSection
    auth: Auth | None = None
    head_start_commands: list[str] = Field(default_factory=list)
    head_stop_commands: list[str] = Field(default_factory=list)
    worker_start_commands: list[str] = Field(default_factory=list)
    worker_stop_commands: list[str] = Field(default_factory=list)
    runtime: RuntimeSection | None = None
    #: Where jobs are watched unless --watch says otherwise (see jobs/watch.py).
    watch: Literal["auto", "head", "client"] = "auto"
    head_to_workers: HeadToWorkers | None = None

    @model_validator(mode="after")
    def _own_key(self) -> ClusterConfig:
        key = self.head_to_workers.key_file if self.head_to_workers else None
        mine = self.auth.ssh_private_key if self.auth else None
        if key and mine and os.path.realpath(key) == os.path.realpath(mine):
            raise ValueError("head_to_workers.key_file: not auth.ssh_private_key itself: the "
                             "head gets a key of its own (docs/watch.md)")
        return self


def load_config(path: str | Path, cluster_name: str | None = None) -> ClusterConfig:
    """Read and validate a cluster file; ``cluster_name`` overrides the file's name. Raises
    ConfigError listing every problem of the file, with its line."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError.listing(str(p), [f"cannot read: {exc.strerror or exc}"]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Name the place: a stray Latin-1 byte is easy to fix once it can be found.
        raise ConfigError.listing(str(p), [f"not UTF-8: byte 0x{raw[exc.start]:02x} at offset "
                                           f"{exc.start}"]) from None
    loader = yaml.SafeLoader(text)
    try:
        # yaml.safe_load in two steps, keeping the node tree: its marks give the lines.
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError.listing(str(p), [f"invalid YAML{line}: {problem}"]) from exc
    finally:
        loader.dispose()
    return _validate(data, str(p), cluster_name, node)


def validate_config(
    data: Any, source: str = "<config>", cluster_name: str | None = None
) -> ClusterConfig:
    """Validate a config given as data; ``source`` names it in errors. Raises ConfigError
    listing every problem."""
    return _validate(data, source, cluster_name, None)


def _validate(
    data: Any, source: str, cluster_name: str | None, node: yaml.Node | None
) -> ClusterConfig:
    if not isinstance(data, dict):
        raise ConfigError.listing(source, ["expected a mapping at the top level"])
    if cluster_name is not None:
        data = {**data, "cluster_name": cluster_name}
    runtime = data.get("runtime")
    # str(): YAML may have made a key a number, which only validation may refuse.
    sections = sorted({str(k) for k in runtime} - {"types"}) if isinstance(runtime, dict) else []
    model = _config_model(tuple(sections))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        overridden = {"cluster_name": "--cluster-name"} if cluster_name is not None else {}
        raise ConfigError.listing(source, describe(exc, model, node, overridden)) from exc


def _config_model(sections: tuple[str, ...]) -> type[ClusterConfig]:
    """ClusterConfig whose runtime section also accepts the given runtimes' settings. A name
    that is no registered runtime, or one without settings, stays an unknown key."""
    known = set(runtime_names())
    fields: dict[str, Any] = {}
    for name in sections:
        if name in known and name != "types":
            settings = runtime_class(name).config_section
            if settings is not None:
                fields[name] = (settings | None, None)
    if not fields:
        return ClusterConfig
    section: Any = create_model("RuntimeSection", __base__=RuntimeSection, **fields)
    return create_model("ClusterConfig", __base__=ClusterConfig,
                        runtime=(section | None, None))
