"""Job waiters: what decides that a job is complete.

Built-in waiters answer one question per poll, "is it done yet, and how did it end?"
(``Waiter.check``), and never sleep: ``WaitLoop`` owns pacing, timeouts and reconnecting.
User waiters keep CloudTik's blocking interface (``JobWaiter``) and run in a worker thread.
Stdlib only.
"""

from jobwaiter.waiters.base import Check, JobContext, JobWaiter, Waiter
from jobwaiter.waiters.loop import Pacing, WaiterOutcome, WaitLoop, WaitReport
from jobwaiter.waiters.spec import Spec, parse_spec

__all__ = [
    "Check",
    "JobContext",
    "JobWaiter",
    "Pacing",
    "Spec",
    "WaitLoop",
    "WaitReport",
    "Waiter",
    "WaiterOutcome",
    "parse_spec",
]
