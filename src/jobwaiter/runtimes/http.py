"""Reading an engine's REST endpoints through the head node.

Engine endpoints are usually reachable only from inside the cluster, so the request runs on the
head (``python3`` with the standard library) through the head's transport, the same way on
every provider. A connection the engine refuses is an answer ("unreachable"), not an error of
the transport; only a head that cannot be reached raises ``TransportError``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jobwaiter.errors import WaiterError
from jobwaiter.transport.base import Transport

# Runs on the head (python3 3.8+). Proxies are bypassed: engine endpoints are cluster-internal
# and a proxy configured for the outside world would only turn "refused" into a proxy error.
# Every endpoint read is a JSON one; YARN's REST API picks JSON or XML by the Accept header.
_FETCH = r"""
import json, sys, urllib.error, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
opener.addheaders.append(("Accept", "application/json"))
timeout = float(sys.argv[1])
for url in sys.argv[2:]:
    answer = {"url": url}
    try:
        with opener.open(url, timeout=timeout) as r:
            answer["status"] = r.status
            answer["body"] = r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        answer["status"] = e.code
        answer["body"] = e.read().decode("utf-8", "replace")
    except Exception as e:
        reason = getattr(e, "reason", None) or e
        answer["error"] = getattr(reason, "strerror", None) or str(reason) or type(e).__name__
    print(json.dumps(answer))
"""

REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class Answer:
    """One URL's answer: an HTTP status and body, or why there was none."""

    url: str
    status: int | None = None
    body: str = ""
    error: str = ""

    @property
    def reachable(self) -> bool:
        return self.status is not None

    @property
    def refused(self) -> bool:
        """Nothing listens there: the engine is not running (not merely slow)."""
        return self.status is None and "refused" in self.error.lower()

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON; ValueError if it is not."""
        return json.loads(self.body)

    def problem(self) -> str:
        """Why this answer is not usable, for messages."""
        if self.error:
            return f"unreachable ({self.error})"
        if not self.ok:
            return f"answered HTTP {self.status}"
        return ""


def fetch(head: Transport, urls: Sequence[str], timeout: float = REQUEST_TIMEOUT) -> list[Answer]:
    """GET every URL from the head, in one remote command (or, when this process runs on
    the head itself, here: no process per request)."""
    if getattr(head, "in_process", False):
        return [_get(url, timeout) for url in urls]
    argv = ["python3", "-c", _FETCH, str(timeout), *urls]
    result = head.run(argv, idempotent=True, timeout=timeout * len(urls) + 30)
    if result.exit_status == 127:
        raise WaiterError(f"python3 is needed on {result.node} to query the engine: "
                          f"{result.tail(1)}")
    answers: list[Answer] = []
    for line in result.stdout.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and "url" in data:
            answers.append(Answer(str(data["url"]), data.get("status"), data.get("body") or "",
                                  data.get("error") or ""))
    # A request the script did not answer (it crashed) counts as unreachable, never as empty.
    errors = result.stderr.strip().splitlines()
    why = errors[-1] if errors else f"exit status {result.exit_status}"
    by_url = {a.url: a for a in answers}
    return [by_url.get(u) or Answer(u, error=f"no answer from the head's request: {why}")
            for u in urls]


def _get(url: str, timeout: float) -> Answer:
    """One GET, as ``_FETCH`` does it on the head: proxies bypassed, a refusal an answer."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    opener.addheaders.append(("Accept", "application/json"))
    try:
        with opener.open(url, timeout=timeout) as r:
            return Answer(url, r.status, r.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as e:
        return Answer(url, e.code, e.read().decode("utf-8", "replace"))
    except Exception as e:
        reason = getattr(e, "reason", None) or e
        return Answer(url, error=getattr(reason, "strerror", None) or str(reason)
                      or type(e).__name__)
