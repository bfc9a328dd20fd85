"""The wait loop with an injected clock and sleep: pacing, timeouts, reconnecting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from jobwaiter.errors import TransportError, WaiterError
from jobwaiter.transport.mock import MockTransport
from jobwaiter.waiters.base import Check, JobContext, Waiter
from jobwaiter.waiters.loop import Pacing, WaitLoop
from jobwaiter.waiters.session import TmuxWaiter


@dataclass
class FakeTime:
    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Scripted(Waiter):
    """Answers from a list; an exception in the list is raised."""

    name: ClassVar[str] = "scripted"

    def __init__(self, answers: list[object], cost: float = 0.0, time: FakeTime | None = None):
        self.answers = list(answers)
        self.calls: list[float] = []
        self.cost = cost
        self.time = time

    def check(self, job: JobContext, block: float) -> Check:
        self.calls.append(block)
        if self.time is not None:
            self.time.now += self.cost
        answer = self.answers.pop(0) if self.answers else Check.pending()
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, Check)
        return answer


def job() -> JobContext:
    return JobContext("jobwaiter-000000000000", MockTransport(lambda argv, data: (0, "")))


def loop(t: FakeTime, **kw: object) -> WaitLoop:
    return WaitLoop(Pacing(first=0.1, factor=2.0, cap=1.0), clock=t.clock, sleep=t.sleep, **kw)  # type: ignore[arg-type]


def test_backs_off_to_a_cap() -> None:
    t = FakeTime()
    w = Scripted([Check.pending()] * 6 + [Check.success("ok")])
    report = loop(t).run([w], job())
    assert report.state == "succeeded"
    assert t.sleeps == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_blocking_check_is_not_followed_by_a_sleep() -> None:
    t = FakeTime()

    class Blocking(Scripted):
        max_block: ClassVar[float] = 30.0

    w = Blocking([Check.pending(), Check.success()], cost=30.0, time=t)
    report = loop(t).run([w], job())
    assert report.state == "succeeded"
    assert w.calls == [30.0, 30.0]
    assert t.sleeps == []


def test_timeout_bounds_the_whole_wait() -> None:
    t = FakeTime()
    first = Scripted([Check.success()], cost=2.0, time=t)
    second = Scripted([], cost=0.0, time=t)
    report = loop(t).run([first, second], job(), timeout=5.0)
    assert [o.state for o in report.outcomes] == ["succeeded", "timeout"]
    assert t.now == 5.0


def test_block_never_exceeds_the_time_left() -> None:
    t = FakeTime()

    class Blocking(Scripted):
        max_block: ClassVar[float] = 30.0

    w = Blocking([], cost=0.0, time=t)
    loop(t).run([w], job(), timeout=3.0)
    assert w.calls[0] == 3.0


def test_chain_stops_at_first_failure() -> None:
    t = FakeTime()
    a = Scripted([Check.success("a ok")])
    b = Scripted([Check.failure("b broke")])
    c = Scripted([Check.success()])
    report = loop(t).run([a, b, c], job())
    assert [o.state for o in report.outcomes] == ["succeeded", "failed", "skipped"]
    assert c.calls == []
    assert report.state == "failed"


def test_waiter_error_fails_the_wait() -> None:
    t = FakeTime()
    report = loop(t).run([Scripted([WaiterError("app FAILED")])], job())
    assert report.outcomes[0].state == "failed"
    assert "app FAILED" in report.outcomes[0].detail


def test_unreachable_head_is_retried_and_reported() -> None:
    t = FakeTime()
    said: list[str] = []
    w = Scripted([TransportError("down"), TransportError("down"), Check.success("ok")])
    report = loop(t, progress=lambda m, e: said.append(m)).run([w], job())
    assert report.state == "succeeded"
    assert any("reconnecting" in m for m in said)
    assert any("reconnected" in m for m in said)


def test_unreachable_at_the_deadline_is_unknown_not_success() -> None:
    t = FakeTime()
    w = Scripted([TransportError("down")] * 100)
    report = loop(t).run([w], job(), timeout=2.0)
    assert report.state == "unreachable"
    assert "unknown" in report.outcomes[0].detail


def test_unreachable_without_timeout_gives_up_after_reconnect_for() -> None:
    t = FakeTime()
    w = Scripted([TransportError("down")] * 1000)
    report = loop(t, reconnect_for=10.0).run([w], job())
    assert report.state == "unreachable"
    assert t.now <= 12.0


def _session_check(answer: str) -> Check:
    transport = MockTransport(lambda argv, data: (0, answer + "\n"))
    ctx = JobContext("jobwaiter-000000000000", transport)
    return TmuxWaiter().check(ctx, 1.0)


def test_session_waiter_reads_the_recorded_status() -> None:
    assert _session_check("status 0 1700000000.5") == Check(
        True, True, "job exited with status 0", 0, ended_at=1700000000.5)
    failed = _session_check("status 3 1700000000.5")
    assert failed.done and not failed.ok and failed.exit_status == 3


def test_session_waiter_never_reads_a_vanished_session_as_success() -> None:
    lost = _session_check("lost")
    assert lost.done and not lost.ok and lost.lost
    unknown = _session_check("unknown")
    assert unknown.done and not unknown.ok


def test_session_waiter_running_is_pending() -> None:
    assert not _session_check("running").done
    assert not _session_check("starting").done
