"""The spark waiter on YARN, end to end through the head, against a replayed ResourceManager.

The real thing (Hadoop YARN 3.5.0's ResourceManager and NodeManager, Spark applications in
cluster mode) is tests/test_yarn_cluster.py. Here, for timings and faults a real
ResourceManager cannot be made to show on cue, a small local HTTP server answers
``/ws/v1/cluster/apps`` and ``/ws/v1/cluster/metrics`` the way the Hadoop documentation
describes them (``{"apps": {"app": [...]}}`` or
``{"apps": null}``; ``states``, ``startedTimeBegin``, ``finishedTimeBegin`` and
``applicationTypes`` filters; app objects with ``id``, ``name``, ``state``, ``finalStatus``,
``startedTime``, ``finishedTime``). Jobs really run on the (local) head and the waiter's
requests really go out from there.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from jobwaiter.cluster.cluster import Cluster
from jobwaiter.jobs.result import Outcome
from jobwaiter.waiters.loop import Pacing, WaitLoop

ACTIVE = {"NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING"}


@dataclass
class RMApp:
    """An application whose state follows ``timeline``: (seconds after submission, state,
    finalStatus)."""

    id: str
    name: str
    submitted: float  # epoch seconds
    timeline: list[tuple[float, str, str]]
    type: str = "SPARK"

    def now(self) -> tuple[str, str, int]:
        elapsed = time.time() - self.submitted
        state, final, at = self.timeline[0][1], self.timeline[0][2], 0.0
        for offset, s, f in self.timeline:
            if elapsed >= offset:
                state, final, at = s, f, offset
        finished = int((self.submitted + at) * 1000) if state not in ACTIVE else 0
        return state, final, finished

    def as_json(self) -> dict[str, object]:
        state, final, finished = self.now()
        started = int(self.submitted * 1000)
        return {
            "id": self.id, "user": "hadoop", "name": self.name, "queue": "default",
            "state": state, "finalStatus": final,
            "progress": 100.0 if finished else 10.0, "trackingUI": "ApplicationMaster",
            "applicationType": self.type, "startedTime": started, "finishedTime": finished,
            "elapsedTime": (finished or int(time.time() * 1000)) - started,
        }


# Timelines, in seconds after submission.
SUCCEEDS = [(0, "NEW", "UNDEFINED"), (0.2, "NEW_SAVING", "UNDEFINED"),
            (0.4, "SUBMITTED", "UNDEFINED"), (0.6, "ACCEPTED", "UNDEFINED"),
            (0.8, "RUNNING", "UNDEFINED"), (1.6, "FINISHED", "SUCCEEDED")]
FAILS = [(0, "ACCEPTED", "UNDEFINED"), (0.5, "RUNNING", "UNDEFINED"),
         (1.0, "FAILED", "FAILED")]
KILLED = [(0, "RUNNING", "UNDEFINED"), (1.0, "KILLED", "KILLED")]
ENDS_BADLY = [(0, "RUNNING", "UNDEFINED"), (1.0, "FINISHED", "FAILED")]
STUCK_SAVING = [(0, "NEW_SAVING", "UNDEFINED")]
FOREVER = [(0, "RUNNING", "UNDEFINED")]


@dataclass
class FakeRM:
    """The replayed ResourceManager. ``POST /submit/<kind>?name=N`` is how a test job
    "submits" an application (as spark-submit would through the YARN client);
    ``POST /finish/<app id>?final=S`` ends a ``running`` one (as its ApplicationMaster
    would report)."""

    apps: list[RMApp] = field(default_factory=list)
    queries: list[dict[str, list[str]]] = field(default_factory=list)
    port: int = 0
    seq: int = 0

    def finish(self, app_id: str, final: str) -> None:
        """The application ends now: FINISHED/SUCCEEDED, or FAILED/FAILED."""
        app = next(a for a in self.apps if a.id == app_id)
        state = "FINISHED" if final == "SUCCEEDED" else "FAILED"
        app.timeline.append((time.time() - app.submitted, state, final))

    def add(self, name: str, timeline: list[tuple[float, str, str]], ago: float = 0.0,
            app_type: str = "SPARK") -> RMApp:
        self.seq += 1
        a = RMApp(f"application_1700000000000_{self.seq:04d}", name, time.time() - ago,
                  timeline, app_type)
        self.apps.append(a)
        return a

    def listing(self, query: dict[str, list[str]]) -> dict[str, object]:
        def param(key: str) -> str | None:
            return query[key][0] if key in query else None

        states = {s.strip().upper() for s in (param("states") or "").split(",") if s.strip()}
        types = {t.strip().upper() for t in (param("applicationTypes") or "").split(",")
                 if t.strip()}
        rows = []
        for a in self.apps:
            row = a.as_json()
            started, finished = int(str(row["startedTime"])), int(str(row["finishedTime"]))
            if states and row["state"] not in states:
                continue
            if types and str(row["applicationType"]).upper() not in types:
                continue
            if param("startedTimeBegin") and started < int(param("startedTimeBegin") or 0):
                continue
            if param("finishedTimeBegin") and (not finished or
                                               finished < int(param("finishedTimeBegin") or 0)):
                continue
            rows.append(row)
        return {"apps": {"app": rows} if rows else None}

    def metrics(self) -> dict[str, object]:
        # As documented: appsPending counts ACCEPTED, appsRunning RUNNING; NEW, NEW_SAVING and
        # SUBMITTED are in neither.
        states = [a.now()[0] for a in self.apps]
        return {"clusterMetrics": {"appsSubmitted": len(states),
                                   "appsPending": states.count("ACCEPTED"),
                                   "appsRunning": states.count("RUNNING")}}

    def serve(self) -> ThreadingHTTPServer:
        rm = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, body: object, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/ws/v1/cluster/apps":
                    query = parse_qs(url.query)
                    rm.queries.append(query)
                    self._send(rm.listing(query))
                elif url.path == "/ws/v1/cluster/metrics":
                    self._send(rm.metrics())
                else:
                    self._send({"RemoteException": {"message": "not found"}}, 404)

            def do_POST(self) -> None:
                url = urlparse(self.path)
                action, _, arg = url.path.strip("/").partition("/")
                query = parse_qs(url.query)
                if action == "finish":  # POST /finish/<app id>?final=SUCCEEDED|FAILED
                    rm.finish(arg, query["final"][0])
                    self._send({"id": arg})
                    return
                a = rm.add(query.get("name", ["job"])[0], list(TIMELINES[arg]))
                self._send({"id": a.id})

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return server


TIMELINES = {"succeeds": SUCCEEDS, "fails": FAILS, "killed": KILLED,
             "ends-badly": ENDS_BADLY, "stuck": STUCK_SAVING,
             "running": FOREVER}  # until POST /finish/<app id>


@pytest.fixture
def rm() -> Iterator[FakeRM]:
    fake = FakeRM()
    server = fake.serve()
    yield fake
    server.shutdown()
    server.server_close()


def yarn_cluster(port: int, settle: float = 0.5) -> Cluster:
    return Cluster({
        "cluster_name": "yarn", "provider": {"type": "local"},
        "runtime": {"types": ["spark"], "spark": {
            "cluster_manager": "yarn", "resource_manager": f"127.0.0.1:{port}",
            "settle_seconds": settle}},
    })


def submit_cmd(rm: FakeRM, *kinds: str) -> str:
    """A job that submits applications to the ResourceManager and returns at once."""
    posts = "; ".join(
        f"urllib.request.urlopen(urllib.request.Request("
        f"'http://127.0.0.1:{rm.port}/submit/{k}?name=app{i}', data=b''))"
        for i, k in enumerate(kinds))
    return f"python3 -c \"import urllib.request; {posts}\""


def fast_loop() -> WaitLoop:
    return WaitLoop(Pacing(first=0.05, factor=1.5, cap=0.2))


def test_waits_through_the_new_submitted_gap_until_finished(env, rm) -> None:  # type: ignore[no-untyped-def]
    with yarn_cluster(rm.port) as cluster:
        t0 = time.time()
        result = cluster.exec(submit_cmd(rm, "succeeds"), job_waiter="spark", loop=fast_loop())
        took = time.time() - t0
    assert result.outcome is Outcome.SUCCEEDED, result.message
    (app,) = rm.apps
    assert took >= 1.6, "returned before the application finished"
    detail = result.waiters[0].detail
    assert f"{app.id} (app0) FINISHED/SUCCEEDED" in str(detail)
    # Every query named the states it wanted and the job's start (default scope).
    assert rm.queries
    for q in rm.queries:
        assert "states" in q and "startedTimeBegin" in q and q["applicationTypes"] == ["SPARK"]


def test_app_stuck_in_new_saving_is_not_done_though_metrics_show_nothing(env, rm) -> None:  # type: ignore[no-untyped-def]
    with yarn_cluster(rm.port) as cluster:
        result = cluster.exec(submit_cmd(rm, "stuck"), job_waiter="spark", job_timeout=2,
                              loop=fast_loop())
        assert result.outcome is Outcome.TIMEOUT
    metrics = rm.metrics()["clusterMetrics"]
    assert metrics == {"appsSubmitted": 1, "appsPending": 0, "appsRunning": 0}  # type: ignore[comparison-overlap]


@pytest.mark.parametrize(
    ("kind", "shows"),
    [("fails", "FAILED"), ("killed", "KILLED"), ("ends-badly", "FINISHED/FAILED")],
)
def test_failed_or_killed_app_fails_the_wait_naming_it(env, cli, rm, kind: str, shows: str) -> None:  # type: ignore[no-untyped-def]
    cfg = env.write_config(
        "cluster_name: yarn\nprovider: {type: local}\nruntime:\n  types: [spark]\n"
        f"  spark: {{cluster_manager: yarn, resource_manager: '127.0.0.1:{rm.port}', "
        "settle_seconds: 0.5}\n", "yarn.yaml")
    r = cli("exec", str(cfg), submit_cmd(rm, "succeeds", kind), "--job-waiter", "spark",
            "--json")
    assert r.code == 126, r.err
    ok, bad = rm.apps
    spark = r.json["waiters"][0]
    assert spark["outcome"] == "failed"
    assert f"{bad.id} (app1) {shows}" in spark["detail"]
    assert ok.id not in spark["detail"], "only the failed application is named"


def test_started_time_begin_keeps_earlier_apps_out_of_the_default_scope(env, rm) -> None:  # type: ignore[no-untyped-def]
    rm.add("nightly", FOREVER, ago=3600)
    rm.add("crashed-yesterday", [(0, "FAILED", "FAILED")], ago=86400)
    rm.add("mapreduce", FOREVER, app_type="MAPREDUCE")
    with yarn_cluster(rm.port) as cluster:
        result = cluster.exec(submit_cmd(rm, "succeeds"), job_waiter="spark", loop=fast_loop())
        assert result.outcome is Outcome.SUCCEEDED, result.message
        # spark[all] waits for the nightly application too, and the old failure is not its
        # concern.
        result = cluster.exec("true", job_waiter="spark[all]", job_timeout=2, loop=fast_loop())
        assert result.outcome is Outcome.TIMEOUT
    all_queries = rm.queries[-2:]
    assert any("finishedTimeBegin" in q for q in all_queries)
    assert not any("startedTimeBegin" in q for q in all_queries)


def test_resource_manager_unreachable_for_a_while(env, rm) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    late = FakeRM(port=port)
    seen: list[str] = []
    servers = []

    def come_up() -> None:
        time.sleep(1.5)
        late.add("late", SUCCEEDS, ago=0)
        servers.append(late.serve())

    threading.Thread(target=come_up, daemon=True).start()
    loop = WaitLoop(Pacing(first=0.05, factor=1.5, cap=0.2),
                    progress=lambda message, elapsed: seen.append(message))
    try:
        with yarn_cluster(port) as cluster:
            t0 = time.time()
            result = cluster.exec("true", job_waiter="spark[all]", loop=loop)
            took = time.time() - t0
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert took >= 1.5
    assert any("YARN ResourceManager" in m and "unreachable" in m and "retrying" in m
               for m in seen), seen
    assert "FINISHED/SUCCEEDED" in str(result.waiters[0].detail)


def test_unreachable_until_the_timeout_is_a_timeout_not_success(env, cli) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = env.write_config(
        "cluster_name: yarn\nprovider: {type: local}\nruntime:\n  types: [spark]\n"
        f"  spark: {{cluster_manager: yarn, resource_manager: '127.0.0.1:{port}', "
        "settle_seconds: 0}\n", "yarn.yaml")
    r = cli("exec", str(cfg), "true", "--job-waiter", "spark", "--job-timeout", "1.5")
    assert r.code == 124
    assert "unreachable (Connection refused), retrying" in r.err
