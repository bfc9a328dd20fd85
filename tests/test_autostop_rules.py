"""Autostop's rules without waiting: the head's loop with an injected clock and sleep, a
lookout over mock transports, and what the client reads back (the dump's preamble)."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobwaiter.durations import parse_duration
from jobwaiter.jobs.autostop import parse_autostop
from jobwaiter.jobs.plan import NodeStop, StopCommand, StopPlan
from jobwaiter.runtimes.base import BUSY, IDLE, UNKNOWN, Activity, Runtime
from jobwaiter.sessions.present import Presence, parse_present
from jobwaiter.transport.base import CommandResult
from jobwaiter.transport.mock import MockTransport
from jobwaiter.transport.node import Node
from jobwaiter.watch import autostop

PLAN = StopPlan("t", NodeStop("head", (StopCommand(("stop-head",)),)), ())


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class ScriptedLookout(autostop.Lookout):
    """Busy while ``answers`` says so, one answer per look (the last one repeats)."""

    def __init__(self, answers: list[list[str]], stops: list[tuple[str, ...]]) -> None:
        def handler(argv: tuple[str, ...], stdin: bytes | None) -> CommandResult | tuple[int, str]:
            if argv[0] == "bash":  # the stop's journal (jobs/sh/txn.sh), for real
                done = subprocess.run(list(argv), input=stdin or b"", capture_output=True,
                                      check=False)
                return CommandResult(argv, done.returncode, done.stdout.decode(),
                                     done.stderr.decode())
            stops.append(argv)
            return 0, "stopped"

        super().__init__(Node("head", "127.0.0.1", MockTransport(handler), is_head=True), (),
                         (), "jobs")
        self.answers = answers
        self.looks = 0

    def busy(self) -> list[str]:
        self.looks += 1
        return self.answers[min(self.looks, len(self.answers)) - 1]


def _arm(idle: float) -> None:
    autostop.arm({"idle": idle, "wait_for": "jobs", "stop": PLAN.to_dict(), "config": {}})


def test_the_clock_restarts_when_work_appears_and_the_stop_runs_once(env) -> None:  # type: ignore[no-untyped-def]
    _arm(30)
    clock, stops = FakeClock(), []
    # idle, idle, busy (the clock restarts), then idle from then on
    look = ScriptedLookout([[], [], ["job j is running"], []], stops)
    autostop.keep(clock=clock, sleep=clock.sleep, build=lambda order: look)
    assert stops == [("stop-head",)]
    # Looks every 3 s (a tenth of 30 s): idle from t=9, stopped at the first look >= 39;
    # between looks, the order is looked at every half second.
    assert clock.now == 39.0 and set(clock.slept) == {0.5}
    state = json.loads(autostop.path(autostop.STATE).read_text())
    assert state["armed"] is False and state["stop"]["ok"] is True
    assert not autostop.armed()
    assert autostop.path(autostop.CLAIM).exists()


def test_a_job_seen_by_the_last_look_keeps_the_cluster_up(env) -> None:  # type: ignore[no-untyped-def]
    _arm(4)
    clock, stops = FakeClock(), []
    # Idle long enough, but the look just before the stop finds a job: no stop, and the
    # clock starts again.
    look = ScriptedLookout([[], [], [], ["job j is running"]], stops)

    def sleep(seconds: float) -> None:
        if look.looks >= 6:
            autostop.cancel()
        clock.sleep(seconds)

    autostop.keep(clock=clock, sleep=sleep, build=lambda order: look)
    assert stops == []
    assert not autostop.path(autostop.CLAIM).exists()


def test_cancel_or_arming_again_is_seen_within_half_a_second(env) -> None:  # type: ignore[no-untyped-def]
    _arm(3600)  # a look every 30 s
    clock, stops = FakeClock(), []
    look = ScriptedLookout([[]], stops)
    builds: list[float] = []

    def build(order: dict) -> autostop.Lookout:  # type: ignore[type-arg]
        builds.append(clock.now)
        return look

    def sleep(seconds: float) -> None:
        if clock.now == 5.0:
            _arm(60)  # armed again, with another idle time: looked at within 0.5 s
        if clock.now == 7.0:
            autostop.cancel()
        clock.sleep(seconds)

    autostop.keep(clock=clock, sleep=sleep, build=build)
    assert stops == [] and builds == [0.0, 5.5] and clock.now == 7.5
    assert json.loads(autostop.path(autostop.STATE).read_text())["armed"] is False


class Engine(Runtime):
    name = "engine"

    def __init__(self, activity: Activity | Exception) -> None:
        super().__init__({})
        self.answer = activity

    def activity(self, head):  # type: ignore[no-untyped-def]
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _head(answers: dict[str, str]) -> Node:
    """A head whose dump and presence scripts answer ``answers`` (by script)."""
    def handler(argv: tuple[str, ...], _: bytes | None) -> tuple[int, str]:
        script = argv[2]
        key = "present" if "present.sh" in script or "tmux #{client_tty}" in script else "dump"
        return 0, answers.get(key, "")
    return Node("head", "127.0.0.1", MockTransport(handler), is_head=True)


def test_the_lookout_counts_jobs_engines_people_and_what_it_cannot_tell() -> None:
    dump = ("@@ jobwaiter-a\nmeta {}\npid 10\nwrapper alive\n"
            "@@ jobwaiter-b\nmeta {}\nstatus 0 1\nwatched head stop\n"
            "@@ jobwaiter-c\nmeta {}\nstatus 0 1\n")
    present = "tmux pts/4 work\nlogin ann pts/5\nlogin ann pts/5\n"
    engines = [Engine(Activity("engine", BUSY, "2 apps in progress")),
               Engine(Activity("engine", IDLE, "nothing")),
               Engine(Activity("engine", UNKNOWN, "HTTP 500")),
               Engine(RuntimeError("boom"))]
    look = autostop.Lookout(_head({"dump": dump, "present": present}), (), engines,
                            "jobs_and_ssh")
    assert look.busy() == [
        "job jobwaiter-a is running",
        "the head still watches job jobwaiter-b",
        "engine: 2 apps in progress",
        "engine cannot tell its work: HTTP 500",
        "engine cannot tell its work: RuntimeError: boom",
        "a tmux client is attached to session work on pts/4",
        "ann is logged in on pts/5",
    ]
    jobs_only = autostop.Lookout(_head({"dump": dump, "present": present}), (), (), "jobs")
    assert jobs_only.busy() == ["job jobwaiter-a is running",
                                "the head still watches job jobwaiter-b"]
    idle = autostop.Lookout(_head({"dump": "@@ jobwaiter-c\nstatus 0 1\n"}), (), (),
                            "jobs_and_ssh")
    assert idle.busy() == []


def test_a_worker_that_cannot_be_read_keeps_the_cluster_up() -> None:
    def down(argv: tuple[str, ...], _: bytes | None) -> tuple[int, str]:
        return 1, ""
    worker = Node("10.0.0.2", "10.0.0.2", MockTransport(down, node="10.0.0.2"))
    look = autostop.Lookout(_head({}), (worker,), (), "jobs")
    (reason,) = look.busy()
    assert reason.startswith("cannot read the jobs on 10.0.0.2")


def test_present_lines_are_parsed_and_noise_is_ignored() -> None:
    text = ("welcome to the head!\ntmux /dev/pts/3 my job\nscreen 1234.build\n"
            "login bob pts/1\nlogin bob pts/1\nlogin\n")
    assert parse_present(text) == [Presence("tmux", "my", "pts/3"),
                                   Presence("screen", "1234.build"),
                                   Presence("login", "bob", "pts/1")]


def _preamble(state: dict, armed: str = "yes", watcher: str = "yes",  # type: ignore[type-arg]
              boot: str = "b1", now: float = 1000.0) -> str:
    return (f"autostop_armed {armed}\nautostop_state {json.dumps(state)}\n"
            f"autostop_now {now}\nautostop_boot {boot}\nautostop_watcher {watcher}\n"
            "@@ jobwaiter-x\nautostop_armed no\n")


def test_the_client_reads_the_idle_clock_in_the_heads_time() -> None:
    base = {"armed": True, "watcher": 42, "boot": "b1", "idle": 1800, "wait_for": "jobs",
            "armed_at": 100.0, "checked_at": 990.0, "busy": [], "idle_since": 400.0}
    state = parse_autostop(_preamble(base))
    assert state is not None and state.armed and state.watching
    assert state.idle_for() == 600.0 and state.remaining() == 1200.0
    assert state.describe("c.yaml") == ("autostop armed (idle 30m, wait for jobs): idle for "
                                        "10m, stops in 20m")
    busy = parse_autostop(_preamble({**base, "idle_since": None, "busy": ["job a is running"]}))
    assert busy is not None and busy.describe() == ("autostop armed (idle 30m, wait for jobs): "
                                                    "busy: job a is running")
    rebooted = parse_autostop(_preamble(base, boot="b2", watcher="no"))
    assert rebooted is not None and not rebooted.watching and rebooted.idle_for() is None
    assert "autostop armed, no watcher since boot (" in rebooted.describe("c.yaml")
    assert "`jobwaiter autostop c.yaml --idle 30m` re-arms it" in rebooted.describe("c.yaml")
    killed = parse_autostop(_preamble(base, watcher="no"))
    assert killed is not None and "its watcher is not running" in killed.describe()
    fired = parse_autostop(_preamble({"armed": False, "idle": 60, "fired_at": 940.0,
                                      "stop": {"ok": True, "detail": "head: ran 1"}},
                                     armed="no"))
    assert fired is not None and fired.describe() == ("autostop: not armed; it stopped the "
                                                      "cluster 1m ago after 1m idle")
    assert parse_autostop("@@ jobwaiter-x\nautostop_armed yes\n") is None
    assert parse_autostop("noise\nautostop_armed yes\nautostop_state {not json\n") is not None


def test_the_watcher_stays_while_autostop_is_armed(env) -> None:  # type: ignore[no-untyped-def]
    import threading

    from jobwaiter.watch import watcher

    autostop.arm({"idle": 3600, "wait_for": "jobs", "stop": PLAN.to_dict(), "config": {}})
    done = threading.Event()
    thread = threading.Thread(target=lambda: (watcher.serve(idle_exit=0.2), done.set()),
                              daemon=True)
    thread.start()
    try:
        # Nothing to watch but autostop: far past idle_exit, the watcher is still there.
        assert not done.wait(3.0), "the watcher left while autostop was armed"
        state = json.loads(autostop.path(autostop.STATE).read_text())
        assert state["checked_at"] and state["busy"] == [], state
        assert state["idle_since"] is not None, state
        autostop.cancel()
        assert done.wait(10.0), "the watcher stayed after autostop was cancelled"
    finally:
        # The watcher here is this process: the env fixture must not kill it.
        autostop.cancel()
        done.wait(10.0)
        (autostop.path("watcher.pid")).unlink(missing_ok=True)


def test_a_watcher_of_older_code_is_named_when_it_cannot_take_autostop(  # type: ignore[no-untyped-def]
        env, monkeypatch, capsys) -> None:
    import subprocess

    from jobwaiter.watch import __main__ as command
    from jobwaiter.watch import files

    files.ensure_dir(files.watch_dir())
    lock = files.watch_dir() / "watcher.lock"
    # A watcher shipped by an older jobwaiter: it holds the lock, knows nothing of autostop.
    old = subprocess.Popen(["flock", "-x", str(lock), "sleep", "60"])
    try:
        from polling import wait_for

        wait_for(files.watcher_running, timeout=10)
        (files.watch_dir() / "watcher.pid").write_text(f"{old.pid} boot 0.0.1\n")
        monkeypatch.setattr(command, "ARM_CONFIRM", 1.0)
        order = {"idle": 60, "wait_for": "jobs", "stop": PLAN.to_dict(), "config": {}}
        assert command.autostop_command("arm", json.dumps(order)) == 1
        assert capsys.readouterr().out.strip() == (
            f"not-armed the watcher running on the head (pid {old.pid}) is an older "
            "jobwaiter's, which does not run autostop; it exits once the jobs it watches "
            "have ended")
    finally:
        old.kill()
        old.wait()
        (files.watch_dir() / "watcher.pid").unlink(missing_ok=True)


@given(path=st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                           blacklist_characters="\0`"), min_size=1),
       idle=st.one_of(st.integers(min_value=1, max_value=10**7).map(float),
                      st.floats(min_value=0.001, max_value=1e7, allow_nan=False)))
def test_the_command_that_arms_again_is_exact_for_any_file_and_time(path: str,
                                                                    idle: float) -> None:
    """What status prints after a reboot runs as typed: the config path quoted once, the
    idle time as --idle parses it back."""
    state = parse_autostop(_preamble({"armed": True, "watcher": 1, "boot": "b1",
                                      "idle": idle}, boot="b2", watcher="no"))
    assert state is not None
    line = state.describe(shlex.quote(path))
    command = line.split("`")[1]
    argv = shlex.split(command)
    assert argv[:3] == ["jobwaiter", "autostop", path] and argv[3] == "--idle"
    assert parse_duration(argv[4]) == pytest.approx(idle, rel=1e-5)
