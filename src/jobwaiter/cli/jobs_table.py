"""The ``jobs`` table: one line per job, fitted to the width by shortening or dropping columns
(the command first, then the log path, ...), never by wrapping. Columns are separated by
spaces and there are no box-drawing characters, so ``grep`` and ``awk`` work on it; colour
only where ``style.wants_colour`` allows. Rows are the dicts of ``jobs --json``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from jobwaiter.cli import style

#: Column keys and headers, in display order.
HEADERS = {"session": "SESSION", "label": "LABEL", "state": "STATE", "started": "STARTED (UTC)",
           "duration": "DURATION", "log": "LOG", "command": "COMMAND"}
#: A label (--name) is cut to this many cells; the column is there only when a job has one.
LABEL_WIDTH = 20
GAP = 2  # spaces between columns

# What to give up, in order, until a table fits: (columns shown, short start time, the
# narrowest the command may become before the next step). The command is shortened first,
# then the log path (~/user/logs/<session>.log, derivable) goes, then the start time loses
# its year and seconds, then the duration, the start time and the command go.
_STEPS: tuple[tuple[tuple[str, ...], bool, int], ...] = (
    (("session", "label", "state", "started", "duration", "log", "command"), False, 20),
    (("session", "label", "state", "started", "duration", "command"), False, 20),
    (("session", "label", "state", "started", "duration", "command"), True, 12),
    (("session", "label", "state", "started", "command"), True, 12),
    (("session", "label", "state", "command"), True, 12),
    (("session", "state", "command"), True, 12),
    (("session", "state"), True, 0),
)


@dataclass(frozen=True)
class Layout:
    columns: tuple[str, ...]
    widths: dict[str, int]
    short_start: bool

    @property
    def width(self) -> int:
        return sum(self.widths[c] for c in self.columns) + GAP * (len(self.columns) - 1)


def cells(row: dict[str, Any], short_start: bool) -> dict[str, str]:
    """The text of each column for one row."""
    started = (row["started_at"] or "-")[:19].replace("T", " ")
    if short_start and started != "-":
        started = started[5:16]  # MM-DD HH:MM
    return {
        "session": style.printable(str(row["session"])),
        "label": style.printable(str(row.get("label") or "-"))[:LABEL_WIDTH],
        "state": style.printable(str(row["state_detail"])),
        "started": started,
        "duration": short_duration(row["duration"]),
        "log": style.printable(str(row["log_path"] or "-")),
        "command": style.printable(str(row["command"])) or "-",
    }


def shorten_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells: its middle replaced by ``…``, keeping the end (a
    command's script and arguments) and a little of the start (its program)."""
    from rich.cells import cell_len, get_character_cell_size

    if cell_len(text) <= width:
        return text
    if width < 2:
        return "…"[:width]
    # First the directories of the first path (user/jobs/ of python3 user/jobs/train.py),
    # then the program as well: what is left names the script and its arguments.
    words = text.split(" ")
    path = next((i for i, w in enumerate(words) if "/" in w.rstrip("/")), None)
    if path is not None:
        script = words[path].rstrip("/").rsplit("/", 1)[1]
        words[path] = "…/" + script
        rest = " ".join(words[path + 1:])
        for shorter in (" ".join(words), " ".join(words[path:]), f"…{script} {rest}".rstrip()):
            if cell_len(shorter) <= width:
                return shorter
    budget = width - 1
    head_cells = budget // 4
    head = ""
    for ch in text:
        if cell_len(head) + get_character_cell_size(ch) > head_cells:
            break
        head += ch
    tail = ""
    for ch in reversed(text):
        if cell_len(head) + cell_len(tail) + get_character_cell_size(ch) > budget:
            break
        tail = ch + tail
    return head + "…" + tail


def short_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def fit(rows: Sequence[dict[str, Any]], width: int | None) -> Layout:
    """The columns and their widths for ``rows`` within ``width`` cells (None: no limit).
    When even SESSION and STATE do not fit, STATE is shortened; below that the lines are
    cropped."""
    from rich.cells import cell_len

    def natural(short: bool) -> dict[str, int]:
        texts = [cells(r, short) for r in rows]
        return {k: max([cell_len(h)] + [cell_len(t[k]) for t in texts])
                for k, h in HEADERS.items()}

    full, short = natural(False), natural(True)
    labelled = any(r.get("label") for r in rows)
    steps = [(cols if labelled else tuple(c for c in cols if c != "label"), short, least)
             for cols, short, least in _STEPS]
    if width is None:
        return Layout(steps[0][0], full, False)
    for columns, short_start, command_min in steps:
        widths = {k: (short if short_start else full)[k] for k in columns}
        fixed = sum(w for k, w in widths.items() if k != "command") + GAP * (len(columns) - 1)
        if "command" not in columns:
            if fixed <= width:
                return Layout(columns, widths, short_start)
            continue
        if fixed + min(command_min, widths["command"]) <= width:
            widths["command"] = min(widths["command"], width - fixed)
            return Layout(columns, widths, short_start)
    columns = ("session", "state")
    widths = {"session": full["session"],
              "state": max(width - full["session"] - GAP, len("STATE"))}
    return Layout(columns, widths, True)


def state_style(row: dict[str, Any]) -> str | None:
    """The colour of a row's state: its outcome's, and a failed in-session stop's."""
    stop = row.get("stop_status")
    detail = str(row.get("state_detail"))
    stop_failed = stop not in (None, 0) or "stop failed" in detail
    key = "stop_failed" if row["state"] == "succeeded" and stop_failed else str(row["state"])
    if row["state"] == "succeeded" and "waiter" in detail:  # timed out or failed after it
        key = "timeout" if "timed out" in detail else "waiter_failed"
    return style.OUTCOME_STYLES.get(key)


def draw(rows: Sequence[dict[str, Any]], stream: TextIO) -> None:
    """Print the table of ``rows`` on ``stream``, fitted to its width (``COLUMNS``, the
    terminal's, or no limit when piped)."""
    from rich.table import Table
    from rich.text import Text

    layout = fit(rows, style.terminal_width(stream))
    console = style.console(stream, width=layout.width)
    colour = console.color_system is not None
    table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, GAP // 2),
                  show_header=True, header_style="", expand=False)
    for key in layout.columns:
        # The header's own style, not header_style: that would style the padding too.
        table.add_column(Text(HEADERS[key], style="bold" if colour else ""),
                         width=layout.widths[key], no_wrap=True, overflow="ellipsis",
                         justify="right" if key == "duration" else "left")
    for row in rows:
        text = cells(row, layout.short_start)
        if "command" in layout.columns:
            text["command"] = shorten_middle(text["command"], layout.widths["command"])
        table.add_row(*(Text(text[k], style=(state_style(row) or "") if k == "state" else "")
                        for k in layout.columns))
    with console.capture() as captured:
        console.print(table, crop=True)
    # rich pads the last column to its width; a line ends where its text does.
    stream.write("".join(line.rstrip(" ") + "\n" for line in captured.get().splitlines()))
    stream.flush()
