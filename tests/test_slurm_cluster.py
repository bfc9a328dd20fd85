"""The Slurm runtime against a real single-node Slurm (Debian's slurm-wlm) on loopback.

One private cluster for the whole module: munged, slurmctld and slurmd as this user, on
random ports of 127.0.0.1, with every file and socket under a temp dir, stopped by pid at
the end. ``MinJobAge=2``: ended jobs leave the queue within seconds, so the waiter must
remember what it saw, and read the job completion log (``jobcomp/filetxt``) for the rest.

Not tested here, for time: a real TIMEOUT (a job's ``--time`` has a one-minute granularity
and the controller checks limits every 30 s: about 90 s); the TIMEOUT verdict is tested on
``squeue --json`` samples in test_slurm_status.py.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobwaiter.cluster.cluster import Cluster
from jobwaiter.runtimes.base import BUSY, IDLE
from polling import wait_for

# `make test` installs slurm-wlm. Elsewhere the module is skipped, but never in CI, where a
# skip would hide that the real-engine tests did not run.
if not os.environ.get("CI"):
    for tool in ("slurmctld", "slurmd", "munged", "sbatch"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            pytest.skip(f"the Slurm tests need {tool} (apt-get install slurm-wlm)",
                        allow_module_level=True)
    if os.geteuid() != 0:
        pytest.skip("the Slurm tests run slurmd as root", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

SLURM_CONF = """\
ClusterName=jwtest
# The controller refuses a host that is not this machine's short name.
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctl_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={d}/munge/munge.sock
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={d}/jobcomp.txt
MinJobAge=2
KillWait=1
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
SwitchType=switch/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Slurm:
    dir: Path
    conf: Path
    procs: dict[str, subprocess.Popen[bytes]]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *argv: str) -> str:
        out = subprocess.run(list(argv), env=self.env, capture_output=True, text=True,
                             timeout=30, check=True)
        return out.stdout

    def sbatch(self, *args: str) -> str:
        return self.run("sbatch", "--parsable", "-o", "/dev/null", *args).strip()

    def idle(self) -> bool:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], env=self.env, capture_output=True,
                             text=True, timeout=10, check=False)
        return out.stdout.strip() == "idle"

    def start_ctld(self, clean: bool) -> None:
        argv = [_sbin("slurmctld"), "-D", "-f", str(self.conf)] + (["-c"] if clean else [])
        self.procs["slurmctld"] = _spawn(argv, self.dir / "slurmctld.out", self.env)

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _sbin(tool: str) -> str:
    return shutil.which(tool) or f"/usr/sbin/{tool}"


def _spawn(argv: list[str], out: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with out.open("ab") as f:
        return subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)


@pytest.fixture(scope="module")
def slurm() -> Iterator[Slurm]:
    d = Path(tempfile.mkdtemp(prefix="jwslurm", dir="/tmp"))
    d.chmod(0o755)  # munged needs every directory above its socket searchable by all
    for sub in ("munge", "state", "spool", "log"):
        (d / sub).mkdir()
    # munged refuses a socket directory that others cannot search.
    (d / "munge").chmod(0o755)
    key = d / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    conf = d / "slurm.conf"
    conf.write_text(SLURM_CONF.format(host=socket.gethostname().split(".")[0], d=d,
                                      ctl_port=free_port(), d_port=free_port()))
    cluster = Slurm(d, conf, {})
    try:
        cluster.procs["munged"] = _spawn(
            [_sbin("munged"), "-F", f"--key-file={key}", f"--socket={d}/munge/munge.sock",
             f"--pid-file={d}/munge/munged.pid", f"--seed-file={d}/munge/seed",
             f"--log-file={d}/log/munged.log"], d / "munged.out", cluster.env)
        wait_for(lambda: (d / "munge" / "munge.sock").exists(), 10)
        cluster.start_ctld(clean=True)
        cluster.procs["slurmd"] = _spawn(
            [_sbin("slurmd"), "-D", "-N", "localhost", "-f", str(conf)], d / "slurmd.out",
            cluster.env)
        wait_for(cluster.idle, 30)
        yield cluster
    finally:
        for name in ("slurmd", "slurmctld", "munged"):
            cluster.stop(name)
        if not os.environ.get("JW_KEEP"):
            shutil.rmtree(d, ignore_errors=True)


