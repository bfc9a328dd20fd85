"""What the CLI prints: one JSON object on every path of --json, nothing but errors with -q,
and a failed job's last log lines."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobwaiter import Cluster
from jobwaiter.cli.jsonmode import json_requested
from jobwaiter.cli.main import cli as cli_group
from jobwaiter.cli.main import failure_of
from jobwaiter.errors import AccessError, UsageError
from jobwaiter.jobs.tail import last_lines

EXAMPLES = int(os.environ.get("JW_HYPOTHESIS_EXAMPLES", "25"))


def one_object(out: str) -> dict:  # type: ignore[type-arg]
    """stdout holds exactly one JSON object and nothing else (json.loads refuses a second)."""
    data = json.loads(out)
    assert isinstance(data, dict), out
    return data  # type: ignore[no-any-return]


def error_object(r, outcome: str, code: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert r.code == code, (r.out, r.err)
    data = one_object(r.out)
    assert set(data) == {"outcome", "message", "exit_code"}
    assert data["outcome"] == outcome and data["exit_code"] == code
    # The error line on stderr stays, and says the same.
    first = data["message"].splitlines()[0]
    assert any(line.startswith("jobwaiter: ") and first in line
               for line in r.err.splitlines()), r.err
    return data


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ssh_config(env, name: str = "ssh.yaml", host: str | None = None):  # type: ignore[no-untyped-def]
    host = host or f"127.0.0.1:{closed_port()}"
    return env.write_config(
        "cluster_name: test\nprovider:\n  type: ssh\n"
        f"  head_ip: '{host}'\nauth:\n  known_hosts_file: {env.home}/kh\n"
        "  connect_timeout: 3\n", name)


# -- --json on every path ---------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["exec", "--json"],
    ["exec", "CONFIG", "true", "--json", "--nope"],
    ["exec", "CONFIG", "true", "--json", "--job-timeout"],
    ["exec", "CONFIG", "true", "--json", "--job-timeout", "soon"],
    ["exec", "CONFIG", "true", "--json", "--tmux", "--screen"],
    ["exec", "CONFIG", "true", "--json", "--tmux", "--job-waiter=screen"],
    ["exec", "CONFIG", "true", "--json", "--job-waiter=chain[tmux"],
    ["exec", "CONFIG", "true", "--json", "--env", "NOEQUALS"],
    ["exec", "CONFIG", "true", "--json", "--stop"],  # needs -y without a terminal
    ["exec", "CONFIG", "true", "--json", "--node-ip", "10.9.9.9"],
    ["exec", "CONFIG", "true", "--json", "--all-nodes", "--tmux"],
    ["submit", "--json", "CONFIG", "/nonexistent/job.sh"],
    ["submit", "--json"],
    ["wait", "CONFIG", "not-a-session", "--json"],
    ["wait", "CONFIG", "jobwaiter-000000000000", "--json"],
    ["jobs", "CONFIG", "--json", "--older-than", "soon"],
    ["waiters", "--json", "CONFIG", "extra"],
])
def test_json_usage_errors_are_one_object(env, cli, argv: list[str]) -> None:
    r = cli(*[str(env.config) if a == "CONFIG" else a for a in argv])
    error_object(r, "usage_error", 2)


def test_json_missing_config(env, cli) -> None:
    for argv in (["exec", "/nonexistent/c.yaml", "true"], ["waiters", "/nonexistent/c.yaml"],
                 ["jobs", "/nonexistent/c.yaml"], ["wait", "/nonexistent/c.yaml", "x"]):
        data = error_object(cli(*argv, "--json"), "usage_error", 2)
        assert "/nonexistent/c.yaml" in data["message"]


def test_json_config_error(env, cli) -> None:
    bad = env.write_config("cluster_name: test\nprovider: {type: local}\nhead_stop_comands: []\n",
                           "bad.yaml")
    data = error_object(cli("exec", str(bad), "true", "--json"), "usage_error", 2)
    assert "head_stop_comands" in data["message"]
    assert not env.jobs.exists()  # nothing ran


def test_json_unknown_waiter(env, cli) -> None:
    data = error_object(cli("exec", str(env.config), "touch ran", "--tmux",
                            "--job-waiter=nosuch", "--json"), "usage_error", 2)
    assert "nosuch" in data["message"]
    assert not (env.home / "ran").exists()


def test_json_command_error(env, cli) -> None:
    """--start whose start commands fail: no job result, an error of ours (exit 1)."""
    cfg = env.write_config("cluster_name: test\nprovider: {type: local}\n"
                           "head_start_commands: ['echo start-broke >&2; exit 3']\n", "s.yaml")
    data = error_object(cli("exec", str(cfg), "touch ran", "--start", "-y", "--json"),
                        "error", 1)
    assert "start-broke" in data["message"]
    assert not (env.home / "ran").exists()


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the ssh client")
def test_json_unreachable_head(env, cli) -> None:
    cfg = ssh_config(env)
    for argv in (["exec", str(cfg), "true"], ["exec", str(cfg), "true", "--tmux",
                                               "--job-waiter=tmux"],
                 ["jobs", str(cfg)], ["wait", str(cfg), "jobwaiter-0123456789ab"]):
        data = error_object(cli(*argv, "--json"), "unreachable", 255)
        assert "127.0.0.1" in data["message"]


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the ssh client")
def test_json_host_key_checking_switched_off(env, cli, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider refuses (ssh -G, connecting nowhere) an ssh config under which a changed
    host key of a loopback head would pass. ssh reads the passwd home, not $HOME: a wrapper
    passes the file."""
    (env.home / ".ssh").mkdir()
    (env.home / ".ssh" / "config").write_text("NoHostAuthenticationForLocalhost yes\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -F "$HOME/.ssh/config" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    data = error_object(cli("exec", str(ssh_config(env)), "true", "--json"), "usage_error", 2)
    assert "NoHostAuthenticationForLocalhost" in data["message"]


def test_access_error_maps_to_unreachable() -> None:
    """A changed host key or a refused login (AccessError, seen with a real sshd in
    tests/ssh) ends like any unreachable head."""
    failure = failure_of(AccessError("host key for 10.0.0.5 changed"), [])
    assert failure is not None
    assert (failure.code, failure.outcome) == (255, "unreachable")
    assert failure.line == "jobwaiter: error: host key for 10.0.0.5 changed"


def test_json_interrupt_before_the_job(env, jobwaiter_argv) -> None:
    """Ctrl-C while --start runs (before any job exists): one object, 'interrupted', 130."""
    cfg = env.write_config("cluster_name: test\nprovider: {type: local}\n"
                           "head_start_commands: ['echo starting >&2; sleep 30']\n", "s.yaml")
    proc = subprocess.Popen([*jobwaiter_argv, "exec", str(cfg), "touch ran", "--start", "-y",
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    assert proc.stderr is not None
    seen = ""
    while "starting cluster" not in seen:
        line = proc.stderr.readline()
        assert line, seen
        seen += line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # the start command's sleep, if it outlived us
    assert proc.returncode == 130, seen + err
    data = one_object(out)
    assert data == {"outcome": "interrupted", "message": "interrupted", "exit_code": 130}
    assert "jobwaiter: interrupted" in err
    assert not (env.home / "ran").exists()


def test_json_interrupt_while_waiting_is_the_jobs_result(env, jobwaiter_argv) -> None:
    proc = subprocess.Popen([*jobwaiter_argv, "exec", str(env.config), "sleep 30", "--tmux",
                             "--job-waiter=tmux", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = ""
    while "waiting for tmux" not in seen:
        line = proc.stderr.readline()
        assert line, seen
        seen += line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    data = one_object(out)
    assert data["outcome"] == "interrupted" and data["session"]


def test_a_failed_job_prints_one_object_not_two(env, cli) -> None:
    """The result was printed, then the CLI exits with the job's code: no error object."""
    r = cli("exec", str(env.config), "exit 3", "--tmux", "--job-waiter=tmux", "--json")
    assert r.code == 3
    assert one_object(r.out)["outcome"] == "failed"


def test_script_args_after_script_or_dashes_are_not_ours(env, cli) -> None:
    """`--json` given to the script does not switch JSON on for jobwaiter: its usage error
    prints no object."""
    for argv in (["submit", str(env.config), "/nonexistent/x.py", "--", "--json"],
                 ["exec", str(env.config), "true", "--", "--json", "--nope"],
                 ["exec", str(env.config), "true", "--env", "--json", "--nope"],
                 ["logs", str(env.config), "jobwaiter-0123456789ab", "--json"]):
        r = cli(*argv)
        assert r.code == 2, r.err
        assert r.out == "", argv
        assert r.err.startswith("jobwaiter: error: ")


# The words a command line is made of: ours (with and without values), a script's, `--`.
TOKENS = st.sampled_from(["--json", "--tmux", "-q", "-y", "-yq", "-n", "--env", "--env=A=1",
                          "--job-waiter", "--job-timeout", "--", "-", "c.yaml", "x.py",
                          "--nope", "-z", "=", "--json=1", "true"])
# Any word a real command line can hold: no NUL (execve ends a word there), and bytes that
# are not UTF-8 come as Python decodes them (surrogate escapes).
WORD = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=6),
    st.binary(max_size=6).map(lambda b: os.fsdecode(b.replace(b"\x00", b""))))
ARGV = st.lists(st.one_of(TOKENS, WORD), max_size=10)


@settings(max_examples=EXAMPLES, deadline=None)
@given(command=st.sampled_from(["exec", "submit", "wait", "jobs", "waiters"]), args=ARGV)
def test_json_detection_agrees_with_the_commands_parser(command: str, args: list[str]) -> None:
    """Wherever the command's real parser accepts a line, the early detection reads --json
    exactly as it does; and it never raises, whatever the line."""
    detected = json_requested(cli_group, [command, *args])
    cmd = cli_group.get_command(click.Context(cli_group), command)
    assert cmd is not None
    try:
        ctx = cmd.make_context(command, list(args))
    except (click.ClickException, UsageError):  # refused (an option's own check: UsageError)
        return
    assert detected == ctx.params["as_json"]


@settings(max_examples=EXAMPLES, deadline=None)
@given(args=st.lists(st.text(max_size=8), max_size=6))
def test_what_follows_dashes_never_switches_json_on(args: list[str]) -> None:
    assert not json_requested(cli_group, ["submit", "c.yaml", "x.py", "--", *args])
    assert not json_requested(cli_group, ["exec", "c.yaml", "--", *args])
    assert json_requested(cli_group, ["submit", "--json", "c.yaml", "x.py", *args])


# -- -q: errors only --------------------------------------------------------------------------

def test_quiet_success_prints_nothing(env, cli) -> None:
    script = env.home / "ok.sh"
    script.write_text("echo from-the-job\n")
    name = cli("exec", str(env.config), "true", "--tmux", "--json").json["session"]
    for argv in (["exec", str(env.config), "echo hi"],
                 ["exec", str(env.config), "true", "--tmux", "--job-waiter=tmux"],
                 ["exec", str(env.config), "true", "--screen"],
                 ["exec", str(env.config), "true", "--all-nodes"],
                 ["submit", "-q", str(env.config), str(script)],
                 ["wait", str(env.config), name],
                 ["start", str(env.config)],
                 ["stop", str(env.config), "-y"],
                 ["kill", str(env.config), name]):
        r = cli(*argv, "-q") if argv[0] != "submit" else cli(*argv)
        assert r.code == 0, (argv, r.err)
        assert r.err == "", argv
    # A foreground job's own output is the job's, not ours: -q does not hide it (the cluster,
    # stopped above, is started again first).
    assert cli("start", str(env.config), "-q").code == 0
    assert cli("exec", str(env.config), "echo hi", "-q").out.splitlines() == ["hi"]


def test_quiet_failure_prints_the_error(env, cli) -> None:
    r = cli("exec", str(env.config), "echo before; exit 4", "--tmux", "--job-waiter=tmux", "-q")
    assert r.code == 4
    assert "result: failed (exit status 4)" in r.err
    assert "before" in r.err  # the log's tail is part of the error
    assert "waiting" not in r.err and "started" not in r.err and "attach" not in r.err
    r = cli("exec", str(env.config), "true", "-q", "--job-waiter=nosuch")
    assert r.code == 2 and r.err.startswith("jobwaiter: error: unknown job waiter")
    r = cli("wait", str(env.config), "jobwaiter-0123456789ab", "-q")
    assert r.code == 2 and "no job jobwaiter-0123456789ab" in r.err


# -- a failed job's last log lines ----------------------------------------------------------

def test_failure_shows_the_end_of_the_log(env, cli) -> None:
    r = cli("exec", str(env.config), "echo before; nosuchcommand", "--tmux",
            "--job-waiter=tmux")
    assert r.code == 127
    err = r.err.splitlines()
    at = next(i for i, line in enumerate(err) if line.startswith("jobwaiter: last 2 lines"))
    assert err[at + 1] == "before"
    assert err[at + 2].endswith("nosuchcommand: command not found")
    assert err[at + 3].startswith("jobwaiter: result: failed (exit status 127)")


def test_tail_on_failure_zero_shows_none(env, cli) -> None:
    r = cli("exec", str(env.config), "echo before; nosuchcommand", "--tmux",
            "--job-waiter=tmux", "--tail-on-failure", "0", "--json")
    assert r.code == 127
    assert "command not found" not in r.err and "before" not in r.err
    assert "log_tail" not in one_object(r.out)


def test_json_has_the_log_tail(env, cli) -> None:
    r = cli("exec", str(env.config), "seq 1 30; nosuchcommand", "--screen",
            "--job-waiter=screen", "--json")
    assert r.code == 127
    data = one_object(r.out)
    assert len(data["log_tail"]) == 20
    assert data["log_tail"][:-1] == [str(n) for n in range(12, 31)]
    assert data["log_tail"][-1].endswith("nosuchcommand: command not found")
    assert "command not found" in r.err  # stderr shows it as well


def test_tail_on_failure_n(env, cli) -> None:
    script = env.home / "job.sh"
    script.write_text("echo one\necho two\necho three\nexit 9\n")
    r = cli("submit", "--tmux", "--job-waiter=tmux", "--tail-on-failure", "2", "--json",
            str(env.config), str(script))
    assert r.code == 9
    assert one_object(r.out)["log_tail"] == ["two", "three"]
    assert "jobwaiter: last 2 lines" in r.err and "one" not in r.err.split("last 2")[1]


def test_no_tail_on_success_timeout_or_for_a_foreground_job(env, cli) -> None:
    r = cli("exec", str(env.config), "echo fine", "--tmux", "--job-waiter=tmux", "--json")
    assert r.code == 0 and "log_tail" not in r.json and "last" not in r.err
    r = cli("exec", str(env.config), "echo slow; sleep 30", "--tmux", "--job-waiter=tmux",
            "--job-timeout", "1", "--json")
    assert r.code == 124 and "log_tail" not in r.json and "slow" not in r.err
    # In the foreground the output has just been shown: it is not shown twice.
    r = cli("exec", str(env.config), "echo shown-once; exit 5", "--job-log")
    assert r.code == 5
    assert r.out.count("shown-once") == 1 and "shown-once" not in r.err


def test_wait_shows_the_tail_of_a_failed_job(env, cli) -> None:
    started = cli("exec", str(env.config), "echo why-it-failed; exit 3", "--tmux",
                  "--job-waiter=tmux", "--tail-on-failure", "0", "--json")
    assert started.code == 3 and "why-it-failed" not in started.err
    r = cli("wait", str(env.config), started.json["session"], "--json")
    assert r.code == 3
    assert one_object(r.out)["log_tail"] == ["why-it-failed"]
    assert "why-it-failed" in r.err
    r = cli("wait", str(env.config), started.json["session"], "--tail-on-failure", "0")
    assert r.code == 3 and "why-it-failed" not in r.err


def test_tail_after_stop(env, cli) -> None:
    """--stop runs after a failure; the log's end is still shown (the stop left it)."""
    r = cli("exec", str(env.config), "echo why; exit 3", "--tmux", "--job-waiter=tmux",
            "--stop", "-y", "--json")
    assert r.code == 3, r.err
    data = one_object(r.out)
    assert data["stop"]["ok"] is True and data["log_tail"] == ["why"]
    assert "stopped" in (env.home / "cluster.log").read_text()


def test_a_progress_bar_shows_its_last_state(env, cli) -> None:
    r = cli("exec", str(env.config), r"printf '10%%\r50%%\r100%%\n'; exit 1", "--tmux",
            "--job-waiter=tmux", "--json")
    assert r.code == 1
    assert one_object(r.out)["log_tail"] == ["10%\r50%\r100%"]
    shown = r.err.split("of the log")[1].splitlines()[1]
    assert shown == "100%"


def test_an_empty_log_says_so(env, cli) -> None:
    r = cli("exec", str(env.config), "exit 2", "--tmux", "--job-waiter=tmux", "--json")
    assert r.code == 2 and one_object(r.out)["log_tail"] == []
    assert "is empty" in r.err


def test_a_removed_log_is_a_warning_not_the_outcome(env, cli) -> None:
    r = cli("exec", str(env.config), "rm ~/user/logs/$JOBWAITER_JOB.log; exit 6", "--tmux",
            "--job-waiter=tmux", "--json")
    assert r.code == 6 and one_object(r.out)["outcome"] == "failed"
    assert "log_tail" not in r.json
    assert "warning: cannot show the end of the job's log" in r.err


# -- the Python API -----------------------------------------------------------------------------

def test_api_log_tail(env) -> None:
    with Cluster(env.config) as cluster:
        result = cluster.exec("seq 1 50; exit 1", tmux=True, job_waiter="tmux")
        assert result.exit_status == 1
        assert cluster.log_tail(result) == [str(n) for n in range(31, 51)]
        assert cluster.log_tail(result.job, lines=3) == ["48", "49", "50"]
        assert cluster.log_tail(result.job, lines=0) == []
        assert cluster.log_tail(result.job, lines=500)[0] == "1"
        with pytest.raises(UsageError, match="lines must be"):
            cluster.log_tail(result.job, lines=-1)
        with pytest.raises(UsageError, match="not a jobwaiter session name"):
            cluster.log_tail("../etc/passwd")
        no_log = cluster.exec("true", tmux=True)
        with pytest.raises(UsageError, match="no log"):
            cluster.log_tail(no_log)
        with pytest.raises(UsageError, match="no log"):
            cluster.log_tail(no_log.job)


def test_api_log_tail_is_bounded_by_a_huge_line(env) -> None:
    """A job that wrote one 20 MB line: the tail reads a bounded window, not the line."""
    with Cluster(env.config) as cluster:
        result = cluster.exec("head -c 20000000 /dev/zero | tr '\\0' x; echo; echo last",
                              tmux=True, job_waiter="tmux")
        assert result.exit_status == 0
        tail = cluster.log_tail(result, lines=2)
        assert tail[-1] == "last"
        assert 0 < len(tail[0]) <= 64 * 1024 and set(tail[0]) == {"x"}


@settings(max_examples=EXAMPLES, deadline=None)
@given(text=st.text(alphabet="ab\r\n", max_size=30), n=st.integers(0, 8))
def test_last_lines_is_tail_n(text: str, n: int) -> None:
    """last_lines splits at newlines only, like tail -n, dropping CRLF's \\r."""
    got = last_lines(text, n)
    lines = [] if not text else text.removesuffix("\n").split("\n")
    assert got == ([line.removesuffix("\r") for line in lines[-n:]] if n else [])
    assert len(got) <= n
