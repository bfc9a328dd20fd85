"""The client's side of the head's watch (``jobwaiter.watch`` is the head's): decide where a
job is watched, ship the head-side code, arm the job, and follow what the head records.

``--watch auto`` (the default) watches on the head when that works: a job in a session, every
waiter one the head can run (jobwaiter's own, not a user's class), no worker to stop (the
head does not reach the workers), python3 3.8+ on the head. Otherwise the client waits, as
it always did, after one warning line saying why; ``--watch head`` makes any of those a
usage error, before anything runs.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import weakref
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jobwaiter
from jobwaiter.errors import CommandError, TransportError, UsageError
from jobwaiter.jobs import workerkey
from jobwaiter.jobs.plan import JobPlan, StopPlan
from jobwaiter.jobs.result import JobResult, Outcome, StopReport
from jobwaiter.jobs.site import JobSite
from jobwaiter.waiters.blocking import BlockingWaiter

if TYPE_CHECKING:
    from jobwaiter.jobs.request import JobRequest

MODES = ("auto", "head", "client")
LIB_DIR = ".jobwaiter/lib"
#: What the head runs: these packages and modules of jobwaiter, nothing else (no CLI, no
#: config schema); all standard library, python3 3.8+.
_PACKAGES = ("records", "sessions", "waiters", "runtimes", "transport", "jobs", "watch")
_MODULES = ("__init__.py", "errors.py", "outcome.py", "plugins.py", "durations.py")

_RUN_PY = '''\
import os
import sys

if sys.version_info < (3, 8):
    sys.stderr.write("jobwaiter's watch needs python3 3.8 or newer on the head\\n")
    sys.exit(3)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jobwaiter.watch.__main__ import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
'''

#: In every copy on the head: "SHA256  PATH" of each of its files, as sha256sum checks them.
SUMS = "SHA256SUMS"

# Runs on the head: "python <major>.<minor>" (or "python none"), then "have", "missing" or
# "damaged" (a file of the copy changed or gone). One sha256sum over the copy, no python
# start: a copy that lost a module would otherwise fail every watch the same way, for ever.
_PROBE = r"""
if command -v python3 >/dev/null 2>&1; then
  python3 -I -c 'import sys; print("python %d.%d" % sys.version_info[:2])'
else
  echo "python none"
fi
if [ ! -f "$1/run.py" ]; then
  echo missing
elif ! command -v sha256sum >/dev/null 2>&1 \
     || (cd "$1" && sha256sum --status -c SUMS) 2>/dev/null; then
  echo have
else
  echo damaged
fi
""".replace("SUMS", SUMS)

# Runs on the head with the bundle on stdin: unpacked beside, then renamed into place, so a
# half-written copy is never used and two clients shipping at once do not collide. With
# "replace", a damaged copy there is moved aside first and removed. Every directory gets its
# __pycache__ made here, 0700 (python makes it with the caller's umask, and its files with
# the modes of the sources, 0600).
_EXTRACT = r"""
import io, os, shutil, sys, zipfile
dest, how = sys.argv[1], sys.argv[2]
os.umask(0o077)
try:
    os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
except OSError as exc:
    # One line, saying what is in the way (a dangling link, a file), never a traceback.
    top = ".jobwaiter"
    what = ""
    if os.path.islink(top):
        what = " (~/%s is a link to %s%s)" % (top, os.readlink(top), "" if os.path.exists(top)
                                              else ", which does not exist")
    elif os.path.exists(top) and not os.path.isdir(top):
        what = " (~/%s is not a directory)" % top
    sys.stderr.write("cannot create ~/%s: %s%s\n" % (os.path.dirname(dest), exc.strerror, what))
    sys.exit(1)
if how != "replace" and os.path.isfile(os.path.join(dest, "run.py")):
    print("have")
    sys.exit(0)
tmp = "%s.tmp.%d" % (dest, os.getpid())
zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())).extractall(tmp)
for top, dirs, names in os.walk(tmp):
    if any(n.endswith(".py") for n in names):
        os.mkdir(os.path.join(top, "__pycache__"), 0o700)
if how == "replace" and os.path.isdir(dest):
    old = "%s.old.%d" % (dest, os.getpid())
    os.rename(dest, old)
    shutil.rmtree(old, ignore_errors=True)