def config(env, slurm: Slurm, extra: str = "") -> Path:  # type: ignore[no-untyped-def]
    return env.write_config(f"""\
cluster_name: slurm-test
provider: {{type: local}}
runtime:
  types: [slurm]
  slurm:
    slurm_conf: {slurm.conf}
    settle_seconds: 2
{extra}""")


def job(*lines: str) -> str:
    return "; ".join(lines)


def sbatch_cmd(wrap: str, *opts: str) -> str:
    return shlex.join(["sbatch", "--parsable", "-o", "/dev/null", *opts, "--wrap", wrap])


def test_start_checks_the_controller_and_waiters_lists_slurm(env, slurm: Slurm, cli) -> None:  # type: ignore[no-untyped-def]
    cfg = config(env, slurm)
    r = cli("start", str(cfg))
    assert r.code == 0, r.err
    assert "is UP" in r.out + r.err
    r = cli("waiters", str(cfg))
    assert r.code == 0 and "slurm" in r.out


def test_chain_returns_after_both_batch_jobs_completed(env, slurm: Slurm, cli) -> None:  # type: ignore[no-untyped-def]
    marks = [env.home / "a.done", env.home / "b.done"]
    cmd = job(sbatch_cmd(f"sleep 3; touch {marks[0]}", "-J", "first"),
              sbatch_cmd(f"sleep 5; touch {marks[1]}", "-J", "second"))
    r = cli("exec", str(config(env, slurm)), cmd, "--tmux", "--job-waiter",
            "chain[tmux, slurm]", "--env", f"SLURM_CONF={slurm.conf}", "--json")
    assert r.code == 0, r.err
    assert all(m.exists() for m in marks), "jobwaiter returned before the batch jobs ended"
    tmux, waiter = r.json["waiters"]
    assert tmux["outcome"] == "succeeded" and waiter["outcome"] == "succeeded"
    assert "2 Slurm jobs completed" in waiter["detail"]
    assert "(first) COMPLETED, exit code 0" in waiter["detail"]
    assert "(second) COMPLETED, exit code 0" in waiter["detail"]
    assert "Slurm job in progress" in r.err or "Slurm jobs in progress" in r.err


def test_exit_3_fails_the_wait_with_the_id_and_code(env, slurm: Slurm, cli) -> None:  # type: ignore[no-untyped-def]
    cmd = job(sbatch_cmd("sleep 1; exit 3", "-J", "three") + " > three.id")
    r = cli("exec", str(config(env, slurm)), cmd, "--tmux", "--job-waiter",
            "chain[tmux, slurm]", "--env", f"SLURM_CONF={slurm.conf}", "--json")
    assert r.code == 126, r.err
    jid = (env.home / "three.id").read_text().strip()
    waiter = r.json["waiters"][1]
    assert waiter["outcome"] == "failed"
    assert f"{jid} (three) FAILED, exit code 3" in waiter["detail"]


def test_scancel_fails_the_wait_as_cancelled(env, slurm: Slurm, cli) -> None:  # type: ignore[no-untyped-def]
    cmd = sbatch_cmd("sleep 60", "-J", "victim") + " > victim.id"
    idfile = env.home / "victim.id"

    def cancel() -> None:
        wait_for(lambda: idfile.exists() and idfile.read_text().strip(), 20)
        time.sleep(1.5)
        slurm.run("scancel", idfile.read_text().strip())

    t = threading.Thread(target=cancel)
    t.start()
    r = cli("exec", str(config(env, slurm)), cmd, "--tmux", "--job-waiter",
            "chain[tmux, slurm]", "--env", f"SLURM_CONF={slurm.conf}", "--json")
    t.join()
    assert r.code == 126, r.err
    jid = idfile.read_text().strip()
    assert f"{jid} (victim) CANCELLED" in r.json["waiters"][1]["detail"]


def test_a_job_purged_before_the_first_look_is_read_from_the_log(env, slurm: Slurm, cli) -> None:  # type: ignore[no-untyped-def]
    # The batch job ends at once; the tmux job outlives it by more than MinJobAge plus the
    # controller's purge pass, so the waiter's first look finds the queue without it.
    cmd = job(sbatch_cmd("exit 4", "-J", "early") + " > early.id",
              "until ! squeue -h --states=all -j $(cat early.id) 2>/dev/null | grep -q .; "
              "do sleep 0.5; done")
    r = cli("exec", str(config(env, slurm)), cmd, "--tmux", "--job-waiter",
            "chain[tmux, slurm]", "--env", f"SLURM_CONF={slurm.conf}", "--json")
    jid = (env.home / "early.id").read_text().strip()
    assert r.code == 126, r.err
    assert f"{jid} (early) FAILED, exit code 4" in r.json["waiters"][1]["detail"]

    # The same without the history: never success, but unknown.
    r = cli("exec", str(config(env, slurm, "    history: false\n")), cmd, "--tmux",
            "--job-waiter", "chain[tmux, slurm]", "--env", f"SLURM_CONF={slurm.conf}",
            "--json")
    assert r.code == 126, r.err
    detail = r.json["waiters"][1]["detail"]
    assert "outcome unknown" in detail, detail


