"""The head keeps watch: the wait and --stop run on the head (the local provider: this
machine is the head, and the watcher a real detached process), so they survive the client.
Real tmux; the client is a real process that is killed."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from jobwaiter import Cluster, Outcome
from jobwaiter.errors import UsageError
from polling import wait_for

STOP_LOG = "cluster.log"


def _watcher_pid(env) -> int:  # type: ignore[no-untyped-def]
    return int((env.home / ".jobwaiter" / "watch" / "watcher.pid").read_text().split()[0])


def _stopped(env) -> list[str]:  # type: ignore[no-untyped-def]
    path = env.home / STOP_LOG
    return path.read_text().splitlines() if path.exists() else []


def _result(env, name: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return json.loads((env.record(name) / "result.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def _end_watchers(env):  # type: ignore[no-untyped-def]
    """The watcher outlives every client by design; the test's ends with the test."""
    yield
    pid_file = env.home / ".jobwaiter" / "watch" / "watcher.pid"
    if pid_file.exists():
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)


def test_the_head_waits_records_and_stops(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "sleep 1; exit 3", "--tmux", "--job-waiter=tmux",
            "--stop", "-y", "--json")
    assert r.code == 3, r.err
    assert r.json["outcome"] == "failed" and r.json["stop"]["ok"] is True, r.json
    assert "the head watches job" in r.err
    name = r.json["job"]
    record = env.record(name)
    assert (record / "watch.json").exists() and (record / "stop.claim").read_text() == \
        "the head's watch\n"
    assert _result(env, name)["outcome"] == "failed"
    assert _stopped(env) == ["stopped"]
    # The head's own stop commands started only after the result was recorded.
    assert not (record / "stop.sh").exists()
    for f in record.iterdir():
        assert f.stat().st_mode & 0o077 == 0, f