try:
    os.rename(tmp, dest)
except OSError:
    shutil.rmtree(tmp, ignore_errors=True)
print("put")
"""

FOLLOW_FOR = 25.0
HUNG_GRACE = 10.0


class WatchUnavailable(Exception):
    """Why the head cannot watch this job."""


@lru_cache(maxsize=None)
def bundle() -> tuple[str, bytes]:
    """The head-side code as a zip, and the directory it goes to on the head (named after its
    content: a changed jobwaiter never runs an older copy)."""
    root = Path(jobwaiter.__file__).parent
    names = list(_MODULES)
    for package in _PACKAGES:
        names += sorted(str(p.relative_to(root)) for p in (root / package).rglob("*")
                        if p.is_file() and p.suffix in (".py", ".sh")
                        and "__pycache__" not in p.parts)
    files = [("run.py", _RUN_PY.encode()),
             *((f"jobwaiter/{n}", (root / n).read_bytes()) for n in names)]
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [*files, (SUMS, sums.encode())]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o600 << 16
            z.writestr(info, data)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:12]
    return f"{LIB_DIR}/jobwaiter-{jobwaiter.__version__}-{digest}", data


def mode_of(req_mode: str | None, site: JobSite) -> str:
    mode = req_mode or str(site.config.get("watch") or "auto")
    if mode not in MODES:
        raise UsageError(f"--watch {mode}: expected one of {', '.join(MODES)}")
    return mode


def static_reason(site: JobSite, plan: JobPlan) -> str | None:
    """Why the head cannot watch this job, from the plan alone (no remote call)."""
    if plan.session is None:
        return "a foreground job is watched by the client that runs it"
    if not site.node.is_head:
        return "a job on a worker (--node-ip) is watched from the client"
    for step in plan.waiters:
        waiter = step.waiter
        module = type(waiter).__module__ if waiter is not None else ""
        if isinstance(waiter, BlockingWaiter) or not module.startswith("jobwaiter."):
            return f"the waiter {step.spec} is code of this machine, not of the head"
    return None


@dataclass(frozen=True)
class DryRun:
    """What ``--dry-run`` shows: the plan, and where the job would be watched and why."""

    plan: JobPlan
    watch: str
    why: str = ""
    #: How the head would reach the workers to stop them ("" when it would not).
    workers_via: str = ""

    def to_dict(self) -> dict[str, Any]:
        plan = self.plan.to_dict()
        if self.plan.stop is not None:
            # What each node's stop runs, as the config writes it (not the scripts around).
            stop = self.plan.stop
            plan["stop"] = {"cluster": stop.cluster, "nodes": [
                {"node": part.node, "steps": [c.describe() for c in part.commands]}
                for part in (*stop.workers, stop.head)]}
        return {"dry_run": True, "plan": plan, "watch": self.watch,
                "why": self.why or None, "workers_via": self.workers_via or None}


@dataclass(frozen=True)
class Decision:
    """Where a job is watched: ``head``, ``auto`` (the head, if its python3 allows: decided
    by ``prepare``), ``client``, or ``refused`` (a usage error). ``why`` says why; ``warn``:
    the client watches although the head was asked (``auto``), and says so."""

    where: str
    why: str = ""
    warn: bool = False


def decide(site: JobSite, plan: JobPlan, req: JobRequest) -> Decision:
    """The one rule of where a job is watched, from the plan and the request alone (no
    remote call)."""
    mode = mode_of(req.watch, site)
    head_only = [name for name, given in (("--max-runtime", req.max_runtime is not None),
                                          ("--notify", bool(req.notify)),
                                          ("--notify-command", bool(req.notify_command)))
                 if given]
    if head_only:
        why = ("it needs --tmux or --screen" if plan.session is None
               else "--watch client" if mode == "client" else static_reason(site, plan))
        if why:
            return Decision("refused", f"{', '.join(head_only)} run on the head's watch, and "
                                       f"the head cannot watch this job: {why}")
        return Decision("head")
    if req.detach and plan.session is None:
        return Decision("refused", "--detach needs --tmux or --screen: a foreground job ends "
                                   "with the command that runs it")
    if req.detach and mode == "client":
        return Decision("refused", "--detach needs the head's watch (--watch auto or head)")
    if mode == "client":
        return Decision("client", "--watch client")
    if not needs_watch(plan):
        return Decision("client", "nothing to watch: no waiter and no --stop"
                        if plan.session else "a foreground job")
    why = static_reason(site, plan)
    if why is None:
        return Decision(mode)
    if mode == "head" or req.detach:
        return Decision("refused", f"the head cannot watch this job: {why}")
    return Decision("client", why, warn=True)


def where(site: JobSite, plan: JobPlan, req: JobRequest) -> DryRun:
    """``--dry-run``: where the job would be watched, checked as a run checks it (UsageError
    for what a run refuses); the head's python3 is checked only when the job runs."""
    decision = decide(site, plan, req)
    if decision.where == "refused":
        raise UsageError(decision.why)
    if decision.where == "client":
        return DryRun(plan, "client", decision.why)
    how = site.config.get("head_to_workers") or {}
    via = ""
    if plan.stop is not None and len(site.nodes) > 1:
        via = (f"the key {how['key_file']}, put on the head in {KEYS_DIR}/ with the workers' "
               "known host keys" if how.get("key_file") else "the head's own ~/.ssh"
               if how.get("head_ssh") else "a key of the head's own, set up by jobwaiter "
               "when asked (docs/watch.md)")
    return DryRun(plan, "head", "auto" if decision.where == "auto" else "", via)


