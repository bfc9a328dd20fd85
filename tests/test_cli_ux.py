"""Following jobs the way SkyPilot, Ray and Slurm users expect: their habits (a bare idle
time, -h, their verbs, an unquoted command) get a clear answer, and the API speaks Python."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jobwaiter
from jobwaiter import Cluster, UsageError
from jobwaiter.cli.argv import quote_command
from jobwaiter.cli.jobs_table import shorten_middle
from jobwaiter.cli.main import COMMANDS
from test_jobs_listing import SESSION, SGR, in_a_terminal, started

EXAMPLES = int(os.environ.get("JW_HYPOTHESIS_EXAMPLES", "25"))


def one_error(r) -> str:  # type: ignore[no-untyped-def]
    """A usage error: exit 2, one line on stderr, nothing on stdout."""
    assert r.code == 2, (r.code, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jobwaiter: error: "), r.err
    assert r.out == ""
    return str(lines[0])


def nothing_started(env) -> bool:  # type: ignore[no-untyped-def]
    return not env.jobs.exists() or not any(env.jobs.iterdir())


# -- 1. autostop: a bare number is refused -----------------------------------------------------

@pytest.mark.parametrize("idle", ["30", "1.5", " 30"])
def test_a_bare_idle_time_is_refused_with_both_readings(env, cli, idle: str) -> None:
    for flag in ("--idle", "-i"):
        line = one_error(cli("autostop", str(env.config), flag, idle))
        number = idle.strip()
        assert f"give a unit: {number}m or {number}s" in line
    assert not (env.home / ".jobwaiter").exists(), "nothing armed, nothing shipped"
    with Cluster(env.config) as cluster, pytest.raises(UsageError, match="give a unit"):
        cluster.autostop(idle)


def test_autostop_takes_i_with_a_unit(env, cli) -> None:
    r = cli("autostop", str(env.config), "-i", "20m", "--json")
    assert r.code == 0, r.err
    assert r.json["armed"] is True and r.json["idle"] == 1200
    assert cli("autostop", str(env.config), "--cancel").code == 0


# -- 2. -h everywhere ---------------------------------------------------------------------------

@pytest.mark.parametrize("command", list(COMMANDS))
def test_dash_h_is_help_in_every_command(jobwaiter_argv: list[str], command: str) -> None:
    r = subprocess.run([*jobwaiter_argv, command, "-h"], capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"Usage: jobwaiter {command} "), r.stdout
    assert "-h, --help" in r.stdout


def test_dash_h_survives_a_json_command_line_in_the_same_process(env, cli) -> None:
    """--json is detected with the command's own parser first; that must not take -h from
    the command (click caches a command's help option)."""
    cli("jobs", "/nonexistent.yaml", "--json")
    r = cli("jobs", "-h")
    assert r.code == 0 and r.out.startswith("Usage: jobwaiter jobs "), r.err


# -- 3. typos and other tools' verbs ------------------------------------------------------------

@pytest.mark.parametrize(("typed", "meant"), [
    ("log", "logs"), ("sumbit", "submit"), ("stauts", "status"), ("waiter", "waiters"),
    ("cancel", "kill"), ("scancel", "kill"), ("queue", "jobs"), ("ls", "jobs"),
    ("list", "jobs"), ("ps", "jobs"), ("squeue", "jobs"), ("down", "stop"), ("up", "start"),
    ("tail", "logs"), ("run", "exec"), ("CANCEL", "kill"),
])
def test_a_wrong_command_gets_a_suggestion(env, cli, typed: str, meant: str) -> None:
    line = one_error(cli(typed, str(env.config), "@last"))
    assert f"No such command '{typed}'; did you mean '{meant}'?" in line
    assert nothing_started(env)


def test_a_command_like_no_other_gets_no_guess(env, cli) -> None:
    line = one_error(cli("bogus", str(env.config)))
    assert "No such command 'bogus'." in line and "did you mean" not in line


# -- 4. the command as words after -- ----------------------------------------------------------

@pytest.mark.parametrize(("words", "quoted"), [
    (["echo", "hello", "world"], "'echo hello world'"),
    (["python3", "-c", "print(1)"], "\"python3 -c 'print(1)'\""),
])
def test_an_unquoted_command_is_refused_with_the_quoted_form(env, cli, words: list[str],
                                                             quoted: str) -> None:
    line = one_error(cli("exec", str(env.config), *words, "--tmux"))
    assert f"jobwaiter exec {env.config} {quoted} --tmux" in line, line
    assert "words after --" in line
    assert nothing_started(env)
    # Pasted into bash, the quoted form is the one word CMD, which bash runs as typed.
    out = subprocess.run(["bash", "-c", f"printf %s {quoted}"], capture_output=True,
                         text=True, check=True).stdout
    assert out == shlex.join(words)


@pytest.mark.parametrize("argv", [
    ["true", "--", "x"],  # CMD twice
    ["--"],  # nothing after --
])
def test_dashes_misused_are_usage_errors(env, cli, argv: list[str]) -> None:
    one_error(cli("exec", str(env.config), *argv))
    assert nothing_started(env)
    one_error(cli("exec", "--", str(env.config), "x"))


def test_words_after_dashes_run_in_a_session(env, cli) -> None:
    r = cli("exec", str(env.config), "--tmux", "--job-waiter=tmux", "--json", "--",
            "python3", "-c", "print(1)")
    assert r.code == 0, r.err
    assert r.json["outcome"] == "succeeded"
    logs = cli("logs", str(env.config))
    assert logs.out == "1\n", logs.err


PRINT_ARGV = "import json, sys; sys.stdout.write(json.dumps(sys.argv[1:]))"


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(st.characters(blacklist_characters="\0",
                                      blacklist_categories=("Cs",)), max_size=12),
                max_size=5))
