"""Faults and abuse on the local provider: each test reproduces a way a result could lie, a
signal could hit the wrong process, a record could leak, or bad input could start something
half-way. docs/faults.md lists them with the outcome each gets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from jobwaiter.cluster.cluster import Cluster
from jobwaiter.jobs.result import Outcome
from polling import wait_for


def _cli(env, *argv: str, **kw) -> subprocess.CompletedProcess[bytes]:  # type: ignore[no-untyped-def]
    """The CLI in its own process (argv may hold bytes that are not UTF-8)."""
    return subprocess.run([sys.executable, "-m", "jobwaiter.cli.main", *argv],
                          capture_output=True, timeout=120, env=dict(os.environ), **kw)


def _cluster_log(env) -> str:  # type: ignore[no-untyped-def]
    p = env.home / "cluster.log"
    return p.read_text() if p.exists() else ""


def _records(env) -> list[Path]:  # type: ignore[no-untyped-def]
    return sorted(env.jobs.iterdir()) if env.jobs.exists() else []


# -- 1. never a false success ---------------------------------------------------------------


@pytest.mark.parametrize("body", [
    "import sys\nsys.exit(0)\n",
    "raise SystemExit(0)\n",
    "raise KeyboardInterrupt\n",
    "raise GeneratorExit\n",
    "import os\nraise BaseException('boom')\n",
])
def test_a_waiter_module_that_exits_on_import_is_a_usage_error(env, cli, body: str) -> None:
    (env.home / "badwaiter.py").write_text(body)
    r = cli("exec", str(env.config), "touch ran", "--tmux", "--json",
            "--job-waiter=badwaiter.W")
    assert r.code == 2, r.err
    assert "badwaiter" in r.err
    assert not (env.home / "ran").exists() and _records(env) == []


@pytest.mark.parametrize("where", ["import", "init"])
def test_a_waiter_that_prints_leaves_stdout_to_json(env, cli, where: str) -> None:
    (env.home / f"chatty_{where}.py").write_text(
        "from jobwaiter import JobWaiter\n"
        + ("print('hello from import')\n" if where == "import" else "")
        + "class W(JobWaiter):\n"
        "    def __init__(self, config):\n"
        "        super().__init__(config)\n"
        + ("        print('hello from init')\n" if where == "init" else "")
        + "    def wait_for_completion(self, node_id, cmd, session_name, timeout=None):\n"
        "        return\n")
    r = cli("exec", str(env.config), "true", "--tmux", "--json",
            f"--job-waiter=chain[tmux, chatty_{where}.W]")
    assert r.code == 0, r.err
    assert json.loads(r.out)["outcome"] == "succeeded"
    assert "hello from" in r.err


def test_a_waiter_whose_constructor_exits_is_a_usage_error(env, cli) -> None:
    (env.home / "exitinit.py").write_text(
        "import sys\nfrom jobwaiter import JobWaiter\n"
        "class W(JobWaiter):\n"
        "    def __init__(self, config):\n"
        "        sys.exit(0)\n")
    r = cli("exec", str(env.config), "touch ran", "--tmux", "--job-waiter=exitinit.W")
    assert r.code == 2 and "SystemExit" in r.err
    assert not (env.home / "ran").exists()


def _job_that_outlives_its_wrapper(env, cli, extra: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """A tmux job that ignores SIGHUP; its wrapper is killed with SIGKILL once it runs.
    Returns the CLI result and the pid of the job's own (surviving) process."""
    pid_file = env.home / "job.pid"
    cmd = f"trap '' HUP; echo $$ > {pid_file}; sleep 6; touch {env.home}/finished"
    box: dict[str, object] = {}

    def kill_wrapper() -> None:
        wait_for(lambda: pid_file.exists() and any((r / "pid").exists() for r in
                                                   _records(env)), timeout=20)
        record = _records(env)[0]
        os.kill(int((record / "pid").read_text()), signal.SIGKILL)

    t = threading.Thread(target=kill_wrapper)
    t.start()
    r = cli("exec", str(env.config), cmd, "--tmux", "--job-waiter=tmux", "--json", *extra)
    t.join()
    box["pid"] = int(pid_file.read_text())
    return r, box["pid"]


