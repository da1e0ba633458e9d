"""A loopback HTTP server that speaks the documented zero-copy wire format (docs/zero-copy.md).

It stands in for the front's msgpack and shared-memory endpoints, which the runtime does
not serve yet, so the client's bytes are checked against the format itself: regions are
mapped by name with `cog.shm.Segment.open`, `.npy` payloads and `$shm` references are
read with the native modules, and the "model" reports what it received (shape, dtype,
sum, SHA-256) so a test can compare with what it sent.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
import numpy as np

from cog._native.select import native
from cog.shm import Segment

_npy = native("npy")
_slab = native("slab")
_datauri = native("datauri")


class WireServer:
    def __init__(self) -> None:
        self.regions: dict[str, Segment] = {}
        self.requests: list[tuple[str, str, str]] = []  # method, path, content type
        self.inputs: list[dict[str, Any]] = []  # the resolved inputs of each prediction
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("content-length") or 0))

            def do_POST(self) -> None:
                kind = self.headers.get("content-type", "")
                server.requests.append(("POST", self.path, kind))
                body = self._body()
                if self.path == "/shm/regions":
                    self._reply(*server.register(json.loads(body)))
                elif self.path == "/predictions":
                    self._reply(*server.predict(body, kind))
                else:
                    self._reply(404, {})

            def do_DELETE(self) -> None:
                server.requests.append(("DELETE", self.path, ""))
                name = self.path.rsplit("/", 1)[-1]
                segment = server.regions.pop(name, None)
                if segment is None:
                    self._reply(404, {"detail": f"no region named {name!r}"})
                else:
                    segment.close()
                    self._reply(200, {})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> WireServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        for segment in self.regions.values():
            segment.close()

    def register(self, body: dict[str, Any]) -> tuple[int, Any]:
        name, key, size = body["name"], body["key"], body["size"]
        if name in self.regions:
            return 409, {"detail": f"a region named {name!r} is already registered"}
        try:
            segment = Segment.open(key)
        except (OSError, ValueError) as exc:
            return 400, {"detail": f"cannot map shared memory {key!r}: {exc}"}
        if segment.size < size:
            segment.close()
            return 400, {"detail": f"{key!r} has {segment.size} bytes, not {size}"}
        self.regions[name] = segment
        return 201, {"name": name, "size": size}

    def predict(self, body: bytes, kind: str) -> tuple[int, Any]:
        if kind.startswith("application/msgpack"):
            envelope = msgspec.msgpack.decode(body)
        else:
            envelope = json.loads(body)
        resolved = {k: self.resolve(v) for k, v in envelope["input"].items()}
        self.inputs.append(resolved)
        return 200, {
            "id": envelope.get("id"),
            "status": "succeeded",
            "output": {k: describe(v) for k, v in resolved.items()},
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"$shm"}:
            ref = value["$shm"]
            buf = self.regions[ref["region"]].buf
            shape = ref.get("shape")
            if ref.get("order", "C") == "F" and shape is not None:
                return _slab.array_view(
                    buf, ref["offset"], ref["length"], ref["dtype"], shape[::-1]
                ).T
            return _slab.array_view(buf, ref["offset"], ref["length"], ref.get("dtype"), shape)
        if isinstance(value, bytes):
            return _npy.load(value) if value.startswith(_npy.MAGIC) else value
        if isinstance(value, str) and value.startswith("data:"):
            header, payload = _datauri.decode(value)
            return (
                _npy.load(payload) if header.media_type == "application/x-npy" else bytes(payload)
            )
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def describe(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {
            "shape": list(value.shape),
            "dtype": value.dtype.str,
            "sum": float(value.sum()),
            "fortran": bool(value.flags.f_contiguous and not value.flags.c_contiguous),
        }
    if isinstance(value, bytes | memoryview):
        return {"len": len(bytes(value)), "sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, list):
        return [describe(v) for v in value]
    return value
