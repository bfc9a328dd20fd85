"""Framing: what a node prints around our commands cannot change what we read back.

Start-up files run before any command of ours: a ``~/.bashrc`` sourced by the login shell
sshd starts, ``BASH_ENV``, motd, an ``stty`` warning. They may print anything, on stdout or
stderr. So every captured command is wrapped in a small bash prologue that prints a marker
with a fresh random nonce once start-up is over, and an end marker with the command's exit
status when it is done. Only the text between the markers is the command's output; a
missing end marker means the answer was cut short. Nothing printed by start-up files can
contain the nonce, since it is drawn anew for every call.

``FramedTransport`` does this around any transport; the providers hand out framed
transports, so every caller reads framed answers without doing anything.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace

from jobwaiter.transport.base import CommandResult, OutputSink, Transport

#: The exit status of a framed command whose end marker never came.
CUT_SHORT = 254

# $1 is the nonce. The command runs in a subshell so that its own `exit`, `exec` or EXIT
# trap cannot skip the end marker. --norc: a bash started over SSH would source ~/.bashrc.
# First the shell state our scripts assume, whatever the environment exported (SHELLOPTS,
# BASHOPTS, functions standing in for flock or tmux); the job itself never runs here.
_BEGIN = (
    "IFS=$' \\t\\n'; set +o allexport +o errexit +o noclobber +o noglob +o nounset "
    "+o pipefail +o verbose +o xtrace +o posix\n"
    "shopt -u failglob nullglob dotglob nocaseglob nocasematch globstar extglob "
    "expand_aliases 2>/dev/null\n"
    "unset -f $(compgen -A function) 2>/dev/null; unset CDPATH GLOBIGNORE\n"
    "jw_n=$1; shift\n"
    "printf '\\n<%s\\n' \"$jw_n\"; printf '\\n<%s\\n' \"$jw_n\" >&2\n"
)
_END = (
    "\njw_rc=$?\n"
    "printf '\\n>%s %s\\n' \"$jw_n\" \"$jw_rc\"; printf '\\n>%s\\n' \"$jw_n\" >&2\n"
    "exit \"$jw_rc\"\n"
)


@dataclass(frozen=True)
class Frame:
    """One framed call: its nonce and the argv that prints the markers."""

    nonce: str
    argv: tuple[str, ...]

    @classmethod
    def around(cls, argv: Sequence[str]) -> Frame:
        nonce = secrets.token_hex(12)
        args = list(argv)
        if len(args) >= 3 and args[0] == "bash" and args[1] == "-c":
            # Our own scripts: the markers go inside the same bash, so no start-up file of a
            # second shell can print between a marker and the script.
            script, rest = args[2], args[3:]
            zero = rest[0] if rest else "jw"
            body = f"{_BEGIN}(\n{script}\n){_END}"
            return cls(nonce, ("bash", "--norc", "-c", body, zero, nonce, *rest[1:]))
        body = f'{_BEGIN}"$@"{_END}'
        return cls(nonce, ("bash", "--norc", "-c", body, "jw", nonce, *args))

    def read(self, result: CommandResult, argv: Sequence[str]) -> CommandResult:
        """The command's own result: its output between the markers, its exit status."""
        out, status = _between(result.stdout, f"<{self.nonce}\n", f"\n>{self.nonce} ")
        err, _ = _between(result.stderr, f"<{self.nonce}\n", f"\n>{self.nonce}\n")
        exit_status = result.exit_status
        if status is None:
            err = (err + "\n" if err else "") + "the node's answer was cut short"
            exit_status = result.exit_status or CUT_SHORT
        elif result.exit_status == 0 or result.exit_status == status:
            exit_status = status
        return replace(result, argv=tuple(argv), exit_status=exit_status, stdout=out,
                       stderr=err)

    def sink(self, output: OutputSink) -> OutputSink:
        """``output`` without start-up noise and markers, for output shown as it arrives."""
        begun: set[str] = set()
        held: dict[str, int] = {}  # blank lines held back: the last one is the end marker's

        def forward(stream: str, line: str) -> None:
            if stream not in begun:
                if line == f"<{self.nonce}":
                    begun.add(stream)
                return
            if line.startswith(f">{self.nonce}"):
                begun.discard(stream)
                held[stream] = 0
                return
            if line == "":
                held[stream] = held.get(stream, 0) + 1
                return
            for _ in range(held.pop(stream, 0)):
                output(stream, "")
            output(stream, line)

        return forward


def _between(text: str, begin: str, end: str) -> tuple[str, int | None]:
    """The text between the markers, and the status after the end marker (None: no end)."""
    start = text.find(begin)
    if start < 0:
        return "", None
    body = text[start + len(begin):]
    stop = body.rfind(end)
    if stop < 0:
        return body, None
    tail = body[stop + len(end):].split("\n", 1)[0].strip()
    status: int | None = 0
    if end.endswith(" "):  # stdout's end marker carries the exit status
        status = int(tail) if tail.isdigit() else None
    return body[:stop], status


class FramedTransport:
    """Any transport, with every captured command framed (see the module's docstring).
    Commands whose output goes straight to ours (``capture=False``) are not read back, so they
    pass through unchanged."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.node = inner.node
        self.in_process = bool(getattr(inner, "in_process", False))

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float | None = None,
        capture: bool = True,
        idempotent: bool = False,
        output: OutputSink | None = None,
    ) -> CommandResult:
        if not capture:
            return self.inner.run(argv, input=input, timeout=timeout, capture=False,
                                  idempotent=idempotent)
        frame = Frame.around(argv)
        sink = frame.sink(output) if output is not None else None
        result = self.inner.run(frame.argv, input=input, timeout=timeout,
                                idempotent=idempotent, output=sink)
        return frame.read(result, argv)

    def close(self) -> None:
        self.inner.close()
