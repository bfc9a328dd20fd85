"""Jobs over SSH: sessions, waiters, statuses, records and logs work on a real head exactly as
on the local provider, over one connection per run."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from jobwaiter.cluster.cluster import Cluster
from jobwaiter.jobs.result import Outcome
from polling import wait_for


def masters_of(port: int) -> list[int]:
    """Our ssh master processes for that port still alive."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"ControlMaster=yes" in args and str(port).encode() in args:
            pids.append(int(entry))
    return pids


def test_foreground_status_and_output(ssh, cli) -> None:
    before = ssh.accepted()
    r = cli("exec", str(ssh.config), 'echo "home=$HOME pwd=$PWD"; echo oops >&2; exit 3')
    assert r.code == 3, r.err
    # It ran on the head, in its $HOME, and the record is there.
    assert f"home={ssh.head.home} pwd={ssh.head.home}" in r.out
    assert "oops" in r.err
    assert len(ssh.head.records()) == 1
    assert f"running on {ssh.head.address}" in r.err
    # One connection to the head for the whole run, none to the workers.
    assert [a - b for a, b in zip(ssh.accepted(), before, strict=True)] == [1, 0, 0]
    assert masters_of(ssh.head.port) == [], "the master connection must be closed"


@pytest.mark.parametrize("kind", ["tmux", "screen"])
def test_session_waiter_over_one_connection(ssh, cli, kind: str) -> None:
    before = ssh.head.accepted()
    r = cli("exec", str(ssh.config), "sleep 2; echo finished; exit 4", f"--{kind}",
            f"--job-waiter={kind}", "--json")
    assert r.code == 4, r.err
    data = r.json
    assert data["outcome"] == "failed" and data["exit_status"] == 4
    name = data["session"]
    assert (ssh.head.jobs / name / "status").read_text().split()[0] == "4"
    log = ssh.head.home / "user" / "logs" / f"{name}.log"
    wait_for(lambda: "finished" in log.read_text())
    assert ssh.head.accepted() - before == 1, "the launch and the whole wait share one login"
    assert "attach: ssh -t" in r.err and ssh.head.addr in r.err
    assert masters_of(ssh.head.port) == []


def test_session_without_waiter_is_started_and_attachable(ssh, cli) -> None:
    r = cli("exec", str(ssh.config), "sleep 30", "--tmux", "--json")
    assert r.code == 0, r.err
    name = r.json["session"]
    assert ssh.head.tmux("has-session", "-t", f"={name}").returncode == 0
    attach = next(line for line in r.err.splitlines() if "attach:" in line)
    assert f"-p {ssh.head.port}" in attach and ssh.head.addr in attach
    assert attach.endswith(f"tmux attach-session -t ={name}")


def test_lost_session_over_ssh(ssh) -> None:
    proc = ssh.spawn("exec", str(ssh.config), "sleep 60", "--tmux", "--job-waiter=tmux")
    try:
        wait_for(ssh.head.job_started)
        name = ssh.head.records()[0].name
        wait_for(lambda: ssh.head.tmux("has-session", "-t", f"={name}").returncode == 0)
        # The session's processes die at once, without a chance to record anything.
        pgid = int((ssh.head.jobs / name / "pid").read_text())
        os.killpg(pgid, signal.SIGKILL)
        ssh.head.tmux("kill-session", "-t", f"={name}")
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 125, err
    assert "lost" in err


def test_hostile_cmd_and_env_stay_literal(ssh, cli, tmp_path) -> None:
    marker = tmp_path / "pwned"
    cmd = f"""printf '%s\\n' 'it'"'"'s' '$HOME' '`touch {marker}`' "$X" ';' '*'"""
    r = cli("exec", str(ssh.config), cmd, "--env", f"X=$(touch {marker}); \"q\" '\\n'")
    assert r.code == 0, r.err
    assert r.out.splitlines()[-6:] == [
        "it's", "$HOME", f"`touch {marker}`", f"$(touch {marker}); \"q\" '\\n'", ";", "*"]
    assert not marker.exists()


HOSTILE_ARGS = [
    "a b", "it's", '"double"', "$HOME", "$(touch /tmp/jw-pwned)", "`id`", "; rm -rf ~",
    "*", "--flag", "-", "", "line\nbreak", "tab\there", "back\\slash", "ünïcødé", "a=b",
    "%s %n", "!x", "{a,b}", "~", "&", "|", ">out",
]


def test_submit_hostile_args_verbatim(ssh, cli, tmp_path) -> None:
    script = tmp_path / "args.py"
    script.write_text("import json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    r = cli("submit", str(ssh.config), str(script), "--", *HOSTILE_ARGS)
    assert r.code == 0, r.err
    assert json.loads(r.out.strip().splitlines()[-1]) == HOSTILE_ARGS
    assert (ssh.head.home / "user" / "jobs" / "args.py").exists()
    assert not Path("/tmp/jw-pwned").exists()
    assert not (ssh.head.home / "out").exists()


def test_submit_in_screen_with_waiter(ssh, cli, tmp_path) -> None:
    script = tmp_path / "job.sh"
    script.write_text('echo "args: $#"; exit "$1"\n')
    r = cli("submit", "--screen", "--job-waiter=screen", "--json", str(ssh.config),
            str(script), "7", "x y")
    assert r.code == 7, r.err
    assert r.json["exit_status"] == 7


def test_remote_exit_255_is_the_jobs_status(ssh) -> None:
    # ssh's own failures also exit 255: this one must stay the job's status.
    with Cluster(str(ssh.config)) as cluster:
        result = cluster.exec("exit 255")
        assert result.outcome is Outcome.FAILED and result.exit_status == 255
        session = cluster.exec("exit 255", tmux=True, job_waiter="tmux")
        assert session.outcome is Outcome.FAILED and session.exit_status == 255


def test_ctrl_c_reaches_the_remote_foreground_job(ssh) -> None:
    # (The sleep's output goes elsewhere: over ssh, a session lasts as long as some process
    # still holds its output, and a background job ignores SIGINT.)
    cmd = ("trap 'echo got-int; exit 5' INT; echo ready; sleep 30 >/dev/null 2>&1 & "
           "touch ~/at-wait; wait")
    proc = ssh.spawn("exec", str(ssh.config), cmd)
    try:
        wait_for(ssh.head.job_started)
        # The trap is set once the job has come this far (however loaded the machine).
        wait_for(lambda: (ssh.head.home / "at-wait").exists(), 30)
        time.sleep(0.2)  # from `touch` to the `wait` builtin
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 5, err
    assert "got-int" in out
    name = ssh.head.records()[0].name
    assert (ssh.head.jobs / name / "status").read_text().split()[0] == "5"
    assert not list((ssh.head.home / ".jobwaiter" / "fg").glob("*")), "pid file left behind"


def test_wait_again_and_list_jobs_over_ssh(ssh, cli) -> None:
    r = cli("exec", str(ssh.config), "sleep 1; exit 9", "--tmux", "--job-waiter=tmux",
            "--job-timeout", "0.2", "--json")
    assert r.code == 124, r.err
    name = r.json["session"]
    r = cli("wait", str(ssh.config), name)
    assert r.code == 9, r.err
    r = cli("jobs", str(ssh.config), "--json")
    assert r.code == 0, r.err
    assert name in r.out
