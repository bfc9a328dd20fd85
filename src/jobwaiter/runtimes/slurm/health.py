"""Whether Slurm is up, for ``jobwaiter status``: ``sh/probe.sh ping`` on the head, that is
``scontrol ping`` (``Slurmctld(primary) at ctl is UP``; exit 1 when a controller is DOWN)
and, when it answers, ``sinfo -h -o '%P %a %D %T'`` (partition, availability, nodes, state).
"""

from __future__ import annotations

from jobwaiter.runtimes.base import DOWN, UNKNOWN, UP, RuntimeStatus
from jobwaiter.transport.base import CommandResult

NAME = "slurm"


def controller_status(result: CommandResult) -> RuntimeStatus:
    """The controller, from the ping probe's answer."""
    def status(state: str, detail: str) -> RuntimeStatus:
        return RuntimeStatus(NAME, "controller", "", state, detail)

    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    pings = [line for line in lines if line.startswith("Slurmctld")]
    if result.exit_status == 127:
        return status(UNKNOWN, result.tail(1) or "the Slurm client commands are not installed "
                                                 "on the head")
    if not result.ok:
        said = "; ".join(pings) or result.tail(1) or f"exit status {result.exit_status}"
        return status(DOWN if any(p.endswith(" DOWN") for p in pings) else UNKNOWN, said)
    if not pings or not any(p.endswith(" UP") for p in pings):
        return status(UNKNOWN, "; ".join(lines[:2]) or "scontrol ping said nothing")
    return status(UP, "; ".join([*pings, *_partitions(lines)]))


def _partitions(lines: list[str]) -> list[str]:
    """``debug* up 2 idle`` lines of sinfo, grouped: ``partition debug* (up): 2 idle``."""
    parts: dict[str, tuple[str, list[str]]] = {}
    for line in lines:
        words = line.split()
        if line.startswith("Slurmctld") or len(words) != 4 or not words[2].isdigit():
            continue
        name, avail, count, state = words
        parts.setdefault(name, (avail, []))[1].append(f"{count} {state}")
    return [f"partition {name} ({avail}): {', '.join(states)}"
            for name, (avail, states) in parts.items()]
