"""The ray waiter's rules over Jobs API answers (``GET /api/jobs/``), without a cluster."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

import jobwaiter.runtimes.ray.waiter as ray_waiter_mod
from jobwaiter.errors import SpecError
from jobwaiter.runtimes import configured_runtimes, runtime_names, runtime_waiters
from jobwaiter.runtimes.ray import RaySettings, RayWaiter
from jobwaiter.runtimes.ray.jobs import Scope, parse_jobs, verdict
from jobwaiter.transport.base import CommandResult
from jobwaiter.waiters.base import Check, JobContext
from jobwaiter.waiters.spec import parse_spec

T0 = 1_796_000_000_000  # the job's start, in ms


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def row(sid: str | None, status: str, start: int = T0 + 500, kind: str = "SUBMISSION",
        code: int | None = None, message: str = "", error_type: str | None = None,
        job_id: str | None = None) -> dict[str, Any]:
    return {"type": kind, "submission_id": sid, "job_id": job_id, "status": status,
            "start_time": start, "end_time": None, "message": message,
            "error_type": error_type, "driver_exit_code": code, "entrypoint": "python x.py"}


MINE = Scope(False, T0)


def test_running_and_pending_are_not_done() -> None:
    for status in ("PENDING", "RUNNING"):
        v = verdict(parse_jobs([row("a", "SUCCEEDED", code=0), row("b", status)]), MINE, ())
        assert not v.done and f"b {status}" in v.detail


def test_all_succeeded_is_success() -> None:
    v = verdict(parse_jobs([row("a", "SUCCEEDED", code=0), row("b", "SUCCEEDED", code=0)]),
                MINE, ())
    assert v.done and v.ok and v.detail.startswith("2 Ray jobs succeeded")


def test_failed_and_stopped_fail_naming_id_message_error_type_and_exit_code() -> None:
    v = verdict(parse_jobs([
        row("ok", "SUCCEEDED", code=0),
        row("bad", "FAILED", code=3, message="Job entrypoint command failed with exit code 3",
            error_type="JOB_ENTRYPOINT_COMMAND_ERROR"),
        row("halted", "STOPPED", message="Job was intentionally stopped."),
    ]), MINE, ())
    assert v.done and not v.ok
    assert ("bad FAILED (error_type JOB_ENTRYPOINT_COMMAND_ERROR, driver_exit_code 3): "
            "Job entrypoint command failed with exit code 3") in v.detail
    # A null exit code is unknown, never 0.
    assert "halted STOPPED (error_type -, driver_exit_code unknown): Job was intentionally" \
        in v.detail
    assert "ok" not in v.detail.split(":", 1)[1].split()


def test_a_driver_row_without_submission_id_is_named_by_job_id() -> None:
    (job,) = parse_jobs([row(None, "SUCCEEDED", kind="DRIVER", job_id="02000000")])
    assert job.id == "02000000" and job.exit_code is None
    v = verdict([job], MINE, ())
    assert v.done and v.ok and "02000000 SUCCEEDED (driver)" in v.detail


def test_scope_default_is_jobs_since_the_start_plus_known_ids() -> None:
    jobs = parse_jobs([row("old", "RUNNING", start=T0 - 60_000),
                       row("older-but-mine", "RUNNING", start=T0 - 60_000)])
    assert verdict(jobs, MINE, ()).detail == "no Ray job in scope"
    assert not verdict(jobs, Scope(True, T0), ()).done
    v = verdict(jobs, Scope(False, T0, ("older-but-mine",)), ())
    assert not v.done and "older-but-mine" in v.detail and "old RUNNING" not in v.detail
    only = Scope(False, T0, ("x",), only_ids=True)
    assert not verdict(parse_jobs([row("y", "RUNNING"), row("x", "RUNNING")]), only, ()).done
    v = verdict(parse_jobs([row("y", "RUNNING"), row("x", "SUCCEEDED", code=0)]), only, ())
    assert v.done and v.ok and v.detail == "1 Ray job succeeded: x SUCCEEDED"


def test_clock_slack_counts_a_job_just_before_the_start() -> None:
    assert not verdict(parse_jobs([row("a", "RUNNING", start=T0 - 500)]), MINE, ()).done
    assert verdict(parse_jobs([row("a", "RUNNING", start=T0 - 5000)]), MINE, ()).done


def test_an_empty_list_after_jobs_were_seen_is_not_completion() -> None:
    # The head restarted without external Redis: the job list is gone, not the jobs done.
    v = verdict([], MINE, {"a"})
    assert not v.done and "not listed" in v.detail and "a" in v.detail
    # An expected submission id that is not listed yet is not done either.
    assert not verdict([], Scope(False, T0, ("sub-1",), only_ids=True), ()).done


def test_waiter_reports_unreachable_and_bad_answers_as_not_yet() -> None:
    from jobwaiter.runtimes.http import Answer

    class Head:
        def __init__(self, answer: Answer) -> None:
            self.answer = answer

        def run(self, argv: list[str], **kw: object) -> CommandResult:
            return CommandResult(tuple(argv), 0)  # no ids captured

    waiter = RayWaiter(RaySettings(dashboard_port=1), "127.0.0.1")
    import jobwaiter.runtimes.ray.waiter as mod

    for answer, text in (
        (Answer("u", error="Connection refused"), "unreachable (Connection refused), retrying"),
        (Answer("u", status=502, body="bad gateway"), "answered HTTP 502"),
        (Answer("u", status=200, body="{}"), "did not answer a list"),
    ):
        mp = pytest.MonkeyPatch()
        mp.setattr(mod, "fetch", lambda head, urls, a=answer: [a])
        from jobwaiter.waiters.base import JobContext

        check = waiter.check(JobContext("j", Head(answer), started_at=T0 / 1000), 0)  # type: ignore[arg-type]
        mp.undo()
        assert not check.done and text in check.detail


def test_spec_parameters() -> None:
    config = {"cluster_name": "t", "runtime": {"types": ["ray"]}}
    assert "ray" in runtime_names()
    assert runtime_waiters(configured_runtimes(config)) == {"ray": RayWaiter}
    all_ = RayWaiter.create(parse_spec("ray[all]").args, config)
    assert isinstance(all_, RayWaiter) and all_.scope_all and all_.label == "ray[all]"
    ids = RayWaiter.create(parse_spec("ray[a1, b2]").args, config)
    assert isinstance(ids, RayWaiter) and ids.ids == ("a1", "b2") and not ids.scope_all
    for bad in ("ray[all, x]", "ray[all[x]]"):
        with pytest.raises(SpecError):
            RayWaiter.create(parse_spec(bad).args, config)


def test_settings_validate() -> None:
    assert RaySettings().dashboard_port == 8265
    for bad in ({"gcs_port": 0}, {"min_worker_port": 20, "max_worker_port": 10},
                {"temp_dir": "relative"}, {"temp_dir": "/" + "x" * 80}, {"nope": 1}):
        with pytest.raises((ValueError, TypeError)):
            RaySettings.from_config({"runtime": {"ray": bad}})


def test_head_side_code_is_python38_syntax() -> None:
    for name in ("jobs.py", "submit_job.py", "stop_jobs.py", "settings.py", "waiter.py"):
        source = (Path(__file__).parents[1] / "src/jobwaiter/runtimes/ray" / name).read_text()
        ast.parse(source, feature_version=(3, 8))
        assert "strict=" not in source and "match " not in source


class FakeHead:
    """A head whose record holds ``captured`` (None: no file) and whose dashboard lists
    ``rows``; counts the commands run."""

    def __init__(self, rows: list[dict[str, object]], captured: str | None = None) -> None:
        self.rows = rows
        self.captured = captured
        self.runs: list[list[str]] = []

    def run(self, argv: list[str], **kw: object) -> CommandResult:
        self.runs.append(argv)
        return CommandResult(tuple(argv), 0, self.captured or "")


def _row(sid: str, status: str, start: int, kind: str = "SUBMISSION") -> dict[str, object]:
    return {"type": kind, "submission_id": sid if kind == "SUBMISSION" else None,
            "job_id": sid, "status": status, "start_time": start}


def _check(w: RayWaiter, head: FakeHead, mp: pytest.MonkeyPatch) -> Check:
    from jobwaiter.runtimes.http import Answer

    mp.setattr(ray_waiter_mod, "fetch",
               lambda h, urls: [Answer(urls[0], status=200, body=json.dumps(h.rows))])
    return w.check(JobContext("jobwaiter-0123456789ab", head, started_at=T0 / 1000), 0)  # type: ignore[arg-type]


def test_nothing_in_scope_is_not_done_before_the_settle_window(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    w = RayWaiter(RaySettings(settle_seconds=10), "127.0.0.1", clock=clock)
    head = FakeHead([])
    c = _check(w, head, monkeypatch)
    assert not c.done and "no Ray job in scope; looking 10s more" in c.detail
    # The background driver registers late: waited for, even after the window has passed.
    clock.now = 3
    head.rows = [_row("02000000", "RUNNING", T0 + 2000, kind="DRIVER")]
    assert not _check(w, head, monkeypatch).done
    clock.now = 30
    assert not _check(w, head, monkeypatch).done
    head.rows = [_row("02000000", "SUCCEEDED", T0 + 2000, kind="DRIVER")]
    c = _check(w, head, monkeypatch)
    assert c.done and c.ok and "02000000 SUCCEEDED (driver)" in c.detail
    # The record was read once, not at every look.
    assert len(head.runs) == 1
    # Nothing ever: satisfied once the window has passed, not before.
    clock2 = Clock()
    w2 = RayWaiter(RaySettings(settle_seconds=10), "127.0.0.1", clock=clock2)
    head2 = FakeHead([])
    clock2.now = 9.9
    assert not _check(w2, head2, monkeypatch).done  # the window starts at the first look
    clock2.now = 19.8
    assert not _check(w2, head2, monkeypatch).done
    clock2.now = 20
    assert _check(w2, head2, monkeypatch).ok


def test_a_failure_is_final_at_once_settle_or_not(monkeypatch: pytest.MonkeyPatch) -> None:
    w = RayWaiter(RaySettings(settle_seconds=60), "127.0.0.1", clock=Clock())
    c = _check(w, FakeHead([_row("bad", "FAILED", T0 + 5)]), monkeypatch)
    assert c.done and not c.ok and "bad FAILED" in c.detail


def test_captured_submission_ids_are_the_scope_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    w = RayWaiter(RaySettings(settle_seconds=60), "127.0.0.1", clock=clock)
    mine = "jobwaiter-0123456789ab-train"
    rows = [_row(mine, "RUNNING", T0 + 10), _row("other", "FAILED", T0 + 20),
            _row("busy", "RUNNING", T0 + 30)]
    head = FakeHead(rows, captured=mine + "\n")
    c = _check(w, head, monkeypatch)
    assert not c.done and mine in c.detail and "other" not in c.detail
    assert head.runs[0][-1] == ".jobwaiter/jobs/jobwaiter-0123456789ab/ray-jobs"
    head.rows = [_row(mine, "SUCCEEDED", T0 + 10), *rows[1:]]
    c = _check(w, head, monkeypatch)
    # Exactly the captured id: an unrelated failed or running job changes nothing, and the
    # ids are known, so there is no window to wait out.
    assert c.done and c.ok and c.detail == f"1 Ray job succeeded: {mine} SUCCEEDED"


def test_an_unreadable_record_is_not_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(FakeHead):
        def run(self, argv: list[str], **kw: object) -> CommandResult:
            return CommandResult(tuple(argv), 1, "", "cat: Permission denied")

    w = RayWaiter(RaySettings(settle_seconds=0), "127.0.0.1", clock=Clock())
    c = _check(w, Broken([]), monkeypatch)
    assert not c.done and "Permission denied, retrying" in c.detail


def test_settle_seconds_is_validated() -> None:
    assert RaySettings().settle_seconds == 10.0
    with pytest.raises(ValueError):
        RaySettings(settle_seconds=-1)
