"""Every example of README.md, run as written on the local provider with real tmux and screen.

The examples are read from the README itself: each ```python block, and each command of the
```console blocks (a line starting with ``$ ``, with its ``\\`` continuation lines; the lines
after it are what it prints) and of the ```sh blocks (every line that is not a comment).
Nothing chooses them here, so an example added to the README is run by default; one that
cannot run on this machine is listed in SKIP with the reason. Any other kind of block fails
``test_every_block_is_an_example_or_said_not_to_be`` until it is sorted in.

Each example runs in a world as a user would have it: a private HOME (the ``env`` fixture),
a project directory holding the README's ``cluster.yaml`` (its "Cluster config" block, the
local provider) and the files the examples name (``train.py``, ``etl.sh``), ``jobwaiter`` on
PATH, and the current directory the project. Shell commands run with bash, Python blocks with
the Python jobwaiter is installed in, both without a terminal. A block's commands run in
order (a console block is a transcript), earlier ones first, unless the block is a list of
alternatives (EACH_ON_ITS_OWN). What a block presumes was done before it (a job started
earlier, jobs that failed or were killed) is made by WORLDS, with jobwaiter itself.

Every example must exit 0 (EXIT_CODES lists the ones that show a failure), print what the
README shows after it (session names, times and durations compared as such, columns as
cells), and every job it started must end within a minute and not fail: succeeded, or killed
(an example that starts a long job ends it with a kill). CHECKS adds what an example is for
where the exit code does not show it. ``make demo``, which the README's set-up runs, is run
by ``test_make_demo_does_what_the_readme_says`` on a venv of this checkout.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import jobwaiter
from jobwaiter import Cluster
from jobwaiter.outcome import Outcome
from jobwaiter.records import JobRecord
from polling import wait_for

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SRC = Path(jobwaiter.__file__).resolve().parents[1]

# -- reading the README ----------------------------------------------------------------------

#: Blocks that are run; any other language must be in NOT_EXAMPLES.
RUN_LANGUAGES = ("python", "console", "sh")
NOT_EXAMPLES = {
    "yaml": "the cluster config: written as the examples' cluster.yaml",
    "text": "a grammar and an error message; the message is checked in test_config_errors.py",
}


@dataclass(frozen=True)
class Block:
    lang: str
    line: int  # of the opening fence
    body: str
    heading: str


@dataclass(frozen=True)
class Example:
    block: Block
    line: int
    text: str  # the command as typed (continuation lines kept), or the Python code
    output: tuple[str, ...] = ()  # what the README shows it prints (console blocks)

    @property
    def key(self) -> str:
        """What the tables below name an example by (a prefix of it): the command itself,
        or ``python: `` and the first line of a Python block that is not an import."""
        if self.block.lang != "python":
            return self.text
        lines = [ln for ln in self.text.splitlines()
                 if ln.strip() and not re.match(r"(import|from) \w", ln)]
        return "python: " + lines[0].strip()

    @property
    def id(self) -> str:
        first = self.key.splitlines()[0]
        return f"L{self.line}:{first[:60]}"


def read_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    body: list[str] = []
    heading, lang, start = "", None, 0
    for no, line in enumerate(text.splitlines(), 1):
        if lang is None:
            fence = re.match(r"```(\S*)\s*$", line)
            if fence:
                lang, start, body = fence[1], no, []
            elif line.startswith("#"):
                heading = line.lstrip("#").strip()
        elif line.startswith("```"):
            blocks.append(Block(lang, start, "\n".join(body), heading))
            lang = None
        else:
            body.append(line)
    assert lang is None, f"README.md: the block opened on line {start} is not closed"
    return blocks


def commands(block: Block) -> list[Example]:
    """The commands of a console block (``$ `` lines, and the output after each) or of a sh
    block (every line that is not a comment), each with its continuation lines."""
    found: list[Example] = []
    lines = block.body.splitlines()
    i = 0
    while i < len(lines):
        no, line = block.line + 1 + i, lines[i]
        i += 1
        if block.lang == "console":
            if not line.startswith("$ "):
                assert found, f"README.md:{no}: output before any command"
                last = found[-1]
                found[-1] = Example(block, last.line, last.text, (*last.output, line))
                continue
            line = line[2:]
        elif not line.strip() or line.lstrip().startswith("#"):
            continue
        text = line
        while text.endswith("\\") and i < len(lines):
            text += "\n" + lines[i]
            i += 1
        found.append(Example(block, no, text))
    return found


def read_examples() -> list[Example]:
    examples: list[Example] = []
    for block in read_blocks(README.read_text()):
        if block.lang == "python":
            examples.append(Example(block, block.line + 1, block.body))
        elif block.lang in RUN_LANGUAGES:
            examples.extend(commands(block))
    return examples


EXAMPLES = read_examples()

# -- what cannot run here, and what needs more than the default ----------------------------

#: Examples (a prefix of their key) that are not run here, each with the reason.
SKIP: dict[str, str] = {
    'jobwaiter exec cluster.yaml "spark-submit --master yarn':
        "needs Spark on YARN (a ResourceManager, spark-submit, the spark runtime in the "
        "config); it runs against a real YARN in test_yarn_cluster.py, CloudTik's form of it "
        "in test_cloudtik_examples.py",
    "make demo":
        "installs system packages and a venv; test_make_demo_does_what_the_readme_says runs "
        "it on a venv of this checkout",
    "make test": "runs the whole suite, this module included",
    'eval "$(_JOBWAITER_COMPLETE=zsh_source jobwaiter)"':
        "a line for ~/.zshrc: zsh is not part of the test machine (test_completion.py checks "
        "the script it sources)",
    "_JOBWAITER_COMPLETE=fish_source jobwaiter | source":
        "a line for fish's completions: fish is not part of the test machine "
        "(test_completion.py checks the script it sources)",
    ".venv/bin/python bench/detect_latency.py":
        "a benchmark (10 jobs of 10 s beside a polling baseline, in a PID namespace): "
        "make bench runs it",
}

#: Examples that show a failure: the exit code they must end with.
EXIT_CODES: dict[str, int] = {}

#: Blocks (a prefix of their first example's key) whose commands are alternatives, each run
#: on its own in the block's world rather than after the ones above it.
EACH_ON_ITS_OWN: dict[str, str] = {
    "jobwaiter submit cluster.yaml train.py --tmux --job-log --name train":
        "the forms of JOB, each naming the job started earlier",
}

TRAIN_PY = """\
import argparse
import time

