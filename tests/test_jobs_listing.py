"""`jobs`: killed told from failed, --state, the table that fits, and colour only on a
terminal (NO_COLOR and TERM=dumb respected) - for `jobs` and for the result lines."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobwaiter import Cluster, UsageError
from jobwaiter.cli import jobs_table
from jobwaiter.cli.output import TerminalReporter
from jobwaiter.jobs.listing import JOB_STATES, parse_states
from jobwaiter.outcome import Outcome
from polling import wait_for

EXAMPLES = int(os.environ.get("JW_HYPOTHESIS_EXAMPLES", "25"))
SGR = re.compile(r"\x1b\[[0-9;]*m")  # a colour or text attribute
SESSION = re.compile(r"jobwaiter-[0-9a-f]{12}")


def started(cli, env, cmd: str, *opts: str) -> str:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), cmd, *opts, "--json")
    assert r.json["session"], r.err
    return str(r.json["session"])


def running(cli, env, cmd: str = "sleep 60") -> str:  # type: ignore[no-untyped-def]
    """A job that runs on after exec has returned; its session ends with it."""
    name = started(cli, env, cmd, "--tmux", "--job-waiter=tmux", "--job-timeout", "0.2")
    wait_for(lambda: (env.record(name) / "pid").exists())
    return name


def killed(cli, env, *opts: str) -> str:  # type: ignore[no-untyped-def]
    name = running(cli, env)
    r = cli("kill", str(env.config), name, *opts)
    assert r.code == 0 and "killed" in r.err, r.err
    return name


def rows_of(cli, env, *opts: str) -> dict[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    r = cli("jobs", str(env.config), "--json", *opts)
    assert r.code == 0, r.err
    return {row["session"]: row for row in json.loads(r.out)}


def in_a_terminal(argv: list[str], cols: int = 100, **env: str | None) -> tuple[int, str]:
    """Run the CLI with a real pseudo-terminal `cols` wide as stdin, stdout and stderr."""
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    for key, value in env.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "jobwaiter.cli.main", *argv], stdin=slave,
                            stdout=slave, stderr=slave, env=environ, close_fds=True)
    os.close(slave)
    out = b""
    try:
        while select.select([master], [], [], 60)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child has closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
    return proc.wait(timeout=30), out.decode().replace("\r\n", "\n")


# -- killed (TERM) is not failed (143) ---------------------------------------------------------

def test_a_killed_job_is_not_a_job_that_exited_143(env, cli) -> None:
    by_term = killed(cli, env, "--grace", "5")
    by_int = killed(cli, env, "--signal", "INT", "--grace", "5")
    own = started(cli, env, "exit 143", "--tmux", "--job-waiter=tmux")
    rows = rows_of(cli, env)
    got = {name: (rows[name]["state"], rows[name]["state_detail"], rows[name]["exit_status"],
                  rows[name]["killed_by"]) for name in (by_term, by_int, own)}
    assert got == {by_term: ("killed", "killed (TERM)", 143, "TERM"),
                   by_int: ("killed", "killed (INT)", 130, "INT"),
                   own: ("failed", "failed (143)", 143, None)}
    table = cli("jobs", str(env.config)).out
    line = {SESSION.match(ln).group(): ln for ln in table.splitlines()[1:]}  # type: ignore[union-attr]
    assert "killed (TERM)" in line[by_term] and "failed" not in line[by_term]
    assert "failed (143)" in line[own] and "killed" not in line[own]
    # The API sees the same records.
    with Cluster(env.config) as cluster:
        assert [j.name for j in cluster.jobs(states="killed")] == [by_int, by_term]
        assert {j.name: j.state for j in cluster.jobs(states=["failed"])} == \
            {own: "failed (143)"}


# -- --state -----------------------------------------------------------------------------------

def test_state_filter(env, cli) -> None:
    ok = started(cli, env, "true", "--tmux", "--job-waiter=tmux")
    bad = started(cli, env, "exit 4", "--tmux", "--job-waiter=tmux")
    gone = killed(cli, env, "--grace", "5")
    busy = running(cli, env)

    def listed(*opts: str) -> list[str]:
        r = cli("jobs", str(env.config), "--json", *opts)
        assert r.code == 0, r.err
        return [row["session"] for row in json.loads(r.out)]

    assert listed() == [busy, gone, bad, ok]
    assert listed("--state", "failed") == [bad]
    assert listed("--state", "failed,killed") == [gone, bad]
    assert listed("--state", "succeeded", "--state", "running") == [busy, ok]
    assert listed("--state", " Failed , KILLED ") == [gone, bad]
    assert listed("--state", "lost") == []
    table = cli("jobs", str(env.config), "--state", "killed,running")
    assert [SESSION.match(ln).group() for ln in table.out.splitlines()[1:]] == [busy, gone]  # type: ignore[union-attr]
    empty = cli("jobs", str(env.config), "--state", "lost_running,lost")
    assert (empty.code, empty.out) == (0, "")
    assert "no jobs lost or lost_running in the last day" in empty.err
    with Cluster(env.config) as cluster:
        assert [j.name for j in cluster.jobs(states=["succeeded", "running"])] == [busy, ok]
        assert [j.outcome for j in cluster.jobs(states="failed,killed")] == \
            [Outcome.KILLED, Outcome.FAILED]
        assert cluster.jobs(states=[]) == []


@pytest.mark.parametrize("value", ["done", "failed,", "failed (4)", "killed(TERM)", "",
                                   "started-no-waiter", "lost-running", "timeout"])
def test_an_unknown_state_is_a_usage_error_that_lists_the_valid_ones(env, cli,
                                                                      value: str) -> None:
    r = cli("jobs", str(env.config), "--state", "running", "--state", value)
    assert r.code == 2
    assert r.out == ""
    assert len(r.err.splitlines()) == 1, r.err
    assert "valid states: running, started, succeeded, failed, killed, lost, lost_running" \
        in r.err
    with pytest.raises(UsageError, match="valid states"):
        parse_states(["running", value])


def test_state_and_prune_are_refused_together(env, cli) -> None:
    name = started(cli, env, "true", "--tmux", "--job-waiter=tmux")
    r = cli("jobs", str(env.config), "--prune", "--older-than", "0", "--state", "succeeded")
    assert r.code == 2 and len(r.err.splitlines()) == 1 and "--state" in r.err
    assert env.record(name).exists(), "nothing is pruned"


NAMES = [s.value for s in JOB_STATES]


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(NAMES), st.booleans(), st.text(" ", max_size=2)),
                min_size=1, max_size=8))
def test_parse_states_takes_any_spelling_of_valid_names(parts: list) -> None:  # type: ignore[type-arg]
    text = ",".join(pad + (n.upper() if up else n) + pad for n, up, pad in parts)
    assert parse_states(text) == {Outcome(n) for n, _, _ in parts}
    assert parse_states([text, NAMES[0]]) == {Outcome(n) for n, _, _ in parts} | {JOB_STATES[0]}


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(max_size=40))
def test_parse_states_never_fails_otherwise_than_with_a_usage_error(text: str) -> None:
    try:
        got = parse_states(text)
    except UsageError as exc:
        assert "valid states: " + ", ".join(NAMES) in str(exc)
        assert any(p.strip().lower() not in NAMES for p in text.split(","))
    else:
        assert got == {Outcome(p.strip().lower()) for p in text.split(",")}


# -- a table that fits -------------------------------------------------------------------------

@pytest.mark.parametrize("columns", [60, 200])
def test_the_table_fits_the_width_one_line_per_job(env, cli, monkeypatch: pytest.MonkeyPatch,
                                                   columns: int) -> None:
    long_cmd = "echo " + " ".join(f"--option-{i}=value" for i in range(30))
    names = [started(cli, env, long_cmd, "--tmux", "--job-waiter=tmux"),
             started(cli, env, "echo one\necho two\n\texit 3", "--tmux", "--job-waiter=tmux"),
             started(cli, env, "printf '\x1b[31mred\\n'", "--tmux", "--job-waiter=tmux"),
             killed(cli, env, "--grace", "5")]
    monkeypatch.setenv("COLUMNS", str(columns))
    r = cli("jobs", str(env.config))
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert len(lines) == 1 + len(names)
    assert all(len(ln) <= columns for ln in lines), lines
    assert [SESSION.match(ln).group() for ln in lines[1:]] == names[::-1]  # type: ignore[union-attr]
    assert "\x1b" not in r.out
    header = lines[0].split()
    if columns == 200:
        assert header == ["SESSION", "STATE", "STARTED", "(UTC)", "DURATION", "LOG", "COMMAND"]
        assert "echo one echo two exit 3" in r.out  # a command's newlines do not add lines
        assert "printf '\\x1b[31mred\\n'" in r.out  # an escape is shown, not sent
        assert f"~/user/logs/{names[0]}.log" in r.out
    else:
        assert header[:2] == ["SESSION", "STATE"] and "LOG" not in header
        assert "killed (TERM)" in r.out and "failed (3)" in r.out


def test_piped_without_columns_nothing_is_cut(env, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    long_cmd = "echo " + "x" * 300
    started(cli, env, long_cmd, "--tmux", "--job-waiter=tmux")
    r = cli("jobs", str(env.config))
    assert long_cmd in r.out.splitlines()[1]


def _row(session: str, state: str, detail: str, command: str, log: bool) -> dict:  # type: ignore[type-arg]
    return {"session": session, "state": state, "state_detail": detail,
            "started_at": "2026-01-02T03:04:05.678+00:00", "duration": 3725.0,
            "log_path": f"~/user/logs/{session}.log" if log else None, "command": command,
            "stop_status": None}


ROWS = st.lists(st.builds(
    _row,
    st.from_regex(r"jobwaiter-[0-9a-f]{12}", fullmatch=True),
    st.sampled_from(NAMES),
    st.sampled_from(["succeeded", "failed (143)", "killed (TERM)", "started-no-waiter",
                     "lost (12 processes still run)", "succeeded, stop failed (1)"]),
    st.text(max_size=120),
    st.booleans()), min_size=1, max_size=6)


@settings(max_examples=EXAMPLES, deadline=None)
@given(ROWS, st.integers(min_value=30, max_value=260))
def test_any_rows_fit_any_width(rows: list, width: int) -> None:  # type: ignore[type-arg]
    from rich.cells import cell_len

    out = io.StringIO()
    os.environ["COLUMNS"] = str(width)
    try:
        jobs_table.draw(rows, out)
    finally:
        del os.environ["COLUMNS"]
    lines = out.getvalue().split("\n")
    assert lines[-1] == "" and len(lines) == len(rows) + 2
    assert all(cell_len(ln) <= width for ln in lines), lines
    assert [ln.split("  ")[0] for ln in lines[1:-1]] == [r["session"] for r in rows]
    assert all(c.isprintable() for ln in lines for c in ln)


# -- colour: on a terminal only ----------------------------------------------------------------

def test_colour_on_a_terminal_and_never_when_piped_or_refused(env, cli) -> None:
    ok = started(cli, env, "true", "--tmux", "--job-waiter=tmux")
    bad = started(cli, env, "exit 4", "--tmux", "--job-waiter=tmux")
    piped = cli("jobs", str(env.config))
    assert "\x1b" not in piped.out + piped.err
    argv = ["jobs", str(env.config)]
    code, out = in_a_terminal(argv, cols=70, TERM="xterm-256color")
    assert code == 0, out
    lines = out.splitlines()
    assert f"{ok}  \x1b[32msucceeded" in out  # green
    assert f"{bad}  \x1b[31mfailed (4)" in out  # red
    assert len(lines) == 3 and all(len(SGR.sub("", ln)) <= 70 for ln in lines), lines
    for refused in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        code, out = in_a_terminal(argv, cols=70, **{"TERM": "xterm-256color", **refused})
        assert code == 0 and ok in out and bad in out
        assert "\x1b" not in out, (refused, out)
    # NO_COLOR set but empty does not count (no-color.org).
    code, out = in_a_terminal(argv, TERM="xterm-256color", NO_COLOR="")
    assert "\x1b[32msucceeded" in out


def test_result_lines_are_coloured_on_a_terminal_only(env, cli) -> None:
    argv = ["exec", str(env.config), "sleep 1.5; exit 3", "--tmux", "--job-waiter=tmux"]
    code, out = in_a_terminal(argv, TERM="xterm-256color")
    assert code == 3, out
    assert "jobwaiter: result: \x1b[31mfailed\x1b[0m (exit status 3)" in out
    assert "jobwaiter: waiter tmux: \x1b[31mfailed\x1b[0m" in out
    # The live line is erased (by rich's control codes) before the next line is written.
    assert "\r\x1b[2Kjobwaiter: tmux: waiting (" in out
    assert "\r\x1b[2Kjobwaiter: waiter tmux:" in out
    code, out = in_a_terminal(argv, TERM="xterm-256color", NO_COLOR="yes")
    assert code == 3 and "jobwaiter: result: failed (exit status 3)" in out
    assert not SGR.search(out), out
    code, out = in_a_terminal(argv, TERM="dumb")
    assert code == 3 and "\x1b" not in out and "\r" not in out
    assert "jobwaiter: tmux: waiting (0s)\n" in out  # plain progress lines, as when piped
    r = cli(*argv)
    assert r.code == 3 and "\x1b" not in r.err
    assert "jobwaiter: result: failed (exit status 3): job exited with status 3\n" in r.err


def test_the_reporter_piped_writes_plain_lines_exactly() -> None:
    out = io.StringIO()
    reporter = TerminalReporter(stream=out)
    reporter.progress("tmux: waiting", 0)
    reporter.progress("tmux: waiting", 5)  # unchanged: not repeated within a minute
    reporter.phase("waiter tmux: ", Outcome.SUCCEEDED, " - job exited with status 0")
    reporter.error("result: ", Outcome.KILLED, " (exit status 143)")
    TerminalReporter(quiet=True, stream=out).phase("result: ", Outcome.SUCCEEDED)
    assert out.getvalue() == ("jobwaiter: tmux: waiting (0s)\n"
                              "jobwaiter: waiter tmux: succeeded - job exited with status 0\n"
                              "jobwaiter: result: killed (exit status 143)\n")


def test_the_live_line_never_wraps(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a narrow terminal a long status is cut to one line, so erasing it erases it all."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 40, 0, 0))
    out = b""
    with open(slave, "w", encoding="utf-8", closefd=True) as stream:
        reporter = TerminalReporter(stream=stream)
        assert reporter.live
        reporter.progress("spark: waiting for application_1700000000000_0001 (RUNNING)", 75)
        reporter.phase("result: ", Outcome.SUCCEEDED)
        reporter.done()
        while select.select([master], [], [], 0.5)[0]:
            out += os.read(master, 65536)
    os.close(master)
    text = out.decode()
    status = text.split("\r\x1b[2K")[1]
    assert status.startswith("jobwaiter: spark: waiting for") and status.endswith("…")
    assert len(status) < 40
    assert "jobwaiter: result: \x1b[32msucceeded\x1b[0m" in text


def test_json_and_an_empty_listing_do_not_load_rich(env) -> None:
    probe = ("import sys\nfrom jobwaiter.cli.main import run\n"
             "code = run(sys.argv[1:])\nprint(code, 'rich' in sys.modules, file=sys.stderr)\n")
    for argv in (["jobs", str(env.config), "--json"], ["jobs", str(env.config)]):
        proc = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True,
                              text=True, timeout=60)
        assert proc.stderr.splitlines()[-1] == "0 False", proc.stderr
