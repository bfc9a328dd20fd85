"""Shell completion: the CLI asked as bash, zsh and fish ask it (click's protocol, in a
separate process), offering commands, options, waiter names and the session names of real
jobs; fast, silent when it cannot know, and the README's bash line works in a real bash."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from jobwaiter.cli.complete import split_spec
from jobwaiter.cli.main import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
HEAVY = ("pydantic", "jobwaiter.cluster.config", "jobwaiter.transport.ssh")

SPARK_YAML = "cluster_name: sp\nprovider: {type: local}\nruntime: {types: [spark]}\n"


def ask(line: str, shell: str = "bash", cwd: Path | None = None,
        timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """What the shell's completion function gets for ``line`` (the cursor at its end)."""
    words = line.split(" ")
    env = {**os.environ, "PYTHONPATH": str(SRC), "_JOBWAITER_COMPLETE": f"{shell}_complete",
           "COMP_WORDS": line}
    # bash and zsh pass the cursor's word index; fish the word being completed itself.
    env["COMP_CWORD"] = words[-1] if shell == "fish" else str(len(words) - 1)
    return subprocess.run([sys.executable, "-m", "jobwaiter.cli.main"], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def offered(line: str, cwd: Path | None = None) -> list[str]:
    proc = ask(line, cwd=cwd)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return [row.partition(",")[2] for row in proc.stdout.splitlines() if row]


def test_commands_and_the_group_options() -> None:
    assert offered("jobwaiter ") == list(COMMANDS)
    assert offered("jobwaiter at") == ["attach"]
    assert offered("jobwaiter sta") == ["start", "status"]
    assert set(offered("jobwaiter --")) >= {"--help", "--version"}


def test_options_of_commands() -> None:
    assert offered("jobwaiter exec c.yaml cmd --job") == ["--job-waiter", "--job-log",
                                                          "--job-timeout"]
    assert set(offered("jobwaiter status c.yaml --")) == {"--json", "--cluster-name", "--help"}
    assert set(offered("jobwaiter attach c.yaml --")) == {"--cluster-name", "--node-ip",
                                                         "--help"}


def test_waiter_names_and_the_runtimes_only_with_a_config(env) -> None:  # type: ignore[no-untyped-def]
    env.write_config(SPARK_YAML, "spark.yaml")
    assert offered("jobwaiter exec x.yaml cmd --job-waiter ", env.home) == ["chain", "screen",
                                                                           "tmux"]
    assert offered("jobwaiter exec spark.yaml cmd --job-waiter ", env.home) == [
        "chain", "screen", "tmux", "spark"]
    assert offered("jobwaiter submit --tmux --job-waiter ", env.home) == ["chain", "screen",
                                                                         "tmux"]
    assert offered("jobwaiter exec spark.yaml cmd --job-waiter sp", env.home) == ["spark"]
    assert offered("jobwaiter wait spark.yaml S --job-waiter chain[tmux,sp", env.home) == [
        "chain[tmux,spark"]


@given(st.text(max_size=30))
def test_split_spec_keeps_the_text_and_isolates_the_last_name(text: str) -> None:
    kept, typed = split_spec(text)
    assert kept + typed == text
    assert "[" not in typed and "," not in typed and not typed.startswith(" ")


def test_session_names_of_real_jobs(env, cli) -> None:  # type: ignore[no-untyped-def]
    running = cli("exec", str(env.config), "sleep 60", "--tmux", "--json").json["session"]
    fg = cli("exec", str(env.config), "true", "--json").json["job"]
    for command in ("wait", "logs", "kill"):
        names = offered(f"jobwaiter {command} {env.config} ")
        assert set(names) == {running, fg}, command
    assert offered(f"jobwaiter logs {env.config} {running[:14]}") == [running]
    # attach: only jobs still running in a session.
    assert offered(f"jobwaiter attach {env.config} ") == [running]
    assert offered(f"jobwaiter attach {env.config} -n other ") == [running]
    # zsh and fish show what each job runs.
    zsh = ask(f"jobwaiter kill {env.config} ", "zsh").stdout.splitlines()
    assert zsh[zsh.index(running) + 1] == "tmux, running: sleep 60"
    fish = ask(f"jobwaiter kill {env.config} jobwaiter-", "fish").stdout.splitlines()
    assert f"plain,{fg}\tforeground, ended: true" in fish


def test_nothing_without_a_usable_config(env) -> None:  # type: ignore[no-untyped-def]
    # CONFIG: click asks the shell to complete a file name.
    assert ask("jobwaiter kill ", cwd=env.home).stdout.splitlines() == ["file,"]
    assert offered("jobwaiter kill missing.yaml ", env.home) == []
    (env.home / "bad.yaml").write_text("[not a mapping\n")
    assert offered("jobwaiter kill bad.yaml ", env.home) == []


def test_an_unreachable_head_offers_nothing_fast(env) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env.write_config(f"cluster_name: lab\nprovider: {{type: ssh, head_ip: '127.0.0.1:{port}'}}\n"
                     "auth: {connect_timeout: 30}\n", "ssh.yaml")
    t0 = time.monotonic()
    assert offered("jobwaiter kill ssh.yaml ", env.home) == []
    assert time.monotonic() - t0 < 8
    # A head that accepts the connection and then says nothing: bounded all the same.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        env.write_config(f"cluster_name: lab\nprovider: {{type: ssh, head_ip: "
                         f"'127.0.0.1:{silent.getsockname()[1]}'}}\n"
                         "auth: {connect_timeout: 30}\n", "silent.yaml")
        t0 = time.monotonic()
        assert offered("jobwaiter kill silent.yaml ", env.home) == []
        assert time.monotonic() - t0 < 8


