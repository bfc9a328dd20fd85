"""The settle window every runtime waiter shares: no "done" before late work can be seen.

A job may start engine work in the background and exit at once (``nohup python3 driver.py
&``, ``sbatch`` or ``spark-submit`` sent to the background): the engine lists that work only
once it has registered, a few seconds later. A waiter that looked right away would find
nothing in scope and call the job done while its work runs. So a waiter whose scope is open
(by time, not a list of exact ids) holds every success until ``seconds`` have passed since
its first look, which comes after the job's end (a session or job-end waiter runs first).
Until then the answer is "not yet"; the wait loop paces the looks, nothing here sleeps.

A failure is final as soon as it is seen; so is anything still running (the waiter waits for
it anyway). Stdlib only, like the rest of the runtimes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from jobwaiter.waiters.base import Check

#: The default window, in seconds: a ``ray.init()`` driver or a ``spark-submit`` started in
#: the background registers within a few seconds on a loaded machine.
DEFAULT_SETTLE = 10.0


class SettleWindow:
    """Holds a waiter's successes until ``seconds`` after its first look."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._first: float | None = None

    def start(self) -> None:
        """Mark the first look (later calls keep the first one)."""
        if self._first is None:
            self._first = self.clock()

    def left(self) -> float:
        """Seconds of the window still to run (the first call starts it)."""
        self.start()
        assert self._first is not None
        return max(0.0, self.seconds - (self.clock() - self._first))

    def hold(self, check: Check, what: str) -> Check:
        """``check``, or "not yet" while it is a success inside the window. ``what`` names the
        engine's work ("Ray job") for the message."""
        left = self.left()
        if not check.done or not check.ok or left <= 0:
            return check
        return Check.pending(f"{check.detail}; looking {left:.0f}s more for a {what} the job "
                             "started that is still registering")