parser = argparse.ArgumentParser(description="train the model")
parser.add_argument("--epochs", type=int, default=10)
args = parser.parse_args()
for epoch in range(1, args.epochs + 1):
    time.sleep(2)
    print(f"epoch {epoch}/{args.epochs} - loss {1 / (epoch + 1):.3f}", flush=True)
"""


def train_lines(epochs: int) -> list[str]:
    return [f"epoch {e}/{epochs} - loss {1 / (e + 1):.3f}" for e in range(1, epochs + 1)]


ETL_SH = """\
#!/bin/bash
# Load today's export into the warehouse.
set -euo pipefail
input=~/data/export.csv
[ -s "$input" ] || { echo "etl: no input in $input" >&2; exit 3; }
wc -l < "$input"
"""

# Stands in for a queue's own command-line client, which the README's waiter asks: "enqueue
# NAME" queues one item of work, and each "pending" answers how many items wait while the
# queue's workers take one of them. Every call is noted in ~/my-queue.log.
MY_QUEUE_CLI = """\
#!/bin/bash
depth=~/.my-queue-depth
case "$1" in
  enqueue) echo 1 > "$depth"; echo "$(date +%s.%N) enqueue $2" >> ~/my-queue.log ;;
  pending)
    n=$(cat "$depth" 2>/dev/null || echo 0)
    echo "$n"
    if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$depth"; fi
    echo "$(date +%s.%N) pending $n" >> ~/my-queue.log ;;
  *) echo "usage: my-queue-cli enqueue NAME | pending" >&2; exit 2 ;;
