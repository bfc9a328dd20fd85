"""Property-based: whatever a user types reaches the job verbatim, quoted exactly once, or is
refused (UsageError, exit 2) with nothing started. Real local head, foreground and tmux."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobwaiter.cluster.cluster import Cluster
from jobwaiter.errors import UsageError
from jobwaiter.jobs.result import Outcome

# Bytes as they arrive on a command line: anything but NUL, decoded as Python decodes argv.
raw = st.binary(min_size=0, max_size=60).filter(lambda b: b"\0" not in b)
text = raw.map(os.fsdecode)
hostile = st.one_of(text, st.sampled_from([
    "$(touch pwned)", "`touch pwned`", "'; touch pwned; '", '"; touch pwned; "', "\\", "-",
    "--", "-e", "$HOME", "${IFS}", "*", "~", "\n", "a\nb", "!!", "%s%n", "\x1b[2J",
]))

SETTINGS = settings(max_examples=int(os.environ.get("JW_HYPOTHESIS_EXAMPLES", "25")),
                    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _reset(home: Path) -> None:
    for name in ("out", "pwned"):
        (home / name).unlink(missing_ok=True)


@SETTINGS
@given(value=hostile)
def test_a_command_reaches_bash_verbatim(env, value: str) -> None:
    _reset(env.home)
    with Cluster(env.config) as cluster:
        result = cluster.exec(f"printf '%s' {shlex.quote(value)} > out")
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert (env.home / "out").read_bytes() == os.fsencode(value)
    assert not (env.home / "pwned").exists()


@SETTINGS
@given(args=st.lists(hostile, max_size=4))
def test_submit_arguments_reach_the_script_verbatim(env, args: list[str]) -> None:
    _reset(env.home)
    script = env.home / "show.sh"
    script.write_text('for a in "$@"; do printf "%s\\0" "$a"; done > out\n')
    with Cluster(env.config) as cluster:
        result = cluster.submit(str(script), args)
    assert result.outcome is Outcome.SUCCEEDED, result.message
    got = (env.home / "out").read_bytes()
    assert got == b"".join(os.fsencode(a) + b"\0" for a in args)
    assert not (env.home / "pwned").exists()


@SETTINGS
@given(args=st.lists(hostile, max_size=4), ours=st.lists(
    st.sampled_from(["--job-log", "--quiet", "--env=K=v", "--json"]), max_size=2))
def test_submit_arguments_after_double_dash_reach_the_script_verbatim(
        env, cli, args: list[str], ours: list[str]) -> None:
    """The same through the command line, CloudTik's way: our long options after SCRIPT,
    then `--` and the script's arguments, whatever they are (`--`, `-y`, `--tmux`, ...)."""
    _reset(env.home)
    script = env.home / "show.sh"
    script.write_text('for a in "$@"; do printf "%s\\0" "$a"; done > out\n')
    r = cli("submit", str(env.config), str(script), *ours, "--", *args)
    assert r.code == 0, r.err
    got = (env.home / "out").read_bytes()
    assert got == b"".join(os.fsencode(a) + b"\0" for a in args)
    assert not (env.home / "pwned").exists()


@SETTINGS
@given(value=hostile, key=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True))
def test_env_values_reach_the_job_verbatim(env, value: str, key: str) -> None:
    if key in ("JOBWAITER_JOB", "PATH", "HOME", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS",
               "IFS", "PS4", "TMPDIR", "LD_PRELOAD", "LD_LIBRARY_PATH") or \
            key.startswith("BASH"):
        return  # variables that change how bash itself starts; not what this checks
    _reset(env.home)
    with Cluster(env.config) as cluster:
        result = cluster.exec(f'printf "%s" "${key}" > out', env={key: value})
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert (env.home / "out").read_bytes() == os.fsencode(value)


@SETTINGS
@given(before=text, after=text)
def test_a_nul_anywhere_is_refused_and_nothing_runs(env, before: str, after: str) -> None:
    bad = f"{before}\0{after}"
    with Cluster(env.config) as cluster:
        for call in (lambda: cluster.exec(bad, tmux=True, start=True),
                     lambda: cluster.exec("true", env={"K": bad}, start=True)):
            with pytest.raises(UsageError):
                call()
    assert not (env.home / ".jobwaiter" / "jobs").exists()
    assert not (env.home / "cluster.log").exists()


@settings(max_examples=5, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=hostile)
def test_a_command_in_a_tmux_session_is_verbatim_too(env, value: str) -> None:
    _reset(env.home)
    with Cluster(env.config) as cluster:
        result = cluster.exec(f"printf '%s' {shlex.quote(value)} > out", tmux=True,
                              job_waiter="tmux")
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert (env.home / "out").read_bytes() == os.fsencode(value)
