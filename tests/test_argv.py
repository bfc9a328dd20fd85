"""How exec, submit and wait read their command lines (jobwaiter.cli.argv): CloudTik's order
for submit (long options also after SCRIPT, the script's arguments after --) and a
--job-waiter SPEC split by the shell. The rules, as the real click commands read them,
property-tested; then a few real runs on the local head."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobwaiter.cli.argv import ArgvError, OptionTable, join_split_specs, read_submit, shell_quote
from jobwaiter.cli.common import option_table
from jobwaiter.cli.manage import wait_cmd
from jobwaiter.cli.run import exec_cmd, submit_cmd
from jobwaiter.waiters.spec import Spec, parse_spec

SETTINGS = settings(max_examples=int(os.environ.get("JW_HYPOTHESIS_EXAMPLES", "25")),
                    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def parse(command: click.Command, *argv: str) -> dict[str, Any]:
    """What the command would run with (its parameters), without running it."""
    return dict(command.make_context(command.name or "", list(argv)).params)


def submit_options() -> OptionTable:
    return option_table(submit_cmd, click.Context(submit_cmd))


def refusal(*argv: str) -> str:
    with pytest.raises(click.UsageError) as err:
        parse(submit_cmd, *argv)
    return str(err.value.message)


# -- submit: the rules ----------------------------------------------------------------------


def test_cloudtik_order_long_options_after_script_are_ours() -> None:
    p = parse(submit_cmd, "c.yaml", "job.py", "--tmux", "--job-log")
    assert (p["config"], p["script"], p["script_args"]) == ("c.yaml", "job.py", ())
    assert p["tmux"] and p["job_log"]
    p = parse(submit_cmd, "c.yaml", "job.py", "--tmux", "--job-waiter=tmux", "--stop", "--yes")
    assert p["tmux"] and p["stop"] and p["yes"] and p["job_waiter"] == "tmux"
    assert p["script_args"] == ()


def test_everything_after_double_dash_is_the_scripts() -> None:
    p = parse(submit_cmd, "c.yaml", "x.py", "--", "--smoke-test")
    assert p["script_args"] == ("--smoke-test",)
    p = parse(submit_cmd, "c.yaml", "x.py", "a", "--tmux", "b", "--", "--", "-y", "--tmux")
    assert p["script_args"] == ("a", "b", "--", "-y", "--tmux")
    assert p["tmux"] and not p["yes"]
    # `--` before SCRIPT: SCRIPT and all after it are positional (a script named -x.sh).
    p = parse(submit_cmd, "-y", "c.yaml", "--", "-x.sh", "--tmux")
    assert (p["script"], p["script_args"], p["tmux"], p["yes"]) == ("-x.sh", ("--tmux",),
                                                                     False, True)


@pytest.mark.parametrize("spelling", ["separate", "joined"])
def test_options_with_a_value_after_script_in_both_spellings(spelling: str) -> None:
    pairs = [("--job-waiter", "tmux"), ("--env", "K=V=1"), ("--job-timeout", "1h"),
             ("--runtime", "spark"), ("--cluster-name", "other"), ("--env", "-dash")]
    words = [w for o, v in pairs for w in ([o, v] if spelling == "separate" else [f"{o}={v}"])]
    p = parse(submit_cmd, "c.yaml", "job.py", "arg", *words, "--tmux", "last")
    assert p["job_waiter"] == "tmux" and p["env"] == ("K=V=1", "-dash")
    assert p["job_timeout"] == 3600 and p["runtime"] == "spark"
    assert p["cluster_name"] == "other" and p["script_args"] == ("arg", "last")


def test_options_before_script_are_read_as_before() -> None:
    for argv in (["-n", "x", "c.yaml", "job.py"], ["-ynx", "c.yaml", "job.py"],
                 ["-yn", "x", "c.yaml", "job.py"], ["c.yaml", "--cluster-name", "x", "job.py"],
                 ["--env", "c.yaml", "c.yaml", "job.py"]):
        p = parse(submit_cmd, *argv)
        assert (p["config"], p["script"], p["script_args"]) == ("c.yaml", "job.py", ()), argv
    p = parse(submit_cmd, "-", "job.py", "-")  # `-` alone is a value, as everywhere
    assert (p["config"], p["script"], p["script_args"]) == ("-", "job.py", ("-",))


def test_an_unknown_option_after_script_shows_the_corrected_command() -> None:
    message = refusal("c.yaml", "train.py", "--epochs", "3")
    assert message == ("--epochs after SCRIPT is not an option of submit; arguments for the "
                       "script go after --: submit c.yaml train.py -- --epochs 3")
    message = refusal("c.yaml", "train.py", "--tmux", "--job-wiater=x", "-v")
    assert "(did you mean --job-waiter?)" in message
    assert message.endswith("submit c.yaml train.py --tmux -- --job-wiater=x -v")


def test_a_short_option_after_script_could_be_either() -> None:
    message = refusal("c.yaml", "job.py", "--tmux", "--job-waiter=tmux", "--stop", "-y")
    assert message == (
        "-y after SCRIPT could be the script's or jobwaiter's; for jobwaiter, put it before "
        "SCRIPT: submit c.yaml -y job.py --tmux --job-waiter=tmux --stop; for the script, "
        "after --: submit c.yaml job.py --tmux --job-waiter=tmux --stop -- -y")
    message = refusal("c.yaml", "job.py", "3", "-n", "big", "-q", "--lr", "0.1")
    assert "put them before SCRIPT: submit c.yaml -n big -q job.py -- 3 --lr 0.1;" in message
    assert message.endswith("after --: submit c.yaml job.py -- 3 -n big -q --lr 0.1")


def test_a_value_missing_after_script_is_an_error() -> None:
    for tail in (["--job-waiter"], ["--env", "--", "x"]):
        assert refusal("c.yaml", "job.py", *tail).endswith("requires an argument.")


def test_help_after_script_is_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(click.exceptions.Exit):
        parse(submit_cmd, "c.yaml", "job.py", "--help")
    assert "Everything after -- is the script's" in capsys.readouterr().out


def test_no_script_or_unknown_options_before_it_are_the_parsers_to_report() -> None:
    table = submit_options()
    assert read_submit(["c.yaml"], table).argv == ["c.yaml"]
    assert read_submit(["--nope", "c.yaml", "j.py", "-y"], table).argv == [
        "--nope", "c.yaml", "j.py", "-y"]


# -- submit: properties ---------------------------------------------------------------------

# Words as they arrive on a command line: any text, and bytes that are not UTF-8.
word = st.one_of(st.text(max_size=12).filter(lambda w: "\0" not in w),
                 st.binary(max_size=12).filter(lambda b: b"\0" not in b).map(os.fsdecode),
                 st.sampled_from(["--", "-", "-y", "--tmux", "--job-waiter=x", "--stop", "-n",
                                  "--json", "-q", "--", "--help", "a b", "\n", ""]))
positional = word.filter(lambda w: not w.startswith("-") or w == "-")
value = word.filter(lambda w: w != "--")
flag = st.sampled_from(["--tmux", "--screen", "--job-log", "--stop", "--start", "--yes",
                        "--quiet", "--json"])
# (option, value) pairs of ours that take a value; values whatever a user may type.
valued = st.one_of(
    st.tuples(st.just("--env"), value), st.tuples(st.just("--cluster-name"), value),
    st.tuples(st.just("--runtime"), value),
    st.tuples(st.just("--job-waiter"), st.sampled_from(["tmux", "chain[tmux, spark]",
                                                         "spark[all]", "a.b.C"])))


@st.composite
def long_option(draw: st.DrawFn) -> list[str]:
    if draw(st.booleans()):
        return [draw(flag)]
    name, val = draw(valued)
    return [name, val] if draw(st.booleans()) else [f"{name}={val}"]


@SETTINGS
@given(before=st.lists(long_option(), max_size=3), config=positional, script=positional,
       after=st.lists(st.one_of(long_option(), positional), max_size=5),
       rest=st.lists(word, max_size=5))
def test_script_arguments_after_double_dash_reach_the_script_verbatim(
        before: list[list[str]], config: str, script: str, after: list[list[str] | str],
        rest: list[str]) -> None:
    """Options of ours before SCRIPT and long ones after it are ours; the script gets the
    other words after SCRIPT and everything after `--`, verbatim, whatever they are."""
    options = [o for o in after if isinstance(o, list)]
    loose = [o for o in after if isinstance(o, str)]
    argv = [*(w for o in before for w in o), config, script,
            *(w for o in after for w in ([o] if isinstance(o, str) else o)), "--", *rest]
    p = parse(submit_cmd, *argv)
    assert (p["config"], p["script"]) == (config, script)
    assert p["script_args"] == (*loose, *rest)
    envs = [o[1] if len(o) == 2 else o[0].partition("=")[2]
            for o in [*before, *options] if o[0].partition("=")[0] == "--env"]
    assert p["env"] == tuple(envs)
    for name in ("--tmux", "--stop", "--job-log"):
        assert p[name[2:].replace("-", "_")] == any(o == [name] for o in [*before, *options])


def _bash_words(command: str) -> list[str]:
    out = subprocess.run(["bash", "-c", 'eval "set -- $1"; printf "%s\\0" "$@"', "_",
                          command], capture_output=True, check=True).stdout
    return [os.fsdecode(w) for w in out.split(b"\0")[:-1]]


def _not_ours(w: str) -> bool:
    """Not one of our long options, nor `--`; and not the text the test looks for."""
    return w != "--" and not (w.startswith("--") and w.partition("=")[0] in submit_options()) \
        and "after --: " not in w


@SETTINGS
@given(config=positional.filter(_not_ours), script=positional.filter(_not_ours),
       before=st.lists(positional.filter(_not_ours), max_size=2),
       bad=word.filter(lambda w: w.startswith("-") and w != "-" and _not_ours(w)),
       after=st.lists(word.filter(_not_ours), max_size=3))
def test_an_option_like_word_after_script_is_refused_and_the_fix_is_exact(
        config: str, script: str, before: list[str], bad: str, after: list[str]) -> None:
    """Never a guess: anything after SCRIPT that looks like an option and is not a long option
    of ours is refused, and the command the error shows for the script is exact."""
    table = submit_options()
    with pytest.raises(ArgvError) as err:
        read_submit(["-q", config, script, *before, bad, *after], table)
    message = str(err.value)
    assert "\n" not in message
    fixed = _bash_words(message.rpartition("after --: ")[2])
    assert fixed[:2] == ["jobwaiter", "submit"]
    submission = read_submit(fixed[2:], table)
    assert submission.argv == ["-q", config, "--", script, *before, bad, *after]


# -- --job-waiter split by the shell --------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_-]{0,5}(\.[A-Za-z][A-Za-z0-9]{0,4})?", fullmatch=True)
specs = st.recursive(names.map(Spec), lambda inner: st.builds(
    lambda n, args: Spec(n, tuple(args)), names, st.lists(inner, min_size=1, max_size=3)),
    max_leaves=6)


@st.composite
def spaced(draw: st.DrawFn, spec: Spec) -> str:
    """A SPEC written with spaces where the grammar allows them (never before '[')."""
    if not spec.args:
        return spec.name
    sep = draw(st.sampled_from([",", ", ", " , ", ",  "]))
    inner = sep.join(draw(spaced(a)) for a in spec.args)
    return (f"{spec.name}[{draw(st.sampled_from(['', ' ']))}{inner}"
            f"{draw(st.sampled_from(['', ' ']))}]")


@SETTINGS
@given(data=st.data(), spec=specs, cmd=positional, joined=st.booleans(),
       cmd_first=st.booleans())
def test_a_split_spec_is_joined_and_never_eats_cmd(data: st.DataObject, spec: Spec, cmd: str,
                                                   joined: bool, cmd_first: bool) -> None:
    pieces = data.draw(spaced(spec)).split()  # what the shell makes of it unquoted
    option = [f"--job-waiter={pieces[0]}"] if joined else ["--job-waiter", pieces[0]]
    waiter = [*option, *pieces[1:]]
    argv = ["c.yaml", cmd, *waiter] if cmd_first else ["c.yaml", *waiter, cmd]
    p = parse(exec_cmd, *argv)
    assert p["cmd"] == cmd and p["config"] == "c.yaml"
    assert parse_spec(p["job_waiter"]) == spec
    p = parse(wait_cmd, "c.yaml", "jobwaiter-0123456789ab", *waiter, "--stop")
    assert parse_spec(p["job_waiter"]) == spec and p["stop"]
    p = parse(submit_cmd, "c.yaml", *waiter, "job.py", cmd.lstrip("-") or "x", *waiter)
    assert parse_spec(p["job_waiter"]) == spec and p["script"] == "job.py"


@SETTINGS
@given(spec=specs.filter(lambda s: bool(s.args)), data=st.data(), follow=st.lists(word))
def test_a_spec_cut_short_is_joined_only_when_certain(spec: Spec, data: st.DataObject,
                                                      follow: list[str]) -> None:
    """Whatever follows a SPEC cut short, the result is the words right after it joined into
    a SPEC that parses, or nothing joined, or an error; never a guess."""
    first = data.draw(spaced(spec)).split()[0]
    head = first[:data.draw(st.integers(1, len(first)))]
    table = option_table(exec_cmd, click.Context(exec_cmd))
    try:
        out = join_split_specs(["--job-waiter=" + head, *follow], table)
    except ArgvError as exc:
        assert str(exc).startswith("--job-waiter ") and "\n" not in str(exc)
        return
    value = out[0].partition("=")[2]
    taken = follow[:len(follow) - (len(out) - 1)]
    assert value == " ".join([head, *taken]) and out[1:] == follow[len(taken):]
    if taken:
        parse_spec(value)


def test_exec_examples_of_a_split_spec() -> None:
    p = parse(exec_cmd, "c.yaml", "--job-waiter=chain[tmux,", "spark]", "echo hi", "--tmux")
    assert (p["cmd"], p["job_waiter"]) == ("echo hi", "chain[tmux, spark]")
    p = parse(exec_cmd, "c.yaml", "--job-waiter", "chain[", "tmux", ",", "chain[a,", "b]", "]",
              "x")
    assert (p["cmd"], p["job_waiter"]) == ("x", "chain[ tmux , chain[a, b] ]")


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        # CMD is no piece of a SPEC, so the '[' stays open: never joined.
        (["--job-waiter=chain[tmux,", "echo hi"], "--job-waiter='chain[tmux]'"),
        (["--job-waiter=chain[tmux,", "spark", "echo hi"], "--job-waiter='chain[tmux, spark]'"),
        # The pieces close the bracket but do not make a SPEC.
        (["--job-waiter=chain[tmux,", ",]", "true"], "--job-waiter='chain[tmux, ,]'"),
        # A ']' that closes before the end of its word: not a piece of this SPEC.
        (["--job-waiter=chain[tmux,", "spark],x", "true"], "--job-waiter='chain[tmux, spark],x'"),
        (["--job-waiter=chain[", "--tmux", "true"], "--job-waiter='chain[]'"),
    ],
)
def test_a_spec_that_cannot_be_joined_shows_the_quoted_form(argv: list[str],
                                                            shown: str) -> None:
    with pytest.raises(click.UsageError) as err:
        parse(exec_cmd, "c.yaml", *argv)
    message = str(err.value.message)
    assert "leaves a '[' open" in message and message.endswith(f"e.g. {shown}")


def test_a_bracket_merely_missing_is_the_spec_parsers_to_report() -> None:
    p = parse(exec_cmd, "c.yaml", "true", "--job-waiter=chain[tmux")
    assert p["job_waiter"] == "chain[tmux"  # "missing ']'" comes from the SPEC parser
    # After `--`, nothing is an option: the command's words may look like one.
    assert parse(exec_cmd, "c.yaml", "--", "--job-waiter=chain[a,")["cmd"] == \
        "'--job-waiter=chain[a,'"


@pytest.mark.parametrize("word", ["a b", "two  words", "line1\nline2", "it's", "x\udcff",
                                  "\x1b[2J", "   ", "tab\there", "é", "a\\b", ""])
def test_shell_quote_is_one_line_and_exact(word: str) -> None:
    quoted = shell_quote(word)
    assert "\n" not in quoted and "  " not in quoted
    assert _bash_words(quoted) == [word]


# -- through the CLI, on the local head -----------------------------------------------------

SHOW_ARGS = ('for a in "$@"; do printf "%s\\0" "$a"; done > ~/args\n'
             'echo "TMUX=${TMUX:+set} STY=${STY:+set}" > ~/where\n')


def _script(env) -> Path:  # type: ignore[no-untyped-def]
    script = env.home / "job.sh"
    script.write_text(SHOW_ARGS)
    return script


def _args(env) -> list[str]:  # type: ignore[no-untyped-def]
    return [os.fsdecode(a) for a in (env.home / "args").read_bytes().split(b"\0")[:-1]]


def _meta(env) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    (record,) = env.jobs.iterdir()
    return json.loads((record / "meta.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("yes_first", [True, False])
def test_cloudtik_order_really_runs_in_tmux_and_stops(env, cli, yes_first: bool) -> None:
    script = _script(env)
    argv = (["-y", str(env.config), str(script), "--tmux", "--job-waiter=tmux", "--stop"]
            if yes_first else
            [str(env.config), str(script), "--tmux", "--job-waiter=tmux", "--stop", "--yes"])
    r = cli("submit", *argv)
    assert r.code == 0, r.err
    assert _args(env) == []
    assert (env.home / "where").read_text() == "TMUX=set STY=\n"
    assert _meta(env)["session"] == "tmux"
    assert (env.home / "cluster.log").read_text() == "stopped\n"
    taken = [line for line in r.err.splitlines() if "after SCRIPT" in line]
    expected = "--tmux, --job-waiter, --stop" + ("" if yes_first else ", --yes")
    assert taken == [f"jobwaiter: {expected} after SCRIPT: taken as options of jobwaiter "
                     "(arguments for the script go after --)"]


def test_a_short_option_after_script_runs_nothing(env, cli) -> None:
    script = _script(env)
    r = cli("submit", str(env.config), str(script), "--tmux", "--job-waiter=tmux", "--stop",
            "-y")
    assert r.code == 2
    (line,) = r.err.splitlines()
    assert f"put it before SCRIPT: jobwaiter submit {env.config} -y {script} --tmux" in line
    assert not env.jobs.exists() and not (env.home / "cluster.log").exists()
    assert not (env.home / "user").exists(), "nothing uploaded"


def test_script_gets_what_follows_double_dash_and_q_silences_the_note(env, cli) -> None:
    script = _script(env)
    r = cli("submit", str(env.config), str(script), "--job-log", "--quiet",
            "--", "--smoke-test", "--", "-y")
    assert r.code == 0, r.err
    assert _args(env) == ["--smoke-test", "--", "-y"]
    assert r.err == "" and r.out == ""  # --job-log: the output went to the log


def test_unknown_option_after_script_runs_nothing(env, cli) -> None:
    script = _script(env)
    r = cli("submit", str(env.config), str(script), "--epochs", "3", "--start")
    assert r.code == 2
    assert r.err.strip().endswith(f"after --: jobwaiter submit {env.config} {script} --start "
                                  "-- --epochs 3 (see 'jobwaiter submit --help')")
    assert len(r.err.strip().splitlines()) == 1
    assert not env.jobs.exists() and not (env.home / "cluster.log").exists()