esac
"""


@dataclass
class World:
    """The user's machine: HOME, the project directory, PATH; and the jobs that were there
    before the example (made by WORLDS), which the example's own checks leave out."""

    home: Path
    project: Path
    config: Path
    bin: Path
    before: set[str] = field(default_factory=set)
    earlier: str | None = None  # the job started earlier, when the world has one

    def cluster(self) -> Cluster:
        return Cluster(self.config)

    def records(self) -> dict[str, JobRecord]:
        with self.cluster() as cluster:
            return {r.name: r for r in cluster.jobs(include_old=True)}

    def record(self, name: str) -> JobRecord:
        return self.records()[name]


def readme_config() -> str:
    """The README's cluster config: the yaml block of its "Cluster config" section."""
    (config,) = [b.body for b in read_blocks(README.read_text())
                 if b.lang == "yaml" and b.heading == "Cluster config"]
    return config + "\n"


@pytest.fixture
def world(env, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:  # type: ignore[no-untyped-def]
    project = env.home / "project"
    project.mkdir()
    config = project / "cluster.yaml"
    config.write_text(readme_config())
    (project / "train.py").write_text(TRAIN_PY)
    (project / "etl.sh").write_text(ETL_SH)
    (project / "etl.sh").chmod(0o755)
    bin_dir = env.home / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "jobwaiter"
    shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m jobwaiter.cli.main "
                    '"$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]))
    # The examples' own terminal settings would change what they print.
    for name in ("COLUMNS", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(project)
    yield World(env.home, project, config, bin_dir)


# -- what examples presume was done before them ----------------------------------------------

EARLIER = "jobwaiter-3f9c2a1b7d4e"  # the session name the README's examples show


def earlier_train_job(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """``train.py`` started earlier in tmux with a log, labelled ``train``; its session
    name, random in life, is the one the README shows (``3f9c`` names it)."""
    with monkeypatch.context() as m, world.cluster() as cluster:
        m.setattr("jobwaiter.jobs.plan.new_name", lambda: EARLIER)
        result = cluster.submit("train.py", ["--epochs", "3"], tmux=True, job_log=True,
                                label="train")
    assert (result.outcome, result.session) == (Outcome.STARTED, EARLIER), result
    world.earlier = EARLIER


def failed_and_killed_jobs(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """``etl.sh`` failed (no input: exit 3), then a training job killed by ``jobwaiter
    kill``."""
    with world.cluster() as cluster:
        etl = cluster.submit("etl.sh", tmux=True, job_log=True)
        assert cluster.wait(str(etl.session)).exit_status == 3
        train = cluster.submit("train.py", ["--epochs", "3"], tmux=True, job_log=True)
        assert cluster.kill(str(train.session)).was_running


def queue_waiter(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's waiter saved as it says (``queue_waiter.py`` beside ``cluster.yaml``),
    and the queue's client on PATH."""
    (code,) = [e.text for e in EXAMPLES if e.key.startswith("python: class QueueDrained")]
    (world.project / "queue_waiter.py").write_text(code + "\n")
    cli = world.bin / "my-queue-cli"
    cli.write_text(MY_QUEUE_CLI)
    cli.chmod(0o755)


#: Blocks (a prefix of their first example's key) and what is done before each of their
#: examples runs.
WORLDS: dict[str, Callable[[World, pytest.MonkeyPatch], None]] = {
    "jobwaiter submit cluster.yaml train.py --tmux --job-log --name train": earlier_train_job,
    "jobwaiter jobs cluster.yaml --state failed,killed": failed_and_killed_jobs,
    "jobwaiter exec cluster.yaml 'my-queue-cli enqueue": queue_waiter,
}

#: Python blocks that are a module, not a script: the file name it is saved as, then
#: imported (the console example after it runs it).
MODULES: dict[str, str] = {
    "python: class QueueDrained": "queue_waiter.py",
}

# -- running an example ----------------------------------------------------------------------

COMMAND_TIMEOUT = 100


@dataclass(frozen=True)
class Ran:
    code: int
    out: str  # stdout and stderr as a terminal shows them, interleaved


#: Shell lines that only set something up in the shell: what is run after them, in the same
#: shell, to see that it did.
PROBES: dict[str, str] = {
    'eval "$(_JOBWAITER_COMPLETE=bash_source jobwaiter)"': "complete -p jobwaiter",
}


def run(example: Example, world: World) -> Ran:
    if example.block.lang == "python":
        module = listed(MODULES, example)
        path = world.project / (module or "readme_example.py")
        path.write_text(example.text + "\n")
        argv = [sys.executable, "-c", f"import {path.stem}"] if module \
            else [sys.executable, path.name]
    else:
        probe = listed(PROBES, example)
        argv = ["bash", "-c", example.text + (f"\n{probe}" if probe else "")]
    # os.environ as the fixtures left it, given explicitly: the process's own environment
    # may hold more (COLUMNS and LINES, set by a terminal library of the test runner).
    proc = subprocess.run(argv, cwd=world.project, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=COMMAND_TIMEOUT, check=False, env=dict(os.environ))
    return Ran(proc.returncode, proc.stdout)


def cells(lines: list[str] | tuple[str, ...]) -> list[list[str]]:
    """Output lines as cells, with what differs from run to run made alike: session names
    (each its own placeholder, so one that appears twice must be the same twice), times and
    durations. Columns are separated by two or more spaces."""
    names: dict[str, str] = {}

    def name(m: re.Match[str]) -> str:
        return names.setdefault(m[0], f"<session {len(names) + 1}>")

    table = []
    for line in lines:
        line = re.sub(r"jobwaiter-[0-9a-f]{12}", name, line)
        line = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "<time>", line)
        row = re.split(r" {2,}", line.strip())
        table.append(["<duration>" if re.fullmatch(r"\d+s|\d+m\d\ds|\d+h\d\dm", c) else c
                      for c in row])
    return table


def check_ran(example: Example, ran: Ran) -> None:
    where = f"README.md:{example.line}: {example.text}\n--- it printed:\n{ran.out}"
    assert ran.code == listed(EXIT_CODES, example, 0), where
    if example.output:
        assert cells(ran.out.splitlines()) == cells(example.output), where


def check_jobs_ended_well(world: World) -> None:
    """Every job the example started ends within a minute, succeeded or killed."""

    def new() -> dict[str, JobRecord]:
        return {k: r for k, r in world.records().items() if k not in world.before}

    wait_for(lambda: all(r.outcome not in (Outcome.RUNNING, Outcome.STARTED)
                         for r in new().values()), timeout=60)
    for name, record in new().items():
        log = world.home / "user" / "logs" / f"{name}.log"
        assert record.outcome in (Outcome.SUCCEEDED, Outcome.KILLED), (
            f"{name} ({record.meta.get('command')}): {record.state}\n"
            + (log.read_text() if log.exists() else "(no log)"))


# -- what an example is for, beyond its exit code --------------------------------------------


def _submitted_train(world: World, ran: Ran) -> None:
    (record,) = world.records().values()
    assert record.meta["command"] == "python3 user/jobs/train.py --epochs 3"
    log = world.home / "user" / "logs" / f"{record.name}.log"
    assert log.read_text().splitlines() == train_lines(3)


def _followed(world: World, ran: Ran) -> None:
    assert ran.out.splitlines() == train_lines(3)
    assert world.record(str(world.earlier)).outcome is Outcome.SUCCEEDED


def _waited(world: World, ran: Ran) -> None:
    assert "result: succeeded (exit status 0)" in ran.out
    assert world.record(str(world.earlier)).outcome is Outcome.SUCCEEDED


def _killed(world: World, ran: Ran) -> None:
    assert world.record(str(world.earlier)).state == "killed (TERM)"


def _labelled(world: World, ran: Ran) -> None:
    (new,) = [r for r in world.records().values() if r.name != world.earlier]
    assert new.label == "train"


def _queue_drained(world: World, ran: Ran) -> None:
    calls = [line.split() for line in (world.home / "my-queue.log").read_text().splitlines()]
    assert [c[1:] for c in calls] == [["enqueue", "nightly-reports"], ["pending", "1"],
                                      ["pending", "0"]]
    assert float(calls[2][0]) - float(calls[1][0]) >= 10, "the waiter slept between polls"


def _api(world: World, ran: Ran) -> None:
    first = ran.out.splitlines()[0]
    assert re.fullmatch(r"succeeded 0 ~/user/logs/jobwaiter-[0-9a-f]{12}\.log", first), first
    by_label = {r.label: r for r in world.records().values()}
    assert by_label["nap"].state == "killed (TERM)"


def _completes(world: World, ran: Ran) -> None:
    assert "_jobwaiter_completion jobwaiter" in ran.out


CHECKS: dict[str, Callable[[World, Ran], None]] = {
    "jobwaiter submit cluster.yaml train.py --tmux --job-waiter=tmux -- --epochs 3":
        _submitted_train,
    "jobwaiter submit cluster.yaml train.py --tmux --job-log --name train": _labelled,
    "jobwaiter logs cluster.yaml train -f": _followed,
    "jobwaiter wait cluster.yaml 3f9c": _waited,
    "jobwaiter kill cluster.yaml @last": _killed,
    "jobwaiter exec cluster.yaml 'my-queue-cli enqueue": _queue_drained,
    "python: with Cluster(": _api,
    'eval "$(_JOBWAITER_COMPLETE=bash_source jobwaiter)"': _completes,
}

#: The tables above, each naming examples (or blocks) by a prefix of their key.
TABLES: dict[str, Mapping[str, object]] = {
    "SKIP": SKIP, "EXIT_CODES": EXIT_CODES, "PROBES": PROBES, "CHECKS": CHECKS,
    "MODULES": MODULES,
}
BLOCK_TABLES: dict[str, Mapping[str, object]] = {
    "EACH_ON_ITS_OWN": EACH_ON_ITS_OWN, "WORLDS": WORLDS,
}


def matches(prefix: str, example: Example) -> bool:
    return example.key.startswith(prefix)


def listed(table, example: Example, default=None):  # type: ignore[no-untyped-def]
    found = [v for k, v in table.items() if matches(k, example)]
    assert len(found) <= 1, f"{example.id} is listed twice"
    return found[0] if found else default


def block_of(example: Example) -> list[Example]:
    return [e for e in EXAMPLES if e.block == example.block]


def block_listed(table, example: Example, default=None):  # type: ignore[no-untyped-def]
    return listed(table, block_of(example)[0], default)


# -- the tests -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_readme_example(example: Example, world: World,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    reason = listed(SKIP, example)
    if reason:
        pytest.skip(reason)
    setup = block_listed(WORLDS, example)
    if setup:
        setup(world, monkeypatch)
    world.before = set(world.records())
    # A console block is a transcript: the commands above this one ran first.
    if block_listed(EACH_ON_ITS_OWN, example) is None:
        for earlier in block_of(example)[:block_of(example).index(example)]:
            if listed(SKIP, earlier) is None:
                check_ran(earlier, run(earlier, world))
    ran = run(example, world)
    check_ran(example, ran)
    check = listed(CHECKS, example)
    if check:
        check(world, ran)
    check_jobs_ended_well(world)


def test_the_readme_is_read_as_intended() -> None:
    """The examples found are the README's (a parser that found nothing would pass)."""
    by_lang: dict[str, int] = {}
    for e in EXAMPLES:
        by_lang[e.block.lang] = by_lang.get(e.block.lang, 0) + 1
    assert by_lang.get("python", 0) >= 2 and by_lang.get("console", 0) >= 6, by_lang
    assert all(e.key.strip() for e in EXAMPLES)
    jobs = [e for e in EXAMPLES if e.key.startswith("jobwaiter jobs cluster.yaml --state")]
    assert [len(e.output) for e in jobs] == [3]
    # Every command of a console block starts with jobwaiter; a continuation line is kept.
    for e in EXAMPLES:
        if e.block.lang == "console":
            assert e.text.startswith("jobwaiter "), e.id
    assert any("\\\n" in e.text for e in EXAMPLES)
    assert readme_config().startswith("cluster_name:")


def test_every_block_is_an_example_or_said_not_to_be() -> None:
    for block in read_blocks(README.read_text()):
        assert block.lang in RUN_LANGUAGES or block.lang in NOT_EXAMPLES, (
            f"README.md:{block.line}: a ```{block.lang} block: run it here, or say in "
            "NOT_EXAMPLES why it is not an example")


def test_every_listed_example_is_in_the_readme() -> None:
    """A table entry names exactly one example (or block): none outlives its example."""
    for name, table in TABLES.items():
        for prefix in table:
            found = [e.id for e in EXAMPLES if matches(prefix, e)]
            assert len(found) == 1, f"{name}: {prefix!r} matches {found}"
    firsts = [block_of(e)[0] for e in EXAMPLES]
    for name, table in BLOCK_TABLES.items():
        for prefix in table:
            blocks = {e.block.line for e in firsts if matches(prefix, e)}
            assert len(blocks) == 1, f"{name}: {prefix!r} names the blocks {blocks}"


def test_the_listing_compares_what_differs_and_nothing_else() -> None:
    shown = ["SESSION                 STATE       DURATION  LOG",
             "jobwaiter-0a3e5509fbe8  failed (3)     1h02m  ~/user/logs/jobwaiter-0a3e5509fbe8.log"]
    same = ["SESSION                 STATE       DURATION  LOG",
            "jobwaiter-77ac8edfd41a  failed (3)        2s  ~/user/logs/jobwaiter-77ac8edfd41a.log"]
    assert cells(shown) == cells(same)
    for other in ("failed (2)", "killed (TERM)"):
        assert cells(shown) != cells([same[0], same[1].replace("failed (3)", other)])
    # The log of another job than the row's is a difference.
    assert cells(shown) != cells([same[0], same[1].replace(
        "logs/jobwaiter-77ac8edfd41a", "logs/jobwaiter-99ac8edfd41a")])


# -- make demo -------------------------------------------------------------------------------


def makefile_variable(name: str) -> list[str]:
    text = (ROOT / "Makefile").read_text()
    (value,) = re.findall(rf"^{name} :?= (.*)$", text, re.M)
    return str(value).split()


@pytest.mark.slow
def test_make_demo_does_what_the_readme_says(env) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    readme = README.read_text()
    said = re.search(r"make demo +# (.*?)\nmake test", readme, re.S)
    assert said, "the README's set-up block"
    said_text = " ".join(w for w in said[1].split() if w != "#")
    for package in ("tmux", "screen", "python3-venv"):
        assert package in said_text
        assert package in makefile_variable("HEAD_PACKAGES") + makefile_variable(
            "VENV_PACKAGES"), package
    assert "examples/local.yaml" in said_text and "tmux waiter" in said_text

    # A venv of this checkout: its jobwaiter is this source tree, and make finds it up to
    # date, so nothing is installed (SUDO=false makes sure: an install would fail).
    venv = env.home.parent / "venv"
    (venv / "bin").mkdir(parents=True)
    shim = venv / "bin" / "jobwaiter"
    shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m jobwaiter.cli.main "
                    '"$@"\n')
    shim.chmod(0o755)
    make = ["make", "--no-print-directory", f"VENV={venv}", "SUDO=false"]
    assert subprocess.run([*make, "-q", str(shim)], cwd=ROOT, check=False).returncode == 0
    proc = subprocess.run(
        [*make, "demo"], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=COMMAND_TIMEOUT, check=False,
        env={**os.environ, "PYTHONPATH": str(SRC)})  # (explicitly: see run())
    if proc.returncode and "installing:" in proc.stdout:
        pytest.skip(f"make demo would install packages here: {proc.stdout.splitlines()[0]}")
    assert proc.returncode == 0, proc.stdout
    # "prints the session name, the attach command, the log path, the outcome, and the
    # job's log"
    (name,) = re.findall(r"started tmux session (jobwaiter-[0-9a-f]{12})", proc.stdout)
    lines = proc.stdout.splitlines()
    assert f"jobwaiter: attach: tmux attach-session -t ={name}" in lines
    assert f"jobwaiter: log: ~/user/logs/{name}.log" in lines
    assert any(line.startswith("jobwaiter: result: succeeded") for line in lines)
    host = subprocess.run(["hostname"], capture_output=True, text=True, check=True).stdout
    log = [f"step {i} on {host.strip()}" for i in (1, 2, 3)]
    assert lines[lines.index("--- the job's log:") + 1:] == log, proc.stdout