def test_lost_with_processes_alive_does_not_stop_the_cluster(env, cli) -> None:
    r, pid = _job_that_outlives_its_wrapper(env, cli, ("--stop", "-y"))
    assert r.code == 125, r.err
    data = r.json
    assert data["outcome"] == "lost_running"
    assert data["stop"]["ran"] is False
    os.kill(pid, 0)  # the job really still runs
    assert "stopped" not in _cluster_log(env)
    # jobs says so too, and kill ends what is left, by the job's environment.
    jobs = cli("jobs", str(env.config), "--json")
    assert jobs.json[0]["state"] == "lost_running"
    assert "processes still run" in jobs.json[0]["state_detail"]
    k = cli("kill", str(env.config), data["session"], "--grace", "1")
    assert k.code == 0 and "lost" in k.err
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or
             Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z", timeout=10)
    assert not (env.home / "finished").exists()


def test_lost_with_nothing_left_still_stops(env, cli) -> None:
    def kill_server() -> None:
        wait_for(lambda: any((r / "pid").exists() for r in _records(env)), timeout=20)
        subprocess.run(["tmux", "kill-server"], check=False)

    t = threading.Thread(target=kill_server)
    t.start()
    r = cli("exec", str(env.config), "sleep 30", "--tmux", "--job-waiter=tmux", "--json",
            "--stop", "-y")
    t.join()
    assert r.code == 125 and r.json["outcome"] == "lost", r.err
    assert r.json["stop"]["ok"] is True and "stopped" in _cluster_log(env)


def test_a_failed_in_session_stop_reaches_wait_and_jobs(env, cli) -> None:
    bad = env.write_config("cluster_name: test\nprovider: {type: local}\n"
                           "head_stop_commands: ['echo stop-broke >&2; exit 3']\n", "bad.yaml")
    r = cli("exec", str(bad), "true", "--tmux", "--stop", "-y", "--json", "--watch", "client")
    assert r.code == 0 and r.json["outcome"] == "started"
    name = r.json["session"]
    w = cli("wait", str(bad), name, "--json")
    assert w.code == 1, w.err
    assert w.json["outcome"] == "stop_failed"
    assert w.json["stop"]["ok"] is False and "stop-broke" in w.json["stop"]["detail"]
    jobs = cli("jobs", str(bad), "--json")
    assert jobs.json[0]["state"] == "succeeded"
    assert jobs.json[0]["state_detail"] == "succeeded, stop failed (1)"


def test_a_good_in_session_stop_is_reported_by_wait(env, cli) -> None:
    r = cli("exec", str(env.config), "sleep 1", "--tmux", "--stop", "-y", "--json")
    name = r.json["session"]
    w = cli("wait", str(env.config), name, "--json")
    assert w.code == 0 and w.json["outcome"] == "succeeded"
    assert w.json["stop"]["ok"] is True
    assert "stopped" in _cluster_log(env)


