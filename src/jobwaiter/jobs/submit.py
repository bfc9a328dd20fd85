"""``submit``: put a script in ``~/user/jobs/`` on the head and build the command that runs it.

Arguments after the script are passed verbatim: they are quoted once here, where they become
part of a bash command, and never expanded on the head.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from jobwaiter.errors import CommandError, UsageError
from jobwaiter.jobs.events import Reporter
from jobwaiter.jobs.request import JobRequest
from jobwaiter.jobs.result import JobResult, Outcome
from jobwaiter.records import UPLOAD_DIR
from jobwaiter.transport.base import Transport
from jobwaiter.waiters.spec import parse_spec

if TYPE_CHECKING:
    from jobwaiter.runtimes.base import Runtime

INTERPRETERS = {".sh": "bash", ".py": "python3"}

_SH = Path(__file__).with_name("sh")


@cache
def _script(name: str) -> str:
    return (_SH / name).read_text()


@dataclass(frozen=True)
class PreparedSubmit:
    basename: str
    command: str
    data: bytes | None = None
    url: str | None = None

    @property
    def remote_path(self) -> str:
        return f"{UPLOAD_DIR}/{self.basename}"

    def place(self, head: Transport, reporter: Reporter) -> None:
        """Upload (or download on the head) the script."""
        if self.url is not None:
            reporter.phase(f"downloading {self.url} to ~/{self.remote_path} on the head")
            result = head.run(["bash", "-c", _script("download.sh"), "jw", self.basename,
                               self.url])
            if not result.ok:
                raise CommandError(result, f"downloading {self.url}")
            return
        reporter.phase(f"uploading {self.basename} to ~/{self.remote_path}")
        argv = ["bash", "-c", _script("upload.sh"), "jw", self.basename]
        result = head.run(argv, input=self.data)
        if not result.ok:
            raise CommandError(result, f"uploading {self.basename}")


def prepare_submit(script: str, args: list[str], runtime: Runtime | None = None) -> PreparedSubmit:
    """Validate the script and build its command; nothing is sent anywhere yet. With a
    ``runtime``, the runtime runs the file (e.g. ``spark-submit`` for ``.py``)."""
    if script.startswith(("http://", "https://")):
        url = urlparse(script)
        basename = posixpath.basename(unquote(url.path))
        if not url.netloc or not basename:
            raise UsageError(f"cannot tell the script's file name from {script!r}")
        return PreparedSubmit(basename, _command(basename, args, runtime), url=script)
    path = Path(script)
    if not path.is_file():
        raise UsageError(f"script not found: {script}")
    basename = path.name
    _interpreter(basename, runtime)  # reject an unsupported type before reading anything
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read script {script}: {exc.strerror}") from exc
    return PreparedSubmit(basename, _command(basename, args, runtime), data=data)


def _interpreter(basename: str, runtime: Runtime | None = None) -> str:
    suffix = posixpath.splitext(basename)[1].lower()
    kinds = runtime.submit_types if runtime is not None else INTERPRETERS
    if suffix not in kinds:
        supported = ", ".join(f"{s} ({i})" for s, i in kinds.items())
        by = f" with the {runtime.name} runtime" if runtime is not None else ""
        raise UsageError(f"cannot run {basename!r}{by}: unsupported script type "
                         f"{suffix or '(none)'}; supported: {supported}")
    return kinds[suffix]


def _command(basename: str, args: list[str], runtime: Runtime | None = None) -> str:
    if "/" in basename or basename in (".", ".."):
        raise UsageError(f"bad script name {basename!r}")
    interpreter = _interpreter(basename, runtime)
    # Relative to $HOME, where every job starts.
    path = f"{UPLOAD_DIR}/{basename}"
    if runtime is not None:
        return runtime.submit_command(path, args)
    return shlex.join([interpreter, path, *args])


def with_runtime(req: JobRequest, runner: Runtime | None) -> JobRequest:
    """A runtime whose submit hands the job to the engine and returns (sbatch) has not
    finished it: a waiter asked for also waits for the engine's work, scoped to the ids the
    submission recorded; without one the job is only "started", and ``--stop`` would stop too
    early."""
    if runner is None or not runner.submit_detaches:
        return req
    name = runner.name
    if req.job_waiter is None:
        if req.stop:
            raise UsageError(f"--stop with --runtime {name} needs a --job-waiter (e.g. "
                             f"{name}): the submission returns before the job ends")
        return req
    if name not in parse_spec(req.job_waiter).names():
        return replace(req, job_waiter=f"chain[{req.job_waiter}, {name}]")
    return req


def submitted(result: JobResult, req: JobRequest, runner: Runtime | None) -> JobResult:
    """The result of a submission: without a waiter, a detaching runtime's exit 0 means only
    that the engine took the job."""
    if runner is None or not runner.submit_detaches or req.job_waiter is not None:
        return result
    if result.outcome is not Outcome.SUCCEEDED:
        return result
    return replace(result, outcome=Outcome.STARTED,
                   message=f"submitted to {runner.name}; nothing waits for it "
                           f"(--job-waiter={runner.name} does)")