def test_scope_default_ignores_an_earlier_job_all_waits_for_it(env, slurm: Slurm, cli) -> None:  # type: ignore[no-untyped-def]
    other = slurm.sbatch("-J", "unrelated", "--wrap", "sleep 12")
    time.sleep(2.5)  # past the clock slack: submitted before the job, not with it
    t0 = time.monotonic()
    r = cli("exec", str(config(env, slurm)), "true", "--tmux", "--job-waiter", "slurm",
            "--json")
    assert r.code == 0, r.err
    assert time.monotonic() - t0 < 8, "the default scope waited for an earlier job"
    assert r.json["waiters"][1]["detail"] == "no Slurm job in scope"
    r = cli("exec", str(config(env, slurm)), "true", "--tmux", "--job-waiter", "slurm[all]",
            "--json")
    assert r.code == 0, r.err
    assert f"{other} (unrelated) COMPLETED, exit code 0" in r.json["waiters"][1]["detail"]


def test_a_background_sbatch_that_registers_late_is_waited_for(env, slurm: Slurm, cli) -> None:  # type: ignore[no-untyped-def]
    # The job exits at once; its sbatch reaches the controller a second later. The settle
    # window (2 s here) keeps the waiter looking until it has.
    mark = env.home / "bg.done"
    inner = "sleep 1; " + sbatch_cmd(f"sleep 3; touch {mark}", "-J", "bg")
    cmd = f"nohup bash -c {shlex.quote(inner)} > /dev/null 2>&1 &"
    r = cli("exec", str(config(env, slurm)), cmd, "--tmux", "--job-waiter", "slurm", "--env",
            f"SLURM_CONF={slurm.conf}", "--json")
    assert r.code == 0, r.err
    assert mark.exists(), f"the wait ended before the background batch job: {r.json}"
    assert "(bg) COMPLETED, exit code 0" in r.json["waiters"][-1]["detail"]


def test_controller_down_for_a_while_is_never_success(env, slurm: Slurm, cli) -> None:  # type: ignore[no-untyped-def]
    mark = env.home / "late.done"
    cmd = sbatch_cmd(f"sleep 8; touch {mark}", "-J", "late")

    back: list[float] = []

    def outage() -> None:
        time.sleep(2)
        slurm.stop("slurmctld")
        time.sleep(4)
        slurm.start_ctld(clean=False)
        back.append(time.monotonic())

    t = threading.Thread(target=outage)
    t.start()
    r = cli("exec", str(config(env, slurm)), cmd, "--tmux", "--job-waiter",
            "chain[tmux, slurm]", "--env", f"SLURM_CONF={slurm.conf}", "--json")
    t.join()
    wait_for(slurm.idle, 30)
    assert r.code == 0, r.err
    assert mark.exists(), "the wait ended before the batch job did"
    assert back and back[0] < time.monotonic(), "the controller was not down during the wait"
    assert "(late) COMPLETED, exit code 0" in r.json["waiters"][1]["detail"]


