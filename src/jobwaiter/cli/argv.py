"""Reading the command lines of ``exec``, ``submit`` and ``wait`` where click alone would
misread them. Pure functions of argv (no click, no I/O), so each rule is tested on its own.

``submit``: jobwaiter's long options may also come after SCRIPT, as in CloudTik
(``submit CONFIG job.py --tmux --job-log``), and everything after ``--`` belongs to the
script verbatim. Anything else after SCRIPT that looks like an option (an unknown long
option, any short option) is refused with the corrected command: guessing whose it is would
either hand jobwaiter's ``-y`` to the script or give the script's ``--epochs`` to nobody.

``--job-waiter=chain[tmux, spark]`` typed without quotes reaches us as two words,
``--job-waiter=chain[tmux,`` and ``spark]``. They are joined again only when that is
certain: the value leaves a ``[`` open, and the words that follow are pieces of a SPEC that
close it exactly and make a SPEC that parses. Otherwise the error shows the quoted form.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

#: The option whose value may arrive in pieces.
JOB_WAITER = "--job-waiter"

#: Everything an unquoted SPEC can contain besides spaces (names, dots, brackets, commas).
#: A word with any other character (a space, a quote, ';', '/', ...) is never a piece of one.
_SPEC_PIECE = re.compile(r"[A-Za-z0-9_.\[\],-]+")


class ArgvError(ValueError):
    """A command line that cannot be read without guessing. The message is one line."""


@dataclass(frozen=True)
class OptionTable:
    """A command's options as its parser knows them, by every name (``--tmux``, ``-y``)."""

    takes_value: frozenset[str]
    flags: frozenset[str]

    def __contains__(self, name: object) -> bool:
        return name in self.takes_value or name in self.flags

    def long_names(self) -> list[str]:
        return sorted(n for n in self.takes_value | self.flags if n.startswith("--"))


@dataclass(frozen=True)
class Submission:
    """A ``submit`` command line made plain for the parser: the options (also those that
    came after SCRIPT), CONFIG, then ``--``, SCRIPT and the script's arguments."""

    argv: list[str]
    #: jobwaiter's options that came after SCRIPT, by name, in order (to say so).
    after_script: tuple[str, ...] = ()


def is_option(word: str) -> bool:
    """What an option parser takes for an option (``-`` alone is a value: stdin)."""
    return word.startswith("-") and word != "-"


def join_split_specs(args: Sequence[str], options: OptionTable) -> list[str]:
    """``args`` with every ``--job-waiter`` value that the shell split at its spaces joined
    again (see the module doc); nothing after ``--`` is looked at. Raises ArgvError when a
    split value cannot be joined without doubt."""
    out: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            out += args[i:]
            break
        if is_option(word):
            read = _read_option(args, i, options)
            out += read.words
            i = read.end
        else:
            out.append(word)
            i += 1
    return out


def read_submit(args: Sequence[str], options: OptionTable,
                prog: str = "jobwaiter submit") -> Submission:
    """Read ``submit``'s arguments: ``[options] CONFIG [options] SCRIPT [ARGS | long options
    of ours] [-- ARGS]``. ``prog`` is how the corrected command in an error starts."""
    before: list[str] = []
    positionals = 0
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":  # SCRIPT comes after it: nothing after `--` is an option
            return Submission([*before, *args[i:]])
        if is_option(word):
            read = _read_option(args, i, options)
            if not read.known:  # the parser's own "No such option" says it best
                return Submission(list(args))
            before += read.words
            i = read.end
            continue
        positionals += 1
        if positionals == 2:  # SCRIPT
            break
        before.append(word)
        i += 1
    else:
        return Submission(before)  # no SCRIPT: the parser says what is missing
    script = args[i]
    after = _read_after_script(args, i + 1, options)
    problems = [p for p in after if p.kind in (_UNKNOWN, _OUR_SHORT)]
    if problems:
        raise ArgvError(_after_script_error(prog, before, script, after, problems, options))
    taken = [w for p in after if p.kind == _OURS for w in p.words]
    script_args = [w for p in after if p.kind == _ARG for w in p.words]
    return Submission([*before, *taken, "--", script, *script_args],
                      tuple(p.name for p in after if p.kind == _OURS))