def needs_watch(plan: JobPlan) -> bool:
    """Whether there is anything to watch: a waiter, or a stop after the job."""
    return plan.session is not None and (bool(plan.waiters) or plan.stop is not None)


def check_request(site: JobSite, plan: JobPlan, req: JobRequest) -> str:
    """The watch mode for this job, checked before anything runs: ``head``, ``client`` or
    ``auto`` (head if the head can, decided by ``prepare``). UsageError for what ``decide``
    refuses (``--watch head`` or ``--detach`` when the head cannot watch the job, ...)."""
    decision = decide(site, plan, req)
    if decision.where == "refused":
        raise UsageError(decision.why)
    if decision.warn:
        site.reporter.warn(f"watching from this client: {decision.why}")
    return decision.where


def prepare(site: JobSite, mode: str) -> str | None:
    """Ship the head-side code if it is not there yet; its directory, or None when the head
    cannot run it (``auto``: a warning and the client watches; ``head``: UsageError)."""
    try:
        return ship(site)
    except WatchUnavailable as exc:
        if mode == "head":
            raise UsageError(f"the head cannot watch this job: {exc}") from None
        site.reporter.warn(f"watching from this client: {exc}")
        return None


#: The transports (connections) the code has been shipped through, in this process.
_shipped: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def ship(site: JobSite) -> str:
    path, data = bundle()
    if _shipped.get(site.head) == path:
        return path
    probe = site.head.run(["bash", "-c", _PROBE, "jw", path], idempotent=True, timeout=60)
    lines = probe.stdout.split("\n")
    version = next((ln.split()[1] for ln in lines if ln.startswith("python ")), "none")
    if version == "none":
        raise WatchUnavailable("the head has no python3")
    major, _, minor = version.partition(".")
    if not (major.isdigit() and minor.isdigit()) or (int(major), int(minor)) < (3, 8):
        raise WatchUnavailable(f"the head's python3 is {version}; the watch needs 3.8+")
    if "have" not in lines:
        how = "replace" if "damaged" in lines else "put"
        put = site.head.run(["python3", "-I", "-c", _EXTRACT, path, how], input=data,
                            timeout=120)
        if not put.ok:
            raise WatchUnavailable(f"cannot put the watch's code on the head: "
                                   f"{put.tail(1) or put.exit_status}")
    _shipped[site.head] = path
    return path


def run_argv(path: str, *args: str) -> list[str]:
    return ["python3", "-I", f"{path}/run.py", *args]