def test_submit_runtime_slurm_passes_args_verbatim_and_waits_for_it(env, slurm: Slurm, cli) -> None:  # type: ignore[no-untyped-def]
    out = env.home / "args.out"
    script = env.home / "batch.sh"
    script.write_text(f"#!/bin/bash\n#SBATCH -J argsjob\n#SBATCH -o /dev/null\n"
                      f"sleep 2; printf '%s\\n' \"$@\" > {out}; exit \"$1\"\n")
    cfg = config(env, slurm)
    r = cli("submit", "--runtime", "slurm", "--job-waiter", "slurm", "--env",
            f"SLURM_CONF={slurm.conf}", "--json", str(cfg), str(script), "0", "a b", "$HOME")
    assert r.code == 0, r.err
    assert out.read_text().splitlines() == ["0", "a b", "$HOME"]
    (record,) = [p for p in env.jobs.iterdir() if (p / "slurm-jobs").exists()]
    jid = (record / "slurm-jobs").read_text().strip()
    assert f"1 Slurm job completed: {jid} (argsjob) COMPLETED" in r.json["waiters"][0]["detail"]

    r = cli("submit", "--runtime", "slurm", "--job-waiter", "slurm", "--env",
            f"SLURM_CONF={slurm.conf}", "--json", str(cfg), str(script), "5")
    assert r.code == 126, r.err
    assert "(argsjob) FAILED, exit code 5" in r.json["waiters"][0]["detail"]

    # Without a waiter, sbatch's quick return is "started", never "succeeded".
    r = cli("submit", "--runtime", "slurm", "--env", f"SLURM_CONF={slurm.conf}", "--json",
            str(cfg), str(script), "0")
    assert r.code == 0, r.err
    assert r.json["outcome"] == "started"

    # A session waiter asked for implies the slurm waiter after it: a tmux job whose sbatch
    # returned at once is done only when the Slurm job is.
    r = cli("submit", "--runtime", "slurm", "--tmux", "--job-waiter", "tmux", "--env",
            f"SLURM_CONF={slurm.conf}", "--json", str(cfg), str(script), "4")
    assert r.code == 126, r.err
    assert [w["name"] for w in r.json["waiters"]] == ["tmux", "slurm"]
    assert "(argsjob) FAILED, exit code 4" in r.json["waiters"][1]["detail"]


def test_submit_waits_for_its_own_job_not_an_unrelated_failing_one(env, slurm: Slurm, cli) -> None:  # type: ignore[no-untyped-def]
    script = env.home / "ok.sh"
    script.write_text("#!/bin/bash\n#SBATCH -J okjob\n#SBATCH -o /dev/null\nsleep 2\n")
    cfg = config(env, slurm)
    # Same user, while the submission runs, in its time scope: not its job.
    ids: list[str] = []

    def unrelated() -> None:
        time.sleep(1)
        ids.append(slurm.sbatch("-J", "unrelated-fail", "--wrap", "sleep 1; exit 7"))

    t = threading.Thread(target=unrelated)
    t.start()
    r = cli("submit", "--runtime", "slurm", "--job-waiter", "slurm", "--env",
            f"SLURM_CONF={slurm.conf}", "--json", str(cfg), str(script))
    t.join()
    (other,) = ids
    assert r.code == 0, r.err
    detail = r.json["waiters"][-1]["detail"]
    assert detail.startswith("1 Slurm job completed: ") and "(okjob) COMPLETED" in detail
    assert other not in detail
    # The unrelated job did fail (else this test could not tell the scopes apart).

    def ended() -> str:
        return subprocess.run(["sacct", "-c", "-n", "-P", "-X", "-j", other,
                               "--format=State,ExitCode"], env=slurm.env, capture_output=True,
                              text=True, timeout=30, check=False).stdout.strip()

    wait_for(lambda: ended() != "", 30)
    assert ended().startswith("FAILED|7:"), ended()


def test_activity_is_busy_while_a_batch_job_runs_or_waits_and_idle_after(env, slurm: Slurm) -> None:  # type: ignore[no-untyped-def]
    with Cluster(config(env, slurm)) as cluster:
        (runtime,) = cluster.runtimes
        head = cluster.node()

        def idle() -> bool:
            time.sleep(0.3)
            return runtime.activity(head).state == IDLE

        wait_for(idle, 30)  # whatever earlier tests submitted has ended
        # Both CPUs for the first job: the second waits for it, PENDING.
        first = slurm.sbatch("-J", "busy-a", "-c", "2", "--wrap", "sleep 6")
        second = slurm.sbatch("-J", "busy-b", "-c", "2", "--wrap", "sleep 1")
        submitted = time.monotonic()
        got = runtime.activity(head)
        assert got.state == BUSY, got
        assert got.detail.startswith("2 Slurm jobs in progress: "), got.detail
        assert f"{first} (busy-a) " in got.detail and f"{second} (busy-b) PENDING" in got.detail
        wait_for(idle, 60)
        # Idle only once both ended: not before the first one's 6 s were over.
        assert time.monotonic() - submitted > 5, "idle while a job still ran"
        queued = slurm.run("squeue", "-h", "-o", "%i").split()
        assert first not in queued and second not in queued
