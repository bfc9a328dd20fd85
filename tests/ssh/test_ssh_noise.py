"""A head whose start-up files print: over SSH the login shell sources ~/.bashrc before every
command of ours. No banner, however it imitates our answers, changes a result."""

from __future__ import annotations

import json

import pytest

BANNER = ("echo 'Welcome to the head node'; echo 'status 0 1'; echo 'started 1 1'; "
          "echo 'alive 0'; echo '@@ jobwaiter-000000000000'; echo 'stty: not a tty' >&2\n")


@pytest.fixture
def noisy(ssh):  # type: ignore[no-untyped-def]
    (ssh.head.home / ".bashrc").write_text(BANNER)
    (ssh.head.home / ".profile").write_text(BANNER)
    return ssh


@pytest.mark.parametrize("kind", ["tmux", "screen"])
def test_a_banner_changes_no_result_over_ssh(noisy, cli, kind: str) -> None:
    config = str(noisy.config)
    r = cli("exec", config, "sleep 1; exit 3", f"--{kind}", f"--job-waiter={kind}", "--json")
    assert r.code == 3, r.err
    name = r.json["session"]
    assert cli("wait", config, name, "--json").json["exit_status"] == 3
    jobs = cli("jobs", config, "--json").json
    assert [(j["session"], j["state"]) for j in jobs] == [(name, "failed (3)")]
    r = cli("exec", config, "sleep 30", f"--{kind}", f"--job-waiter={kind}",
            "--job-timeout", "2", "--json")
    assert r.json["outcome"] == "timeout", r.err
    k = cli("kill", config, r.json["session"], "--grace", "1")
    assert k.code == 0 and "143" in k.err, k.err


def test_a_foreground_job_and_submit_with_a_banner(noisy, cli) -> None:
    config = str(noisy.config)
    r = cli("exec", config, "echo job-output; exit 5", "--json")
    assert r.code == 5, r.err
    # A foreground job's output is ours, untouched: the login shell's banner comes first, then
    # the job's output, then the result.
    assert r.out.index("job-output") < r.out.index('{\n  "outcome"')
    assert json.loads(r.out[r.out.index('{\n  "outcome"'):])["exit_status"] == 5
    script = noisy.home / "job.sh"
    script.write_text('printf "%s|" "$@" > args\n')
    r = cli("submit", config, str(script), "a b", "$HOME")
    assert r.code == 0, r.err
    assert (noisy.head.home / "args").read_text() == "a b|$HOME|"