def order(plan: JobPlan, site: JobSite, workers: list[dict[str, Any]] | None = None,
          notify: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the head is given: the plan, the config as plain data, how it reaches the
    workers whose stop it runs, and where it sends the result (secrets: the order is
    private on the head and never printed)."""
    data = {"plan": plan.to_dict(), "config": dict(site.config),
            "version": jobwaiter.__version__, "workers": workers or []}
    if notify:
        data["notify"] = notify
    return data


def notify_of(req: JobRequest) -> dict[str, Any] | None:
    """``--notify``/``--notify-command`` as the order carries them."""
    if not req.notify and not req.notify_command:
        return None
    return {"urls": list(req.notify), "command": req.notify_command}


KEYS_DIR = workerkey.KEYS_DIR
#: Uploads a file from stdin to the head, private: bash -c SCRIPT jw PATH.
_PUT_PRIVATE = 'umask 077; mkdir -p "${1%/*}" && cat > "$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"'


def stopped_workers(plan: JobPlan) -> set[str]:
    """The workers the head reaches for the stop after this job, to see their jobs and to
    stop them (none without ``--stop``)."""
    if plan.stop is None:
        return set()
    return {w.node for w in plan.stop.workers}


def worker_access(site: JobSite, ids: set[str],
                  stop: StopPlan | None = None) -> list[dict[str, Any]]:
    """How the head reaches the workers ``ids``: the key of ``head_to_workers`` put on the
    head (0600 under ``~/.jobwaiter/keys``), the head's own ``~/.ssh`` (``head_ssh``), or,
    with neither configured, a key of the head's own that jobwaiter sets up once asked
    (``jobs.workerkey``; WatchUnavailable when the answer is no); with a key, this machine's
    known host keys of the workers, used there with strict host-key checking."""
    if not ids:
        return []
    how = site.config.get("head_to_workers") or {}
    auth = site.config.get("auth") or {}
    key_path = None
    credentials = "auth.ssh_user and head_to_workers.key_file"
    if how.get("key_file"):
        data = Path(how["key_file"]).read_bytes()
        key_path = f"{KEYS_DIR}/{site.cluster}-{hashlib.sha256(data).hexdigest()[:12]}"
        site.head.run(["bash", "-c", _PUT_PRIVATE, "jw", key_path], input=data,
                      timeout=60).check("putting the head's key for the workers there")
    elif how.get("head_ssh"):
        credentials = "auth.ssh_user and the head's own ~/.ssh (head_to_workers.head_ssh)"
    else:
        workers = [n for n in site.nodes if n.id in ids]
        if not site.confirm(f"let the head of cluster {site.cluster} reach its "
                            f"{len(workers)} worker(s) with a key of its own, made on the "
                            "head (each worker lets it read jobs and run its stop only)"):
            raise WatchUnavailable("the head needs a way to the workers: set head_to_workers "
                                   "in the config, or let jobwaiter set up a key of the "
                                   "head's own (-y; docs/watch.md)")
        key_path = workerkey.set_up(site, stop or site.stop_plan(), workers)
        credentials = f"the head's own key ~/{key_path} (set up by jobwaiter)"
    known = None
    if key_path is not None:
        lines = _known_lines(auth.get("known_hosts_file"), site, ids)
        known = f"{KEYS_DIR}/{site.cluster}-known_hosts"
        site.head.run(["bash", "-c", _PUT_PRIVATE, "jw", known], input=lines.encode(),
                      timeout=60).check("putting the workers' host keys on the head")
    return [{"id": n.id, "address": n.ip, "user": auth.get("ssh_user"),
             "port": auth.get("ssh_port"), "identity_file": key_path,
             "known_hosts_file": known, "connect_timeout": auth.get("connect_timeout", 10),
             "options": [[k, str(v)] for k, v in (auth.get("ssh_options") or {}).items()],
             "credentials": credentials}
            for n in site.nodes if n.id in ids]


def _known_lines(known_hosts: str | None, site: JobSite, wanted: set[str]) -> str:
    """The lines of this machine's known_hosts that name the workers (``ssh-keygen -F``)."""
    import subprocess

    from jobwaiter.transport.address import parse_host

    path = known_hosts or str(Path.home() / ".ssh" / "known_hosts")
    auth_port = (site.config.get("auth") or {}).get("ssh_port")
    lines = []
    for node in site.nodes:
        if node.id not in wanted:
            continue
        host, port = parse_host(node.ip)
        port = port or auth_port
        name = f"[{host}]:{port}" if port and port != 22 else host
        found = subprocess.run(["ssh-keygen", "-F", name, "-f", path], capture_output=True,
                               text=True, check=False)
        keys = [ln for ln in found.stdout.splitlines() if ln and not ln.startswith("#")]
        if not keys:
            raise WatchUnavailable(f"this machine knows no host key of worker {node.ip} "
                                   f"({path}) to give the head; connect to it once first")
        lines += keys
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class HeadWatch:
    """The head's watch, made ready before a launch: where its code is on the head, and how
    the head reaches the workers (tried from the head)."""

    path: str
    workers: list[dict[str, Any]]


def setup(site: JobSite, plan: JobPlan, mode: str) -> HeadWatch | None:
    """Ship the head's code and give the head what it needs to reach the workers, trying
    each from the head: None when the client watches instead (``auto``, said by a warning);
    UsageError for what ``--watch head`` cannot have, and for a ``head_to_workers`` that the
    workers refuse (nothing is launched)."""
    path = prepare(site, mode)
    if path is None:
        return None
    try:
        workers = worker_access(site, stopped_workers(plan), plan.stop)
    except (WatchUnavailable, CommandError) as exc:
        why = str(exc).splitlines()[0]
        if mode == "head":
            raise UsageError(f"the head cannot watch this job: {why}") from None
        site.reporter.warn(f"watching from this client: {why}")
        return None
    check_reach(site, path, workers)
    return HeadWatch(path, workers)


def check_reach(site: JobSite, path: str, workers: list[dict[str, Any]]) -> None:
    """Try each worker from the head as its watch will reach it; UsageError naming the key
    when one is refused."""
    if not workers:
        return
    answer = site.head.run(run_argv(path, "reach"), input=json.dumps(workers).encode(),
                           timeout=90, idempotent=True)
    lines = [ln.split(maxsplit=2) for ln in answer.stdout.splitlines()]
    failed = [w[2] if len(w) > 2 and w[1] in w[2] else f"{w[1]}: {w[2] if len(w) > 2 else '?'}"
              for w in lines if w[:1] == ["fail"] and len(w) > 1]
    reached = {w[1] for w in lines if w[:1] == ["ok"] and len(w) > 1}
    missing = [str(w["id"]) for w in workers if str(w["id"]) not in reached
               and not any(str(w["id"]) in f for f in failed)]
    failed += [f"{m}: no answer" for m in missing]
    if failed or not answer.ok:
        how = site.config.get("head_to_workers") or {}
        key = (f"head_to_workers.key_file {how['key_file']}" if how.get("key_file")
               else "head_to_workers (the head's own ~/.ssh)" if how.get("head_ssh")
               else f"the head's own key (~/{workerkey.key_path(site.cluster)})")
        raise UsageError(f"{key}: the head cannot reach "
                         f"{'; '.join(failed) or answer.tail(1) or 'the workers'}; nothing "
                         "was launched")


def arm(site: JobSite, path: str, plan: JobPlan, notify: dict[str, Any] | None = None,
        workers: list[dict[str, Any]] | None = None) -> str:
    """Hand the job to the head's watcher; returns the watcher's pid once it has taken the
    job. WatchUnavailable when it did not confirm."""
    if workers is None:
        try:
            workers = worker_access(site, stopped_workers(plan), plan.stop)
        except CommandError as exc:
            raise WatchUnavailable(str(exc).splitlines()[0]) from None
    # Arming twice is harmless: the order is written again and the watcher already has it.
    answer = site.head.run(run_argv(path, "arm"),
                           input=json.dumps(order(plan, site, workers, notify)).encode(),
                           timeout=60, idempotent=True)
    words = answer.stdout.split(maxsplit=1)
    if answer.ok and words[:1] == ["watching"]:
        return words[1].strip() if len(words) > 1 else "?"
    why = answer.stdout.strip()
    why = why[len("not-watching "):] if why.startswith("not-watching ") else why
    why = why or answer.tail(2)
    raise WatchUnavailable(why or f"exit status {answer.exit_status}")


@dataclass(frozen=True)
class Followed:
    """How following a job ended: its ``result``, or ``unwatched`` (why nobody watches it on
    the head any more; ``result`` then holds what was recorded, if anything)."""

    result: JobResult | None = None
    unwatched: str = ""
    #: False for what the client says itself (it stopped following, the head is unreachable).
    from_head: bool = True


def follow(
    site: JobSite,
    path: str,
    names: list[str],
    on_result: Callable[[str, Followed], None],
    deadline: float | None = None,
    reconnect_for: float = 900.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Follow the head's watch of ``names`` over one connection, calling ``on_result`` as each
    job's watch ends; returns the names still pending at ``deadline`` (a ``clock()`` time).
    An unreachable head is retried for ``reconnect_for`` seconds, then TransportError."""
    pending = list(names)
    start = clock()
    down_since: float | None = None
    # Results recorded while their stop goes on: if the head's own stop commands take the
    # head away, that record is the last word.
    recorded: dict[str, JobResult] = {}

    def handle(stream: str, line: str) -> None:
        try:
            event = json.loads(line) if stream == "stdout" else None
        except ValueError:
            return
        if not isinstance(event, dict) or event.get("job") not in pending:
            return
        name = str(event["job"])
        if event.get("event") == "progress":
            who = f"{name}: " if len(names) > 1 else ""
            site.reporter.progress(f"{who}{event.get('message')}", clock() - start)
        elif event.get("event") == "recorded":
            partial = _followed(event).result
            if partial is not None:
                recorded[name] = partial
        elif event.get("event") in ("result", "unwatched", "unknown"):
            pending.remove(name)
            on_result(name, _followed(event))

    while pending:
        budget = FOLLOW_FOR if deadline is None else min(FOLLOW_FOR, deadline - clock())
        if budget <= 0:
            if down_since is not None:
                raise TransportError("the head was unreachable until the time was up")
            return pending
        try:
            # A call that runs well past its budget is a hung connection, not a slow head.
            site.head.run(run_argv(path, "follow", "--for", f"{budget:.1f}", *pending),
                          idempotent=True, timeout=budget + HUNG_GRACE, output=handle)
        except TransportError as exc:
            down_since = down_since or clock()
            gone = [n for n in pending if n in recorded]
            if gone and clock() - down_since > HEAD_GONE_AFTER:
                for name in gone:
                    pending.remove(name)
                    on_result(name, Followed(_after_head_stop(recorded[name], exc)))
                continue
            if clock() - down_since > reconnect_for:
                raise
            site.reporter.progress(f"head unreachable, reconnecting ({exc})",
                                   clock() - start)
            pause = min(5.0, max(0.5, clock() - down_since))
            if deadline is not None:
                pause = max(0.0, min(pause, deadline - clock()))
            sleep(pause)
            continue
        if down_since is not None:
            site.reporter.progress("reconnected", clock() - start)
        down_since = None
    return pending


#: How long a head that went away during the stop after a job (its own stop commands may
#: power it off) is given to answer again, before what it recorded is the result.
HEAD_GONE_AFTER = 20.0
HEAD_STOP_BEGAN = "the head's stop commands started"


def _after_head_stop(result: JobResult, exc: Exception) -> JobResult:
    """The last record of a job whose head went away during the stop (its own stop commands
    may power it off): the job's result stands; the stop's end is unknown, and said so."""
    began = result.stop is not None and result.stop.detail == HEAD_STOP_BEGAN
    what = HEAD_STOP_BEGAN if began else "the stop was under way"
    stop = StopReport(True, None, f"{what}; the head has not answered since ({exc}): it may "
                                  "have powered off")
    return replace(result, stop=stop)


def _followed(event: dict[str, Any]) -> Followed:
    data = event.get("result")
    result = None
    if isinstance(data, dict):
        try:
            result = JobResult.from_dict(data)
        except (ValueError, KeyError, TypeError):
            result = None
    if event.get("event") == "result" and result is not None:
        return Followed(result)
    if event.get("event") == "unknown":
        return Followed(None, "the job's record is gone from the head")
    return Followed(result, str(event.get("why") or "the head's watch ended without a result"))


def detached(base: JobResult, pid: str, resume: str = "") -> JobResult:
    return JobResult(Outcome.DETACHED, base.job, session=base.session,
                     session_kind=base.session_kind, log_path=base.log_path,
                     started_at=base.started_at,
                     message=f"the head watches the job (watcher pid {pid}){resume}")