def test_the_job_receives_exactly_the_words(env, cli, words: list[str]) -> None:
    r = cli("exec", str(env.config), "-q", "--", "python3", "-c", PRINT_ARGV, *words)
    assert r.code == 0, r.err
    assert json.loads(r.out) == words


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
               min_size=1, max_size=20))
def test_the_quoted_form_is_quoted_exactly_once(text: str) -> None:
    out = subprocess.run(["bash", "-c", f"printf %s {quote_command(text)}"],
                         capture_output=True, check=True).stdout
    assert out == text.encode()


# -- 5. waiter names and a timeout with nothing to bound -----------------------------------------

@pytest.mark.parametrize(("spec", "meant"), [("tmx", "tmux"), ("chain[tmux, scren]", "screen"),
                                              ("sprak", "spark")])
def test_an_unknown_waiter_gets_a_suggestion(env, cli, spec: str, meant: str) -> None:
    line = one_error(cli("exec", str(env.config), "true", "--tmux", f"--job-waiter={spec}"))
    assert line.endswith(f"; did you mean '{meant}'?"), line
    assert nothing_started(env)


@pytest.mark.parametrize("argv", [
    ["exec", "{config}", "touch ~/ran", "--job-timeout", "5"],
    ["exec", "{config}", "touch ~/ran", "--job-timeout", "5m", "--job-log"],
    ["submit", "{config}", "job.sh", "--job-timeout", "1h"],
])
def test_a_timeout_on_a_foreground_job_is_refused(env, cli, argv: list[str]) -> None:
    (env.home / "job.sh").write_text("touch ~/ran\n")
    line = one_error(cli(*[a.format(config=env.config) for a in argv]))
    assert "--job-timeout" in line and "--tmux, --screen or a --job-waiter" in line
    assert nothing_started(env) and not (env.home / "ran").exists()
    assert not (env.home / "user").exists(), "submit uploaded nothing"


def test_a_timeout_bounds_a_foreground_jobs_waiter(env, cli) -> None:
    """With a waiter, a foreground job is waited for: the timeout bounds that wait."""
    (env.home / "mywaiter.py").write_text(
        "import time\nfrom jobwaiter import JobWaiter\n\n"
        "class Forever(JobWaiter):\n"
        "    def wait_for_completion(self, node_id, cmd, session_name, timeout=None):\n"
        "        time.sleep(5)\n")
    r = cli("exec", str(env.config), "true", "--job-timeout", "0.5", "--json",
            "--job-waiter=mywaiter.Forever")
    assert r.code == 124, r.err
    assert r.json["outcome"] == "timeout"


# -- 6. the label in the result ------------------------------------------------------------------

