"""What the race gate needs to send forms as a browser would, several at once, to a live server.

- ``LiveClient``: one browser's cookies against the app served on a local port (``http.client``,
  no redirects followed), and ``race``: the same request sent by several threads released together.
- ``CapturedPost``: what ``tests.forms`` would send for a form, kept to be sent by several threads.
- ``fingerprint``: what the database and the outbox hold (rows per table, audit events by action,
  e-mails sent), so that a test can say "exactly the effect of one request".
"""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, select

from projectflow.core.audit import AuditEvent
from projectflow.extensions import db


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def location(self) -> str:
        return urlsplit(self.headers.get("location", "")).path


class LiveClient:
    """One browser: its cookie jar, against ``base_url``; redirects are returned, not followed."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}

    def _headers(self, extra: dict | None = None) -> dict:
        headers = {"Host": f"{self.host}:{self.port}", **(extra or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def _keep_cookies(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["expires"] and "1970" in morsel["expires"] or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None,
                *, keep_cookies: bool = True) -> Answer:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body,
                         headers=self._headers({"Content-Type": content_type} if content_type else None))
            return self._read(conn, keep_cookies)
        finally:
            conn.close()

    def _read(self, conn: http.client.HTTPConnection, keep_cookies: bool) -> Answer:
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        if keep_cookies:
            self._keep_cookies(response)
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def race(self, path: str, body: bytes, content_type: str, times: int = 3) -> list[Answer]:
        """POST the same body ``times`` times at once, with this browser's cookies, from as many threads:
        each connection is opened first, then a barrier releases all the requests together."""
        barrier = threading.Barrier(times)
        answers: list[Answer | BaseException | None] = [None] * times
        headers = self._headers({"Content-Type": content_type})

        def send(i: int) -> None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                conn.connect()
                barrier.wait(timeout=30)
                conn.request("POST", path, body=body, headers=headers)
                answers[i] = self._read(conn, keep_cookies=False)
            except BaseException as exc:  # reported by the test, with the others' answers
                answers[i] = exc
            finally:
                conn.close()

        threads = [threading.Thread(target=send, args=(i,), name=f"race-{i}") for i in range(times)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        failed = [a for a in answers if not isinstance(a, Answer)]
        assert not failed, f"requests of the race did not complete: {failed}"
        return answers  # type: ignore[return-value]


# --- forms as the browser sends them -----------------------------------------------------------------

class CapturedPost:
    """Stands for a test client when ``tests.forms.Form.submit`` sends a form: keeps the request the
    browser would send (address, body, content type) so that it can be sent several times at once."""

    def open(self, path, method, data, content_type, headers=None, follow_redirects=False):
        assert method == "POST", f"the form is sent with {method}, not POST"
        self.path, self.content_type = path, content_type
        self.body = data.encode() if isinstance(data, str) else data

    def get(self, path, headers=None, follow_redirects=False):
        raise AssertionError(f"the form is sent with GET to {path}, not POST")


# --- effects ---------------------------------------------------------------------------------------

def fingerprint(mail_folder: Path) -> Counter:
    """Rows per table, audit events per action and e-mails sent: what one request's effect changes."""
    found: Counter = Counter()
    for table in db.metadata.sorted_tables:
        found[f"rows:{table.name}"] = db.session.scalar(select(func.count()).select_from(table))
    for action, n in db.session.execute(select(AuditEvent.action, func.count()).group_by(AuditEvent.action)):
        found[f"audit:{action}"] = n
    found["e-mails"] = len(list(mail_folder.glob("*.eml"))) if mail_folder.exists() else 0
    db.session.rollback()
    return found


def effect(before: Counter, after: Counter) -> dict[str, int]:
    """What changed, as ``{key: difference}`` without the zeros."""
    return {k: after[k] - before[k] for k in sorted(set(before) | set(after)) if after[k] != before[k]}
