"""Runs a CloudTik-style blocking ``JobWaiter`` in a worker thread, so the loop keeps control
of timeouts and Ctrl-C while the user's code blocks."""

from __future__ import annotations

import threading
from typing import ClassVar

from jobwaiter.waiters.base import Check, JobContext, JobWaiter, NodeRunner, Waiter


class BlockingWaiter(Waiter):
    max_block: ClassVar[float] = 5.0

    def __init__(self, user: JobWaiter, label: str, timeout: float | None = None) -> None:
        self.user = user
        self._label = label
        self.timeout = timeout
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def label(self) -> str:
        return self._label

    def check(self, job: JobContext, block: float) -> Check:
        if self._thread is None:
            self.user.runner = NodeRunner(job.head, job.nodes)
            self._thread = threading.Thread(
                target=self._run, args=(job,), name=f"waiter-{self._label}", daemon=True
            )
            self._thread.start()
        self._thread.join(block)
        if self._thread.is_alive():
            return Check.pending("waiting")
        if self._error is not None:
            msg = str(self._error) or type(self._error).__name__
            return Check.failure(f"{type(self._error).__name__}: {msg}")
        return Check.success("returned")

    def _run(self, job: JobContext) -> None:
        timeout = None if self.timeout is None else int(self.timeout)
        try:
            self.user.wait_for_completion("head", job.command, job.name, timeout)
        except BaseException as exc:
            self._error = exc
