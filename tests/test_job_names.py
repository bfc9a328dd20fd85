"""Naming jobs for real: --name labels, hex prefixes, @last and the session name in wait, logs
and kill, on the local provider with real tmux; ambiguity and bad names exit 2; `logs -n 50`
is refused with a hint; a hostile label never reaches a shell."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobwaiter.cluster.cluster import Cluster
from jobwaiter.errors import UsageError
from jobwaiter.jobs.result import Outcome
from polling import wait_for

SETTINGS = settings(max_examples=int(os.environ.get("JW_HYPOTHESIS_EXAMPLES", "25")),
                    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def started(cli, env, cmd: str, *opts: str) -> str:  # type: ignore[no-untyped-def]
    r = cli("exec", str(env.config), cmd, *opts, "--json")
    assert r.json["session"], r.err
    return str(r.json["session"])


def unique_prefix(name: str, others: list[str]) -> str:
    """The shortest prefix (of at least 4) of ``name``'s hex digits that no other job shares."""
    digits = name.removeprefix("jobwaiter-")
    for k in range(4, 13):
        if not any(o.removeprefix("jobwaiter-").startswith(digits[:k]) for o in others):
            return digits[:k]
    raise AssertionError("two jobs with one name")


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Jobs get the names put in this list, in order (to make prefixes collide on purpose)."""
    chosen: list[str] = []
    monkeypatch.setattr("jobwaiter.jobs.plan.new_name", lambda: chosen.pop(0))
    yield chosen


def test_label_prefix_and_last_in_wait_logs_and_kill(env, cli) -> None:
    train = started(cli, env, "echo training; sleep 30", "--tmux", "--job-log",
                    "--name", "train")
    done = started(cli, env, "echo hi", "--tmux", "--job-waiter=tmux")
    short = unique_prefix(done, [train])

    rows = json.loads(cli("jobs", str(env.config), "--json").out)
    assert {r["session"]: r["label"] for r in rows} == {train: "train", done: None}
    table = cli("jobs", str(env.config)).out.splitlines()
    assert table[0].split()[:3] == ["SESSION", "LABEL", "STATE"]
    assert any(line.split()[:2] == [train, "train"] for line in table)

    # A label, in wait: the resume line names the job by its full name.
    r = cli("wait", str(env.config), "train", "--job-timeout", "0.3", "--json")
    assert r.code == 124, r.err
    assert r.json["session"] == train
    assert f"jobwaiter wait {env.config} {train}" in r.err
    # A prefix, with and without jobwaiter-, in logs.
    assert cli("logs", str(env.config), short).out == "hi\n"
    assert cli("logs", str(env.config), f"jobwaiter-{short}").out == "hi\n"
    assert cli("logs", str(env.config), short.upper()).out == "hi\n"
    wait_for(lambda: cli("logs", str(env.config), "train").out == "training\n")
    # @last: the newest job of this cluster.
    r = cli("wait", str(env.config), "@last", "--json")
    assert (r.code, r.json["session"]) == (0, done)
    # kill by label: the messages name the job that was signalled.
    r = cli("kill", str(env.config), "train", "--grace", "1")
    assert r.code == 0, r.err
    assert f"killed {train}; recorded exit status 143" in r.err
    assert env.status(train) == "143"


def test_ambiguity_exits_2_listing_every_match(env, cli, names: list[str]) -> None:
    names += ["jobwaiter-abcd00000001", "jobwaiter-abcd00000002", "jobwaiter-0123456789ab"]
    a = started(cli, env, "sleep 30", "--tmux", "--name", "same")
    b = started(cli, env, "sleep 30", "--tmux", "--name", "same")
    c = started(cli, env, "true", "--tmux", "--job-waiter=tmux")
    for job in ("abcd", "jobwaiter-abcd0000000"):
        for command in ("wait", "logs", "kill"):
            r = cli(command, str(env.config), job)
            assert r.code == 2, (command, job, r.err)
            lines = r.err.strip().splitlines()
            assert len(lines) == 1, r.err
            assert f"job {job!r} is ambiguous: " in lines[0]
            assert a in lines[0] and b in lines[0] and c not in lines[0]
    assert env.status(a) is None and env.status(b) is None, "nothing was killed"
    # A label given again names the newest job with it that runs, and says so.
    r = cli("wait", str(env.config), "same", "--job-timeout", "0.2", "--json")
    assert r.json["session"] == b, r.err
    assert f"'same' names {b} (started " in r.err and f"also labelled so: {a} (" in r.err
    # A longer prefix, or the other forms, name one job again.
    assert cli("wait", str(env.config), "abcd00000002", "--job-timeout", "0.2",
               "--json").json["session"] == b
    assert cli("kill", str(env.config), "jobwaiter-abcd00000001").code == 0
    assert env.status(a) == "143"
    assert cli("wait", str(env.config), "0123", "--json").json["session"] == c


def test_a_prefix_of_3_is_refused(env, cli, names: list[str]) -> None:
    names.append("jobwaiter-abc000000001")
    job = started(cli, env, "true", "--tmux", "--job-waiter=tmux")
    for text in ("abc", "jobwaiter-abc"):
        r = cli("wait", str(env.config), text)
        assert r.code == 2
        assert "give at least 4 of the 12 hex digits" in r.err
    assert cli("wait", str(env.config), "abc0", "--json").json["session"] == job


def test_a_label_like_a_prefix_is_refused_and_a_stored_one_comes_first(
        env, cli, names: list[str]) -> None:
    """--name abcd would be read as a prefix: refused, nothing started. A record that holds
    such a label anyway (written by hand) is found by its label before any prefix."""
    names += ["jobwaiter-abcd00000001", "jobwaiter-0123456789ab"]
    other = started(cli, env, "true", "--tmux", "--job-waiter=tmux")
    before = sorted(p.name for p in env.jobs.iterdir())
    for label in ("abcd", "jobwaiter-x", "@last", "-x", " ", "a\nb", os.fsdecode(b"\xff")):
        r = cli("exec", str(env.config), "touch started", "--tmux", "--name", label)
        assert r.code == 2, label
        assert "is not a usable label" in r.err
    assert sorted(p.name for p in env.jobs.iterdir()) == before
    assert not (env.home / "started").exists()
    labelled = started(cli, env, "true", "--tmux", "--job-waiter=tmux")
    meta = env.record(labelled) / "meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "label": "abcd"}) + "\n")
    assert cli("wait", str(env.config), "abcd", "--json").json["session"] == labelled
    assert cli("wait", str(env.config), "abcd0", "--json").json["session"] == other


def test_last_is_the_newest_job_of_this_cluster(env, cli) -> None:
    ours = started(cli, env, "echo ours", "--tmux", "--job-waiter=tmux")
    other_config = env.write_config(env.config.read_text().replace("cluster_name: test",
                                                                   "cluster_name: other"),
                                    "other.yaml")
    theirs = started(cli, env, "echo theirs", "--tmux", "--job-waiter=tmux", "-n", "other")
    assert cli("logs", str(env.config), "@last").out == "ours\n"
    assert cli("logs", str(other_config), "@last").out == "theirs\n"
    assert cli("logs", str(env.config), "@last", "-n", "other").out == "theirs\n"
    r = cli("wait", str(env.config), "@last", "-n", "nothing-here")
    assert r.code == 2
    assert "no job of cluster nothing-here on the head (@last)" in r.err
    assert ours != theirs


def test_not_found_and_malformed(env, cli) -> None:
    started(cli, env, "true", "--tmux", "--name", "train")
    for command in ("wait", "logs", "kill"):
        r = cli(command, str(env.config), "jobwaiter-000000000000")
        assert r.code == 2
        assert "no job jobwaiter-000000000000" in r.err
        r = cli(command, str(env.config), "tr")
        assert r.code == 2
        assert "no job 'tr' on the head of cluster test" in r.err
        r = cli(command, str(env.config), "@first")
        assert r.code == 2
        assert "the only one is @last" in r.err


@pytest.mark.parametrize("flag", ["-n", "--cluster-name"])
def test_logs_n_50_is_refused_with_the_tail_hint(env, cli, flag: str) -> None:
    job = started(cli, env, "seq 1 100", "--tmux", "--job-waiter=tmux")
    r = cli("logs", str(env.config), job, flag, "50")
    assert r.code == 2
    assert r.out == ""
    assert len(r.err.strip().splitlines()) == 1
    assert "use --tail 50" in r.err
    assert cli("logs", str(env.config), job, "--tail", "50").out.splitlines()[0] == "51"
    # -n keeps meaning --cluster-name, on logs too.
    assert cli("logs", str(env.config), job, "-n", "test", "--tail", "1").out == "100\n"


def test_the_python_api_takes_the_same_forms(env) -> None:
    with Cluster(env.config) as cluster:
        first = cluster.exec("echo one", tmux=True, job_waiter="tmux", label="one")
        second = cluster.exec("sleep 30", tmux=True, job_log=True)
        assert cluster.resolve_job("one") == first.job
        assert cluster.resolve_job("@last") == second.job
        assert cluster.resolve_job(first.job[:14]) == first.job
        assert cluster.wait("one").outcome is Outcome.SUCCEEDED
        assert cluster.kill("@last", grace=1).state == "killed"
        assert env.status(second.job) == "143"
        script = env.home / "job.sh"
        script.write_text("touch submitted\n")
        with pytest.raises(UsageError, match="not a usable label"):
            cluster.submit(str(script), label="cafe")
        assert not (env.home / "user" / "jobs" / "job.sh").exists(), "nothing uploaded"
        third = cluster.submit(str(script), label="etl")
        assert (env.home / "submitted").exists()
        assert [j.label for j in cluster.jobs()] == ["etl", None, "one"]
        assert cluster.resolve_job("etl") == third.job


# Labels as they arrive on a command line: anything but NUL, decoded as Python decodes argv.
hostile = st.one_of(
    st.binary(min_size=0, max_size=40).filter(lambda b: b"\0" not in b).map(os.fsdecode),
    st.sampled_from(["$(touch pwned)", "`touch pwned`", "'; touch pwned; '",
                     '"; touch pwned; "', "x\ntouch pwned", "a'b\"c\\d", "${IFS}", "*", "~",
                     "%s%n", "\x1b[2J", os.fsdecode(b"\xff\xfe"), "\u202etxt.exe"]),
)


def _clear(home: Path) -> None:
    (home / "pwned").unlink(missing_ok=True)
    jobs = home / ".jobwaiter" / "jobs"
    if jobs.exists():
        for record in jobs.iterdir():
            for f in record.iterdir():
                f.unlink()
            record.rmdir()


@SETTINGS
@given(label=hostile)
def test_a_hostile_label_is_kept_verbatim_or_refused(env, label: str) -> None:
    """A label travels in meta.json on the launch's stdin: it is stored exactly and names the
    job, or it is refused before anything runs. Either way no shell ever runs it."""
    _clear(env.home)
    with Cluster(env.config) as cluster:
        try:
            result = cluster.exec("true", label=label)
        except UsageError as exc:
            assert "is not a usable label" in str(exc)
            assert not env.jobs.exists() or not any(env.jobs.iterdir()), "nothing started"
        else:
            assert result.outcome is Outcome.SUCCEEDED, result.message
            meta = json.loads((env.record(result.job) / "meta.json").read_text())
            assert meta["label"] == label
            assert cluster.resolve_job(label) == result.job
            assert [j.label for j in cluster.jobs()] == [label]
    assert not (env.home / "pwned").exists()


def test_name_with_all_nodes_is_refused(env, cli) -> None:
    r = cli("exec", str(env.config), "touch ran", "--all-nodes", "--name", "x")
    assert r.code == 2
    assert "cannot be combined with --name" in r.err
    assert not (env.home / "ran").exists()
