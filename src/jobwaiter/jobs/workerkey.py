"""The head's own key to the workers, set up by jobwaiter when the config gives none
(``head_to_workers``) and the head's watch needs to reach the workers (to see their jobs and
stop them).

- The key pair is made **on the head** (``~/.jobwaiter/keys/<cluster>-auto``, 0600): its
  private half never leaves it.
- Its public half goes into each worker's ``~/.ssh/authorized_keys`` (put there through the
  client's own connection), with ``from="<the head's address as the worker sees it>"``,
  ``restrict`` (no terminal, no forwarding) and a forced command, ``sh/gate.sh``, that runs
  only what the head's jobwaiter sends there: trying the connection, reading the job records,
  and that worker's configured stop — each exactly as sent, its frame's nonce aside (the
  allowed texts are in ``~/.jobwaiter/gate/<cluster>.allow``, rewritten at each setup, so a
  changed config is followed).

What a job on the head can do with the key: what the head's watch does on the workers —
read jobwaiter's records there, and stop the workers as ``jobwaiter stop`` would. To remove
it: the line ending ``jobwaiter head of <cluster>`` in each worker's ``authorized_keys``,
``~/.jobwaiter/gate/<cluster>*`` on the workers, ``~/.jobwaiter/keys/<cluster>-auto*`` on the
head.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from jobwaiter.errors import TransportError, UsageError
from jobwaiter.jobs.nodes import for_each
from jobwaiter.jobs.plan import StopPlan
from jobwaiter.jobs.site import JobSite
from jobwaiter.sessions import dump_argv
from jobwaiter.transport.address import parse_host
from jobwaiter.transport.frame import Frame
from jobwaiter.transport.node import Node

KEYS_DIR = ".jobwaiter/keys"

# On the head: make the key pair once, print its public half.
_MAKE = r"""
umask 077
mkdir -p "$HOME/.jobwaiter/keys" && chmod 700 "$HOME/.jobwaiter" "$HOME/.jobwaiter/keys"
k=$HOME/$1
if [ ! -f "$k" ]; then
  command -v ssh-keygen >/dev/null || { echo "the head has no ssh-keygen" >&2; exit 3; }
  ssh-keygen -q -t ed25519 -N '' -C "$2" -f "$k" </dev/null >/dev/null || exit 3
fi
cat "$k.pub"
"""

# On the head: its source address toward each worker (what the worker sees as from=).
_ROUTE = r"""
for a in "$@"; do
  src=$(ip -o route get "$a" 2>/dev/null | sed -n 's/.* src \([^ ]*\).*/\1/p')
  printf '%s %s\n' "$a" "${src:--}"
done
"""

# On a worker: the gate and its allowed texts (stdin: gate script, NUL, then the pairs),
# and the authorized_keys line for the head's key (any earlier line of that key replaced).
_PUT = r"""
umask 077
cluster=$1 line=$2 blob=$3
g=$HOME/.jobwaiter/gate
mkdir -p "$g" "$HOME/.ssh" && chmod 700 "$HOME/.jobwaiter" "$g" "$HOME/.ssh" || exit 3
IFS= read -r -d '' gate || exit 3
printf '%s' "$gate" > "$g/$cluster.$$" && mv -f "$g/$cluster.$$" "$g/$cluster" || exit 3
cat > "$g/$cluster.allow.$$" && mv -f "$g/$cluster.allow.$$" "$g/$cluster.allow" || exit 3
k=$HOME/.ssh/authorized_keys
touch "$k" && chmod 600 "$k" || exit 3
{ grep -vF -- "$blob" "$k"; printf '%s\n' "$line"; } > "$k.$$" && mv -f "$k.$$" "$k"
"""


def key_path(cluster: str) -> str:
    """Where the key is on the head, relative to its ``$HOME``."""
    return f"{KEYS_DIR}/{cluster}-auto"


def comment(cluster: str) -> str:
    return f"jobwaiter head of {cluster}"


def allowed(argvs: Sequence[Sequence[str]]) -> bytes:
    """The gate's allowed texts for these commands: for each, the remote command ssh sends
    (``transport.ssh.remote_command`` of its frame), split around the frame's nonce."""
    # Imported here: a local cluster (and shell completion) never loads the SSH transport.
    from jobwaiter.transport.ssh import remote_command

    pairs = b""
    for argv in argvs:
        frame = Frame.around(argv)
        text = remote_command(frame.argv)
        before, nonce, after = text.partition(frame.nonce)
        if not nonce or frame.nonce in after:
            raise ValueError("a frame whose nonce is not in its command once")
        pairs += before.encode() + b"\0" + after.encode() + b"\0"
    return pairs


def worker_commands(stop: StopPlan, worker: str) -> list[list[str]]:
    """What the head runs on ``worker``: a connection check, reading the records, and that
    worker's part of the stop."""
    mine = [list(c.argv) for w in stop.workers if w.node == worker for c in w.commands]
    return [["true"], dump_argv(), *mine]


def set_up(site: JobSite, stop: StopPlan, workers: Sequence[Node]) -> str:
    """Make the head's key (once) and let each worker take it for what the head does there;
    returns the key's path on the head. UsageError naming the worker when one cannot be set
    up (nothing is launched)."""
    head = next(n for n in site.nodes if n.is_head)
    made = head.transport.run(["bash", "-c", _MAKE, "jw", key_path(site.cluster),
                               comment(site.cluster)], timeout=60)
    public = made.stdout.strip().splitlines()[-1:] if made.ok else []
    if not public or len(public[0].split()) < 2:
        raise UsageError(f"cannot make the head's key for the workers: "
                         f"{made.tail(2) or made.exit_status}")
    blob = " ".join(public[0].split()[:2])
    hosts = [parse_host(w.ip)[0] for w in workers]
    routes = head.transport.run(["bash", "-c", _ROUTE, "jw", *hosts], idempotent=True,
                                timeout=60)
    seen = dict(line.split(" ", 1) for line in routes.stdout.splitlines() if " " in line)
    head_host = parse_host(head.ip)[0]
    gate = Path(__file__).with_name("sh").joinpath("gate.sh").read_bytes()

    def put(worker: Node) -> str:
        host = parse_host(worker.ip)[0]
        source = seen.get(host, "-").strip()
        source = head_host if source in ("", "-") else source
        line = (f'from="{source}",restrict,command="bash $HOME/.jobwaiter/gate/{site.cluster}" '
                f"{blob} {comment(site.cluster)}")
        data = gate + b"\0" + allowed(worker_commands(stop, worker.id))
        try:
            done = worker.transport.run(["bash", "-c", _PUT, "jw", site.cluster, line, blob],
                                        input=data, timeout=60)
        except TransportError as exc:
            return f"{worker.ip}: {exc}"
        return "" if done.ok else f"{worker.ip}: {done.tail(2) or done.exit_status}"

    failed = [f for f in for_each(list(workers), put) if f]
    if failed:
        raise UsageError("cannot let the workers take the head's key: " + "; ".join(failed))
    return key_path(site.cluster)


__all__ = ["allowed", "comment", "key_path", "set_up", "worker_commands"]