def read_exec(args: Sequence[str], options: OptionTable,
              prog: str = "jobwaiter exec") -> list[str]:
    """Read ``exec``'s arguments: ``[options] CONFIG [options] CMD [options]``, or ``[options]
    CONFIG [options] -- WORD...``. The words after ``--`` are the command's argv: they become
    CMD joined with each word quoted once (``shlex.join``), so the job receives exactly them.
    Words after CMD that are not ours (a command typed without quotes) are refused with the
    quoted form. Returns the line for the parser."""
    ours: list[str] = []  # our options, as the parser should see them
    positionals: list[int] = []  # indexes of CONFIG and CMD in args
    strays: list[int] = []  # indexes of words after CMD that are not ours
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            return _exec_words(args, ours, positionals, list(args[i + 1:]))
        if is_option(word):
            read = _read_option(args, i, options)
            if not read.known and len(positionals) == 2:
                strays.append(i)
                i += 1
                continue
            ours += read.words
            i = read.end
            continue
        (strays if len(positionals) == 2 else positionals).append(i)
        i += 1
    if not strays or all(args[j].startswith("--") for j in strays):
        return list(args)  # nothing typed unquoted; an unknown --option the parser explains
    words = [args[positionals[1]], *(args[j] for j in strays)]
    shown = [quote_command(shlex.join(words)) if j == positionals[1] else shell_quote(w)
             for j, w in enumerate(args) if j not in strays]
    raise ArgvError(f"quote CMD: {prog} {' '.join(shown)} (or put its words after --)")


def _exec_words(args: Sequence[str], ours: list[str], positionals: list[int],
                words: list[str]) -> list[str]:
    if len(positionals) == 2:
        if not words:
            return list(args)
        raise ArgvError(f"CMD {shell_quote(args[positionals[1]])} and words after --: give one")
    if not positionals:
        raise ArgvError("CONFIG goes before --: exec CONFIG [options] -- WORD...")
    if not words:
        raise ArgvError("nothing after --: the command's words go there")
    # After `--` the parser takes CONFIG and CMD as they are, even when they start with '-'.
    return [*ours, "--", args[positionals[0]], shlex.join(words)]


def quote_command(text: str) -> str:
    """A command line as one word to paste into bash: in double quotes when it holds single
    quotes and nothing double quotes would expand, else as ``shell_quote`` writes it."""
    if "'" in text and text.isprintable() and not any(c in text for c in '"$`\\!'):
        return f'"{text}"'
    return shell_quote(text)


# -- after SCRIPT ---------------------------------------------------------------------------

_OURS = "ours"  # a long option of jobwaiter, with its value: taken
_ARG = "arg"  # the script's
_UNKNOWN = "unknown"  # looks like an option, and is not one of ours: refused
_OUR_SHORT = "our-short"  # a short option that is also ours: refused (whose is it?)


@dataclass(frozen=True)
class _Part:
    kind: str
    words: tuple[str, ...]
    name: str = ""


def _read_after_script(args: Sequence[str], i: int, options: OptionTable) -> list[_Part]:
    parts: list[_Part] = []
    while i < len(args):
        word = args[i]
        if word == "--":
            parts += [_Part(_ARG, (w,)) for w in args[i + 1:]]
            break
        if not is_option(word):
            parts.append(_Part(_ARG, (word,)))
            i += 1
            continue
        read = _read_option(args, i, options)
        # A value is the next word, but never the `--` that hands the rest to the script.
        value_missing = read.value_missing or (
            read.end > i + 1 and args[read.end - 1] == "--")
        if word.startswith("--") and read.known:
            if value_missing:
                raise ArgvError(f"Option '{word}' requires an argument.")
            parts.append(_Part(_OURS, tuple(read.words), word.partition("=")[0]))
            i = read.end
        elif read.known and not value_missing:
            parts.append(_Part(_OUR_SHORT, tuple(read.words), word))
            i = read.end
        else:
            parts.append(_Part(_UNKNOWN, (word,), word.partition("=")[0]))
            i += 1
    return parts


def _after_script_error(prog: str, before: list[str], script: str, after: list[_Part],
                        problems: list[_Part], options: OptionTable) -> str:
    names = ", ".join(p.name for p in problems)
    ours = [w for p in after if p.kind == _OURS for w in p.words]

    def command(moved: list[str], rest: list[str]) -> str:
        argv = [*before, *moved, script, *ours, *(["--", *rest] if rest else [])]
        return " ".join([prog, *map(shell_quote, argv)])

    to_script = command([], [w for p in after if p.kind != _OURS for w in p.words])
    if not any(p.kind == _OUR_SHORT for p in problems):
        verb = "is not an option" if len(problems) == 1 else "are not options"
        return (f"{names} after SCRIPT {verb} of {prog}{_did_you_mean(problems, options)}; "
                f"arguments for the script go after --: {to_script}")
    moved = [w for p in after if p.kind == _OUR_SHORT for w in p.words]
    rest = [w for p in after if p.kind in (_ARG, _UNKNOWN) for w in p.words]
    return (f"{names} after SCRIPT could be the script's or jobwaiter's; for jobwaiter, put "
            f"{'it' if len(problems) == 1 else 'them'} before SCRIPT: {command(moved, rest)}; "
            f"for the script, after --: {to_script}")


