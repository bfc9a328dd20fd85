"""Who is at the head right now: attached tmux/screen clients and interactive logins
(``sh/present.sh``), for autostop, which must not stop a cluster under somebody's terminal."""

from __future__ import annotations

from dataclasses import dataclass

from jobwaiter.sessions.scripts import script_text


@dataclass(frozen=True)
class Presence:
    """Somebody at the head: ``kind`` is ``tmux``, ``screen`` or ``login``; ``who`` the
    session (tmux, screen) or the user (login); ``where`` the terminal."""

    kind: str
    who: str
    where: str = ""

    def describe(self) -> str:
        if self.kind == "login":
            return f"{self.who} is logged in on {self.where}"
        on = f" on {self.where}" if self.where else ""
        return f"a {self.kind} client is attached to session {self.who}{on}"


def present_argv() -> list[str]:
    return ["bash", "-c", script_text("present.sh"), "jw"]


def parse_present(text: str) -> list[Presence]:
    """The script's lines as Presences, each once (a login seen both by its sshd process and
    in utmp is one login)."""
    found: dict[tuple[str, str, str], Presence] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) < 2 or words[0] not in ("tmux", "screen", "login"):
            continue
        if words[0] == "tmux" and len(words) >= 3:
            p = Presence("tmux", words[2], _tty(words[1]))
        elif words[0] == "login" and len(words) >= 3:
            p = Presence("login", words[1], _tty(words[2]))
        else:
            p = Presence(words[0], words[1])
        found.setdefault((p.kind, p.who, p.where), p)
    return list(found.values())


def _tty(path: str) -> str:
    return path[len("/dev/"):] if path.startswith("/dev/") else path
