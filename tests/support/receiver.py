"""A real HTTP server on loopback that records webhooks and accepts uploads.

Webhook POSTs are recorded (headers and JSON body); `fail_next` makes the next requests
answer an error status first. GETs serve stored bytes; under `/slow/` they hang until the
receiver stops. Upload PUTs store the bytes by path and answer with a
`Location` header (with a query string, which the server must strip).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, *, location: bool = True) -> None:
        self.requests: list[Received] = []
        self.uploads: dict[str, bytes] = {}
        self.failures: list[int] = []
        self.location = location
        self._cond = threading.Condition()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _record(self) -> Received:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                item = Received(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with receiver._cond:
                    receiver.requests.append(item)
                    receiver._cond.notify_all()
                return item

            def _answer(self, status: int, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                self._record()
                with receiver._cond:
                    status = receiver.failures.pop(0) if receiver.failures else 200
                self._answer(status)

            def do_PUT(self) -> None:
                item = self._record()
                with receiver._cond:
                    status = receiver.failures.pop(0) if receiver.failures else 201
                if status >= 300:
                    self._answer(status)
                    return
                path = item.path.split("?", 1)[0]
                receiver.uploads[path] = item.body
                headers = {}
                if receiver.location:
                    headers["location"] = f"{receiver.url}/stored{path}?token=secret"
                self._answer(status, headers)

            def do_GET(self) -> None:
                self._record()
                path = self.path.split("?", 1)[0]
                if path.startswith("/slow/"):
                    receiver._release.wait(60)  # a download that hangs until the test ends
                data = receiver.uploads.get(path)
                if data is None:
                    self._answer(404)
                    return
                self.send_response(200)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, *statuses: int) -> None:
        with self._cond:
            self.failures.extend(statuses)

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 30.0
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting; received {self.requests!r}")
                self._cond.wait(left)
            return list(self.requests)

    def webhooks(self, prediction_id: str | None = None) -> list[dict[str, Any]]:
        bodies = [r.json() for r in self.requests if r.method == "POST"]
        return [b for b in bodies if prediction_id is None or b.get("id") == prediction_id]

    def wait_completed(self, prediction_id: str, timeout: float = 30.0) -> dict[str, Any]:
        def done(reqs: list[Received]) -> bool:
            return any(
                r.method == "POST"
                and r.json().get("id") == prediction_id
                and r.json().get("status") in ("succeeded", "failed", "canceled")
                for r in reqs
            )

        self.wait_for(done, timeout)
        return self.webhooks(prediction_id)[-1]