def _did_you_mean(problems: list[_Part], options: OptionTable) -> str:
    import difflib  # only on this error path: start-up time matters on every command

    for p in problems:
        if p.name.startswith("--"):
            close = difflib.get_close_matches(p.name, options.long_names(), n=1, cutoff=0.8)
            if close:
                return f" (did you mean {close[0]}?)"
    return ""


# -- one option -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Read:
    words: list[str]  # as the parser should see them (a split SPEC joined)
    end: int  # the index after them
    known: bool  # every option in it is one of ours
    value_missing: bool = False  # its last option needs a value and none follows


def _read_option(args: Sequence[str], i: int, options: OptionTable) -> _Read:
    """The option at ``args[i]`` as the parser will read it. A value is the next word,
    whatever it is, as the parser takes it."""
    word = args[i]
    if word.startswith("--"):
        name, eq, value = word.partition("=")
        if name not in options:
            return _Read([word], i + 1, False)
        if name not in options.takes_value or eq:
            end = i + 1
        elif i + 1 < len(args):
            value, end = args[i + 1], i + 2
        else:
            return _Read([word], i + 1, True, value_missing=True)
        if name == JOB_WAITER:
            value, end = _join_spec(value, args, end)
            return _Read([f"{name}={value}"] if eq else [name, value], end, True)
        return _Read(list(args[i:end]), end, True)
    # A cluster of short options, `-yq` or `-nNAME` or `-yn NAME`, read as the parser does.
    for pos in range(1, len(word)):
        name = "-" + word[pos]
        if name not in options:
            return _Read([word], i + 1, False)
        if name in options.takes_value:
            if pos + 1 < len(word):
                return _Read([word], i + 1, True)
            if i + 1 >= len(args):
                return _Read([word], i + 1, True, value_missing=True)
            return _Read([word, args[i + 1]], i + 2, True)
    return _Read([word], i + 1, True)


def _join_spec(value: str, args: Sequence[str], i: int) -> tuple[str, int]:
    """A ``--job-waiter`` value, joined with the words from ``args[i]`` on that the shell split
    from it; returns the value and the index after the words it took."""
    depth = _depth(value)
    if depth is None or depth <= 0:
        return value, i  # complete, or broken in a way the SPEC parser explains best
    pieces = [value]
    j = i
    while j < len(args) and not is_option(args[j]) and _SPEC_PIECE.fullmatch(args[j]):
        pieces.append(args[j])
        j += 1
        depth = _depth(args[j - 1], depth, closes_at_end=True)
        if depth is None:
            break
        if depth == 0:
            joined = " ".join(pieces)
            if _parses(joined):
                return joined, j
            break
    if len(pieces) == 1 and not value.endswith((",", "[")):
        return value, i  # nothing says it was split: a ']' is missing, as the parser says
    raise ArgvError(_split_spec_error(value, pieces))


def _depth(text: str, depth: int = 0, closes_at_end: bool = False) -> int | None:
    """How many ``[`` are open after ``text``; None when a ``]`` closes one that is not
    open, or (``closes_at_end``) when the last one closes before the end of ``text``."""
    for pos, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0 or (closes_at_end and depth == 0 and pos != len(text) - 1):
                return None
    return depth


def _parses(text: str) -> bool:
    from jobwaiter.errors import UsageError
    from jobwaiter.waiters.spec import parse_spec

    try:
        parse_spec(text)
    except UsageError:
        return False
    return True


def _split_spec_error(value: str, pieces: list[str]) -> str:
    candidate = " ".join(pieces)
    depth = _depth(candidate)
    if depth is not None and depth > 0:
        candidate = candidate.rstrip(" ,") + "]" * depth
    return (f"{JOB_WAITER} {shell_quote(value)} leaves a '[' open: the shell splits a SPEC "
            f"that is not quoted at its spaces; quote the whole SPEC, e.g. "
            f"{JOB_WAITER}={shell_quote(candidate)}")


def shell_quote(word: str) -> str:
    """``word`` for a command line a user can paste into bash, on one line and exact: a word
    with a newline, a tab, a run of spaces or a byte that is not UTF-8 (a surrogate escape)
    is written as ``$'...'`` with escapes, so that printing it on one line changes nothing."""
    if word.isprintable() and "  " not in word:
        return shlex.quote(word)
    out = []
    for ch in word:
        if ch in "\\'":
            out.append("\\" + ch)
        elif ch == " " or ch.isprintable():
            out.append(ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        else:
            data = ch.encode("utf-8", "surrogateescape")
            out.append("".join(f"\\x{b:02x}" for b in data))
    return "$'" + "".join(out).replace("  ", " \\x20") + "'"


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
