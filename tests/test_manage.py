"""Coming back to jobs: wait, jobs, logs -f, kill, prune, and --stop with other jobs running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from polling import wait_for


def started(cli, env, cmd: str, *opts: str) -> str:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), cmd, *opts, "--json")
    assert r.json["session"], r.err
    return str(r.json["session"])


@pytest.mark.parametrize("kind", ["tmux", "screen"])
def test_resume_after_timeout(env, cli, kind: str) -> None:
    r = cli("exec", str(env.config), "sleep 2; exit 5", f"--{kind}", f"--job-waiter={kind}",
            "--job-timeout", "0.3", "--json")
    assert r.code == 124
    name = r.json["session"]
    assert f"jobwaiter wait {env.config} {name}" in r.err
    r = cli("wait", str(env.config), name, "--json")
    assert r.code == 5
    assert r.json["exit_status"] == 5
    assert r.json["waiters"][0]["name"] == kind


def test_resume_after_ctrl_c(env, jobwaiter_argv: list[str]) -> None:
    """A real Ctrl-C (SIGINT to the jobwaiter process) while it waits: exit 130, the job keeps
    running, and `wait` picks it up."""
    gate = env.home / "go"  # the job runs until the test opens it, however slow the machine
    proc = subprocess.Popen(
        [*jobwaiter_argv, "exec", str(env.config),
         f"while [ ! -e {gate} ]; do sleep 0.05; done; echo finished", "--tmux",
         "--job-waiter=tmux", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: env.jobs.exists() and any((d / "pid").exists() for d in env.jobs.iterdir()))
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    data = json.loads(out)
    assert data["outcome"] == "interrupted"
    name = data["session"]
    assert f"jobwaiter wait {env.config} {name}" in err
    assert env.status(name) is None, "the job must keep running"
    gate.touch()
    r = subprocess.run([*jobwaiter_argv, "wait", str(env.config), name, "--json"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0
    assert json.loads(r.stdout)["outcome"] == "succeeded"


def test_wait_on_an_ended_job_returns_at_once(env, cli) -> None:
    name = started(cli, env, "exit 3", "--tmux", "--job-waiter=tmux")
    t0 = time.monotonic()
    r = cli("wait", str(env.config), name, "--json")
    assert time.monotonic() - t0 < 2
    assert r.code == 3
    assert r.json["outcome"] == "failed"


def test_wait_uses_the_stored_spec(env, cli) -> None:
    (env.home / "w.py").write_text(
        "from jobwaiter import JobWaiter\n"
        "class Fail(JobWaiter):\n"
        "    def wait_for_completion(self, node_id, cmd, session_name, timeout=None):\n"
        "        raise RuntimeError('still failing')\n")
    r = cli("exec", str(env.config), "sleep 1", "--tmux", "--job-waiter=chain[tmux, w.Fail]",
            "--job-timeout", "0.2", "--json")
    assert r.code == 124
    name = r.json["session"]
    r = cli("wait", str(env.config), name, "--json")
    assert r.code == 126
    assert [w["name"] for w in r.json["waiters"]] == ["tmux", "w.Fail"]
    r = cli("wait", str(env.config), name, "--job-waiter", "tmux", "--json")
    assert r.code == 0


def test_wait_on_a_lost_job(env, cli) -> None:
    name = started(cli, env, "sleep 30", "--screen")
    subprocess.run(["screen", "-S", name, "-X", "quit"], check=True)
    r = cli("wait", str(env.config), name, "--json")
    assert r.code == 125
    assert r.json["outcome"] == "lost"


def test_wait_unknown_or_malformed_session(env, cli) -> None:
    r = cli("wait", str(env.config), "jobwaiter-000000000000")
    assert r.code == 2
    assert "no job jobwaiter-000000000000" in r.err
    # Could be a --name label: looked up as one, never run anywhere.
    r = cli("wait", str(env.config), "x; rm -rf ~")
    assert r.code == 2
    assert "no job 'x; rm -rf ~' on the head of cluster test" in r.err
    r = cli("wait", str(env.config), "x\n; rm -rf ~")
    assert r.code == 2
    assert "not a job: 'x\\n; rm -rf ~'" in r.err


def test_jobs_lists_every_state(env, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # piped: no width limit, every column
    ok = started(cli, env, "true", "--tmux", "--job-waiter=tmux")
    bad = started(cli, env, "exit 4", "--screen", "--job-waiter=screen")
    lost = started(cli, env, "sleep 30", "--screen", "--job-waiter=screen", "--job-timeout",
                   "0.2")
    subprocess.run(["screen", "-S", lost, "-X", "quit"], check=True)
    running = started(cli, env, "sleep 30", "--tmux", "--job-waiter=tmux", "--job-timeout",
                      "0.2")
    nowaiter = started(cli, env, "sleep 30", "--tmux")
    r = cli("jobs", str(env.config), "--json")
    assert r.code == 0
    rows = json.loads(r.out)
    details = {row["session"]: row["state_detail"] for row in rows}
    assert details == {ok: "succeeded", bad: "failed (4)", lost: "lost", running: "running",
                       nowaiter: "running (no waiter)"}
    states = {row["session"]: row["state"] for row in rows}
    assert states == {ok: "succeeded", bad: "failed", lost: "lost", running: "running",
                      nowaiter: "started"}
    assert {row["session"]: row["exit_status"] for row in rows} == {
        ok: 0, bad: 4, lost: None, running: None, nowaiter: None}
    assert [row["session"] for row in rows] == [nowaiter, running, lost, bad, ok]
    assert rows[-1]["log_path"] == f"~/user/logs/{ok}.log"
    table = cli("jobs", str(env.config))
    assert table.out.splitlines()[0].split() == ["SESSION", "STATE", "STARTED", "(UTC)",
                                                 "DURATION", "LOG", "COMMAND"]
    assert "failed (4)" in table.out
    assert f"~/user/logs/{ok}.log" in table.out


def test_jobs_hides_old_ones_unless_all(env, cli) -> None:
    name = started(cli, env, "true", "--tmux", "--job-waiter=tmux")
    old = time.time() - 3 * 86400
    (env.record(name) / "started").write_text(f"{old}\n")
    assert json.loads(cli("jobs", str(env.config), "--json").out) == []
    assert [r["session"] for r in json.loads(cli("jobs", str(env.config), "--all",
                                                  "--json").out)] == [name]


def test_logs_follow_a_quiet_job_until_it_ends(env, jobwaiter_argv: list[str]) -> None:
    r = subprocess.run([*jobwaiter_argv, "exec", str(env.config),
                        "echo first; sleep 4; echo second; exit 7", "--tmux",
                        "--job-waiter=tmux", "--job-timeout", "0.2", "--json"],
                       capture_output=True, text=True, timeout=20)
    name = json.loads(r.stdout)["session"]
    t0 = time.monotonic()
    f = subprocess.run([*jobwaiter_argv, "logs", str(env.config), name, "-f"],
                       capture_output=True, text=True, timeout=30)
    took = time.monotonic() - t0
    assert f.stdout == "first\nsecond\n"
    assert f.returncode == 7
    assert took > 2.5, "a silent job must not be taken for a finished one"


def test_logs_tail_and_errors(env, cli) -> None:
    name = started(cli, env, "seq 1 20", "--tmux", "--job-waiter=tmux")
    r = cli("logs", str(env.config), name, "--tail", "3")
    assert r.out == "18\n19\n20\n"
    assert cli("logs", str(env.config), name).out.count("\n") == 20
    assert cli("logs", str(env.config), name, "-f").code == 0
    nolog = started(cli, env, "true", "--tmux")
    r = cli("logs", str(env.config), nolog)
    assert r.code == 2
    assert "has no log" in r.err


def test_kill_escalates_when_term_is_ignored(env, cli) -> None:
    name = started(cli, env, "trap '' TERM; sleep 60", "--tmux", "--job-log")
    wait_for(lambda: (env.record(name) / "pid").exists())
    t0 = time.monotonic()
    r = cli("kill", str(env.config), name, "--grace", "1")
    assert r.code == 0, r.err
    assert 0.9 < time.monotonic() - t0 < 10
    assert env.status(name) == "137"
    assert "recorded exit status 137" in r.err
    assert subprocess.run(["tmux", "has-session", "-t", f"={name}"]).returncode != 0


def test_kill_leaves_no_children_behind(env, cli) -> None:
    marker = f"jwkill{os.getpid()}"
    cmd = (f"(trap '' TERM; exec -a {marker}a sleep 60) & (exec -a {marker}b sleep 60) & "
           "wait")
    name = started(cli, env, cmd, "--screen", "--job-log")
    wait_for(lambda: subprocess.run(["pgrep", "-f", f"^{marker}"], capture_output=True).stdout
             .count(b"\n") == 2)
    r = cli("kill", str(env.config), name, "--grace", "0.5")
    assert r.code == 0, r.err
    assert subprocess.run(["pgrep", "-f", f"^{marker}"], capture_output=True).stdout == b""
    assert env.status(name) == "143", "the wrapper records the job's own end (TERM)"
    r = cli("kill", str(env.config), name)
    assert r.code == 0 and "already ended with status 143" in r.err


def test_kill_unknown_signal(env, cli) -> None:
    name = started(cli, env, "sleep 5", "--tmux")
    r = cli("kill", str(env.config), name, "--signal", "NOPE")
    assert r.code == 2
    assert "unknown signal" in r.err


def test_prune_keeps_running_jobs(env, cli) -> None:
    done = started(cli, env, "echo x", "--tmux", "--job-waiter=tmux")
    running = started(cli, env, "sleep 30", "--tmux", "--job-waiter=tmux", "--job-timeout",
                      "0.2")
    r = cli("jobs", str(env.config), "--prune", "--older-than", "0s")
    assert r.code == 0
    assert f"removed {done}" in r.err
    assert not env.record(done).exists()
    assert not (env.home / "user" / "logs" / f"{done}.log").exists()
    assert env.record(running).exists()
    r = cli("jobs", str(env.config), "--prune")
    assert "nothing to prune" in r.err
    assert cli("jobs", str(env.config), "--prune", "--older-than", "soon").code == 2


def test_a_clients_stop_waits_for_the_other_jobs(env, cli) -> None:
    other = started(cli, env, "sleep 2", "--tmux")
    wait_for(lambda: (env.record(other) / "pid").exists())
    r = cli("exec", str(env.config), "true", "--stop", "-y", "--json")
    assert r.code == 0
    data = json.loads(r.out)
    assert data["stop"]["ran"] is True and data["stop"]["state"] == "done"
    assert f"stop deferred: waiting for {other}" in r.err
    assert (env.home / "cluster.log").read_text() == "stopped\n"
    other_ended = float((env.record(other) / "status").read_text().split()[1])
    assert (env.home / "cluster.log").stat().st_mtime >= other_ended


def test_the_api_defers_the_stop_while_other_jobs_run(env) -> None:
    from jobwaiter import Cluster

    with Cluster(env.config) as cluster:
        other = cluster.exec("sleep 2", tmux=True)
        wait_for(lambda: (env.record(other.job) / "pid").exists())
        result = cluster.exec("true", stop=True)
        assert result.ok
        assert result.stop is not None and result.stop.state == "done", result.stop
        assert env.status(other.job) == "0"  # it had ended before the stop
        assert (env.home / "cluster.log").read_text() == "stopped\n"
        assert [j.name for j in cluster.jobs()][:1] == [result.job]


def test_wait_stop_after_the_job(env, cli) -> None:
    name = started(cli, env, "sleep 1", "--tmux", "--job-waiter=tmux", "--job-timeout", "0.2")
    r = cli("wait", str(env.config), name, "--stop", "-y", "--json")
    assert r.code == 0
    assert r.json["stop"]["ok"] is True


def test_a_waiter_that_times_out_after_the_job_ended_says_so(  # type: ignore[no-untyped-def]
        env, cli, tmp_path, monkeypatch) -> None:
    # An engine waiter that never sees its work end, after the job itself exited 0.
    (tmp_path / "forever.py").write_text(
        "import time, jobwaiter\n"
        "class Never(jobwaiter.JobWaiter):\n"
        "    def wait_for_completion(self, node_id, cmd, session_name, timeout=None):\n"
        "        time.sleep(3600)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=chain[tmux, forever.Never]",
            "--job-timeout", "2", "--json")
    assert r.code == 124, r.err
    assert r.json["exit_status"] == 0
    assert r.json["message"] == "the job ended with status 0, then waiting for forever.Never " \
                                "timed out"
    assert "the job has ended; what it launched may still run" in r.err
    assert "the job keeps running" not in r.err
    (row,) = cli("jobs", str(env.config), "--json").json
    assert (row["state"], row["state_detail"]) == ("succeeded", "succeeded, waiter timed out")
