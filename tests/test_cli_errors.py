"""Every error is one line on stderr; usage errors exit 2; odd bytes never crash the echo."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("jobwaiter: error: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "fragment", "command"),
    [
        (["exec"], "Missing argument 'CONFIG'", "jobwaiter exec"),
        (["exec", "c.yaml"], "Missing argument 'CMD'", "jobwaiter exec"),
        (["exec", "c.yaml", "true", "--nope"], "No such option '--nope'", "jobwaiter exec"),
        (["exec", "c.yaml", "true", "--job-timeout"], "requires an argument", "jobwaiter exec"),
        (["logs", "c.yaml", "s", "--tail", "-3"], "Invalid value for '--tail'", "jobwaiter logs"),
        (["bogus"], "No such command 'bogus'", "jobwaiter"),
        (["--bad"], "No such option '--bad'", "jobwaiter"),
        (["submit", "--env"], "requires an argument", "jobwaiter submit"),
        (["kill", "c.yaml"], "Missing argument 'JOB'", "jobwaiter kill"),
        (["jobs", "c.yaml", "--older-than", "soon"], "is not a duration", "jobwaiter jobs"),
    ],
)
def test_usage_errors_are_one_line(cli, env, argv: list[str], fragment: str,
                                   command: str) -> None:
    r = cli(*argv)
    assert r.code == 2
    line = one_line(r.err)
    assert fragment in line
    assert line.endswith(f"(see '{command} --help')")
    assert "Usage:" not in r.err and "Try " not in r.err


def test_bare_command_still_shows_help(cli, env) -> None:
    r = cli()
    assert r.code == 2 and "Usage: jobwaiter" in r.err


def test_other_errors_stay_one_line(cli, env) -> None:
    r = cli("exec", "/nonexistent/c.yaml", "true")
    assert r.code == 2
    assert "cannot read" in one_line(r.err)


@pytest.mark.parametrize(
    "argv",
    [
        ["exec", "c\udcff.yaml", "true"],  # the path is echoed as is in the error
        ["exec", "CONFIG", "true", "--job-waiter", "a\udcffb"],
        ["exec", "CONFIG", "true", "--env", "K\udcff=1"],
        ["exec", "CONFIG", "true", "--job-timeout", "\udcff"],
        ["exec", "CONFIG", "true", "--n\udcffpe"],
        ["b\udcffgus"],
        ["submit", "CONFIG", "/nonexistent/\udcff.sh"],
    ],
)
def test_non_utf8_arguments_are_echoed_not_crashed_on(cli, env, argv: list[str]) -> None:
    argv = [str(env.config) if a == "CONFIG" else a for a in argv]
    r = cli(*argv)
    assert r.code == 2
    assert "Traceback" not in r.err and "UnicodeEncodeError" not in r.err
    one_line(r.err)


@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_raw_bytes_in_argv_of_a_real_process(env, locale: str) -> None:
    """The path a shell takes: bytes in argv, surrogate-escaped by Python, printed through a
    real stderr under an ASCII or a UTF-8 locale."""
    environ = {**os.environ, "LC_ALL": locale, "PYTHONIOENCODING": ""}
    for argv in ([b"exec", b"c\xff.yaml", b"true"],
                 [b"exec", str(env.config).encode(), b"true", b"--env", b"\xfe=1"]):
        proc = subprocess.run([sys.executable.encode(), b"-m", b"jobwaiter.cli.main", *argv],
                              capture_output=True, env=environ, check=False)
        assert proc.returncode == 2, proc.stderr
        assert b"Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_say_replaces_lone_surrogates(capsys: pytest.CaptureFixture[str]) -> None:
    from jobwaiter.cli.main import say

    say("bad \udcff key")
    assert capsys.readouterr().err == "bad \ufffd key\n"