def test_kill_and_a_waiting_exec_agree_on_one_status(env, jobwaiter_argv) -> None:
    exec_ = subprocess.Popen([*jobwaiter_argv, "exec", str(env.config),
                              "trap '' TERM; sleep 60", "--tmux", "--job-waiter=tmux",
                              "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    wait_for(lambda: any((r / "pid").exists() for r in _records(env)), timeout=20)
    name = _records(env)[0].name
    time.sleep(0.5)
    k = subprocess.run([*jobwaiter_argv, "kill", str(env.config), name, "--grace", "1"],
                       capture_output=True, text=True, timeout=60)
    out, err = exec_.communicate(timeout=60)
    assert k.returncode == 0, k.stderr
    assert "137" in k.stderr
    data = json.loads(out)
    # Both report the one recorded status; the record says `jobwaiter kill` caused it.
    assert (data["outcome"], data["exit_status"]) == ("killed", 137), err
    assert env.status(name) == "137"


# -- 2. never signal what is not ours --------------------------------------------------------


@pytest.mark.parametrize("kind", ["--tmux", "--screen"])
def test_kill_of_a_job_whose_session_stays_open_is_prompt(env, cli, kind) -> None:  # type: ignore[no-untyped-def]
    # Without a waiter the session is kept open after the job; a killed job's is not (its
    # kept shell ignores TERM and would pass for the job, costing the grace and a KILL).
    r = cli("exec", str(env.config), "sleep 60", kind, "--json")
    assert r.code == 0, r.err
    name = r.json["session"]
    wait_for(lambda: (env.record(name) / "pid").exists(), timeout=20)
    t0 = time.monotonic()
    k = cli("kill", str(env.config), name, "--grace", "5")
    assert k.code == 0 and "recorded exit status 143" in k.err, k.err
    assert time.monotonic() - t0 < 4, "kill waited for the kept shell"
    assert env.status(name) == "143"
    listed = cli("jobs", str(env.config), "--json").json
    assert [(j["state"], j["killed_by"]) for j in listed if j["session"] == name] == [
        ("killed", "TERM")]


def test_kill_of_a_lost_job_spares_a_process_that_reused_its_pid(env, cli) -> None:
    r, pid = _job_that_outlives_its_wrapper(env, cli)
    name = r.json["session"]
    os.kill(pid, signal.SIGKILL)
    # An unrelated process group now owns the number the pid file names.
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        (env.record(name) / "pid").write_text(f"{other.pid}\n")
        k = cli("kill", str(env.config), name, "--grace", "0.5")
        assert k.code == 0, k.err
        assert other.poll() is None, "an unrelated process was killed"
        assert env.status(name) is None  # still lost: nobody saw how it ended
    finally:
        other.kill()
        other.wait()


# -- 3. what the head prints is not ours to parse -------------------------------------------


@pytest.fixture
def noisy(env, monkeypatch):  # type: ignore[no-untyped-def]
    """Every bash started on the head prints a banner on stdout and stderr first."""
    rc = env.home / "noise.sh"
    rc.write_text("echo 'Welcome to the head node'; echo 'status 0 1'; echo 'lost'; "
                  "echo 'stty: not a tty' >&2\n")
    monkeypatch.setenv("BASH_ENV", str(rc))
    return rc


@pytest.mark.parametrize("kind", ["tmux", "screen"])
def test_a_banner_on_the_head_changes_no_result(env, cli, noisy, kind: str) -> None:
    r = cli("exec", str(env.config), "sleep 1; exit 3", f"--{kind}",
            f"--job-waiter={kind}", "--json")
    assert r.code == 3, r.err
    name = r.json["session"]
    assert cli("wait", str(env.config), name, "--json").json["exit_status"] == 3
    jobs = cli("jobs", str(env.config), "--json").json
    assert [(j["session"], j["state"], j["state_detail"]) for j in jobs] == \
        [(name, "failed", "failed (3)")]
    r = cli("exec", str(env.config), "sleep 30", f"--{kind}", "--job-waiter", kind,
            "--job-timeout", "1", "--json")
    assert r.json["outcome"] == "timeout"
    k = cli("kill", str(env.config), r.json["session"], "--grace", "1")
    assert k.code == 0 and "143" in k.err


@pytest.mark.parametrize("name", ["log", "hold", "d", "tee", "kind", "rc", "jw_cmd",
                                  "jw_env", "name", "status", "wrapper"])
def test_the_job_environment_cannot_touch_the_wrapper(env, cli, monkeypatch, name) -> None:
    monkeypatch.setenv(name, "/somewhere")
    r = cli("exec", str(env.config), f'echo "[${name}][$OTHER]" > seen', "--tmux",
            "--job-waiter=tmux", "--json", "--env", f"{name}=debug", "--env", "OTHER=1")
    assert r.code == 0, r.err
    assert (env.home / "seen").read_text() == "[debug][1]\n"
    record = env.record(r.json["session"])
    assert (record / "status").exists()
    assert not Path("/somewhere").exists()


def test_an_empty_path_breaks_only_the_job(env, cli) -> None:
    t0 = time.monotonic()
    r = cli("exec", str(env.config), "ls", "--tmux", "--job-waiter=tmux", "--json",
            "--env", "PATH=")
    assert time.monotonic() - t0 < 8
    assert r.code == 127 and r.json["outcome"] == "failed", r.err


def test_the_job_gets_exactly_its_environment_plus_its_name(env, cli, monkeypatch) -> None:
    monkeypatch.setenv("FROM_LAUNCH", "a b\nc")
    r = cli("exec", str(env.config), "env -0 > env.out", "--tmux", "--job-waiter=tmux",
            "--json", "--env", "EXTRA=x")
    assert r.code == 0, r.err
    entries = (env.home / "env.out").read_bytes().split(b"\0")
    seen = dict(e.split(b"=", 1) for e in entries if b"=" in e)
    assert seen[b"FROM_LAUNCH"] == b"a b\nc" and seen[b"EXTRA"] == b"x"
    assert seen[b"JOBWAITER_JOB"] == r.json["session"].encode()
    assert b"TMUX" in seen  # the session's own
    launch = {k.encode() for k in os.environ}
    extra = set(seen) - launch - {b"EXTRA", b"JOBWAITER_JOB", b"TMUX", b"TMUX_PANE",
                                  b"TERM", b"SHLVL", b"PWD", b"_", b"OLDPWD"}
    assert extra == set()


@pytest.mark.parametrize("content", ["garbage", "3", "-1 17", "999 1.5", "0 nan x", "\n"])
def test_a_corrupt_status_is_an_error_not_a_traceback(env, cli, content: str) -> None:
    # Read from the record by this client (the head's watch records its result once).
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux", "--json",
            "--watch", "client")
    name = r.json["session"]
    (env.record(name) / "status").write_text(content)
    w = cli("wait", str(env.config), name, "--json")
    assert "Traceback" not in w.err
    if content.strip() == "3":  # a status without a time is still a status
        assert w.code == 3
        return
    assert w.code == 125 and w.json["outcome"] == "lost", w.err
    jobs = cli("jobs", str(env.config), "--json")
    assert jobs.code == 0 and "Traceback" not in jobs.err
    assert jobs.json[0]["state"] == "lost"
    assert jobs.json[0]["state_detail"] in ("lost (corrupt record)", "lost")


@pytest.mark.parametrize("session", [None, "tmux", "screen"])
def test_a_launch_that_fails_is_launch_failed_not_lost(env, cli, session) -> None:
    (env.home / ".jobwaiter").mkdir()
    (env.home / ".jobwaiter" / "jobs").write_text("not a directory")
    args = ["exec", str(env.config), "touch ran", "--json"]
    if session:
        args += [f"--{session}", f"--job-waiter={session}"]
    r = cli(*args)
    assert r.code == 1, r.err
    assert r.json["outcome"] == "launch_failed"
    assert not (env.home / "ran").exists()


# -- 4. private by default -------------------------------------------------------------------


def _mode(p: Path) -> int:
    return p.stat().st_mode & 0o777


def test_records_and_logs_are_private_and_secrets_do_not_linger(env, cli, monkeypatch):  # type: ignore[no-untyped-def]
    os.umask(0o022)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "launch-secret-123")
    r = cli("exec", str(env.config), "echo out; touch made", "--tmux", "--job-waiter=tmux",
            "--json", "--env", "DB_PASSWORD=env-secret-456", "--stop", "-y")
    assert r.code == 0, r.err
    record = env.record(r.json["session"])
    assert _mode(env.home / ".jobwaiter") == 0o700
    assert _mode(env.jobs) == 0o700 and _mode(record) == 0o700
    for f in record.iterdir():
        assert _mode(f) & 0o077 == 0, f
    log = env.home / "user" / "logs" / f"{r.json['session']}.log"
    assert _mode(log) == 0o600 and _mode(log.parent) == 0o700
    assert not (record / "env.0").exists(), "the saved environment outlived its use"
    for f in [*record.iterdir(), log]:
        text = f.read_bytes()
        assert b"launch-secret-123" not in text and b"env-secret-456" not in text, f
    # The job itself keeps the umask it was launched with.
    assert _mode(env.home / "made") == 0o644


