"""Detached sessions (tmux, GNU screen) and the head-side scripts that run and watch a job.

The scripts are bash and run on the head through any transport; each takes its inputs as
positional arguments (never pasted into the script text), so no user string is ever parsed
by a shell. Stdlib only.
"""

from jobwaiter.sessions.kinds import KINDS, SessionKind, session_kind
from jobwaiter.sessions.scripts import (
    check_argv,
    claim_argv,
    dump_argv,
    follow_argv,
    kill_argv,
    launch_argv,
    launch_input,
    prune_argv,
    rearm_argv,
    survivors_argv,
    waited_argv,
    wrapper_text,
)

__all__ = [
    "KINDS",
    "SessionKind",
    "check_argv",
    "claim_argv",
    "dump_argv",
    "follow_argv",
    "kill_argv",
    "launch_argv",
    "launch_input",
    "prune_argv",
    "rearm_argv",
    "session_kind",
    "survivors_argv",
    "waited_argv",
    "wrapper_text",
]
