"""The cluster's stop as one transaction (jobs.transaction) and --stop's rule (jobs.stop).

The journal is the real one: ``txn.sh`` and ``control.sh`` run in bash with a private HOME per
node; the other commands of a stop are answered by handlers, so each test controls what every
node does and sees what ran, in which order, without a cluster."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from jobwaiter.cluster.control import control_argv
from jobwaiter.errors import TransportError
from jobwaiter.jobs import transaction
from jobwaiter.jobs.plan import NodeStop, StopCommand, StopPlan
from jobwaiter.jobs.result import JobResult, Outcome
from jobwaiter.jobs.site import JobSite
from jobwaiter.jobs.stop import judge, look, settle
from jobwaiter.jobs.transaction import read_journal, stop_cluster, txn_argv
from jobwaiter.sessions import dump_argv
from jobwaiter.transport.base import CommandResult
from jobwaiter.transport.mock import MockTransport
from jobwaiter.transport.node import Node

Handler = Callable[[tuple[str, ...], "bytes | None"], "CommandResult | tuple[int, str]"]


def _bash_or(home: Path, other: Handler | None = None) -> Handler:
    """Runs bash argv for real with HOME=home (the journal, control.sh); the rest goes to
    ``other``."""

    def handler(argv: tuple[str, ...], stdin: bytes | None) -> CommandResult | tuple[int, str]:
        if argv[0] == "bash" or other is None:
            done = subprocess.run(list(argv), input=stdin or b"", capture_output=True,
                                  env={**os.environ, "HOME": str(home)}, timeout=60,
                                  check=False)
            return CommandResult(argv, done.returncode, done.stdout.decode(),
                                 done.stderr.decode())
        return other(argv, stdin)

    return handler


class Rig:
    """A head and workers, each with its own HOME; ``ran`` lists what their stop commands
    did, in order."""

    def __init__(self, root: Path, workers: dict[str, Handler | None] | None = None) -> None:
        self.root = root
        self.ran: list[str] = []
        self.lock = threading.Lock()
        self.head_home = root / "head"
        self.head_home.mkdir()
        self.nodes = [Node("head", "head", MockTransport(_bash_or(self.head_home), "head"),
                           is_head=True)]
        parts = []
        for name, handler in (workers or {}).items():
            self.nodes.append(Node(name, name, MockTransport(handler or self._ok(name), name)))
            parts.append(NodeStop(name, (StopCommand(("stop-engine", name), "spark"),
                                         StopCommand(("own-stop", name)))))
        log = self.head_home / "head.log"
        self.plan = StopPlan("c", NodeStop("head", (StopCommand(tuple(control_argv(
            "c", "stop", [f"sleep 0.3; echo stopped >> {log}"]))),)), tuple(parts))

    def _ok(self, name: str) -> Handler:
        def handler(argv: tuple[str, ...], stdin: bytes | None) -> tuple[int, str]:
            with self.lock:
                self.ran.append(f"{name}:{argv[0]}")
            return (0, f"{argv[0]} done\n")
        return handler

    def head_stops(self) -> int:
        log = self.head_home / "head.log"
        return len(log.read_text().splitlines()) if log.exists() else 0

    def txn(self, *args: str, stdin: bytes = b"{}") -> str:
        done = subprocess.run(txn_argv("c", *args), input=stdin, capture_output=True,
                              env={**os.environ, "HOME": str(self.head_home)}, check=True)
        return done.stdout.decode()

    def abandon(self, *steps: tuple[str, str, int | None]) -> None:
        """A stop begun by an owner that died (a lease of 0 s) after these steps."""
        import json

        token = self.txn("begin", "a watcher that was killed", "0",
                         stdin=json.dumps({"stop": self.plan.to_dict()}).encode()).split()[1]
        for node, what, rc in steps:
            self.txn("step", token, node, what, *([] if rc is None else [str(rc)]))


@pytest.fixture
def rig(tmp_path: Path) -> Callable[..., Rig]:
    return lambda workers=None: Rig(tmp_path, workers)


# -- the transaction ---------------------------------------------------------------------


def test_workers_stop_in_parallel_then_the_head(rig) -> None:  # type: ignore[no-untyped-def]
    both = threading.Barrier(2, timeout=5)
    ran: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> Handler:
        def handler(argv: tuple[str, ...], stdin: bytes | None) -> tuple[int, str]:
            if argv[0] == "stop-engine":
                both.wait()  # the two workers' parts run at the same time
            with lock:
                ran.append(f"{name}:{argv[0]}")
            return (0, "")
        return handler

    r = rig({"w1": worker("w1"), "w2": worker("w2")})
    report = stop_cluster(r.plan, r.nodes, "a test")
    assert report.state == "done" and report.ran and report.ok, report
    assert report.detail == "stopped cluster c (head: 1 command; workers: 2 of 2)"
    assert sorted(ran) == ["w1:own-stop", "w1:stop-engine", "w2:own-stop", "w2:stop-engine"]
    assert r.head_stops() == 1 and [n.node for n in report.nodes] == ["w1", "w2", "head"]
    journal = read_journal(r.nodes[0], "c")
    assert journal.outcome == "done" and journal.stopped and not journal.open
    assert set(journal.ended) == {"w1", "w2", "head"}


def test_a_worker_that_fails_keeps_the_head_up(rig) -> None:  # type: ignore[no-untyped-def]
    def broken(argv: tuple[str, ...], stdin: bytes | None) -> CommandResult:
        return CommandResult(argv, 3 if argv[0] == "stop-engine" else 0, "", "engine stuck")

    r = rig({"w1": None, "w2": broken})
    report = stop_cluster(r.plan, r.nodes, "a test")
    assert report.state == "failed" and report.ok is False
    assert "stop failed on w2: spark: engine stuck" in report.detail
    assert report.detail.endswith("the head stays up")
    assert r.head_stops() == 0 and "w1:own-stop" in r.ran
    steps = {n.node: n.state for n in report.nodes}
    assert steps == {"w1": "done", "w2": "failed", "head": "not_run"}
    # A later stop tries again (the failed worker's part, and the head once it can).
    again = stop_cluster(r.plan, r.nodes, "a test")
    assert again.state == "failed" and r.head_stops() == 0


def test_an_unreachable_worker_keeps_the_head_up(rig) -> None:  # type: ignore[no-untyped-def]
    def gone(argv: tuple[str, ...], stdin: bytes | None) -> CommandResult:
        raise TransportError("w1: connection refused")

    r = rig({"w1": gone})
    report = stop_cluster(r.plan, r.nodes, "a test")
    assert report.state == "failed" and "w1: unreachable: w1: connection refused" in report.detail
    assert r.head_stops() == 0


def test_a_stopped_cluster_is_not_stopped_again(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig({"w1": None})
    assert stop_cluster(r.plan, r.nodes, "first").state == "done"
    r.ran.clear()
    later = time.time()
    again = stop_cluster(r.plan, r.nodes, "second", asked=later + 1)
    assert (again.state, again.ran, again.ok) == ("not_run", False, None), again
    assert "already stopped" in again.detail and r.ran == [] and r.head_stops() == 1


def test_stops_at_once_run_the_commands_once(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig({"w1": None})
    reports: list[transaction.StopReport] = []
    asked = time.time()

    def one(i: int) -> None:
        reports.append(stop_cluster(r.plan, r.nodes, f"stop {i}", asked=asked))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r.head_stops() == 1 and r.ran.count("w1:own-stop") == 1
    ran = [x for x in reports if x.ran]
    assert len(ran) == 1 and ran[0].state == "done"
    joined = [x for x in reports if not x.ran]
    assert len(joined) == 4 and all(x.state == "done" and x.ok for x in joined), joined
    assert all("(by stop " in x.detail for x in joined)


def test_a_stop_asked_while_one_runs_waits_and_reports_it(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig()
    token = r.txn("begin", "autostop", "60").split()[1]
    waited: list[str] = []

    def finish_later() -> None:
        time.sleep(0.5)
        (r.head_home / ".jobwaiter" / "clusters" / "c.state").write_text("stopped\n")
        r.txn("finish", token, "done", stdin=b"stopped cluster c\n")

    threading.Thread(target=finish_later).start()
    report = stop_cluster(r.plan, r.nodes, "jobwaiter stop", on_wait=waited.append)
    assert (report.state, report.ran) == ("done", False)
    assert report.detail == "stopped cluster c (by autostop)" and waited[0] == "autostop"
    assert r.head_stops() == 0


# -- resumed: whoever next begins a stop finishes one that its owner left -----------------


def test_an_abandoned_stop_before_any_step_runs_them_all(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig({"w1": None})
    r.abandon()
    report = stop_cluster(r.plan, r.nodes, "the next one")
    assert report.state == "done" and r.head_stops() == 1 and "w1:own-stop" in r.ran


def test_a_worker_step_cut_off_is_reported_and_rerun_only_when_asked(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig({"w1": None, "w2": None})
    r.abandon(("w2", "began", None), ("w2", "ended", 0), ("w1", "began", None))
    report = stop_cluster(r.plan, r.nodes, "the watcher, again")
    assert report.state == "interrupted" and report.ok is None and report.ran
    assert "stop interrupted on w1: began" in report.detail
    assert "the head stays up" in report.detail and r.head_stops() == 0
    assert r.ran == []  # w2 had stopped; w1's step may have run: neither is run blindly
    rerun = stop_cluster(r.plan, r.nodes, "jobwaiter stop", rerun_interrupted=True)
    assert rerun.state == "done" and r.head_stops() == 1
    assert r.ran == ["w1:stop-engine", "w1:own-stop"]


def test_a_head_step_that_finished_is_not_run_again(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig({"w1": None})
    r.abandon(("w1", "began", None), ("w1", "ended", 0), ("head", "began", None))
    # Its stop commands finished (control.sh records the state), the journal had no time.
    (r.head_home / ".jobwaiter" / "clusters" / "c.state").write_text("stopped\n")
    report = stop_cluster(r.plan, r.nodes, "the next one")
    assert report.state == "done" and report.ran and r.head_stops() == 0 and r.ran == []


def test_a_head_step_cut_off_is_interrupted_not_unrun(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig()
    r.abandon(("head", "began", None))
    report = stop_cluster(r.plan, r.nodes, "the next one")
    assert report.state == "interrupted" and report.ran and r.head_stops() == 0
    assert "stop interrupted on head" in report.detail


def test_a_fresh_lease_is_not_taken_over(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig()
    r.txn("begin", "a live owner", "60")
    journal = read_journal(r.nodes[0], "c")
    assert journal.open and not journal.abandoned and journal.owner == "a live owner"


# -- the rule ----------------------------------------------------------------------------

RULE = [
    # outcome, busy, disarmed -> action
    (Outcome.SUCCEEDED, [], False, "run"),
    (Outcome.FAILED, [], False, "run"),
    (Outcome.KILLED, [], False, "run"),  # kill --stop, or --max-runtime
    (Outcome.WAITER_FAILED, [], False, "run"),
    (Outcome.LOST, [], False, "run"),
    (Outcome.SUCCEEDED, ["jobwaiter-1 on w1"], False, "defer"),
    (Outcome.FAILED, ["jobwaiter-1"], False, "defer"),
    (Outcome.LOST_RUNNING, [], False, "defer"),
    (Outcome.TIMEOUT, [], False, "not_run"),
    (Outcome.INTERRUPTED, [], False, "not_run"),
    (Outcome.UNREACHABLE, ["x"], False, "not_run"),
    (Outcome.SUCCEEDED, [], True, "disarmed"),
    (Outcome.SUCCEEDED, ["x"], True, "disarmed"),
]


@pytest.mark.parametrize(("outcome", "busy", "disarmed", "action"), RULE)
def test_the_rule(outcome: Outcome, busy: list[str], disarmed: bool, action: str) -> None:
    verdict = judge(outcome, busy, disarmed)
    assert verdict.action == action
    if action == "defer":
        assert verdict.why
    if outcome is Outcome.LOST_RUNNING:
        assert "processes left of this job" in verdict.why


def _dump(*records: tuple[str, str, str]) -> str:
    """Dump lines for (name, cluster, extra field lines)."""
    out = []
    for name, cluster, extra in records:
        out += [f"@@ {name}", f'meta {{"cluster": "{cluster}", "label": null}}', "pid 1",
                "started 1.0", *extra.splitlines()]
    return "\n".join(out) + "\n"


def _site(dumps: dict[str, Callable[[], str]]) -> JobSite:
    def node(name: str) -> Node:
        def handler(argv: tuple[str, ...], stdin: bytes | None) -> tuple[int, str]:
            return (0, dumps[name]())
        return Node(name, name, MockTransport(handler, name), is_head=name == "head")

    nodes = tuple(node(n) for n in dumps)
    return JobSite(cluster="c", node=nodes[0], nodes=nodes, config={}, runtime_waiters={},
                   stop_plan=lambda: StopPlan("c", NodeStop("head")))


def test_other_work_is_looked_for_on_every_node_of_the_cluster() -> None:
    site = _site({
        "head": lambda: _dump(("jobwaiter-aaa", "c", "status 0 2.0\nclaim disarmed"),
                              ("jobwaiter-bbb", "other", "wrapper alive"),
                              ("jobwaiter-ccc", "c", "status 0 2.0\nwatched head")),
        "w1": lambda: _dump(("jobwaiter-ddd", "c", "wrapper alive")),
    })
    busy, disarmed = look(site, "jobwaiter-aaa")
    # Another cluster's job does not count; a job whose head watch still waits does.
    assert busy == ["jobwaiter-ccc: its waiters", "jobwaiter-ddd on w1"] and disarmed


def test_a_deferred_stop_runs_once_the_other_work_has_ended(tmp_path: Path) -> None:
    looks = {"n": 0}

    def worker_dump() -> str:
        looks["n"] += 1
        alive = "wrapper alive" if looks["n"] < 3 else "status 0 5.0"
        return _dump(("jobwaiter-ddd", "c", alive))

    r = Rig(tmp_path)
    # The job's record, where its stop is claimed (sh/claim.sh).
    (r.head_home / ".jobwaiter" / "jobs" / "jobwaiter-aaa").mkdir(parents=True)
    dump = dump_argv()[2]
    journal = _bash_or(r.head_home)

    def head(argv: tuple[str, ...], stdin: bytes | None) -> CommandResult | tuple[int, str]:
        if argv[2] == dump:
            return (0, _dump(("jobwaiter-aaa", "c", "status 0 2.0")))
        return journal(argv, stdin)

    head_node = Node("head", "head", MockTransport(head, "head"), is_head=True)
    worker = _site({"w1": worker_dump}).nodes[0]
    site = JobSite(cluster="c", node=head_node, nodes=(head_node, worker), config={},
                   runtime_waiters={}, stop_plan=lambda: r.plan)
    deferred: list[str] = []
    slept: list[float] = []
    result = settle(site, r.plan, JobResult(Outcome.SUCCEEDED, "jobwaiter-aaa", ended_at=1.0),
                    "a test", on_deferred=lambda res: deferred.append(
                        res.stop.detail if res.stop else ""), sleep=slept.append)
    assert deferred == ["stop deferred: waiting for jobwaiter-ddd on w1"]
    assert slept == [1.0, 1.0] and result.stop is not None and result.stop.state == "done"
    assert r.head_stops() == 1
    # Claimed in the job's record: a second wait for it does not stop the cluster again.
    claim = r.head_home / ".jobwaiter" / "jobs" / "jobwaiter-aaa" / "stop.claim"
    assert claim.read_text() == "a test\n"


# -- what people read of a stop ----------------------------------------------------------


def test_a_dry_run_shows_each_nodes_stop_as_the_config_writes_it() -> None:
    from jobwaiter.jobs.plan import JobPlan
    from jobwaiter.jobs.watch import DryRun

    stop = StopPlan("c", NodeStop("head", (StopCommand(("stop-spark",), "spark"),
                                           StopCommand(tuple(control_argv(
                                               "c", "stop", ["echo 'a b'", "poweroff"]))))),
                    (NodeStop("w1", (StopCommand(tuple(control_argv("c.worker-w1", "stop",
                                                                    []))),)),))
    plan = JobPlan("jobwaiter-0123456789ab", "c", "head", "true", stop=stop)
    shown = DryRun(plan, "client").to_dict()["plan"]["stop"]
    assert shown == {"cluster": "c", "nodes": [
        {"node": "w1", "steps": [{"commands": []}]},
        {"node": "head", "steps": [{"runtime": "spark"},
                                   {"commands": ["echo 'a b'", "poweroff"]}]}]}
    assert "bash" not in str(shown)


def test_the_notification_has_one_line_for_chat_webhooks() -> None:
    import json

    from jobwaiter.watch.notify import payload

    result = JobResult(Outcome.FAILED, "jobwaiter-0123456789ab", exit_status=3)
    data = result.to_dict()
    data["stop"] = {"state": "done", "detail": "stopped cluster c (head: 1 command)"}
    body = json.loads(payload(data, "nightly", "c"))
    assert body["text"] == ("jobwaiter: job nightly (jobwaiter-0123456789ab) on cluster c: "
                            "failed (exit status 3); stop: stopped cluster c (head: 1 command)")
    assert body["stop"]["state"] == "done"