def test_the_result_carries_the_label(env, cli) -> None:
    r = cli("exec", str(env.config), "true", "--tmux", "--job-waiter=tmux", "--name", "train",
            "--json")
    assert r.code == 0, r.err
    assert r.json["label"] == "train" and list(r.json)[-1] == "label"
    again = cli("wait", str(env.config), "train", "--json")
    assert again.json["label"] == "train", again.out
    both = cli("wait", str(env.config), "train", r.json["session"], "--json")
    assert [j["label"] for j in both.json["jobs"]] == ["train", "train"]
    plain = cli("exec", str(env.config), "true", "--json")
    assert plain.json["label"] is None
    detached = cli("exec", str(env.config), "sleep 1", "--tmux", "--job-waiter=tmux",
                   "--name", "nap", "--detach", "--json")
    assert detached.json["outcome"] == "detached" and detached.json["label"] == "nap"
    followed = cli("wait", str(env.config), "nap", "--json")
    assert followed.json["outcome"] == "succeeded" and followed.json["label"] == "nap"


# -- 7. the Python API -------------------------------------------------------------------------

def test_the_api_takes_duration_forms(env) -> None:
    with Cluster(env.config) as cluster:
        result = cluster.exec("sleep 30", tmux=True, job_waiter="tmux", job_timeout="1s")
        assert result.outcome.value == "timeout"
        waited = cluster.wait(result.job, job_timeout="0.5s")
        assert waited.outcome.value == "timeout"
        killed = cluster.kill(result.job, grace="1s")
        assert killed.state == "killed"
        assert cluster.prune(older_than="0s")
        with pytest.raises(UsageError, match=r"^job_timeout '5x' is not a duration"):
            cluster.exec("true", tmux=True, job_timeout="5x")


def test_api_errors_name_the_python_arguments(env, cli) -> None:
    with Cluster(env.config) as cluster:
        for kwargs, message in [
            ({"tmux": True, "screen": True}, "tmux=True and screen=True cannot be used"),
            ({"job_timeout": 5}, "job_timeout needs tmux=True, screen=True or a "
                                 "job_waiter"),
            ({"detach": True}, "detach=True needs tmux=True or screen=True"),
        ]:
            with pytest.raises(UsageError) as info:
                cluster.exec("true", **kwargs)  # type: ignore[arg-type]
            assert message in str(info.value), info.value
            assert "--" not in str(info.value)
        with pytest.raises(UsageError, match="the spark runtime"):
            cluster.exec("true", tmux=True, job_waiter="spark")  # a SpecError, same words
    # The CLI keeps its flags.
    line = one_error(cli("exec", str(env.config), "true", "--tmux", "--screen"))
    assert "--tmux and --screen cannot be used together" in line


def test_dir_lists_what_the_package_offers() -> None:
    names = dir(jobwaiter)
    assert {"Cluster", "JobResult", "UsageError", "__version__"} <= set(names)
    assert "importlib" not in names and "Any" not in names
    assert all(getattr(jobwaiter, n) is not None for n in names if not n.startswith("__"))


def test_logs_returns_the_text(env, cli, capfd: pytest.CaptureFixture[str]) -> None:
    name = started(cli, env, "printf 'a\\nb\\n'", "--tmux", "--job-waiter=tmux")
    capfd.readouterr()
    with Cluster(env.config) as cluster:
        assert cluster.logs(name) == "a\nb\n"
        assert cluster.logs(name, lines=1) == "b\n"
        assert cluster.logs(name, follow=True) == "a\nb\n"
    assert capfd.readouterr().out == "", "the API prints nothing"
    r = cli("logs", str(env.config), name)
    assert (r.code, r.out) == (0, "a\nb\n")


# -- 8. jobs ---------------------------------------------------------------------------------------

def test_jobs_in_80_columns_keep_the_script_name(env, cli) -> None:
    (env.home / "train.py").write_text("import time\ntime.sleep(30)\n")
    r = cli("submit", str(env.config), "train.py", "--tmux", "--json", "--", "--epochs", "3")
    assert r.code == 0, r.err
    code, out = in_a_terminal(["jobs", str(env.config)], cols=80, TERM="xterm-256color")
    assert code == 0, out
    lines = [SGR.sub("", ln) for ln in out.splitlines() if ln.strip()]
    assert "STARTED (UTC)" in lines[0]
    row = next(ln for ln in lines if SESSION.search(ln))
    assert "running (no waiter)" in row
    assert "train.py --epochs 3" in row, row
    assert all(len(ln) <= 80 for ln in lines), lines