def test_completing_imports_nothing_heavy_on_a_local_cluster(env, cli) -> None:  # type: ignore[no-untyped-def]
    env.write_config(SPARK_YAML, "spark.yaml")
    cli("exec", str(env.config), "sleep 60", "--tmux")
    probe = ("import atexit, sys\n"
             f"atexit.register(lambda: print('heavy', [m for m in {HEAVY!r} "
             "if m in sys.modules], file=sys.stderr))\n"
             "from jobwaiter.cli.main import main\nmain()\n")
    for line in ("jobwaiter ", "jobwaiter exec spark.yaml cmd --job-waiter ",
                 f"jobwaiter kill {env.config} ", "jobwaiter submit --"):
        words = line.split(" ")
        env_vars = {**os.environ, "PYTHONPATH": str(SRC), "_JOBWAITER_COMPLETE": "bash_complete",
                    "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
        proc = subprocess.run([sys.executable, "-c", probe], env=env_vars, cwd=env.home,
                              capture_output=True, text=True, timeout=30)
        assert proc.stdout, line
        assert proc.stderr.strip() == "heavy []", (line, proc.stderr)


def readme_lines() -> dict[str, str]:
    """The rc-file lines of the README's "Shell completion" section, by shell."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Shell completion", 1)[1].split("\n## ", 1)[0]
    return {shell: line.strip() for shell, line in
            re.findall(r"^# (bash|zsh|fish)\b.*\n(.+)$", section, re.M)}


def test_the_readme_line_for_bash_completes_in_a_real_bash(env, cli) -> None:  # type: ignore[no-untyped-def]
    lines = readme_lines()
    assert set(lines) == {"bash", "zsh", "fish"}
    for shell, line in lines.items():
        assert f"_JOBWAITER_COMPLETE={shell}_source jobwaiter" in line
    running = cli("exec", str(env.config), "sleep 60", "--tmux", "--json").json["session"]
    bindir = env.home / "bin"
    bindir.mkdir()
    (bindir / "jobwaiter").write_text(
        f"#!/bin/sh\nexec {sys.executable} -m jobwaiter.cli.main \"$@\"\n")
    (bindir / "jobwaiter").chmod(0o755)
    # What bash does on Tab: the function named by `complete -F`, with the command's name.
    script = (f"{lines['bash']}\n"
              "complete -p jobwaiter\n"
              f"COMP_WORDS=(jobwaiter attach {env.config} ''); COMP_CWORD=3; COMPREPLY=()\n"
              "_jobwaiter_completion jobwaiter; printf 'got %s\\n' \"${COMPREPLY[@]}\"\n"
              "COMP_WORDS=(jobwaiter sta); COMP_CWORD=1; COMPREPLY=()\n"
              "_jobwaiter_completion jobwaiter; printf 'got %s\\n' \"${COMPREPLY[@]}\"\n")
    env_vars = {**os.environ, "PYTHONPATH": str(SRC),
                "PATH": f"{bindir}:{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "--norc", "-c", script], env=env_vars, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "_jobwaiter_completion jobwaiter" in proc.stdout
    got = [line[4:] for line in proc.stdout.splitlines() if line.startswith("got ")]
    assert got == [running, "start", "status"]
    for shell, marker in (("zsh", "#compdef jobwaiter"), ("fish", "complete --no-files")):
        source = subprocess.run([bindir / "jobwaiter"], env={
            **env_vars, "_JOBWAITER_COMPLETE": f"{shell}_source"}, capture_output=True,
            text=True, timeout=30)
        assert marker in source.stdout, shell