def test_everything_under_the_state_directory_is_private(env, cli) -> None:  # type: ignore[no-untyped-def]
    """Under the usual login umask, and over what an older version left readable: every
    directory jobwaiter keeps on the head is 0700, every file 0600 (a parent made readable
    by someone else then shows nothing); the cluster's own commands keep the umask."""
    os.umask(0o022)
    (env.home / ".jobwaiter" / "clusters").mkdir(parents=True, mode=0o755)
    (env.home / ".jobwaiter" / "clusters" / "test.state").write_text("stopped\n")
    assert cli("start", str(env.config)).code == 0
    assert cli("autostop", str(env.config), "--idle", "1h").code == 0
    assert cli("autostop", str(env.config), "--cancel").code == 0
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux", "--stop", "-y")
    assert r.code == 0, r.err
    assert cli("exec", str(env.config), "true", "--tmux", "--start", "-y").code == 0
    root = env.home / ".jobwaiter"
    found = [root, *root.rglob("*")]
    assert any(p.name == "test.state" for p in found) and any(p.suffix == ".pyc" for p in found)
    for p in found:
        if not p.is_symlink():
            assert _mode(p) == (0o700 if p.is_dir() else 0o600), p
    assert _mode(env.home / "cluster.log") == 0o644


@pytest.mark.parametrize("kind", ["dangling link", "link to a file", "file"])
def test_a_state_directory_that_is_not_one_is_said_in_one_line(env, cli, kind: str) -> None:
    top = env.home / ".jobwaiter"
    (env.home / "afile").write_text("x\n")
    if kind == "dangling link":
        top.symlink_to(env.home / "gone")
    elif kind == "link to a file":
        top.symlink_to(env.home / "afile")
    else:
        top.write_text("x\n")
    r = cli("exec", str(env.config), "touch ran", "--tmux", "--job-waiter=tmux")
    assert r.code == 1 and "launch_failed" in r.err, r.err
    assert not (env.home / "ran").exists()
    for line in r.err.splitlines():
        assert "File \"" not in line and "Error:" not in line and "Traceback" not in line, r.err
    warning = [ln for ln in r.err.splitlines() if "warning" in ln]
    assert len(warning) == 1 and "~/.jobwaiter" in warning[0], r.err
    assert "~/.jobwaiter is " in r.err.splitlines()[-1], r.err