@pytest.mark.parametrize(("text", "width", "expected"), [
    ("python3 user/jobs/train.py --epochs 3", 30, "python3 …/train.py --epochs 3"),
    ("python3 user/jobs/train.py --epochs 3", 21, "…/train.py --epochs 3"),
    ("python3 user/jobs/train.py --epochs 3", 20, "…train.py --epochs 3"),
    ("python3 user/jobs/train.py --epochs 3", 16, "pyt…y --epochs 3"),
    ("echo " + "x" * 40, 12, "ec…xxxxxxxxx"),
    ("short", 10, "short"),
])
def test_a_long_command_loses_its_middle(text: str, width: int, expected: str) -> None:
    assert shorten_middle(text, width) == expected


def test_running_includes_jobs_without_a_waiter_and_limit(env, cli) -> None:
    plain = started(cli, env, "sleep 30", "--tmux")
    watched = started(cli, env, "sleep 30", "--tmux", "--job-waiter=tmux", "--detach")
    done = started(cli, env, "true", "--tmux", "--job-waiter=tmux")
    r = cli("jobs", str(env.config), "--state", "running", "--json")
    rows = {row["session"]: row for row in r.json}
    assert set(rows) == {plain, watched}
    assert rows[plain]["state_detail"] == "running (no waiter)"
    assert rows[plain]["state"] == "started"
    with Cluster(env.config) as cluster:
        assert {j.name for j in cluster.jobs(states="running")} == {plain, watched}
        assert [j.name for j in cluster.jobs(states="started")] == [plain]
        assert len(cluster.status().jobs) == 2
    limited = cli("jobs", str(env.config), "--limit", "1")
    assert limited.code == 0
    assert [SESSION.search(ln).group() for ln in limited.out.splitlines()[1:]] == [done]  # type: ignore[union-attr]
    assert "2 older jobs not shown (--limit 1)" in limited.err
    assert len(cli("jobs", str(env.config), "--limit", "2", "--json").json) == 2
    one_error(cli("jobs", str(env.config), "--limit", "0"))
    one_error(cli("jobs", str(env.config), "--limit", "1", "--prune"))


# -- 9. logs -----------------------------------------------------------------------------------

def test_logs_without_job_is_the_last_and_an_empty_log_says_so(env, cli) -> None:
    started(cli, env, "echo first", "--tmux", "--job-waiter=tmux")
    quiet = started(cli, env, "true", "--tmux", "--job-waiter=tmux")
    r = cli("logs", str(env.config))
    assert (r.code, r.out) == (0, "")
    assert r.err == f"jobwaiter: the log of job {quiet} is empty\n"
    r = cli("logs", str(env.config), "-f")
    assert r.code == 0 and r.err.count("is empty") == 1
    assert cli("logs", str(env.config), "--tail", "5").out == ""
    last = started(cli, env, "echo second", "--tmux", "--job-waiter=tmux")
    r = cli("logs", str(env.config))
    assert (r.code, r.out, r.err) == (0, "second\n", ""), last


def test_the_cli_is_importable_without_side_effects() -> None:
    # The package module imports nothing heavy until asked (dir() does not import either).
    out = subprocess.run([sys.executable, "-c", "import jobwaiter, sys; dir(jobwaiter); "
                          "print('jobwaiter.cluster.cluster' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# -- 10. lines a person reads fit 80 columns ---------------------------------------------------

def test_a_detached_watch_with_a_stop_speaks_in_80_columns(env, cli) -> None:
    r = cli("exec", "cluster.yaml", "sleep 1", "--tmux", "--job-waiter=tmux", "--stop", "-y",
            "--detach")
    assert r.code == 0, r.err
    lines = r.err.splitlines()
    assert any("the head stops the cluster" in ln for ln in lines), r.err
    assert all(len(ln) <= 80 for ln in lines), [ln for ln in lines if len(ln) > 80]
    followed = cli("wait", "cluster.yaml", "@last")
    assert followed.code == 0, followed.err
    assert all(len(ln) <= 80 for ln in followed.err.splitlines()), followed.err


@pytest.mark.parametrize("argv", [
    ["autostop", "cluster.yaml", "--idle", "30"],
    ["cancel", "cluster.yaml", "@last"],
    ["exec", "cluster.yaml", "true", "--job-timeout", "5"],
    ["exec", "cluster.yaml", "true", "--", "x"],
])
def test_new_usage_errors_are_short(env, cli, argv: list[str]) -> None:
    assert len(one_error(cli(*argv))) <= 100