def test_a_client_killed_mid_job_leaves_the_head_to_stop_after_the_end(  # type: ignore[no-untyped-def]
        env, jobwaiter_argv, cli) -> None:
    client = subprocess.Popen([*jobwaiter_argv, "exec", str(env.config), "sleep 3",
                               "--tmux", "--job-waiter=tmux", "--stop", "-y"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: any((r / "watching").exists() for r in env.jobs.glob("*")), timeout=30)
    client.send_signal(signal.SIGKILL)
    client.wait(timeout=10)
    (record,) = env.jobs.glob("*")
    assert _stopped(env) == [], "stopped before the job's end"
    wait_for(lambda: _stopped(env) == ["stopped"], timeout=30)
    ended = float((record / "status").read_text().split()[1])
    head_stop = float((record / "head_stop").read_text().split()[1])
    assert head_stop >= ended
    # Coming back later: the real status and the stop's result, from the head's record.
    r = cli("wait", str(env.config), record.name, "--json")
    assert r.code == 0, r.err
    assert (r.json["outcome"], r.json["exit_status"]) == ("succeeded", 0)
    assert r.json["stop"]["ran"] is True and r.json["stop"]["ok"] is True, r.json


def test_detach_returns_once_watched_and_wait_follows(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "sleep 2; echo done", "--tmux", "--job-waiter=tmux",
            "--detach", "--json")
    assert r.code == 0, r.err
    assert r.json["outcome"] == "detached", r.json
    assert "to follow it: jobwaiter wait" in r.err
    jobs = {j["session"]: j for j in cli("jobs", str(env.config), "--json").json}
    assert jobs[r.json["job"]]["watched_by"] == "head"
    w = cli("wait", str(env.config), r.json["job"], "--json")
    assert (w.code, w.json["outcome"], w.json["exit_status"]) == (0, "succeeded", 0), w.err


def test_disarm_cancels_the_stop_and_wait_stop_arms_it_again(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "sleep 2", "--tmux", "--job-waiter=tmux", "--stop",
            "-y", "--detach", "--json")
    assert r.code == 0, r.err
    name = r.json["job"]
    assert cli("jobs", str(env.config), "--json").json[0]["stop_armed"] is True
    d = cli("disarm", str(env.config), name)
    assert d.code == 0 and f"{name}: disarmed" in d.err, d.err
    again = cli("disarm", str(env.config), name)
    assert again.code == 0 and "already disarmed" in again.err
    w = cli("wait", str(env.config), name, "--json")
    assert w.code == 0, w.err
    assert w.json["stop"] == {"state": "disarmed", "ran": False, "ok": None,
                              "detail": "not stopped: the stop was disarmed", "nodes": []}
    assert _stopped(env) == []


def test_disarm_after_the_stop_began_is_too_late(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux", "--stop", "-y",
            "--json")
    assert r.code == 0 and _stopped(env) == ["stopped"], r.err
    d = cli("disarm", str(env.config), r.json["job"], "--json")
    assert d.code == 1, d.err
    assert d.json["jobs"][0]["result"].startswith("too late: the stop was claimed by the head")


def test_a_killed_watcher_is_noticed_and_the_job_armed_again(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "sleep 3", "--tmux", "--job-waiter=tmux", "--stop", "-y",
            "--detach", "--json")
    assert r.code == 0, r.err
    os.kill(_watcher_pid(env), signal.SIGKILL)
    w = cli("wait", str(env.config), r.json["job"], "--json")
    assert w.code == 0, w.err
    assert "ended without a result" in w.err and "arming it again" in w.err
    assert w.json["outcome"] == "succeeded" and w.json["stop"]["ok"] is True, w.json
    assert _stopped(env) == ["stopped"]


def test_a_damaged_order_of_a_job_is_its_watch_result_not_silence(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "sleep 4", "--tmux", "--job-waiter=tmux", "--detach",
            "--json")
    assert r.code == 0, r.err
    name = r.json["job"]
    os.kill(_watcher_pid(env), signal.SIGKILL)
    (env.record(name) / "watch.json").write_text("{garbage\n")
    (copy,) = (env.home / ".jobwaiter" / "lib").iterdir()
    subprocess.run(["python3", "-I", str(copy / "run.py"), "ensure"], check=True,
                   capture_output=True, timeout=30)
    wait_for(lambda: (env.record(name) / "result.json").exists(), timeout=20)
    result = _result(env, name)
    assert result["outcome"] == "waiter_failed" and "watch.json" in result["message"], result
    # wait says so; the job's own end is still its record's.
    w = cli("wait", str(env.config), name, "--json")
    assert (w.code, w.json["outcome"]) == (126, "waiter_failed"), w.err
    assert "watch.json is not JSON" in w.err
    wait_for(lambda: env.status(name) == "0", timeout=20)
    assert cli("jobs", str(env.config), "--json").json[0]["state"] == "succeeded"


def test_two_clients_waiting_with_stop_stop_once(env, cli, jobwaiter_argv) -> None:  # type: ignore[no-untyped-def]
    # Both wait from the client (no head watch): one stop of the cluster; the other client
    # waits for it and reports it.
    r = cli("exec", str(env.config), "sleep 2", "--tmux", "--json")
    name = r.json["job"]
    waits = [subprocess.Popen([*jobwaiter_argv, "wait", str(env.config), name, "--stop", "-y",
                               "--watch", "client", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in waits]
    ran = [res["stop"]["ran"] for res in results]
    assert sorted(ran) == [False, True], results
    joined = next(res for res in results if not res["stop"]["ran"])
    assert joined["stop"]["state"] == "done" and joined["stop"]["ok"] is True, joined
    assert joined["stop"]["detail"] == f"stopped cluster test (by a client (after job {name}))"
    assert _stopped(env) == ["stopped"]


def test_a_stop_waits_for_the_other_jobs_then_runs(env, cli) -> None:  # type: ignore[no-untyped-def]
    other = cli("exec", str(env.config), "sleep 3", "--tmux", "--json").json["job"]
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux", "--stop", "-y",
            "--json")
    assert r.code == 0, r.err
    # The client's answer: the job's result; the head keeps the stop until `other` ends.
    assert r.json["stop"]["state"] == "deferred" and r.json["stop"]["ran"] is False, r.json
    assert r.json["stop"]["detail"] == f"stop deferred: waiting for {other}"
    assert f"jobwaiter: stop deferred: waiting for {other}\n" in r.err
    assert _stopped(env) == []
    wait_for(lambda: _stopped(env) == ["stopped"], timeout=30)
    stopped_at = (env.home / "cluster.log").stat().st_mtime
    other_ended = float((env.record(other) / "status").read_text().split()[1])
    assert stopped_at >= other_ended
    w = cli("wait", str(env.config), r.json["job"], "--json")
    assert w.json["stop"]["state"] == "done", w.json
    assert w.json["stop"]["detail"] == "stopped cluster test (head: 1 command)"


def test_a_session_without_waiter_is_stopped_by_the_head(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "sleep 1", "--tmux", "--stop", "-y", "--json")
    assert (r.code, r.json["outcome"]) == (0, "started"), r.err
    assert "the head stops the cluster when it ends" in r.json["message"]
    name = r.json["job"]
    assert not (env.record(name) / "stop.sh").exists()
    wait_for(lambda: _stopped(env) == ["stopped"], timeout=30)
    # The head's stop commands run after the result is recorded; then their outcome is.
    wait_for(lambda: not _result(env, name)["stop_pending"], timeout=30)
    assert _result(env, name)["stop"]["ok"] is True


def test_where_the_head_cannot_watch(env, cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "mine.py").write_text(
        "import jobwaiter\n"
        "class W(jobwaiter.JobWaiter):\n"
        "    def wait_for_completion(self, node_id, cmd, session_name, timeout=None):\n"
        "        pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    refused = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=mine.W",
                  "--watch", "head")
    assert refused.code == 2 and "the waiter mine.W is code of this machine" in refused.err
    assert not env.jobs.exists() or not list(env.jobs.glob("*")), "launched anyway"
    auto = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=mine.W")
    assert auto.code == 0, auto.err
    assert "watching from this client: the waiter mine.W" in auto.err
    for argv in (["true", "--detach"], ["true", "--tmux", "--detach", "--watch", "client"]):
        bad = cli("exec", str(env.config), *argv)
        assert bad.code == 2 and "--detach needs" in bad.err, bad.err


def test_the_api_detaches_and_waits(env) -> None:  # type: ignore[no-untyped-def]
    with Cluster(env.config) as cluster:
        started = cluster.exec("sleep 1; exit 4", tmux=True, job_waiter="tmux", detach=True)
        assert started.outcome is Outcome.DETACHED and started.ok
        result = cluster.wait(started.job)
        assert (result.outcome, result.exit_status) == (Outcome.FAILED, 4)
        with pytest.raises(UsageError):
            cluster.exec("true", detach=True)


def test_the_head_code_is_shipped_once_and_private(env, cli) -> None:  # type: ignore[no-untyped-def]
    cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux")
    cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux")
    lib = env.home / ".jobwaiter" / "lib"
    (copy,) = lib.iterdir()
    assert (copy / "run.py").exists() and (copy / "jobwaiter" / "watch" / "watcher.py").exists()
    assert not (copy / "jobwaiter" / "cli").exists()
    assert copy.stat().st_mode & 0o077 == 0
    log = (env.home / ".jobwaiter" / "watch" / "watcher.log").read_text()
    assert log.count("watcher started") == 1, log



@pytest.mark.parametrize("damage", ["removed", "changed"])
def test_a_damaged_copy_of_the_head_code_is_replaced(env, cli, damage: str) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux")
    assert r.code == 0, r.err
    (copy,) = (env.home / ".jobwaiter" / "lib").iterdir()
    module = copy / "jobwaiter" / "watch" / "notify.py"
    if damage == "removed":
        module.unlink()
    else:
        module.write_text("raise SystemExit(0)\n")
    with contextlib.suppress(OSError):  # the next run needs a new watcher
        os.kill(_watcher_pid(env), signal.SIGKILL)
    began = time.monotonic()
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux", "--stop", "-y",
            "--json")
    assert r.code == 0 and r.json["stop"]["state"] == "done", r.err
    assert time.monotonic() - began < 15 and "watching from this client" not in r.err, r.err
    assert "the head watches job" in r.err
    assert [p.name for p in (env.home / ".jobwaiter" / "lib").iterdir()] == [copy.name]
    assert "def " in module.read_text()


def test_the_head_code_and_its_bytecode_are_private(env, cli) -> None:  # type: ignore[no-untyped-def]
    # The usual login umask: the head's code is run under it (autostop, follow), not only
    # from the launch (which makes its own 077).
    umask = os.umask(0o022)
    try:
        assert cli("autostop", str(env.config), "--idle", "1h").code == 0
        assert cli("autostop", str(env.config), "--cancel").code == 0
        r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux", "--stop", "-y")
    finally:
        os.umask(umask)
    assert r.code == 0, r.err
    lib = env.home / ".jobwaiter" / "lib"
    found = list(lib.rglob("*"))
    assert any(p.suffix == ".pyc" for p in found)  # python did write its bytecode
    for p in [lib, *found]:
        assert p.stat().st_mode & 0o777 == (0o700 if p.is_dir() else 0o600), p


def test_a_failed_stop_on_the_head_shows_in_jobs(env, cli) -> None:  # type: ignore[no-untyped-def]
    bad = env.write_config("cluster_name: test\nprovider: {type: local}\n"
                           "head_stop_commands: ['echo stop-broke >&2; exit 3']\n", "bad.yaml")
    r = cli("exec", str(bad), "true", "--tmux", "--job-waiter=tmux", "--stop", "-y", "--json")
    assert r.code == 1 and r.json["outcome"] == "stop_failed", r.err
    assert "stop-broke" in r.json["stop"]["detail"]
    (row,) = cli("jobs", str(bad), "--json").json
    assert (row["state"], row["state_detail"]) == ("succeeded", "succeeded, stop failed")


def test_the_watch_runs_on_the_oldest_python3_a_head_may_have(env, cli, oldest_python3) -> None:  # type: ignore[no-untyped-def]
    old = oldest_python3
    r = cli("exec", str(env.config), "sleep 1; exit 2", "--tmux", "--job-waiter=tmux", "--stop",
            "-y", "--json")
    assert r.code == 2 and r.json["stop"]["ok"] is True, r.err
    watcher = int((env.home / ".jobwaiter" / "watch" / "watcher.pid").read_text().split()[0])
    exe = os.readlink(f"/proc/{watcher}/exe")
    assert os.path.basename(exe).startswith(os.path.basename(old)[:9]), exe


# -- run by the head: --max-runtime and notifications ----------------------------------------


class _Hook:
    """A loopback HTTP server that records each POST (its time and body)."""

    def __init__(self) -> None:
        import http.server
        import threading

        posts = self.posts = []  # type: ignore[var-annotated]

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                posts.append((time.time(), json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/s3cret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_max_runtime_kills_records_and_stops(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "sleep 60", "--tmux", "--job-waiter=tmux",
            "--max-runtime", "2s", "--stop", "-y", "--json")
    assert r.code == 143, r.err
    assert (r.json["outcome"], r.json["exit_status"]) == ("killed", 143)
    assert "longer than --max-runtime 2s" in r.json["message"]
    assert r.json["stop"]["ok"] is True and _stopped(env) == ["stopped"]
    (row,) = cli("jobs", str(env.config), "--json").json
    assert (row["state"], row["killed_by"]) == ("killed", "TERM")


def test_notify_posts_the_result_before_the_head_stops(env, cli) -> None:  # type: ignore[no-untyped-def]
    hook = _Hook()
    stamp = env.write_config("cluster_name: test\nprovider: {type: local}\n"
                             "head_stop_commands: ['date +%s.%N > ~/stopped_at']\n", "s.yaml")
    try:
        r = cli("exec", str(stamp), "exit 3", "--tmux", "--job-waiter=tmux", "--stop", "-y",
                "--notify", hook.url, "--notify-command", "cat > ~/notified.json", "--json")
        assert r.code == 3, r.err
        wait_for(lambda: hook.posts, timeout=10)
    finally:
        hook.close()
    ((posted_at, body),) = hook.posts
    assert (body["outcome"], body["exit_status"], body["job"]) == ("failed", 3, r.json["job"])
    assert "command" not in body and "log_path" not in body
    assert posted_at <= float((env.home / "stopped_at").read_text())
    assert json.loads((env.home / "notified.json").read_text())["exit_status"] == 3
    # The URL is a secret: nowhere in what jobwaiter prints or keeps readable.
    listed = cli("jobs", str(stamp), "--json").out
    assert "s3cret" not in listed and "s3cret" not in r.out and "s3cret" not in r.err
    assert "s3cret" not in (env.home / ".jobwaiter" / "watch" / "watcher.log").read_text()
    order = env.record(r.json["job"]) / "watch.json"
    assert order.stat().st_mode & 0o077 == 0


def test_a_dead_notify_url_is_recorded_and_changes_nothing(env, cli) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux",
            "--notify", f"http://127.0.0.1:{port}/x", "--json")
    assert r.code == 0 and r.json["outcome"] == "succeeded", r.err
    (note,) = r.json["notes"]
    assert note.startswith("notify url 1: not sent:") and str(port) not in note
    assert "notify url 1: not sent" in r.err


def test_the_notify_url_never_reaches_an_argv_on_the_head(env, jobwaiter_argv) -> None:  # type: ignore[no-untyped-def]
    hook = _Hook()
    try:
        p = subprocess.Popen([*jobwaiter_argv, "exec", str(env.config), "sleep 3", "--tmux",
                              "--job-waiter=tmux", "--notify", hook.url], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        seen = []
        # The URL is in the client's own argv; a fork of the client shows that argv until it
        # execs. What is looked for is a process started with the URL in its argv.
        client = Path(f"/proc/{p.pid}/cmdline").read_bytes()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for pid in os.listdir("/proc"):
                if pid.isdigit() and int(pid) != p.pid:
                    with contextlib.suppress(OSError):
                        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                        if cmdline != client:
                            seen.append(cmdline)
            time.sleep(0.2)
        p.communicate(timeout=60)
    finally:
        hook.close()
    assert not [c for c in seen if b"s3cret" in c]
    assert len(hook.posts) == 1


def test_head_only_options_need_the_heads_watch(env, cli) -> None:  # type: ignore[no-untyped-def]
    for argv in (["--max-runtime", "1h"], ["--notify", "http://127.0.0.1:9/x"]):
        r = cli("exec", str(env.config), "true", *argv)
        assert r.code == 2 and "run on the head's watch" in r.err, r.err
        r = cli("exec", str(env.config), "true", "--tmux", "--watch", "client", *argv)
        assert r.code == 2 and "--watch client" in r.err, r.err
    bad = cli("exec", str(env.config), "true", "--tmux", "--notify", "ftp://x")
    assert bad.code == 2 and "http:// or https://" in bad.err


def test_wait_follows_several_jobs_at_once(env, cli) -> None:  # type: ignore[no-untyped-def]
    ok = cli("exec", str(env.config), "sleep 1", "--tmux", "--job-waiter=tmux", "--detach",
             "--json").json["job"]
    bad = cli("exec", str(env.config), "sleep 2; exit 2", "--tmux", "--job-waiter=tmux",
              "--detach", "--json").json["job"]
    here = cli("exec", str(env.config), "sleep 1; exit 5", "--tmux", "--json").json["job"]
    r = cli("wait", str(env.config), ok, bad, here, "--json")
    assert r.code == 2, r.err  # the first failure's code, in the order given
    got = {j["job"]: (j["outcome"], j["exit_status"]) for j in r.json["jobs"]}
    assert got == {ok: ("succeeded", 0), bad: ("failed", 2), here: ("failed", 5)}
    assert r.json["outcome"] == "failed"
    assert "2 of 3 jobs did not succeed" in r.err
    running = cli("exec", str(env.config), "sleep 1", "--tmux", "--job-waiter=tmux",
                  "--detach", "--json").json["job"]
    every = cli("wait", str(env.config), "--all", "--json")
    assert every.code == 0 and [j["job"] for j in every.json["jobs"]] == [running], every.err
    assert cli("wait", str(env.config)).code == 2


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    (line,) = [x for x in status.splitlines() if x.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024


def test_a_loud_notify_command_leaves_the_watcher_small(env, cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux", "--notify-command",
            "head -c 200000000 /dev/zero | tr '\\0' x; echo; echo last-words >&2; exit 5",
            "--json")
    assert r.code == 0 and r.json["outcome"] == "succeeded", r.err
    (note,) = r.json["notes"]
    assert note.startswith("notify command: exit status 5") and note.endswith("last-words")
    peak = _peak_rss_mb(_watcher_pid(env))
    assert peak < 150, f"the watcher peaked at {peak:.0f} MB"


def test_notify_from_a_file_and_the_environment_stays_out_of_argv(  # type: ignore[no-untyped-def]
        env, jobwaiter_argv, tmp_path) -> None:
    hook = _Hook()
    urls = tmp_path / "hook.url"
    urls.write_text(f"{hook.url}?token=T0KEN123\n")
    urls.chmod(0o600)
    done = env.home / "notified.json"
    try:
        p = subprocess.Popen([*jobwaiter_argv, "exec", str(env.config), "sleep 2", "--tmux",
                              "--job-waiter=tmux", "--notify", f"@{urls}", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**os.environ, "JOBWAITER_NOTIFY_COMMAND":
                                  f"cat > {done} # s3cret-command"})
        client = Path(f"/proc/{p.pid}/cmdline").read_bytes()
        out, err = p.communicate(timeout=60)
    finally:
        hook.close()
    assert p.returncode == 0, err
    assert b"s3cret" not in client and b"T0KEN123" not in client
    assert len(hook.posts) == 1 and json.loads(done.read_text())["outcome"] == "succeeded"
    assert urls.read_text() == f"{hook.url}?token=T0KEN123\n"  # the user's file, untouched
    name = json.loads(out)["job"]
    kept = (env.record(name) / "result.json").read_text()
    log = (env.home / ".jobwaiter" / "watch" / "watcher.log").read_text()
    for text in (out.decode(), err.decode(), kept, log):
        assert "s3cret" not in text and "T0KEN123" not in text