def test_env_values_never_reach_argv(env, jobwaiter_argv) -> None:
    p = subprocess.Popen([*jobwaiter_argv, "exec", str(env.config), "sleep 3", "--tmux",
                          "--job-waiter=tmux", "--env", "TOKEN=argv-secret-789"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = []
    # The value is in the client's own argv (it was typed there); a fork of the client shows
    # that argv until it execs. What is looked for is a process started with it in argv.
    client = Path(f"/proc/{p.pid}/cmdline").read_bytes()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != p.pid:
                try:
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"argv-secret-789" in cmdline and cmdline != client:
                    seen.append(entry)
        time.sleep(0.05)
    p.communicate(timeout=30)
    assert seen == []


# -- 5. bad bytes and sizes ------------------------------------------------------------------


def test_bytes_that_are_not_utf8_reach_the_job_verbatim(env) -> None:
    raw = b"caf\xe9 \x80\xff"
    r = _cli(env, "exec", str(env.config), b"printf '%s' '" + raw + b"' > out2", "--tmux",
             "--job-waiter=tmux")
    assert r.returncode == 0, r.stderr
    assert (env.home / "out2").read_bytes() == raw
    script = env.home / "s.sh"
    script.write_text('printf "%s|" "$@" > args\n')
    r = _cli(env, "submit", str(env.config), str(script), raw, b"x\xfey")
    assert r.returncode == 0, r.stderr
    assert (env.home / "args").read_bytes() == raw + b"|x\xfey|"


def test_a_config_that_is_not_utf8_is_refused(env) -> None:
    bad = env.home / "bad.yaml"
    bad.write_bytes(b"cluster_name: t\xff\xfe\nprovider: {type: local}\n")
    r = _cli(env, "exec", str(bad), "true")
    assert r.returncode == 2 and b"Traceback" not in r.stderr
    assert len(r.stderr.decode().strip().splitlines()) == 1


@pytest.mark.parametrize("size", [131072, 400_000])
def test_a_command_too_big_for_the_head_is_refused_before_anything_runs(env, cli,
                                                                        size: int) -> None:
    r = cli("exec", str(env.config), "#" + "\U0001f600" * (size // 4), "--start", "-y",
            "--tmux", "--json")
    assert r.code == 2 and "bytes" in r.err
    assert _cluster_log(env) == "" and _records(env) == []
    script = env.home / "job.sh"
    script.write_text("true\n")
    r = cli("submit", "-y", str(env.config), str(script), "x" * size, "--start")
    assert r.code == 2 and "bytes" in r.err
    assert not (env.home / "user" / "jobs" / "job.sh").exists()
    assert _cluster_log(env) == ""


def test_bad_input_never_starts_the_cluster(env, cli) -> None:
    for args in (["--job-waiter", "chain[" * 3000], ["--job-waiter", "nosuch"],
                 ["--env", "1BAD=x"], ["--env", "JOBWAITER_JOB=x"],
                 ["--job-waiter=screen", "--tmux"]):
        r = cli("exec", str(env.config), "true", "--start", "-y", "--tmux", *args)
        assert r.code == 2, (args, r.err)
        assert "Traceback" not in r.err
    assert _cluster_log(env) == "" and _records(env) == []


def test_the_python_api_refuses_what_no_head_can_run(env) -> None:
    with Cluster(env.config) as cluster:
        for kwargs in ({"job_timeout": float("nan")}, {"job_timeout": float("inf")},
                       {"env": {"K": "a\0b"}}):
            with pytest.raises(Exception) as info:
                cluster.exec("true", **kwargs)  # type: ignore[arg-type]
            assert type(info.value).__name__ == "UsageError"
        with pytest.raises(Exception) as info:
            cluster.exec("echo \ud800")
        assert type(info.value).__name__ == "UsageError"
        result = cluster.exec("exit 0")
        assert result.outcome is Outcome.SUCCEEDED


def test_a_waiter_that_prints_while_waiting_leaves_stdout_to_json(env, cli) -> None:
    (env.home / "talker.py").write_text(
        "from jobwaiter import JobWaiter\n"
        "class W(JobWaiter):\n"
        "    def wait_for_completion(self, node_id, cmd, session_name, timeout=None):\n"
        "        print('polling the queue')\n")
    r = cli("exec", str(env.config), "true", "--tmux", "--json",
            "--job-waiter=chain[tmux, talker.W]")
    assert r.code == 0, r.err
    assert json.loads(r.out)["outcome"] == "succeeded"
    assert "polling the queue" in r.err


def test_a_lost_job_whose_daemon_cleared_its_environment_still_blocks_the_stop(env, cli):  # type: ignore[no-untyped-def]
    pid_file = env.home / "daemon.pid"
    # Only the daemon outlives the hangup, and it carries no JOBWAITER_JOB.
    cmd = f"(trap '' HUP; exec env -i sleep 8) & echo $! > {pid_file}; sleep 30"

    def kill_wrapper() -> None:
        wait_for(lambda: pid_file.exists(), timeout=20)
        os.kill(int((_records(env)[0] / "pid").read_text()), signal.SIGKILL)

    t = threading.Thread(target=kill_wrapper)
    t.start()
    r = cli("exec", str(env.config), cmd, "--tmux", "--job-waiter=tmux", "--json",
            "--stop", "-y")
    t.join()
    assert r.code == 125 and r.json["outcome"] == "lost_running", r.err
    assert "stopped" not in _cluster_log(env)
    daemon = int(pid_file.read_text())
    assert b"JOBWAITER_JOB" not in Path(f"/proc/{daemon}/environ").read_bytes()
    os.kill(daemon, signal.SIGKILL)


@pytest.mark.parametrize("raised", ["SystemExit(0)", "ValueError('bad json')",
                                    "GeneratorExit()"])
def test_a_waiter_whose_check_raises_fails_the_wait(env, cli, raised: str) -> None:
    module = f"bomb_{abs(hash(raised))}"
    (env.home / f"{module}.py").write_text(
        "from jobwaiter import Waiter\n"
        "class W(Waiter):\n"
        "    name = 'bomb'\n"
        "    def check(self, job, block):\n"
        f"        raise {raised}\n")
    r = cli("exec", str(env.config), "true", "--tmux", "--json",
            f"--job-waiter=chain[tmux, {module}.W]")
    assert r.code == 126, r.err
    assert r.json["outcome"] == "waiter_failed"
    assert raised.split("(")[0] in r.json["message"]


def test_an_exported_shell_state_cannot_break_our_scripts(env, cli, monkeypatch) -> None:
    monkeypatch.setenv("SHELLOPTS", "errexit:nounset:xtrace:noglob")
    monkeypatch.setenv("BASHOPTS", "nullglob:failglob")
    monkeypatch.setenv("IFS", "x")
    monkeypatch.setenv("CDPATH", "/tmp")
    for fn in ("flock", "tmux", "cat", "head", "grep"):
        monkeypatch.setenv(f"BASH_FUNC_{fn}%%", "() { echo fake; return 0; }")
    r = cli("exec", str(env.config), "sleep 1; exit 4", "--tmux", "--job-waiter=tmux",
            "--json")
    assert r.code == 4, r.err
    name = r.json["session"]
    assert cli("wait", str(env.config), name, "--json").json["exit_status"] == 4
    assert cli("jobs", str(env.config), "--json").json[0]["state_detail"] == "failed (4)"


def test_an_uploaded_script_is_private(env, cli) -> None:
    os.umask(0o022)
    script = env.home / "secret_job.sh"
    script.write_text("exit 0\n")
    r = cli("submit", str(env.config), str(script))
    assert r.code == 0, r.err
    uploaded = env.home / "user" / "jobs" / "secret_job.sh"
    assert _mode(uploaded) == 0o600
