"""Errors in the Python API's words: the library's messages name the CLI's flags
(``--tmux and --screen cannot be used together``); a caller of ``Cluster.exec(tmux=True,
...)`` should read the arguments it passed (``tmux=True and screen=True ...``)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from jobwaiter.errors import ConfigError, UsageError

#: A flag of the CLI -> the argument of the Python API that says the same.
ARGUMENTS = {
    "--tmux": "tmux=True", "--screen": "screen=True", "--job-waiter": "job_waiter",
    "--job-log": "job_log=True", "--stop": "stop=True", "--start": "start=True",
    "--job-timeout": "job_timeout", "--env": "env", "--node-ip": "node_ip",
    "--name": "label", "--watch": "watch", "--detach": "detach=True",
    "--max-runtime": "max_runtime", "--notify": "notify", "--notify-command": "notify_command",
    "--idle": "idle", "--wait-for": "wait_for", "--grace": "grace", "--signal": "signal",
    "--older-than": "older_than", "--runtime": "runtime", "--state": "states",
    "--tail": "lines", "--follow": "follow=True", "--all-nodes": "exec_all()",
    "--no-parallel": "parallel=False",
}
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*[a-z](?![\w-])")


def python_words(message: str) -> str:
    """``message`` with every CLI flag it names replaced by its Python argument."""
    return _FLAG.sub(lambda m: ARGUMENTS.get(m.group(0), m.group(0)), message)


class _Speaks(Protocol):
    #: True: errors keep the CLI's flags (the CLI sets it); False: the Python arguments.
    flag_names: bool


S = TypeVar("S", bound=_Speaks)
P = ParamSpec("P")
R = TypeVar("R")


def in_python_words(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """A ``Cluster`` method whose ``UsageError`` names the arguments of the Python API,
    unless the cluster speaks for the CLI. The exception keeps its type and attributes."""

    @functools.wraps(method)
    def speaking(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except UsageError as exc:
            # A config file's problems quote the file, not our flags.
            if not self.flag_names and not isinstance(exc, ConfigError) \
                    and len(exc.args) == 1 and isinstance(exc.args[0], str):
                exc.args = (python_words(exc.args[0]),)
            raise

    return speaking
