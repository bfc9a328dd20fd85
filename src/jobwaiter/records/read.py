"""Reading records from the head in one call."""

from __future__ import annotations

from jobwaiter.errors import CommandError
from jobwaiter.records.layout import JobRecord
from jobwaiter.sessions.scripts import dump_argv
from jobwaiter.transport.base import Transport


def read_records(head: Transport, names: list[str] | None = None) -> list[JobRecord]:
    return parse_dump(read_dump(head, names))


def read_dump(head: Transport, names: list[str] | None = None) -> str:
    """The dump's text (with no names, autostop's lines come before the records)."""
    result = head.run(dump_argv(names), idempotent=True, timeout=60)
    if not result.ok:
        raise CommandError(result, "reading job records")
    return result.stdout


def parse_dump(text: str) -> list[JobRecord]:
    records: list[JobRecord] = []
    name: str | None = None
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "@@":
            if name:
                records.append(JobRecord.from_fields(name, fields))
            name, fields = value.strip(), {}
        elif name:
            fields[key] = value
    if name:
        records.append(JobRecord.from_fields(name, fields))
    return records
