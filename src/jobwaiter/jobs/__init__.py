"""Running a job end to end: launch, wait, stop, and the result."""

from jobwaiter.jobs.result import JobResult, Outcome
from jobwaiter.jobs.events import NullReporter, Reporter

__all__ = ["JobResult", "NullReporter", "Outcome", "Reporter"]
