"""Running a job end to end: launch, wait, stop, and the result."""

from jobwaiter.jobs.events import NullReporter, Reporter
from jobwaiter.jobs.result import JobResult, Outcome

__all__ = ["JobResult", "NullReporter", "Outcome", "Reporter"]
