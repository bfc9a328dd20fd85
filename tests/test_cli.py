"""The CLI's edges: usage errors, quoting of hostile strings, submit, chains and user waiters,
--stop in each mode, confirmations, --json, help."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

HOSTILE = [
    "it's",
    'say "hi"',
    "$HOME",
    "`id`",
    "$(touch /tmp/jw-pwned)",
    "a; touch /tmp/jw-pwned",
    "two words",
    "line1\nline2",
    "",
    "--tmux",
    "-y",
    "\\back\\slash",
    "* ?",
]

WAITERS_PY = '''
from pathlib import Path
from jobwaiter import JobWaiter

class Order(JobWaiter):
    def wait_for_completion(self, node_id, cmd, session_name, timeout=None):
        out = self.runner.run(node_id, "cat ~/user/logs/" + session_name + ".log")
        Path("order.txt").open("a").write(f"{type(self).__name__}:{out.stdout.strip()}\\n")

class First(Order):
    pass

class Second(Order):
    pass

class Broken(JobWaiter):
    def wait_for_completion(self, node_id, cmd, session_name, timeout=None):
        Path("order.txt").open("a").write("Broken\\n")
        raise RuntimeError("engine app application_1_0001 FAILED")

class NotAWaiter:
    pass

class BadInit(JobWaiter):
    def __init__(self, config):
        raise ValueError("needs a key")
'''


@pytest.fixture
def user_waiters(env):  # type: ignore[no-untyped-def]
    (env.home / "mywaiters.py").write_text(WAITERS_PY)
    return env.home / "order.txt"


def test_multi_line_and_empty_commands(env, cli) -> None:
    r = cli("exec", str(env.config), "echo one\n\necho 'two\nlines'\n", "--tmux",
            "--job-waiter=tmux", "--json")
    assert r.code == 0
    assert (env.home / r.json["log_path"][2:]).read_text() == "one\ntwo\nlines\n"
    r = cli("exec", str(env.config), "", "--screen", "--job-waiter=screen", "--json")
    assert r.code == 0 and r.json["exit_status"] == 0


def test_hostile_command_reaches_bash_once(env, cli) -> None:
    cmd = "printf '%s\\n' \"it's\" '$HOME' '`id`' 'a;b'"
    for kind in ("tmux", "screen"):
        r = cli("exec", str(env.config), cmd, f"--{kind}", f"--job-waiter={kind}", "--json")
        assert r.code == 0
        log = (env.home / r.json["log_path"][2:]).read_text()
        assert log.splitlines() == ["it's", "$HOME", "`id`", "a;b"]
    r = cli("exec", str(env.config), cmd)
    assert r.out.splitlines() == ["it's", "$HOME", "`id`", "a;b"]


@pytest.mark.parametrize("kind", [None, "tmux", "screen"])
def test_hostile_script_args_arrive_verbatim(env, cli, kind: str | None) -> None:
    script = env.home / "show args.py"
    script.write_text("import json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    opts = [f"--{kind}", f"--job-waiter={kind}"] if kind else []
    r = cli("submit", *opts, "--json", str(env.config), str(script), "--", *HOSTILE)
    assert r.code == 0, r.err
    out = r.out
    if kind:
        data = json.loads(out)
        out = (env.home / data["log_path"][2:]).read_text()
    assert json.loads(out.splitlines()[0]) == HOSTILE
    assert not Path("/tmp/jw-pwned").exists()
    uploaded = env.home / "user" / "jobs" / "show args.py"
    assert uploaded.read_text() == script.read_text()


def test_submit_options_may_come_between_config_and_script(env, cli) -> None:
    script = env.home / "job.sh"
    script.write_text('echo "args: $*"\nexit 7\n')
    r = cli("submit", str(env.config), "--json", str(script), "--", "--json", "x")
    assert r.code == 7
    assert r.out.splitlines()[0] == "args: --json x"
    assert json.loads(r.out[r.out.index("{"):])["exit_status"] == 7


def test_submit_unsupported_type(env, cli) -> None:
    script = env.home / "job.rb"
    script.write_text("puts 1\n")
    r = cli("submit", str(env.config), str(script))
    assert r.code == 2
    assert "unsupported script type .rb; supported: .sh (bash), .py (python3)" in r.err
    assert not (env.home / "user").exists()


def test_submit_missing_script(env, cli) -> None:
    r = cli("submit", str(env.config), str(env.home / "nope.py"))
    assert r.code == 2
    assert "script not found" in r.err


def test_submit_replaces_the_script_atomically(env, cli) -> None:
    script = env.home / "job.sh"
    script.write_text("echo v1\n")
    assert cli("submit", str(env.config), str(script)).code == 0
    uploaded = env.home / "user" / "jobs" / "job.sh"
    inode = uploaded.stat().st_ino
    with uploaded.open() as old:  # a job still reading the old copy
        script.write_text("echo v2\n")
        r = cli("submit", str(env.config), str(script))
        assert r.out == "v2\n"
        assert old.read() == "echo v1\n"
    assert uploaded.stat().st_ino != inode
    assert not list((env.home / "user" / "jobs").glob(".upload.*"))


def test_submit_url_is_downloaded_on_the_head(env, cli) -> None:
    served = env.home / "srv"
    served.mkdir()
    (served / "remote job.sh").write_text('echo "downloaded $1"\n')

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):  # type: ignore[no-untyped-def]
            super().__init__(*a, directory=str(served), **kw)

        def log_message(self, *a):  # type: ignore[no-untyped-def]
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/remote%20job.sh"
        r = cli("submit", str(env.config), url, "ok $x")
        assert r.code == 0, r.err
        assert r.out == "downloaded ok $x\n"
        assert (env.home / "user" / "jobs" / "remote job.sh").exists()
        r = cli("submit", str(env.config), url.replace("remote%20job", "missing"))
        assert r.code == 1
        assert "downloading" in r.err
    finally:
        server.shutdown()


def test_chain_runs_in_order(env, cli, user_waiters: Path) -> None:
    r = cli("exec", str(env.config), "echo job-output", "--tmux",
            "--job-waiter=chain[tmux, mywaiters.First, chain[mywaiters.Second]]", "--json")
    assert r.code == 0, r.err
    assert user_waiters.read_text().splitlines() == ["First:job-output", "Second:job-output"]
    assert [w["name"] for w in r.json["waiters"]] == ["tmux", "mywaiters.First",
                                                       "mywaiters.Second"]


def test_chain_short_circuits_on_failure(env, cli, user_waiters: Path) -> None:
    r = cli("exec", str(env.config), "true", "--screen",
            "--job-waiter=chain[screen, mywaiters.Broken, mywaiters.First]", "--json")
    assert r.code == 126
    data = r.json
    assert data["outcome"] == "waiter_failed"
    assert data["exit_status"] == 0
    assert [w["outcome"] for w in data["waiters"]] == ["succeeded", "failed", "skipped"]
    assert "application_1_0001 FAILED" in data["waiters"][1]["detail"]
    assert user_waiters.read_text().splitlines() == ["Broken"]


def test_failed_job_stops_the_chain(env, cli, user_waiters: Path) -> None:
    r = cli("exec", str(env.config), "exit 9", "--tmux",
            "--job-waiter=chain[tmux, mywaiters.First]", "--json")
    assert r.code == 9
    assert [w["outcome"] for w in r.json["waiters"]] == ["failed", "skipped"]
    assert not user_waiters.exists()


def test_session_waiter_runs_first_implicitly(env, cli, user_waiters: Path) -> None:
    r = cli("exec", str(env.config), "sleep 1; echo late", "--tmux",
            "--job-waiter=mywaiters.First", "--json")
    assert r.code == 0
    assert [w["name"] for w in r.json["waiters"]] == ["tmux", "mywaiters.First"]
    # The user waiter ran after the job ended, so it saw the job's final output.
    assert user_waiters.read_text() == "First:late\n"


def test_foreground_waiters_run_after_the_command(env, cli, user_waiters: Path) -> None:
    r = cli("exec", str(env.config), "echo fg", "--job-log", "--job-waiter=mywaiters.First",
            "--json")
    assert r.code == 0
    assert user_waiters.read_text() == "First:fg\n"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--tmux", "--job-waiter=chain[tmux,,x]"], "expected a waiter name"),
        (["--tmux", "--job-waiter=chain[]"], "expected a waiter name"),
        (["--tmux", "--job-waiter=chain"], "'chain' needs at least one waiter"),
        (["--tmux", "--job-waiter=chain[tmux"], "missing ']'"),
        (["--tmux", "--job-waiter=nosuch"], "unknown job waiter 'nosuch'; available:"),
        (["--tmux", "--job-waiter=mywaiters.NotAWaiter"], "is not a JobWaiter class"),
        (["--tmux", "--job-waiter=mywaiters.BadInit"], "could not be created"),
        (["--tmux", "--job-waiter=nomodule.X"], "cannot import 'nomodule'"),
        (["--screen", "--job-waiter=tmux"], "the tmux waiter needs --tmux, not --screen"),
        (["--job-waiter=screen"], "the screen waiter needs --screen, not a foreground job"),
        (["--tmux", "--screen"], "cannot be used together"),
        (["--env", "1BAD=x"], "not a valid variable name"),
        (["--env", "NOEQUALS"], "expected KEY=VALUE"),
        (["--job-timeout", "0"], "--job-timeout"),
    ],
)
def test_usage_errors_run_nothing(env, cli, user_waiters: Path, args: list[str],
                                  fragment: str) -> None:
    r = cli("exec", str(env.config), "touch ~/ran", "--start", "-y", *args)
    assert r.code == 2, r.err
    assert fragment in r.err
    assert "Traceback" not in r.err
    assert not (env.home / "ran").exists()
    assert not (env.home / "cluster.log").exists(), "--start must not run before validation"
    assert not env.jobs.exists()


def test_stop_foreground(env, cli) -> None:
    r = cli("exec", str(env.config), "exit 3", "--stop", "-y", "--json")
    assert r.code == 3
    data = json.loads(r.out)
    assert data["stop"]["ok"] is True
    assert (env.home / "cluster.log").read_text() == "stopped\n"


def test_stop_after_waiters_even_when_lost(env, cli) -> None:
    import subprocess

    from polling import wait_for

    def kill_later() -> None:  # once the job runs in its session
        wait_for(lambda: any(env.jobs.glob("*/pid")), timeout=20)
        subprocess.run(["tmux", "kill-server"], check=False)

    threading.Thread(target=kill_later, daemon=True).start()
    r = cli("exec", str(env.config), "sleep 20", "--tmux", "--job-waiter=tmux", "--stop", "-y",
            "--json")
    assert r.code == 125
    assert r.json["stop"]["ok"] is True
    assert (env.home / "cluster.log").read_text() == "stopped\n"


def test_stop_inside_the_session_without_waiter(env, cli) -> None:
    import time

    # Watched from the client, the session itself stops the cluster (test_watch.py: the head).
    r = cli("exec", str(env.config), "sleep 0.5; exit 4", "--screen", "--stop", "-y", "--json",
            "--watch", "client")
    assert r.code == 0
    name = r.json["session"]
    record = env.record(name)
    deadline = time.monotonic() + 10
    while not (record / "stop_status").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (record / "stop_status").read_text().split()[0] == "0"
    assert (env.home / "cluster.log").read_text() == "stopped\n"
    assert env.status(name) == "4", "the stop must not overwrite the job's status"


def test_no_stop_after_timeout(env, cli) -> None:
    r = cli("exec", str(env.config), "sleep 10", "--tmux", "--job-waiter=tmux", "--stop", "-y",
            "--job-timeout", "0.5", "--json")
    assert r.code == 124
    assert r.json["stop"]["ran"] is False
    assert not (env.home / "cluster.log").exists()


def test_failing_stop_after_success_exits_1(env, cli) -> None:
    cfg = env.write_config("cluster_name: t\nprovider:\n  type: local\n"
                           "head_stop_commands:\n  - echo cannot stop >&2; exit 5\n")
    r = cli("exec", str(cfg), "true", "--stop", "-y", "--json")
    assert r.code == 1
    data = json.loads(r.out)
    assert data["outcome"] == "stop_failed"
    assert "cannot stop" in data["stop"]["detail"]


def test_start_and_stop_are_idempotent(env, cli) -> None:
    r = cli("start", str(env.config))
    assert r.code == 0 and "ran 1 start command" in r.err
    r = cli("start", str(env.config))
    assert r.code == 0 and "already started" in r.err
    r = cli("stop", str(env.config), "-y")
    assert r.code == 0 and "ran 1 stop command" in r.err
    r = cli("stop", str(env.config), "-y")
    assert r.code == 0 and "already stopped" in r.err
    assert (env.home / "cluster.log").read_text() == "started\nstopped\n"


def test_start_option_starts_first(env, cli) -> None:
    r = cli("exec", str(env.config), "cat ~/cluster.log", "--start", "-y")
    assert r.code == 0
    assert r.out == "started\n"


def test_confirmation_needs_a_terminal_or_yes(env, cli) -> None:
    for argv in (["stop", str(env.config)], ["exec", str(env.config), "touch ~/ran", "--stop"],
                 ["exec", str(env.config), "touch ~/ran", "--start"]):
        r = cli(*argv)
        assert r.code == 2
        assert "add -y" in r.err
    assert not (env.home / "ran").exists()
    assert not (env.home / "cluster.log").exists()


def test_json_has_every_field(env, cli) -> None:
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux", "--json")
    data = r.json
    assert {"outcome", "exit_status", "session", "log_path", "started_at", "ended_at",
            "waiters"} <= set(data)
    assert data["started_at"] <= data["ended_at"]
    assert data["waiters"] == [{"name": "tmux", "outcome": "succeeded",
                                "detail": "job exited with status 0"}]


def test_quiet_prints_errors_only(env, cli) -> None:
    assert cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux", "-q").err == ""
    r = cli("exec", str(env.config), "exit 2", "--tmux", "--job-waiter=tmux", "-q")
    assert r.code == 2
    assert "failed (exit status 2)" in r.err


def test_piped_progress_is_plain_lines(env, cli) -> None:
    r = cli("exec", str(env.config), "sleep 1", "--tmux", "--job-waiter=tmux")
    assert "\r" not in r.err and "\033" not in r.err
    assert "waiting for tmux" in r.err


def test_help_has_examples(cli) -> None:
    for cmd in ("exec", "submit", "start", "stop", "waiters"):
        r = cli(cmd, "--help")
        assert r.code == 0
        assert "Example" in r.out


def test_waiters_lists_builtins(cli) -> None:
    r = cli("waiters", "--json")
    names = {row["name"] for row in json.loads(r.out)}
    assert {"chain", "tmux", "screen"} <= names


def test_api_returns_results_and_raises_on_bad_arguments(env) -> None:
    from jobwaiter import Cluster, Outcome, UsageError

    with Cluster(env.config) as cluster:
        result = cluster.exec("exit 5", tmux=True, job_waiter="tmux")
        assert result.outcome is Outcome.FAILED and result.exit_status == 5
        assert cluster.exec("true", screen=True, job_waiter="screen").ok
        with pytest.raises(UsageError):
            cluster.exec("true", tmux=True, job_waiter="screen")


class _AnswerLost:
    """Runs the launch for real on the head, then loses the answer, as an SSH connection
    dropping right after the command was sent would."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.node, self.dropped = inner, inner.node, False

    def run(self, argv, **kw):  # type: ignore[no-untyped-def]
        result = self.inner.run(argv, **kw)
        # launch_argv: bash -c SCRIPT jw NAME KIND ...; no other call names a session kind there.
        if not self.dropped and list(argv[5:6]) == ["tmux"]:
            self.dropped = True
            from jobwaiter.errors import ConnectionLost

            raise ConnectionLost(f"lost the connection to {self.node} while running bash")
        return result

    def close(self) -> None:
        self.inner.close()


def test_a_launch_whose_answer_is_lost_is_unknown_and_can_be_waited_for(env, cli) -> None:
    from dataclasses import replace

    from jobwaiter import Cluster, Outcome

    class Flaky(Cluster):
        def node(self, address=None):  # type: ignore[no-untyped-def]
            if not hasattr(self, "_flaky"):
                head = super().node()
                self._flaky = replace(head, transport=_AnswerLost(head.transport))
            return self._flaky

    with Flaky(env.config) as cluster:
        result = cluster.exec("sleep 1; exit 3", tmux=True, job_waiter="tmux")
    assert result.outcome is Outcome.UNREACHABLE, result
    assert "state is unknown" in result.message
    assert result.session == result.job
    # The job did start: it is found and its real status read, not reported as never run.
    r = cli("wait", str(env.config), result.job)
    assert r.code == 3, r.err
    assert "exit status 3" in r.err
