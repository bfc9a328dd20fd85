"""--notify and --notify-command: refused before anything runs when they cannot work, shown only
in parts, delivered only by a 2xx answer to the POST (a real loopback HTTP server), and a
notify command bounded in memory and in time, with everything it started."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path

import pytest

from jobwaiter.jobs.notify_target import redact, redact_url, url_problem
from jobwaiter.transport.bounded import Bounded
from jobwaiter.transport.frame import FramedTransport
from jobwaiter.transport.local import LocalTransport
from jobwaiter.watch import notify

BODY = b'{"outcome": "succeeded"}'


# -- shown in parts --------------------------------------------------------------------------

def test_a_url_is_shown_as_scheme_host_and_port_only() -> None:
    assert redact_url("https://hooks.slack.com/services/T0/B1/XyZ") == \
        "https://hooks.slack.com/***/***/***/***"
    assert redact_url("http://u:pw@h:8080/x?token=T&a=b#frag") == \
        "http://***@h:8080/***?token=***&a=***#***"
    assert redact_url("http://[::1]:9/") == "http://[::1]:9/"
    assert redact_url("not a url") == "***"


def test_an_error_quoting_parts_of_the_url_is_redacted() -> None:
    url = "http://user:PASSWORD@host/services/T/B/SECRETX?token=T0KEN123"
    # What urllib says of such a URL without a port: the password, out of its URL.
    text = redact("nonnumeric port: 'PASSWORD@host' at " + url, [url])
    for part in ("PASSWORD", "SECRETX", "T0KEN123", "user:"):
        assert part not in text, text
    assert "host" in text


def test_an_order_with_credentials_in_its_url_sends_nothing_and_says_so_in_parts(
        tmp_path: Path) -> None:
    order = {"notify": {"urls": ["http://user:PASSWORD@127.0.0.1/x?token=T0KEN123"]}}
    (note,) = notify.send(order, BODY, tmp_path, sleep=lambda s: None)
    assert note.startswith("notify url 1: not sent: the URL must not carry credentials")
    assert "PASSWORD" not in note and "T0KEN123" not in note


# -- refused before anything runs -----------------------------------------------------------

@pytest.mark.parametrize("argv, says", [
    (["--notify", "http://user:PASSWORD@host/x?token=T0KEN123"], "must not carry credentials"),
    (["--notify", "https://:PASSWORD@host/"], "must not carry credentials"),
    (["--notify", "http://"], "with a host"),
    (["--notify", "http:///PASSWORD"], "with a host"),
    (["--notify", "ftp://PASSWORD"], "http:// or https://"),
    (["--notify", "   "], "is empty"),
    (["--notify", ""], "is empty"),
    (["--notify", "http://host:99999/PASSWORD"], "not a valid URL"),
    (["--notify", "http://host:0/PASSWORD"], "port from 1 to 65535"),
    (["--notify", "http://ho st/PASSWORD"], "whitespace"),
    (["--notify-command", ""], "--notify-command is empty"),
    (["--notify-command", " \t\n"], "--notify-command is empty"),
])
def test_a_notify_that_cannot_work_is_refused_before_anything_runs(
        cli, tmp_path: Path, argv: list[str], says: str) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "never-read.yaml"  # not there: nothing may get as far as reading it
    r = cli("exec", str(config), "touch started", "--tmux", "--job-waiter=tmux", *argv)
    assert r.code == 2, r.err
    assert says in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert "PASSWORD" not in r.err and "T0KEN123" not in r.err
    assert not (tmp_path / "started").exists() and not Path("started").exists()


def test_notify_from_a_file_or_the_environment_is_checked_alike(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    config = str(tmp_path / "never-read.yaml")
    missing = tmp_path / "no-such-file"
    r = cli("exec", config, "true", "--tmux", "--notify", f"@{missing}")
    assert r.code == 2 and f"--notify @{missing}: cannot read it" in r.err, r.err
    r = cli("submit", config, "job.sh", "--tmux", "--notify-command", f"@{missing}")
    assert r.code == 2 and f"--notify-command @{missing}: cannot read it" in r.err, r.err
    secret = tmp_path / "hook"
    secret.write_text("# the team's hook\nhttp://u:PASSWORD@h/x\n")
    r = cli("exec", config, "true", "--tmux", "--notify", f"@{secret}")
    assert r.code == 2 and "--notify must not carry credentials" in r.err, r.err
    assert "PASSWORD" not in r.err
    assert secret.read_text().endswith("PASSWORD@h/x\n")  # the file stays as it was
    monkeypatch.setenv("HOME", str(tmp_path))
    r = cli("exec", config, "true", "--tmux", "--notify", "@~/hook")
    assert r.code == 2 and "--notify must not carry credentials" in r.err, r.err
    secret.write_text("\n# nothing here\n")
    r = cli("exec", config, "true", "--tmux", "--notify", f"@{secret}")
    assert r.code == 2 and "holds no URL" in r.err, r.err
    monkeypatch.setenv("JOBWAITER_NOTIFY", "ftp://PASSWORD")
    r = cli("exec", config, "true", "--tmux")
    assert r.code == 2 and "--notify takes an http:// or https:// URL" in r.err, r.err
    monkeypatch.delenv("JOBWAITER_NOTIFY")
    monkeypatch.setenv("JOBWAITER_NOTIFY_COMMAND", "  ")
    r = cli("exec", config, "true", "--tmux")
    assert r.code == 2 and "--notify-command is empty" in r.err, r.err


def test_help_names_the_ways_that_keep_secrets_out_of_argv(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("exec", "--help").out
    assert "@FILE" in out and "JOBWAITER_NOTIFY" in out and "JOBWAITER_NOTIFY_COMMAND" in out


# -- only a 2xx answer to the POST counts ----------------------------------------------------

class _Answers:
    """A loopback HTTP server answering by path: /302, /303, /307, /308 redirect to /ok,
    /loop redirects (307) to itself, /500 fails, /ok and /204 answer 204. It records every
    request it gets: (method, path, body)."""

    def __init__(self) -> None:
        seen = self.seen = []  # type: ignore[var-annotated]

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen.append((self.command, self.path, self.rfile.read(length)))
                path = self.path.partition("?")[0]
                code = {"/ok": 204, "/204": 204, "/500": 500, "/loop": 307}.get(path)
                if code is None:
                    code = int(path.strip("/"))
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", "/loop" if self.path == "/loop" else "/ok")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def answers():  # type: ignore[no-untyped-def]
    server = _Answers()
    yield server
    server.close()


@pytest.mark.parametrize("code", [302, 303, 301])
def test_a_redirect_that_would_drop_the_post_is_a_failure(answers, code: int) -> None:  # type: ignore[no-untyped-def]
    why = notify._post(f"{answers.base}/{code}", BODY, sleep=lambda s: None)
    assert why.startswith(f"HTTP {code} (a redirect"), why
    # Asked once (an answer, not a fault to try again), and never re-sent as a GET.
    assert answers.seen == [("POST", f"/{code}", BODY)]


@pytest.mark.parametrize("code", [307, 308])
def test_307_and_308_are_followed_with_the_same_post(answers, code: int) -> None:  # type: ignore[no-untyped-def]
    assert notify._post(f"{answers.base}/{code}", BODY, sleep=lambda s: None) == ""
    assert answers.seen == [("POST", f"/{code}", BODY), ("POST", "/ok", BODY)]


def test_redirects_are_followed_a_bounded_number_of_times(answers) -> None:  # type: ignore[no-untyped-def]
    why = notify._post(f"{answers.base}/loop", BODY, sleep=lambda s: None)
    assert why == f"more than {notify.MAX_HOPS} redirects"
    assert len(answers.seen) == notify.MAX_HOPS + 1


def test_a_server_error_is_tried_again_then_noted_and_a_204_is_sent(answers) -> None:  # type: ignore[no-untyped-def]
    slept: list[float] = []
    why = notify._post(f"{answers.base}/500", BODY, sleep=slept.append)
    assert why == f"HTTP 500 (after {notify.ATTEMPTS} tries)" and slept == [1.0, 2.0]
    assert notify._post(f"{answers.base}/204", BODY, sleep=slept.append) == ""
    assert [s[1] for s in answers.seen] == ["/500"] * notify.ATTEMPTS + ["/204"]


def test_send_notes_a_redirect_without_any_part_of_the_url(answers, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"{answers.base}/302?token=T0KEN123"
    answers.seen.clear()
    (note,) = notify.send({"notify": {"urls": [f"{answers.base}/204", url]}}, BODY, tmp_path,
                          sleep=lambda s: None)
    assert note.startswith("notify url 2: not sent: HTTP 302"), note
    assert "T0KEN123" not in note


# -- a notify command: bounded memory, bounded time, nothing left behind ---------------------

def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] == "Z"


def test_a_hanging_notify_command_is_ended_with_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    started = time.monotonic()
    why = notify._run(f"sleep 100 & echo $! > {pids}; (sleep 100 & echo $! >> {pids}; wait) &"
                      " echo still-there; sleep 100", BODY, tmp_path, limit=1.0)
    assert time.monotonic() - started < 10
    assert why.startswith("did not finish within 1 s (its process group was ended)"), why
    assert why.endswith("still-there"), why
    children = [int(p) for p in pids.read_text().split()]
    assert len(children) == 2
    for pid in children:
        assert _gone(pid), f"child {pid} of the notify command outlived it"
    assert not (tmp_path / "notify.cmd").exists()


def test_what_a_notify_command_leaves_running_is_ended_with_it(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    assert notify._run(f"sleep 100 >/dev/null & echo $! > {pids}; cat >/dev/null", BODY,
                       tmp_path) == ""
    assert _gone(int(pids.read_text()))


def test_a_notify_command_that_ignores_term_is_killed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "GROUP_GRACE", 0.5)
    why = notify._run("trap '' TERM; while :; do sleep 0.1; done", BODY, tmp_path, limit=0.5)
    assert why.startswith("did not finish within 0.5 s"), why


def test_a_loud_notify_command_keeps_only_its_tail(tmp_path: Path) -> None:
    why = notify._run("cat; head -c 30000000 /dev/zero | tr '\\0' x; echo; echo >&2 last-words;"
                      " exit 3", BODY, tmp_path)
    assert why.startswith("exit status 3: ") and why.endswith("last-words"), why[:200]
    assert len(why) < 400


def test_a_notify_command_note_does_not_quote_the_command(tmp_path: Path) -> None:
    order = {"notify": {"command": "echo https://hooks.example/services/T/B/SECRETX; exit 1"}}
    (note,) = notify.send(order, BODY, tmp_path)
    assert note.startswith("notify command: exit status 1"), note
    assert "SECRETX" not in note


def test_a_bounded_capture_keeps_the_start_and_the_end() -> None:
    b = Bounded(4, 6)
    for chunk in (b"ab", b"cdef", b"0123456789"):
        b.feed(chunk)
    assert b.value() == b"abcd\n[... 6 bytes of output left out ...]\n456789"
    small = Bounded(10, 10)
    small.feed(b"hello")
    assert small.value() == b"hello"


def test_the_watchers_capture_is_bounded_and_keeps_the_frame(tmp_path: Path) -> None:
    transport = FramedTransport(LocalTransport("head", max_output=100_000))
    done = transport.run(["bash", "-c", "head -c 20000000 /dev/zero | tr '\\0' x; echo;"
                          " echo tail-line; exit 4"])
    assert done.exit_status == 4  # the end marker was kept: the real status, not cut short
    assert done.stdout.rstrip().endswith("tail-line")
    assert "bytes of output left out" in done.stdout and len(done.stdout) < 250_000
    small = LocalTransport("head", max_output=100).run(["bash", "-c", "cat; echo -n ok"],
                                                       input=b"in:")
    assert (small.exit_status, small.stdout) == (0, "in:ok")


def test_the_payload_carries_no_command(tmp_path: Path) -> None:
    body = json.loads(notify.payload({"outcome": "failed", "command": "secret"}, "l", "c"))
    assert "command" not in body and body["outcome"] == "failed"
    assert url_problem("https://hooks.slack.com/services/T/B/X") is None


def test_a_commands_tokens_are_masked_in_its_output_and_plain_words_kept() -> None:
    command = ("curl -sf -H 'Authorization: Bearer abc123def456' "
               "https://hooks.example/services/T0/SECRETX || echo send-failed")
    out = redact("curl: (22) 401 for https://hooks.example/services/T0/SECRETX "
                 "Bearer abc123def456 | send-failed", [command])
    assert "abc123def456" not in out and "SECRETX" not in out, out
    assert "send-failed" in out and "hooks.example" in out
