"""Where ``--notify`` and ``--notify-command`` send the result: checked before anything runs,
and shown only in parts.

A notify URL is a secret in its parts, not only as a whole: webhooks carry their token in
the path (``https://hooks.slack.com/services/T/B/X``) or the query, and a URL may carry a
password. So what is derived from one (an error, a note on the result, a log line) shows
only its scheme, host and port: every path segment, query value and fragment is masked.
Credentials in a URL are refused outright, since the only place they could go unseen is
nowhere. Stdlib only, Python 3.8: the head's watcher uses it too.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable

MASK = "***"
#: A URL inside free text (an error message, a command's output).
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a notify URL, in words that never repeat it; None when it can."""
    if not url.strip():
        return "is empty"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "holds whitespace or a control character"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # a bad port is a ValueError
    except ValueError:
        return "is not a valid URL (its host or port cannot be read)"
    if parts.scheme.lower() not in ("http", "https"):
        return "takes an http:// or https:// URL"
    if "@" in parts.netloc:
        return ("must not carry credentials (user:password@); for a server that needs them, "
                "use --notify-command (curl --netrc-file FILE)")
    if not parts.hostname:
        return "takes a URL with a host (http://HOST/...)"
    if port == 0:
        return "takes a URL with a port from 1 to 65535"
    return None


def command_problem(command: str) -> str | None:
    """Why ``command`` cannot be a notify command; None when it can."""
    if not command.strip():
        return "is empty"
    if "\0" in command:
        return "holds a NUL byte"
    return None


def redact_url(url: str) -> str:
    """``url`` as it may be shown: scheme, host and port; the rest masked in parts."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK
    shown = f"{parts.scheme}://" + ("***@" if "@" in parts.netloc else "")
    shown += f"[{host}]" if ":" in host else host
    if port is not None:
        shown += f":{port}"
    segments = parts.path.split("/")
    if len(segments) > 1:
        shown += "/".join(MASK if s else "" for s in segments)
    if parts.query:
        pairs = []
        for item in parts.query.split("&"):
            key, sep, _ = item.partition("=")
            pairs.append(f"{key}={MASK}" if sep else MASK)
        shown += "?" + "&".join(pairs)
    if parts.fragment:
        shown += "#" + MASK
    return shown


def secret_parts(secrets: Iterable[str]) -> list[str]:
    """What must not appear in anything shown: each secret whole, and for a URL its userinfo,
    path segments, query values and fragment; longest first (a part inside another goes
    after it)."""
    found = set()
    for secret in secrets:
        if not secret:
            continue
        found.add(secret)
        try:
            parts = urllib.parse.urlsplit(secret)
        except ValueError:
            parts = None
        if parts is not None and parts.scheme and "://" in secret:
            netloc = parts.netloc
            if "@" in netloc:
                userinfo = netloc.rpartition("@")[0]
                found.update([userinfo, *userinfo.split(":")])
            found.update(s for s in parts.path.split("/") if s)
            found.update(urllib.parse.unquote(s) for s in parts.path.split("/") if s)
            for item in parts.query.split("&"):
                found.add(item.partition("=")[2])
            found.add(parts.fragment)
            found.add(parts.path + ("?" + parts.query if parts.query else ""))
        else:
            # A command: the URLs in it, and its words that look like tokens (curl -H
            # 'Authorization: Bearer ...'): long, or of letters and digits mixed. Plain words
            # stay readable in what the command printed.
            found.update(secret_parts(m.group(0) for m in _URL_IN_TEXT.finditer(secret)))
            found.update(w for w in re.split(r"[\s'\"=:,;]+", secret) if _token_like(w))
    return sorted((p for p in found if len(p) >= 3), key=len, reverse=True)


def _token_like(word: str) -> bool:
    if "://" in word:
        return False  # a URL: masked in parts, its host shown
    if len(word) >= 20:
        return True
    return (len(word) >= 8 and any(c.isdigit() for c in word)
            and any(c.isalpha() for c in word))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL in it shown in parts and every part of ``secrets`` masked."""
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    for part in secret_parts(secrets):
        text = text.replace(part, MASK)
    return text
