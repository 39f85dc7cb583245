"""A real HTTP receiver on 127.0.0.1, started by the test, answering from a script.

Each script entry is a status code or a ``Reply`` (status, body, and a delay before
answering, to make a client time out); the last entry repeats. GET and POST are recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | None = None
    content_type: str = "text/plain"
    delay_s: float = 0.0

    @classmethod
    def json(cls, document: Any, status: int = 200, delay_s: float = 0.0) -> Reply:
        body = json.dumps(document, ensure_ascii=False).encode()
        return cls(status, body, "application/json", delay_s)


@dataclass
class Receiver:
    url: str
    # Answers, in order; the last one repeats.
    script: list[int | Reply] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)

    def next_reply(self) -> Reply:
        entry = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return entry if isinstance(entry, Reply) else Reply(entry)

    def next_status(self) -> int:
        return self.next_reply().status


@contextmanager
def receiver(script: list[int | Reply], path: str = "/hooks/hoso") -> Iterator[Receiver]:
    state = Receiver(url="", script=list(script))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                state.requests.append(Received(method, self.path, dict(self.headers.items()), body))
                reply = state.next_reply()
            if reply.delay_s:
                time.sleep(reply.delay_s)
            content = reply.body
            if content is None:
                content = b"ok" if reply.status < 300 else b"receiver error"
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test): nothing to answer

        def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
            self._answer("POST")

        def do_GET(self) -> None:  # noqa: N802
            self._answer("GET")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_port}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
