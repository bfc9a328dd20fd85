"""The Slurm runtime's pure parsing: ``squeue --json`` of Slurm 22.05 (what this machine
installs, also run for real in test_slurm_cluster.py) and of Slurm 23.11+ (data_parser
v0.0.40+: ``job_state`` a list, ``exit_code`` an object, numbers ``{set, number}``), written
from Slurm's documented OpenAPI shapes since no such Slurm is installed here; and ``sacct``
lines of the job completion log."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from jobwaiter.runtimes.slurm.status import (
    ExitCode,
    exit_code,
    min_job_age,
    parse_history,
    parse_squeue,
    wait_status,
)
from jobwaiter.runtimes.slurm.waiter import read_poll, script
from jobwaiter.transport.base import CommandResult


def n(value: int, set_: bool = True) -> dict[str, object]:
    return {"set": set_, "infinite": False, "number": value}


def test_raw_wait_status_is_decoded() -> None:
    assert wait_status(768) == ExitCode(code=3)
    assert wait_status(0).ok
    assert wait_status(9) == ExitCode(code=None, signal=9)
    assert str(wait_status(15)) == "signal 15 (SIGTERM)"
    assert not wait_status(768).ok


def test_22_05_shapes_and_states() -> None:
    text = json.dumps({"errors": [], "jobs": [
        {"job_id": 7, "name": "a", "job_state": "COMPLETED", "exit_code": 0, "user_id": 0,
         "submit_time": 100, "end_time": 110},
        {"job_id": 8, "name": "b", "job_state": "FAILED", "exit_code": 768},
        {"job_id": 9, "name": "c", "job_state": "TIMEOUT", "exit_code": 0},
        {"job_id": 10, "name": "d", "job_state": "COMPLETING", "exit_code": 0},
        {"job_id": 11, "name": "e", "job_state": "PENDING", "exit_code": 0,
         "state_reason": "Resources"},
    ]})
    jobs, problem = parse_squeue(text)
    assert problem == ""
    a, b, c, d, e = jobs
    assert not a.active and not a.failed and a.submitted == 100.0
    assert b.failed and b.describe() == "8 (b) FAILED, exit code 3"
    assert c.failed and c.describe() == "9 (c) TIMEOUT, exit code 0"
    assert d.active and e.active and e.describe() == "11 (e) PENDING [Resources]"


def test_errors_make_the_answer_untrusted_even_with_exit_0() -> None:
    text = json.dumps({"errors": [{"error": "Unable to contact slurm controller",
                                   "errno": 1007}], "jobs": []})
    jobs, problem = parse_squeue(text)
    assert jobs == [] and "Unable to contact slurm controller" in problem
    assert parse_squeue("slurm_load_jobs error")[1].startswith("squeue did not answer JSON")


def test_newer_shapes_state_lists_exit_objects_and_numbers() -> None:
    ok = {"status": ["SUCCESS"], "return_code": n(0), "signal": {"id": n(0, False), "name": ""}}
    three = {"status": ["ERROR"], "return_code": n(3), "signal": {"id": n(0, False)}}
    killed = {"status": ["SIGNALED"], "return_code": n(0, False),
              "signal": {"id": n(9), "name": "KILL"}}
    text = json.dumps({"errors": [], "jobs": [
        {"job_id": 20, "name": "ok", "job_state": ["COMPLETED"], "exit_code": ok,
         "submit_time": n(1000), "user_id": 1000},
        {"job_id": 21, "name": "three", "job_state": ["FAILED"], "exit_code": three},
        {"job_id": 22, "name": "oom", "job_state": ["OUT_OF_MEMORY"], "exit_code": killed},
        {"job_id": 23, "name": "ending", "job_state": ["COMPLETED", "COMPLETING"],
         "exit_code": ok},
        {"job_id": 25, "name": "task", "job_state": ["TIMEOUT"], "exit_code": ok,
         "array_job_id": n(24), "array_task_id": n(1)},
    ]})
    jobs, problem = parse_squeue(text)
    assert problem == ""
    ok_job, three_job, oom, ending, task = jobs
    assert not ok_job.failed and ok_job.submitted == 1000.0 and ok_job.user_id == 1000
    assert three_job.describe() == "21 (three) FAILED, exit code 3"
    assert oom.failed and "signal 9" in oom.describe()
    assert ending.active, "a COMPLETING flag is not the end"
    assert task.failed and task.answers_to(["24"]), "an array task answers to its array id"
    assert exit_code({"status": ["SIGNALED"], "return_code": n(0, False)}).signal == -1


def test_an_unknown_state_is_not_taken_for_an_end() -> None:
    jobs, _ = parse_squeue(json.dumps({"jobs": [{"job_id": 1, "job_state": "NEWFANGLED"}]}))
    assert jobs[0].active


def test_completion_log_lines() -> None:
    text = ("1|wrap|0|root(0)|COMPLETED|0:0|1796167038|1796167039\n"
            "2|wrap|0|root(0)|FAILED|3:0|1796167038|1796167039\n"
            "4|wrap|0|root(0)|FAILED|0:9|1796167041|1796167041\n"
            "5|long|0|root(0)|CANCELLED by 0|0:15|1796167041|1796167050\n"
            "5.batch|batch|0|root(0)|CANCELLED|0:15|1796167041|1796167050\n")
    a, b, c, d = parse_history(text)
    assert not a.failed and a.ended == 1796167039.0
    assert b.describe() == "2 (wrap) FAILED, exit code 3"
    assert c.exit.signal == 9
    assert d.state == "CANCELLED" and d.failed


def test_min_job_age_from_show_config() -> None:
    assert min_job_age("KillWait                = 1 sec\nMinJobAge               = 2 sec\n") == 2
    assert min_job_age("nothing") is None


# -- the waiter's memory across polls, with a head that answers from a script ---------------

def _waiter_run(polls: list[list[dict[str, object]]], history: str, history_on: bool = True):  # type: ignore[no-untyped-def]
    from jobwaiter.runtimes.slurm.settings import SlurmSettings
    from jobwaiter.runtimes.slurm.waiter import SlurmWaiter
    from jobwaiter.transport.mock import MockTransport
    from jobwaiter.waiters.base import JobContext

    queue = iter(polls)

    def head(argv: tuple[str, ...], _input: bytes | None) -> tuple[int, str]:
        action = argv[6]
        if action == "config":
            return 0, "JobCompType = jobcomp/filetxt\nMinJobAge = 2 sec\n"
        if action == "history":
            return 0, history
        jobs = next(queue)
        return 0, f"uid 0\nnow 1001\ncaptured\nsqueue 0\n{json.dumps({'jobs': jobs})}"

    waiter = SlurmWaiter(SlurmSettings(history=history_on, settle_seconds=0))
    job = JobContext(name="jobwaiter-000000000000", head=MockTransport(head), started_at=1000.0)
    for _ in range(len(polls)):
        check = waiter.check(job, 0)
        if check.done:
            return check
    raise AssertionError("the waiter never ended")


RUNNING = {"job_id": 5, "name": "x", "job_state": "RUNNING", "exit_code": 0, "user_id": 0,
           "submit_time": 1000}


def test_a_job_seen_running_then_gone_is_taken_from_the_log() -> None:
    check = _waiter_run([[RUNNING], []], "5|x|0|root(0)|FAILED|2:0|1000|1001\n")
    assert not check.ok and "5 (x) FAILED, exit code 2" in check.detail


def test_a_job_seen_running_then_gone_and_not_in_the_log_is_unknown_never_success() -> None:
    check = _waiter_run([[RUNNING], [], [], [], [], []], "")
    assert not check.ok and "outcome unknown of 5 (x)" in check.detail


# -- the probe's reply, and the scope it gives -------------------------------------------------

def _probe(tmp_path: Path, record_text: str | None) -> CommandResult:
    """Run the real probe.sh ``poll`` with a stub squeue on its BIN_DIR."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    squeue = bin_dir / "squeue"
    squeue.write_text('#!/bin/sh\necho \'{"jobs": []}\'\n')
    squeue.chmod(0o755)
    record = tmp_path / "slurm-jobs"
    if record_text is not None:
        record.write_text(record_text)
    argv = ["bash", "-c", script("probe"), "jw", "", str(bin_dir), "poll", str(record)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False,
                         env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    return CommandResult(tuple(argv), out.returncode, out.stdout, out.stderr)


def test_the_probe_reply_keeps_every_captured_id(tmp_path: Path) -> None:
    for text, ids in (("41\n", ["41"]), ("41\n42\n", ["41", "42"]), ("", []), (None, []),
                      ("7", ["7"])):
        sub = tmp_path / str(len(list(tmp_path.iterdir())))
        sub.mkdir()
        poll, problem = read_poll(_probe(sub, text))
        assert problem == "", problem
        assert poll.captured == ids, (text, poll.captured)


def test_a_garbled_probe_reply_is_a_problem_never_an_open_scope() -> None:
    for out in ("uid 0\nnow 1\ncaptured41\nsqueue 0\n{}",
                "uid 0\nnow 1\ncaptured 41 x\nsqueue 0\n{}",
                "uid 0\nnow 1\nsqueue 0\n{\"jobs\": []}\n\n"):
        _, problem = read_poll(CommandResult(("probe",), 0, out))
        assert problem, out


def _scripted(captured: str, polls: list[list[dict[str, object]]], settle: float):  # type: ignore[no-untyped-def]
    from jobwaiter.runtimes.slurm.settings import SlurmSettings
    from jobwaiter.runtimes.slurm.waiter import SlurmWaiter
    from jobwaiter.transport.mock import MockTransport
    from jobwaiter.waiters.base import JobContext

    queue = iter(polls)
    clock = [0.0]

    def head(argv: tuple[str, ...], _input: bytes | None) -> tuple[int, str]:
        action = argv[6]
        if action == "config":
            return 0, "JobCompType = jobcomp/filetxt\nMinJobAge = 2 sec\n"
        if action == "history":
            return 0, ""
        return 0, (f"uid 0\nnow 1001\ncaptured {captured}\nsqueue 0\n"
                   f"{json.dumps({'jobs': next(queue)})}")

    waiter = SlurmWaiter(SlurmSettings(settle_seconds=settle), clock=lambda: clock[0])
    job = JobContext(name="jobwaiter-000000000000", head=MockTransport(head), started_at=1000.0)
    return waiter, job, clock


def test_captured_ids_are_the_scope_exactly_whatever_else_fails() -> None:
    mine = {**RUNNING, "job_id": 41, "name": "ok"}
    other = {**RUNNING, "job_id": 42, "name": "bad", "job_state": "FAILED", "exit_code": 256}
    busy = {**RUNNING, "job_id": 43, "name": "busy"}
    done = {**mine, "job_state": "COMPLETED", "end_time": 1003}
    waiter, job, _ = _scripted("41", [[mine, other, busy], [done, other, busy]], settle=60)
    first = waiter.check(job, 0)
    assert not first.done and "41 (ok) RUNNING" in first.detail and "42" not in first.detail
    # Known ids: no window to wait out, and nothing else in the queue counts.
    check = waiter.check(job, 0)
    assert check.done and check.ok, check.detail
    assert check.detail == "1 Slurm job completed: 41 (ok) COMPLETED, exit code 0"


def test_the_user_scope_is_not_done_before_the_settle_window() -> None:
    late = {**RUNNING, "job_id": 9, "name": "late", "submit_time": 1002}
    waiter, job, clock = _scripted("", [[], [late], [{**late, "job_state": "COMPLETED",
                                                       "end_time": 1010}], []], settle=10)
    check = waiter.check(job, 0)
    assert not check.done and "no Slurm job in scope; looking 10s more" in check.detail
    clock[0] = 4
    assert not waiter.check(job, 0).done  # the background sbatch registered: waited for
    clock[0] = 12
    check = waiter.check(job, 0)
    assert check.done and check.ok and "9 (late) COMPLETED" in check.detail
    # Nothing ever: done once the window has passed.
    waiter, job, clock = _scripted("", [[], []], settle=10)
    assert not waiter.check(job, 0).done
    clock[0] = 10
    assert waiter.check(job, 0).ok
